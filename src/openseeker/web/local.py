"""``LocalWeb``: the ``Web`` protocol over a web directory (``graph.sqlite`` + tantivy ``index/``).

``fetch`` is forgiving about how a url is written, because agents copy urls imperfectly: it accepts the exact
url, http/https, ``www.``/mobile hosts, a trailing slash, a ``#fragment``, percent-encoded or decoded forms,
spaces instead of underscores, a url without scheme, a bare page title, and (on a web whose corpus has them,
e.g. BrowseComp-Plus) a document id.

``search`` ranks with BM25 (tantivy), dense embeddings (``web.search.dense``, optional extra) or both fused by
reciprocal rank (``hybrid``; its lower half from a second-hop BM25 query, ``web.feedback``): the web's default
is ``web.json``'s ``retrieval`` (set by ``openseeker web embed --default``), else ``bm25``;
``LocalWeb.open(d, retrieval=...)`` and each ``search(..., retrieval=...)`` call override it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from openseeker.errors import UserError
from openseeker.records import Page, SearchHit
from openseeker.web.base import check_retrieval
from openseeker.web.build import GRAPH_FILE, INDEX_DIR, INFO_FILE
from openseeker.web.importers.warc import canonical_url
from openseeker.web.search.dense import DENSE_DIR, DenseIndex, rrf
from openseeker.web.search.feedback import FEEDBACK_DOCS, feedback_terms, second_hop, term_weights
from openseeker.web.search.index import SearchIndex
from openseeker.web.search.snippets import make_snippet
from openseeker.web.store import WebGraph

log = logging.getLogger(__name__)

FUSION_DEPTH = 50  # hybrid fuses this many hits of each retriever (RRF); measured in benchmarks/bench_search.py
REFRESH_EVERY_S = 1.0  # how often an open web looks whether web.json changed (a `web add` while serving)
PAGE_CACHE = 512  # pages hybrid / dense search keep between searches (for snippets and the second hop)
WEIGHTS_CACHE = 1024  # pages whose feedback term weights (web.feedback.term_weights, ~15 kB each) hybrid keeps


def _swap_scheme(u: str) -> str:
    if u.startswith("http://"):
        return "https://" + u[7:]
    if u.startswith("https://"):
        return "http://" + u[8:]
    return u


def _plain_host(u: str) -> str:
    host = urlsplit(u).netloc
    alt = host.removeprefix("www.").replace(".m.wikipedia.org", ".wikipedia.org")
    return u.replace(host, alt, 1) if alt != host else u


_TRANSFORMS = (
    lambda u: u.rstrip("/"),
    lambda u: u.replace(" ", "_"),
    unquote,
    lambda u: quote(unquote(u), safe=":/?&=_-.~()!*',;@$+"),
    _swap_scheme,
    _plain_host,
)


def url_variants(url: str, limit: int = 64) -> Iterator[str]:
    """Plausible spellings of ``url`` to look up: the url as given first, then the closure of a few
    transforms (trailing slash, spaces, percent-decoding/encoding, http/https, www./mobile host), https first."""
    u = url.strip().strip("<>").strip()
    yield u
    u = u.split("#", 1)[0]
    if "://" not in u and ("/" in u or "." in u.split("/")[0]):
        u = "https://" + u
    forms, frontier = {u}, [u]
    while frontier and len(forms) < limit:
        nxt = []
        for f in frontier:
            for t in _TRANSFORMS:
                g = t(f)
                if g and g not in forms:
                    forms.add(g)
                    nxt.append(g)
        frontier = nxt
    yield from sorted(forms, key=lambda s: (not s.startswith("https://"), len(s), s))


def title_from_url(url: str) -> str | None:
    """``Ray_Charles`` from ``.../wiki/Ray_Charles`` (decoded, underscores as spaces); ``None`` otherwise."""
    path = urlsplit(url.strip()).path if "://" in url else url.strip()
    if "/wiki/" in path:
        t = unquote(path.split("/wiki/", 1)[1]).split("#", 1)[0].replace("_", " ").strip()
        return t or None
    return None


class LocalWeb:
    """A local web directory opened for the agent's tools.

    Attributes:
        graph: the :class:`~openseeker.web.store.WebGraph` (read-only).
        index: the search index (opened on first use).
        name: ``local:<directory name>``.
        info: the directory's ``web.json``.
        retrieval: the default ranking of ``search``: ``bm25``, ``dense`` or ``hybrid``.
        query_encoder: ``torch`` / ``onnx`` / ``onnx-int8`` overrides the query encoder ``web embed`` chose.
    """

    def __init__(
        self,
        directory: Path,
        graph: WebGraph,
        info: dict[str, Any],
        retrieval: str | None = None,
        query_encoder: str | None = None,
    ):
        self.directory = directory
        self.graph = graph
        self.info = info
        self.name = f"local:{directory.name}"
        self.retrieval = check_retrieval(retrieval or info.get("retrieval") or "bm25")
        self._index: Any = None
        self._dense: Any = None
        self.query_encoder = query_encoder
        self._weights: dict[str, dict[str, float]] = {}  # url -> the second hop's term weights of that page
        self._pages: dict[str, Page] = {}  # url -> page, see _page
        self._info_stamp = self._stamp()
        self._checked = time.monotonic()

    @classmethod
    def open(
        cls, directory: str | Path, *, retrieval: str | None = None, query_encoder: str | None = None
    ) -> LocalWeb:
        d = Path(directory)
        if not (d / GRAPH_FILE).exists():
            raise UserError(
                f"{d}: not a web directory (no {GRAPH_FILE}); build one with "
                f"`openseeker web build --source SOURCE --out {d}`"
            )
        info: dict[str, Any] = {}
        if (d / INFO_FILE).exists():
            info = json.loads((d / INFO_FILE).read_text(encoding="utf-8"))
        graph = WebGraph(d / GRAPH_FILE, readonly=True)
        status = graph.get_meta("status")
        if status not in ("complete", "indexing"):
            graph.close()
            raise UserError(f"{d}: the build was interrupted ({status}); re-run `openseeker web build` to finish it")
        web = cls(d, graph, info, retrieval, query_encoder)
        web.ensure_retrieval_sync(web.retrieval)  # fail now, with the reason, rather than at the first search
        return web

    @property
    def index(self) -> Any:
        self._refresh()
        if self._index is None:
            self._index = SearchIndex.open(self.directory / INDEX_DIR)
        return self._index

    def _stamp(self) -> tuple[int, int]:
        try:
            st = (self.directory / INFO_FILE).stat()
            return st.st_mtime_ns, st.st_size
        except OSError:
            return 0, 0

    def _refresh(self) -> None:
        """Pick up a ``web add`` (or ``web embed``) made while this web is open (a long-running ``serve``): they
        write ``web.json`` last, so when it changes (checked at most every ``REFRESH_EVERY_S``) the search index
        and the dense index are reopened. The graph needs nothing: SQLite readers see committed pages at once."""
        now = time.monotonic()
        if now - self._checked < REFRESH_EVERY_S:
            return
        self._checked = now
        stamp = self._stamp()
        if stamp == self._info_stamp:
            return
        try:
            info = json.loads((self.directory / INFO_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):  # caught mid-replace: the next check reads it
            return
        self._info_stamp, self.info = stamp, info
        self._index, self._dense = None, None
        self._weights, self._pages = {}, {}
        log.info("%s changed (web add / web embed): search index reopened", self.directory)

    @property
    def dense(self) -> Any:
        """The dense index (``dense/``), opened on first use; a clear error when missing or stale."""
        self._refresh()
        if self._dense is None:
            if not (self.directory / DENSE_DIR).exists():
                raise UserError(
                    f"{self.directory}: no dense index; run `openseeker web embed {self.directory}` "
                    "(needs the 'dense' extra)"
                )
            self._dense = DenseIndex.open(
                self.directory / DENSE_DIR, fingerprint=self.info.get("fingerprint"), query_encoder=self.query_encoder
            )
        return self._dense

    # ------------------------------------------------------------------ Web protocol

    def search_sync(
        self, queries: list[str], top_k: int = 10, *, retrieval: str | None = None
    ) -> list[list[SearchHit]]:
        mode = check_retrieval(retrieval or self.retrieval)
        queries = list(queries)
        if mode == "bm25":
            return self.index.search_many(queries, top_k)
        if top_k <= 0:
            return [[] for _ in queries]
        depth = top_k if mode == "dense" else max(top_k, FUSION_DEPTH)
        dense = self.dense.search(queries, depth)
        out = []
        for q, dhits in zip(queries, dense):
            # analysed once: the first BM25 query, the second hop and the snippets all use these terms
            terms = self.index.query_terms(q) if isinstance(q, str) else []
            pages: dict[str, Page | None] = {}  # read once, for the second hop's feedback and the snippets
            if mode == "dense":
                ranked = [(h.key, h.score) for h in dhits]
            else:
                lexical = self.index.ranked_urls(terms, depth)
                fused = rrf([[u for u, _s in lexical], [h.key for h in dhits]])
                ranked = self._second_hop(q, terms, fused, top_k, pages)
            out.append(self._hits(terms, ranked, pages))
        return out

    def _page(self, url: str, pages: dict[str, Page | None]) -> Page | None:
        """The page of ``url`` for one search (``pages``), from the last ``PAGE_CACHE`` pages read by searches or
        else the graph: the pages that rank high recur between searches, and each read is an SQLite query plus a
        JSON decode."""
        if url not in pages:
            page = self._pages.get(url)
            if page is None:
                page = self.graph.get(url)
                if page is not None:
                    if len(self._pages) >= PAGE_CACHE:
                        self._pages.clear()
                    self._pages[url] = page
            pages[url] = page
        return pages[url]

    def _second_hop(
        self, query: str, terms: list[str], fused: list[tuple[str, float]], top_k: int, pages: dict[str, Page | None]
    ) -> list[tuple[str, float]]:
        """Hybrid's lower half from a second BM25 query: the question + feedback terms of the fused top pages
        (``web.feedback``). Hits keep their fused score; second-hop hits get one no higher than the hit above.
        ``terms``: the question's analysed terms (``index.query_terms(query)``)."""

        if top_k < 2 or not fused or not isinstance(query, str):
            return fused[:top_k]
        weights = []
        for url, _s in fused[:FEEDBACK_DOCS]:
            tw = self._weights.get(url)  # a page's weights do not depend on the query: kept between searches
            if tw is None:
                page = self._page(url, pages)
                if page is None:
                    continue
                if len(self._weights) >= WEIGHTS_CACHE:
                    self._weights.clear()
                tw = self._weights[url] = term_weights(self.index, f"{page.title}\n{page.text}")
            weights.append(tw)
        extra = feedback_terms(self.index, [], query, query_terms=terms, weights=weights)
        if not extra:
            return fused[:top_k]
        # = query_terms(query + " " + " ".join(extra)), without analysing the question again
        second = [u for u, _s in self.index.ranked_urls(self.index.query_terms(" ".join(extra), extra=terms), top_k)]
        score = dict(fused)
        ranked: list[tuple[str, float]] = []
        for url in second_hop([u for u, _s in fused], second, top_k):
            above = ranked[-1][1] if ranked else math.inf
            ranked.append((url, min(score.get(url, above), above)))
        return ranked

    def _hits(
        self, terms: list[str], ranked: list[tuple[str, float]], pages: dict[str, Page | None]
    ) -> list[SearchHit]:
        hits = []
        for url, score in ranked:
            page = self._page(url, pages)
            if page is None:  # the dense index is checked against the web's fingerprint; defensive
                continue
            hits.append(
                SearchHit(
                    url=url,
                    docid=page.metadata.get("docid"),
                    title=page.title,
                    score=score,
                    snippet=make_snippet(page.text, terms, 250),
                )
            )
        return hits

    async def search(
        self, queries: list[str], top_k: int = 10, *, retrieval: str | None = None
    ) -> list[list[SearchHit]]:
        return await asyncio.to_thread(self.search_sync, queries, top_k, retrieval=retrieval)

    def ensure_retrieval_sync(self, retrieval: str) -> None:
        """A one-line ``UserError`` unless this web can rank with ``retrieval`` (dense / hybrid: a dense index,
        opened here so the first search does not pay for it)."""
        if check_retrieval(retrieval) != "bm25":
            _ = self.dense  # the property opens the dense index (or raises the one-line error)

    async def ensure_retrieval(self, retrieval: str) -> None:
        await asyncio.to_thread(self.ensure_retrieval_sync, retrieval)

    def fetch_sync(self, url: str) -> Page | None:
        """The page for ``url`` (any spelling ``url_variants`` knows) or a bare title; ``None`` if unknown."""
        if not isinstance(url, str) or not url.strip():
            return None
        page = self.graph.get(url)
        if page is not None:
            return page
        docid_url = self.index.url_for_docid(url.strip()) if self._has_docids() else None
        if docid_url is not None:
            return self.graph.get(docid_url)
        seen = set()
        for v in url_variants(url):
            if v in seen:
                continue
            seen.add(v)
            page = self.graph.get(v)
            if page is not None:
                return page
        if "://" in url:  # a crawl's redirect, or a non-canonical spelling of a crawled url
            canon = canonical_url(url)
            page = (
                (self.graph.get(canon) if canon not in seen else None)
                or self.graph.get_redirected(url)
                or self.graph.get_redirected(canon)
            )
            if page is not None:
                return page
        title = title_from_url(url)
        if title is None and "://" not in url and "/" not in url.strip():
            title = url.strip()
        if title:
            return self.graph.get_by_title(title)
        return None

    def _has_docids(self) -> bool:
        return bool(self.index.meta.get("docids"))

    async def fetch(self, url: str) -> Page | None:
        return await asyncio.to_thread(self.fetch_sync, url)

    async def aclose(self) -> None:
        self.close()

    def close(self) -> None:
        """Sync close (``with LocalWeb.open(...)``, the viewer); in async code ``aclose``."""
        self.graph.close()
        self._index = None
        self._dense = None
        self._weights = {}
        self._pages = {}

    def __enter__(self) -> LocalWeb:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LocalWeb({str(self.directory)!r}, pages={len(self.graph)})"
