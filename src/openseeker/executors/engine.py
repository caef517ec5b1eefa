"""The one async engine every executor runs per rank: bounded concurrency, group-commit writes off the event loop,
the ``.failed`` sidecar, counters; plus the parent's side: what is pending, the merge, the summary.

Why group commit: an fsync costs milliseconds, far more than the CPU of one agent step, so every record that
finished while the previous fsync ran goes out with the next one, from a single writer thread (the event loop
never blocks on the disk). A record is on disk before it counts as done; on Ctrl-C the writes in progress are
finished (never a torn line), on SIGKILL at most the last line is torn and the next open cuts it off.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from openseeker.errors import OutputError, UserError
from openseeker.executors.base import (
    Outcome,
    ShardResult,
    Stage,
    atomic_write_json,
    completion_marker,
    plan_digest,
    progress_path,
    rank_lock_path,
    shard_failed_path,
    shard_of,
    shard_stream_path,
    stats_path,
)
from openseeker.io import ResumableWriter, _dump
from openseeker.outlock import hold_all

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 0.5


def add_stats(into: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
    """Add counters: numbers add, dicts add per key (recursively), lists extend; other values: the last wins."""
    for k, v in (more or {}).items():
        if isinstance(v, bool) or not isinstance(v, (int, float, dict, list)):
            into[k] = v
        elif isinstance(v, dict):
            add_stats(into.setdefault(k, {}), v)
        elif isinstance(v, list):
            into.setdefault(k, []).extend(v)
        else:
            into[k] = into.get(k, 0) + v
    return into


# --------------------------------------------------------------------------- one writer per output


@contextmanager
def run_locks(stage: Stage, world_size: int, rank: int | None = None) -> Iterator[None]:
    """The locks a run holds from before it reads what is done until after its merge (``openseeker.outlock``):
    the output's, and with several ranks every rank's shard too, so that a ``--rank`` task of a job array (which
    holds only its own rank's) and the plain command that merges never run on one shard at the same time."""
    locks: list[tuple[Path, Path | None, str | None]]
    if rank is not None:
        locks = [(stage.output, rank_lock_path(stage.shard_dir, rank), f"rank {rank} of {stage.output}")]
    else:
        locks = [(stage.output, None, None)]
        if world_size > 1:
            locks += [
                (stage.output, rank_lock_path(stage.shard_dir, r), f"rank {r} of {stage.output}")
                for r in range(world_size)
            ]
    with hold_all(locks):
        for stream in stage.streams.values():  # before any work, not when the first record (or the merge) fails
            if stream.path.exists() and not os.access(stream.path, os.W_OK):
                raise UserError(f"{stream.path} is read-only: make it writable, or choose another --out")
        yield


# --------------------------------------------------------------------------- where a rank writes


def stream_paths(stage: Stage, rank: int, world_size: int) -> dict[str, Path]:
    if world_size <= 1:
        return {name: s.path for name, s in stage.streams.items()}
    return {name: shard_stream_path(stage.shard_dir, name, rank) for name in stage.streams}


def failed_sidecar(stage: Stage, rank: int, world_size: int) -> Path:
    return stage.failed_path if world_size <= 1 else shard_failed_path(stage.shard_dir, rank)


def read_keys(path: Path, key: str) -> set[str]:
    """Keys present in a JSONL file, read-only (a torn last line is ignored; the writer repairs it on open)."""
    keys: set[str] = set()
    if not path.exists():
        return keys
    with path.open("rb") as fh:
        for raw in fh:
            try:
                obj = json.loads(raw)
            except ValueError:
                continue
            if isinstance(obj, dict):
                keys.add(str(obj.get(key)))
    return keys


def done_ids(stage: Stage, world_size: int) -> set[str]:
    """Ids done in the final files and in every shard of a ``world_size`` run."""
    done: set[str] = set()
    for name, s in stage.streams.items():
        if not s.marks_done:
            continue
        done |= read_keys(s.path, s.key)
        if world_size > 1:
            for r in range(world_size):
                done |= read_keys(shard_stream_path(stage.shard_dir, name, r), s.key)
    return done


def plan(stage: Stage, items: list[Any], world_size: int, limit: int | None) -> tuple[list[list[Any]], int]:
    """Split the pending items into ``world_size`` ranks (stable by id); returns ``(per_rank, skipped)``."""
    done = done_ids(stage, world_size)
    pending = [it for it in items if stage.item_id(it) not in done]
    skipped = len(items) - len(pending)
    if limit is not None:
        pending = pending[: max(limit, 0)]
    ranks: list[list[Any]] = [[] for _ in range(world_size)]
    for it in pending:
        ranks[shard_of(stage.item_id(it), world_size)].append(it)
    return ranks, skipped


# --------------------------------------------------------------------------- one rank


async def run_shard(
    stage: Stage,
    items: list[Any],
    *,
    rank: int = 0,
    world_size: int = 1,
    concurrency: int = 8,
    on_progress: Callable[[ShardResult], None] | None = None,
) -> ShardResult:
    """Process ``items`` (this rank's share) with ``concurrency`` in flight; write every stream resumably.

    Items whose id is already in the rank's outputs are skipped. Returns the rank's counters; with
    ``world_size > 1`` also writes ``stats/{rank:05d}.json``, progress, and ``completions/{rank:05d}`` when done.
    """
    t0 = time.perf_counter()
    res = ShardResult(rank=rank, world_size=world_size, assigned=len(items))
    paths = stream_paths(stage, rank, world_size)
    sharded = world_size > 1
    if sharded:  # a marker from an earlier plan (another --limit) must not count for this one
        completion_marker(stage.shard_dir, rank).unlink(missing_ok=True)
    writers = {name: ResumableWriter(paths[name], key=s.key) for name, s in stage.streams.items()}
    try:
        done = set().union(*(writers[n].done for n, s in stage.streams.items() if s.marks_done))
        todo = [it for it in items if stage.item_id(it) not in done]
        res.skipped = len(items) - len(todo)
        sidecar = failed_sidecar(stage, rank, world_size)
        await _drive(stage, todo, writers, sidecar, res, concurrency, on_progress, sharded)
    finally:
        for w in writers.values():
            w.close()
        res.wall_s = round(time.perf_counter() - t0, 3)
    res.complete = (
        not res.interrupted and not res.failed and (res.done + res.skipped == res.assigned or stage.should_stop())
    )
    if sharded:
        atomic_write_json(stats_path(stage.shard_dir, rank), res.to_dict())
        if res.complete:
            marker = completion_marker(stage.shard_dir, rank)
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(plan_digest([stage.item_id(it) for it in items]), encoding="utf-8")
    return res


class _Flusher:
    """Writes finished outcomes in batches on one writer thread (serial, off the loop), then accounts for them in
    the rank's counters on the loop: a record is counted only once it is on disk."""

    def __init__(
        self,
        stage: Stage,
        writers: dict[str, ResumableWriter],
        sidecar: Path,
        res: ShardResult,
        on_progress: Callable[[ShardResult], None] | None,
        sharded: bool,
    ):
        self.stage, self.writers, self.sidecar, self.res = stage, writers, sidecar, res
        self.on_progress, self.sharded = on_progress, sharded
        self.io_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{stage.name}-writer")
        self.loop = asyncio.get_running_loop()
        self.finished: list[Outcome] = []  # done, not yet on disk
        self.wake = asyncio.Event()
        self.closing = False
        self.last_progress = 0.0
        self.order = list(stage.streams)

    def add(self, outcome: Outcome) -> None:
        self.finished.append(outcome)
        self.wake.set()

    def _take(self) -> list[Outcome]:
        batch = self.finished[:]
        self.finished.clear()
        return batch

    def commit(self, batch: list[Outcome]) -> None:  # runs on the writer thread
        for name in self.order:
            rows = [r for o in batch for r in o.records.get(name, ())]
            if rows:
                self.writers[name].write_many(rows)
        fails = [o.failed for o in batch if o.failed is not None]
        if fails:
            try:
                self.sidecar.parent.mkdir(parents=True, exist_ok=True)
                with self.sidecar.open("a", encoding="utf-8") as fh:
                    fh.write("".join(_dump(f) + "\n" for f in fails))
            except OSError as exc:
                raise OutputError(f"{self.sidecar}: cannot write ({exc.strerror or exc})") from None

    def account(self, batch: list[Outcome]) -> None:  # on the loop, after the batch is on disk
        res = self.res
        for o in batch:
            if o.failed is not None:
                res.failed += 1
                if o.error and res.first_error is None:
                    res.first_error = o.error
                fid = self.stage.failed_id(o.failed)
                if fid is not None:
                    res.failed_ids.append(fid)
            elif o.records:
                res.done += 1
            add_stats(res.stats, o.stats)
        if self.on_progress is not None:
            self.on_progress(res)
        if self.sharded and time.monotonic() - self.last_progress > PROGRESS_EVERY_S:
            self.last_progress = time.monotonic()
            _write_progress(self.stage, res)

    async def run(self) -> None:
        while True:
            if not self.finished:
                if self.closing:
                    return
                await self.wake.wait()
                self.wake.clear()
                continue
            batch = self._take()
            # shielded: a cancel (Ctrl-C tears every task down) must not drop a batch queued to the writer thread;
            # the thread finishes it and io_pool.shutdown(wait=True) in close() waits for it
            await asyncio.shield(self.loop.run_in_executor(self.io_pool, self.commit, batch))
            self.account(batch)

    async def close(self, task: asyncio.Task) -> None:
        """Write what already finished (also on Ctrl-C), then stop the writer ``task`` (the one running ``run``)."""
        self.closing = True
        self.wake.set()
        try:
            await task
        finally:
            if self.finished:  # the writer task was cancelled or died: last chance, after what it queued (same thread)
                batch = self._take()
                self.io_pool.submit(self.commit, batch).result()
                self.account(batch)
            self.io_pool.shutdown(wait=True)  # finish the write in progress: never a torn line on Ctrl-C
            if self.sharded:
                _write_progress(self.stage, self.res)


async def _drive(
    stage: Stage,
    todo: list[Any],
    writers: dict[str, ResumableWriter],
    sidecar: Path,
    res: ShardResult,
    concurrency: int,
    on_progress: Callable[[ShardResult], None] | None,
    sharded: bool,
) -> None:
    flusher = _Flusher(stage, writers, sidecar, res, on_progress, sharded)
    flush_task = asyncio.create_task(flusher.run())
    queue = iter(todo)

    async def worker() -> None:
        for item in queue:
            if flush_task.done():  # the writer failed (disk full, ...): stop, and surface its error
                flush_task.result()
                return
            if stage.should_stop():
                return
            outcome = await stage.process(item)
            if outcome.records or outcome.failed is not None or outcome.stats:
                flusher.add(outcome)

    workers = [asyncio.create_task(worker()) for _ in range(min(concurrency, len(todo)))]
    try:
        if workers:
            await asyncio.gather(*workers)
    except BaseException:
        res.interrupted = True
        for w in workers:
            w.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        raise
    finally:
        await flusher.close(flush_task)
        try:
            add_stats(res.stats, stage.worker_stats())
            res.info = dict(stage.worker_info())
        except Exception as exc:  # noqa: BLE001 - extras of the summary must not mask the run's own error
            log.debug("worker stats: %s", exc)


def _write_progress(stage: Stage, res: ShardResult) -> None:
    try:
        atomic_write_json(
            progress_path(stage.shard_dir, res.rank),
            {
                "pid": os.getpid(),
                "assigned": res.assigned,
                "skipped": res.skipped,
                "done": res.done,
                "failed": res.failed,
                "stats": res.stats,
                "t": time.time(),
            },
        )
    except OSError as exc:  # progress is cosmetic
        log.debug("progress file: %s", exc)


# --------------------------------------------------------------------------- the parent: merge and summary


def merge_shards(stage: Stage, items: Iterable[Any], world_size: int) -> dict[str, int]:
    """Append every shard's records to the user's files in input order (deterministic whichever backend ran),
    then the ``.failed`` sidecars, then remove the shard dir. Called once no rank runs any more, whatever stopped
    them (all done, items failing, a rank killed, an interrupt): what finished is never held back by what did
    not. Safe to re-run after a crash mid-merge: keys already in a final file are not appended again. Returns
    records appended per stream."""
    try:
        return _merge_shards(stage, items, world_size)
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        raise OutputError(
            f"merging the shards of {stage.shard_dir} into {stage.output} failed:{where} {exc.strerror or exc}; "
            "the shards are kept: re-run the same command once it is fixed"
        ) from None


def _merge_shards(stage: Stage, items: Iterable[Any], world_size: int) -> dict[str, int]:
    order = {stage.item_id(it): i for i, it in enumerate(items)}
    appended: dict[str, int] = {}
    for name, s in stage.streams.items():
        present = read_keys(s.path, s.key)
        index: list[tuple[int, str, Path, int, int]] = []
        for r in range(world_size):
            p = shard_stream_path(stage.shard_dir, name, r)
            if not p.exists():
                continue
            with p.open("rb") as fh:
                off = 0
                for raw in fh:
                    n = len(raw)
                    try:
                        obj = json.loads(raw)
                    except ValueError:
                        off += n
                        continue
                    key = str(obj.get(s.key))
                    if key not in present and raw.endswith(b"\n"):
                        present.add(key)
                        pos = order.get(stage.item_id_of_record(name, obj), len(order))
                        index.append((pos, key, p, off, n))
                    off += n
        index.sort(key=lambda t: (t[0], t[1]))
        s.path.parent.mkdir(parents=True, exist_ok=True)
        handles: dict[Path, Any] = {}
        try:
            # ResumableWriter repairs a torn last line of the final file before we append
            ResumableWriter(s.path, key=s.key).close()
            with s.path.open("ab") as out:
                for _, _, p, off, n in index:
                    fh = handles.get(p) or handles.setdefault(p, p.open("rb"))
                    fh.seek(off)
                    out.write(fh.read(n))
                out.flush()
                os.fsync(out.fileno())
        finally:
            for fh in handles.values():
                fh.close()
        appended[name] = len(index)
    fails = [shard_failed_path(stage.shard_dir, r) for r in range(world_size)]
    fails = [p for p in fails if p.exists() and p.stat().st_size]
    if fails:
        with stage.failed_path.open("ab") as out:
            for p in fails:
                out.write(p.read_bytes())
    shutil.rmtree(stage.shard_dir, ignore_errors=True)
    return appended


def compact_failed(stage: Stage) -> int:
    """Keep the ``.failed`` sidecar equal to the items still failing: one line per id (its latest failure), none
    for an id done since; removed when nothing fails. Returns the ids left in it."""
    path = stage.failed_path
    if not path.exists():
        return 0
    done = done_ids(stage, 1)
    latest: dict[str, bytes] = {}
    with path.open("rb") as fh:
        for raw in fh:
            try:
                obj = json.loads(raw)
            except ValueError:
                continue  # a torn line of a killed run
            fid = stage.failed_id(obj)
            if fid is None:
                continue
            latest.pop(fid, None)  # the latest failure of an id, in the order of the latest failures
            latest[fid] = raw if raw.endswith(b"\n") else raw + b"\n"
    keep = [raw for fid, raw in latest.items() if fid not in done]
    try:
        if not keep:
            path.unlink()
            return 0
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(b"".join(keep))
        os.replace(tmp, path)
    except OSError as exc:  # a stale line is harmless (the id is retried or skipped as done): never fail a run on it
        log.warning("could not tidy %s: %s", path, exc)
    return len(keep)


def summarize(
    results: list[ShardResult], *, total: int, skipped: int, wall_s: float, workers: int, backend: str
) -> dict[str, Any]:
    """The run's counters, added over ranks (the stage turns them into its own summary)."""
    stats: dict[str, Any] = {}
    failed_ids: list[str] = []
    first_error = None
    info: dict[str, Any] = {}
    for r in sorted(results, key=lambda r: r.rank):
        add_stats(stats, r.stats)
        info = info or r.info
        failed_ids += r.failed_ids
        first_error = first_error or r.first_error
    done = sum(r.done for r in results)
    skipped += sum(r.skipped for r in results)
    return {
        "total": total,
        "done": done,
        "skipped": skipped,
        "pending": total - skipped - done,
        "interrupted": any(r.interrupted for r in results),
        "failed": sum(r.failed for r in results),
        "failed_ids": failed_ids,
        "failed_first_error": first_error,
        "complete": all(r.complete for r in results),
        "wall_s": round(wall_s, 3),
        "items_per_s": round(done / wall_s, 3) if wall_s > 0 else 0.0,
        "workers": workers,
        "executor": backend,
        "stats": stats,
        "info": info,
        "rank_wall_s": [r.wall_s for r in sorted(results, key=lambda r: r.rank)],
    }
