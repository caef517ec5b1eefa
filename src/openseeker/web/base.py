"""The ``Web`` contract shared by the local web (SQLite graph + tantivy) and live backends (search APIs + fetch).

The agent's tools (``openseeker.web.tools``) are written against this protocol only, so everything above it
(agent, QA synthesis, trajectory synthesis, evaluation, the HTTP/MCP server) runs unchanged on either.
"""

from __future__ import annotations

import os
from typing import Protocol, TypeAlias, runtime_checkable

from openseeker.errors import UserError
from openseeker.records import Page, SearchHit

RETRIEVALS = ("bm25", "dense", "hybrid")
RETRIEVAL_HELP = (
    "Ranking of search on a local web (or a server over one): bm25, dense or hybrid (BM25 + dense "
    "fused); default: the web's own (`web embed --default`), else bm25. dense and hybrid need "
    "`openseeker web embed`."
)


@runtime_checkable
class Web(Protocol):
    name: str

    async def search(self, queries: list[str], top_k: int = 10) -> list[list[SearchHit]]:
        """Top-``top_k`` hits for each query, in order. Empty list for a query with no hits.

        A web that can rank in several ways (a local web, a server over one) also takes ``retrieval=`` (one of
        ``RETRIEVALS``); callers pass it only when one was asked for (``search_with``), after ``ensure_retrieval``.
        """
        ...

    async def fetch(self, url: str) -> Page | None:
        """The page at ``url`` (full text), or ``None`` when it is unknown/unreachable.

        A local web whose pages carry an external document id (``SearchHit.docid``) accepts that id here too.

        Live backends may raise ``ToolError`` with a message fit to show the agent (blocked address, too big).
        """
        ...

    async def aclose(self) -> None:
        """Release what the web holds (HTTP clients inside the running loop, files, caches). ``open_web`` calls it;
        a wrapper over a web it does not own (the eval's leakage guard) does nothing."""
        ...


def check_retrieval(name: str) -> str:
    """``name`` if it is one of ``RETRIEVALS``, else a one-line ``UserError``."""
    if name not in RETRIEVALS:
        raise UserError(f"unknown retrieval {name!r} (known: {', '.join(RETRIEVALS)})")
    return name


async def ensure_retrieval(web: Web, retrieval: str | None) -> None:
    """Fail now, in one line, when ``web`` cannot rank with ``retrieval`` (``None``: the web's default, always
    fine): an unknown name, a local web without a dense index (the message names ``openseeker web embed``), a
    server that refuses it, or a web that ranks with its own search engine (live). Webs that can rank several
    ways implement ``ensure_retrieval(retrieval)`` themselves."""
    if retrieval is None:
        return
    check_retrieval(retrieval)
    own = getattr(web, "ensure_retrieval", None)
    if own is None:
        raise own_ranking_error(retrieval, getattr(web, "name", type(web).__name__))
    await own(retrieval)


def own_ranking_error(retrieval: str, name: str) -> UserError:
    return UserError(
        f"retrieval {retrieval!r}: {name} ranks with its own search engine; bm25 | dense | hybrid "
        "choose the ranking of a local web (or of an `openseeker serve` server over one)"
    )


async def search_with(web: Web, queries: list[str], top_k: int, retrieval: str | None = None) -> list[list[SearchHit]]:
    """``web.search``, passing ``retrieval`` only when one was asked for (so any ``Web`` works without it)."""
    if retrieval is None:
        return await web.search(queries, top_k)
    return await web.search(queries, top_k, retrieval=retrieval)  # type: ignore[call-arg]


# What stage entry points accept as "the web": a web directory, ``"live"``, an ``http://host:port`` server, or an
# opened ``Web`` (``openseeker.web.open.open_web`` turns the first three into the last).
WebSource: TypeAlias = "str | os.PathLike[str] | Web"
