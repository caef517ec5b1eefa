"""``LocalExecutor``: one worker in this process, or N worker processes on this machine (``--workers N``).

Worker processes are *spawned* (not forked: the parent may hold an event loop, threads and open sockets), each
runs ``asyncio.run`` of the same ``engine.run_shard`` on its rank.

Supervision (``openseeker.executors.supervise``): a worker dies with its parent (a parent killed by SIGKILL would
otherwise leave its workers calling the endpoint, racing the re-run and paying twice), and SIGINT/SIGTERM to the
parent stop every worker, which write what finished and exit; the parent then merges what finished into the
user's files and raises ``Interrupted`` (the CLI exits 130/143). A worker that dies (SIGKILL, OOM) makes the run
fail with a one-line error, after the merge of what every rank finished; re-running the same command does the
rest.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import pickle
import signal
import time
from typing import Any

from openseeker.errors import Interrupted, LLMError, OpenSeekerError, UserError
from openseeker.executors.base import Executor, ShardResult, Stage, atomic_write_json, rank_error_path, stats_path
from openseeker.executors.engine import compact_failed, merge_shards, plan, run_locks, run_shard, summarize
from openseeker.executors.progress import RunProgress
from openseeker.executors.supervise import die_with_parent, stop_signals, stopping_on_sigterm, wait_for_exit

log = logging.getLogger(__name__)


async def open_and_run(
    stage: Stage, items: list[Any], rank: int, world_size: int, concurrency: int, on_progress: Any = None
) -> ShardResult:
    """What every worker (in-process, spawned process, Ray task) runs: open the stage's resources, run the rank."""
    if world_size > 1 and not items:  # nothing pending: complete without opening an LLM pool or a web
        return await run_shard(stage, items, rank=rank, world_size=world_size, concurrency=concurrency)
    async with stage.open() as ready:
        return await run_shard(
            ready, items, rank=rank, world_size=world_size, concurrency=concurrency, on_progress=on_progress
        )


def rank_main(blob: bytes, items: list[Any], rank: int, world_size: int, concurrency: int) -> dict[str, Any]:
    """Entry point of a Ray task: unpickle the stage and run one rank to the end."""
    stage = pickle.loads(blob)
    return asyncio.run(open_and_run(stage, items, rank, world_size, concurrency)).to_dict()


def _process_main(
    blob: bytes, items: list[Any], rank: int, world_size: int, concurrency: int, log_level: int, parent: int
) -> None:
    """Entry point of a worker process: die with the parent, stop cleanly on SIGINT/SIGTERM (what finished is
    written, the exit code says which signal), else run the rank to the end."""
    die_with_parent(parent)
    logging.basicConfig(level=log_level, format=f"[rank {rank}] %(levelname)s %(name)s: %(message)s")
    stage = pickle.loads(blob)
    try:
        asyncio.run(stopping_on_sigterm(open_and_run(stage, items, rank, world_size, concurrency)))
    except KeyboardInterrupt as exc:  # Interrupted (SIGTERM) is one
        raise SystemExit(128 + getattr(exc, "signum", signal.SIGINT)) from None
    except Exception as exc:  # noqa: BLE001 - reported by the parent in one line (no traceback per rank)
        if os.environ.get("OPENSEEKER_DEBUG"):
            raise
        kind = "user" if isinstance(exc, UserError) else "run" if isinstance(exc, OpenSeekerError) else "internal"
        text = str(exc) if kind != "internal" else f"internal error: {type(exc).__name__}: {exc}"
        try:
            atomic_write_json(rank_error_path(stage.shard_dir, rank), {"kind": kind, "error": text})
        except OSError:  # a full disk: the parent says "exit code 1"
            pass
        raise SystemExit(1) from None


def pickled(stage: Stage) -> bytes:
    try:
        return pickle.dumps(stage)
    except Exception as exc:  # noqa: BLE001 - which object is not picklable is in the message
        raise UserError(
            f"the {stage.name} stage cannot be sent to worker processes ({exc}): multi-worker runs "
            "need a stage built from settings (paths, configs), not from open objects"
        ) from None


class LocalExecutor(Executor):
    """Run a stage here: in this process for one worker, else ``workers`` spawned processes."""

    name = "local"

    def __init__(self, workers: int = 1, *, rank: int | None = None, **kw: Any):
        super().__init__(workers, **kw)
        if rank is not None and not 0 <= rank < workers:
            raise UserError(f"--rank must be in 0..{workers - 1} (--workers {workers})")
        self.rank = rank

    async def arun(self, stage: Stage, items: list[Any]) -> dict[str, Any]:
        with run_locks(stage, self.workers, self.rank):
            return await self._arun(stage, items)

    async def _arun(self, stage: Stage, items: list[Any]) -> dict[str, Any]:
        t0 = time.perf_counter()
        per_rank, skipped = plan(stage, items, self.workers, self.limit)
        bar = RunProgress(stage, sum(map(len, per_rank)), self.progress)

        def progress(r: ShardResult) -> None:
            bar.update(r.done, r.failed, r.stats)

        merged = None
        try:
            if self.rank is not None:  # one rank of a job array (Slurm): no merge; the plain command merges
                results = [
                    await open_and_run(
                        stage, per_rank[self.rank], self.rank, self.workers, self.concurrency, on_progress=progress
                    )
                ]
                return finish_run(
                    stage,
                    items,
                    results,
                    skipped=skipped,
                    t0=t0,
                    workers=self.workers,
                    backend=f"local rank {self.rank}",
                    merge=False,
                )
            if self.workers == 1:
                results = [await open_and_run(stage, per_rank[0], 0, 1, self.concurrency, on_progress=progress)]
            else:
                if any(per_rank):
                    exitcodes = await self._processes(stage, items, per_rank, bar)
                else:  # nothing pending (a re-run after everything finished): merge without spawning N processes
                    exitcodes = dict.fromkeys(range(self.workers), 0)
                    for r in range(self.workers):
                        await open_and_run(stage, [], r, self.workers, self.concurrency)
                results = read_stats(stage, self.workers)  # before the merge removes the shard dir
                errors = read_rank_errors(stage, self.workers)
                merged = merge_after_stop(stage, items, self.workers)
                raise_if_dead(stage, exitcodes, merged, errors)
        finally:
            bar.close()
        return finish_run(
            stage, items, results, skipped=skipped, t0=t0, workers=self.workers, backend=self.name, merged=merged
        )

    async def _processes(
        self, stage: Stage, items: list[Any], per_rank: list[list[Any]], bar: RunProgress
    ) -> dict[int, Any]:
        """Run the ranks as processes until they all exit; returns their exit codes. A SIGINT/SIGTERM to this
        process is passed on to the workers (they write what finished and exit); once they have all exited what
        they finished is merged and ``Interrupted`` is raised."""
        import multiprocessing as mp

        blob = pickled(stage)
        ctx = mp.get_context("spawn")
        level = logging.getLogger().getEffectiveLevel()
        procs = [
            ctx.Process(
                target=_process_main,
                args=(blob, its, r, self.workers, self.concurrency, level, os.getpid()),
                name=f"openseeker-{stage.name}-{r}",
            )
            for r, its in enumerate(per_rank)
        ]
        for p in procs:
            p.start()
        received: list[int] = []
        try:
            with stop_signals(received.append):
                while not received and any(p.is_alive() for p in procs):
                    bar.poll(self.workers)
                    await asyncio.sleep(0.2)
                await wait_for_exit(procs, received, poll=lambda: bar.poll(self.workers))
        except BaseException as exc:  # cancelled from outside (an error elsewhere, a KeyboardInterrupt of the loop)
            await asyncio.shield(wait_for_exit(procs, [signal.SIGTERM]))
            merged = merge_after_stop(stage, items, self.workers)
            if isinstance(exc, (KeyboardInterrupt, asyncio.CancelledError)):
                raise Interrupted(getattr(exc, "signum", signal.SIGINT), saved_text(stage, merged)) from None
            raise
        bar.poll(self.workers)
        if received:
            merged = merge_after_stop(stage, items, self.workers)
            raise Interrupted(received[0], saved_text(stage, merged))
        return {r: p.exitcode for r, p in enumerate(procs)}


def merge_after_stop(stage: Stage, items: list[Any], world_size: int) -> dict[str, int]:
    """Merge what every rank finished (no rank runs any more) and tidy the ``.failed`` sidecar."""
    merged = merge_shards(stage, items, world_size)
    compact_failed(stage)
    return merged


def saved_text(stage: Stage, merged: dict[str, int]) -> str:
    """``12 new record(s) saved in out.jsonl`` (the primary stream), for the interrupted / died messages."""
    first = next(iter(stage.streams))
    return f"{merged.get(first, 0)} new record(s) merged into {stage.output}"


def raise_if_dead(
    stage: Stage, exitcodes: dict[int, Any], merged: dict[str, int], errors: dict[int, dict[str, str]] | None = None
) -> None:
    """A rank that failed or died is one line: the rank's own error when it had one (a bad --web: ``UserError``,
    exit 2, when every failed rank says so), else how it died; then what was saved and how to resume."""
    errors = errors or {}
    dead = {r: c for r, c in exitcodes.items() if c not in (0, None)}
    if not dead:
        return
    if dead.keys() <= errors.keys() and all(errors[r]["kind"] == "user" for r in dead):
        raise UserError(errors[min(dead)]["error"])
    how = "; ".join(
        f"rank {r}: {errors[r]['error']}"
        if r in errors
        else f"rank {r} ({'killed by signal ' + str(-c) if isinstance(c, int) and c < 0 else 'exit code ' + str(c)})"
        for r, c in sorted(dead.items())
    )
    verb = "failed" if dead.keys() <= errors.keys() else "died"
    raise LLMError(f"worker(s) {verb}: {how}; {saved_text(stage, merged)}: re-run the same command to finish the rest")


def read_rank_errors(stage: Stage, world_size: int) -> dict[int, dict[str, str]]:
    """The one-line errors of the ranks that failed (``errors/{rank:05d}.json``)."""
    out = {}
    for r in range(world_size):
        p = rank_error_path(stage.shard_dir, r)
        if p.exists():
            try:
                out[r] = json.loads(p.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
    return out


def read_stats(stage: Stage, world_size: int) -> list[ShardResult]:
    """The ``stats/{rank:05d}.json`` every rank that ended normally wrote."""
    out = []
    for r in range(world_size):
        p = stats_path(stage.shard_dir, r)
        if p.exists():
            out.append(ShardResult(**json.loads(p.read_text(encoding="utf-8"))))
    return out


def finish_run(
    stage: Stage,
    items: list[Any],
    results: list[ShardResult],
    *,
    skipped: int,
    t0: float,
    workers: int,
    backend: str,
    merge: bool = True,
    merged: dict[str, int] | None = None,
) -> dict[str, Any]:
    """The engine summary of the run (a multi-worker run's shards are merged by then: ``merge_after_stop``)."""
    if workers == 1 and merge:
        compact_failed(stage)
    summary = summarize(
        results, total=len(items), skipped=skipped, wall_s=time.perf_counter() - t0, workers=workers, backend=backend
    )
    if workers > 1:
        summary["merged"] = merged
        summary["shard_dir"] = str(stage.shard_dir)
    return summary
