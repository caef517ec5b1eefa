"""``LiveWeb``: the ``Web`` protocol over a live search API + guarded page fetching, with cache, rate limits,
retries, counters and cost accounting.

Example:
    >>> web = LiveWeb.from_config({"backend": "searxng", "searxng": {"base_url": "http://127.0.0.1:8888"},
    ...                            "cache": {"path": None}})
    >>> hits = asyncio.run(web.search(["capital of France"]))          # doctest: +SKIP
    >>> web.stats()["searxng"]["calls"]                                  # doctest: +SKIP
    1
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

import httpx

from openseeker.errors import ToolError, UserError
from openseeker.records import Page, SearchHit
from openseeker.web.live.cache import SQLiteCache, normalize_query, normalize_url
from openseeker.web.live.config import BACKENDS, LiveWebConfig, load_live_config
from openseeker.web.live.fetch import Fetcher
from openseeker.web.live.ratelimit import TokenBucket, backoff_delay
from openseeker.web.live.search_backends import BackendError
from openseeker.web.live.ssrf import BlockedAddress, Resolver, SSRFGuard

log = logging.getLogger(__name__)

COUNTERS = ("requests", "calls", "hits", "misses", "errors", "retries", "blocked", "billed")


class LiveWeb:
    """A live web. Build it with ``LiveWeb.from_config(path | dict | LiveWebConfig | None)``.

    Everything that can be checked is checked here, at start-up: the backend name, its API key (from the
    environment variable the config names), the SearXNG base URL, the reader key. A run never discovers a
    missing key at its first search.
    """

    name = "live"

    def __init__(self, config: LiveWebConfig, *, resolver: Resolver | None = None):
        self.config = config
        backend_cls = BACKENDS.get(config.backend)
        settings = config.backend_settings()
        backend_cls.check_settings(settings)
        self.backend = backend_cls(settings, config.api_key())
        reader_key = None
        if config.fetch.reader_url and config.fetch.reader_api_key_env:
            reader_key = os.environ.get(config.fetch.reader_api_key_env, "").strip()
            if not reader_key:
                raise UserError(
                    f"live web: live.fetch.reader_api_key_env names {config.fetch.reader_api_key_env}, "
                    "which is not set in the environment"
                )
        self.guard = SSRFGuard(config.ssrf.allow, block_private=config.ssrf.block_private, resolver=resolver)
        self.fetcher = Fetcher(config.fetch, self.guard, reader_key)
        self.cache = SQLiteCache(config.cache.path) if config.cache.enabled else None
        self.search_bucket = TokenBucket(settings.rate_per_s, settings.burst)
        self.fetch_bucket = TokenBucket(config.fetch.rate_per_s, config.fetch.burst)
        self.counters: dict[str, dict[str, int]] = {
            config.backend: dict.fromkeys(COUNTERS, 0),
            "fetch": dict.fromkeys(COUNTERS, 0),
        }
        self._loop: asyncio.AbstractEventLoop | None = None
        self._api: httpx.AsyncClient | None = None
        self._guarded: httpx.AsyncClient | None = None
        self._sem: asyncio.Semaphore | None = None

    @classmethod
    def from_config(cls, config: Any = None, **kwargs: Any) -> LiveWeb:
        """Open the live web from a YAML path, a dict (whole config or with a ``live:`` section), a
        ``LiveWebConfig``, or ``None`` (then ``$OPENSEEKER_LIVE_CONFIG``; otherwise a ``UserError`` naming what
        to pass)."""
        return cls(load_live_config(config), **kwargs)

    # ------------------------------------------------------------------ clients (one set per event loop)
    def _clients(self) -> tuple[httpx.AsyncClient, httpx.AsyncClient]:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._api is None or self._guarded is None:
            self._loop = loop
            self._sem = asyncio.Semaphore(max(1, self.config.max_concurrency))
            self._api = httpx.AsyncClient(timeout=httpx.Timeout(self.config.backend_settings().timeout_s))
            self._guarded = httpx.AsyncClient(
                transport=self._guarded_transport(),
                trust_env=False,
                timeout=httpx.Timeout(self.config.fetch.timeout_s),
            )
        return self._api, self._guarded

    def _guarded_transport(self) -> httpx.AsyncHTTPTransport:
        """httpx transport whose connections go through the SSRF guard's network backend (see ssrf.py)."""
        import httpcore

        transport = httpx.AsyncHTTPTransport(trust_env=False)
        if not hasattr(transport, "_pool"):  # pragma: no cover - httpx internals changed; URL-level checks remain
            log.warning("ssrf: cannot install the connection-level guard on this httpx version")
            return transport
        ca_bundle = self.config.fetch.ca_bundle
        if ca_bundle:
            import ssl

            ssl_context = ssl.create_default_context(cafile=os.path.expanduser(ca_bundle))
        else:
            ssl_context = httpx.create_ssl_context()
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=self.guard.network_backend(),
        )
        return transport

    # ------------------------------------------------------------------ search
    async def search(self, queries: list[str], top_k: int = 10) -> list[list[SearchHit]]:
        self._clients()
        assert self._sem is not None
        results = await asyncio.gather(*(self._search_one(q, top_k) for q in queries), return_exceptions=True)
        for query, result in zip(queries, results):
            if isinstance(result, BaseException):
                if isinstance(result, (ToolError, UserError)):
                    raise result
                raise ToolError(f"search for {query!r} failed ({type(result).__name__}: {result})") from result
        return results  # type: ignore[return-value]

    async def _search_one(self, query: str, top_k: int) -> list[SearchHit]:
        name = self.config.backend
        counter = self.counters[name]
        counter["requests"] += 1
        key = f"{name}|{normalize_query(query)}"
        if self.cache is not None:
            cached = self.cache.get("search", key)
            if cached is not None and (cached["top_k"] >= top_k or len(cached["hits"]) < cached["top_k"]):
                counter["hits"] += 1
                return [SearchHit.model_validate(h) for h in cached["hits"][:top_k]]
        counter["misses"] += 1
        api, _ = self._clients()
        assert self._sem is not None
        async with self._sem:
            hits = await self._with_retries(counter, lambda: self.backend.search(api, query, top_k))
        counter["billed"] += 1
        if self.cache is not None:
            self.cache.put(
                "search", key, {"top_k": top_k, "hits": [h.model_dump() for h in hits]}, self.config.cache.search_ttl_s
            )
        return hits

    async def _with_retries(self, counter: dict[str, int], call):
        settings = self.config.backend_settings()
        for attempt in range(settings.max_retries + 1):
            await self.search_bucket.acquire()
            counter["calls"] += 1
            try:
                return await call()
            except BackendError as exc:
                if not exc.retryable or attempt >= settings.max_retries:
                    counter["errors"] += 1
                    if exc.retryable:
                        raise BackendError(
                            f"{exc} (gave up after {attempt + 1} attempts)", status=exc.status
                        ) from None
                    raise
                counter["retries"] += 1
                delay = backoff_delay(attempt, base=settings.backoff_s, retry_after=exc.retry_after)
                log.info("%s; retrying in %.1fs (%d/%d)", exc, delay, attempt + 1, settings.max_retries)
                await asyncio.sleep(delay)
            except Exception:
                counter["errors"] += 1
                raise
        raise AssertionError("unreachable")

    # ------------------------------------------------------------------ fetch
    async def fetch(self, url: str) -> Page | None:
        counter = self.counters["fetch"]
        counter["requests"] += 1
        key = normalize_url(url)
        if self.cache is not None:
            cached = self.cache.get("page", key)
            if cached is not None:
                counter["hits"] += 1
                return Page.model_validate(cached)
        counter["misses"] += 1
        _api, guarded = self._clients()
        await self.fetch_bucket.acquire()
        counter["calls"] += 1
        try:
            page = await self.fetcher.fetch(url, client=guarded, reader_client=_api)
        except BlockedAddress:
            counter["blocked"] += 1
            raise
        except Exception:
            counter["errors"] += 1
            raise
        counter["billed"] += 1 if self.config.fetch.reader_url else 0
        if self.cache is not None:
            self.cache.put("page", key, page.model_dump(), self.config.cache.page_ttl_s)
        return page

    # ------------------------------------------------------------------ accounting
    def stats(self) -> dict[str, dict[str, Any]]:
        """Counters per backend (and ``fetch``): requests, calls (API requests incl. retries), hits/misses (cache),
        errors, retries, blocked (SSRF), billed (successful API calls) and ``cost_usd`` (billed x $/1k)."""
        out: dict[str, dict[str, Any]] = {}
        name = self.config.backend
        for key, counter in self.counters.items():
            row: dict[str, Any] = dict(counter)
            per_1k = self.config.backend_settings().cost_per_1k if key == name else 0.0
            row["cost_usd"] = round(counter["billed"] * per_1k / 1000.0, 6)
            out[key] = row
        out["fetch"]["rate_wait_s"] = round(self.fetch_bucket.waited_s, 3)
        out[name]["rate_wait_s"] = round(self.search_bucket.waited_s, 3)
        return out

    async def aclose(self) -> None:
        """Close the HTTP clients inside the running loop, then the cache."""
        await self._close_clients()
        if self.cache is not None:
            self.cache.close()
            self.cache = None

    async def _close_clients(self) -> None:
        for client in (self._api, self._guarded):
            if client is not None:
                await client.aclose()
        self._api = self._guarded = None

    def close(self) -> None:
        """Close the HTTP clients (best effort across event loops) and the cache."""
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if self._api is not None or self._guarded is not None:
            if running is not None and running is loop:
                running.create_task(self._close_clients())
            elif loop is not None and not loop.is_closed() and not loop.is_running():
                loop.run_until_complete(self._close_clients())
            self._api = self._guarded = None
        if self.cache is not None:
            self.cache.close()
            self.cache = None
