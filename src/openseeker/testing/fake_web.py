"""``FakeWeb``: a tiny in-memory ``Web`` for tests and benchmarks (naive keyword search, dict fetch).

Example:
    >>> from openseeker.records import Page
    >>> web = FakeWeb([Page(url="https://x/Paris", title="Paris", text="Paris is the capital of France.")])
    >>> import asyncio
    >>> asyncio.run(web.search(["capital France"]))[0][0].title
    'Paris'
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from openseeker.records import Page, SearchHit

_WORD = re.compile(r"\w+", re.UNICODE)


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


class FakeWeb:
    """An in-memory web: ``search`` scores pages by query-word overlap (title words count double).

    Args:
        pages: the corpus.
        latency: seconds to ``asyncio.sleep`` per call (to simulate a slow backend); 0 = no sleep.
    """

    name = "fake"

    def __init__(self, pages: Iterable[Page], *, latency: float = 0.0):
        self.pages: dict[str, Page] = {p.url: p for p in pages}
        self.latency = latency
        self._title_words = {u: set(_words(p.title)) for u, p in self.pages.items()}
        self._text_words = {u: set(_words(p.text)) for u, p in self.pages.items()}
        self.searches: list[list[str]] = []  # every call's queries, for assertions
        self.fetches: list[str] = []
        self.closed = False

    async def _sleep(self) -> None:
        if self.latency:
            import asyncio

            await asyncio.sleep(self.latency)

    def search_one(self, query: str, top_k: int = 10) -> list[SearchHit]:
        q = set(_words(query))
        if not q:
            return []
        scored = []
        for url in self.pages:
            score = 2 * len(q & self._title_words[url]) + len(q & self._text_words[url])
            if score:
                scored.append((score, url))
        scored.sort(key=lambda t: (-t[0], t[1]))
        hits = []
        for score, url in scored[:top_k]:
            page = self.pages[url]
            hits.append(SearchHit(url=url, title=page.title, snippet=page.text[:200], score=float(score)))
        return hits

    async def search(self, queries: list[str], top_k: int = 10) -> list[list[SearchHit]]:
        self.searches.append(list(queries))
        await self._sleep()
        return [self.search_one(q, top_k) for q in queries]

    async def fetch(self, url: str) -> Page | None:
        self.fetches.append(url)
        await self._sleep()
        return self.pages.get(url)

    async def aclose(self) -> None:
        self.closed = True


def tiny_pages() -> list[Page]:
    """A five-page toy corpus (used by tests, the benchmark and doc examples)."""
    data = [
        ("Paris", "Paris is the capital and largest city of France. It hosts the Eiffel Tower."),
        (
            "Eiffel Tower",
            "The Eiffel Tower is a wrought-iron lattice tower in Paris, designed by Gustave Eiffel's "
            "company and completed in 1889.",
        ),
        ("Gustave Eiffel", "Gustave Eiffel (1832-1923) was a French civil engineer, born in Dijon."),
        ("Dijon", "Dijon is a city in eastern France, capital of the Cote-d'Or department, famous for mustard."),
        ("Berlin", "Berlin is the capital and largest city of Germany."),
    ]
    return [Page(url=f"https://en.wikipedia.org/wiki/{t.replace(' ', '_')}", title=t, text=x) for t, x in data]
