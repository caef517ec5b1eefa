"""``ReplicaTransport``: one role's endpoint served by several replicas (``base_url: http://a/v1,http://b/v1`` or a
YAML list), behind the same small transport interface as ``transport.py`` (``post_chat``, ``list_models``,
``close``), so the client's retries, cache and accounting are unchanged.

- **Least-loaded**: each request goes to the healthy replica with the fewest requests in flight (ties rotate), and
  no replica gets more than ``concurrency`` at once (the endpoint's ``concurrency`` is per replica).
- **Ejection**: a replica that fails at the connection level (refused, reset, timed out) is ejected at once; one
  answering 429/5xx three times in a row is ejected too. A background probe (``GET /models``) brings it back after
  1 s, 2 s, 4 s ... (at most 30 s); until a probe succeeds it gets no traffic.
- **Failover**: a request whose replica fails is sent again, at once, to another replica (not counted as one of
  the client's retries); only when every replica failed does the client see one retryable failure (and back off).
  The request is one chat call: the rollout it belongs to is neither lost nor duplicated. The response cache keys
  on the role's whole ``base_url`` (all replicas), so a replayed call hits whichever replica served it.

``make_transport`` lives here, above both: it picks the transport class and wraps it in replicas when needed.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any

from openseeker.llm.transport import AiohttpTransport, OpenAITransport, TransportRetryable, resolve_transport

log = logging.getLogger(__name__)

EJECT_BASE_S = 1.0
EJECT_MAX_S = 30.0
SOFT_FAILURES_TO_EJECT = 3


def split_replicas(base_url: str) -> list[str]:
    """``"http://a/v1, http://b/v1"`` -> ``["http://a/v1", "http://b/v1"]`` (one URL: a list of one)."""
    return [u.strip().rstrip("/") for u in str(base_url).split(",") if u.strip()]


class Replica:
    __slots__ = ("ejected", "ejections", "failures", "in_flight", "index", "probe", "served", "transport", "url")

    def __init__(self, index: int, url: str, transport: Any):
        self.index, self.url, self.transport = index, url, transport
        self.in_flight = self.served = self.failures = self.ejections = 0
        self.ejected = False
        self.probe: asyncio.Task | None = None


class ReplicaTransport:
    """Several replicas of one endpoint (see the module docstring).

    Args:
        urls: the replicas' base URLs.
        make_one: ``url -> transport`` for one replica.
        concurrency: requests in flight per replica.
    """

    name = "replicas"

    def __init__(self, urls: list[str], make_one: Any, *, concurrency: int):
        self.replicas = [Replica(i, u, make_one(u)) for i, u in enumerate(urls)]
        self._make_one = make_one
        self.concurrency = concurrency
        self._turn = 0
        self._waiters: deque[asyncio.Future] = deque()

    # -- choosing a replica
    def _pick(self, exclude: set[int]) -> Replica | None:
        n = len(self.replicas)
        best, best_key = None, None
        for r in self.replicas:
            if r.ejected or r.index in exclude or r.in_flight >= self.concurrency:
                continue
            key = (r.in_flight, (r.index - self._turn) % n)
            if best_key is None or key < best_key:
                best, best_key = r, key
        if best is not None:
            self._turn += 1
            best.in_flight += 1
        return best

    async def _acquire(self, exclude: set[int]) -> Replica | None:
        while True:
            r = self._pick(exclude)
            if r is not None:
                return r
            if all(x.ejected or x.index in exclude for x in self.replicas):
                return None  # nobody left to wait for
            fut = asyncio.get_running_loop().create_future()
            self._waiters.append(fut)
            await fut

    def _release(self, r: Replica) -> None:
        r.in_flight -= 1
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                break

    def _wake_all(self) -> None:
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)

    # -- health
    def _failed(self, r: Replica, reason: str, hard: bool) -> None:
        r.failures += 1
        if r.ejected or not (hard or r.failures >= SOFT_FAILURES_TO_EJECT):
            return
        r.ejected = True
        delay = min(EJECT_MAX_S, EJECT_BASE_S * 2**r.ejections)
        r.ejections += 1
        log.warning("replica %s ejected (%s); probing it again in %.0fs", r.url, reason, delay)
        r.probe = asyncio.get_running_loop().create_task(self._probe(r, delay))
        self._wake_all()  # waiters re-check: they may have nobody left and must fail over

    async def _probe(self, r: Replica, delay: float) -> None:
        old, r.transport = r.transport, self._make_one(r.url)  # its pooled connections died with it
        try:
            await old.close()
        except Exception as exc:  # noqa: BLE001 - closing a dead replica's connections
            log.debug("closing %s: %s", r.url, exc)
        while True:
            await asyncio.sleep(delay)
            try:
                await r.transport.list_models(timeout_s=5.0)
            except Exception as exc:  # noqa: BLE001 - any failure keeps it out
                delay = min(EJECT_MAX_S, EJECT_BASE_S * 2**r.ejections)
                r.ejections += 1
                log.debug("replica %s still down (%s); next probe in %.0fs", r.url, exc, delay)
                continue
            r.ejected, r.failures, r.probe = False, 0, None
            log.warning("replica %s is back", r.url)
            self._wake_all()
            return

    # -- the transport interface
    async def post_chat(self, payload: dict[str, Any], timeout_s: float) -> tuple[int, Any, str]:
        tried: set[int] = set()
        last_error, last_answer = "no healthy replica", None
        while True:
            r = await self._acquire(tried)
            if r is None:
                break
            tried.add(r.index)
            try:
                status, headers, text = await r.transport.post_chat(payload, timeout_s)
            except TransportRetryable as exc:
                last_error = f"{r.url}: {exc}"
                self._failed(r, str(exc), hard=True)
                continue
            finally:
                self._release(r)
            if status == 429 or (500 <= status < 600 and status != 501):
                last_answer = (status, headers, text)
                self._failed(r, f"HTTP {status}", hard=False)
                continue
            r.failures = 0
            r.served += 1
            return status, headers, text
        if last_answer is not None:
            return last_answer  # the client handles the status (retry with backoff)
        raise TransportRetryable(f"every replica failed or is ejected ({len(self.replicas)}); last: {last_error}")

    async def list_models(self, timeout_s: float = 10.0) -> list[str] | None:
        last: Exception | None = None
        for r in sorted(self.replicas, key=lambda x: x.ejected):
            try:
                return await r.transport.list_models(timeout_s=timeout_s)
            except Exception as exc:  # noqa: BLE001 - the next replica may answer
                last = exc
        raise RuntimeError(f"no replica answered GET /models: {last}")

    def stats(self) -> list[dict[str, Any]]:
        """Per replica: url, served, in_flight, ejected, ejections."""
        return [
            {
                "url": r.url,
                "served": r.served,
                "in_flight": r.in_flight,
                "ejected": r.ejected,
                "ejections": r.ejections,
            }
            for r in self.replicas
        ]

    async def close(self) -> None:
        for r in self.replicas:
            if r.probe is not None:
                r.probe.cancel()
            await r.transport.close()


def make_transport(
    base_url: str, api_key: str, *, concurrency: int, timeout_s: float, transport: str = "auto"
) -> AiohttpTransport | OpenAITransport | ReplicaTransport:
    """The transport for one endpoint (shared by every role on it); a comma-separated ``base_url`` lists replicas
    (``openseeker.llm.replicas``: least-loaded, ``concurrency`` per replica, ejection and failover)."""
    cls = AiohttpTransport if resolve_transport(transport) == "aiohttp" else OpenAITransport
    if "," in base_url:
        return ReplicaTransport(
            split_replicas(base_url),
            lambda url: cls(url, api_key, concurrency=concurrency, timeout_s=timeout_s),
            concurrency=concurrency,
        )
    return cls(base_url, api_key, concurrency=concurrency, timeout_s=timeout_s)
