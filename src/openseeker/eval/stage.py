"""``EvalStage``: ``eval run``'s question-runs on the executor (``openseeker.executors``).

One item is one (question, run) pair keyed ``"{id}#{run}"``. Each writes its trajectory (``trajectories.jsonl``,
unless a saved one is being regraded) then its graded record (``results.jsonl``) in one group commit; the results
file decides what is done. A question-run whose endpoint kept failing is not graded: it goes to ``failed.jsonl``
and the next run retries it.

The agent is the one ``agent run`` runs: built by ``openseeker.agent.batch.agent_parts`` from the run's resolved
``AgentSettings`` (``EvalSettings.agent``), over the web wrapped per question by the leakage guard when it is on.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openseeker.agent.batch import AgentParts, agent_parts
from openseeker.eval.leakage import DomainBlocklist, GuardedWeb
from openseeker.eval.settings import EvalSettings
from openseeker.eval.widesearch import evaluate_table
from openseeker.executors.base import Outcome, Stage, Stream
from openseeker.executors.engine import read_keys
from openseeker.io import iter_jsonl
from openseeker.llm import judge as judge_mod
from openseeker.llm.pool import LLMPool
from openseeker.metrics import style_for_language
from openseeker.records import EvalItem, EvalResult, Trajectory
from openseeker.web.open import open_web

if TYPE_CHECKING:
    from openseeker.llm.base import LLM
    from openseeker.llm.config import LLMConfig
    from openseeker.web.base import Web, WebSource

RESULTS = "results.jsonl"
TRAJECTORIES = "trajectories.jsonl"


@dataclass
class Roles:
    """The LLMs of a run: ``student`` answers, ``judge`` grades (None: normalized match), ``extractor`` reads
    pages for the visit tool (None: raw page text). ``describe`` is provenance for config.json."""

    student: LLM | None
    judge: LLM | None = None
    extractor: LLM | None = None
    describe: dict[str, Any] = field(default_factory=dict)
    usage: Callable[[], dict[str, Any]] | None = None


def pool_roles(pool: LLMPool, judge: str) -> Roles:
    """The ``Roles`` of an evaluation from an open ``LLMPool`` (the judge role only for ``judge == "llm"``)."""
    return Roles(
        student=pool.role("student"),
        judge=pool.role("judge") if judge == "llm" else None,
        extractor=pool.role("extractor"),
        describe=pool.describe(),
        usage=lambda: {k: v.model_dump() for k, v in pool.usage().items()},
    )


class EvalStage(Stage):
    """Run and grade every (question, run) of an evaluation; see ``openseeker.eval.run.evaluate_async``.

    ``web`` is a source (directory, ``live``, ``http://...``; each worker opens its own) or an opened ``Web``;
    ``roles`` are ready LLMs (in-process), else every worker opens an ``LLMPool`` from ``llm_config``.
    """

    def __init__(
        self,
        out: Path,
        *,
        bench: str,
        settings: EvalSettings,
        guard: bool,
        blocklist: DomainBlocklist,
        web: WebSource | None = None,
        roles: Roles | None = None,
        llm_config: LLMConfig | None = None,
        grade_only: dict[str, Any] | None = None,
    ):
        self.out, self.name = Path(out), f"eval {bench}"
        self.settings, self.guard, self.blocklist, self.grade_only = settings, guard, blocklist, grade_only
        self.web, self.roles, self.llm_config = web, roles, llm_config
        self.opened_web: Web | None = None
        self.parts: AgentParts | None = None
        self._streams = {
            "trajectories": Stream(self.out / TRAJECTORIES, key="id", marks_done=False),
            "results": Stream(self.out / RESULTS, key="key"),
        }
        self.saved: dict[str, Trajectory] = {}
        self.carried: dict[str, Any] = {}

    @property
    def streams(self) -> dict[str, Stream]:
        return self._streams

    def __getstate__(self) -> dict[str, Any]:  # to worker processes: the recipe, not the parent's open objects
        return {**self.__dict__, "roles": None, "opened_web": None, "parts": None}

    @asynccontextmanager
    async def open(self) -> AsyncIterator[EvalStage]:
        async with AsyncExitStack() as stack:
            ready = self.ready_copy()
            if self.web is not None:
                ready.opened_web = await stack.enter_async_context(open_web(self.web, config=self.settings.web_config))
            if ready.roles is None and self.llm_config is not None:
                pool = await stack.enter_async_context(LLMPool(self.llm_config))
                ready.roles = pool_roles(pool, self.settings.judge)
            if ready.roles is not None and self.settings.judge == "none":
                ready.roles = copy.copy(ready.roles)
                ready.roles.judge = None
            if ready.roles is not None and ready.roles.student is not None:
                ready.parts = agent_parts(ready.roles.student, ready.roles.extractor, self.settings.agent)
            yield ready

    def worker_stats(self) -> dict[str, Any]:
        if self.llm_config is None or self.roles is None or self.roles.usage is None:
            return {}
        return {"usage": self.roles.usage()}

    def worker_info(self) -> dict[str, Any]:
        """The agent as it ran: the resolved protocol and the system prompt actually sent (provenance)."""
        if self.parts is None or self.opened_web is None:
            return {}
        agent = self.parts.agent(self.opened_web)
        resolved = {"protocol": agent.protocol, "context_tokens": agent.context_tokens}
        return {"agent_resolved": resolved, "system_prompt": agent.system_prompt, "llm": self.roles.describe}

    @property
    def output(self) -> Path:
        return self.out

    def failed_id(self, record: Any) -> str | None:
        return None if not isinstance(record, dict) or record.get("key") is None else str(record["key"])

    @property
    def shard_dir(self) -> Path:
        return self.out / "shards"

    @property
    def failed_path(self) -> Path:
        return self.out / "failed.jsonl"

    def prepare(self, items: list[EvalItem]) -> list[dict[str, Any]]:
        """The question-runs still to grade; loads saved trajectories (finished before an interruption, or the
        source of a regrade) and the leakage counts a regrade carries over."""
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
        key = entry["id"]
        traj, record = await self.run_one(entry["item"], entry["run"], existing=self.saved.get(key))
        if key in self.carried:
            record["leakage"] = self.carried[key]
        if traj.stop_reason == "llm_error":
            # the endpoint kept failing: not the agent's answer. Not graded, so a re-run retries it.
            return Outcome(failed=record, error=f"{key}: {record.get('error')}")
        new_traj = {} if key in self.saved else {"trajectories": [traj]}
        verdict = record.get("verdict") or {}
        if verdict.get("ungraded") == "judge_error":
            # the judge's endpoint kept failing: that is not a grade (it used to be counted as a wrong answer).
            # The trajectory is kept; the next run grades it, without running the agent again.
            return Outcome(records=new_traj, failed=record, error=f"{key}: {verdict.get('error')}")
        records = {**new_traj, "results": [record]}
        return Outcome(records=records, stats={"n": 1, "ok": int(bool(record.get("correct")))})

    def progress_text(self, stats: dict[str, Any]) -> str:
        return f"acc {stats.get('ok', 0)}/{stats.get('n', 0)}" if stats.get("n") else ""

    async def run_one(self, item: EvalItem, run: int, existing: Trajectory | None = None) -> tuple[Trajectory, dict]:
        """Run the agent on one question (or reuse its saved trajectory) and grade it; ``(trajectory, record)``."""
        s = self.settings
        key = f"{item.id}#{run}"
        item_web = self.opened_web
        if self.guard:
            item_web = GuardedWeb(
                item_web, question=item.question, answers=item.answers, blocklist=self.blocklist, n=s.ngram
            )
        if existing is not None:
            traj = existing
        else:
            seed = s.agent["seed"]
            agent = self.parts.agent(item_web, seed=None if seed is None else seed + run)  # n runs, n samples
            metadata = {"benchmark": item.benchmark, "item_id": item.id, "run": run}
            traj = await agent.run(item.question, id=key, metadata=metadata)
        return traj, await self._grade(item, run, key, traj, item_web)

    async def _grade(self, item: EvalItem, run: int, key: str, traj: Trajectory, item_web: Any) -> dict[str, Any]:
        answer = traj.final_answer or ""
        judge = self.roles.judge if self.roles is not None else None
        fields: dict[str, Any] = dict(
            key=key,
            id=item.id,
            run=run,
            benchmark=item.benchmark,
            language=item.language,
            category=str(item.metadata.get("category", "")),
            question=item.question,
            gold=item.answers,
            answer=answer,
            stop_reason=traj.stop_reason,
            num_tool_calls=traj.num_tool_calls,
            num_turns=traj.num_turns,
            tool_calls=dict(_tool_counts(traj)),
            tokens=_tokens(traj),
            wall_s=round(traj.wall_s, 3),
            trajectory={"file": TRAJECTORIES, "id": traj.id},
            leakage=item_web.stats.as_dict() if self.guard else None,
            error=traj.metadata.get("error") or (traj.metadata.get("errors") or [None])[0],
        )
        if item.metadata.get("task") == "table":
            ws = await evaluate_table(answer, item.metadata["gold_csv"], item.metadata["evaluation"], judge)
            result = EvalResult(
                **fields, widesearch=ws, verdict=None, correct=bool(ws["success"]), score=ws["item_f1"]
            )
        else:
            verdict = await judge_mod.judge_answer(
                item.question, item.answers, answer, judge, answer_metric=style_for_language(item.language)
            )
            result = EvalResult(
                **fields,
                verdict=verdict.model_dump(),
                correct=verdict.correct,
                score=None if verdict.correct is None else float(verdict.correct),
            )
        return result.as_row()


def _tool_counts(traj: Trajectory) -> Counter:
    c: Counter = Counter()
    for step in traj.steps:
        for call in step.tool_calls:
            c[call.name] += 1
    return c


def _tokens(traj: Trajectory) -> dict[str, int]:
    p = sum(u.prompt_tokens for u in traj.usage.values())
    q = sum(u.completion_tokens for u in traj.usage.values())
    if not p and not q:
        for s in traj.steps:
            p += s.usage.prompt_tokens
            q += s.usage.completion_tokens
    return {"prompt": p, "completion": q, "total": p + q}
