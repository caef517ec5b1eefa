"""QA synthesis over the live web: crawl a small hyperlink graph around seed urls, then synthesize as usual.

QA synthesis samples a seed and follows its hyperlinks (METHOD.md section 2). A search API gives no graph, so for
``--web live`` the seeds are urls the user names (**ours**): each seed page is fetched through the live web's
SSRF-guarded fetcher, its ``<a href>`` links are kept (``Page.metadata["links"]``), the first ``fanout`` of them
are fetched in turn, up to ``depth`` hops, and the pages and links become a ``MemoryGraph`` that the ordinary
pipeline walks. Fetch failures are counted and skipped, never fatal.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from openseeker.errors import ToolError, UserError
from openseeker.records import Link, Page
from openseeker.synth.qa.memgraph import MemoryGraph

if TYPE_CHECKING:
    from openseeker.web.base import Web

log = logging.getLogger(__name__)


async def crawl_live(
    web: Web, seed_urls: list[str], *, depth: int = 2, fanout: int = 8, concurrency: int = 8
) -> tuple[MemoryGraph, dict[str, int]]:
    """Fetch ``seed_urls`` and, breadth first, up to ``fanout`` out-links per page for ``depth`` hops.

    Returns:
        the graph (seed pages first) and counters ``{"fetched", "failed", "links"}``.
    """
    if not seed_urls:
        raise UserError("QA synthesis over the live web needs seed urls (--seed-urls FILE, one url per line)")
    sem = asyncio.Semaphore(max(1, concurrency))
    pages: dict[str, Page] = {}
    alias: dict[str, str] = {}  # requested url -> final url (redirects)
    stats = {"fetched": 0, "failed": 0, "links": 0}

    async def get(url: str) -> Page | None:
        async with sem:
            try:
                page = await web.fetch(url)
            except (ToolError, OSError, ValueError) as exc:
                log.info("crawl: %s skipped (%s)", url, exc)
                page = None
        if page is None:
            stats["failed"] += 1
            return None
        stats["fetched"] += 1
        alias[url] = page.url
        pages.setdefault(page.url, page)
        return page

    frontier = list(dict.fromkeys(seed_urls))
    seen = set(frontier)
    for hop in range(depth + 1):
        fetched = [p for p in await asyncio.gather(*(get(u) for u in frontier)) if p is not None]
        if hop == depth:
            break
        frontier = []
        for page in fetched:
            for link in (page.metadata.get("links") or [])[:fanout]:
                if link["url"] not in seen:
                    seen.add(link["url"])
                    frontier.append(link["url"])
        if not frontier:
            break
    links = []
    for page in pages.values():
        for link in page.metadata.get("links") or []:
            dst = alias.get(link["url"], link["url"])
            if dst in pages and dst != page.url:
                links.append(Link(src=page.url, dst=dst, anchor=link.get("anchor", "")))
    stats["links"] = len(links)
    if not any(alias.get(u) in pages for u in seed_urls):
        raise UserError(f"none of the {len(seed_urls)} seed url(s) could be fetched ({stats['failed']} failures)")
    log.info("crawled %d live pages (%d failed), %d links among them", stats["fetched"], stats["failed"], len(links))
    return MemoryGraph(pages.values(), links), stats


def read_seed_urls(path: Any) -> list[str]:
    """One url per line (blank lines and ``#`` comments ignored)."""
    from pathlib import Path

    p = Path(path)
    if not p.exists():
        raise UserError(f"{p}: no such file (--seed-urls takes a file with one url per line)")
    urls = [line.strip() for line in p.read_text(encoding="utf-8").splitlines()]
    urls = [u for u in urls if u and not u.startswith("#")]
    bad = [u for u in urls if not u.startswith(("http://", "https://"))]
    if bad:
        raise UserError(f"{p}: not an http(s) url: {bad[0]}")
    return urls
