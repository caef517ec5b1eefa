"""``synthesize_trajectories``: QA records -> labelled teacher trajectories (resumable JSONL).

For each QA record: a teacher rollout (LLM teacher with retrospective summarization, or the offline reference
replay), then labelling (judge verdict against the gold answer, tool calls, stop reason). Rollouts run through the
agent's batch runner (``openseeker.agent.batch.run_batch``): bounded concurrency, append-only output keyed by the
QA id (interrupt + re-run = no duplicates, no gaps), a progress bar and ``<out>.summary.json``.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openseeker.agent.batch import AgentStage, build_agent_parts, run_stage, sized_llm_config
from openseeker.agent.embedded_defaults import EMBEDDED_SUMMARIZER_DEFAULTS, describe_reduced
from openseeker.agent.settings import answer_settings, resolve_agent_settings, resolve_run_settings
from openseeker.agent.toolset import check_tools
from openseeker.errors import InputError, UserError
from openseeker.executors.base import Outcome, Stream
from openseeker.executors.engine import read_keys
from openseeker.io import iter_jsonl, write_jsonl
from openseeker.llm.base import LLM
from openseeker.outlock import hold_output
from openseeker.records import QASample, Question, Trajectory
from openseeker.synth.traj.filters import judge_outage, label
from openseeker.synth.traj.reference import REFERENCE_TEACHER, reference_rollout
from openseeker.synth.traj.summarize import summarizer_outage
from openseeker.synth.traj.teacher import LLM_TEACHER, teacher_rollout
from openseeker.web.open import ensure_web_retrieval
from openseeker.web.tools import SearchTool, VisitTool

if TYPE_CHECKING:
    from openseeker.llm.config import LLMConfig
    from openseeker.web.base import Web, WebSource

log = logging.getLogger(__name__)

TEACHERS = ("llm", "reference")


def load_qa(path: str | os.PathLike) -> list[QASample]:
    """QA records (``kind == "qa"`` or any object with id/question/answer); duplicate ids are an error."""
    out, seen = [], {}
    for lineno, obj in iter_jsonl(path, required=("id", "question", "answer")):
        if obj.get("kind") not in (None, "qa"):
            raise InputError(f"expected a QA record, got kind={obj.get('kind')!r}", path=str(path), line=lineno)
        try:
            qa = QASample.model_validate({**obj, "id": str(obj["id"]), "answer": str(obj["answer"])})
        except ValueError as exc:
            raise InputError(
                f"not a valid QA record: {str(exc).splitlines()[0]}", path=str(path), line=lineno
            ) from None
        if qa.id in seen:
            raise InputError(f"duplicate id {qa.id!r} (first on line {seen[qa.id]})", path=str(path), line=lineno)
        seen[qa.id] = lineno
        out.append(qa)
    return out


def existing_teachers(out_path: str | os.PathLike) -> Counter:
    """Teacher tags already in an output file (a torn last line is ignored; the writer repairs it)."""
    counts: Counter = Counter()
    p = Path(out_path)
    if not p.exists():
        return counts
    with p.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            counts[str((obj.get("metadata") or {}).get("teacher") or LLM_TEACHER)] += 1
    return counts


class TeacherStage(AgentStage):
    """The teacher on the executor: per QA record a rollout (the LLM teacher with retrospective summarization, or
    the offline reference replay), labelled against its gold answer. ``open()`` (inherited) opens the web and,
    for the LLM teacher, an LLM pool in every worker; ``build`` makes the rollout. See ``synthesize_trajectories``.
    """

    name = "synth traj"

    def __init__(
        self,
        out_path: str | os.PathLike,
        by_id: dict[str, QASample],
        web: WebSource,
        s: dict[str, Any],
        *,
        teacher: str,
        llm_config: LLMConfig | None = None,
        summarize: bool = True,
        judge: bool = True,
        summarizer_kwargs: dict[str, Any] | None = None,
        embedded_judge: bool = False,
        web_config: Any = None,
        reduced: dict[str, Any] | None = None,
    ):
        super().__init__(
            out_path, web=web, llm_config=llm_config if teacher == "llm" else None, settings=s, web_config=web_config
        )
        self.by_id, self.teacher = by_id, teacher
        self.reduced = dict(reduced or {})  # agent settings lowered for the embedded teacher (embedded_defaults)
        self.summarize, self.judge = summarize, judge
        self.summarizer_kwargs, self.embedded_judge = summarizer_kwargs, embedded_judge
        self.rollout: Callable[[QASample], Awaitable[Trajectory]] | None = None
        self.judge_llm: LLM | None = None
        self.info: dict[str, Any] = {}
        self.unlabelled: dict[str, Trajectory] = {}  # rollouts kept from a run whose judge was down: label only

    @property
    def streams(self) -> dict[str, Stream]:
        return {
            "trajectories": Stream(self.out_path),
            "unlabelled": Stream(unlabelled_path(self.out_path), marks_done=False),
        }

    def __getstate__(self) -> dict[str, Any]:
        return {**super().__getstate__(), "rollout": None, "judge_llm": None}

    def build(self) -> None:
        if self.teacher == "reference":
            self.rollout = _reference_rollout(self.opened_web, self.settings)
            return
        pool, s = self.pool, self.settings
        parts = build_agent_parts(pool, s, "teacher")
        self.extractor = parts.extractor
        summarizer_llm = pool.role("summarizer") if self.summarize else None
        sk = dict(self.summarizer_kwargs or {})
        reduced_summarizer: dict[str, Any] = {}
        if summarizer_llm is not None and summarizer_llm.embedded:
            # the embedded summarizer: a short input and a short summary (one call per step; see embedded_defaults)
            reduced_summarizer = {k: v for k, v in EMBEDDED_SUMMARIZER_DEFAULTS.items() if k not in sk}
            sk.update(reduced_summarizer)
        if self.reduced or reduced_summarizer:
            log.info(describe_reduced(self.reduced, EMBEDDED_SUMMARIZER_DEFAULTS if reduced_summarizer else None))
        judge_llm = pool.role("judge") if self.judge else None
        if judge_llm is not None and judge_llm.embedded and not self.embedded_judge:
            # the embedded 135M model cannot grade (it calls wrong answers correct): normalized match instead
            log.info("the judge role is the embedded model: labelling by normalized match (embedded_judge=False)")
            judge_llm = None
        self.judge_llm = judge_llm
        tools = parts.tools(self.opened_web)

        async def rollout(qa: QASample) -> Trajectory:
            return await teacher_rollout(
                qa,
                parts.llm,
                tools,
                summarizer=summarizer_llm,
                summarize=self.summarize,
                agent_kwargs=parts.kwargs,
                summarizer_kwargs=sk,
            )

        self.rollout = rollout
        self.info = {
            "config": {
                "llm": pool.describe(),
                "judge": "llm" if judge_llm is not None else "normalized",
                "embedded_defaults": {"agent": self.reduced, "summarizer": reduced_summarizer},
            }
        }

    def setup(self) -> dict[str, Any] | None:
        """The agent's setup plus what labels a trajectory: the teacher, summarization and the judge."""
        roles = ["teacher", "extractor" if self.settings.get("extract") else None]
        roles += ["summarizer" if self.summarize else None, "judge" if self.judge else None]
        return {
            "stage": self.name,
            "teacher": self.teacher,
            "summarize": self.summarize if self.teacher == "llm" else False,
            "judge": self.judge,
            "agent": answer_settings(self.settings),
            "models": self.models(roles) if self.teacher == "llm" else {},
        }

    async def solve(self, question: Question) -> Trajectory:
        qa = self.by_id[question.id]
        traj = self.unlabelled.get(question.id) or await self.rollout(qa)
        return await label(traj, qa, self.judge_llm)

    async def process(self, question: Question) -> Outcome:
        """A rollout, labelled. Infrastructure failures are not results: a rollout built on fallback summaries of
        a summarizer outage is done again by the next run; one whose judge was down is kept in
        ``<out>.unlabelled.jsonl`` and only labelled by the next run. Both are listed in the ``.failed`` sidecar."""
        outcome = await super().process(question)
        traj = (outcome.records.get("trajectories") or [None])[0]
        if traj is None:
            return outcome
        if question.id not in self.unlabelled and (why := summarizer_outage(traj)):
            return Outcome(failed=traj, error=f"{question.id}: summarizer: {why}")
        if why := judge_outage(traj):
            keep = {} if question.id in self.unlabelled else {"unlabelled": [traj]}
            return Outcome(records=keep, failed=traj, error=f"{question.id}: judge: {why}")
        return outcome

    def worker_info(self) -> dict[str, Any]:
        return self.info


def unlabelled_path(out_path: str | os.PathLike) -> Path:
    """Rollouts finished while the judge was down, kept to be labelled by the next run (never read as results)."""
    p = Path(out_path)
    return p.with_name(p.name + ".unlabelled.jsonl")


def load_unlabelled(out_path: str | os.PathLike, done: set[str]) -> dict[str, Trajectory]:
    """The kept rollouts still to label (a torn or stale line is skipped: that item is simply rolled out again)."""
    path = unlabelled_path(out_path)
    out: dict[str, Trajectory] = {}
    if path.exists():
        for _, obj in iter_jsonl(path, skip_bad=True):
            if str(obj.get("id")) not in done:
                try:
                    out[str(obj["id"])] = Trajectory.model_validate(obj)
                except ValueError:
                    continue
    return out


def tidy_unlabelled(out_path: str | os.PathLike) -> None:
    """Drop the kept rollouts that are labelled now (their ids are in the output); remove the file when empty."""
    path = unlabelled_path(out_path)
    if not path.exists():
        return
    done = read_keys(Path(out_path), "id")
    rows = [obj for _, obj in iter_jsonl(path, skip_bad=True) if str(obj.get("id")) not in done]
    if rows:
        write_jsonl(path, rows)
    else:
        path.unlink()


def _reference_rollout(web_obj: Web, s: dict[str, Any]) -> Callable[[QASample], Awaitable[Trajectory]]:
    tools = [
        SearchTool(web_obj, top_k=s.get("search_top_k") or 10, retrieval=s.get("retrieval")),
        VisitTool(web_obj, max_chars=s["visit_max_chars"]),
    ]

    async def rollout(qa: QASample) -> Trajectory:
        return await reference_rollout(qa, tools, max_tool_calls=s["max_tool_calls"])

    return rollout


async def synthesize_trajectories(
    qa_path: str | os.PathLike,
    web: WebSource,
    out_path: str | os.PathLike,
    *,
    teacher: str = "llm",
    llm_config: LLMConfig | None = None,
    summarize: bool = True,
    settings: dict[str, Any] | None = None,
    judge: bool = True,
    progress: bool = True,
    limit: int | None = None,
    summarizer_kwargs: dict[str, Any] | None = None,
    embedded_judge: bool = False,
    web_config: Any = None,
    executor: Any = None,
    allow_mixed: bool = False,
) -> dict[str, Any]:
    """Run the teacher on every QA record not yet in ``out_path``; returns the run summary.

    Args:
        qa_path: QA JSONL (``openseeker synth qa`` output; or any JSONL with id, question, answer).
        web: a web directory, ``"live"``, ``http://host:port`` (a remote ``openseeker serve``), or an opened
            ``Web`` (one worker only).
        out_path: trajectories JSONL (appended to; resumable; one teacher kind per file).
        teacher: ``llm`` (the teacher role through the agent) or ``reference`` (offline evidence-chain replay).
        llm_config: ``LLMConfig`` (``resolve_llm_config``); needed for ``teacher="llm"`` and the LLM judge.
        summarize: retrospective summarization (``False``: the ablation, raw context).
        settings: agent settings (``openseeker.agent.settings.AgentSettings`` keys: max_tool_calls, concurrency,
            protocol, context_tokens, extract, ...); the role is always ``teacher``.
        judge: grade with the judge role (else, and for the reference teacher, normalized match).
        progress: show a progress bar.
        limit: at most this many pending records.
        summarizer_kwargs: ``RetrospectiveSummarizer`` options.
        embedded_judge: let the embedded model grade when the judge role is embedded (by default the normalized
            match labels instead: the 135M model's verdicts are unreliable).
        web_config: the live-web config for ``web="live"`` (see ``openseeker.web.live``).
        executor: an ``openseeker.executors.Executor`` (``--workers``/``--executor ray``); default this process.
        allow_mixed: resume ``out_path`` even if it was started with other settings or models.
    """

    if teacher not in TEACHERS:
        raise UserError(f"--teacher must be one of {', '.join(TEACHERS)}, got {teacher!r}")
    with hold_output(Path(out_path)):
        tag = REFERENCE_TEACHER if teacher == "reference" else LLM_TEACHER
        present = existing_teachers(out_path)
        other = {k: v for k, v in present.items() if k != tag}
        if other:
            raise UserError(
                f"{out_path} already holds trajectories of another teacher ({dict(other)}); write "
                f"{tag!r} trajectories to a separate file so they never mix silently"
            )
        if teacher == "llm" and llm_config is not None:
            s, reduced = resolve_run_settings(None, llm_config, settings or {}, role="teacher")
        else:
            s, reduced = resolve_agent_settings(**{**(settings or {}), "role": "teacher"}), {}
        if teacher == "llm":
            check_tools(s)  # code_exec without a working sandbox: one line now, before any rollout

        await ensure_web_retrieval(web, s["retrieval"], config=web_config)
        qas = load_qa(qa_path)
        by_id = {q.id: q for q in qas}
        items = [Question(id=q.id, question=q.question) for q in qas]
        opened = isinstance(web, (str, os.PathLike))
        config = {
            "teacher": tag,
            "summarize": summarize if teacher == "llm" else False,
            "agent": s,
            "qa": str(qa_path),
            "web": str(web) if opened else getattr(web, "name", ""),
        }
        if teacher == "llm":
            if llm_config is None:
                raise UserError("the LLM teacher needs an LLM config (--llm embedded, --base-url/--model or --config)")
            llm_config = sized_llm_config(
                llm_config, ("teacher", "summarizer", "extractor", "judge"), s["concurrency"]
            )
        stage = TeacherStage(
            out_path,
            by_id,
            web,
            s,
            teacher=teacher,
            llm_config=llm_config,
            summarize=summarize,
            judge=judge,
            summarizer_kwargs=summarizer_kwargs,
            embedded_judge=embedded_judge,
            web_config=web_config,
            reduced=reduced,
        )
        stage.unlabelled = load_unlabelled(out_path, read_keys(Path(out_path), "id"))
        summary = await run_stage(
            stage,
            items,
            concurrency=s["concurrency"],
            progress=progress,
            limit=limit,
            config=config,
            executor=executor,
            allow_mixed=allow_mixed,
        )
        tidy_unlabelled(out_path)
        summary.update(output_stats(out_path))
        return summary


def output_stats(out_path: str | os.PathLike) -> dict[str, Any]:
    """Labels over the whole output file: correct / judged, teachers, summaries and their fallbacks."""
    n = correct = judged = summaries = fallbacks = tool_calls = 0
    teachers: Counter = Counter()
    stops: Counter = Counter()
    p = Path(out_path)
    if p.exists():
        for _, obj in iter_jsonl(p, skip_bad=True):
            meta = obj.get("metadata") or {}
            n += 1
            teachers[str(meta.get("teacher") or LLM_TEACHER)] += 1
            stops[str(obj.get("stop_reason"))] += 1
            tool_calls += int(obj.get("num_tool_calls") or 0)
            if meta.get("correct") is not None:
                judged += 1
                correct += bool(meta.get("correct"))
            for rec in meta.get("summaries") or []:
                summaries += 1
                fallbacks += rec.get("status") == "fallback"
    return {
        "file": {
            "trajectories": n,
            "correct": correct,
            "judged": judged,
            "teachers": dict(teachers),
            "stop_reasons": dict(stops),
            "mean_tool_calls": round(tool_calls / n, 2) if n else 0.0,
            "summaries": summaries,
            "summary_fallbacks": fallbacks,
        }
    }
