"""``LocalExecutor``: one worker in this process, or N worker processes on this machine (``--workers N``).

Worker processes are *spawned* (not forked: the parent may hold an event loop, threads and open sockets), each
runs ``asyncio.run`` of the same ``engine.run_shard`` on its rank. A worker that dies (SIGKILL, OOM) makes the run
fail with a one-line error; re-running the same command resumes every rank from its shard and merges.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import time
from typing import Any

from openseeker.errors import LLMError, UserError
from openseeker.executors.base import Executor, ShardResult, Stage, stats_path
from openseeker.executors.engine import all_complete, merge_shards, plan, run_shard, summarize
from openseeker.executors.progress import RunProgress

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
    """Entry point of a worker process / Ray task: unpickle the stage and run one rank to the end."""
    stage = pickle.loads(blob)
    return asyncio.run(open_and_run(stage, items, rank, world_size, concurrency)).to_dict()


def _process_main(blob: bytes, items: list[Any], rank: int, world_size: int, concurrency: int, log_level: int) -> None:
    logging.basicConfig(level=log_level, format=f"[rank {rank}] %(levelname)s %(name)s: %(message)s")
    try:
        rank_main(blob, items, rank, world_size, concurrency)
    except KeyboardInterrupt:
        raise SystemExit(130) from None


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
        t0 = time.perf_counter()
        per_rank, skipped = plan(stage, items, self.workers, self.limit)
        bar = RunProgress(stage, sum(map(len, per_rank)), self.progress)
        try:
            if self.rank is not None:  # one rank of a job array (Slurm): no merge; the plain command merges
                results = [
                    await open_and_run(
                        stage,
                        per_rank[self.rank],
                        self.rank,
                        self.workers,
                        self.concurrency,
                        on_progress=lambda r: bar.update(r.done, r.failed, r.stats),
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
                results = [
                    await open_and_run(
                        stage,
                        per_rank[0],
                        0,
                        1,
                        self.concurrency,
                        on_progress=lambda r: bar.update(r.done, r.failed, r.stats),
                    )
                ]
            else:
                results = await self._processes(stage, per_rank, bar)
        finally:
            bar.close()
        return finish_run(stage, items, results, skipped=skipped, t0=t0, workers=self.workers, backend=self.name)

    async def _processes(self, stage: Stage, per_rank: list[list[Any]], bar: RunProgress) -> list[ShardResult]:
        import multiprocessing as mp

        blob = pickled(stage)
        ctx = mp.get_context("spawn")
        level = logging.getLogger().getEffectiveLevel()
        procs = [
            ctx.Process(
                target=_process_main,
                args=(blob, items, r, self.workers, self.concurrency, level),
                name=f"openseeker-{stage.name}-{r}",
            )
            for r, items in enumerate(per_rank)
        ]
        for p in procs:
            p.start()
        try:
            while any(p.is_alive() for p in procs):
                bar.poll(self.workers)
                await asyncio.sleep(0.2)
        finally:  # Ctrl-C reaches the children too (same process group): let them flush their writes
            for p in procs:
                p.join()
        bar.poll(self.workers)
        return collect_results(stage, self.workers, {r: p.exitcode for r, p in enumerate(procs)})


def collect_results(stage: Stage, world_size: int, exitcodes: dict[int, Any]) -> list[ShardResult]:
    """Read every rank's ``stats/{rank:05d}.json``; a rank that died is a one-line error saying how to resume."""
    import json

    dead = {r: c for r, c in exitcodes.items() if c not in (0, None)}
    if dead:
        how = ", ".join(
            f"rank {r} ({'killed by signal ' + str(-c) if isinstance(c, int) and c < 0 else c})"
            for r, c in sorted(dead.items())
        )
        raise LLMError(
            f"worker(s) died: {how}; everything they finished is saved in {stage.shard_dir}: re-run the "
            "same command to finish the rest"
        )
    out = []
    for r in range(world_size):
        obj = json.loads(stats_path(stage.shard_dir, r).read_text(encoding="utf-8"))
        out.append(ShardResult(**obj))
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
) -> dict[str, Any]:
    """Merge the shards when every rank is complete; the engine summary of the run."""
    merged = None
    if workers > 1 and merge:
        if all_complete(stage, workers):
            merged = merge_shards(stage, items, workers)
            log.info("merged %s shards into %s", workers, {n: str(s.path) for n, s in stage.streams.items()})
        else:
            merged = None
            log.warning(
                "not every rank finished: shards kept in %s; re-run the same command to finish and merge",
                stage.shard_dir,
            )
    summary = summarize(
        results, total=len(items), skipped=skipped, wall_s=time.perf_counter() - t0, workers=workers, backend=backend
    )
    if workers > 1:
        summary["merged"] = merged
        summary["shard_dir"] = str(stage.shard_dir)
    return summary
