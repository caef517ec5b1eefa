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

import copy
import json
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openseeker.agent.extract import LLMExtractor
from openseeker.agent.runtime import Agent, step_listener
from openseeker.agent.settings import resolve_agent_settings
from openseeker.errors import InputError, LLMError, UserError
from openseeker.executors.base import Outcome, Stage, Stream
from openseeker.executors.local import LocalExecutor
from openseeker.io import iter_jsonl
from openseeker.llm.cache import rollout_scope
from openseeker.llm.pool import LLMPool
from openseeker.provenance import git_hash, package_versions
from openseeker.records import Question, Trajectory
from openseeker.web.open import close_web, ensure_web_retrieval, open_web
from openseeker.web.tools import SearchTool, VisitTool

if TYPE_CHECKING:
    from openseeker.agent.runtime import Agent
    from openseeker.llm.config import LLMConfig
    from openseeker.llm.pool import LLMPool
    from openseeker.web.base import Web, WebSource

log = logging.getLogger(__name__)


def load_questions(path: str | os.PathLike) -> list[Question]:
    """Read a questions JSONL (each line has ``id`` and ``question``; other keys go to ``Question.metadata``);
    duplicate ids are an ``InputError``."""
    items, seen = [], {}
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
    """For CLIs: rollouts that ended on LLM errors make the command fail (exit 1) with a one-line reason."""
    n = summary.get("failed") or 0
    if n:
        raise LLMError(
            f"{n} rollout(s) ended on LLM errors and were not saved as results (first: "
            f"{summary.get('failed_first_error')}); everything else is saved: fix the endpoint and "
            "re-run the same command to retry them"
        )


class AgentStage(Stage):
    """Agent rollouts on the executor: one ``Trajectory`` per item in ``out_path`` (keyed by ``id``).

    Give ``agent`` / ``make_agent`` (live objects: in-process only) or a picklable ``factory`` whose async context
    ``factory.open()`` yields an ``AgentContext`` in every worker (``AgentFactory``: web + LLM pool + agent).
    """

    name = "agent"

    def __init__(
        self,
        out_path: str | os.PathLike,
        *,
        agent: Agent | None = None,
        make_agent: Callable[[Question], Agent] | None = None,
        factory: Any = None,
        keep_llm_errors: bool = False,
    ):
        if sum(x is not None for x in (agent, make_agent, factory)) != 1:
            raise UserError("run_batch needs exactly one of agent= or make_agent=")
        self.out_path = Path(out_path)
        self.agent, self.make_agent, self.factory = agent, make_agent, factory
        self.keep_llm_errors = keep_llm_errors
        self._ctx: Any = None
        # turns and tool calls of every step so far, in-flight rollouts included (shared with the copies open()
        # makes): the progress bar shows them, so a long rollout visibly progresses
        self._live = [0, 0]

    @property
    def streams(self) -> dict[str, Stream]:
        return {"trajectories": Stream(self.out_path)}

    @asynccontextmanager
    async def open(self) -> AsyncIterator[AgentStage]:
        if self.factory is None:
            yield self
            return
        async with self.factory.open() as ctx:
            ready = copy.copy(self)
            ready._ctx, ready.make_agent = ctx, ctx.make_agent
            yield ready

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
            if self._ctx is not None and self._ctx.solve is not None:
                traj = await self._ctx.solve(question)
            else:
                a = self.agent if self.agent is not None else self.make_agent(question)
                extra = question.metadata
                traj = await a.run(question.question, id=question.id, metadata={"item": extra} if extra else None)
        if traj.stop_reason == "llm_error" and not self.keep_llm_errors:
            # the endpoint failed after its retries: an infrastructure fault, not the agent's answer. Keep it
            # out of the output so a re-run retries it (the cache replays the calls that did succeed).
            error = traj.metadata.get("error") or (traj.metadata.get("errors") or ["?"])[0]
            return Outcome(failed=traj, error=str(error))
        return Outcome(records={"trajectories": [traj]}, stats=trajectory_stats(traj))

    def worker_stats(self) -> dict[str, Any]:
        return self._ctx.stats() if self._ctx is not None else {}

    def worker_info(self) -> dict[str, Any]:
        return self._ctx.info() if self._ctx is not None else {}

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
            "%d rollout(s) ended on LLM errors and were NOT written to %s (details in %s); re-run the "
            "same command to retry them. First error: %s",
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
    factory: Any = None,
    concurrency: int = 8,
    progress: bool = True,
    limit: int | None = None,
    config: dict[str, Any] | None = None,
    write_summary: bool = True,
    keep_llm_errors: bool = False,
    executor: Any = None,
) -> dict[str, Any]:
    """Run every item not yet in ``out_path`` on the executor; return (and save next to it) a summary.

    A rollout that ends in ``llm_error`` (the endpoint still failing after the client's retries) is not written
    to ``out_path`` unless ``keep_llm_errors``: it goes to ``<out>.failed.jsonl`` for diagnosis and is retried by
    the next run. The summary counts it under ``failed``.

    Args:
        items: ``Question`` records (or flat dicts with ``id`` and ``question``, read as ``Question.from_item``);
            their ``metadata`` (a dict's other keys) is kept in ``Trajectory.metadata["item"]``.
        out_path: the JSONL of trajectories (appended to; ids already present are skipped).
        agent: the ``Agent`` for every item, or
        make_agent: ``Question -> Agent`` (e.g. one per item to vary settings), or
        factory: a picklable ``AgentFactory``-like object (needed for several workers).
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

    stage = AgentStage(out_path, agent=agent, make_agent=make_agent, factory=factory, keep_llm_errors=keep_llm_errors)
    if concurrency < 1:
        raise UserError("--concurrency must be >= 1")
    items = validate_items(items)
    if executor is None:
        executor = LocalExecutor(1, concurrency=concurrency, progress=progress, limit=limit)
    run = await executor.arun(stage, items)
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


def build_agent_parts(pool: LLMPool, llm_config: LLMConfig, web_obj: Web, s: dict[str, Any], role: str) -> tuple:
    """The pieces every agent run needs, built one way for ``agent run``, trajectory synthesis and friends.

    Returns:
        ``(llm, tools, extractor, agent_kwargs)``: the role's LLM, the search/visit tools (visit goal-conditioned by
        the extractor role when ``s["extract"]``), the extractor (or None) and the ``Agent`` keyword arguments
        resolved from the settings (the context budget defaults to the embedded server's n_ctx).
    """

    llm = pool.role(role)
    context_tokens = s["context_tokens"] or (llm.context_tokens if llm.embedded else None)
    extractor = None
    if s["extract"]:
        extractor = LLMExtractor(
            pool.role("extractor"), max_page_chars=s["extract_page_chars"], max_tokens=s.get("extract_max_tokens")
        )
    tools = [
        SearchTool(web_obj, top_k=s.get("search_top_k") or 10, retrieval=s.get("retrieval")),
        VisitTool(web_obj, extractor=extractor, max_chars=s["visit_max_chars"]),
    ]
    agent_kwargs = {
        "max_tool_calls": s["max_tool_calls"],
        "max_turns": s["max_turns"],
        "context_tokens": context_tokens,
        "max_tokens_per_turn": s["max_tokens_per_turn"],
        "protocol": s["protocol"],
        "temperature": s["temperature"],
        "tool_timeout": s["tool_timeout"],
        "seed": s["seed"],
    }
    return llm, tools, extractor, agent_kwargs


class AgentContext:
    """What a worker's ``AgentFactory.open()`` yields: the agent per item (``make_agent``) or, for stages that do
    more than one agent run per question (trajectory synthesis: rollout + labelling), ``solve``: ``Question ->
    Trajectory``; plus its counters for the summary."""

    def __init__(
        self,
        make_agent: Callable[[Question], Agent] | None,
        stats: Callable[[], dict[str, Any]],
        info: Callable[[], dict[str, Any]],
        solve: Callable[[Question], Awaitable[Trajectory]] | None = None,
    ):
        self.make_agent, self.stats, self.info, self.solve = make_agent, stats, info, solve


def pool_usage(pool: LLMPool) -> dict[str, Any]:
    """Per-role tokens and calls of an ``LLMPool`` (roles that made calls only)."""
    return {
        r: u.model_dump(include={"prompt_tokens", "completion_tokens", "calls"})
        for r, u in pool.usage().items()
        if u.calls
    }


class AgentFactory:
    """Picklable recipe of ``agent run``'s agent: every worker opens the web and an LLM pool and builds it.

    Args:
        web: a web directory, ``"live"``, an ``http://host:port`` ``openseeker serve`` address, or an opened
            ``Web`` (in-process only).
        llm_config: an ``LLMConfig``.
        settings: resolved ``AgentSettings`` (as a dict).
        web_config: the live-web config for ``web="live"``.
    """

    def __init__(self, web: WebSource, llm_config: LLMConfig, settings: dict[str, Any], web_config: Any = None):
        self.web, self.llm_config, self.settings, self.web_config = web, llm_config, settings, web_config

    @asynccontextmanager
    async def open(self) -> AsyncIterator[AgentContext]:

        s, web = self.settings, self.web
        opened = isinstance(web, (str, os.PathLike))
        web_obj = open_web(web, config=self.web_config) if opened else web
        try:
            async with LLMPool(self.llm_config) as pool:
                llm, tools, extractor, agent_kwargs = build_agent_parts(pool, self.llm_config, web_obj, s, s["role"])
                agent = Agent(llm, tools, **agent_kwargs)

                def stats() -> dict[str, Any]:
                    out: dict[str, Any] = {"llm_usage": pool_usage(pool)}
                    web_stats = getattr(web_obj, "stats", None)  # live backends: calls, cache hits, errors, cost
                    if callable(web_stats):
                        out["web_stats"] = web_stats()
                    if extractor is not None:
                        out["extractor"] = dict(extractor.stats)
                    return out

                def info() -> dict[str, Any]:
                    return {
                        "protocol": agent.protocol,
                        "config": {
                            "agent": {
                                **s,
                                "protocol_resolved": agent.protocol,
                                "context_tokens": agent.context_tokens,
                            },
                            "llm": pool.describe(),
                            "web": str(web) if opened else getattr(web_obj, "name", ""),
                        },
                    }

                yield AgentContext(lambda item: agent, stats, info)
        finally:
            if opened:
                await close_web(web_obj)


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

    Returns:
        The batch summary plus per-role LLM usage and the resolved settings.
    """
    s = resolve_agent_settings(**(settings or {}))
    items = validate_items(items)

    await ensure_web_retrieval(web, s["retrieval"], config=web_config)  # one line now, not an error per search
    llm_config = sized_llm_config(llm_config, (s["role"], "extractor"), s["concurrency"])
    factory = AgentFactory(web, llm_config, s, web_config)
    summary = await run_batch(
        items,
        out_path,
        factory=factory,
        concurrency=s["concurrency"],
        progress=progress,
        limit=limit,
        executor=executor,
    )
    if summary.get("info", {}).get("protocol"):
        summary["protocol"] = summary["info"]["protocol"]
    return summary
