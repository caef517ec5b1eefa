"""Parallel import: N workers parse shards of one source, one sequential pass merges them into the graph.

How (on the one executor of ``openseeker.executors``, local processes or Ray):

* **Shards.** The source is split into ``parts`` shards (default: one per worker). Part ``p`` of ``P`` parses
  the items ``i`` with ``i % P == p`` (``Importer.mine``), where an item is what the format has many of: a
  ``<page>`` of a dump, a record of a WARC file, an entry of a ZIM, a file of an HTML folder, a line of a JSONL
  file. Skipping an item is cheap (it is read, not parsed); parsing is what is split.
* **Stage.** Each part is one item of an executor ``Stage``: the worker streams the part's records to
  ``<web>/import-parts/<fingerprint>/part-PPPPP-of-QQQQQ.jsonl`` (written to a temporary name, renamed when the
  part is complete) and reports it in the stage's stream (``parts.jsonl``). The executor's completion markers
  and resume make a killed run redo only the unfinished parts.
* **Merge.** The part files are merged by item number (``heapq.merge``): the exact record stream a one-worker
  import yields, so the graph is the same (pages, links, ids) with 1 or N workers. Dedup, link resolution and
  the index run once, in the parent, on that stream (``build._import``). With ``--dedup near`` the workers also
  compute each page's MinHash signature (a function of the text alone, ``NearDup.signature``) and write it with
  the page, so the costly part runs in parallel and the parent only checks it, in item order.

Part files are kept until the build completes (a kill during the merge re-merges from them, no re-parse).
"""

from __future__ import annotations

import heapq
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openseeker.errors import InputError, UserError
from openseeker.executors import Outcome, Stage, Stream, get_executor, shard_of
from openseeker.executors.engine import add_stats
from openseeker.records import Link, Page
from openseeker.web.importers import Redirect, get_importer
from openseeker.web.neardup import KeyedPage, NearDup

if TYPE_CHECKING:
    from openseeker.web.neardup import NearDup

log = logging.getLogger(__name__)

PARTS_DIR = "import-parts"  # the parsed parts of a parallel import, under the web directory

_PAGE_FIELDS = ("url", "title", "text", "description", "lang", "topic", "source", "metadata")


def part_id(part: int, parts: int, world_size: int) -> str:
    """An id for part ``part`` that the executor's hash sharding (``shard_of``) assigns to rank ``part % world``:
    the executor shards items by a stable hash of their id, which with as many items as ranks would leave some
    ranks idle; a short deterministic suffix is searched so that part ``p`` lands on rank ``p % world``."""
    base = f"part-{part:05d}-of-{parts:05d}"
    want = part % world_size
    for k in range(10_000):
        pid = f"{base}~{k}"
        if shard_of(pid, world_size) == want:
            return pid
    return base  # pragma: no cover - 10k tries always find one for any sane world size


def _encode(seq: Any, rec: Page | Link | Redirect, near: NearDup | None = None) -> str:
    if isinstance(rec, Page):
        row = [seq, "p", [getattr(rec, f) for f in _PAGE_FIELDS]]
        if near is not None:
            row.append(near.signature(rec.text).tolist())
    elif isinstance(rec, Link):
        row = [seq, "l", [rec.src, rec.dst, rec.anchor]]
    else:
        row = [seq, "r", [rec.title, rec.target]]
    return json.dumps(row, ensure_ascii=False)


def _decode(line: str) -> tuple[Any, Page | KeyedPage | Link | Redirect]:
    seq, kind, v, *sig = json.loads(line)
    if kind == "p":
        page = Page.model_construct(**dict(zip(_PAGE_FIELDS, v)))
        return seq, (KeyedPage(page, sig[0]) if sig else page)
    if kind == "l":
        return seq, Link.model_construct(src=v[0], dst=v[1], anchor=v[2])
    return seq, Redirect(title=v[0], target=v[1])


class ImportStage(Stage):
    """One executor item = one part of the source; the worker writes the part file and reports it."""

    name = "web-import"

    def __init__(self, source: str, fmt: str, skip_bad: bool, parts_dir: Path, near: bool = False):
        self.source, self.fmt, self.skip_bad, self.parts_dir = source, fmt, skip_bad, Path(parts_dir)
        self.near = near  # --dedup near: write each page's MinHash signature with it

    @property
    def streams(self) -> dict[str, Stream]:
        return {"parts": Stream(self.parts_dir / "parts.jsonl", key="id")}

    def item_id(self, item: Any) -> str:
        return item["id"]

    @asynccontextmanager
    async def open(self) -> AsyncIterator[ImportStage]:
        yield self

    def progress_text(self, stats: dict[str, Any]) -> str:
        return f"pages {stats.get('pages', 0)}"

    async def process(self, item: Any) -> Outcome:
        part, parts = item["part"], item["parts"]
        importer = get_importer(self.source, skip_bad=self.skip_bad, fmt=self.fmt).shard(part, parts)
        final = self.parts_dir / f"part-{part:05d}-of-{parts:05d}.jsonl"
        tmp = final.with_name(final.name + ".tmp")
        n, cpu0 = 0, time.process_time()
        near = None
        if self.near:
            near = NearDup()
        try:
            with tmp.open("w", encoding="utf-8") as fh:
                for rec in importer:
                    fh.write(_encode(importer.seq, rec, near) + "\n")
                    n += 1
        except InputError as exc:  # a bad record without --skip-bad: the run fails with its message, not a crash
            tmp.unlink(missing_ok=True)
            return Outcome(failed={"id": item["id"], "error": str(exc)}, error=str(exc))
        os.replace(tmp, final)
        stats = importer.stats.as_dict()
        cpu = round(time.process_time() - cpu0, 3)
        return Outcome(
            records={"parts": [{"id": item["id"], "file": final.name, "records": n, "stats": stats, "cpu_s": cpu}]},
            stats={"pages": stats["pages"], "links": stats["links"]},
        )


def parts_dir_for(out: Path, fingerprint: str) -> Path:
    return Path(out) / PARTS_DIR / fingerprint


def run_parts(
    source: str,
    fmt: str,
    *,
    out: Path,
    fingerprint: str,
    workers: int,
    parts: int | None = None,
    executor: str = "local",
    ray_address: str | None = None,
    skip_bad: bool = False,
    progress: bool = True,
    near: bool = False,
) -> tuple[Iterator[Page | KeyedPage | Link | Redirect], dict[str, Any], dict[str, Any]]:
    """Parse SOURCE in ``parts`` shards on ``workers`` workers; returns ``(merged records, import stats, run
    summary)``. Parts finished by an earlier (interrupted) run are not parsed again. ``near``: pages come with
    their signatures (``KeyedPage``; parts parsed without them, by an earlier run, give plain pages)."""
    parts = parts or workers
    pdir = parts_dir_for(out, fingerprint)
    pdir.mkdir(parents=True, exist_ok=True)
    stage = ImportStage(source, fmt, skip_bad, pdir, near=near)
    items = [{"id": part_id(p, parts, workers), "part": p, "parts": parts} for p in range(parts)]
    summary = get_executor(executor, workers=workers, ray_address=ray_address, concurrency=1, progress=progress).run(
        stage, items
    )
    if summary.get("failed"):
        raise UserError(summary.get("failed_first_error") or "a part of the import failed")
    done = {}
    with (pdir / "parts.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            obj = json.loads(line)
            done[obj["id"]] = obj
    missing = [it["id"] for it in items if it["id"] not in done]
    if missing:
        raise UserError(
            f"import interrupted: {len(missing)} of {parts} parts unfinished; re-run the same command "
            "to finish them (finished parts are kept)"
        )
    stats: dict[str, Any] = {}
    for it in items:
        add_stats(stats, done[it["id"]]["stats"])
    files = [pdir / done[it["id"]]["file"] for it in items]
    summary = {k: summary.get(k) for k in ("workers", "executor", "wall_s", "done", "skipped")}
    summary["parts"] = parts
    summary["part_cpu_s"] = [done[it["id"]].get("cpu_s") for it in items]  # parse CPU of each part
    return merge_parts(files), stats, summary


def merge_parts(files: list[Path]) -> Iterator[Page | KeyedPage | Link | Redirect]:
    """The records of every part in item order (each part file is in increasing item order)."""

    def read(path: Path) -> Iterator[tuple[Any, Page | KeyedPage | Link | Redirect]]:
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                yield _decode(line)

    for _seq, rec in heapq.merge(*(read(f) for f in files), key=lambda t: t[0]):
        yield rec
