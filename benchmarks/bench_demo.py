"""README command 1 timed the way a newcomer meets it: fresh runs of `openseeker demo` (empty output folder, empty LLM
cache), idle and beside a competing CPU load this benchmark starts itself.

Run: ``python benchmarks/bench_demo.py [--runs 10] [--loaded-runs 5] [--loads 0 1] [--out benchmarks/results/demo.json]``

Per run: wall time, each step's time (``demo.json``), accepted QA samples, and whether every stage ran (trajectories,
SFT data, an evaluation on a held-out question). ``k`` busy cores are ``k`` processes spinning in a loop for the
whole run. The load average is recorded: the machine is shared, other work adds to the load started here.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from openseeker.executors.supervise import sigterm_when_parent_dies
from openseeker.synth.qa.report import report_path


def one_run(load: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix="bench-demo-"))
    env = {**os.environ, "OPENSEEKER_CACHE_DIR": str(work / "cache")}
    # the load and the demo die with this script, even when it is killed (a spinner left behind loads later runs)
    spin = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"], preexec_fn=sigterm_when_parent_dies)
        for _ in range(load)
    ]
    la0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "openseeker.cli.main", "demo", "--out", str(work / "demo")],
            env=env, capture_output=True, text=True, preexec_fn=sigterm_when_parent_dies,
        )  # fmt: skip
    finally:
        for p in spin:
            p.kill()
    wall = time.perf_counter() - t0
    out = work / "demo"
    summary = json.loads((out / "demo.json").read_text()) if (out / "demo.json").exists() else {}
    qa = out / "qa.jsonl"
    qa_report = report_path(qa)
    qa_summary = json.loads(qa_report.read_text()) if qa_report.exists() else {}
    row = {
        "load_cores": load,
        "exit": proc.returncode,
        "wall_s": round(wall, 1),
        "accepted": sum(1 for line in qa.read_text().splitlines() if line.strip()) if qa.exists() else 0,
        "candidates": qa_summary.get("candidates"),
        "qa_stopped_by_time_budget": (qa_summary.get("last_run") or {}).get("stopped_by_time_budget"),
        "every_stage": bool(summary.get("trajectories") and summary.get("sft") and summary.get("eval_report")),
        "heldout_eval": (out / "qa-heldout.jsonl").exists() and bool((out / "qa-heldout.jsonl").read_text().strip()),
        "steps_s": summary.get("timings_s", {}),
        "loadavg_1m_start": round(la0, 2),
        "loadavg_1m_end": round(os.getloadavg()[0], 2),
    }
    if proc.returncode:
        row["stderr_tail"] = proc.stderr[-1500:]
    shutil.rmtree(work, ignore_errors=True)
    return row


def _commit() -> str:
    """The code measured: HEAD, with ``+dirty`` when the working tree differs from it."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True)
    return head + ("+dirty" if dirty.stdout.strip() else "")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10, help="fresh demo runs per load (default 10)")
    ap.add_argument("--loads", type=int, nargs="+", default=[0, 1], help="busy cores to start (default 0 1)")
    ap.add_argument(
        "--loaded-runs", type=int, help="runs per load other than 0 (default --runs; interleaved with the first idle)"
    )
    ap.add_argument("--out", default="benchmarks/results/demo.json")
    args = ap.parse_args()
    loaded_runs = args.runs if args.loaded_runs is None else args.loaded_runs
    rows = []
    for i in range(args.runs):  # interleaved: drift in the machine's own load hits both conditions alike
        for load in args.loads:
            if load and i >= loaded_runs:
                continue
            row = one_run(load)
            rows.append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "stderr_tail"}), flush=True)
    summary = {}
    for load in args.loads:
        mine = [r for r in rows if r["load_cores"] == load]
        summary[f"load_{load}"] = {
            "runs": len(mine),
            "median_wall_s": statistics.median(r["wall_s"] for r in mine),
            "max_wall_s": max(r["wall_s"] for r in mine),
            "runs_with_2_accepted": sum(r["accepted"] >= 2 for r in mine),
            "runs_with_every_stage": sum(r["every_stage"] for r in mine),
        }
    if "load_0" in summary:
        summary["load_0"]["runs_within_6_min"] = sum(r["wall_s"] <= 360 for r in rows if r["load_cores"] == 0)
    if "load_0" in summary and "load_1" in summary:
        idle = summary["load_0"]["median_wall_s"]
        summary["busy_core_ratio"] = round(summary["load_1"]["median_wall_s"] / idle, 2)
        summary["load_1"]["runs_within_2x_idle_median"] = sum(
            r["wall_s"] <= 2 * idle for r in rows if r["load_cores"] == 1
        )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(
        json.dumps(
            {
                "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                "commit": _commit(),
                "rows": rows,
                "summary": summary,
            },
            indent=2,
        )  # fmt: skip
    )
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
