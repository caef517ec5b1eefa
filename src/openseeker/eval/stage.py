"""``EvalStage``: ``eval run``'s question-runs on the executor (``openseeker.executors``).

One item is one (question, run) pair keyed ``"{id}#{run}"``. Each writes its trajectory (``trajectories.jsonl``,
unless a saved one is being regraded) then its graded record (``results.jsonl``) in one group commit; the results
file decides what is done. A question-run whose endpoint kept failing is not graded: it goes to ``failed.jsonl``
and the next run retries it. The per-question work is ``openseeker.eval.run.run_one``.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openseeker.executors.base import Outcome, Stage, Stream
from openseeker.executors.engine import read_keys
from openseeker.io import iter_jsonl
from openseeker.llm.pool import LLMPool
from openseeker.records import EvalItem, Trajectory
from openseeker.web.open import close_web, open_web

if TYPE_CHECKING:
    from openseeker.eval.run import Roles
    from openseeker.eval.settings import EvalSettings
    from openseeker.llm.config import LLMConfig
    from openseeker.web.base import Web


class EvalStage(Stage):
    """Run and grade every (question, run) of an evaluation; see ``openseeker.eval.run.evaluate_async``."""

    def __init__(
        self,
        out: Path,
        *,
        bench: str,
        roles: Roles,
        web: Web,
        settings: EvalSettings,
        guard: bool,
        blocklist: Any,
        grade_only: dict[str, Any] | None = None,
        factory: Any = None,
    ):
        from openseeker.eval.run import RESULTS, TRAJECTORIES

        self.factory = factory
        self.out, self.name = Path(out), f"eval {bench}"
        self.roles, self.web, self.settings, self.guard, self.blocklist = roles, web, settings, guard, blocklist
        self.grade_only = grade_only
        self._streams = {
            "trajectories": Stream(self.out / TRAJECTORIES, key="id", marks_done=False),
            "results": Stream(self.out / RESULTS, key="key"),
        }
        self.saved: dict[str, Trajectory] = {}
        self.carried: dict[str, Any] = {}

    @property
    def streams(self) -> dict[str, Stream]:
        return self._streams

    def __getstate__(self) -> dict[str, Any]:  # to worker processes: the recipe, not the parent's open roles/web
        return {**self.__dict__, "roles": None, "web": None}

    @asynccontextmanager
    async def open(self) -> AsyncIterator[EvalStage]:
        if self.factory is None:
            yield self
            return
        async with self.factory.open() as (roles, web):
            ready = copy.copy(self)
            ready.roles, ready.web = roles, web
            yield ready

    def worker_stats(self) -> dict[str, Any]:
        if self.factory is None or self.roles is None or self.roles.usage is None:
            return {}
        return {"usage": self.roles.usage()}

    @property
    def shard_dir(self) -> Path:
        return self.out / "shards"

    @property
    def failed_path(self) -> Path:
        return self.out / "failed.jsonl"

    def prepare(self, items: list[EvalItem]) -> list[dict[str, Any]]:
        """The question-runs still to grade; loads saved trajectories (finished before an interruption, or the
        source of a regrade) and the leakage counts a regrade carries over."""
        from openseeker.eval.run import RESULTS

        results = self._streams["results"].path
        traj_path = self._streams["trajectories"].path
        graded = read_keys(results, "key")
        have = read_keys(traj_path, "id")
        todo = [{"id": f"{it.id}#{r}", "item": it, "run": r} for it in items for r in range(self.settings.runs)]
        todo = [t for t in todo if t["id"] not in graded]
        if self.grade_only is not None:
            todo = [t for t in todo if t["id"] in have]
            src_results = Path(self.grade_only["source"]) / RESULTS
            if src_results.exists():  # leakage counts happened during the original run: carry them over
                self.carried = {o.get("key"): o.get("leakage") for _, o in iter_jsonl(src_results, skip_bad=True)}
        need = {t["id"] for t in todo} & have
        if need:
            for _, obj in iter_jsonl(traj_path):
                if obj.get("id") in need:
                    self.saved[obj["id"]] = Trajectory.model_validate(obj)
        return todo

    async def process(self, entry: dict[str, Any]) -> Outcome:
        from openseeker.eval.run import run_one

        key = entry["id"]
        traj, record = await run_one(
            entry["item"],
            entry["run"],
            roles=self.roles,
            web=self.web,
            settings=self.settings,
            guard=self.guard,
            blocklist=self.blocklist,
            existing=self.saved.get(key),
        )
        if key in self.carried:
            record["leakage"] = self.carried[key]
        if traj.stop_reason == "llm_error":
            # the endpoint kept failing: not the agent's answer. Not graded, so a re-run retries it.
            return Outcome(failed=record, error=f"{key}: {record.get('error')}")
        records = {"results": [record]}
        if key not in self.saved:
            records = {"trajectories": [traj], **records}
        return Outcome(records=records, stats={"n": 1, "ok": int(bool(record.get("correct")))})

    def progress_text(self, stats: dict[str, Any]) -> str:
        return f"acc {stats.get('ok', 0)}/{stats.get('n', 0)}" if stats.get("n") else ""


class EvalFactory:
    """Picklable recipe of an eval worker: opens the web (a directory, ``live``, or a remote server) and an LLM
    pool, and builds the run's ``Roles`` exactly as one process does (``openseeker.eval.run.pool_roles``)."""

    def __init__(self, llm_config: LLMConfig, judge: str, web: str, web_config: Any = None):
        self.llm_config, self.judge, self.web, self.web_config = llm_config, judge, web, web_config

    @asynccontextmanager
    async def open(self) -> AsyncIterator[tuple[Any, Any]]:
        from openseeker.eval.run import pool_roles

        web = open_web(self.web, config=self.web_config)
        try:
            async with LLMPool(self.llm_config) as pool:
                yield pool_roles(pool, self.judge), web
        finally:
            await close_web(web)
