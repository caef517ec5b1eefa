"""``RayExecutor``: the ranks as Ray tasks on an existing cluster (``--ray-address``) or a local one.

Each task runs the same ``engine.run_shard`` as a local worker (``local.rank_main``); outputs go to the paths the
stage names, so on several machines those must be on a shared filesystem (NFS, a mounted bucket). A task whose
worker process dies is re-run by Ray (``max_retries``) and resumes from its shard; only then does the run fail.
Once every task has ended (or, on Ctrl-C / SIGTERM, has been cancelled and has stopped) what they finished is merged.
Ray is an optional extra (``pip install 'openseeker[ray]'``) imported only here.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from typing import Any

from openseeker.errors import Interrupted, LLMError, UserError
from openseeker.executors.base import Executor, ShardResult, Stage
from openseeker.executors.engine import plan, run_locks
from openseeker.executors.local import finish_run, merge_after_stop, pickled, rank_main, saved_text
from openseeker.executors.progress import RunProgress
from openseeker.executors.supervise import GRACE_S

log = logging.getLogger(__name__)

FORWARDED_ENV_PREFIXES = ("OPENSEEKER_", "HF_", "OPENAI_", "SERPER_", "TAVILY_", "JINA_")


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UserError(
            "--executor ray needs Ray: pip install 'openseeker[ray]' (or pip install 'ray>=2.9')"
        ) from None
    return ray


class RayExecutor(Executor):
    """Run the ranks as Ray tasks.

    Args:
        address: a running cluster (``ray://host:10001`` or ``host:6379``, or ``auto``); None starts a local one
            with ``workers`` CPUs (loopback only, no dashboard).
        cpus_per_worker: CPUs Ray reserves per rank (a rank is one asyncio process: 1).
        max_retries: times Ray re-runs a rank whose worker died (it resumes from its shard).
    """

    name = "ray"

    def __init__(
        self,
        workers: int = 2,
        *,
        address: str | None = None,
        cpus_per_worker: float = 1,
        max_retries: int = 2,
        **kw: Any,
    ):
        super().__init__(workers, **kw)
        self.address, self.cpus_per_worker, self.max_retries = address, cpus_per_worker, max_retries

    def _init(self) -> Any:
        ray = import_ray()
        if not ray.is_initialized():
            env = {k: v for k, v in os.environ.items() if k.startswith(FORWARDED_ENV_PREFIXES)}
            if os.environ.get("PYTHONPATH"):
                env["PYTHONPATH"] = os.environ["PYTHONPATH"]
            kw: dict[str, Any] = {"runtime_env": {"env_vars": env}, "log_to_driver": True, "ignore_reinit_error": True}
            if self.address:
                ray.init(address=self.address, **kw)
            else:
                # a private cluster for this run: loopback only, no dashboard
                ray.init(
                    num_cpus=max(2, int(self.workers * self.cpus_per_worker)),
                    include_dashboard=False,
                    _node_ip_address="127.0.0.1",
                    **kw,
                )
        return ray

    async def arun(self, stage: Stage, items: list[Any]) -> dict[str, Any]:
        with run_locks(stage, self.workers):
            return await self._arun(stage, items)

    async def _arun(self, stage: Stage, items: list[Any]) -> dict[str, Any]:
        t0 = time.perf_counter()
        ray = self._init()
        per_rank, skipped = plan(stage, items, self.workers, self.limit)
        blob = pickled(stage)
        task = ray.remote(num_cpus=self.cpus_per_worker, max_retries=self.max_retries)(rank_main)
        blob_ref = ray.put(blob)
        refs = [task.remote(blob_ref, its, r, self.workers, self.concurrency) for r, its in enumerate(per_rank)]
        bar = RunProgress(stage, sum(map(len, per_rank)), self.progress)
        results: list[ShardResult] = []
        errors: list[str] = []
        stopped: BaseException | None = None
        try:
            pending = list(refs)
            while pending:
                ready, pending = await asyncio.to_thread(ray.wait, pending, num_returns=1, timeout=0.3)
                for ref in ready:
                    try:
                        results.append(ShardResult(**ray.get(ref)))
                    except Exception as exc:  # noqa: BLE001 - a rank's failure, reported once all have ended
                        errors.append(f"rank {refs.index(ref)}: {str(exc).strip().splitlines()[-1]}")
                bar.poll(self.workers)
        except BaseException as exc:  # Ctrl-C / SIGTERM (the loop cancels this task), or an error here
            stopped = exc
            await asyncio.shield(asyncio.to_thread(cancel_and_wait, ray, refs))
        finally:
            bar.close()
        merged = merge_after_stop(stage, items, self.workers)  # what every rank finished, whatever stopped them
        if stopped is not None:
            if isinstance(stopped, (KeyboardInterrupt, asyncio.CancelledError)):
                raise Interrupted(getattr(stopped, "signum", signal.SIGINT), saved_text(stage, merged)) from None
            raise stopped
        if errors:
            raise LLMError(
                f"{len(errors)} Ray task(s) failed ({'; '.join(errors)}); {saved_text(stage, merged)}: re-run the "
                "same command to finish the rest"
            )
        return finish_run(
            stage, items, results, skipped=skipped, t0=t0, workers=self.workers, backend=self.name, merged=merged
        )


def cancel_and_wait(ray: Any, refs: list[Any], grace_s: float = GRACE_S) -> None:
    """Stop every task: a cancel first (the task gets KeyboardInterrupt and writes what finished), a forced one
    (its worker is killed) after ``grace_s``; returns once none runs, so the merge reads settled shards."""
    for ref in refs:
        ray.cancel(ref)
    _, running = ray.wait(refs, num_returns=len(refs), timeout=grace_s)
    for ref in running:
        ray.cancel(ref, force=True)
    if running:
        ray.wait(running, num_returns=len(running), timeout=grace_s)
