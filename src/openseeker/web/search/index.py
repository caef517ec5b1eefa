"""The local web's full-text search index: BM25 over title + text with tantivy, persisted in a directory.

Design (see docs/search.md, "Search index"):

- One tantivy document per page: ``url`` and ``docid`` (stored, not tokenized; ``docid`` is the page's external
  document id when its corpus has one, e.g. BrowseComp-Plus, and is searchable by exact value), ``title`` and
  ``text`` (stored), and ``body`` = title + text (not stored); the text fields are tokenized with term frequencies
  but no positions: we never run phrase queries, so positions would only cost space and build time.
- One analyser, ``openseeker``, for documents and queries: a Unicode regex tokenizer (runs of letters/digits;
  every Han/Hiragana/Katakana character is its own token, so CJK text is searchable by character without a
  dictionary segmenter), long tokens dropped, lowercase, ASCII folding (``café`` = ``cafe``, which matters for
  the es/fr pages), English stop words and the English Snowball stemmer. The corpus is mostly English; on
  es/fr pages the English stemmer is mostly a no-op and accent folding does the useful work.
- Queries are never parsed with the tantivy query language (user text with quotes, colons, parentheses,
  ``AND``/``OR`` must not raise or change meaning): the query string goes through the same analyser and each
  distinct term becomes a ``SHOULD`` clause on ``body`` (plus one on ``title`` when ``title_boost`` > 0).
  Tantivy's scorer sums the clauses, i.e. BM25(title + text) [+ boost * BM25(title)]. (Through the Python
  binding it scores every posting, without block-max WAND; ``openseeker.web.search.maxscore`` skips the long lists of
  frequent terms when that provably leaves the top k unchanged.) Scoring title and text as one field is what
  plain BM25 does (bm25s, Pyserini): scoring the title as its own short field made a one-word title matching
  one query word outweigh the body ("largest desert in Africa" ranked Gobi above Sahara) and lost 11-19 points of top-5 accuracy on descriptive queries (benchmarks/search.md).
  Indexes built before (format 1, ``scoring="fields"``) are still opened and scored as they were built.
- The index directory holds tantivy's files plus ``openseeker_index.json`` (analyser settings, document count),
  written only after the final commit: an index without it is incomplete and refused by ``open``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from openseeker.errors import UserError
from openseeker.records import SearchHit
from openseeker.web.search import maxscore
from openseeker.web.search.snippets import make_snippet

log = logging.getLogger(__name__)

__all__ = ["IndexSettings", "SearchIndex", "META_FILE"]

META_FILE = "openseeker_index.json"
INDEX_FORMAT = 2
READABLE_FORMATS = (1, 2)
ANALYZER = "openseeker"
# One CJK character per token, otherwise runs of letters/digits/combining marks.
_CJK_CLASS = r"\p{Han}\p{Hiragana}\p{Katakana}"
TOKEN_PATTERN = rf"[{_CJK_CLASS}]|[[\p{{L}}\p{{N}}\p{{M}}]--[{_CJK_CLASS}]]+"
MAX_QUERY_TERMS = 64  # an agent pasting a whole page as a query must not turn into a 5,000-clause query
DOC_FREQ_CACHE = 200_000  # document frequencies / urls remembered between queries (cleared when full or on ``add``)


@dataclass(frozen=True)
class IndexSettings:
    """How documents and queries are analysed and scored. Stored with the index; ``open`` reuses them.

    Attributes:
        scoring: ``"combined"`` (default): BM25 over one field holding title + text, plus ``title_boost`` x BM25 of
            the title field when ``title_boost`` > 0. ``"fields"`` (format-1 indexes): BM25(text) + ``title_boost``
            x BM25(title), the title scored as its own short field.
        title_boost: weight of the separate title clause (0 = none). With ``"combined"`` the title's words are
            already in the body; a small extra weight helps title-like queries (benchmarks/search.md, measured).
        stemmer: Snowball stemmer language (tantivy names, e.g. ``"english"``), or ``None`` for no stemming.
        stopwords: built-in stop-word list language, or ``None`` to keep every word.
        ascii_fold: fold accents (``é`` -> ``e``).
        max_token_len: tokens longer than this (in bytes) are dropped (base64 blobs, URLs glued together).
    """

    scoring: str = "combined"
    title_boost: float = 0.0
    stemmer: str | None = "english"
    stopwords: str | None = "english"
    ascii_fold: bool = True
    max_token_len: int = 40

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IndexSettings:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        if "scoring" not in data:  # format-1 metadata: two fields, title boost 1 by default
            known.setdefault("title_boost", 1.0)
            known["scoring"] = "fields"
        if known.get("scoring") not in ("combined", "fields"):
            raise UserError(f"unknown index scoring {known.get('scoring')!r} (known: combined, fields)")
        return cls(**known)


def _valid_utf8(text: str) -> str:
    """``text`` with lone surrogates (invalid in UTF-8, refused by tantivy) replaced by ``?``."""
    return text.encode("utf-8", "replace").decode("utf-8")


def _analyzer(settings: IndexSettings) -> Any:
    from tantivy import Filter, TextAnalyzerBuilder, Tokenizer

    builder = TextAnalyzerBuilder(Tokenizer.regex(TOKEN_PATTERN)).filter(Filter.remove_long(settings.max_token_len))
    builder = builder.filter(Filter.lowercase())
    if settings.ascii_fold:
        builder = builder.filter(Filter.ascii_fold())
    if settings.stopwords:
        builder = builder.filter(Filter.stopword(settings.stopwords))
    if settings.stemmer:
        builder = builder.filter(Filter.stemmer(settings.stemmer))
    return builder.build()


def _schema() -> Any:
    import tantivy

    sb = tantivy.SchemaBuilder()
    sb.add_text_field("url", stored=True, tokenizer_name="raw", index_option="basic")
    sb.add_text_field("docid", stored=True, tokenizer_name="raw", index_option="basic")
    sb.add_text_field("title", stored=True, tokenizer_name=ANALYZER, index_option="freq")
    sb.add_text_field("text", stored=True, tokenizer_name=ANALYZER, index_option="freq")
    sb.add_text_field("body", stored=False, tokenizer_name=ANALYZER, index_option="freq")
    return sb.build()


def _document(Document: Any, f: dict[str, str]) -> Any:
    """A tantivy document: stored fields + ``body`` (title and text, the combined scoring field)."""
    kw = {"url": f["url"], "title": f["title"], "text": f["text"], "body": f"{f['title']}\n{f['text']}"}
    if f["docid"]:
        kw["docid"] = f["docid"]
    return Document(**kw)


def _progress(enabled: bool, total: int | None) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("[bold]indexing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        disable=not enabled,
        transient=False,
    )


def _empty_index_dir(directory: Path, overwrite: bool) -> None:
    """Make ``directory`` an empty folder to build into; an old index is deleted only with ``overwrite``, and
    a folder that is not an index never is."""
    if directory.exists() and any(directory.iterdir()):
        if not overwrite:
            raise UserError(f"{directory}: already holds files; refusing to build an index over them (use overwrite)")
        if not (directory / META_FILE).exists() and not (directory / "meta.json").exists():
            raise UserError(f"{directory}: is not a search index directory; refusing to delete it")
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)


def _doc_fields(n: int, doc: Any) -> dict[str, str]:
    """Document ``n`` (1-based) of the input as index fields; a clear error when it is not a valid tuple."""
    try:
        if not isinstance(doc, (tuple, list)) or len(doc) not in (3, 4):
            raise TypeError
        url, title, text, *rest = doc
    except (TypeError, ValueError):
        raise UserError(
            f"document {n}: expected a (url, title, text[, docid]) tuple, got {type(doc).__name__}"
        ) from None
    if not url:
        raise UserError(f"document {n}: empty url")
    return {"url": str(url), "docid": str(rest[0] or "") if rest else "", "title": title or "", "text": text or ""}


def _write_documents(
    writer: Any, docs: Iterable[Any], *, progress: bool, total: int | None, t0: float
) -> tuple[int, int]:
    """Stream ``docs`` into the tantivy ``writer`` and commit; returns ``(documents, documents with a docid)``."""
    import tantivy

    n = n_docids = 0
    Document = tantivy.Document
    with _progress(progress, total) as bar:
        task = bar.add_task("index", total=total, rate="")
        for n, doc in enumerate(docs, 1):
            fields = _doc_fields(n, doc)
            n_docids += bool(fields["docid"])
            try:
                writer.add_document(_document(Document, fields))
            except (ValueError, UnicodeEncodeError):  # lone surrogates from a lenient decoder upstream
                writer.add_document(_document(Document, {k: _valid_utf8(v) for k, v in fields.items()}))
            if n % 2000 == 0:
                rate = n / max(1e-9, time.perf_counter() - t0)
                bar.update(task, completed=n, rate=f"{rate:,.0f} docs/s")
        bar.update(task, completed=n, rate="committing")
        writer.commit()
        writer.wait_merging_threads()
        bar.update(task, completed=n, rate="done")
    return n, n_docids


class SearchIndex:
    """A persisted BM25 index over (url, title, text) documents. Build with :meth:`build`, reopen with :meth:`open`.

    Example:
        >>> idx = SearchIndex.build("web/index", [("https://x/A", "A", "Alpha text")], progress=False)
        >>> [h.url for h in idx.search("alpha")]
        ['https://x/A']
    """

    def __init__(self, directory: Path, index: Any, settings: IndexSettings, meta: dict[str, Any]):
        self.directory = directory
        self.settings = settings
        self.meta = meta
        self._index = index
        self._schema = index.schema
        self._analyzer = _analyzer(settings)
        self._searcher = index.searcher()
        self._has_docid = meta.get("format", 1) >= 2 and bool(meta.get("docids"))
        self._doc_freq: dict[tuple[str, str], int] = {}  # (field, term) -> document frequency
        self._urls: dict[tuple[int, int], str] = {}  # document address -> url, for ranked_urls

    # ------------------------------------------------------------------ build / open

    @classmethod
    def build(
        cls,
        directory: str | Path,
        docs: Iterable[tuple[str, str, str]],
        *,
        progress: bool = True,
        heap_mb: int = 256,
        num_threads: int = 0,
        total: int | None = None,
        settings: IndexSettings | None = None,
        overwrite: bool = False,
    ) -> SearchIndex:
        """Index ``docs`` (an iterable of ``(url, title, text)``) into ``directory``, streaming.

        Memory is bounded by ``heap_mb`` (tantivy's indexing buffer; full buffers are flushed to disk as
        segments) whatever the number of documents, as long as ``docs`` itself streams.

        Args:
            directory: where the index lives; created if missing. Must not already hold an index unless
                ``overwrite`` (then the old index is deleted first).
            docs: ``(url, title, text)`` or ``(url, title, text, docid)`` tuples; ``None`` title/text/docid count as
                empty, a missing url is an error.
            progress: show a rich progress bar.
            heap_mb: tantivy writer memory budget in MB (split across writer threads; at least 15).
            num_threads: tantivy writer threads (0 = tantivy's choice: one per core, at most 8).
            total: number of documents if known (for the progress bar only).
            settings: analyser/scoring settings; defaults to :class:`IndexSettings`.
            overwrite: replace an existing index in ``directory``.
        """
        import tantivy

        directory = Path(directory)
        settings = settings or IndexSettings()
        _empty_index_dir(directory, overwrite)

        index = tantivy.Index(_schema(), path=str(directory), reuse=False)
        index.register_tokenizer(ANALYZER, _analyzer(settings))
        threads = num_threads or min(8, os.cpu_count() or 1)
        heap = max(heap_mb, 15 * threads) * 1_000_000  # tantivy needs >= ~15 MB per writer thread
        writer = index.writer(heap_size=heap, num_threads=num_threads)
        t0 = time.perf_counter()
        n, n_docids = _write_documents(writer, docs, progress=progress, total=total, t0=t0)
        meta = {
            "format": INDEX_FORMAT,
            "engine": f"tantivy {getattr(tantivy, '__version__', '?')}",
            "docs": n,
            "docids": n_docids,
            "settings": asdict(settings),
            "token_pattern": TOKEN_PATTERN,
            "build_seconds": round(time.perf_counter() - t0, 3),
        }
        (directory / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        log.debug("indexed %d documents into %s in %.1fs", n, directory, meta["build_seconds"])
        return cls.open(directory)

    @classmethod
    def open(cls, directory: str | Path) -> SearchIndex:
        """Open an index made by :meth:`build`. Raises ``UserError`` if ``directory`` holds no complete index."""
        import tantivy

        directory = Path(directory)
        meta_path = directory / META_FILE
        if not meta_path.exists():
            what = "an incomplete index (build was interrupted?)" if (directory / "meta.json").exists() else "no index"
            raise UserError(f"{directory}: {what}; rebuild it with `openseeker web build`")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise UserError(f"{meta_path}: unreadable index metadata ({e})") from e
        if meta.get("format") not in READABLE_FORMATS:
            raise UserError(f"{directory}: index format {meta.get('format')} is not {INDEX_FORMAT}; rebuild it")
        settings = IndexSettings.from_dict(meta.get("settings", {}))
        try:
            index = tantivy.Index.open(str(directory))
        except (OSError, ValueError) as e:
            raise UserError(f"{directory}: cannot open search index ({e})") from e
        index.register_tokenizer(ANALYZER, _analyzer(settings))
        return cls(directory, index, settings, meta)

    def add(self, docs: Iterable[tuple[str, ...]], *, heap_mb: int = 128) -> int:
        """Add (or replace, by url) ``(url, title, text[, docid])`` documents in one commit; returns how many.

        Idempotent: a url indexed before is deleted first, so re-running an interrupted incremental build
        never indexes a page twice. Documents get the same fields as :meth:`build` (``_document``), so added
        pages rank exactly as built ones. Used by ``openseeker.web.incremental``."""
        import tantivy

        writer = self._index.writer(heap_size=max(heap_mb, 15) * 1_000_000, num_threads=1)
        n = 0
        for n, (url, title, text, *rest) in enumerate(docs, 1):  # noqa: B007 - n is the count after the loop
            fields = {
                "url": str(url),
                "docid": str(rest[0] or "") if rest else "",
                "title": title or "",
                "text": text or "",
            }
            writer.delete_documents_by_term("url", fields["url"])
            try:
                writer.add_document(_document(tantivy.Document, fields))
            except (ValueError, UnicodeEncodeError):
                writer.add_document(_document(tantivy.Document, {k: _valid_utf8(v) for k, v in fields.items()}))
        writer.commit()
        writer.wait_merging_threads()
        self._index.reload()
        self._searcher = self._index.searcher()
        self._doc_freq = {}
        self._urls = {}
        self.meta["docs"] = len(self)
        (self.directory / META_FILE).write_text(json.dumps(self.meta, indent=2) + "\n", encoding="utf-8")
        return n

    # ------------------------------------------------------------------ search

    def __len__(self) -> int:
        return int(self._searcher.num_docs)

    def analyze(self, text: str) -> list[str]:
        """The index terms of ``text`` (what the analyser makes of it), in order, duplicates kept."""
        if not text:
            return []
        try:
            return list(self._analyzer.analyze(text))
        except (ValueError, UnicodeEncodeError):
            return list(self._analyzer.analyze(_valid_utf8(text)))

    def query_terms(self, query: str, *, extra: Sequence[str] = ()) -> list[str]:
        """Distinct index terms of a query, in first-seen order, capped at ``MAX_QUERY_TERMS``.

        ``extra``: analysed terms that come first (``query_terms(a)``): ``query_terms(b, extra=query_terms(a))`` is
        ``query_terms(a + " " + b)`` without analysing ``a`` again (the analyser works token by token, so the
        analysis of a space-joined text is the analyses joined)."""
        seen: dict[str, None] = dict.fromkeys(extra[:MAX_QUERY_TERMS])
        if len(seen) >= MAX_QUERY_TERMS:
            return list(seen)[:MAX_QUERY_TERMS]
        for t in self.analyze(query or ""):
            seen.setdefault(t, None)
            if len(seen) >= MAX_QUERY_TERMS:
                break
        return list(seen)

    def doc_freq(self, term: str, field: str | None = None) -> int:
        """How many pages hold the index term ``term`` in ``field`` (default: the scored field; idf of feedback
        terms, web.feedback).

        Remembered between queries (the searcher is a fixed snapshot until ``add`` reloads it): the second hop
        looks up ~100 terms per query and most of them (common words) recur."""
        field = field or ("body" if self.settings.scoring == "combined" else "text")
        df = self._doc_freq.get((field, term))
        if df is None:
            if len(self._doc_freq) >= DOC_FREQ_CACHE:
                self._doc_freq.clear()
            df = self._doc_freq[(field, term)] = int(self._searcher.doc_freq(field, term))
        return df

    def _query(self, terms: Sequence[str], required: Sequence[str] = ()) -> Any:
        """SHOULD clauses for ``terms``; with ``required``, plus one MUST clause: any of those terms (whose own
        clauses score as in the plain query)."""
        from tantivy import Occur, Query

        boost = self.settings.title_boost
        main = "body" if self.settings.scoring == "combined" else "text"
        clauses = []
        for t in terms:
            clauses.append((Occur.Should, Query.term_query(self._schema, main, t, index_option="freq")))
            if boost > 0:
                tq = Query.term_query(self._schema, "title", t, index_option="freq")
                clauses.append((Occur.Should, Query.boost_query(tq, boost) if boost != 1.0 else tq))
        if required:
            clauses.append((Occur.Must, self._query(required)))
        return Query.boolean_query(clauses)

    def url_for_docid(self, docid: str) -> str | None:
        """The url of the page whose external document id is ``docid`` (exact match), or ``None``."""
        if not docid or not isinstance(docid, str) or self.meta.get("format", 1) < 2:
            return None
        from tantivy import Query

        result = self._searcher.search(Query.term_query(self._schema, "docid", docid.strip()), limit=1)
        if not result.hits:
            return None
        return self._searcher.doc(result.hits[0][1]).get_first("url")

    def search(
        self, query: str, top_k: int = 10, *, snippets: bool = True, snippet_chars: int = 250
    ) -> list[SearchHit]:
        """The ``top_k`` best pages for ``query`` (any user text; never raises on its content).

        Args:
            query: free text. Operators, quotes and field syntax have no special meaning.
            top_k: number of hits (<= 0 gives ``[]``).
            snippets: compute query-relevant snippets (the only part that reads page text).
            snippet_chars: approximate snippet length.
        """
        if top_k <= 0 or not isinstance(query, str):
            return []
        terms = self.query_terms(query)
        hits = []
        for score, addr in self._top(terms, top_k):
            doc = self._searcher.doc(addr)
            text = doc.get_first("text") or ""
            hits.append(
                SearchHit(
                    url=doc.get_first("url") or "",
                    docid=(doc.get_first("docid") or None) if self._has_docid else None,
                    title=doc.get_first("title") or "",
                    score=float(score),
                    snippet=make_snippet(text, terms, snippet_chars) if snippets else "",
                )
            )
        return hits

    def _top(self, terms: Sequence[str], top_k: int) -> list[tuple[float, Any]]:
        """(score, document address) of the ``top_k`` best pages for analysed query ``terms``, best first."""
        if top_k <= 0 or not terms:
            return []
        limit = min(int(top_k), max(1, len(self)))  # never let a huge top_k size the collector
        hits = self._top_without_frequent_lists(terms, limit)
        if hits is None:
            hits = self._searcher.search(self._query(terms), limit=limit, count=False).hits
        return hits

    def _top_without_frequent_lists(self, terms: Sequence[str], limit: int) -> list[tuple[float, Any]] | None:
        """The exact top ``limit`` read from the rare terms' lists (``openseeker.web.search.maxscore``), or ``None``
        when that cannot be proven equal to the full query's."""
        n_docs = len(self)
        split = maxscore.split_frequent(terms, self.doc_freq, n_docs)
        if split is None:
            return None
        rare, frequent = split
        hits = self._searcher.search(self._query(frequent, required=rare), limit=limit, count=False).hits
        bound = sum(maxscore.upper_bound(self._clause_doc_freqs(t), n_docs) for t in frequent)
        return hits if len(hits) == limit and hits[-1][0] > bound else None

    def _clause_doc_freqs(self, term: str) -> list[tuple[int, float]]:
        """``(doc freq, boost)`` of each clause ``_query`` makes for ``term``."""
        out = [(self.doc_freq(term), 1.0)]
        if self.settings.title_boost > 0:
            out.append((self.doc_freq(term, "title"), self.settings.title_boost))
        return out

    def ranked_urls(self, terms: Sequence[str], top_k: int = 10) -> list[tuple[str, float]]:
        """``(url, score)`` of the ``top_k`` best pages for already analysed ``terms`` (``query_terms``): the
        ranking of :meth:`search` without building hits. What hybrid search fuses (its top 50).

        The url of a document address is remembered (until ``add`` reloads the searcher): reading a stored
        document decompresses its whole block, title and text included, and the pages that rank recur."""
        urls = self._urls
        out = []
        for score, addr in self._top(terms, top_k):
            key = (addr.segment_ord, addr.doc)
            url = urls.get(key)
            if url is None:
                if len(urls) >= DOC_FREQ_CACHE:
                    urls.clear()
                url = urls[key] = self._searcher.doc(addr).get_first("url") or ""
            out.append((url, float(score)))
        return out

    def search_many(self, queries: Sequence[str], top_k: int = 10, *, snippets: bool = True) -> list[list[SearchHit]]:
        """:meth:`search` for each query, in order."""
        return [self.search(q, top_k, snippets=snippets) for q in queries]

    def __repr__(self) -> str:
        return f"SearchIndex({str(self.directory)!r}, docs={len(self)})"
