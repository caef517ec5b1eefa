"""The agent's two tools, ``search`` and ``visit``, over any ``Web`` (local or live).

A tool is a name, an OpenAI function schema and ``async execute(arguments) -> str``. ``execute`` never raises:
bad arguments, unknown urls and backend failures come back as a message the model can read and act on.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from openseeker.errors import ToolError
from openseeker.web.base import Web, check_retrieval, search_with
from openseeker.web.format import format_search, format_visit_raw

log = logging.getLogger(__name__)

MAX_QUERIES = 16
MAX_QUERY_CHARS = 512
MAX_URLS = 8


class Tool(Protocol):
    name: str
    schema: dict[str, Any]

    async def execute(self, arguments: dict[str, Any]) -> str: ...


class Extractor(Protocol):
    """Goal-conditioned page reader (the ``extractor`` role). Returns the formatted useful information, or
    ``None`` when extraction failed so the tool falls back to raw text."""

    async def __call__(self, url: str, title: str, text: str, goal: str) -> str | None: ...


def _as_str_list(value: Any, field: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        raise ToolError(f"'{field}' must be a string or a list of strings, got {type(value).__name__}")
    return [str(v).strip() for v in value if str(v).strip()]


class SearchTool:
    name = "search"
    schema = {
        "type": "function",
        "function": {
            "name": "search",
            "description": "Web search. Supply one or more queries; returns the top results (title, url, snippet) "
            "for each query.",
            "parameters": {
                "type": "object",
                "properties": {
                    "query": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "The list of search queries.",
                    }
                },
                "required": ["query"],
            },
        },
    }

    def __init__(self, web: Web, top_k: int = 10, retrieval: str | None = None):
        """``retrieval`` (bm25 / dense / hybrid; ``None``: the web's default) is passed to every search; check
        the web supports it first with ``openseeker.web.base.ensure_retrieval``."""
        self.web, self.top_k = web, top_k
        self.retrieval = check_retrieval(retrieval) if retrieval is not None else None

    async def search(self, queries: list[str], top_k: int | None = None):
        """Structured form for programs: one list of ``SearchHit`` per query."""
        return await search_with(self.web, queries, top_k or self.top_k, self.retrieval)

    async def execute(self, arguments: dict[str, Any]) -> str:
        try:
            queries = _as_str_list(arguments.get("query", arguments.get("queries")), "query")
            if not queries:
                return '[search] Error: empty query. Call search with {"query": ["your query"]}.'
            if len(queries) > MAX_QUERIES:
                return f"[search] Error: {len(queries)} queries given; at most {MAX_QUERIES} per call."
            too_long = [q for q in queries if len(q) > MAX_QUERY_CHARS]
            if too_long:
                return f"[search] Error: a query is {len(too_long[0])} characters; keep each under {MAX_QUERY_CHARS}."
            top_k = arguments.get("top_k", self.top_k)
            top_k = int(top_k) if str(top_k).isdigit() and 0 < int(top_k) <= 50 else self.top_k
            results = await search_with(self.web, queries, top_k, self.retrieval)
            return format_search(queries, results)
        except ToolError as exc:
            return f"[search] Error: {exc}"
        except Exception as exc:  # a backend failure must not crash the agent loop
            log.warning("search failed: %s", exc)
            return f"[search] Error: search failed ({type(exc).__name__}: {exc}). Try again or rephrase."


class VisitTool:
    name = "visit"
    schema = {
        "type": "function",
        "function": {
            "name": "visit",
            "description": "Visit webpage(s) and return the information relevant to the goal.",
            "parameters": {
                "type": "object",
                "properties": {
                    "url": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "The URL(s) of the webpage(s) to visit.",
                    },
                    "goal": {"type": "string", "description": "The specific information to look for."},
                },
                "required": ["url", "goal"],
            },
        },
    }

    def __init__(self, web: Web, extractor: Extractor | None = None, max_chars: int = 20_000):
        self.web, self.extractor, self.max_chars = web, extractor, max_chars

    async def visit_one(self, url: str, goal: str) -> str:
        try:
            page = await self.web.fetch(url)
        except ToolError as exc:
            return f"[visit] Could not open {url}: {exc}"
        except Exception as exc:
            log.warning("visit %s failed: %s", url, exc)
            return f"[visit] Could not open {url}: {type(exc).__name__}: {exc}"
        if page is None:
            return f"[visit] {url} was not found. Use a url from search results."
        if self.extractor is not None and goal:
            try:
                extracted = await self.extractor(page.url, page.title, page.text, goal)
            except Exception as exc:  # the extractor has its own fallbacks; this is the last guard
                log.warning("extractor failed on %s: %s", url, exc)
                extracted = None
            if extracted:
                return extracted
        return format_visit_raw(page.url, page.title, page.text, self.max_chars)

    async def execute(self, arguments: dict[str, Any]) -> str:
        try:
            urls = _as_str_list(arguments.get("url", arguments.get("urls")), "url")
        except ToolError as exc:
            return f"[visit] Error: {exc}"
        goal = arguments.get("goal", "")
        goal = goal if isinstance(goal, str) else str(goal)
        if not urls:
            return '[visit] Error: no url given. Call visit with {"url": ["https://..."], "goal": "..."}.'
        if len(urls) > MAX_URLS:
            return f"[visit] Error: {len(urls)} urls given; at most {MAX_URLS} per call."
        outputs = await asyncio.gather(*(self.visit_one(u, goal) for u in urls))
        return "\n=======\n".join(outputs)
