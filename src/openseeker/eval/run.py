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
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openseeker.agent import prompts
from openseeker.agent.settings import ANSWER_FREE_KEYS
from openseeker.agent.toolset import check_tools
from openseeker.errors import LLMError, UserError
from openseeker.eval.leakage import DEFAULT_BLOCKLIST, DomainBlocklist
from openseeker.eval.loaders import get_spec, load_benchmark, resolve_path
from openseeker.eval.loaders.multihop import multihop_pages
from openseeker.eval.report import write_report
from openseeker.eval.settings import EvalSettings
from openseeker.eval.stage import RESULTS, TRAJECTORIES, EvalStage, Roles
from openseeker.eval.widesearch import WIDESEARCH_JUDGE_VERSION
from openseeker.executors.local import LocalExecutor
from openseeker.io import write_jsonl
from openseeker.llm import judge as judge_mod
from openseeker.llm.config import resolve_llm_config
from openseeker.outlock import hold_output
from openseeker.provenance import git_hash, provenance
from openseeker.records import EvalItem
from openseeker.web.build import build_web
from openseeker.web.open import ensure_web_retrieval

if TYPE_CHECKING:
    from openseeker.llm.base import LLM
    from openseeker.llm.config import LLMConfig
    from openseeker.web.base import Web

log = logging.getLogger(__name__)

CONFIG = "config.json"
__all__ = ["CONFIG", "RESULTS", "TRAJECTORIES", "EvalSettings", "Roles", "evaluate", "evaluate_async", "regrade"]
EVAL_VERSION = "eval/v1"


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
    spec_kind: str, family: str, data_path: Path, web: str | None, out_dir: Path, progress: bool = True
) -> tuple[str, str]:
    """The web to evaluate on, as a source for ``open_web``: ``web`` (a directory, ``live`` or a server); for
    multi-hop benchmarks without ``web``, a local web built (or reused) from the file's paragraphs under
    ``out_dir/web``. Returns ``(source, description)``."""
    if web:
        return web, str(web)
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
    return str(web_dir), f"local:{web_dir} ({len(pages)} pages from {data_path.name})"


# --------------------------------------------------------------------------- the run


RESUME_KEYS = (("settings", "benchmark"), ("settings", "judge"), ("models", "student"), ("models", "judge"),
               ("prompt_versions", "judge"))  # fmt: skip


def _check_resume(out_dir: Path, cfg: dict[str, Any]) -> None:
    """A directory holding results of another setup is refused, with the difference named (mixing them would
    report one number for two agents)."""
    prev_path = out_dir / CONFIG
    if not prev_path.exists() or not (out_dir / RESULTS).exists():
        return
    try:
        prev = json.loads(prev_path.read_text(encoding="utf-8"))
    except ValueError:
        return
    diffs = []
    for a, b in RESUME_KEYS:
        old, new = (prev.get(a) or {}).get(b), (cfg.get(a) or {}).get(b)
        if old is not None and new is not None and old != new:
            diffs.append(f"{a}.{b}={old!r} (now {new!r})")
    old_agent = (prev.get("settings") or {}).get("agent") or {}
    new_agent = cfg["settings"]["agent"]
    for k in sorted(set(old_agent) & set(new_agent)):
        if k not in ANSWER_FREE_KEYS and old_agent[k] != new_agent[k]:
            diffs.append(f"settings.agent.{k}={old_agent[k]!r} (now {new_agent[k]!r})")
    if diffs:
        raise UserError(
            f"{out_dir} holds a run with {', '.join(diffs)}; use another --out, or delete the directory to start over"
        )


def _model_of(llm: LLM | None) -> str | None:
    return None if llm is None else (getattr(llm, "model", None) or type(llm).__name__)


def _configured_models(llm_config: LLMConfig, judge: str) -> dict[str, Any]:
    """Model names as configured (an empty name - the endpoint's first model - is known once a worker opens it)."""
    described = llm_config.describe()

    def name(role: str) -> str | None:
        return (described.get(role) or {}).get("model") or None

    return {"student": name("student"), "judge": name("judge") if judge == "llm" else "none",
            "extractor": name("extractor")}  # fmt: skip


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
        settings: benchmark, subset, runs, judge mode, leakage guard and the agent's settings.
        out_dir: output directory (resumable).
        roles: ready LLMs (tests, embedding in other programs); otherwise every worker opens ``llm_config`` in an
            ``LLMPool``.
        llm_config: an ``LLMConfig`` (from ``resolve_llm_config``); default: ``resolve_llm_config()``.
        progress: show a progress bar.
        items: the questions (default: loaded from ``settings.benchmark``/``settings.path`` with the subset).
        web_obj: a ready ``Web`` (default: every worker opens ``settings.web``).
        grade_only: regrade mode (see ``regrade``): ``{"source": dir, "models": {...}}``; only question-runs with
            a saved trajectory are graded, the agent never runs.
        executor: an ``openseeker.executors.Executor`` (``--workers``/``--executor ray``; not with ready ``roles``
            or ``web_obj``); default: this process, ``settings.agent["concurrency"]`` in flight.
    """
    if grade_only is None:  # code_exec without a working sandbox: one line now, before any question
        check_tools(settings.agent)
    out = Path(out_dir)
    with hold_output(out, what=f"the eval folder {out}"):
        out.mkdir(parents=True, exist_ok=True)
        spec = get_spec(settings.benchmark)
        data_path = resolve_path(spec, settings.path or None) if (items is None or settings.path) else Path("-")
        if items is None:
            items = load_benchmark(
                spec.name, data_path, limit=settings.limit, sample=settings.sample, seed=settings.subset_seed
            )
        if not items:
            raise UserError("the subset is empty: nothing to evaluate")
        if grade_only is not None:
            web, web_desc = None, "(regrade: no web needed)"
        elif web_obj is not None:
            web, web_desc = web_obj, getattr(web_obj, "name", type(web_obj).__name__)
        else:
            web, web_desc = prepare_web(spec.kind, spec.name, data_path, settings.web or None, out, progress)
        if web is not None:  # one line now, not an error per search
            await ensure_web_retrieval(web, settings.agent["retrieval"], config=settings.web_config)
        is_live = str(settings.web) == "live"
        guard = settings.leakage_guard == "on" or (settings.leakage_guard == "auto" and is_live)
        if grade_only is not None and roles is None and settings.judge == "none":
            roles = Roles(student=None)
        if roles is None:
            llm_config = llm_config.model_copy(deep=True) if llm_config is not None else resolve_llm_config()
            if (
                settings.runs > 1 and "student" in llm_config.roles
            ):  # n sampled runs must not be collapsed by the cache
                llm_config.roles["student"].cache = False
            models = _configured_models(llm_config, settings.judge)
        else:
            llm_config = None
            models = {"student": _model_of(roles.student), "judge": _model_of(roles.judge) or "none",
                      "extractor": _model_of(roles.extractor)}  # fmt: skip
            if settings.judge == "none":
                models["judge"] = "none"
        stage = EvalStage(
            out,
            bench=spec.name,
            settings=settings,
            guard=guard,
            blocklist=DomainBlocklist(settings.blocklist),
            web=web,
            roles=roles,
            llm_config=llm_config,
            grade_only=grade_only,
        )
        cfg = _config(settings, spec, data_path, items, web_desc, guard, models, roles, grade_only)
        _check_resume(out, cfg)
        _write_config(out, cfg)
        todo = stage.prepare(items)
        log.info(
            "%s: %d question-runs to do (%d already done)",
            spec.name,
            len(todo),
            len(items) * settings.runs - len(todo),
        )
        if executor is None or roles is not None or web_obj is not None:
            executor = LocalExecutor(1, concurrency=settings.concurrency, progress=progress)
        run = await executor.arun(stage, todo)
        _record_run(out, cfg, run, roles)
        graded = (out / RESULTS).exists() and (out / RESULTS).stat().st_size > 0
        report = write_report(out) if graded else {}
        if run["failed"]:
            covers = "the report covers the rest" if report else "nothing is graded yet"
            raise LLMError(
                f"{run['failed']} question-run(s) not graded: an endpoint (the agent's or the judge's) kept failing "
                f"(first: {run['failed_first_error']}); listed in {stage.failed_path}, {covers}. Fix the endpoint "
                "and re-run the same command to finish them (an answer already saved is only graded)"
            )
        return report


def _config(
    settings: EvalSettings,
    spec: Any,
    data_path: Path,
    items: list[EvalItem],
    web_desc: str,
    guard: bool,
    models: dict[str, Any],
    roles: Roles | None,
    grade_only: dict[str, Any] | None,
) -> dict[str, Any]:
    """config.json: everything a reported number depends on (the agent's prompt and the models' resolved endpoints
    are completed by ``_record_run`` from what the workers actually ran)."""
    cfg = {
        "kind": "eval_config",
        "settings": asdict(settings),
        "benchmark": {"name": spec.name, "kind": spec.kind, "path": str(data_path), "description": spec.description},
        "subset": {
            "limit": settings.limit,
            "sample": settings.sample,
            "seed": settings.subset_seed,
            "n_items": len(items),
            "ids": [it.id for it in items],
        },
        "web": web_desc,
        "leakage_guard": {"enabled": guard, "blocklist": settings.blocklist if guard else [], "ngram": settings.ngram},
        "models": models,
        "llm": roles.describe if roles is not None else {},
        "prompt_versions": _prompt_versions(),
        "prompts": {"judge": judge_mod.GRADER_PROMPT, "agent_system": None},
        "versions": versions(),
        "git_hash": git_hash(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if grade_only is not None:  # the answers come from another run: keep its models, note the source
        cfg["regraded_from"] = grade_only["source"]
        cfg["models"] = {**(grade_only.get("models") or {}), "judge": models["judge"]}
        cfg["web"] = grade_only.get("web", cfg["web"])
    return cfg


def _write_config(out: Path, cfg: dict[str, Any]) -> None:
    (out / CONFIG).write_text(json.dumps(cfg, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")


def _record_run(out: Path, cfg: dict[str, Any], run: dict[str, Any], roles: Roles | None) -> None:
    """What the run learned, into config.json: the system prompt the agent actually sent, its protocol, the
    endpoints and models as opened, per-role usage and the live web's counters."""
    info = run.get("info") or {}
    if info.get("system_prompt") is not None:
        cfg["prompts"]["agent_system"] = info["system_prompt"]
        cfg["agent_resolved"] = info.get("agent_resolved")  # what "auto" and the model's defaults resolved to
    if info.get("llm"):
        cfg["llm"] = info["llm"]
        for role in ("student", "judge", "extractor"):
            model = (info["llm"].get(role) or {}).get("model")
            if model and cfg["models"].get(role) != "none":
                cfg["models"][role] = model
    usage = run["stats"].get("usage") or (roles.usage() if roles is not None and roles.usage is not None else None)
    if usage:
        cfg["usage"] = usage
    if run["stats"].get("web_stats"):
        cfg["web_stats"] = run["stats"]["web_stats"]
    _write_config(out, cfg)


def evaluate(
    benchmark: str,
    path: str | Path | None = None,
    web: str | None = None,
    out_dir: str | Path = "eval-out",
    *,
    limit: int | None = None,
    sample: int | None = None,
    subset_seed: int = 0,
    runs: int = 1,
    llm_config: LLMConfig | None = None,
    roles: Roles | None = None,
    judge: str = "llm",
    agent: dict[str, Any] | None = None,
    leakage_guard: str = "auto",
    blocklist: list[str] | None = None,
    progress: bool = True,
    web_config: str | Path | None = None,
    ungraded: str = "wrong",
    executor: Any = None,
) -> dict[str, Any]:
    """Evaluate the agent on a benchmark (synchronous wrapper of ``evaluate_async``); returns the report.

    ``agent``: ``AgentSettings`` keys (resolve them from a config file and flags with
    ``openseeker.agent.settings.resolve_run_settings``, as ``eval run`` does); missing keys take the defaults.

    Example:
        >>> evaluate("musique", out_dir="out/eval-musique", limit=5, llm_config=embedded_config())  # doctest: +SKIP
    """
    settings = EvalSettings(
        benchmark=get_spec(benchmark).name,
        path=str(path) if path else "",
        web=str(web) if web else "",
        limit=limit,
        sample=sample,
        subset_seed=subset_seed,
        runs=runs,
        judge=judge,
        leakage_guard=leakage_guard,
        blocklist=list(blocklist) if blocklist is not None else list(DEFAULT_BLOCKLIST),
        web_config=str(web_config) if web_config else None,
        ungraded=ungraded,
        agent=dict(agent or {}),
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
        settings.benchmark,
        prev["benchmark"]["path"],
        limit=settings.limit,
        sample=settings.sample,
        seed=settings.subset_seed,
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
