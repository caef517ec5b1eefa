"""``build_web``: a corpus -> a web directory (``graph.sqlite`` + ``index/`` + ``web.json``).

Stages, recorded in the store's ``meta`` table as ``status`` so an interrupted build is detected:
``importing`` -> ``linking`` -> ``indexing`` -> ``complete``.

Re-running into an existing directory:

* same corpus (same fingerprint), build complete: nothing to do ("up to date");
* same corpus, interrupted while importing/linking: the graph is rebuilt cleanly from the start;
* same corpus, interrupted while indexing (the graph is complete): only the index is rebuilt;
* a different corpus: refused with a message, unless ``force=True`` (then the old web is replaced).

Two corpora are never mixed in one directory. Files that are not ours in the directory are never deleted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from openseeker.errors import UserError
from openseeker.outlock import hold_output
from openseeker.provenance import package_versions
from openseeker.records import Link, Page
from openseeker.web.importers import Importer, Redirect, get_importer
from openseeker.web.importers.links import derive_title_links
from openseeker.web.neardup import KeyedPage, NearDup, check_mode
from openseeker.web.parallel import PARTS_DIR, run_parts
from openseeker.web.search.index import SearchIndex
from openseeker.web.store import STAGING_FILE, STORE_VERSION, WebGraph

log = logging.getLogger(__name__)

GRAPH_FILE = "graph.sqlite"
INDEX_DIR = "index"
INFO_FILE = "web.json"
NEAR_DUPLICATE = "near-duplicate text"  # the skip reason of --dedup near (web stats counts it)
OUR_FILES = {
    *(name + suffix for name in (GRAPH_FILE, STAGING_FILE) for suffix in ("", "-wal", "-shm", "-journal")),
    INDEX_DIR,
    INFO_FILE,
    INFO_FILE + ".tmp",
    PARTS_DIR,
}


def _versions() -> dict[str, str]:
    """What the web was built with (``openseeker.provenance``), plus the SQLite library and store versions."""
    packages = (
        "openseeker",
        "tantivy",
        "pyahocorasick",
        "mwparserfromhell",
        "libzim",
        "trafilatura",
        "fastwarc",
        "resiliparse",
        "datasketch",
    )
    return {
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "store": str(STORE_VERSION),
        **package_versions(packages, missing=False),
    }


def _remove_ours(out: Path, keep: tuple[str, ...] = ()) -> None:
    for name in OUR_FILES - set(keep):
        p = out / name
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()


def _plan(out: Path, fingerprint: str, source: str, force: bool, corpus_fp: str = "", options: Any = None) -> str:
    """``fresh`` | ``up_to_date`` | ``index`` (graph complete, index missing) | ``rebuild``."""
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a directory")
    if not out.exists():
        return "fresh"
    foreign = [p.name for p in out.iterdir() if p.name not in OUR_FILES]
    graph_file = out / GRAPH_FILE
    if not graph_file.exists():
        if foreign:
            raise UserError(f"{out}: directory is not empty and is not an openseeker web; choose a new --out")
        _remove_ours(out)
        return "fresh"
    try:
        with WebGraph(graph_file) as g:
            meta = g.meta()
    except sqlite3.DatabaseError as exc:
        if not force:
            raise UserError(f"{graph_file}: unreadable web graph ({exc}); use --force to replace it") from None
        meta = {}
    old_fp, status = meta.get("fingerprint"), meta.get("status")
    if old_fp and old_fp != fingerprint and not force:
        if corpus_fp and meta.get("corpus_fingerprint") == corpus_fp:
            raise UserError(
                f"{out}: already holds a web of this corpus built with other options ({meta.get('options')}, "
                f"now {options}); use --force to rebuild it, or choose another --out"
            )
        raise UserError(
            f"{out}: already holds a web built from '{meta.get('source')}' (a different corpus than '{source}'); "
            "refusing to mix them: use --force to replace it, or choose another --out"
        )
    if old_fp != fingerprint or not old_fp:
        _remove_ours(out)
        return "fresh" if not old_fp else "rebuild"
    if status == "complete" and (out / INDEX_DIR).exists() and (out / INFO_FILE).exists() and not force:
        return "up_to_date"
    if status == "indexing" and not force:
        return "index"
    _remove_ours(out, keep=() if force else (PARTS_DIR,))  # same corpus: parts parsed so far are reused
    return "rebuild"


def _log_console() -> Any:
    """The console of the root logger's RichHandler, if any: progress bars and log lines then share it and
    log lines print above the bars instead of tearing them."""
    from rich.logging import RichHandler

    for h in logging.getLogger().handlers:
        if isinstance(h, RichHandler):
            return h.console
    return None


@contextmanager
def _progress(enabled: bool) -> Iterator[Any]:
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=_log_console() or Console(stderr=True),
        transient=False,
    ) as prog:
        yield prog


class _Bar:
    def __init__(self, prog: Any, description: str, total: int | None = None):
        self.prog = prog
        self.task = prog.add_task(description, total=total) if prog else None

    def __call__(self, n: int = 1) -> None:
        if self.prog is not None:
            self.prog.advance(self.task, n)

    def done(self) -> None:
        if self.prog is not None:
            t = self.prog.tasks[self.task]
            self.prog.update(self.task, total=t.completed)


class _Dedup:
    """Drops repeated pages: the same url (always), the same text under another url (``dedup_text``: crawls
    hold mirrors and http/https twins), and with ``near`` (``--dedup near``, ``openseeker.web.neardup``) a text
    close to a kept page's. Memory: an 8-byte hash per page and kind in a Python set (~100 bytes an entry with
    the set's overhead: ~1 GB per 10M pages), plus the near-duplicate index when asked."""

    def __init__(self, dedup_text: bool, known: Callable[[str], bool] | None = None, near: NearDup | None = None):
        self.dedup_text, self.known, self.near = dedup_text or near is not None, known, near
        self.urls: set[int] = set()
        self.texts: set[int] = set()
        self.counts: dict[str, int] = {}

    @staticmethod
    def _h(s: str) -> int:
        return int.from_bytes(hashlib.blake2b(s.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")

    def reason(self, page: Page, signature: list[int] | None = None) -> str | None:
        """``None`` for a new page (remembered), else why it is a duplicate (counted). ``signature``: the page's
        MinHash when a worker computed it (else computed here)."""
        u = self._h(page.url)
        if u in self.urls or (self.known is not None and self.known(page.url)):
            why = "duplicate url"
        elif self.dedup_text and (t := self._h(" ".join(page.text.split()).casefold())) in self.texts:
            why = "duplicate text"
        elif self.near is not None and self.near.seen(page.text, signature):
            why = NEAR_DUPLICATE
        else:
            self.urls.add(u)
            if self.dedup_text:
                self.texts.add(t)
            return None
        self.counts[why] = self.counts.get(why, 0) + 1
        return why


def _import(
    graph: WebGraph,
    importer: Importer,
    bar: _Bar,
    limit: int | None = None,
    records: Iterable[Page | KeyedPage | Link | Redirect] | None = None,
    source_stats: dict[str, Any] | None = None,
    known: Callable[[str], bool] | None = None,
    near: NearDup | None = None,
) -> dict[str, Any]:
    """Store the records of ``importer`` (or the merged shard stream ``records`` with its ``source_stats``).

    Duplicate pages are dropped here, in the one sequential pass, with the hyperlinks that follow them (an
    importer yields a page's links right after the page), so 1 and N workers give the same graph."""
    dedup = _Dedup(importer.dedup_text, known, near)
    dropped: str | None = None
    links = 0
    with graph.writer() as w:
        n = 0
        for rec in importer if records is None else records:
            sig = None
            if isinstance(rec, KeyedPage):
                rec, sig = rec.page, rec.signature
            if isinstance(rec, Page):
                if limit is not None and n >= limit:
                    break
                if dedup.reason(rec, sig):
                    dropped = rec.url
                    continue
                dropped = None
                n += 1
                w.add_page(rec)
                bar()
            elif isinstance(rec, Link):
                if rec.src != dropped:
                    w.add_link(rec)
                    links += 1
            elif isinstance(rec, Redirect):
                w.add_redirect(rec.title, rec.target)
    stats = importer.stats.as_dict() if source_stats is None else source_stats
    # the importer counted what it yielded; a duplicate (or a page past --limit) is dropped here, after that
    # count, so the counts are of what went into the graph: pages = the pages in the web
    stats["imported"] = stats["pages"] = w.pages_added
    stats["links"] = links
    dups = dict(dedup.counts)
    if w.duplicate_urls:  # a url already in the graph (an incremental build)
        dups["duplicate url"] = dups.get("duplicate url", 0) + w.duplicate_urls
    for why, count in dups.items():
        stats["skipped_by_reason"][why] = stats["skipped_by_reason"].get(why, 0) + count
        stats["skipped"] += count
    stats["redirects_stored"] = w.redirects_added
    if near is not None:
        stats["near_dedup"] = near.settings()
    return stats


def import_source(
    graph: WebGraph,
    importer: Importer,
    *,
    out: Path,
    fingerprint: str,
    prog: Any = None,
    limit: int | None = None,
    workers: int = 1,
    parts: int | None = None,
    executor: str = "local",
    ray_address: str | None = None,
    progress: bool = False,
    known: Callable[[str], bool] | None = None,
    near: NearDup | None = None,
) -> dict[str, Any]:
    """Parse ``importer``'s source (in parallel when asked and the importer can be sharded) and store its
    records in ``graph``; returns the import stats (``parse_s``/``parallel`` when parallel). ``near``: drop
    near-duplicate texts too (``--dedup near``), checked in this process on the merged stream."""
    t0 = time.perf_counter()
    parallel = (workers > 1 or (parts or 1) > 1) and importer.supports_sharding
    if (workers > 1 or (parts or 1) > 1) and not parallel:
        log.info("the %s importer reads its source in one process (--workers ignored)", importer.name)
    records, source_stats, run = None, None, None
    if parallel:
        records, source_stats, run = run_parts(
            importer.source,
            importer.name,
            out=out,
            fingerprint=fingerprint,
            workers=workers,
            parts=parts,
            executor=executor,
            ray_address=ray_address,
            skip_bad=importer.skip_bad,
            progress=progress,
            near=near is not None,
        )
        run["parse_s"] = round(time.perf_counter() - t0, 2)
    bar = _Bar(prog, f"import {importer.name}" + (" (merge)" if parallel else ""))
    stats = _import(graph, importer, bar, limit, records=records, source_stats=source_stats, known=known, near=near)
    if run:
        stats["parallel"] = run
    bar.done()
    return stats


def _build_index(graph: WebGraph, out: Path, bar: _Bar) -> dict[str, Any]:

    target = out / INDEX_DIR
    if target.exists():
        shutil.rmtree(target)
    t0 = time.perf_counter()

    def docs() -> Iterator[tuple[str, str, str, str]]:
        for page in graph.iter_pages():
            bar()
            yield page.url, page.title, page.text, str(page.metadata.get("docid") or "")

    index = SearchIndex.build(target, docs(), progress=False, total=len(graph))
    return {
        "status": "built",
        "path": INDEX_DIR,
        "docs": len(index),
        "docids": index.meta.get("docids", 0),
        "seconds": round(time.perf_counter() - t0, 2),
    }


def _build_options(derive_links: bool | None, limit: int | None, dedup: str) -> dict[str, Any]:
    """The options that change the graph, part of the fingerprint (``dedup`` only when not the default, so
    webs built before ``--dedup`` existed stay up to date)."""

    if limit is not None and limit <= 0:
        raise UserError(f"--limit must be positive, got {limit}")
    options: dict[str, Any] = {"derive_links": derive_links, "limit": limit}
    if check_mode(dedup) != "exact":
        options["dedup"] = dedup
    return options


def _start_graph(
    graph: WebGraph,
    source: str | Path,
    importer: Importer,
    fingerprint: str,
    corpus_fp: str,
    options: dict[str, Any],
    keep_unresolved: bool,
) -> None:
    graph.set_meta("source", str(source))
    graph.set_meta("format", importer.name)
    graph.set_meta("fingerprint", fingerprint)
    graph.set_meta("corpus_fingerprint", corpus_fp)
    graph.set_meta("options", options)
    graph.set_meta("status", "importing")
    graph.set_meta("keep_unresolved", keep_unresolved)


def _link(
    graph: WebGraph, import_stats: dict[str, Any], prog: Any, derive_links: bool | None, keep_unresolved: bool
) -> dict[str, Any]:
    """Resolve the stored hyperlinks, derive title-mention links when asked (or when there are none), degrees."""
    link_stats: dict[str, Any] = {"resolved": graph.resolve_links(keep_unresolved)}
    should_derive = derive_links if derive_links is not None else import_stats["links"] == 0
    if should_derive:
        bar = _Bar(prog, "derive links", total=len(graph))
        link_stats["derived"] = derive_title_links(graph, progress=bar)
    graph.compute_degrees()
    return link_stats


def _build_graph(
    graph: WebGraph,
    importer: Importer,
    source: str | Path,
    out: Path,
    prog: Any,
    timings: dict[str, float],
    *,
    options: dict[str, Any],
    keep_unresolved: bool,
    **import_kw: Any,
) -> None:
    """Import (``importing``) then link (``linking``); leaves the graph at ``indexing`` with the stats in meta."""
    near = NearDup() if options.get("dedup") == "near" else None  # a build imports from the start: empty index
    t0 = time.perf_counter()
    import_stats = import_source(graph, importer, out=out, prog=prog, limit=options["limit"], near=near, **import_kw)
    timings["import"] = round(time.perf_counter() - t0, 2)
    if import_stats["imported"] == 0:
        raise UserError(f"{source}: no pages could be imported ({import_stats['skipped']} skipped)")
    graph.set_meta("import", import_stats)
    graph.set_meta("status", "linking")
    t0 = time.perf_counter()
    graph.set_meta("links", _link(graph, import_stats, prog, options["derive_links"], keep_unresolved))
    timings["links"] = round(time.perf_counter() - t0, 2)
    graph.set_meta("status", "indexing")


def _web_info(
    graph: WebGraph,
    source: str | Path,
    importer: Importer,
    fingerprint: str,
    options: dict[str, Any],
    index_stats: dict[str, Any],
    timings: dict[str, float],
    t_start: float,
    resumed: bool,
) -> dict[str, Any]:
    """The ``web.json`` content."""
    meta = graph.meta()
    return {
        "kind": "web",
        "schema_version": 1,
        "source": str(source),
        "format": importer.name,
        "source_info": importer.describe(),
        "fingerprint": fingerprint,
        "options": options,
        "status": "complete" if index_stats["status"] == "built" else "indexing",
        "import": meta.get("import", {}),
        "links": meta.get("links", {}),
        "degree_stats": graph.degree_stats(),
        "index": index_stats,
        "versions": _versions(),
        "timings_s": timings,
        "build_seconds": round(time.perf_counter() - t_start, 2),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "resumed": resumed,
        "up_to_date": False,
    }


def _up_to_date(out: Path, source: str | Path) -> dict[str, Any]:
    info = json.loads((out / INFO_FILE).read_text(encoding="utf-8"))
    info["up_to_date"] = True
    log.info("%s is up to date (built from %s)", out, source)
    return info


def write_info(out: Path, info: dict[str, Any]) -> None:
    """Write ``web.json`` atomically (a temporary file renamed over it)."""
    tmp = out / (INFO_FILE + ".tmp")
    tmp.write_text(json.dumps(info, indent=2, ensure_ascii=False), encoding="utf-8")
    tmp.replace(out / INFO_FILE)


def build_web(
    source: str | Path,
    out: str | Path,
    *,
    skip_bad: bool = False,
    force: bool = False,
    progress: bool = True,
    derive_links: bool | None = None,
    limit: int | None = None,
    workers: int = 1,
    parts: int | None = None,
    executor: str = "local",
    ray_address: str | None = None,
    keep_unresolved: bool = False,
    dedup: str = "exact",
) -> dict[str, Any]:
    """Build a local web from SOURCE into directory OUT and return its stats (also written to ``web.json``).

    Args:
        source: ``wiki-offline[:en|es|fr]`` or a path (.jsonl, .xml, .xml.bz2, .zim, .html directory, multihop
            .json); the format is detected.
        out: the web directory.
        skip_bad: count and skip malformed records instead of stopping at the first one.
        force: replace a web of another corpus (or a complete one) in OUT.
        progress: show rich progress bars on stderr.
        derive_links: add links from title mentions; ``None`` = only when the source has no hyperlinks.
        limit: import only the first ``limit`` pages (a quick look at a big dump).
        workers: parse with this many workers (``openseeker.web.parallel``); the graph is the same as with 1.
        parts: shards of the source (default: one per worker; more balance a Ray cluster).
        executor: ``local`` (processes on this machine) or ``ray``; ``ray_address`` an existing Ray cluster.
        keep_unresolved: keep links to pages not (yet) in the web, so that ``web add`` links old pages to the
            pages it adds (costs disk: a crawl's external links are most of its links).
        dedup: ``exact`` (the same url; for crawls also the same text) or ``near`` (also near-duplicate text:
            MinHash + LSH, ``openseeker.web.neardup``; needs the ``dedup`` extra).

    Returns:
        The ``web.json`` content; ``up_to_date`` is True when nothing had to be done.
    """
    with hold_output(Path(out), what=f"the web {out}"):
        t_start = time.perf_counter()
        importer = get_importer(source, skip_bad=skip_bad)
        options = _build_options(derive_links, limit, dedup)
        corpus_fp = importer.fingerprint()
        fingerprint = hashlib.sha256(json.dumps([corpus_fp, options, STORE_VERSION]).encode()).hexdigest()[:24]
        out = Path(out)
        plan = _plan(out, fingerprint, str(source), force, corpus_fp, options)
        if plan == "up_to_date":
            return _up_to_date(out, source)
        out.mkdir(parents=True, exist_ok=True)
        timings: dict[str, float] = {}
        with WebGraph(out / GRAPH_FILE) as graph, _progress(progress) as prog:
            if plan != "index":
                log.info("building %s from %s (%s)", out, source, importer.name)
                _start_graph(graph, source, importer, fingerprint, corpus_fp, options, keep_unresolved)
                _build_graph(
                    graph,
                    importer,
                    source,
                    out,
                    prog,
                    timings,
                    options=options,
                    keep_unresolved=keep_unresolved,
                    fingerprint=fingerprint,
                    workers=workers,
                    parts=parts,
                    executor=executor,
                    ray_address=ray_address,
                    progress=progress,
                )
            else:
                log.info("%s: the graph is complete; resuming at the search index", out)
            t0 = time.perf_counter()
            index_stats = _build_index(graph, out, _Bar(prog, "index", total=len(graph)))
            timings["index"] = round(time.perf_counter() - t0, 2)
            info = _web_info(
                graph, source, importer, fingerprint, options, index_stats, timings, t_start, resumed=plan == "index"
            )
            graph.set_meta("status", info["status"])
            graph.checkpoint()
        if info["status"] == "complete":
            shutil.rmtree(out / PARTS_DIR, ignore_errors=True)
        write_info(out, info)
        return info
