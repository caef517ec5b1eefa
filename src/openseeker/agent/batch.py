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

import asyncio
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from openseeker.agent.runtime import step_listener
from openseeker.errors import InputError, UserError
from openseeker.io import ResumableWriter, iter_jsonl
from openseeker.llm.cache import rollout_scope
from openseeker.records import Trajectory

log = logging.getLogger(__name__)


def load_questions(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Read a questions JSONL (each line has ``id`` and ``question``); duplicate ids are an ``InputError``."""
    items, seen = [], {}
    for lineno, obj in iter_jsonl(path, required=("id", "question")):
        _check_item(obj, str(path), lineno)
        key = str(obj["id"])
        if key in seen:
            raise InputError(f"duplicate id {key!r} (first on line {seen[key]})", path=str(path), line=lineno)
        seen[key] = lineno
        items.append(obj)
    return items


def _check_item(obj: Any, path: str | None = None, line: int | None = None) -> None:
    if not isinstance(obj, dict):
        raise InputError(f"an item must be an object with 'id' and 'question', got {type(obj).__name__}",
                         path=path, line=line)
    if obj.get("id") is None or str(obj["id"]).strip() == "":
        raise InputError("item has no 'id'", path=path, line=line)
    if not isinstance(obj.get("question"), str) or not obj["question"].strip():
        raise InputError(f"item {obj.get('id')!r}: 'question' must be a non-empty string", path=path, line=line)


def validate_items(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Check shape and uniqueness of ids (a clear ``UserError`` naming the duplicate)."""
    out, seen = [], set()
    for i, obj in enumerate(items):
        _check_item(obj, line=None)
        key = str(obj["id"])
        if key in seen:
            raise UserError(f"duplicate id {key!r} in the input (item {i}); ids must be unique")
        seen.add(key)
        out.append(obj)
    return out


class _Stats:
    def __init__(self) -> None:
        self.done = 0
        self.stop = Counter()
        self.tool_calls = 0
        self.turns = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.llm_s = 0.0
        self.tool_s = 0.0

    def add(self, t: Trajectory) -> None:
        self.done += 1
        self.stop[t.stop_reason] += 1
        self.tool_calls += t.num_tool_calls
        self.turns += t.num_turns
        for u in t.usage.values():
            self.prompt_tokens += int(u.get("prompt_tokens", 0))
            self.completion_tokens += int(u.get("completion_tokens", 0))
        for s in t.steps:
            self.llm_s += s.llm_s
            self.tool_s += s.tool_s


def failed_path(out_path: str | os.PathLike) -> Path:
    """Where rollouts that ended on LLM errors are kept for diagnosis (never read back as results)."""
    p = Path(out_path)
    return p.with_name(p.name + ".failed.jsonl")


def raise_if_failed(summary: dict[str, Any]) -> None:
    """For CLIs: rollouts that ended on LLM errors make the command fail (exit 1) with a one-line reason."""
    n = summary.get("failed") or 0
    if n:
        from openseeker.errors import LLMError

        raise LLMError(f"{n} rollout(s) ended on LLM errors and were not saved as results (first: "
                       f"{summary.get('failed_first_error')}); everything else is saved: fix the endpoint and "
                       "re-run the same command to retry them")


def _append_failed(out_path: str | os.PathLike, traj: Trajectory) -> None:
    with failed_path(out_path).open("a", encoding="utf-8") as fh:
        fh.write(traj.model_dump_json() + "\n")


async def run_batch(
    items: Iterable[dict[str, Any]],
    out_path: str | os.PathLike,
    *,
    agent: Any = None,
    make_agent: Callable[[dict[str, Any]], Any] | None = None,
    concurrency: int = 8,
    progress: bool = True,
    limit: int | None = None,
    config: dict[str, Any] | None = None,
    write_summary: bool = True,
    keep_llm_errors: bool = False,
) -> dict[str, Any]:
    """Run every item not yet in ``out_path``; return (and save next to it) a summary.

    A rollout that ends in ``llm_error`` (the endpoint still failing after the client's retries) is not written
    to ``out_path`` unless ``keep_llm_errors``: it goes to ``<out>.failed.jsonl`` for diagnosis and is retried by
    the next run. The summary counts it under ``failed``.

    Args:
        items: dicts with ``id`` and ``question``; other keys are kept in ``Trajectory.metadata["item"]``.
        out_path: the JSONL of trajectories (appended to; ids already present are skipped).
        agent: the ``Agent`` for every item, or
        make_agent: ``item -> Agent`` (e.g. one per item to vary settings).
        concurrency: rollouts in flight.
        progress: show a rich progress bar.
        limit: run at most this many of the pending items.
        config: the resolved settings, saved in the summary file (``<out>.summary.json``).
        write_summary: write ``<out>.summary.json``.
        keep_llm_errors: write ``llm_error`` rollouts as final results (they are then never retried).

    Returns:
        ``{"out", "total", "done", "skipped", "pending", "stop_reasons", "tool_calls", "mean_tool_calls",
        "turns", "tokens", "wall_s", "rollouts_per_s", ...}``.
    """
    if (agent is None) == (make_agent is None):
        raise UserError("run_batch needs exactly one of agent= or make_agent=")
    if concurrency < 1:
        raise UserError("--concurrency must be >= 1")
    items = validate_items(items)
    out_path = Path(out_path)
    t0 = time.perf_counter()
    writer = ResumableWriter(out_path)
    todo = [it for it in items if str(it["id"]) not in writer.done]
    skipped = len(items) - len(todo)
    if limit is not None:
        todo = todo[: max(limit, 0)]
    stats = _Stats()
    io_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="traj-writer")  # serial, off the loop
    loop = asyncio.get_running_loop()
    bar = _Bar(len(todo), enabled=progress and bool(todo))
    pending_iter = iter(todo)
    finished: list[Trajectory] = []  # done, not yet on disk
    failed: list[Trajectory] = []  # ended on LLM errors: not final, retried by the next run
    wake = asyncio.Event()
    closing = False

    async def flusher() -> None:
        # group commit: everything that finished while the previous fsync ran goes out with one fsync
        while True:
            if not finished:
                if closing:
                    return
                await wake.wait()
                wake.clear()
                continue
            batch = finished[:]
            finished.clear()
            await loop.run_in_executor(io_pool, writer.write_many, batch)
            for t in batch:
                stats.add(t)
                bar.advance(stats)

    flush_task = asyncio.create_task(flusher())

    async def worker() -> None:
        step_listener.set(bar.on_step)  # this task's rollouts report each step (turns, tool calls) to the bar
        for item in pending_iter:
            if flush_task.done():  # the writer failed (disk full, ...): stop, and surface its error
                flush_task.result()
                return
            a = agent if agent is not None else make_agent(item)
            extra = {k: v for k, v in item.items() if k not in ("id", "question")}
            with rollout_scope(str(item["id"])):  # the id joins LLM cache keys: no replay across items on resume
                traj = await a.run(item["question"], id=str(item["id"]),
                                   metadata={"item": extra} if extra else None)
            if traj.stop_reason == "llm_error" and not keep_llm_errors:
                # the endpoint failed after its retries: an infrastructure fault, not the agent's answer. Keep it
                # out of the output so a re-run retries it (the cache replays the calls that did succeed).
                failed.append(traj)
                _append_failed(out_path, traj)
                continue
            finished.append(traj)
            wake.set()

    interrupted = False
    workers = [asyncio.create_task(worker()) for _ in range(min(concurrency, len(todo)))]
    try:
        if workers:
            await asyncio.gather(*workers)
    except BaseException:
        interrupted = True
        for w in workers:
            w.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        raise
    finally:
        closing = True  # write what already finished (also on Ctrl-C), then stop the writer
        wake.set()
        try:
            await flush_task
        finally:
            if finished:  # the writer task died: last chance, synchronously
                writer.write_many(finished)
                for t in finished:
                    stats.add(t)
                finished.clear()
            io_pool.shutdown(wait=True)  # finish the write in progress: never a torn line on Ctrl-C
            writer.close()
            bar.close()
        wall = time.perf_counter() - t0
        summary = {
            "out": str(out_path),
            "total": len(items),
            "done": stats.done,
            "skipped": skipped,
            "pending": len(items) - skipped - stats.done,
            "interrupted": interrupted,
            "stop_reasons": dict(stats.stop),
            "tool_calls": stats.tool_calls,
            "mean_tool_calls": round(stats.tool_calls / stats.done, 2) if stats.done else 0.0,
            "turns": stats.turns,
            "tokens": {"prompt": stats.prompt_tokens, "completion": stats.completion_tokens},
            "llm_s": round(stats.llm_s, 3),
            "tool_s": round(stats.tool_s, 3),
            "wall_s": round(wall, 3),
            "rollouts_per_s": round(stats.done / wall, 3) if wall > 0 else 0.0,
            "failed": len(failed),
        }
        if failed:
            first = failed[0].metadata.get("error") or (failed[0].metadata.get("errors") or ["?"])[0]
            summary["failed_ids"] = [t.id for t in failed]
            summary["failed_first_error"] = str(first)
            log.warning("%d rollout(s) ended on LLM errors and were NOT written to %s (details in %s); re-run the "
                        "same command to retry them. First error: %s", len(failed), out_path,
                        failed_path(out_path), first)
        if write_summary:
            try:
                _write_summary(out_path, summary, config)
            except OSError as exc:
                log.warning("could not write the summary next to %s: %s", out_path, exc)
    return summary


def _write_summary(out_path: Path, summary: dict[str, Any], config: dict[str, Any] | None) -> None:
    import platform
    import subprocess

    try:
        git = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        git = ""
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for pkg in ("openseeker", "openai", "httpx", "pydantic"):
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    blob = {"summary": summary, "config": config or {}, "versions": versions, "git": git,
            "python": platform.python_version()}
    path = out_path.with_name(out_path.name + ".summary.json")
    path.write_text(json.dumps(blob, indent=2, default=str), encoding="utf-8")


class _Bar:
    """A rich progress bar: finished rollouts, plus the turns and tool calls made so far (in-flight rollouts
    included, so a long rollout visibly progresses) and the stop reasons (no-op when disabled)."""

    def __init__(self, total: int, enabled: bool):
        self.progress = None
        self.turns = self.calls = 0
        self.stops = ""
        if not enabled:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(TextColumn("[bold]agent[/]"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.description}"))
        self.task = self.progress.add_task("", total=total)
        self.progress.start()

    def description(self) -> str:
        return f"turns {self.turns}, tool calls {self.calls}" + (f" | {self.stops}" if self.stops else "")

    def on_step(self, traj: Trajectory, step: Any) -> None:
        self.turns += 1
        self.calls += len(step.tool_calls)
        if self.progress is not None:
            self.progress.update(self.task, description=self.description())

    def advance(self, stats: _Stats) -> None:
        self.stops = " ".join(f"{k}={v}" for k, v in sorted(stats.stop.items()))
        if self.progress is None:
            return
        self.progress.update(self.task, advance=1, description=self.description())

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


# --------------------------------------------------------------------------- the whole stage (CLI backend)

AGENT_SETTINGS = {
    "role": "student",  # the LLM role that plays the agent ("teacher" for trajectory synthesis endpoints)
    "protocol": "auto",  # auto | text | native | json
    "max_tool_calls": 200,
    "max_turns": None,
    "context_tokens": None,  # None: the embedded n_ctx, else 131072
    "max_tokens_per_turn": None,
    "concurrency": 8,
    "extract": True,  # goal-conditioned visit with the extractor role; False = raw page text
    "visit_max_chars": 20_000,  # raw-text visit budget (and the fallback)
    "search_top_k": 10,  # results per query shown by the search tool
    "extract_page_chars": None,  # page budget of the extractor (None: from its context)
    "extract_max_tokens": None,  # generation limit of one extraction (None: the extractor role's max_tokens)
    "temperature": None,
    "tool_timeout": 600.0,
    "seed": None,
}


def agent_section(config: str | os.PathLike | None) -> dict[str, Any]:
    """The ``agent:`` section of a YAML config (``{}`` without one); unknown keys are a ``UserError``."""
    if config is None:
        return {}
    import yaml

    path = Path(config).expanduser()
    if not path.exists():
        raise UserError(f"{path}: no such config file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: invalid YAML: {exc}") from None
    section = (data or {}).get("agent") or {}
    if not isinstance(section, dict):
        raise UserError(f"{path}: agent: must be a mapping")
    unknown = sorted(set(section) - set(AGENT_SETTINGS))
    if unknown:
        raise UserError(f"{path}: unknown key(s) in agent: {', '.join(unknown)}; known: "
                        f"{', '.join(AGENT_SETTINGS)}")
    return section


def resolve_agent_settings(config: str | os.PathLike | None = None, **cli: Any) -> dict[str, Any]:
    """Defaults < the ``agent:`` section of the YAML config < CLI values that were given (not None)."""
    settings = dict(AGENT_SETTINGS)
    settings.update(agent_section(config))
    unknown = sorted(set(cli) - set(AGENT_SETTINGS))
    if unknown:
        raise UserError(f"unknown agent setting(s): {', '.join(unknown)}")
    settings.update({k: v for k, v in cli.items() if v is not None})
    return settings


def build_agent_parts(pool: Any, llm_config: Any, web_obj: Any, s: dict[str, Any], role: str) -> tuple:
    """The pieces every agent run needs, built one way for ``agent run``, trajectory synthesis and friends.

    Returns:
        ``(llm, tools, extractor, agent_kwargs)``: the role's LLM, the search/visit tools (visit goal-conditioned by
        the extractor role when ``s["extract"]``), the extractor (or None) and the ``Agent`` keyword arguments
        resolved from the settings (the context budget defaults to the embedded server's n_ctx).
    """
    from openseeker.agent.extract import LLMExtractor
    from openseeker.web.tools import SearchTool, VisitTool

    llm = pool.role(role)
    embedded_ctx = llm_config.embedded.n_ctx
    context_tokens = s["context_tokens"] or (embedded_ctx if llm.endpoint.embedded else None)
    extractor = None
    if s["extract"]:
        extractor = LLMExtractor(pool.role("extractor"), max_page_chars=s["extract_page_chars"],
                                 max_tokens=s.get("extract_max_tokens"))
    tools = [SearchTool(web_obj, top_k=s.get("search_top_k") or 10),
             VisitTool(web_obj, extractor=extractor, max_chars=s["visit_max_chars"])]
    agent_kwargs = {"max_tool_calls": s["max_tool_calls"], "max_turns": s["max_turns"],
                    "context_tokens": context_tokens, "max_tokens_per_turn": s["max_tokens_per_turn"],
                    "protocol": s["protocol"], "temperature": s["temperature"], "tool_timeout": s["tool_timeout"],
                    "seed": s["seed"]}
    return llm, tools, extractor, agent_kwargs


async def run_questions(
    web: Any,
    llm_config: Any,
    items: list[dict[str, Any]],
    out_path: str | os.PathLike,
    *,
    settings: dict[str, Any] | None = None,
    progress: bool = True,
    limit: int | None = None,
    web_config: Any = None,
) -> dict[str, Any]:
    """Open the web and the LLM pool, build the agent (search + goal-conditioned visit), run the batch.

    Args:
        web: a web directory, ``"live"``, or an opened ``Web``.
        llm_config: an ``LLMConfig`` (``openseeker.llm.config.resolve_llm_config``).
        items: questions (``id``, ``question``).
        out_path: the trajectories JSONL (resumable).
        settings: ``AGENT_SETTINGS`` keys (see ``resolve_agent_settings``).
        progress: show a progress bar.
        limit: at most this many pending items.
        web_config: the live-web config for ``web="live"`` (see ``openseeker.web.live``).

    Returns:
        The batch summary plus per-role LLM usage and the resolved settings.
    """
    from openseeker.agent.runtime import Agent
    from openseeker.llm.pool import LLMPool
    from openseeker.web.open import open_web

    s = resolve_agent_settings(**(settings or {}))
    items = validate_items(items)
    llm_config = llm_config.model_copy(deep=True)
    # every rollout may have one agent call and up to 8 visits in flight: size the endpoints' limits for it
    for role, need in ((s["role"], s["concurrency"]), ("extractor", s["concurrency"])):
        ep = llm_config.role(role)
        ep.concurrency = max(ep.concurrency, int(need))
    opened = isinstance(web, (str, os.PathLike))
    web_obj = open_web(web, config=web_config) if opened else web
    try:
        async with LLMPool(llm_config) as pool:
            llm, tools, extractor, agent_kwargs = build_agent_parts(pool, llm_config, web_obj, s, s["role"])
            agent = Agent(llm, tools, **agent_kwargs)
            config = {"agent": {**s, "protocol_resolved": agent.protocol, "context_tokens": agent.context_tokens},
                      "llm": pool.describe(), "web": str(web) if opened else getattr(web_obj, "name", "")}
            summary = await run_batch(items, out_path, agent=agent, concurrency=s["concurrency"], progress=progress,
                                      limit=limit, config=config)
            summary["llm_usage"] = {r: u.model_dump(include={"prompt_tokens", "completion_tokens", "calls"})
                                    for r, u in pool.usage().items() if u.calls}
            summary["protocol"] = agent.protocol
            web_stats = getattr(web_obj, "stats", None)  # live backends: calls, cache hits, errors, blocked, cost
            if callable(web_stats):
                summary["web_stats"] = web_stats()
            if extractor is not None:
                summary["extractor"] = dict(extractor.stats)
    finally:
        if opened:
            web_obj.close()
    return summary
