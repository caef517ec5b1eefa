"""``evaluate``: run the agent (student role) on a benchmark subset n times, judge every answer, write resumable
per-question records, trajectories and the report.

Output directory layout::

    out/config.json         resolved configuration, subset, versions, git hash (written on every (re)start)
    out/results.jsonl       one record per (question, run), keyed "{id}#{run}" (resumable)
    out/trajectories.jsonl  the agent trajectories, same keys (resumable)
    out/report.json/.md     the report; out/plots/*.png
    out/web/                for multi-hop benchmarks without --web: the local web built from the paragraphs

Interrupting and re-running the same command continues where it stopped (no duplicates, no gaps).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openseeker.agent import prompts
from openseeker.agent.extract import LLMExtractor
from openseeker.agent.runtime import Agent
from openseeker.errors import LLMError, UserError
from openseeker.eval import DEFAULT_MAX_TOOL_CALLS
from openseeker.eval.leakage import DEFAULT_BLOCKLIST, DomainBlocklist, GuardedWeb
from openseeker.eval.loaders import get_spec, load_benchmark, resolve_path
from openseeker.eval.loaders.multihop import multihop_pages
from openseeker.eval.report import write_report
from openseeker.eval.settings import EvalSettings
from openseeker.eval.stage import EvalFactory, EvalStage
from openseeker.eval.widesearch import WIDESEARCH_JUDGE_VERSION, evaluate_table
from openseeker.executors.local import LocalExecutor
from openseeker.io import write_jsonl
from openseeker.llm import judge as judge_mod
from openseeker.metrics import style_for_language
from openseeker.provenance import git_hash, provenance
from openseeker.records import EvalItem, EvalResult, Trajectory
from openseeker.web.base import ensure_retrieval
from openseeker.web.build import build_web
from openseeker.web.open import open_web
from openseeker.web.tools import SearchTool, VisitTool

if TYPE_CHECKING:
    from openseeker.llm.base import LLM
    from openseeker.llm.config import LLMConfig
    from openseeker.llm.pool import LLMPool
    from openseeker.web.base import Web

log = logging.getLogger(__name__)

RESULTS = "results.jsonl"
TRAJECTORIES = "trajectories.jsonl"
CONFIG = "config.json"
EVAL_VERSION = "eval/v1"


@dataclass
class Roles:
    """The LLMs of a run: ``student`` answers, ``judge`` grades (None: normalized match), ``extractor`` reads
    pages for the visit tool (None: raw page text). ``describe`` is provenance for config.json."""

    student: LLM
    judge: LLM | None = None
    extractor: LLM | None = None
    describe: dict[str, Any] = field(default_factory=dict)
    usage: Callable[[], dict[str, Any]] | None = None


# --------------------------------------------------------------------------- provenance


def versions() -> dict[str, str]:
    """Python, platform and the versions of the packages an eval result depends on (``openseeker.provenance``)."""
    info = provenance(("openseeker", "openai", "pydantic", "tantivy", "xllamacpp"), git=False)
    return {
        "python": info["python"],
        "platform": info["platform"],
        **{name: v for name, v in info["packages"].items() if v is not None},
    }


def _prompt_versions() -> dict[str, str]:
    out = {"judge": judge_mod.PROMPT_VERSION, "normalized": judge_mod.NORMALIZED_VERSION, "eval": EVAL_VERSION}

    out["agent"] = prompts.PROMPT_VERSION

    out["widesearch_cells"] = WIDESEARCH_JUDGE_VERSION
    return out


# --------------------------------------------------------------------------- web


def prepare_web(
    spec_kind: str,
    family: str,
    data_path: Path,
    web: str | None,
    out_dir: Path,
    progress: bool = True,
    web_config: str | None = None,
) -> tuple[Any, str]:
    """Open ``web`` (a directory or ``live``); for multi-hop benchmarks without ``web``, build (or reuse) a local
    web from the file's paragraphs under ``out_dir/web``. Returns ``(web, description)``."""

    if web:
        if web == "live":
            return open_web(web, config=web_config), "live" + (f" ({web_config})" if web_config else "")
        return open_web(web), str(web)
    if spec_kind != "multihop":
        raise UserError("--web DIR|live is required for this benchmark (only multi-hop sets bring their own web)")

    web_dir = out_dir / "web"
    source = out_dir / "web-source.jsonl"
    pages = multihop_pages(data_path, family)
    rows = [{"url": p.url, "title": p.title, "text": p.text, "source": p.source} for p in pages]
    # rewrite the source only when it changed, so build_web sees the same fingerprint and reuses the web
    blob = "\n".join(json.dumps(r, ensure_ascii=False, sort_keys=True) for r in rows) + "\n"
    if not source.exists() or source.read_text(encoding="utf-8") != blob:
        write_jsonl(source, rows)
    build_web(source, web_dir, progress=progress)
    return open_web(web_dir), f"local:{web_dir} ({len(pages)} pages from {data_path.name})"


# --------------------------------------------------------------------------- one question


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


async def run_one(
    item: EvalItem,
    run: int,
    *,
    roles: Roles,
    web: Web,
    settings: EvalSettings,
    guard: bool,
    blocklist: DomainBlocklist,
    existing: Trajectory | None = None,
) -> tuple[Trajectory, dict]:
    """Run the agent on one question (or reuse its saved trajectory) and grade it; returns (trajectory, record)."""

    key = f"{item.id}#{run}"
    item_web = (
        GuardedWeb(web, question=item.question, answers=item.answers, blocklist=blocklist, n=settings.ngram)
        if guard
        else web
    )
    if existing is not None:
        traj = existing
    else:
        tools = [SearchTool(item_web, retrieval=settings.retrieval), VisitTool(item_web, extractor=roles.extractor)]
        agent = Agent(
            roles.student,
            tools,
            max_tool_calls=settings.max_tool_calls,
            max_turns=settings.max_turns,
            **settings.agent_options,
        )
        traj = await agent.run(
            item.question, id=key, metadata={"benchmark": item.benchmark, "item_id": item.id, "run": run}
        )
    answer = traj.final_answer or ""
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
        leakage=item_web.stats.as_dict() if guard else None,
        error=traj.metadata.get("error") or (traj.metadata.get("errors") or [None])[0],
    )
    if item.metadata.get("task") == "table":
        ws = await evaluate_table(answer, item.metadata["gold_csv"], item.metadata["evaluation"], roles.judge)
        result = EvalResult(**fields, widesearch=ws, verdict=None, correct=bool(ws["success"]), score=ws["item_f1"])
    else:
        verdict = await judge_mod.judge_answer(
            item.question, item.answers, answer, roles.judge, answer_metric=style_for_language(item.language)
        )
        result = EvalResult(
            **fields,
            verdict=verdict.model_dump(),
            correct=verdict.correct,
            score=None if verdict.correct is None else float(verdict.correct),
        )
    record = result.as_row()
    return traj, record


# --------------------------------------------------------------------------- the run


def _check_resume(out_dir: Path, cfg: dict[str, Any]) -> None:
    prev_path = out_dir / CONFIG
    if not prev_path.exists() or not (out_dir / RESULTS).exists():
        return
    try:
        prev = json.loads(prev_path.read_text(encoding="utf-8"))
    except ValueError:
        return
    keys = [
        ("settings", "benchmark"),
        ("settings", "judge"),
        ("settings", "max_tool_calls"),
        ("settings", "retrieval"),
        ("models", "student"),
        ("models", "judge"),
        ("prompt_versions", "judge"),
    ]
    for a, b in keys:
        old, new = (prev.get(a) or {}).get(b), (cfg.get(a) or {}).get(b)
        if old is not None and new is not None and old != new:
            raise UserError(
                f"{out_dir} holds a run with {a}.{b}={old!r} (now {new!r}); use another --out, or "
                "delete the directory to start over"
            )


def _model_of(llm: LLM | None) -> str | None:
    return None if llm is None else (getattr(llm, "model", None) or type(llm).__name__)


async def evaluate_async(
    settings: EvalSettings,
    out_dir: str | Path,
    *,
    roles: Roles | None = None,
    llm_config: LLMConfig | None = None,
    progress: bool = True,
    items: list[EvalItem] | None = None,
    web_obj: Web | None = None,
    grade_only: dict[str, Any] | None = None,
    executor: Any = None,
) -> dict[str, Any]:
    """Run an evaluation; returns the report dict (also written to ``out_dir``).

    Args:
        settings: benchmark, subset, runs, judge mode, tool budget, leakage guard.
        out_dir: output directory (resumable).
        roles: ready LLMs (tests, embedding in other programs); otherwise ``llm_config`` is started in an
            ``LLMPool``.
        llm_config: an ``LLMConfig`` (from ``resolve_llm_config``); default: ``resolve_llm_config()``.
        progress: show a progress bar.
        items: the questions (default: loaded from ``settings.benchmark``/``settings.path`` with the subset).
        web_obj: a ready ``Web`` (default: opened from ``settings.web``).
        grade_only: regrade mode (see ``regrade``): ``{"source": dir, "models": {...}}``; only question-runs with
            a saved trajectory are graded, the agent never runs.
        executor: an ``openseeker.executors.Executor``; with several workers (``--workers``/``--executor ray``)
            each opens the web and its own LLM pool from ``llm_config`` (not with ready ``roles``).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    spec = get_spec(settings.benchmark)
    data_path = resolve_path(spec, settings.path or None) if (items is None or settings.path) else Path("-")
    if items is None:
        items = load_benchmark(spec.name, data_path, limit=settings.limit, sample=settings.sample, seed=settings.seed)
    if not items:
        raise UserError("the subset is empty: nothing to evaluate")
    owns_web = web_obj is None
    if grade_only is not None and web_obj is None:
        web_obj, web_desc = None, "(regrade: no web needed)"
    elif web_obj is None:
        web_obj, web_desc = prepare_web(
            spec.kind, spec.name, data_path, settings.web or None, out, progress, settings.web_config
        )
    else:
        web_desc = getattr(web_obj, "name", type(web_obj).__name__)
    is_live = str(settings.web) == "live"
    guard = settings.leakage_guard == "on" or (settings.leakage_guard == "auto" and is_live)
    blocklist = DomainBlocklist(settings.blocklist)
    if grade_only is not None and roles is None and settings.judge == "none":
        roles = Roles(student=None)
    try:
        if web_obj is not None and grade_only is None:
            await ensure_retrieval(web_obj, settings.retrieval)
        if roles is not None:
            return await _run(
                settings, out, spec, data_path, items, web_obj, web_desc, guard, blocklist, roles, progress, grade_only
            )
        from openseeker.llm.config import resolve_llm_config
        from openseeker.llm.pool import LLMPool

        cfg = llm_config if llm_config is not None else resolve_llm_config()
        if settings.runs > 1 and "student" in cfg.roles:  # n sampled runs must not be collapsed by the cache
            cfg.roles["student"].cache = False
        factory = None
        if executor is not None and executor.workers > 1 and grade_only is None:
            factory = EvalFactory(cfg, settings.judge, settings.web or str(out / "web"), settings.web_config)
        async with LLMPool(cfg) as pool:
            return await _run(
                settings,
                out,
                spec,
                data_path,
                items,
                web_obj,
                web_desc,
                guard,
                blocklist,
                pool_roles(pool, settings.judge),
                progress,
                grade_only,
                executor,
                factory,
            )
    finally:
        if owns_web and web_obj is not None:
            try:
                web_obj.close()
            except Exception as exc:  # noqa: BLE001
                log.debug("closing web: %s", exc)


def pool_roles(pool: LLMPool, judge: str) -> Roles:
    """The ``Roles`` of an evaluation from an open ``LLMPool`` (the judge role only for ``judge == "llm"``)."""

    return Roles(
        student=pool.role("student"),
        judge=pool.role("judge") if judge == "llm" else None,
        extractor=LLMExtractor(pool.role("extractor")),
        describe=pool.describe(),
        usage=lambda: {k: v.model_dump() for k, v in pool.usage().items()},
    )


async def _run(
    settings: EvalSettings,
    out: Path,
    spec: Any,
    data_path: Path,
    items: list[EvalItem],
    web: Web,
    web_desc: str,
    guard: bool,
    blocklist: DomainBlocklist,
    roles: Roles,
    progress: bool,
    grade_only: dict[str, Any] | None = None,
    executor: Any = None,
    factory: Any = None,
) -> dict:
    from dataclasses import asdict

    if settings.judge == "none":
        roles.judge = None
    cfg = {
        "kind": "eval_config",
        "settings": asdict(settings),
        "benchmark": {"name": spec.name, "kind": spec.kind, "path": str(data_path), "description": spec.description},
        "subset": {
            "limit": settings.limit,
            "sample": settings.sample,
            "seed": settings.seed,
            "n_items": len(items),
            "ids": [it.id for it in items],
        },
        "web": web_desc,
        "leakage_guard": {"enabled": guard, "blocklist": settings.blocklist if guard else [], "ngram": settings.ngram},
        "models": {
            "student": _model_of(roles.student),
            "judge": _model_of(roles.judge) or "none",
            "extractor": _model_of(roles.extractor.llm)
            if hasattr(roles.extractor, "llm")
            else _model_of(roles.extractor),
        },
        "llm": roles.describe,
        "prompt_versions": _prompt_versions(),
        "versions": versions(),
        "git_hash": git_hash(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if grade_only is not None:  # the answers come from another run: keep its models, note the source
        cfg["regraded_from"] = grade_only["source"]
        cfg["models"] = {**(grade_only.get("models") or {}), "judge": cfg["models"]["judge"]}
        cfg["web"] = grade_only.get("web", cfg["web"])
    try:
        from openseeker.agent import prompts

        cfg["prompts"] = {
            "judge": judge_mod.GRADER_PROMPT,
            "agent_system": prompts.system_prompt_for("text", [], None)
            if hasattr(prompts, "system_prompt_for")
            else None,
        }
    except Exception:  # noqa: BLE001 - provenance only
        cfg["prompts"] = {"judge": judge_mod.GRADER_PROMPT}
    _check_resume(out, cfg)
    (out / CONFIG).write_text(json.dumps(cfg, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")

    stage = EvalStage(
        out,
        bench=spec.name,
        roles=roles,
        web=web,
        settings=settings,
        guard=guard,
        blocklist=blocklist,
        grade_only=grade_only,
        factory=factory,
    )
    todo = stage.prepare(items)
    log.info(
        "%s: %d question-runs to do (%d already done)", spec.name, len(todo), len(items) * settings.runs - len(todo)
    )
    if factory is None:
        executor = LocalExecutor(1, concurrency=settings.concurrency, progress=progress)
    run = await executor.arun(stage, todo)
    if factory is not None and run["stats"].get("usage"):
        roles.usage = lambda: run["stats"]["usage"]  # the workers' pools made the calls
    web_stats = getattr(web, "stats", None)  # live backends: calls, cache hits/misses, errors, blocked, cost
    if callable(web_stats):
        cfg["web_stats"] = web_stats()
    if roles.usage is not None or "web_stats" in cfg:
        if roles.usage is not None:
            cfg["usage"] = roles.usage()
        (out / CONFIG).write_text(json.dumps(cfg, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")

    report = write_report(out)
    if run["failed"]:
        raise LLMError(
            f"{run['failed']} question-run(s) ended on LLM errors and were not graded (first: "
            f"{run['failed_first_error']}); the report covers the rest. Fix the endpoint and re-run "
            "the same command to retry them"
        )
    return report


def evaluate(
    benchmark: str,
    path: str | Path | None = None,
    web: str | None = None,
    out_dir: str | Path = "eval-out",
    *,
    limit: int | None = None,
    sample: int | None = None,
    seed: int = 0,
    runs: int = 1,
    llm_config: LLMConfig | None = None,
    roles: Roles | None = None,
    judge: str = "llm",
    concurrency: int = 2,
    max_tool_calls: int = DEFAULT_MAX_TOOL_CALLS,
    max_turns: int | None = None,
    leakage_guard: str = "auto",
    blocklist: list[str] | None = None,
    progress: bool = True,
    agent_options: dict[str, Any] | None = None,
    web_config: str | Path | None = None,
    ungraded: str = "wrong",
    executor: Any = None,
    retrieval: str | None = None,
) -> dict[str, Any]:
    """Evaluate the agent on a benchmark (synchronous wrapper of ``evaluate_async``); returns the report.

    Example:
        >>> evaluate("musique", out_dir="out/eval-musique", limit=5, llm_config=embedded_config())  # doctest: +SKIP
    """
    settings = EvalSettings(
        benchmark=get_spec(benchmark).name,
        path=str(path) if path else "",
        web=str(web) if web else "",
        limit=limit,
        sample=sample,
        seed=seed,
        runs=runs,
        judge=judge,
        concurrency=concurrency,
        max_tool_calls=max_tool_calls,
        max_turns=max_turns,
        leakage_guard=leakage_guard,
        blocklist=list(blocklist) if blocklist is not None else list(DEFAULT_BLOCKLIST),
        agent_options=dict(agent_options or {}),
        web_config=str(web_config) if web_config else None,
        ungraded=ungraded,
        retrieval=retrieval,
    )
    return asyncio.run(
        evaluate_async(settings, out_dir, roles=roles, llm_config=llm_config, progress=progress, executor=executor)
    )


def regrade(
    source: str | Path,
    out_dir: str | Path,
    *,
    judge: str = "llm",
    llm_config: LLMConfig | None = None,
    roles: Roles | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Grade the saved trajectories of ``source`` again (another judge, or ``judge="none"``) into ``out_dir``,
    without re-running the agent. The subset and settings are those of ``source/config.json``."""
    import shutil

    src, out = Path(source), Path(out_dir)
    if not (src / CONFIG).exists() or not (src / TRAJECTORIES).exists():
        raise UserError(f"{src}: not an eval output directory (needs config.json and trajectories.jsonl)")
    if out.resolve() == src.resolve():
        raise UserError("regrade writes a new directory: --out must differ from the source")
    prev = json.loads((src / CONFIG).read_text(encoding="utf-8"))
    s = dict(prev["settings"])
    s["judge"] = judge
    settings = EvalSettings(**{k: v for k, v in s.items() if k in EvalSettings.__dataclass_fields__})
    items = load_benchmark(
        settings.benchmark, prev["benchmark"]["path"], limit=settings.limit, sample=settings.sample, seed=settings.seed
    )
    out.mkdir(parents=True, exist_ok=True)
    if not (out / TRAJECTORIES).exists():
        shutil.copyfile(src / TRAJECTORIES, out / TRAJECTORIES)
    grade = {"source": str(src), "models": prev.get("models"), "web": prev.get("web")}
    return asyncio.run(
        evaluate_async(
            settings, out, roles=roles, llm_config=llm_config, progress=progress, items=items, grade_only=grade
        )
    )
