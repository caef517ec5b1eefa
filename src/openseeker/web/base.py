"""The ``Web`` contract shared by the local web (SQLite graph + tantivy) and live backends (search APIs + fetch).

The agent's tools (``openseeker.web.tools``) are written against this protocol only, so everything above it
(agent, QA synthesis, trajectory synthesis, evaluation, the HTTP/MCP server) runs unchanged on either.
"""

from __future__ import annotations

import os
from typing import Protocol, TypeAlias, runtime_checkable

from openseeker.records import Page, SearchHit


@runtime_checkable
class Web(Protocol):
    name: str

    async def search(self, queries: list[str], top_k: int = 10) -> list[list[SearchHit]]:
        """Top-``top_k`` hits for each query, in order. Empty list for a query with no hits."""
        ...

    async def fetch(self, url: str) -> Page | None:
        """The page at ``url`` (full text), or ``None`` when it is unknown/unreachable.

        A local web whose pages carry an external document id (``SearchHit.docid``) accepts that id here too.

        Live backends may raise ``ToolError`` with a message fit to show the agent (blocked address, too big).
        """
        ...

    def close(self) -> None: ...


# What stage entry points accept as "the web": a web directory, ``"live"``, an ``http://host:port`` server, or an
# opened ``Web`` (``openseeker.web.open.open_web`` turns the first three into the last).
WebSource: TypeAlias = "str | os.PathLike[str] | Web"
