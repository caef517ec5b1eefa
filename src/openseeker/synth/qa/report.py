"""The per-stage yield report of a QA synthesis output, recomputed from the files (so it covers every run that
appended to them): candidates in/out and rejection reasons per stage, LLM calls and tokens per accepted sample.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from openseeker.errors import UserError
from openseeker.io import iter_jsonl

STAGES = ("expand", "extract", "generate", "obfuscate", "leak", "dedup", "difficulty", "solvability")

WEAK_MODEL_NOTE = (
    "These samples were made with the embedded SmolLM2-135M model for every role. It is far too weak for this "
    "task: most of its extracted facts fail the grounding check, its questions often ignore the chain or copy the "
    "prompt's example, and as verifier it answers almost at random, so the yield is low AND an accepted question "
    "can still be wrong (the verifier may name the answer by chance). Use it to see the pipeline work; point the "
    "roles at a strong model (--base-url/--model or --config) for training data."
)


def rejected_path(out: str | Path) -> Path:
    out = Path(out)
    return (
        out.with_name(out.name + ".rejected.jsonl") if out.suffix != ".jsonl" else out.with_suffix(".rejected.jsonl")
    )


def report_path(out: str | Path) -> Path:
    out = Path(out)
    return out.with_name(out.name + ".report.json") if out.suffix != ".jsonl" else out.with_suffix(".report.json")


def _add_usage(total: dict[str, Any], per_stage: dict[str, dict[str, int]], usage: dict[str, Any]) -> None:
    for key in ("calls", "prompt_tokens", "completion_tokens", "malformed_json"):
        total[key] = total.get(key, 0) + int(usage.get(key, 0) or 0)
    for stage, u in (usage.get("per_stage") or {}).items():
        agg = per_stage.setdefault(stage, {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0})
        for key in agg:
            agg[key] += int(u.get(key, 0) or 0)


def build_report(out: str | Path, *, last_run: dict[str, Any] | None = None) -> dict[str, Any]:
    """The yield report of ``out`` and its ``.rejected.jsonl`` sidecar."""
    out = Path(out)
    if not out.exists():
        raise UserError(f"{out}: no such file")
    accepted = [o for _, o in iter_jsonl(out, skip_bad=True) if o.get("kind") == "qa"]
    rej_file = rejected_path(out)
    rejected = [o for _, o in iter_jsonl(rej_file, skip_bad=True)] if rej_file.exists() else []
    rej_by_stage: dict[str, Counter] = {s: Counter() for s in STAGES}
    for r in rejected:
        rej_by_stage.setdefault(r.get("stage", "?"), Counter())[r.get("reason", "?")] += 1
    candidates = len(accepted) + len(rejected)
    stages = []
    remaining = candidates
    for s in rej_by_stage:
        dropped = sum(rej_by_stage[s].values())
        stages.append({"stage": s, "in": remaining, "out": remaining - dropped, "rejected": dict(rej_by_stage[s])})
        remaining -= dropped
    total: dict[str, Any] = {}
    per_stage: dict[str, dict[str, int]] = {}
    extraction = Counter()
    for o in accepted:
        _add_usage(total, per_stage, o.get("usage") or {})
        extraction.update((o.get("entity_graph") or {}).get("stats") or {})
    for r in rejected:
        _add_usage(total, per_stage, (r.get("detail") or {}).get("usage") or {})
        extraction.update((r.get("detail") or {}).get("extraction_stats") or {})
    n_acc = len(accepted)
    tokens = total.get("prompt_tokens", 0) + total.get("completion_tokens", 0)
    models = (last_run or {}).get("models") or (accepted[-1].get("metadata", {}).get("models") if accepted else {})
    report: dict[str, Any] = {
        "kind": "qa_yield_report",
        "schema_version": 1,
        "file": str(out),
        "candidates": candidates,
        "accepted": n_acc,
        "yield": round(n_acc / candidates, 4) if candidates else 0.0,
        "stages": stages,
        "llm": {
            **total,
            "tokens": tokens,
            "per_stage": per_stage,
            "calls_per_accepted": round(total.get("calls", 0) / n_acc, 1) if n_acc else None,
            "tokens_per_accepted": round(tokens / n_acc) if n_acc else None,
        },
        "extraction": dict(extraction),
        "difficulty": dict(Counter(o.get("difficulty", "") for o in accepted)),
        "languages": dict(Counter(o.get("language", "") for o in accepted)),
        "models": models,
        "notes": [],
    }
    previous: dict[str, Any] = {}
    if report_path(out).exists():
        try:
            previous = json.loads(report_path(out).read_text(encoding="utf-8"))
        except ValueError:
            previous = {}
    runs = list(previous.get("runs") or ([previous["last_run"]] if previous.get("last_run") else []))
    if last_run is None:
        last_run = previous.get("last_run")
    else:
        runs.append(last_run)  # every run that appended to this output, oldest first
    if last_run:
        report["last_run"] = last_run
    report["runs"] = runs
    blob = json.dumps(models).lower()
    if "smollm" in blob or "embedded" in blob:
        report["notes"].append(WEAK_MODEL_NOTE)
    if (last_run or {}).get("judge_mode") == "normalized" and "smollm" in blob:
        report["notes"].append(
            "The embedded judge calls nearly any answer correct, so correctness was decided by "
            "normalized-string match (--judge llm to use the judge role anyway)."
        )
    if (last_run or {}).get("stopped_by_time_budget"):
        report["notes"].append(
            f"The last run stopped starting candidates at its time budget ({last_run.get('time_budget_s')} s); "
            "re-running the same command goes on with the candidates not tried yet."
        )
    if candidates and n_acc == 0:
        report["notes"].append("No candidate passed every stage: see the rejection reasons per stage.")
    return report


def write_report(out: str | Path, report: dict[str, Any]) -> Path:
    p = report_path(out)
    p.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return p


def format_report(report: dict[str, Any]) -> str:
    """The report as plain text (what ``openseeker synth report`` prints)."""
    lines = [
        f"QA synthesis yield report: {report['file']}",
        f"candidates {report['candidates']}, accepted {report['accepted']} (yield {report['yield']:.1%})",
        "",
        f"{'stage':<12}{'in':>6}{'out':>6}  rejections",
    ]
    for s in report["stages"]:
        why = ", ".join(f"{k} {v}" for k, v in sorted(s["rejected"].items(), key=lambda kv: -kv[1])) or "-"
        lines.append(f"{s['stage']:<12}{s['in']:>6}{s['out']:>6}  {why}")
    llm = report["llm"]
    lines += [
        "",
        f"LLM calls {llm.get('calls', 0)}, tokens {llm.get('tokens', 0)} "
        f"(prompt {llm.get('prompt_tokens', 0)}, completion {llm.get('completion_tokens', 0)}), "
        f"invalid replies (malformed JSON or failed checks, then retried) {llm.get('malformed_json', 0)}",
        f"per accepted sample: {llm.get('calls_per_accepted')} calls, {llm.get('tokens_per_accepted')} tokens",
    ]
    if llm.get("per_stage"):
        lines.append("calls per stage: " + ", ".join(f"{k} {v['calls']}" for k, v in llm["per_stage"].items()))
    ex = report.get("extraction") or {}
    if ex:
        lines.append(
            f"extraction: {ex.get('proposed', 0)} facts proposed, {ex.get('kept', 0)} kept, "
            f"{ex.get('name_not_in_page', 0)} names not in the page, {ex.get('ungrounded_fact', 0)} ungrounded, "
            f"{ex.get('malformed_pages', 0)} pages with malformed replies"
        )
    if report.get("difficulty"):
        lines.append("difficulty labels: " + ", ".join(f"{k} {v}" for k, v in report["difficulty"].items()))
    if report.get("models"):

        def _model(role: str, info: Any) -> str:
            if isinstance(info, dict):
                return f"{role} {info.get('model', '?')} ({info.get('base_url', '?')})"
            return f"{role} {info}"

        lines.append("models: " + ", ".join(_model(r, i) for r, i in report["models"].items()))
    if len(report.get("runs") or []) > 1:
        lines.append(
            f"runs: {len(report['runs'])}, total wall time {sum(r.get('wall_s') or 0 for r in report['runs']):.1f} s"
        )
    lr = report.get("last_run")
    if lr:
        lines.append(
            f"last run: {lr.get('wall_s')} s, +{lr.get('new_accepted')} accepted, "
            f"+{lr.get('new_rejected')} rejected, {lr.get('llm_errors')} LLM errors, "
            f"judge mode {lr.get('judge_mode', '?')}"
        )
    for note in report.get("notes", []):
        lines += ["", f"NOTE: {note}"]
    return "\n".join(lines)
