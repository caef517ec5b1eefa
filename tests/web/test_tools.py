"""The search/visit tools over a minimal in-test Web: formats of METHOD §1 and never-raise behaviour."""

import asyncio

from openseeker.errors import ToolError
from openseeker.records import Page, SearchHit
from openseeker.web.format import SEARCH_BLOCK_SEPARATOR
from openseeker.web.tools import SearchTool, VisitTool


class TinyWeb:
    name = "tiny"

    def __init__(self):
        self.pages = {"https://x/a": Page(url="https://x/a", title="Alpha", text="Alpha is the first letter. " * 50)}

    async def search(self, queries, top_k=10):
        if any("boom" in q for q in queries):
            raise RuntimeError("backend down")
        return [
            [SearchHit(url="https://x/a", title="Alpha", snippet=f"about {q}", score=1.0)] if "alpha" in q else []
            for q in queries
        ]

    async def fetch(self, url):
        if "blocked" in url:
            raise ToolError("address is private")
        return self.pages.get(url)

    def close(self):
        pass


def run(coro):
    return asyncio.run(coro)


def test_search_format_blocks_joined():
    out = run(SearchTool(TinyWeb()).execute({"query": ["alpha", "zzz"]}))
    first, second = out.split(SEARCH_BLOCK_SEPARATOR)
    assert first.startswith("A search for 'alpha' found 1 results")
    assert "1. [Alpha](https://x/a)" in first and "about alpha" in first
    assert "No results found for 'zzz'" in second


def test_search_bad_inputs_are_messages_not_exceptions():
    tool = SearchTool(TinyWeb())
    assert "empty query" in run(tool.execute({"query": []}))
    assert "must be a string or a list" in run(tool.execute({"query": {"a": 1}}))
    assert "at most" in run(tool.execute({"query": [f"q{i}" for i in range(100)]}))
    assert "characters" in run(tool.execute({"query": ["x" * 5000]}))
    assert "search failed" in run(tool.execute({"query": ["boom"]}))
    assert "A search for 'alpha'" in run(tool.execute({"query": "alpha"}))  # a bare string is accepted


def test_visit_raw_truncates_and_reports_unknown():
    tool = VisitTool(TinyWeb(), max_chars=100)
    out = run(tool.execute({"url": "https://x/a", "goal": "letters"}))
    assert out.startswith("Page: [Alpha](https://x/a)") and "truncated" in out
    assert "was not found" in run(tool.execute({"url": ["https://x/none"], "goal": "g"}))
    assert "address is private" in run(tool.execute({"url": "https://blocked/", "goal": "g"}))
    assert "no url given" in run(tool.execute({"goal": "g", "url": []}))


def test_visit_uses_extractor_and_falls_back():
    calls = []

    async def good(url, title, text, goal):
        calls.append(goal)
        return f"EXTRACTED {goal}"

    async def bad(url, title, text, goal):
        raise RuntimeError("extractor crashed")

    assert run(VisitTool(TinyWeb(), extractor=good).execute({"url": "https://x/a", "goal": "g1"})) == "EXTRACTED g1"
    out = run(VisitTool(TinyWeb(), extractor=bad, max_chars=50).execute({"url": "https://x/a", "goal": "g"}))
    assert out.startswith("Page: [Alpha]")
