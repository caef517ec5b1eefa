"""``openseeker demo``: the whole pipeline on the embedded default, offline, on a laptop.

It runs the same commands a user would type (each printed before it runs), so the demo doubles as a tutorial:

    web build -> web stats -> web search -> synth qa (+ yield report) -> synth traj -> export sft
      -> eval run on held-out synthesized questions -> eval report

Every step is resumable, so re-running the demo continues where it stopped. The embedded model is SmolLM2-135M:
the pipeline is real, the model is tiny; expect low yields and low accuracy, reported honestly.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

import typer
from rich.console import Console

from openseeker.errors import OpenSeekerError, UserError


console = Console()


SEARCH_QUERIES = ("theory of relativity physicist", "largest desert in Africa")


def _run(args: list[str], *, allow_fail: bool = False) -> int:
    shown = "openseeker " + " ".join(shlex.quote(a) for a in args)
    console.rule(f"[bold cyan]$ {shown}", align="left")
    started = time.time()
    proc = subprocess.run([sys.executable, "-m", "openseeker.cli.main", *args])
    took = time.time() - started
    if proc.returncode != 0 and not allow_fail:
        raise OpenSeekerError(f"demo step failed (exit {proc.returncode}, {took:.0f}s): {shown}")
    console.print(f"[dim]({took:.1f}s)[/]")
    return proc.returncode


def _count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def _split_heldout(qa: Path, train: Path, heldout: Path, n_heldout: int) -> tuple[int, int]:
    """Keep the last ``n_heldout`` accepted questions for evaluation only; the rest feed trajectory synthesis."""
    rows = [line for line in qa.read_text(encoding="utf-8").splitlines() if line.strip()] if qa.exists() else []
    n_heldout = min(n_heldout, max(len(rows) - 1, 0))
    cut = len(rows) - n_heldout
    train.write_text("".join(r + "\n" for r in rows[:cut]), encoding="utf-8")
    heldout.write_text("".join(r + "\n" for r in rows[cut:]), encoding="utf-8")
    return cut, n_heldout


def run_demo(out: Path, *, n_qa: int, max_candidates: int, heldout: int, max_tool_calls: int, seed: int) -> dict:
    """Run the demo pipeline into ``out``; returns the paths of what it wrote."""
    out.mkdir(parents=True, exist_ok=True)
    web = out / "web"
    qa, qa_train, qa_heldout = out / "qa.jsonl", out / "qa-train.jsonl", out / "qa-heldout.jsonl"
    traj, ref_traj = out / "trajectories.teacher.jsonl", out / "trajectories.reference.jsonl"
    sft, evaldir = out / "sft", out / "eval"

    _run(["web", "build", "--source", "wiki-offline", "--out", str(web)])
    _run(["web", "stats", "--web", str(web)])
    for query in SEARCH_QUERIES:
        _run(["web", "search", "--web", str(web), "--top-k", "3", query])

    _run(["synth", "qa", "--web", str(web), "--n", str(n_qa), "--out", str(qa), "--seed", str(seed),
          "--max-candidates", str(max_candidates)])
    accepted = _count_lines(qa)
    n_train, n_heldout = _split_heldout(qa, qa_train, qa_heldout, heldout)
    console.print(f"[bold]{accepted} accepted QA sample(s)[/]: {n_train} for trajectories, {n_heldout} held out "
                  "for evaluation")

    if n_train:
        # The LLM teacher (embedded model, retrospective summarization on) and the offline reference teacher go to
        # separate files: their data never mixes silently.
        _run(["synth", "traj", "--web", str(web), "--qa", str(qa_train), "--out", str(traj),
              "--max-tool-calls", str(max_tool_calls), "--limit", "1"])
        _run(["synth", "traj", "--web", str(web), "--qa", str(qa_train), "--out", str(ref_traj), "--teacher",
              "reference"])
        _run(["export", "sft", "--traj", str(ref_traj), "--out", str(sft), "--format", "all", "--allow-reference"])
    else:
        console.print("[yellow]No QA sample was accepted, so there is nothing to solve: trajectory synthesis and "
                      "export are skipped. Re-run with a larger --max-candidates, or a stronger model "
                      "(--base-url/--model).[/]")

    eval_set = qa_heldout if n_heldout else qa
    if _count_lines(eval_set) and not n_heldout:
        console.print("[yellow]Only one QA sample was accepted, so nothing could be held out: the evaluation below "
                      "runs on the question the trajectories were made from (not a held-out number).[/]")
    if _count_lines(eval_set):
        _run(["eval", "run", "--benchmark", "synth", "--path", str(eval_set), "--web", str(web), "--out",
              str(evaldir), "--max-tool-calls", str(max_tool_calls), "--max-turns", str(max_tool_calls + 2),
              "--max-tokens-per-turn", "256", "--judge", "none"])
        _run(["eval", "report", str(evaldir)])
    else:
        console.print("[yellow]No questions to evaluate on (no QA sample was accepted).[/]")

    summary = {
        "web": str(web),
        "qa": str(qa),
        "qa_report": str(qa) + ".report.json",
        "trajectories": str(traj) if traj.exists() else None,
        "reference_trajectories": str(ref_traj) if ref_traj.exists() else None,
        "sft": str(sft) if sft.exists() else None,
        "eval_report": str(evaldir / "report.md") if (evaldir / "report.md").exists() else None,
    }
    (out / "demo.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    console.rule("[bold green]demo finished", align="left")
    for key, value in summary.items():
        console.print(f"  {key:22s} {value}")
    console.print("\nNext: train the student on the SFT data (needs the training extras, see README):\n"
                  f"  openseeker train sft --data {sft} --out {out / 'student'} --lora --max-steps 5", soft_wrap=True)
    return summary


app = typer.Typer()  # root-level commands (openseeker.cli.main mounts it without a name)


@app.command("demo")
def demo(
    out: Path = typer.Option(Path("runs/demo"), "--out", help="Where everything is written (resumable)."),
    n_qa: int = typer.Option(2, "--n-qa", help="QA samples to accept (the last --heldout are kept for eval)."),
    max_candidates: int = typer.Option(60, "--max-candidates", help="Candidates to try at most."),
    heldout: int = typer.Option(1, "--heldout", help="Accepted questions held out for evaluation."),
    max_tool_calls: int = typer.Option(3, "--max-tool-calls", help="Tool budget per question in the demo."),
    seed: int = typer.Option(0, "--seed", help="Seed of QA synthesis."),
) -> None:
    """Run the whole pipeline on the embedded default (offline, CPU): web, QA, trajectories, SFT data, eval."""
    if n_qa < 1 or max_candidates < n_qa:
        raise UserError("--n-qa must be >= 1 and --max-candidates >= --n-qa")
    run_demo(out, n_qa=n_qa, max_candidates=max_candidates, heldout=heldout, max_tool_calls=max_tool_calls,
             seed=seed)
