"""The ``Web`` contract shared by the local web (SQLite graph + tantivy) and live backends (search APIs + fetch).

The agent's tools (``openseeker.web.tools``) are written against this protocol only, so everything above it
(agent, QA synthesis, trajectory synthesis, evaluation, the HTTP/MCP server) runs unchanged on either.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

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
