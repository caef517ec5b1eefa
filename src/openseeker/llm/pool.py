"""``LLMPool``: every role's ``LLM``, built from one ``LLMConfig``, with shared resources.

Example:
    >>> cfg = resolve_llm_config(base_url="http://localhost:8000/v1", model="Qwen/Qwen3-8B")  # doctest: +SKIP
    >>> async with LLMPool(cfg) as pool:                                   # doctest: +SKIP
    ...     teacher = pool.role("teacher")
    ...     completion = await teacher.chat([{"role": "user", "content": "hi"}])
    ...     pool.usage()["teacher"].completion_tokens

The pool starts the embedded server once if any role needs it (and stops it on exit), creates one SDK client
and one concurrency semaphore per endpoint (shared by the roles on it), one response cache, and per-role usage
counters. API keys are checked at start, so a missing key fails before any work, not mid-run.
"""

from __future__ import annotations

import asyncio
import logging
import urllib.parse
from typing import Any, Self

from openseeker.errors import LLMError, UserError
from openseeker.llm import embedded
from openseeker.llm.base import ROLES
from openseeker.llm.cache import ResponseCache, cache_disabled_by_env
from openseeker.llm.client import CallStats, OpenAIChatLLM
from openseeker.llm.config import LLMConfig
from openseeker.llm.replicas import make_transport
from openseeker.llm.usage import UsageMeter
from openseeker.records import Usage

log = logging.getLogger(__name__)


class LLMPool:
    """Role -> ``LLM`` for one run. Use as ``async with LLMPool(cfg) as pool`` (or ``await start()``/``close()``).

    Args:
        config: the resolved ``LLMConfig`` (from ``resolve_llm_config``).
    """

    def __init__(self, config: LLMConfig):
        self.config = config
        self._llms: dict[str, OpenAIChatLLM] = {}
        self._usage = UsageMeter(ROLES)
        self._stats: dict[str, CallStats] = {role: CallStats() for role in ROLES}
        self._clients: dict[str, Any] = {}
        self._cache: ResponseCache | None = None
        self._embedded: Any = None
        self._models: dict[str, str] = {}
        self._started = False

    # -- lifecycle
    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> Self:
        if self._started:
            return self
        cfg = self.config
        cfg.check_api_keys()
        if any(ep.cache for ep in cfg.roles.values()) and not cache_disabled_by_env():
            self._cache = ResponseCache(cfg.cache_dir)
        try:
            if cfg.needs_embedded:
                self._embedded = await asyncio.to_thread(embedded.acquire, cfg.embedded)
            self._build_roles()
            await self._discover_models()
        except BaseException:
            await self.close()
            raise
        self._started = True
        return self

    def _build_roles(self) -> None:
        cfg = self.config
        groups: dict[str, list[str]] = {}
        for role, ep in cfg.roles.items():
            groups.setdefault(ep.endpoint_key, []).append(role)
        for key, roles in groups.items():
            eps = [cfg.roles[r] for r in roles]
            concurrency = max(ep.concurrency for ep in eps)
            if key == "embedded":
                # llama.cpp decodes n_parallel requests at a time; more in flight would only queue inside the
                # server, where the wait counts against the HTTP timeout. Queue here instead.
                base_url, api_key = self._embedded.base_url, "EMPTY"
                concurrency = self._embedded.n_parallel  # the slots the server was started with
                cache_id = self._embedded.cache_id
            else:
                base_url, api_key, cache_id = eps[0].base_url, eps[0].api_key(), eps[0].base_url
            client = make_transport(
                base_url,
                api_key,
                concurrency=concurrency,
                timeout_s=max(ep.timeout_s for ep in eps),
                transport=eps[0].transport,
            )
            self._clients[key] = client
            semaphore = asyncio.Semaphore(concurrency * max(1, len(eps[0].replicas)))  # per replica
            for role in roles:
                ep = cfg.roles[role]
                model = self._embedded.model_name if ep.embedded and not ep.model else ep.model
                self._llms[role] = OpenAIChatLLM(
                    role,
                    ep,
                    base_url=base_url,
                    model=model,
                    client=client,
                    semaphore=semaphore,
                    cache=self._cache,
                    cache_id=cache_id,
                    usage=self._usage.by_key[role],
                    stats=self._stats[role],
                    context_tokens=self.config.embedded.n_ctx if ep.embedded else None,
                )

    async def _discover_models(self) -> None:
        """Ask every remote endpoint for its models (``GET /models``), concurrently, once.

        Empty model names become the first model listed (failure: UserError). For endpoints with a model the
        probe only warns: an unreachable endpoint or a model it does not list is logged at start instead of being
        discovered call by call (the calls themselves still retry and fail as usual).
        """
        keys = [k for k in self._clients if k != "embedded"]
        results = await asyncio.gather(*[self._list_models(k) for k in keys])
        for key, (ids, error) in zip(keys, results):
            llms = [llm for llm in self._llms.values() if llm.endpoint.endpoint_key == key]
            unnamed = [llm for llm in llms if not llm.model]
            if unnamed:
                if error is not None:
                    raise UserError(
                        f"no model configured for {key} and GET {key}/models failed ({error}); "
                        "pass --model NAME or set model: in the config"
                    )
                if not ids:
                    raise UserError(f"no model configured for {key} and it lists no models; pass --model NAME")
                for llm in unnamed:
                    llm.model = ids[0]
                log.info("using model %s at %s (first listed)", ids[0], key)
            elif error is not None:
                log.warning("LLM endpoint %s did not answer GET /models (%s); calls to it may fail", key, error)
            elif ids:
                for model in sorted({llm.model for llm in llms} - set(ids)):
                    log.warning("model %r is not among those listed by %s (%s)", model, key, ", ".join(ids[:5]))

    async def _list_models(self, key: str) -> tuple[list[str], str | None]:
        try:
            ids = await asyncio.wait_for(self._clients[key].list_models(), timeout=15)
            return ids or [], None  # None: a server without /models, nothing to learn
        except Exception as exc:  # noqa: BLE001 - reported by the caller
            return [], f"{type(exc).__name__}: {exc}"

    async def close(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            try:
                await client.close()
            except Exception as exc:  # noqa: BLE001 - closing must not mask the real error
                log.debug("closing client: %s", exc)
        if self._cache is not None:
            self._cache.close()
            self._cache = None
        if self._embedded is not None:
            self._embedded = None
            await asyncio.to_thread(embedded.release)
        self._started = False

    # -- access
    def role(self, name: str) -> OpenAIChatLLM:
        """The ``LLM`` serving ``name`` (one of ``ROLES``)."""
        if name not in ROLES:
            raise UserError(f"unknown LLM role {name!r}; roles are: {', '.join(ROLES)}")
        if not self._started:
            raise LLMError("LLMPool is not started; use `async with LLMPool(cfg) as pool:`")
        return self._llms[name]

    def usage(self) -> dict[str, Usage]:
        """Tokens, calls and summed latency per role (endpoint calls only; cache hits are in ``stats()``)."""
        return self._usage.snapshot()

    def usage_by_role(self) -> dict[str, dict[str, int]]:
        """Tokens and calls of the roles that made calls: what run summaries report."""
        return {
            role: u.model_dump(include={"prompt_tokens", "completion_tokens", "calls"})
            for role, u in self.usage().items()
            if u.calls
        }

    def replica_stats(self) -> dict[str, list[dict[str, Any]]]:
        """Per endpoint that lists several replicas: each replica's served requests, ejections, health."""
        return {key: client.stats() for key, client in self._clients.items() if hasattr(client, "stats")}

    def stats(self) -> dict[str, dict[str, int]]:
        """Cache hits, retries, failed calls and response_format fallbacks per role."""
        return {role: s.as_dict() for role, s in self._stats.items()}

    def describe(self) -> dict[str, Any]:
        """Resolved endpoint and model per role, for provenance in outputs. Never contains API keys."""
        out = self.config.describe()
        for role, info in out.items():
            llm = self._llms.get(role)
            if llm is not None:
                info["model"] = llm.model
                if llm.endpoint.embedded:
                    info["base_url"] = "embedded"
                    info["gguf"] = self._embedded.model_path.name if self._embedded else None
                    info["n_ctx"] = self.config.embedded.n_ctx
            if info.get("base_url") and info["base_url"] != "embedded":
                info["base_url"] = _strip_userinfo(info["base_url"])
        return out


def _strip_userinfo(url: str) -> str:
    if "," in url:
        return ",".join(_strip_userinfo(u) for u in url.split(","))
    parts = urllib.parse.urlsplit(url)
    if parts.username or parts.password:
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    return url
