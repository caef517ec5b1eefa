"""Run many questions through the agent: bounded asyncio concurrency, resumable append-only JSONL output.

The output holds one ``Trajectory`` per line, keyed by ``id`` (``openseeker.io.ResumableWriter``): ids already in
the file are skipped, so a run interrupted by a crash, a kill or Ctrl-C is finished by re-running the same
command, with no duplicates and no gaps. Each trajectory is written (and fsync'ed, off the event loop) as soon as
it finishes (group commit: whatever finished during one fsync goes out with the next); a rollout in flight at
the interruption is simply run again, a finished one is written before exiting.

Example:
    >>> summary = await run_batch(items, "out.jsonl", agent=agent, concurrency=16)    # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openseeker.agent.extract import LLMExtractor
from openseeker.agent.runtime import Agent, step_listener
from openseeker.agent.settings import answer_settings, resolve_agent_settings
from openseeker.agent.toolset import DEFAULT_TOOLS, ToolContext, build_tools, check_tools
from openseeker.errors import InputError, LLMError, UserError
from openseeker.executors.base import Outcome, Stage, Stream
from openseeker.executors.local import LocalExecutor
from openseeker.io import check_setup, iter_jsonl
from openseeker.llm.cache import rollout_scope
from openseeker.llm.pool import LLMPool
from openseeker.outlock import hold_output
from openseeker.provenance import git_hash, package_versions
from openseeker.records import Question, Trajectory
from openseeker.web.open import ensure_web_retrieval, open_web

if TYPE_CHECKING:
    from openseeker.llm.base import LLM
    from openseeker.llm.config import LLMConfig
    from openseeker.web.base import Web, WebSource

log = logging.getLogger(__name__)


def load_questions(path: str | os.PathLike) -> list[Question]:
    """Read a questions JSONL (each line has ``id`` and ``question``; other keys go to ``Question.metadata``);
    duplicate ids are an ``InputError``."""
    items: list[Question] = []
    seen: dict[str, int] = {}
    for lineno, obj in iter_jsonl(path, required=("id", "question")):
        _check_item(obj, str(path), lineno)
        key = str(obj["id"])
        if key in seen:
            raise InputError(f"duplicate id {key!r} (first on line {seen[key]})", path=str(path), line=lineno)
        seen[key] = lineno
        items.append(Question.from_item(obj))
    return items


def _check_item(obj: Any, path: str | None = None, line: int | None = None) -> None:
    if not isinstance(obj, dict):
        raise InputError(
            f"an item must be an object with 'id' and 'question', got {type(obj).__name__}", path=path, line=line
        )
    if obj.get("id") is None or str(obj["id"]).strip() == "":
        raise InputError("item has no 'id'", path=path, line=line)
    if not isinstance(obj.get("question"), str) or not obj["question"].strip():
        raise InputError(f"item {obj.get('id')!r}: 'question' must be a non-empty string", path=path, line=line)


def validate_items(items: Iterable[Question | dict[str, Any]]) -> list[Question]:
    """``Question`` records (a flat ``{id, question, ...}`` dict is read as ``Question.from_item``), shape and
    uniqueness of ids checked (a clear ``UserError`` naming the duplicate)."""
    out: list[Question] = []
    seen: set[str] = set()
    for i, obj in enumerate(items):
        if isinstance(obj, Question):
            _check_item({"id": obj.id, "question": obj.question})
            q = obj
        else:
            _check_item(obj, line=None)
            q = Question.from_item(obj)
        if q.id in seen:
            raise UserError(f"duplicate id {q.id!r} in the input (item {i}); ids must be unique")
        seen.add(q.id)
        out.append(q)
    return out


def failed_path(out_path: str | os.PathLike) -> Path:
    """Where rollouts that ended on LLM errors are kept for diagnosis (never read back as results)."""
    p = Path(out_path)
    return p.with_name(p.name + ".failed.jsonl")


def raise_if_failed(summary: dict[str, Any]) -> None:
    """For CLIs: items an endpoint kept failing on make the command fail (exit 1) with a one-line reason that says
    what is missing, where it is listed and that everything else is saved."""
    n = summary.get("failed") or 0
    if n:
        out = summary.get("out")
        raise LLMError(
            f"{n} item(s) not finished: an endpoint kept failing (first: {summary.get('failed_first_error')}); "
            f"listed in {failed_path(out) if out else 'the .failed.jsonl sidecar'}; everything else is saved in "
            f"{out}: fix the endpoint and re-run the same command to finish them"
        )


class AgentStage(Stage):
    """Agent rollouts on the executor: one ``Trajectory`` per item in ``out_path`` (keyed by ``id``).

    In-process callers give a ready ``agent`` (or ``make_agent``: ``Question -> Agent``). Otherwise the stage holds
    the recipe - ``web`` (a source: directory, ``live``, ``http://...``), ``llm_config`` and resolved ``settings``
    - and ``open()`` builds the agent in every worker: ``async with open_web(...) as web, LLMPool(...) as pool``.
    Subclasses that do more per question than one rollout (trajectory synthesis: rollout + labelling) override
    ``build`` and ``solve``.
    """

    name = "agent"

    def __init__(
        self,
        out_path: str | os.PathLike,
        *,
        agent: Agent | None = None,
        make_agent: Callable[[Question], Agent] | None = None,
        web: WebSource | None = None,
        llm_config: LLMConfig | None = None,
        settings: dict[str, Any] | None = None,
        web_config: Any = None,
        keep_llm_errors: bool = False,
    ):
        if sum(x is not None for x in (agent, make_agent, web)) != 1:
            raise UserError("an agent stage needs exactly one of agent=, make_agent= or web= (with llm_config=)")
        self.out_path = Path(out_path)
        self.agent, self.make_agent = agent, make_agent
        self.web, self.llm_config, self.web_config = web, llm_config, web_config
        self.settings = dict(settings or {})
        self.keep_llm_errors = keep_llm_errors
        self.pool: LLMPool | None = None
        self.opened_web: Web | None = None
        self.extractor: LLMExtractor | None = None
        # turns and tool calls of every step so far, in-flight rollouts included (shared with the copies open()
        # makes): the progress bar shows them, so a long rollout visibly progresses
        self._live = [0, 0]

    def __getstate__(self) -> dict[str, Any]:  # to worker processes: the recipe, never open objects
        state = dict(self.__dict__)
        state.update(pool=None, opened_web=None, extractor=None)
        return state

    @property
    def streams(self) -> dict[str, Stream]:
        return {"trajectories": Stream(self.out_path)}

    @asynccontextmanager
    async def open(self) -> AsyncIterator[AgentStage]:
        if self.web is None:  # a ready agent, in-process
            yield self
            return
        async with AsyncExitStack() as stack:
            ready = self.ready_copy()
            ready.opened_web = await stack.enter_async_context(open_web(self.web, config=self.web_config))
            if self.llm_config is not None:
                ready.pool = await stack.enter_async_context(LLMPool(self.llm_config))
            ready.build()
            yield ready

    def build(self) -> None:
        """Per worker, once the web and the pool are open: the agent of ``agent run``."""
        assert self.pool is not None and self.opened_web is not None, "build() runs inside open()"
        parts = build_agent_parts(self.pool, self.settings, self.settings["role"])
        self.agent, self.extractor = parts.agent(self.opened_web), parts.extractor

    async def solve(self, question: Question) -> Trajectory:
        """One question's trajectory."""
        if self.agent is not None:
            a = self.agent
        else:
            assert self.make_agent is not None  # __init__ takes exactly one of agent, make_agent, web
            a = self.make_agent(question)
        extra = question.metadata
        return await a.run(question.question, id=question.id, metadata={"item": extra} if extra else None)

    def setup(self) -> dict[str, Any] | None:
        """What changes a trajectory (recorded in ``<out>.setup.json``; a resume with another is refused): the
        resolved agent settings and the model of every role the agent calls. ``None`` for a ready agent."""
        if self.web is None:
            return None
        roles = [self.settings.get("role")] + (["extractor"] if self.settings.get("extract") else [])
        return {"stage": self.name, "agent": answer_settings(self.settings), "models": self.models(roles)}

    def models(self, roles: Iterable[str | None]) -> dict[str, str | None]:
        """The configured model of each role (``None``: the endpoint's first model, known only once opened)."""
        described = self.llm_config.describe() if self.llm_config is not None else {}
        return {r: (described.get(r) or {}).get("model") or None for r in roles if r}

    def _on_step(self, traj: Trajectory, step: Any) -> None:
        self._live[0] += 1
        self._live[1] += len(step.tool_calls)

    def live_text(self) -> str:
        return f"turns {self._live[0]}, tool calls {self._live[1]}"

    def item_id(self, item: Question) -> str:
        return item.id

    async def process(self, question: Question) -> Outcome:
        step_listener.set(self._on_step)  # this rollout reports each step (turns, tool calls) to the bar
        with rollout_scope(question.id):  # the id joins LLM cache keys: no replay across items on resume
            traj = await self.solve(question)
        if traj.stop_reason == "llm_error" and not self.keep_llm_errors:
            # the endpoint failed after its retries: an infrastructure fault, not the agent's answer. Keep it
            # out of the output so a re-run retries it (the cache replays the calls that did succeed).
            error = traj.metadata.get("error") or (traj.metadata.get("errors") or ["?"])[0]
            return Outcome(failed=traj, error=str(error))
        return Outcome(records={"trajectories": [traj]}, stats=trajectory_stats(traj))

    def worker_stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.pool is not None:
            out["llm_usage"] = self.pool.usage_by_role()
        web_stats = getattr(self.opened_web, "stats", None)  # live backends: calls, cache hits, errors, cost
        if callable(web_stats):
            out["web_stats"] = web_stats()
        if self.extractor is not None:
            out["extractor"] = dict(self.extractor.stats)
        return out

    def worker_info(self) -> dict[str, Any]:
        if self.web is None or self.agent is None:
            return {}
        a = self.agent
        return {
            "protocol": a.protocol,
            "config": {
                "agent": self.settings,
                "agent_resolved": {"protocol": a.protocol, "context_tokens": a.context_tokens},
                "system_prompt": a.system_prompt,
                "llm": self.pool.describe() if self.pool is not None else {},
                "web": str(self.web) if isinstance(self.web, (str, os.PathLike)) else getattr(self.web, "name", ""),
            },
        }

    def progress_text(self, stats: dict[str, Any]) -> str:
        return " ".join(f"{k}={v}" for k, v in sorted((stats.get("stop") or {}).items()))


def trajectory_stats(t: Trajectory) -> dict[str, Any]:
    """Additive counters of one trajectory (stop reasons, tool calls, turns, tokens, seconds in LLM and tools)."""
    p = sum(u.prompt_tokens for u in t.usage.values())
    c = sum(u.completion_tokens for u in t.usage.values())
    return {
        "stop": {t.stop_reason: 1},
        "tool_calls": t.num_tool_calls,
        "turns": t.num_turns,
        "prompt_tokens": p,
        "completion_tokens": c,
        "llm_s": sum(s.llm_s for s in t.steps),
        "tool_s": sum(s.tool_s for s in t.steps),
    }


def batch_summary(run: dict[str, Any], out_path: str | os.PathLike) -> dict[str, Any]:
    """The executor's summary in the shape ``agent run`` has always reported."""
    st = run["stats"]
    done, wall = run["done"], run["wall_s"]
    summary = {
        "out": str(out_path),
        "total": run["total"],
        "done": done,
        "skipped": run["skipped"],
        "pending": run["pending"],
        "interrupted": run["interrupted"],
        "stop_reasons": dict(st.get("stop") or {}),
        "tool_calls": st.get("tool_calls", 0),
        "mean_tool_calls": round(st.get("tool_calls", 0) / done, 2) if done else 0.0,
        "turns": st.get("turns", 0),
        "tokens": {"prompt": st.get("prompt_tokens", 0), "completion": st.get("completion_tokens", 0)},
        "llm_s": round(st.get("llm_s", 0.0), 3),
        "tool_s": round(st.get("tool_s", 0.0), 3),
        "wall_s": wall,
        "rollouts_per_s": round(done / wall, 3) if wall > 0 else 0.0,
        "failed": run["failed"],
        "workers": run["workers"],
        "executor": run["executor"],
        "rank_wall_s": run.get("rank_wall_s", []),
    }
    if run["failed"]:
        summary["failed_ids"] = run["failed_ids"]
        summary["failed_first_error"] = run["failed_first_error"]
        log.warning(
            "%d item(s) not finished because an endpoint kept failing: not written to %s (listed in %s); re-run "
            "the same command to finish them. First error: %s",
            run["failed"],
            out_path,
            failed_path(out_path),
            run["failed_first_error"],
        )
    return summary


async def run_batch(
    items: Iterable[Question | dict[str, Any]],
    out_path: str | os.PathLike,
    *,
    agent: Agent | None = None,
    make_agent: Callable[[Question], Agent] | None = None,
    concurrency: int = 8,
    progress: bool = True,
    limit: int | None = None,
    config: dict[str, Any] | None = None,
    write_summary: bool = True,
    keep_llm_errors: bool = False,
    executor: Any = None,
) -> dict[str, Any]:
    """Run a ready agent on every item not yet in ``out_path`` (in this process); return (and save next to it) a
    summary. For several workers, build the stage from its recipe (``AgentStage(web=..., llm_config=...)``) and
    use ``run_stage``.

    A rollout that ends in ``llm_error`` (the endpoint still failing after the client's retries) is not written
    to ``out_path`` unless ``keep_llm_errors``: it goes to ``<out>.failed.jsonl`` for diagnosis and is retried by
    the next run. The summary counts it under ``failed``.

    Args:
        items: ``Question`` records (or flat dicts with ``id`` and ``question``, read as ``Question.from_item``);
            their ``metadata`` (a dict's other keys) is kept in ``Trajectory.metadata["item"]``.
        out_path: the JSONL of trajectories (appended to; ids already present are skipped).
        agent: the ``Agent`` for every item, or
        make_agent: ``Question -> Agent`` (e.g. one per item to vary settings).
        concurrency: rollouts in flight (per worker).
        progress: show a rich progress bar.
        limit: run at most this many of the pending items.
        config: the resolved settings, saved in the summary file (``<out>.summary.json``).
        write_summary: write ``<out>.summary.json``.
        keep_llm_errors: write ``llm_error`` rollouts as final results (they are then never retried).
        executor: an ``openseeker.executors.Executor`` (default: this process, ``concurrency`` in flight).

    Returns:
        ``{"out", "total", "done", "skipped", "pending", "stop_reasons", "tool_calls", "mean_tool_calls",
        "turns", "tokens", "wall_s", "rollouts_per_s", ...}``.
    """
    stage = AgentStage(out_path, agent=agent, make_agent=make_agent, keep_llm_errors=keep_llm_errors)
    return await run_stage(
        stage,
        items,
        concurrency=concurrency,
        progress=progress,
        limit=limit,
        config=config,
        write_summary=write_summary,
        executor=executor,
    )


async def run_stage(
    stage: AgentStage,
    items: Iterable[Question | dict[str, Any]],
    *,
    concurrency: int = 8,
    progress: bool = True,
    limit: int | None = None,
    config: dict[str, Any] | None = None,
    write_summary: bool = True,
    executor: Any = None,
    allow_mixed: bool = False,
) -> dict[str, Any]:
    """Run an ``AgentStage`` (or a subclass) over ``items`` on ``executor``; the summary (see ``run_batch``).
    ``allow_mixed``: resume an output made with another setup anyway (``io.check_setup``)."""
    with hold_output(stage.output):
        if concurrency < 1:
            raise UserError("--concurrency must be >= 1")
        items = validate_items(items)
        setup = stage.setup()
        if setup is not None:
            started = stage.shard_dir.exists() or (stage.output.exists() and stage.output.stat().st_size > 0)
            check_setup(stage.output, setup, has_records=started, allow_mixed=allow_mixed)
        if executor is None:
            executor = LocalExecutor(1, concurrency=concurrency, progress=progress, limit=limit)
        run = await executor.arun(stage, items)
        out_path = stage.out_path
        summary = batch_summary(run, out_path)
        summary["info"] = run.get("info") or {}
        extras = run["stats"]
        for key in ("llm_usage", "web_stats", "extractor"):
            if extras.get(key):
                summary[key] = extras[key]
        if write_summary:
            info_config = (run.get("info") or {}).get("config") or {}
            try:
                _write_summary(Path(out_path), summary, {**(config or {}), **info_config})
            except OSError as exc:
                log.warning("could not write the summary next to %s: %s", out_path, exc)
        return summary


def _write_summary(out_path: Path, summary: dict[str, Any], config: dict[str, Any] | None) -> None:
    import platform

    git = git_hash() or ""
    versions = package_versions(("openseeker", "openai", "httpx", "pydantic"), missing=False)
    blob = {
        "summary": summary,
        "config": config or {},
        "versions": versions,
        "git": git,
        "python": platform.python_version(),
    }
    path = out_path.with_name(out_path.name + ".summary.json")
    path.write_text(json.dumps(blob, indent=2, default=str), encoding="utf-8")


# --------------------------------------------------------------------------- the whole stage (CLI backend)


@dataclass
class AgentParts:
    """The pieces of one agent, built one way for every stage that runs it (``agent run``, ``synth traj``,
    ``eval run``): the role's LLM, the extractor that makes ``visit`` goal-conditioned (None: raw page text), the
    resolved settings and the ``Agent`` keyword arguments they give."""

    llm: LLM
    extractor: LLMExtractor | None
    settings: dict[str, Any]
    kwargs: dict[str, Any]

    def tools(self, web: Web) -> list[Any]:
        """The tools of ``agent.tools`` over ``web`` (``openseeker.agent.toolset``: search, visit, code_exec)."""
        return build_tools(
            self.settings.get("tools") or DEFAULT_TOOLS, ToolContext(web, self.extractor, self.settings)
        )

    def agent(self, web: Web, **overrides: Any) -> Agent:
        """The agent over ``web`` (``overrides``: Agent keyword arguments for this one, e.g. a per-run seed)."""
        return Agent(self.llm, self.tools(web), **{**self.kwargs, **overrides})


def agent_parts(llm: LLM, extractor_llm: LLM | None, s: dict[str, Any]) -> AgentParts:
    """``AgentParts`` from the role LLMs and resolved ``AgentSettings`` (a dict); ``extractor_llm`` is used only when
    ``s["extract"]``. The context budget defaults to the embedded server's n_ctx."""
    context_tokens = s["context_tokens"] or (llm.context_tokens if getattr(llm, "embedded", False) else None)
    extractor = None
    if s["extract"] and extractor_llm is not None and "visit" in (s.get("tools") or DEFAULT_TOOLS):
        extractor = LLMExtractor(
            extractor_llm, max_page_chars=s["extract_page_chars"], max_tokens=s.get("extract_max_tokens")
        )
    kwargs = {
        "max_tool_calls": s["max_tool_calls"],
        "max_turns": s["max_turns"],
        "context_tokens": context_tokens,
        "max_tokens_per_turn": s["max_tokens_per_turn"],
        "protocol": s["protocol"],
        "temperature": s["temperature"],
        "tool_timeout": s["tool_timeout"],
        "seed": s["seed"],
        "answer": s.get("answer") or "tag",
    }
    return AgentParts(llm, extractor, s, kwargs)


def build_agent_parts(pool: LLMPool, s: dict[str, Any], role: str) -> AgentParts:
    """``agent_parts`` with the role and the extractor taken from an open ``LLMPool``."""
    return agent_parts(pool.role(role), pool.role("extractor") if s["extract"] else None, s)


def sized_llm_config(llm_config: LLMConfig, roles: Iterable[str], concurrency: int) -> LLMConfig:
    """A copy of ``llm_config`` whose endpoints admit ``concurrency`` calls (one agent call per rollout in flight,
    plus visits): an endpoint limit below the rollouts in flight would only queue them."""
    llm_config = llm_config.model_copy(deep=True)
    for role in roles:
        ep = llm_config.role(role)
        ep.concurrency = max(ep.concurrency, int(concurrency))
    return llm_config


async def run_questions(
    web: WebSource,
    llm_config: LLMConfig,
    items: list[Question] | list[dict[str, Any]],
    out_path: str | os.PathLike,
    *,
    settings: dict[str, Any] | None = None,
    progress: bool = True,
    limit: int | None = None,
    web_config: Any = None,
    executor: Any = None,
    allow_mixed: bool = False,
) -> dict[str, Any]:
    """Run the agent (search + goal-conditioned visit) on ``items``: every worker opens the web and the LLM pool.

    Args:
        web: a web directory, ``"live"``, ``http://host:port`` (a remote ``openseeker serve``), or an opened
            ``Web`` (one worker only).
        llm_config: an ``LLMConfig`` (``openseeker.llm.config.resolve_llm_config``).
        items: ``Question`` records (``load_questions``; flat ``{id, question}`` dicts are read as well).
        out_path: the trajectories JSONL (resumable).
        settings: ``AgentSettings`` keys (see ``resolve_agent_settings``).
        progress: show a progress bar.
        limit: at most this many pending items.
        web_config: the live-web config for ``web="live"`` (see ``openseeker.web.live``).
        executor: an ``openseeker.executors.Executor`` (default: this process); see ``get_executor``.
        allow_mixed: resume ``out_path`` even if it was started with other settings or models.

    Returns:
        The batch summary plus per-role LLM usage and the resolved settings.
    """
    s = resolve_agent_settings(**(settings or {}))
    items = validate_items(items)
    check_tools(s)  # code_exec without a working sandbox: one line now, before any rollout
    await ensure_web_retrieval(web, s["retrieval"], config=web_config)  # one line now, not an error per search
    llm_config = sized_llm_config(llm_config, (s["role"], "extractor"), s["concurrency"])
    stage = AgentStage(out_path, web=web, llm_config=llm_config, settings=s, web_config=web_config)
    summary = await run_stage(
        stage,
        items,
        concurrency=s["concurrency"],
        progress=progress,
        limit=limit,
        executor=executor,
        allow_mixed=allow_mixed,
    )
    if summary.get("info", {}).get("protocol"):
        summary["protocol"] = summary["info"]["protocol"]
    return summary
