"""Reports: ``report.json`` + ``report.md`` + PNG plots from an eval output directory, and side-by-side comparison.

What a reported number is made of (all in the report): the benchmark file, the subset (limit / sample / seed and
the item count), the number of runs, the student model, the judge model and prompt version (or "none" =
normalized exact match), the agent prompt version and tool budget, and the leakage-guard setting.

An ungraded answer (judge reply unparseable, or judge unreachable: ``correct = None``) is reported explicitly,
by reason, and the accuracy treats it as the user chose: ``wrong`` (default; in the denominator, as simple-evals'
BrowseComp scorer does) or ``exclude`` (out of the denominator, as OpenSeeker's own ``eval/eval.py`` does). The
report says which. The 95% interval is Wilson's for one run, a question-level bootstrap for n runs.
"""

from __future__ import annotations

import json
import math
import random
import statistics
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from openseeker.errors import UserError
from openseeker.io import iter_jsonl

REPORT_VERSION = "report/v1"


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    if n == 0:
        return (0.0, 0.0)
    p = k / n
    denom = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, center - half), min(1.0, center + half))


def bootstrap(values: list[float], *, iters: int = 2000, seed: int = 0) -> tuple[float, float]:
    if not values:
        return (0.0, 0.0)
    rng = random.Random(seed)
    n = len(values)
    means = sorted(sum(values[rng.randrange(n)] for _ in range(n)) / n for _ in range(iters))
    return (means[int(0.025 * iters)], means[min(iters - 1, int(0.975 * iters))])


def _dist(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    s = sorted(values)
    return {
        "n": len(s),
        "mean": round(statistics.fmean(s), 3),
        "median": s[len(s) // 2],
        "p90": s[min(len(s) - 1, int(0.9 * len(s)))],
        "min": s[0],
        "max": s[-1],
    }


def _acc_block(records: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(records)
    k = sum(1 for r in records if r.get("correct") is True)
    lo, hi = wilson(k, n)
    return {"n": n, "correct": k, "accuracy": round(k / n, 4) if n else 0.0, "ci95": [round(lo, 4), round(hi, 4)]}


UNGRADED_POLICIES = ("wrong", "exclude")


def _ungraded_reason(r: dict[str, Any]) -> str:
    v = r.get("verdict") or {}
    if v.get("ungraded"):
        return str(v["ungraded"])
    return "judge_error" if str(v.get("error") or "").startswith("judge call failed") else "unparseable"


def summarize(
    records: list[dict[str, Any]], config: dict[str, Any] | None = None, *, ungraded: str | None = None
) -> dict[str, Any]:
    """The report dict of a list of per-(question, run) records.

    ``ungraded``: ``"wrong"`` or ``"exclude"`` (see the module docstring); default: the run's
    ``settings.ungraded``, else ``"wrong"``."""
    config = config or {}
    policy = ungraded or (config.get("settings") or {}).get("ungraded") or "wrong"
    if policy not in UNGRADED_POLICIES:
        raise UserError(f"--ungraded must be one of {', '.join(UNGRADED_POLICIES)} (got {policy!r})")
    # the records the accuracy is computed on
    scored = [r for r in records if r.get("correct") is not None] if policy == "exclude" else records
    runs = max(Counter(r["id"] for r in records).values(), default=0)
    verdicts = [r.get("verdict") or {} for r in records]
    by_tool: Counter = Counter()
    leak: Counter = Counter()
    for r in records:
        by_tool.update(r.get("tool_calls") or {})
        leak.update(r.get("leakage") or {})

    def breakdown(field: str) -> dict[str, Any]:
        groups: dict[str, list[dict]] = defaultdict(list)
        for r in scored:
            groups[str(r.get(field) or "-")].append(r)
        return {g: _acc_block(v) for g, v in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))}

    settings = config.get("settings", {})
    report: dict[str, Any] = {
        "kind": "eval_report",
        "report_version": REPORT_VERSION,
        "benchmark": settings.get("benchmark") or (records[0]["benchmark"] if records else ""),
        "n_questions": len({r["id"] for r in records}),
        "runs": runs,
        "n_records": len(records),
        **_accuracy(scored, runs),
        "ungraded": sum(1 for r in records if r.get("correct") is None),
        "ungraded_by_reason": dict(Counter(_ungraded_reason(r) for r in records if r.get("correct") is None)),
        "ungraded_policy": policy,
        "n_scored": len(scored),
        "answer_metric": sorted({str(v.get("answer_metric") or "") for v in verdicts if v} - {""}),
        "exact_match": round(statistics.fmean([bool(v.get("em")) for v in verdicts]), 4) if verdicts else 0.0,
        "token_f1": round(statistics.fmean([float(v.get("f1") or 0.0) for v in verdicts]), 4) if verdicts else 0.0,
        "by_category": breakdown("category"),
        "by_language": breakdown("language"),
        "tool_calls": {**_dist([r.get("num_tool_calls", 0) for r in records]), "by_tool": dict(by_tool)},
        "tokens": _dist([(r.get("tokens") or {}).get("total", 0) for r in records]),
        "wall_s": _dist([r.get("wall_s", 0.0) for r in records]),
        "stop_reasons": dict(Counter(r.get("stop_reason", "?") for r in records).most_common()),
        "leakage": dict(leak) if leak else None,
        "web_stats": config.get("web_stats"),
        "config": _config_block(config, runs, verdicts),
    }
    ws = [r for r in records if r.get("widesearch")]
    if ws:
        report["widesearch"] = _widesearch_block(ws)
    return report


def _accuracy(scored: list[dict[str, Any]], runs: int) -> dict[str, Any]:
    """Accuracy (mean over questions of the per-question mean over runs), its 95% CI, avg@k, pass@k and the
    accuracy of each run."""
    by_q: dict[str, list[dict]] = defaultdict(list)
    for r in scored:
        by_q[r["id"]].append(r)
    per_q_mean = [sum(1 for r in v if r.get("correct") is True) / len(v) for v in by_q.values()]
    acc = statistics.fmean(per_q_mean) if per_q_mean else 0.0
    if runs <= 1:
        k = sum(1 for r in scored if r.get("correct") is True)
        ci, ci_method = wilson(k, len(scored)), "wilson"
    else:
        ci, ci_method = bootstrap(per_q_mean), "bootstrap over questions (2000 resamples, seed 0)"
    pass_n = sum(1 for v in by_q.values() if any(r.get("correct") is True for r in v)) / len(by_q) if by_q else 0.0
    run_accs = []
    for run in range(runs):
        rs = [r for r in scored if r.get("run") == run]
        if rs:
            run_accs.append(round(sum(1 for r in rs if r.get("correct") is True) / len(rs), 4))
    return {
        "accuracy": round(acc, 4),
        "ci95": [round(ci[0], 4), round(ci[1], 4)],
        "ci_method": ci_method,
        f"avg@{runs}": round(acc, 4),
        f"pass@{runs}": round(pass_n, 4),
        "run_accuracies": run_accs,
    }


def _config_block(config: dict[str, Any], runs: int, verdicts: list[dict[str, Any]]) -> dict[str, Any]:
    """The run's provenance in the report: benchmark file, subset, models, judge, prompts, budgets, versions."""
    settings = config.get("settings", {})
    return {
        "benchmark_file": (config.get("benchmark") or {}).get("path"),
        "subset": {k: v for k, v in (config.get("subset") or {}).items() if k != "ids"},
        "runs": settings.get("runs", runs),
        "models": config.get("models"),
        "judge": settings.get("judge"),
        "judge_models_seen": sorted({v.get("judge_model", "") for v in verdicts if v}),
        "prompt_versions": config.get("prompt_versions"),
        "prompt_versions_seen": sorted({v.get("prompt_version", "") for v in verdicts if v}),
        # the agent's settings (runs before the agent section kept its budget at the top level)
        "max_tool_calls": (settings.get("agent") or settings).get("max_tool_calls"),
        "max_turns": (settings.get("agent") or settings).get("max_turns"),
        "agent": settings.get("agent"),
        "agent_system_prompt": (config.get("prompts") or {}).get("agent_system"),
        "web": config.get("web"),
        "leakage_guard": config.get("leakage_guard"),
        "git_hash": config.get("git_hash"),
        "versions": config.get("versions"),
    }


def _widesearch_block(records: list[dict[str, Any]]) -> dict[str, Any]:
    """WideSearch table scores over the records that have them."""
    ws = [r["widesearch"] for r in records]
    return {
        "item_f1": round(statistics.fmean(w["item_f1"] for w in ws), 4),
        "row_f1": round(statistics.fmean(w["row_f1"] for w in ws), 4),
        "success_rate": round(statistics.fmean(bool(w["success"]) for w in ws), 4),
        "parsed_tables": sum(1 for w in ws if w.get("parsed")),
        "offline_judged_cells_columns": sum(len(w.get("offline_judged_columns", [])) for w in ws),
        "llm_judged_tasks": sum(1 for w in ws if w.get("llm_judged_columns")),
        "offline_judged_tasks": sum(1 for w in ws if w.get("offline_judged_columns")),
        # which columns the LLM (judge role) scored, per task; and where the offline stand-in did instead
        "columns": {
            r["key"] if "key" in r else r["id"]: {
                "llm_judged": r["widesearch"].get("llm_judged_columns", []),
                "offline_judged": r["widesearch"].get("offline_judged_columns", []),
                "llm_aligned": r["widesearch"].get("llm_aligned", []),
                "offline_aligned": r["widesearch"].get("offline_aligned", []),
            }
            for r in records
        },
    }


def load_dir(out_dir: str | Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    out = Path(out_dir)
    if not (out / "results.jsonl").exists():
        raise UserError(f"{out}: no results.jsonl (not an eval output directory)")
    config: dict[str, Any] = {}
    if (out / "config.json").exists():
        config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    records = [obj for _, obj in iter_jsonl(out / "results.jsonl")]
    return records, config


def _guard_text(guard: dict[str, Any] | None) -> str:
    if not guard or not guard.get("enabled"):
        return "off"
    return f"on: {len(guard.get('blocklist') or [])} blocked domains, {guard.get('ngram')}-gram forbidden text"


def _ungraded_text(r: dict[str, Any]) -> str:
    if not r.get("ungraded"):
        return ""
    reasons = ", ".join(f"{k} {v}" for k, v in sorted((r.get("ungraded_by_reason") or {}).items()))
    how = "excluded from the denominator" if r.get("ungraded_policy") == "exclude" else "counted as wrong"
    return f" ({reasons}; {how})"


def render_markdown(report: dict[str, Any]) -> str:
    r, c = report, report["config"]
    runs = r["runs"]
    lines = [
        f"# Evaluation: {r['benchmark']}",
        "",
        f"**Accuracy {100 * r['accuracy']:.1f}%** (95% CI {100 * r['ci95'][0]:.1f}-{100 * r['ci95'][1]:.1f}, "
        f"{r['ci_method']}) on {r['n_questions']} questions x {runs} run(s); "
        f"avg@{runs} {100 * r[f'avg@{runs}']:.1f}%, pass@{runs} {100 * r[f'pass@{runs}']:.1f}%; "
        f"ungraded {r['ungraded']}{_ungraded_text(r)}.",
        "",
    ]
    if r.get("not_graded"):
        lines += [
            f"**Not graded yet: {r['not_graded']} question-run(s)**: an endpoint (the agent's or the judge's) kept "
            "failing on them, so they are left out of every number above rather than counted wrong; they are "
            "listed in `failed.jsonl`. Re-run the same `eval run` to finish them (a saved answer is only graded).",
            "",
        ]
    lines += [
        f"Exact match {100 * r['exact_match']:.1f}%, token F1 {100 * r['token_f1']:.1f}% (additional columns; "
        f"rules: {', '.join(r.get('answer_metric') or ['-'])} - see docs/eval.md).",
        "",
        "## What this number is made of",
        "",
        "| item | value |",
        "|---|---|",
        f"| benchmark file | `{c.get('benchmark_file')}` |",
        f"| subset | {json.dumps(c.get('subset'))} |",
        f"| runs | {c.get('runs')} |",
        f"| models | {json.dumps(c.get('models'))} |",
        f"| judge | {c.get('judge')} (models seen: {', '.join(c.get('judge_models_seen') or [])}) |",
        f"| prompt versions | {json.dumps(c.get('prompt_versions'))} |",
        f"| tool budget | max_tool_calls={c.get('max_tool_calls')}, max_turns={c.get('max_turns')} |",
        f"| web | {c.get('web')} |",
        f"| leakage guard | {_guard_text(c.get('leakage_guard'))} |",
        f"| git | {c.get('git_hash')} |",
        "",
    ]
    if r.get("widesearch"):
        w = r["widesearch"]
        lines += [
            "## WideSearch table scores",
            "",
            f"item F1 {100 * w['item_f1']:.1f}%, row F1 "
            f"{100 * w['row_f1']:.1f}%, success {100 * w['success_rate']:.1f}%, tables parsed "
            f"{w['parsed_tables']}. Scored under the official WideSearch rules; `llm_judge` columns judged by "
            f"the judge role in {w.get('llm_judged_tasks', 0)} task(s), by the offline stand-in in "
            f"{w.get('offline_judged_tasks', 0)} (per task: `widesearch.columns` in report.json).",
            "",
        ]
        llm_cols = {k: v["llm_judged"] for k, v in (w.get("columns") or {}).items() if v.get("llm_judged")}
        if llm_cols:
            lines += ["| task | LLM-judged columns |", "|---|---|"]
            lines += [f"| {k} | {', '.join(v)} |" for k, v in list(llm_cols.items())[:50]]
            lines.append("")
    for title, key in (("By category", "by_category"), ("By language", "by_language")):
        lines += [f"## {title}", "", "| group | n | correct | accuracy | 95% CI |", "|---|---|---|---|---|"]
        for g, b in list(r[key].items())[:30]:
            lines.append(
                f"| {g} | {b['n']} | {b['correct']} | {100 * b['accuracy']:.1f}% | "
                f"{100 * b['ci95'][0]:.1f}-{100 * b['ci95'][1]:.1f} |"
            )
        lines.append("")
    tc, tk, ws = r["tool_calls"], r["tokens"], r["wall_s"]
    lines += ["## Tool calls, tokens, time", "", "| metric | mean | median | p90 | max |", "|---|---|---|---|---|"]
    for name, d in (("tool calls", tc), ("tokens", tk), ("wall s", ws)):
        if d.get("n"):
            lines.append(f"| {name} | {d['mean']} | {d['median']} | {d['p90']} | {d['max']} |")
    lines += [
        "",
        f"Calls by tool: {json.dumps(tc.get('by_tool', {}))}",
        "",
        "## Stop reasons",
        "",
        "| reason | count |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v} |" for k, v in r["stop_reasons"].items()]
    if r.get("leakage"):
        lines += ["", "## Leakage guard", "", "| blocked | count |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in r["leakage"].items()]
    if r.get("web_stats"):
        cols = ("requests", "calls", "hits", "misses", "errors", "retries", "blocked", "cost_usd")
        lines += [
            "",
            "## Web backend counters",
            "",
            "| backend | " + " | ".join(cols) + " |",
            "|---|" + "---|" * len(cols),
        ]
        lines += [
            f"| {name} | " + " | ".join(str(row.get(c, "")) for c in cols) + " |"
            for name, row in r["web_stats"].items()
        ]
    lines += ["", "Plots: `plots/accuracy_by_benchmark.png`, `plots/tool_calls_hist.png`.", ""]
    return "\n".join(lines)


def _plots(reports: list[tuple[str, dict[str, Any]]], records: list[dict[str, Any]] | None, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    written = []
    fig, ax = plt.subplots(figsize=(max(4, 1.2 * len(reports) + 2), 3.5))
    labels = [name for name, _ in reports]
    accs = [100 * r["accuracy"] for _, r in reports]
    err = [
        [100 * (r["accuracy"] - r["ci95"][0]) for _, r in reports],
        [100 * (r["ci95"][1] - r["accuracy"]) for _, r in reports],
    ]
    xs = list(range(len(labels)))
    ax.bar([x - 0.2 for x in xs], accs, width=0.4, yerr=err, capsize=4, color="#4C72B0", label="accuracy (judge)")
    ax.bar(
        [x + 0.2 for x in xs],
        [100 * r.get("exact_match", 0.0) for _, r in reports],
        width=0.4,
        color="#DD8452",
        label="exact match",
    )
    ax.legend(fontsize=7)
    ax.set_xticks(xs)
    ax.set_xticklabels(labels, rotation=20, ha="right", fontsize=8)
    ax.set_ylim(0, 100)
    written.append(
        _save(plt, fig, ax, "Accuracy by benchmark", "accuracy % (95% CI)", out / "accuracy_by_benchmark.png")
    )
    if records is not None:
        fig, ax = plt.subplots(figsize=(5, 3.5))
        calls = [r.get("num_tool_calls", 0) for r in records]
        lo, hi = (min(calls), max(calls)) if calls else (0, 0)
        step = max(1, (hi - lo + 1) // 30)
        ax.hist(calls, bins=[b - 0.5 for b in range(lo, hi + step + 1, step)], color="#55A868", rwidth=0.9)
        ax.set_xlabel("tool calls per question-run")
        written.append(_save(plt, fig, ax, "Tool-call histogram", "count", out / "tool_calls_hist.png"))
    return written


def _save(plt: Any, fig: Any, ax: Any, title: str, ylabel: str, path: Path) -> str:
    """Title and y label, then the one way a report plot is written (tight layout, 100 dpi, figure closed)."""
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return str(path)


def _not_graded(out: Path) -> int:
    """Question-runs of ``failed.jsonl``: their agent or their judge hit an endpoint failure, so they have no result
    yet (never counted as wrong: re-running ``eval run`` finishes them)."""
    path = out / "failed.jsonl"
    if not path.exists():
        return 0
    return len({obj.get("key") for _, obj in iter_jsonl(path, skip_bad=True)})


def write_report(out_dir: str | Path, *, ungraded: str | None = None) -> dict[str, Any]:
    """(Re)generate ``report.json``, ``report.md`` and ``plots/`` of an eval output directory (``ungraded``:
    see ``summarize``)."""
    out = Path(out_dir)
    records, config = load_dir(out)
    report = summarize(records, config, ungraded=ungraded)
    report["not_graded"] = _not_graded(out)
    report["plots"] = _plots([(report["benchmark"], report)], records, out / "plots")
    (out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "report.md").write_text(render_markdown(report), encoding="utf-8")
    return report


def compare(dirs: list[str | Path], out: str | Path | None = None, *, ungraded: str | None = None) -> str:
    """Reports of several runs side by side (markdown); also writes ``compare.md`` and a plot into ``out``."""
    rows = []
    for d in dirs:
        rep = write_report(d, ungraded=ungraded)
        rows.append((Path(d), rep))
    head = (
        "| run | benchmark | n x runs | subset | student | judge | accuracy (95% CI) | pass@n | EM | "
        "tool calls (mean) | tokens (mean) |"
    )
    lines = [head, "|" + "---|" * 11]
    for d, r in rows:
        c = r["config"]
        models = c.get("models") or {}
        sub = c.get("subset") or {}
        lines.append(
            f"| {d.name} | {r['benchmark']} | {r['n_questions']} x {r['runs']} | "
            f"limit={sub.get('limit')} sample={sub.get('sample')} seed={sub.get('seed')} | {models.get('student')} | "
            f"{models.get('judge')} ({(c.get('prompt_versions') or {}).get('judge', '')}) | "
            f"{100 * r['accuracy']:.1f}% ({100 * r['ci95'][0]:.1f}-{100 * r['ci95'][1]:.1f}) | "
            f"{100 * r['pass@' + str(r['runs'])]:.1f}% | {100 * r['exact_match']:.1f}% | "
            f"{r['tool_calls'].get('mean', 0)} | {r['tokens'].get('mean', 0)} |"
        )
    md = "# Comparison\n\n" + "\n".join(lines) + "\n"
    if out is not None:
        o = Path(out)
        o.mkdir(parents=True, exist_ok=True)
        (o / "compare.md").write_text(md, encoding="utf-8")
        _plots([(f"{d.name}\n{r['benchmark']}", r) for d, r in rows], None, o / "plots")
    return md
