"""``RemoteWeb``: the ``Web`` of an ``openseeker serve`` server (``--web http://host:8000``), so agents on many
machines share one read-only web (or several server replicas: ``--web http://a:8000,http://b:8000``).

It speaks the server's existing endpoints only (docs/serve.md): ``POST /search`` -> its structured ``hits``
(the same ``SearchHit`` fields a local web returns), and ``POST /visit`` with an empty goal -> the raw page text
the server's visit tool renders (``Page: [title](url)`` + text, at most the server's ``max_chars``, 20,000 by
default, the agent's own visit budget), parsed back into a ``Page``; the agent's extractor then reads it here as it
would a local page. A token for a server started with ``--token`` comes from ``$OPENSEEKER_SERVE_TOKEN``.

With several servers, each call goes to the one with the fewest calls in flight; one that refuses connections is
skipped for 5 s and the call is sent to the next (search and visit are read-only, so a retry is harmless).
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

from openseeker.errors import ToolError, UserError
from openseeker.records import Page, SearchHit

log = logging.getLogger(__name__)

SKIP_S = 5.0
TIMEOUT_S = 120.0


def is_remote_spec(spec: Any) -> bool:
    return isinstance(spec, str) and spec.startswith(("http://", "https://"))


class RemoteWeb:
    """A client of one or more ``openseeker serve`` servers (see the module docstring).

    Args:
        spec: ``http://host:port`` or several, comma-separated (replicas serving the same web).
        token: bearer token (default ``$OPENSEEKER_SERVE_TOKEN``).
        concurrency: connections per server.
    """

    def __init__(self, spec: str, *, token: str | None = None, concurrency: int = 256, timeout_s: float = TIMEOUT_S):
        self.urls = [u.strip().rstrip("/") for u in spec.split(",") if u.strip()]
        if not self.urls or not all(is_remote_spec(u) for u in self.urls):
            raise UserError(f"--web {spec!r}: expected http://host:port (an `openseeker serve` address)")
        self.name = "remote:" + ",".join(self.urls)
        self.token = token if token is not None else os.environ.get("OPENSEEKER_SERVE_TOKEN")
        self.concurrency, self.timeout_s = concurrency, timeout_s
        self._in_flight = [0] * len(self.urls)
        self._skip_until = [0.0] * len(self.urls)
        self._session: Any = None
        self._retrievals_ok: set[str] = set()
        self.calls = {"search": 0, "visit": 0, "failovers": 0}

    def __getstate__(self) -> dict[str, Any]:  # picklable for worker processes: no live session
        return {**self.__dict__, "_session": None}

    def _get_session(self) -> Any:
        import aiohttp

        if self._session is None or self._session.closed:
            headers = {"Content-Type": "application/json"}
            if self.token:
                headers["Authorization"] = f"Bearer {self.token}"
            connector = aiohttp.TCPConnector(limit=self.concurrency * len(self.urls), limit_per_host=self.concurrency)
            self._session = aiohttp.ClientSession(connector=connector, headers=headers)
        return self._session

    def _order(self) -> list[int]:
        now = time.monotonic()
        return sorted(range(len(self.urls)), key=lambda i: (self._skip_until[i] > now, self._in_flight[i]))

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        import aiohttp

        data = json.dumps(body).encode("utf-8")
        last = ""
        for n, i in enumerate(self._order()):
            url = self.urls[i] + path
            self._in_flight[i] += 1
            try:
                async with self._get_session().post(
                    url, data=data, timeout=aiohttp.ClientTimeout(total=self.timeout_s)
                ) as resp:
                    text = await resp.text()
                    status = resp.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                self._skip_until[i] = time.monotonic() + SKIP_S
                last = f"{self.urls[i]}: {type(exc).__name__}: {exc}"
                self.calls["failovers"] += n + 1 < len(self.urls)
                continue
            finally:
                self._in_flight[i] -= 1
            if status == 401:
                raise UserError(f"{self.urls[i]} needs a token: set OPENSEEKER_SERVE_TOKEN")
            if status != 200:
                try:
                    detail = json.loads(text).get("detail")
                except (ValueError, AttributeError):
                    detail = text[:300]
                raise ToolError(f"{self.urls[i]}{path}: HTTP {status}: {detail}")
            return json.loads(text)
        raise ToolError(f"no web server answered ({last})")

    async def search(
        self, queries: list[str], top_k: int = 10, *, retrieval: str | None = None
    ) -> list[list[SearchHit]]:
        """The server's ``/search``; ``retrieval`` (bm25 / dense / hybrid) is forwarded when given, else the
        server's web ranks with its own default."""
        self.calls["search"] += 1
        request: dict[str, Any] = {"query": list(queries), "top_k": max(1, min(50, int(top_k)))}
        if retrieval is not None:
            request["retrieval"] = retrieval
        body = await self._post("/search", request)
        return [
            [SearchHit(**{k: v for k, v in h.items() if k in SearchHit.model_fields}) for h in hits]
            for hits in body.get("hits") or []
        ]

    async def ensure_retrieval(self, retrieval: str) -> None:
        """Ask the server once (one 1-hit search) whether its web ranks with ``retrieval``; its 4xx reason (no
        dense index, a live web) becomes a one-line ``UserError`` before any agent starts."""
        if retrieval in self._retrievals_ok:
            return
        try:
            await self.search(["retrieval check"], 1, retrieval=retrieval)
        except ToolError as exc:
            raise UserError(f"retrieval {retrieval!r}: {exc}") from None
        self._retrievals_ok.add(retrieval)

    async def fetch(self, url: str) -> Page | None:
        self.calls["visit"] += 1
        text = (await self._post("/visit", {"url": url, "goal": ""})).get("result") or ""
        return parse_visit(url, text)

    def stats(self) -> dict[str, Any]:
        return dict(self.calls)

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    def close(self) -> None:
        """Sync close for the ``Web`` protocol: closes the session when no loop runs (else use ``aclose``)."""
        if self._session is None or self._session.closed:
            return
        import asyncio

        try:
            asyncio.get_running_loop().create_task(self.aclose())
        except RuntimeError:
            self._session = None  # its loop is gone: nothing left to close


def parse_visit(url: str, text: str) -> Page | None:
    """The server's raw visit text back into a ``Page`` (``None`` for "not found"; ``ToolError`` for refusals)."""
    if text.startswith("Page: ["):
        head, _, body = text.partition("\n\n")
        title, _, page_url = head[len("Page: [") :].rstrip(")").rpartition("](")
        return Page(url=page_url or url, title=title, text=body, source="remote")
    if "was not found" in text.split("\n", 1)[0]:
        return None
    prefix = f"[visit] Could not open {url}: "
    raise ToolError(text[len(prefix) :] if text.startswith(prefix) else text[:500])
