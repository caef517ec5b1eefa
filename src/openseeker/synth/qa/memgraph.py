"""``MemoryGraph``: the ``GraphLike`` methods over pages and links held in memory (tests, small experiments)."""

from __future__ import annotations

import random
from collections.abc import Iterable

from openseeker.records import Link, Page


class MemoryGraph:
    """A tiny in-memory web graph with the same read methods as ``openseeker.web.store.WebGraph``."""

    def __init__(self, pages: Iterable[Page], links: Iterable[Link | tuple[str, str]] = ()):
        self.pages: dict[str, Page] = {}
        for p in pages:
            self.pages[p.url] = p
        self._by_title = {p.title.casefold(): p for p in self.pages.values()}
        self._out: dict[str, list[Link]] = {u: [] for u in self.pages}
        self._in: dict[str, list[Link]] = {u: [] for u in self.pages}
        for link in links:
            if isinstance(link, tuple):
                link = Link(src=link[0], dst=link[1])
            dst = link.dst if link.dst in self.pages else getattr(self.get_by_title(link.dst), "url", None)
            if link.src not in self.pages or dst is None or dst == link.src:
                continue
            resolved = Link(src=link.src, dst=dst, anchor=link.anchor)
            self._out[link.src].append(resolved)
            self._in[dst].append(resolved)

    def __len__(self) -> int:
        return len(self.pages)

    def get(self, url: str) -> Page | None:
        return self.pages.get(url)

    def get_by_title(self, title: str) -> Page | None:
        return self._by_title.get(title.replace("_", " ").casefold())

    def out_links(self, url: str) -> list[Link]:
        return list(self._out.get(url, []))

    def in_links(self, url: str) -> list[Link]:
        return list(self._in.get(url, []))

    def sample(
        self,
        n: int,
        *,
        seed: int | None = None,
        topic: str | None = None,
        lang: str | None = None,
        min_out_degree: int = 0,
    ) -> list[Page]:
        pool = [
            p
            for u, p in sorted(self.pages.items())
            if (topic is None or p.topic == topic)
            and (lang is None or p.lang == lang)
            and len(self._out[u]) >= min_out_degree
        ]
        return random.Random(seed).sample(pool, min(max(n, 0), len(pool)))

    def close(self) -> None:
        pass
