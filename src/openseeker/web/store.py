"""The web graph store: pages and hyperlinks in one SQLite file (``graph.sqlite`` in a web directory).

Design for a million pages with bounded memory:

* pages are inserted in batches inside transactions (``GraphWriter``), never held in RAM all at once;
* importers give hyperlinks with a destination that is a url *or* a title; they are staged as-is in
  ``raw_links`` of a staging file next to the graph (``links-staging.sqlite``, deleted once resolved) and
  resolved to page ids in SQL (``resolve_links``, in chunks), through the ``redirects`` table when needed;
* in/out degrees are computed in SQL (``compute_degrees``).

Readers (``get``, ``get_by_title``, ``out_links``, ``in_links``, ``sample``, ``degree_stats``, ``iter_pages``)
are what the other stages code against.

Example:
    >>> g = WebGraph("web/graph.sqlite", readonly=True)      # doctest: +SKIP
    >>> g.get_by_title("ray charles").url                    # doctest: +SKIP
    'https://en.wikipedia.org/wiki/Ray_Charles'
"""

from __future__ import annotations

import json
import logging
import random
import re
import sqlite3
import statistics
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from openseeker.errors import UserError
from openseeker.records import Link, Page
from openseeker.sqlite_wal import connect_wal

log = logging.getLogger(__name__)

STORE_VERSION = 1
BATCH = 5_000
CACHE_KB = 65_536  # the page cache of every connection
BULK_CACHE_KB = 1_048_576  # while resolving links (one transaction over all staged links)

SCHEMA = """
CREATE TABLE IF NOT EXISTS pages (
    id          INTEGER PRIMARY KEY,
    url         TEXT NOT NULL UNIQUE,
    title       TEXT NOT NULL,
    norm_title  TEXT NOT NULL,
    text        TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    lang        TEXT NOT NULL DEFAULT '',
    topic       TEXT NOT NULL DEFAULT '',
    source      TEXT NOT NULL DEFAULT '',
    metadata    TEXT NOT NULL DEFAULT '{}',
    out_degree  INTEGER NOT NULL DEFAULT 0,
    in_degree   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS pages_norm_title ON pages(norm_title);
CREATE TABLE IF NOT EXISTS links (
    src_id INTEGER NOT NULL,
    dst_id INTEGER NOT NULL,
    anchor TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (src_id, dst_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS links_dst ON links(dst_id, src_id);
CREATE TABLE IF NOT EXISTS redirects (
    norm_title TEXT PRIMARY KEY,
    target     TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS url_redirects (
    url    TEXT PRIMARY KEY,
    target TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
"""

# the link staging table, in its own file next to the graph (``links-staging.sqlite``): 196M raw links with their
# url text were ~14 GB of an 18.8 GB graph file at 10M pages, and freeing them there meant an incremental vacuum
# that moved every later page (still running after 50 min); a separate file is simply deleted once resolved.
# ``src_id`` is looked up when the link is staged (its page is stored by then); ``src_url`` only when it was not.
STAGING_FILE = "links-staging.sqlite"
STAGING_SCHEMA = """
CREATE TABLE IF NOT EXISTS staging.raw_links (
    src_id   INTEGER,
    src_url  TEXT,
    dst_url  TEXT,
    dst_norm TEXT,
    anchor   TEXT NOT NULL DEFAULT ''
);
"""
RESOLVE_CHUNK = 1_000_000  # staged links resolved (and committed) at a time: bounds the WAL and the temp table
DEGREE_CHUNK = 250_000  # pages whose degrees are updated per transaction

_WS = re.compile(r"\s+")
_PAGE_COLS = "id, url, title, text, description, lang, topic, source, metadata, out_degree, in_degree"


def normalize_title(title: str) -> str:
    """The key titles are matched on: NFC, underscores as spaces, whitespace collapsed, case-folded."""
    t = unicodedata.normalize("NFC", title).replace("_", " ")
    return _WS.sub(" ", t).strip().casefold()


def is_url(value: str) -> bool:
    return "://" in value


def _row_to_page(row: sqlite3.Row | tuple) -> Page:
    _id, url, title, text, description, lang, topic, source, metadata, out_degree, in_degree = row
    meta = json.loads(metadata) if metadata else {}
    return Page(
        url=url,
        title=title,
        text=text,
        description=description,
        lang=lang,
        topic=topic,
        source=source,
        metadata=meta,
    )


def _stage_raw_links(con: sqlite3.Connection, lo: int, hi: int) -> None:
    """Copy the staged links with rowid in ``[lo, hi)`` into the temp table ``rl``, with the source and (by exact
    url) target page ids."""
    con.execute("DROP TABLE IF EXISTS temp.rl")
    con.execute(
        "CREATE TEMP TABLE rl(rid INTEGER PRIMARY KEY, src_id INTEGER, dst_id INTEGER, dst_norm TEXT, "
        "anchor TEXT, dst_url TEXT)"
    )
    con.execute(
        "INSERT INTO rl SELECT r.rowid, coalesce(r.src_id, (SELECT id FROM main.pages WHERE url = r.src_url)), "
        "(SELECT id FROM main.pages WHERE url = r.dst_url), r.dst_norm, r.anchor, r.dst_url "
        "FROM staging.raw_links r WHERE r.rowid >= ? AND r.rowid < ?",
        (lo, hi),
    )


def _resolve_staged(con: sqlite3.Connection) -> None:
    """Fill the missing targets of ``rl``: through url redirects (a crawl's), then by title, then by title
    redirect."""
    has_url_redirects = con.execute("SELECT 1 FROM url_redirects LIMIT 1").fetchone() is not None
    # url redirects recorded in a crawl (a chain of at most a few hops)
    for _hop in range(3 if has_url_redirects else 0):
        con.execute(
            "UPDATE rl SET dst_url = (SELECT target FROM url_redirects WHERE url = rl.dst_url) "
            "WHERE dst_id IS NULL AND dst_url IN (SELECT url FROM url_redirects)"
        )
        con.execute(
            "UPDATE rl SET dst_id = (SELECT id FROM pages WHERE url = rl.dst_url) "
            "WHERE dst_id IS NULL AND dst_url IS NOT NULL"
        )
    con.execute(
        "UPDATE rl SET dst_id = (SELECT min(id) FROM pages WHERE norm_title = rl.dst_norm) "
        "WHERE dst_id IS NULL AND dst_norm IS NOT NULL"
    )
    con.execute(
        "UPDATE rl SET dst_id = (SELECT min(p.id) FROM redirects r JOIN pages p "
        "ON p.norm_title = r.target WHERE r.norm_title = rl.dst_norm) "
        "WHERE dst_id IS NULL AND dst_norm IS NOT NULL"
    )


def _staged_counts(con: sqlite3.Connection) -> tuple[int, int, int]:
    """``(unknown source, unresolved, self-links)`` among the staged links."""
    no_src = con.execute("SELECT count(*) FROM rl WHERE src_id IS NULL").fetchone()[0]
    unresolved = con.execute("SELECT count(*) FROM rl WHERE src_id IS NOT NULL AND dst_id IS NULL").fetchone()[0]
    self_links = con.execute("SELECT count(*) FROM rl WHERE src_id = dst_id").fetchone()[0]
    return no_src, unresolved, self_links


class WebGraph:
    """Pages and links in SQLite (WAL). Open read-only for readers; writers use ``writer()``.

    Args:
        path: the ``graph.sqlite`` file, or a web directory (holding or to hold ``graph.sqlite``).
        readonly: open without write access (the file must exist).
    """

    def __init__(self, path: str | Path, readonly: bool = False):
        p = Path(path)
        if p.is_dir() or (not p.exists() and not p.suffix):  # a web directory (existing or to be made)
            p = p / "graph.sqlite"
        self.path = p
        self.readonly = readonly
        if readonly:
            if not p.exists():
                raise UserError(f"{p}: no such web graph (build one with `openseeker web build`)")
            self._con = sqlite3.connect(f"file:{p}?mode=ro", uri=True, check_same_thread=False)
        else:
            p.parent.mkdir(parents=True, exist_ok=True)
            self._con = connect_wal(p, schema=SCHEMA, timeout=5.0)
        self._con.execute(f"PRAGMA cache_size=-{CACHE_KB}")  # 64 MB page cache, bounded
        self._con.execute("PRAGMA temp_store=FILE")
        self._lock = threading.RLock()
        self._staging_attached = False
        if not readonly and self._one("SELECT 1 FROM sqlite_master WHERE name = 'raw_links'"):
            self._move_old_staging()

    # ------------------------------------------------------------------ link staging (a file of its own)

    @property
    def staging_path(self) -> Path:
        return self.path.with_name(STAGING_FILE)

    def _staging(self) -> None:
        """Attach the staging file (created when first needed; never inside a transaction)."""
        if self._staging_attached:
            return
        with self._lock:
            self._con.execute("ATTACH DATABASE ? AS staging", (str(self.staging_path),))
            self._con.execute("PRAGMA staging.journal_mode=WAL")
            self._con.execute("PRAGMA staging.synchronous=NORMAL")
            self._con.executescript(STAGING_SCHEMA)
            self._staging_attached = True

    def _drop_staging(self) -> None:
        """Detach and delete the staging file (all its links are resolved)."""
        with self._lock:
            if self._staging_attached:
                self._con.execute("DETACH DATABASE staging")
                self._staging_attached = False
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(str(self.staging_path) + suffix).unlink(missing_ok=True)

    def _move_old_staging(self) -> None:
        """A graph file from before the staging file kept its ``raw_links`` table inside: move its rows out."""
        self._staging()
        with self._lock:
            self._con.execute("BEGIN")
            self._con.execute(
                "INSERT INTO staging.raw_links(src_url, dst_url, dst_norm, anchor) "
                "SELECT src_url, dst_url, dst_norm, anchor FROM main.raw_links ORDER BY rowid"
            )
            self._con.execute("DROP TABLE main.raw_links")
            self._con.execute("COMMIT")
        if not self._one("SELECT 1 FROM staging.raw_links LIMIT 1"):
            self._drop_staging()

    def staged_links(self) -> int:
        """The highest rowid of the staged (not yet resolved) links, 0 when none: an incremental build
        remembers it to drop what an interrupted add staged (``drop_staged_after``)."""
        if not self.staging_path.exists():
            return 0
        self._staging()
        return self._one("SELECT coalesce(max(rowid), 0) FROM staging.raw_links")

    def drop_staged_after(self, rowid: int) -> None:
        if self.staging_path.exists():
            self._staging()
            self.execute("DELETE FROM staging.raw_links WHERE rowid > ?", (rowid,))

    # ------------------------------------------------------------------ basics

    def close(self) -> None:
        with self._lock:
            try:
                self._con.close()
            except sqlite3.Error:  # pragma: no cover - closing twice
                pass

    def __enter__(self) -> WebGraph:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __len__(self) -> int:
        return self._one("SELECT count(*) FROM pages")

    def _one(self, sql: str, params: tuple = ()) -> Any:
        with self._lock:
            row = self._con.execute(sql, params).fetchone()
        return row[0] if row else None

    def execute(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        """Run one statement (for maintenance code in this package; readers use the methods)."""
        with self._lock:
            return self._con.execute(sql, params)

    # ------------------------------------------------------------------ meta

    def get_meta(self, key: str, default: Any = None) -> Any:
        value = self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return json.loads(value) if value is not None else default

    def set_meta(self, key: str, value: Any) -> None:
        with self._lock:
            self._con.execute(
                "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value, ensure_ascii=False)),
            )

    def meta(self) -> dict[str, Any]:
        with self._lock:
            rows = self._con.execute("SELECT key, value FROM meta").fetchall()
        return {k: json.loads(v) for k, v in rows}

    # ------------------------------------------------------------------ reads

    def get(self, url: str) -> Page | None:
        """The page with exactly this url, or ``None``."""
        with self._lock:
            row = self._con.execute(f"SELECT {_PAGE_COLS} FROM pages WHERE url = ?", (url,)).fetchone()
        return _row_to_page(row) if row else None

    def get_redirected(self, url: str) -> Page | None:
        """The page a url redirect recorded in a crawl leads to (a few hops at most), or ``None``."""
        for _ in range(3):
            try:
                target = self._one("SELECT target FROM url_redirects WHERE url = ?", (url,))
            except sqlite3.OperationalError:  # a web built before url redirects existed (opened read-only)
                return None
            if target is None:
                return None
            page = self.get(target)
            if page is not None:
                return page
            url = target
        return None

    def get_id(self, url: str) -> int | None:
        return self._one("SELECT id FROM pages WHERE url = ?", (url,))

    def get_by_title(self, title: str) -> Page | None:
        """The page with this title (case-insensitive, ``_`` = space), following redirects; first one wins."""
        key = normalize_title(title)
        if not key:
            return None
        for _ in range(3):  # a redirect chain of at most a few hops
            with self._lock:
                row = self._con.execute(
                    f"SELECT {_PAGE_COLS} FROM pages WHERE norm_title = ? ORDER BY id LIMIT 1", (key,)
                ).fetchone()
            if row:
                return _row_to_page(row)
            target = self._one("SELECT target FROM redirects WHERE norm_title = ?", (key,))
            if target is None:
                return None
            key = normalize_title(target)
        return None

    def _links(self, sql: str, url: str) -> list[Link]:
        with self._lock:
            rows = self._con.execute(sql, (url,)).fetchall()
        return [Link(src=s, dst=d, anchor=a) for s, d, a in rows]

    def out_links(self, url: str) -> list[Link]:
        """Hyperlinks from the page at ``url`` to other pages of this web (in insertion order of targets' ids)."""
        return self._links(
            "SELECT s.url, d.url, l.anchor FROM pages s JOIN links l ON l.src_id = s.id "
            "JOIN pages d ON d.id = l.dst_id WHERE s.url = ? ORDER BY l.dst_id",
            url,
        )

    def in_links(self, url: str) -> list[Link]:
        """Hyperlinks from other pages of this web to the page at ``url``."""
        return self._links(
            "SELECT s.url, d.url, l.anchor FROM pages d JOIN links l ON l.dst_id = d.id "
            "JOIN pages s ON s.id = l.src_id WHERE d.url = ? ORDER BY l.src_id",
            url,
        )

    def degree(self, url: str) -> tuple[int, int] | None:
        """``(out_degree, in_degree)`` of a page, or ``None`` when unknown."""
        with self._lock:
            row = self._con.execute("SELECT out_degree, in_degree FROM pages WHERE url = ?", (url,)).fetchone()
        return (row[0], row[1]) if row else None

    def sample(
        self,
        n: int,
        *,
        seed: int | None = None,
        topic: str | None = None,
        lang: str | None = None,
        min_out_degree: int = 0,
    ) -> list[Page]:
        """``n`` distinct pages drawn uniformly among those matching the filters (fewer if fewer match).

        The same ``seed`` on the same graph gives the same pages in the same order. Only page ids are held in
        memory (8 bytes each), never the pages.
        """
        where, params = [], []
        if topic is not None:
            where.append("topic = ?")
            params.append(topic)
        if lang is not None:
            where.append("lang = ?")
            params.append(lang)
        if min_out_degree > 0:
            where.append("out_degree >= ?")
            params.append(min_out_degree)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        if not where:
            dense = self._dense_ids()
            if dense is not None:  # ids are lo..lo+count-1: the same draw as below without reading every id
                lo, count = dense
                rng = random.Random(seed)
                chosen = rng.sample(range(count), min(max(n, 0), count))
                return [self._page_by_id(lo + i) for i in chosen]
        from array import array

        ids = array("q")
        with self._lock:
            cur = self._con.execute(f"SELECT id FROM pages{clause} ORDER BY id", tuple(params))
            while True:
                chunk = cur.fetchmany(50_000)
                if not chunk:
                    break
                ids.extend(r[0] for r in chunk)
        rng = random.Random(seed)
        chosen = rng.sample(range(len(ids)), min(max(n, 0), len(ids)))
        pages = []
        for i in chosen:
            with self._lock:
                row = self._con.execute(f"SELECT {_PAGE_COLS} FROM pages WHERE id = ?", (ids[i],)).fetchone()
            pages.append(_row_to_page(row))
        return pages

    def _dense_ids(self) -> tuple[int, int] | None:
        """``(first id, count)`` when page ids have no gaps (every import so far), else ``None``. Cached on a
        read-only graph (``count(*)`` scans the table: seconds at 10M pages)."""
        cached = getattr(self, "_dense_cache", False)
        if cached is not False:
            return cached
        with self._lock:
            lo, hi = self._con.execute("SELECT min(id), max(id) FROM pages").fetchone()
        count = len(self)
        dense = (lo, count) if lo is not None and hi - lo + 1 == count else None
        if self.readonly:
            self._dense_cache = dense
        return dense

    def _page_by_id(self, page_id: int) -> Page:
        with self._lock:
            row = self._con.execute(f"SELECT {_PAGE_COLS} FROM pages WHERE id = ?", (page_id,)).fetchone()
        return _row_to_page(row)

    def iter_pages(self, *, batch: int = 1_000) -> Iterator[Page]:
        """Every page in id order, streamed in batches (keyset pagination: bounded memory)."""
        for _id, page in self.iter_pages_with_ids(batch=batch):
            yield page

    def iter_pages_with_ids(self, *, batch: int = 1_000) -> Iterator[tuple[int, Page]]:
        for row in self.iter_rows(_PAGE_COLS, batch=batch):  # _PAGE_COLS starts with id
            yield row[0], _row_to_page(row)

    def iter_rows(self, columns: str, *, batch: int = 2_000) -> Iterator[tuple]:
        """Selected columns of every page in id order (``columns`` must start with ``id``)."""
        last = 0
        while True:
            with self._lock:
                rows = self._con.execute(
                    f"SELECT {columns} FROM pages WHERE id > ? ORDER BY id LIMIT ?", (last, batch)
                ).fetchall()
            if not rows:
                return
            yield from rows
            last = rows[-1][0]

    def topics(self) -> dict[str, int]:
        with self._lock:
            rows = self._con.execute("SELECT topic, count(*) FROM pages GROUP BY topic ORDER BY 2 DESC").fetchall()
        return dict(rows)

    def degree_stats(self) -> dict[str, Any]:
        """Pages, links, mean/median/max out-degree, in-degree summary, pages without out-links, histogram."""
        pages = len(self)
        links = self._one("SELECT count(*) FROM links")
        stats: dict[str, Any] = {"pages": pages, "links": links}
        if not pages:
            stats.update(
                mean_out_degree=0.0,
                median_out_degree=0,
                max_out_degree=0,
                max_in_degree=0,
                pages_no_out_links=0,
                pages_no_in_links=0,
                isolated_pages=0,
                histogram={},
            )
            return stats
        # median without loading all degrees: walk the ordered index in SQL
        median = self._median("out_degree", pages)
        with self._lock:
            max_out, max_in = self._con.execute("SELECT max(out_degree), max(in_degree) FROM pages").fetchone()
            no_out = self._con.execute("SELECT count(*) FROM pages WHERE out_degree = 0").fetchone()[0]
            no_in = self._con.execute("SELECT count(*) FROM pages WHERE in_degree = 0").fetchone()[0]
            isolated = self._con.execute(
                "SELECT count(*) FROM pages WHERE out_degree = 0 AND in_degree = 0"
            ).fetchone()[0]
            buckets = self._con.execute(
                "SELECT CASE WHEN out_degree = 0 THEN '0' WHEN out_degree <= 2 THEN '1-2' "
                "WHEN out_degree <= 5 THEN '3-5' WHEN out_degree <= 10 THEN '6-10' "
                "WHEN out_degree <= 20 THEN '11-20' WHEN out_degree <= 50 THEN '21-50' "
                "WHEN out_degree <= 100 THEN '51-100' ELSE '>100' END AS b, count(*) FROM pages GROUP BY b"
            ).fetchall()
        order = ["0", "1-2", "3-5", "6-10", "11-20", "21-50", "51-100", ">100"]
        hist = dict(buckets)
        stats.update(
            mean_out_degree=round(links / pages, 3),
            median_out_degree=median,
            max_out_degree=max_out,
            max_in_degree=max_in,
            pages_no_out_links=no_out,
            pages_no_in_links=no_in,
            isolated_pages=isolated,
            histogram={b: hist[b] for b in order if b in hist},
        )
        return stats

    def _median(self, column: str, count: int) -> float:
        with self._lock:
            if count % 2:
                return float(
                    self._con.execute(
                        f"SELECT {column} FROM pages ORDER BY {column} LIMIT 1 OFFSET ?", (count // 2,)
                    ).fetchone()[0]
                )
            rows = self._con.execute(
                f"SELECT {column} FROM pages ORDER BY {column} LIMIT 2 OFFSET ?", (count // 2 - 1,)
            ).fetchall()
        return float(statistics.mean(r[0] for r in rows))

    # ------------------------------------------------------------------ writes

    def writer(self, batch: int = BATCH) -> GraphWriter:
        if self.readonly:
            raise UserError(f"{self.path}: opened read-only")
        self._staging()
        return GraphWriter(self, batch)

    def resolve_links(self, keep_unresolved: bool = False) -> dict[str, int]:
        """Turn the staged links into ``links`` (by url, then title, then redirect); returns counts.

        Self-links and duplicates (same source and target) are dropped; a link whose target is not a page of
        this web is counted as ``unresolved``. The staged links are resolved ``RESOLVE_CHUNK`` at a time, each
        chunk one transaction (the WAL stays small at 200M links), and the staging file is deleted afterwards;
        with ``keep_unresolved`` it keeps the unresolved links of known pages instead: an incremental build
        (``openseeker.web.incremental``) resolves them again once their targets are added.
        """
        counts = {"raw_links": 0, "unresolved": 0, "self_links": 0, "unknown_source": 0}
        if not self.staging_path.exists():
            return {**counts, "links_added": 0, "duplicates": 0}
        self._staging()
        con = self._con
        with self._lock:
            lo, hi = con.execute(
                "SELECT coalesce(min(rowid), 1), coalesce(max(rowid), 0) FROM staging.raw_links"
            ).fetchone()
            before = con.execute("SELECT count(*) FROM links").fetchone()[0]
            # bulk load (measured: linking was 63% of a 100k-page build, benchmarks/bench_webscale.py): a larger
            # page cache for the lookups and, into an empty table, the (dst, src) index built once afterwards
            # (one sort) instead of updated by random inserts
            con.execute(f"PRAGMA cache_size=-{BULK_CACHE_KB}")
            rebuild_dst = before == 0
            if rebuild_dst:
                con.execute("DROP INDEX IF EXISTS links_dst")
            con.execute("DROP TABLE IF EXISTS temp.keep")
            con.execute("CREATE TEMP TABLE keep(rid INTEGER PRIMARY KEY)")
            for start in range(lo, hi + 1, RESOLVE_CHUNK):
                self._resolve_chunk(start, start + RESOLVE_CHUNK, counts, keep_unresolved)
            if rebuild_dst:
                con.execute("CREATE INDEX IF NOT EXISTS links_dst ON links(dst_id, src_id)")
            con.execute(f"PRAGMA cache_size=-{CACHE_KB}")
            after = con.execute("SELECT count(*) FROM links").fetchone()[0]
            kept = con.execute("SELECT count(*) FROM temp.keep").fetchone()[0]
            if kept:
                con.execute("DELETE FROM staging.raw_links WHERE rowid NOT IN (SELECT rid FROM temp.keep)")
            con.execute("DROP TABLE temp.keep")
        if not kept:
            self._drop_staging()
        added = after - before
        return {
            **counts,
            "links_added": added,
            "duplicates": counts["raw_links"]
            - counts["unresolved"]
            - counts["self_links"]
            - counts["unknown_source"]
            - added,
        }

    def _resolve_chunk(self, lo: int, hi: int, counts: dict[str, int], keep_unresolved: bool) -> None:
        """Resolve the staged links with rowid in ``[lo, hi)`` in one transaction, adding to ``counts``."""
        con = self._con
        con.execute("BEGIN")
        _stage_raw_links(con, lo, hi)
        _resolve_staged(con)
        counts["raw_links"] += con.execute("SELECT count(*) FROM rl").fetchone()[0]
        no_src, unresolved, self_links = _staged_counts(con)
        counts["unknown_source"] += no_src
        counts["unresolved"] += unresolved
        counts["self_links"] += self_links
        con.execute(
            "INSERT OR IGNORE INTO links(src_id, dst_id, anchor) SELECT src_id, dst_id, anchor FROM rl "
            "WHERE src_id IS NOT NULL AND dst_id IS NOT NULL AND src_id != dst_id ORDER BY rid"
        )
        if keep_unresolved:
            con.execute("INSERT INTO temp.keep SELECT rid FROM rl WHERE src_id IS NOT NULL AND dst_id IS NULL")
        con.execute("DROP TABLE temp.rl")
        con.execute("COMMIT")

    def add_links_by_id(self, rows: Iterable[tuple[int, int, str]]) -> int:
        """Insert ``(src_id, dst_id, anchor)`` links directly (one transaction); returns how many were new."""
        with self._lock:
            con = self._con
            before = con.total_changes
            con.execute("BEGIN")
            con.executemany("INSERT OR IGNORE INTO links(src_id, dst_id, anchor) VALUES (?,?,?)", rows)
            con.execute("COMMIT")
            return con.total_changes - before

    def compute_degrees(self) -> None:
        """Set ``out_degree``/``in_degree`` of every page from ``links`` (in SQL).

        One pass over the pages in id ranges, each a transaction: every page row is rewritten once (at 10M
        pages the page table is ~10 GB; three whole-table UPDATEs in one transaction meant a WAL of that size
        three times over), and each count is a range of the ``links`` key or of ``links_dst``."""
        with self._lock:
            con = self._con
            lo, hi = con.execute("SELECT coalesce(min(id), 1), coalesce(max(id), 0) FROM pages").fetchone()
            for start in range(lo, hi + 1, DEGREE_CHUNK):
                con.execute("BEGIN")
                con.execute(
                    "UPDATE pages SET out_degree = o, in_degree = i FROM (SELECT p.id AS pid, "
                    "(SELECT count(*) FROM links WHERE src_id = p.id) AS o, "
                    "(SELECT count(*) FROM links WHERE dst_id = p.id) AS i "
                    "FROM pages p WHERE p.id >= ? AND p.id < ?) AS d "
                    "WHERE pages.id = d.pid AND (pages.out_degree != d.o OR pages.in_degree != d.i)",
                    (start, start + DEGREE_CHUNK),
                )
                con.execute("COMMIT")
            con.execute("CREATE INDEX IF NOT EXISTS pages_topic ON pages(topic, out_degree)")
            con.execute("CREATE INDEX IF NOT EXISTS pages_out_degree ON pages(out_degree)")
            con.execute("PRAGMA analysis_limit=1000")  # approximate statistics: a full ANALYZE reads every index
            con.execute("ANALYZE")

    def checkpoint(self) -> None:
        with self._lock:
            self._con.execute("PRAGMA wal_checkpoint(TRUNCATE)")


class GraphWriter:
    """Batched, transactional inserts. Use as a context manager; each batch is one transaction.

    A page whose url is already stored is not replaced; it is counted in ``duplicate_urls``.
    """

    def __init__(self, graph: WebGraph, batch: int = BATCH):
        self.graph, self.batch = graph, batch
        self._pages: list[tuple] = []
        self._links: list[tuple] = []
        self._redirects: list[tuple] = []
        self._url_redirects: list[tuple] = []
        self.pages_added = 0
        self.duplicate_urls = 0
        self.links_staged = 0
        self.redirects_added = 0
        self._batch_urls: set[str] = set()

    def add_page(self, page: Page) -> None:
        if page.url in self._batch_urls:
            self.duplicate_urls += 1
            return
        self._batch_urls.add(page.url)
        self._pages.append(
            (
                page.url,
                page.title,
                normalize_title(page.title),
                page.text,
                page.description,
                page.lang,
                page.topic,
                page.source,
                json.dumps(page.metadata, ensure_ascii=False) if page.metadata else "{}",
            )
        )
        if len(self._pages) >= self.batch:
            self.flush()

    def add_link(self, link: Link) -> None:
        dst = link.dst.strip()
        if not dst:
            return
        if is_url(dst):
            self._links.append((link.src, dst, None, link.anchor))
        else:
            self._links.append((link.src, None, normalize_title(dst), link.anchor))
        self.links_staged += 1
        if len(self._links) >= self.batch * 4:
            self.flush()

    def add_links(self, links: Iterable[Link]) -> None:
        for link in links:
            self.add_link(link)

    def add_redirect(self, title: str, target: str) -> None:
        """``title`` is another name of the page titled ``target``; with two urls, a url redirect."""
        if is_url(title) and is_url(target):
            if title != target:
                self._url_redirects.append((title, target))
                if len(self._url_redirects) >= self.batch:
                    self.flush()
            return
        key, tgt = normalize_title(title), normalize_title(target)
        if key and tgt and key != tgt:
            self._redirects.append((key, tgt))
            if len(self._redirects) >= self.batch:
                self.flush()

    def flush(self) -> None:
        if not (self._pages or self._links or self._redirects or self._url_redirects):
            return
        con = self.graph._con
        with self.graph._lock:
            con.execute("BEGIN")
            if self._pages:
                before = con.total_changes
                con.executemany(
                    "INSERT OR IGNORE INTO pages(url, title, norm_title, text, description, lang, topic, source, "
                    "metadata) VALUES (?,?,?,?,?,?,?,?,?)",
                    self._pages,
                )
                added = con.total_changes - before
                self.pages_added += added
                self.duplicate_urls += len(self._pages) - added
            if self._links:
                # the source page is stored by now (an importer yields a page before its links): keep its id
                con.executemany(
                    "INSERT INTO staging.raw_links(src_id, src_url, dst_url, dst_norm, anchor) "
                    "SELECT p.id, CASE WHEN p.id IS NULL THEN s.u END, ?2, ?3, ?4 "
                    "FROM (SELECT ?1 AS u) s LEFT JOIN main.pages p ON p.url = s.u",
                    self._links,
                )
            if self._redirects:
                before = con.total_changes
                con.executemany("INSERT OR IGNORE INTO redirects(norm_title, target) VALUES (?,?)", self._redirects)
                self.redirects_added += con.total_changes - before
            if self._url_redirects:
                before = con.total_changes
                con.executemany("INSERT OR IGNORE INTO url_redirects(url, target) VALUES (?,?)", self._url_redirects)
                self.redirects_added += con.total_changes - before
            con.execute("COMMIT")
        self._pages.clear()
        self._links.clear()
        self._redirects.clear()
        self._url_redirects.clear()
        self._batch_urls.clear()

    def __enter__(self) -> GraphWriter:
        # bulk load: the url and title indexes take random inserts (1M pages: the import was 2/3 of the build
        # and grew 21x from 100k); a larger page cache while writing, back to the default afterwards
        self.graph.execute(f"PRAGMA cache_size=-{BULK_CACHE_KB}")
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        try:
            if exc_type is None:
                self.flush()
        finally:
            self.graph.execute(f"PRAGMA cache_size=-{CACHE_KB}")
