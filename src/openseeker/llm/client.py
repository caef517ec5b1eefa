"""``OpenAIChatLLM``: the one client for every OpenAI-compatible chat-completions endpoint.

vLLM, SGLang, OpenAI, llama.cpp (the embedded server) and the test server all go through this class, over an
HTTP transport from ``transport.py`` (aiohttp, or the openai SDK). It adds: bounded retries with backoff and
jitter on transient failures (honouring ``Retry-After``), a concurrency limit shared by every role on the same
endpoint, a persistent response cache, per-role token/latency accounting, request adaptations learned from 400s
(``response_format``, ``max_completion_tokens``, unsupported ``temperature``), ``ContextLengthError``, and
tolerant parsing of native tool calls and ``reasoning_content``.

Example:
    >>> from openseeker.llm.config import EndpointConfig
    >>> llm = OpenAIChatLLM("judge", EndpointConfig(base_url="http://localhost:8000/v1", model="m"))  # doctest: +SKIP
    >>> (await llm.chat([{"role": "user", "content": "hi"}])).content  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from openseeker.errors import CONTEXT_LENGTH_RE, ContextLengthError, LLMError
from openseeker.llm.base import Completion
from openseeker.llm.cache import ResponseCache, cache_disabled_by_env
from openseeker.llm.config import EMBEDDED_MODEL_NAME, EndpointConfig
from openseeker.llm.replicas import make_transport
from openseeker.llm.transport import TransportBadRequest, TransportRetryable
from openseeker.records import ToolCall, Usage
from openseeker.retry import backoff_delay
from openseeker.retry import retry_after_from_headers as parse_retry_after

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529})
MAX_BACKOFF_S = 30.0
MAX_RETRY_AFTER_S = 120.0


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.reason, self.retry_after = reason, retry_after


class CallStats:
    """Counters beside ``Usage``: cache hits, retries, failed calls, request adaptations (``format_fallbacks``:
    response_format dropped, max_tokens renamed, sampling parameters dropped)."""

    __slots__ = ("cache_hits", "errors", "format_fallbacks", "retries")

    def __init__(self) -> None:
        self.cache_hits = self.retries = self.errors = self.format_fallbacks = 0

    def as_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in self.__slots__}


def _decode_arguments(raw: Any) -> dict[str, Any]:
    if raw is None or raw == "":
        return {}
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError:
            return {"_raw": raw}
        return value if isinstance(value, dict) else {"_raw": raw}
    return {"_raw": json.dumps(raw) if not isinstance(raw, str) else raw}


def parse_completion(data: Any, *, cached: bool = False, latency_s: float = 0.0) -> Completion:
    """Turn a chat-completions response body into a ``Completion``. Raises ValueError if it is not one."""
    if not isinstance(data, dict):
        raise ValueError(f"response is a {type(data).__name__}, not a JSON object")  # noqa: TRY004 - a bad body
    if "error" in data and not data.get("choices"):
        raise ValueError(f"response carries an error: {str(data['error'])[:300]}")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise ValueError("response has no choices")
    choice = choices[0]
    message = choice.get("message")
    if not isinstance(message, dict):
        raise ValueError("response choice has no message")  # noqa: TRY004 - caught as a malformed body
    content = message.get("content")
    if isinstance(content, list):  # content parts
        content = "".join(str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in content)
    reasoning = message.get("reasoning_content") or message.get("reasoning") or ""
    calls: list[ToolCall] = []
    for i, tc in enumerate(message.get("tool_calls") or []):
        if not isinstance(tc, dict):
            continue
        fn = tc.get("function") or {}
        name = fn.get("name")
        if not name:
            continue
        calls.append(
            ToolCall(
                id=str(tc.get("id") or f"call_{i}"), name=str(name), arguments=_decode_arguments(fn.get("arguments"))
            )
        )
    usage = data.get("usage") or {}
    return Completion(
        content=content if isinstance(content, str) else ("" if content is None else str(content)),
        reasoning=reasoning if isinstance(reasoning, str) else str(reasoning),
        tool_calls=calls,
        finish_reason=str(choice.get("finish_reason") or ("tool_calls" if calls else "stop")),
        usage=Usage(
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            calls=1,
            latency_s=latency_s,
        ),
        model=str(data.get("model") or ""),
        cached=cached,
        raw=data,
    )


class OpenAIChatLLM:
    """An ``LLM`` (see ``llm/base.py``) bound to one role and one OpenAI-compatible endpoint.

    Built by ``LLMPool``, which shares the SDK client, the concurrency semaphore, the cache and the usage
    counters between roles; it also works standalone (it then makes its own).

    Args:
        role: the role name (for accounting and error messages).
        endpoint: the role's ``EndpointConfig``.
        base_url: the URL to call (defaults to ``endpoint.base_url``; the pool passes the embedded server's).
        model: model name to send (defaults to ``endpoint.model``).
        client: a shared ``AsyncOpenAI``.
        semaphore: a shared concurrency limit.
        cache: a shared ``ResponseCache`` (None: no caching).
        cache_id: endpoint identity in cache keys (the pool uses a stable id for the embedded server).
        usage, stats: shared accumulators.
    """

    def __init__(
        self,
        role: str,
        endpoint: EndpointConfig,
        *,
        base_url: str | None = None,
        model: str | None = None,
        client: Any | None = None,
        semaphore: asyncio.Semaphore | None = None,
        cache: ResponseCache | None = None,
        cache_id: str | None = None,
        usage: Usage | None = None,
        stats: CallStats | None = None,
        context_tokens: int | None = None,
    ):
        self.role = role
        self.endpoint = endpoint
        self.embedded = bool(endpoint.embedded)
        self.context_tokens = context_tokens
        self.base_url = (base_url or endpoint.base_url or "").rstrip("/")
        if not self.base_url:
            raise LLMError(f"{role}: no base_url (embedded roles are served through LLMPool)")
        self.model = (
            model if model is not None else (endpoint.model or (EMBEDDED_MODEL_NAME if endpoint.embedded else ""))
        )
        self._client = client or make_transport(
            self.base_url,
            endpoint.api_key(),
            concurrency=endpoint.concurrency,
            timeout_s=endpoint.timeout_s,
            transport=endpoint.transport,
        )
        self._owns_client = client is None
        self._sem = semaphore or asyncio.Semaphore(endpoint.concurrency * max(1, len(endpoint.replicas)))
        self._cache = cache if (endpoint.cache and not cache_disabled_by_env()) else None
        self._cache_id = cache_id or self.base_url
        self.usage = usage if usage is not None else Usage()
        self.stats = stats if stats is not None else CallStats()
        self._fixes: set[str] = set()  # request adaptations this endpoint needed (see _adapt)

    def __repr__(self) -> str:
        return f"OpenAIChatLLM(role={self.role!r}, model={self.model!r}, base_url={self.base_url!r})"

    # -- payload
    def build_payload(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        response_format: dict[str, Any] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        seed: int | None = None,
        stop: list[str] | None = None,
    ) -> dict[str, Any]:
        """The exact JSON body sent to ``/chat/completions`` (also the cache key material)."""
        ep = self.endpoint
        payload: dict[str, Any] = {"model": self.model, "messages": messages}
        payload["temperature"] = ep.temperature if temperature is None else temperature
        mt = ep.max_tokens if max_tokens is None else max_tokens
        if mt is not None:
            payload["max_tokens"] = mt
        if ep.top_p is not None:
            payload["top_p"] = ep.top_p
        if tools:
            payload["tools"] = tools
        if response_format is not None:
            payload["response_format"] = response_format
        if seed is not None:
            payload["seed"] = seed
        if stop:
            payload["stop"] = stop
        for key, value in ep.extra_body.items():
            payload.setdefault(key, value)
        return payload

    # -- the call
    async def chat(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        response_format: dict[str, Any] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        seed: int | None = None,
        stop: list[str] | None = None,
    ) -> Completion:
        payload = self.build_payload(
            messages,
            tools=tools,
            response_format=response_format,
            temperature=temperature,
            max_tokens=max_tokens,
            seed=seed,
            stop=stop,
        )
        key = None
        if self._cache is not None:
            key = self._cache.key(self._cache_id, payload)
            hit = self._cache.get(key)
            if hit is not None:
                try:
                    completion = parse_completion(hit, cached=True)
                except ValueError:
                    completion = None
                if completion is not None:
                    self.stats.cache_hits += 1
                    return completion
        try:
            data, completion = await self._call_with_retries(payload)
        except LLMError:
            self.stats.errors += 1
            raise
        if self._cache is not None and key is not None:
            self._cache.put(key, data)
        self.usage.add(completion.usage)
        return completion

    def _adapt(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Apply the adaptations this endpoint is known to need (learned from its 400 answers)."""
        if not self._fixes:
            return payload
        payload = dict(payload)
        if "no_response_format" in self._fixes:
            payload.pop("response_format", None)
        if "max_completion_tokens" in self._fixes and "max_tokens" in payload:
            payload["max_completion_tokens"] = payload.pop("max_tokens")
        if "no_sampling_params" in self._fixes:
            payload.pop("temperature", None)
            payload.pop("top_p", None)
        return payload

    async def _call_with_retries(self, payload: dict[str, Any]) -> tuple[dict[str, Any], Completion]:
        attempts = self.endpoint.max_retries + 1
        last = "no attempt"
        attempt = 0
        learned: set[str] = set()
        while attempt < attempts:
            try:
                return await self._call_once(self._adapt(payload))
            except LLMError:
                self._fixes -= learned  # what this call just tried did not help: do not keep it
                raise
            except _Retryable as exc:
                last = exc.reason
                attempt += 1
                if attempt >= attempts:
                    break
                self.stats.retries += 1
                delay = self._backoff(attempt - 1, exc.retry_after)
                log.debug(
                    "%s: %s; retry %d/%d in %.2fs", self.role, exc.reason, attempt, self.endpoint.max_retries, delay
                )
                await asyncio.sleep(delay)
            except _Unsupported as exc:
                if exc.fix in self._fixes:  # already adapted and still rejected: give up
                    self._fixes -= learned
                    raise LLMError(
                        f"{self.role}: HTTP 400 from {self.base_url} (model {self.model!r}): {exc.message}"
                    ) from None
                log.warning(
                    "%s: %s rejected the request (%s); retrying with fix %r",
                    self.role,
                    self.base_url,
                    exc.message,
                    exc.fix,
                )
                self.stats.format_fallbacks += 1
                self._fixes.add(exc.fix)  # retried at once, not counted as a retry
                learned.add(exc.fix)
        self._fixes -= learned
        raise LLMError(f"{self.role}: {self.base_url} failed after {attempts} attempt(s): {last}")

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        return backoff_delay(
            attempt,
            base=self.endpoint.backoff_s,
            cap=MAX_BACKOFF_S,
            retry_after=retry_after,
            retry_after_cap=MAX_RETRY_AFTER_S,
        )

    async def _call_once(self, payload: dict[str, Any]) -> tuple[dict[str, Any], Completion]:
        async with self._sem:
            t0 = time.perf_counter()
            try:
                status, headers, text = await self._client.post_chat(payload, self.endpoint.timeout_s)
            except TransportRetryable as exc:
                raise _Retryable(str(exc)) from None
            except TransportBadRequest as exc:  # e.g. a message that is not JSON-serializable
                raise LLMError(f"{self.role}: could not send the request: {exc}") from None
            latency = time.perf_counter() - t0
        if status != 200:
            self._raise_for_status(status, headers, text, payload)
        try:
            data = json.loads(text)
            completion = parse_completion(data, latency_s=latency)
        except ValueError as exc:
            raise _Retryable(f"malformed response body ({exc}): {text[:200]!r}") from None
        return data, completion

    def _raise_for_status(self, status: int, headers: Any, text: str, payload: dict[str, Any]) -> None:
        message = _server_message(text)
        if status in RETRYABLE_STATUS or 500 <= status < 600 and status != 501:
            raise _Retryable(f"HTTP {status}: {message}", parse_retry_after(headers)) from None
        if 200 < status < 300:
            raise _Retryable(f"unexpected HTTP {status}: {message}")
        if status == 413 or (status == 400 and CONTEXT_LENGTH_RE.search(message)):
            raise ContextLengthError(f"{self.role}: context length exceeded at {self.base_url}: {message}") from None
        if status in (400, 422):
            low = message.lower()
            if "max_completion_tokens" in low and "max_tokens" in payload:
                raise _Unsupported("max_completion_tokens", message)
            if "temperature" in low and ("unsupported" in low or "does not support" in low or "not supported" in low):
                raise _Unsupported("no_sampling_params", message)
            if "response_format" in payload:
                raise _Unsupported("no_response_format", message)
        raise LLMError(f"{self.role}: HTTP {status} from {self.base_url} (model {self.model!r}): {message}") from None

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.close()


class _Unsupported(Exception):
    """The endpoint rejected a request parameter; ``fix`` names the adaptation that may help."""

    def __init__(self, fix: str, message: str):
        super().__init__(message)
        self.fix, self.message = fix, message


def _server_message(text: str) -> str:
    """The error message of an error body (OpenAI shape ``{"error": {"message": ...}}`` and variants)."""
    try:
        body = json.loads(text)
    except ValueError:
        return (text or "").strip()[:1000] or "(empty body)"
    err = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(err, dict):
        msg = err.get("message") or err.get("detail") or err.get("msg")
        if msg:
            return str(msg)[:1000]
    if isinstance(err, str) and err:
        return err[:1000]
    return text.strip()[:1000]
