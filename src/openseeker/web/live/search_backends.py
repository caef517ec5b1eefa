"""Live search backends behind ``Web.search``: Serper (Google), Tavily, SearXNG (self-hosted) and DuckDuckGo (ddgs).

Each backend maps its API's documented response to ``SearchHit`` (title, url, snippet, date, source) and raises
``BackendError`` (a ``ToolError``) with ``retryable`` set for 429 / 5xx / network failures, so the caller
(``LiveWeb``) retries those with backoff and reports the rest at once. Backends are looked up in a lazy
registry (``openseeker.web.live.config.BACKENDS``) by name, with a did-you-mean error for typos.

Locale (paper, METHOD §1): a query containing CJK characters is searched with a Chinese locale
(Serper ``gl=cn, hl=zh-cn``; SearXNG ``language=zh-CN``; ddgs ``region=cn-zh``), otherwise English/US.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx

from openseeker.errors import ToolError, UserError
from openseeker.records import SearchHit
from openseeker.text import has_cjk  # the paper's zh-locale switch
from openseeker.web.live.config import (
    BackendSettings,
    DdgsSettings,
    SearxngSettings,
    SerperSettings,
    TavilySettings,
)
from openseeker.web.live.ratelimit import parse_retry_after

log = logging.getLogger(__name__)


class BackendError(ToolError):
    """A search API call failed. ``retryable`` for 429/5xx/network errors; ``status`` is the HTTP status or 0."""

    def __init__(self, message: str, *, status: int = 0, retryable: bool = False, retry_after: float | None = None):
        super().__init__(message)
        self.status, self.retryable, self.retry_after = status, retryable, retry_after


def _error_detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].strip()
    if isinstance(body, dict):
        for key in ("message", "detail", "error", "msg"):
            if body.get(key):
                value = body[key]
                return (value.get("message") or json.dumps(value)) if isinstance(value, dict) else str(value)
    return json.dumps(body)[:200]


def check_response(name: str, response: httpx.Response) -> Any:
    """The JSON body of a 2xx response, or a ``BackendError`` saying what went wrong and whether to retry."""
    status = response.status_code
    if status in (401, 403):
        raise BackendError(
            f"{name} rejected the API key (HTTP {status}: {_error_detail(response)}); check the key "
            "in the environment variable named by the live-web config",
            status=status,
        )
    if status == 429:
        raise BackendError(
            f"{name} rate limit hit (HTTP 429: {_error_detail(response)})",
            status=status,
            retryable=True,
            retry_after=parse_retry_after(response.headers.get("retry-after")),
        )
    if status >= 500:
        raise BackendError(
            f"{name} server error (HTTP {status}: {_error_detail(response)})",
            status=status,
            retryable=True,
            retry_after=parse_retry_after(response.headers.get("retry-after")),
        )
    if status >= 400:
        raise BackendError(f"{name} refused the request (HTTP {status}: {_error_detail(response)})", status=status)
    try:
        return response.json()
    except ValueError:
        raise BackendError(
            f"{name} returned malformed JSON (HTTP {status}, {len(response.content)} bytes: {response.text[:80]!r})",
            status=status,
        ) from None


def _str(value: Any) -> str:
    return "" if value is None else str(value).strip()


class SearchBackend:
    """One search API. Subclasses set ``name``/``needs_key``/``settings_class`` and implement ``search``.

    ``settings_class`` is the pydantic model of the backend's section of the live config (``live.<name>:``):
    the config reads that section with it, so a new backend needs no field elsewhere.
    """

    name = "base"
    needs_key = False
    settings_class: type[BackendSettings] = BackendSettings

    def __init__(self, settings: Any, api_key: str | None = None):
        self.settings, self.api_key = settings, api_key

    @classmethod
    def check_settings(cls, settings: BackendSettings) -> None:
        """Raise ``UserError`` at start-up when the settings cannot work (e.g. a self-hosted API without a URL)."""

    @property
    def base_url(self) -> str:
        return (self.settings.base_url or "").rstrip("/")

    async def search(self, client: httpx.AsyncClient, query: str, top_k: int) -> list[SearchHit]:
        raise NotImplementedError

    async def _send(self, client: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> Any:
        try:
            response = await client.request(method, url, timeout=self.settings.timeout_s, **kwargs)
        except httpx.TimeoutException:
            raise BackendError(f"{self.name} timed out after {self.settings.timeout_s}s", retryable=True) from None
        except httpx.TransportError as exc:
            raise BackendError(
                f"{self.name} unreachable at {self.base_url} ({type(exc).__name__}: {exc})", retryable=True
            ) from None
        return check_response(self.name, response)

    def _hits_from(
        self,
        items: Any,
        *,
        url_key: str,
        snippet_key: str,
        date_keys: tuple[str, ...] = (),
        source_key: str | None = None,
        score_key: str | None = None,
        top_k: int = 10,
    ) -> list[SearchHit]:
        if items is None:
            return []
        if not isinstance(items, list):
            raise BackendError(f"{self.name} returned an unexpected result list ({type(items).__name__})")
        hits: list[SearchHit] = []
        seen: set[str] = set()
        for rank, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            url = _str(item.get(url_key))
            if not url or url in seen:
                continue
            seen.add(url)
            date = next((_str(item[k]) for k in date_keys if item.get(k)), None)
            score = item.get(score_key) if score_key else None
            hits.append(
                SearchHit(
                    url=url,
                    title=_str(item.get("title")) or url,
                    snippet=_str(item.get(snippet_key)),
                    date=date or None,
                    source=(_str(item.get(source_key)) or None) if source_key else None,
                    score=float(score) if isinstance(score, (int, float)) else float(len(items) - rank),
                )
            )
            if len(hits) >= top_k:
                break
        return hits


class SerperBackend(SearchBackend):
    """Google via serper.dev: ``POST {base}/search`` with ``X-API-KEY``; hits from ``organic[]``."""

    name = "serper"
    needs_key = True
    settings_class = SerperSettings

    async def search(self, client: httpx.AsyncClient, query: str, top_k: int) -> list[SearchHit]:
        locale = {"gl": "cn", "hl": "zh-cn"} if has_cjk(query) else {"gl": "us", "hl": "en"}
        body = {"q": query, "num": max(top_k, 10), **locale, **self.settings.params}
        data = await self._send(
            client,
            "POST",
            f"{self.base_url}/search",
            json=body,
            headers={"X-API-KEY": self.api_key or "", "Content-Type": "application/json"},
        )
        if not isinstance(data, dict):
            raise BackendError(f"serper returned an unexpected body ({type(data).__name__})")
        return self._hits_from(
            data.get("organic"),
            url_key="link",
            snippet_key="snippet",
            date_keys=("date",),
            source_key="source",
            top_k=top_k,
        )


class TavilyBackend(SearchBackend):
    """Tavily: ``POST {base}/search`` (bearer key, also ``api_key`` in the body for older API versions)."""

    name = "tavily"
    needs_key = True
    settings_class = TavilySettings

    async def search(self, client: httpx.AsyncClient, query: str, top_k: int) -> list[SearchHit]:
        body = {
            "query": query,
            "max_results": min(max(top_k, 1), 20),
            "search_depth": "basic",
            "api_key": self.api_key,
            **self.settings.params,
        }
        data = await self._send(
            client, "POST", f"{self.base_url}/search", json=body, headers={"Authorization": f"Bearer {self.api_key}"}
        )
        if not isinstance(data, dict):
            raise BackendError(f"tavily returned an unexpected body ({type(data).__name__})")
        return self._hits_from(
            data.get("results"),
            url_key="url",
            snippet_key="content",
            date_keys=("published_date",),
            score_key="score",
            top_k=top_k,
        )


class SearxngBackend(SearchBackend):
    """A self-hosted SearXNG instance: ``GET {base}/search?q=..&format=json`` (JSON output must be enabled)."""

    name = "searxng"
    settings_class = SearxngSettings

    @classmethod
    def check_settings(cls, settings: BackendSettings) -> None:
        if not settings.base_url:
            raise UserError("live web: backend 'searxng' needs live.searxng.base_url (your instance's URL)")

    async def search(self, client: httpx.AsyncClient, query: str, top_k: int) -> list[SearchHit]:
        if not self.base_url:
            raise UserError(
                "live web: searxng needs live.searxng.base_url (your instance, e.g. http://127.0.0.1:8888)"
            )
        params = {
            "q": query,
            "format": "json",
            "pageno": 1,
            "language": "zh-CN" if has_cjk(query) else "en",
            **self.settings.params,
        }
        data = await self._send(client, "GET", f"{self.base_url}/search", params=params)
        if not isinstance(data, dict):
            raise BackendError(f"searxng returned an unexpected body ({type(data).__name__})")
        return self._hits_from(
            data.get("results"),
            url_key="url",
            snippet_key="content",
            date_keys=("publishedDate", "pubdate"),
            top_k=top_k,
        )


class DdgsBackend(SearchBackend):
    """DuckDuckGo & co. through the ``ddgs`` package (no key; it talks to the engines itself, in a thread)."""

    name = "ddgs"
    settings_class = DdgsSettings
    ddgs_factory = None  # tests inject a fake ``DDGS`` class here

    async def search(self, client: httpx.AsyncClient, query: str, top_k: int) -> list[SearchHit]:
        factory = self.ddgs_factory
        if factory is None:
            try:
                from ddgs import DDGS as factory  # noqa: N811
            except ImportError:
                raise UserError("live web: backend 'ddgs' needs the ddgs package (pip install ddgs)") from None
        from ddgs.exceptions import DDGSException, RatelimitException, TimeoutException

        region = "cn-zh" if has_cjk(query) else "us-en"
        backend = self.settings.ddgs_backend

        def run() -> list[dict[str, Any]]:
            return factory(timeout=int(self.settings.timeout_s)).text(
                query, region=region, max_results=top_k, backend=backend, **self.settings.params
            )

        try:
            items = await asyncio.to_thread(run)
        except RatelimitException as exc:
            raise BackendError(f"ddgs rate limited ({exc})", status=429, retryable=True) from None
        except TimeoutException as exc:
            raise BackendError(f"ddgs timed out ({exc})", retryable=True) from None
        except DDGSException as exc:
            if "no results" in str(exc).lower():
                return []
            raise BackendError(f"ddgs failed ({exc})", retryable=True) from None
        return self._hits_from(items, url_key="href", snippet_key="body", date_keys=("date",), top_k=top_k)
