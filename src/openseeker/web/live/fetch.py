"""Live ``visit``: fetch one URL safely and turn it into a ``Page`` (text/markdown).

Direct path: httpx with timeouts, streamed download aborted past ``max_bytes`` (decoded size, so a gzip bomb is
caught too), redirects followed by hand up to ``max_redirects`` with an SSRF check on every hop, content-type
dispatch (HTML -> trafilatura markdown; text/JSON/XML as-is; PDF -> pypdf text, or a clear refusal; anything else
is refused as binary), and an overall deadline so a slow-drip page cannot hold a worker.
Reader path (optional): ``GET {reader_url}/{url}`` on a Jina-Reader-style service, which returns the page as
text; the target URL is still SSRF-checked first (the reader may sit inside our network).
Failures raise ``ToolError`` with a message the agent can act on; ``VisitTool`` turns it into an observation.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urljoin

import httpx

from openseeker.errors import ToolError
from openseeker.records import Page
from openseeker.web.live.ssrf import SSRFGuard

log = logging.getLogger(__name__)

_HTML = ("text/html", "application/xhtml+xml")
_TEXT_PREFIX = ("text/",)
_TEXT_TYPES = (
    "application/json",
    "application/xml",
    "application/ld+json",
    "application/rss+xml",
    "application/atom+xml",
    "application/javascript",
    "application/x-yaml",
)
_REDIRECTS = (301, 302, 303, 307, 308)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def _mb(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB"


def classify(content_type: str, url: str, head: bytes = b"") -> str:
    """``html`` | ``text`` | ``pdf`` | ``binary`` from the content type (sniffing the first bytes if it is vague)."""
    ctype = content_type.split(";", 1)[0].strip().lower()
    if ctype in _HTML:
        return "html"
    if ctype == "application/pdf" or head.startswith(b"%PDF-"):
        return "pdf"
    if ctype.startswith(_TEXT_PREFIX) or ctype in _TEXT_TYPES or ctype.endswith(("+json", "+xml")):
        return "text"
    if ctype in ("", "application/octet-stream", "binary/octet-stream"):
        if url.lower().split("?", 1)[0].endswith(".pdf"):
            return "pdf"
        sample = head[:2048].lstrip().lower()
        if sample.startswith((b"<!doctype html", b"<html")) or b"<body" in sample:
            return "html"
        if sample and b"\x00" not in sample:
            try:
                sample.decode("utf-8")
                return "text"
            except UnicodeDecodeError:
                pass
    return "binary"


@contextmanager
def _httpx_errors(timeout: str, network: str) -> Iterator[None]:
    """httpx failures as the agent's one-line ``ToolError``: ``timeout`` for a timeout, else ``network`` with the
    error's type and text (the one mapping for the direct fetch, its body read and the reader service)."""
    try:
        yield
    except httpx.TimeoutException:
        raise ToolError(timeout) from None
    except httpx.HTTPError as exc:
        raise ToolError(f"{network} ({type(exc).__name__}: {exc})") from None


def _decode(body: bytes, charset: str | None, *, sniff: bool = False) -> str:
    """Decode with the HTTP charset; without one, ``sniff`` lets trafilatura detect it (``<meta charset>``, byte
    statistics), which matters for GBK/Big5/Shift-JIS pages that only declare their encoding in the HTML."""
    if not charset and sniff:
        try:
            from trafilatura.utils import decode_file

            return decode_file(body)
        except Exception:  # detection is best-effort
            pass
    for enc in (charset, "utf-8"):
        if enc:
            try:
                return body.decode(enc)
            except (LookupError, UnicodeDecodeError):
                continue
    return body.decode("utf-8", errors="replace")


def html_to_text(html: str, url: str) -> tuple[str, str]:
    """``(title, markdown text)`` of an HTML page: trafilatura main-content extraction, lxml text as fallback."""
    import trafilatura

    text = (
        trafilatura.extract(
            html,
            url=url,
            output_format="markdown",
            include_comments=False,
            include_tables=True,
            include_links=False,
            favor_recall=True,
        )
        or ""
    )
    title = ""
    try:
        meta = trafilatura.extract_metadata(html)
        title = (meta.title or "") if meta is not None else ""
    except Exception:  # metadata is best-effort
        title = ""
    if not title:
        m = _TITLE.search(html)
        title = re.sub(r"\s+", " ", m.group(1)).strip() if m else ""
    if not text.strip():
        try:
            import lxml.html

            doc = lxml.html.fromstring(html)
            for bad in doc.xpath("//script|//style|//noscript"):
                bad.drop_tree()
            text = re.sub(r"\n\s*\n+", "\n\n", doc.text_content()).strip()
        except Exception:
            text = ""
    return title, text.strip()


MAX_LINKS = 300


def html_links(html: str, base_url: str, limit: int = MAX_LINKS) -> list[dict[str, str]]:
    """The page's outgoing http(s) hyperlinks, absolute, without fragments, first occurrence kept, in page order.

    Kept in ``Page.metadata["links"]`` so that graph walks (QA synthesis over the live web) can follow them.
    """
    try:
        import lxml.html

        doc = lxml.html.fromstring(html)
    except Exception:  # unparseable HTML: no links, never an error
        return []
    seen: set[str] = set()
    out: list[dict[str, str]] = []
    for a in doc.iter("a"):
        href = (a.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:")):
            continue
        url = urljoin(base_url, href).split("#", 1)[0]
        if not url.startswith(("http://", "https://")) or url in seen or url == base_url:
            continue
        seen.add(url)
        out.append({"url": url, "anchor": re.sub(r"\s+", " ", a.text_content() or "").strip()[:200]})
        if len(out) >= limit:
            break
    return out


def pdf_to_text(body: bytes, url: str) -> tuple[str, str]:
    try:
        import pypdf
    except ImportError:
        raise ToolError(f"{url} is a PDF and PDF reading needs the pypdf package (pip install pypdf)") from None
    try:
        reader = pypdf.PdfReader(io.BytesIO(body))
        pages = [page.extract_text() or "" for page in reader.pages]
        title = ""
        if reader.metadata is not None and reader.metadata.title:
            title = str(reader.metadata.title)
    except Exception as exc:
        raise ToolError(f"{url} is a PDF that could not be read ({type(exc).__name__}: {exc})") from None
    return title, "\n\n".join(p.strip() for p in pages if p.strip())


def parse_reader_output(text: str) -> tuple[str, str]:
    """Jina Reader's text answer: ``Title: ...`` / ``URL Source: ...`` / ``Markdown Content:`` header, then body."""
    title = ""
    m = re.match(r"\s*Title:\s*(.*)", text)
    if m:
        title = m.group(1).strip()
    marker = text.find("Markdown Content:")
    body = text[marker + len("Markdown Content:") :] if marker >= 0 else text
    return title, body.strip()


class Fetcher:
    """Fetch pages directly (guarded client) or through a reader service (trusted client).

    Args:
        settings: ``FetchSettings``.
        guard: the SSRF guard (also installed inside the direct client's connections).
        reader_key: bearer key for the reader service, if any.
    """

    def __init__(self, settings: Any, guard: SSRFGuard, reader_key: str | None = None):
        self.settings, self.guard, self.reader_key = settings, guard, reader_key

    async def fetch(
        self, url: str, *, client: httpx.AsyncClient, reader_client: httpx.AsyncClient | None = None
    ) -> Page:
        url = url.strip()
        coro = (
            self._via_reader(reader_client, url)
            if self.settings.reader_url and reader_client is not None
            else self._direct(client, url)
        )
        try:
            return await asyncio.wait_for(coro, self.settings.total_timeout_s)
        except TimeoutError:
            raise ToolError(
                f"timed out: {url} did not finish loading within {self.settings.total_timeout_s:g}s"
            ) from None

    async def _read_capped(self, response: httpx.Response, url: str) -> bytes:
        cap = self.settings.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise ToolError(f"too large: {url} is {_mb(int(declared))}, over the {_mb(cap)} limit; not downloaded")
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body.extend(chunk)
            if len(body) > cap:
                raise ToolError(f"too large: {url} is over the {_mb(cap)} limit; download aborted")
        return bytes(body)

    async def _direct(self, client: httpx.AsyncClient, url: str) -> Page:
        current, hops = url, []
        headers = {
            "User-Agent": self.settings.user_agent,
            "Accept": "text/html,application/xhtml+xml,text/plain;q=0.9,application/pdf;q=0.8,*/*;q=0.5",
        }
        for _hop in range(self.settings.max_redirects + 1):
            await self.guard.check_url(current)
            with _httpx_errors(f"timed out connecting to or reading {current}", "network error"):
                request = client.build_request("GET", current, headers=headers)
                response = await client.send(request, stream=True, follow_redirects=False)
            try:
                if response.status_code in _REDIRECTS and response.headers.get("location"):
                    nxt = urljoin(current, response.headers["location"])
                    hops.append(nxt)
                    current = nxt
                    continue
                if response.status_code >= 400:
                    raise ToolError(f"HTTP {response.status_code} {response.reason_phrase} for {current}")
                ctype = response.headers.get("content-type", "")
                kind = classify(ctype, current)
                vague = ctype.split(";", 1)[0].strip().lower() in (
                    "",
                    "application/octet-stream",
                    "binary/octet-stream",
                )
                if kind == "binary" and not vague:
                    raise ToolError(
                        f"{current} is binary content ({ctype.split(';', 1)[0]}), not a readable page; refused"
                    )
                with _httpx_errors(f"timed out reading {current}", f"network error while reading {current}"):
                    body = await self._read_capped(response, current)
                charset = response.charset_encoding
            finally:
                await response.aclose()
            return await self._to_page(url, current, ctype, body, charset, hops)
        raise ToolError(f"too many redirects: {url} redirected more than {self.settings.max_redirects} times")

    async def _to_page(
        self, requested: str, final: str, ctype: str, body: bytes, charset: str | None, hops: list[str]
    ) -> Page:
        kind = classify(ctype, final, body[:2048])
        if kind == "binary":
            raise ToolError(f"{final} is binary content ({ctype or 'unknown type'}), not a readable page; refused")
        if kind == "pdf":
            if not self.settings.pdf:
                raise ToolError(f"{final} is a PDF; PDF reading is turned off (live.fetch.pdf: false)")
            title, text = await asyncio.to_thread(pdf_to_text, body, final)
        elif kind == "html":
            html = _decode(body, charset, sniff=True)
            title, text = await asyncio.to_thread(html_to_text, html, final)
            links = html_links(html, final)
        else:
            title, text = "", _decode(body, charset, sniff=kind == "text").strip()
        if not text:
            raise ToolError(f"{final} has no readable text")
        meta = {
            "requested_url": requested,
            "content_type": ctype,
            "kind": kind,
            "via": "direct",
            "redirects": hops,
            "bytes": len(body),
        }
        if kind == "html":
            meta["links"] = links
        return Page(url=final, title=title or final, text=text, source="live", metadata=meta)

    async def _via_reader(self, client: httpx.AsyncClient, url: str) -> Page:
        await self.guard.check_url(url)
        headers = {"Accept": "text/plain"}
        if self.reader_key:
            headers["Authorization"] = f"Bearer {self.reader_key}"
        reader = self.settings.reader_url.rstrip("/")
        with _httpx_errors(
            f"timed out: the reader service did not return {url} in time", "reader service unreachable"
        ):
            async with client.stream(
                "GET", f"{reader}/{url}", headers=headers, timeout=self.settings.timeout_s
            ) as response:
                if response.status_code >= 400:
                    raise ToolError(f"the reader service answered HTTP {response.status_code} for {url}")
                body = await self._read_capped(response, url)
                charset = response.charset_encoding
        title, text = parse_reader_output(_decode(body, charset))
        if not text:
            raise ToolError(f"the reader service returned no text for {url}")
        return Page(
            url=url,
            title=title or url,
            text=text,
            source="live",
            metadata={"requested_url": url, "via": "reader", "bytes": len(body)},
        )
