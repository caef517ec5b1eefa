"""``openseeker demo``: the whole pipeline on the embedded default, offline, on a laptop.

It runs the same commands a user would type (each printed before it runs), so the demo doubles as a tutorial:

    web build -> web stats -> web search -> synth qa (+ yield report) -> synth traj -> export sft
      -> eval run on held-out synthesized questions -> eval report

Every step is resumable, so re-running the demo continues where it stopped. The embedded model is SmolLM2-135M:
the pipeline is real, the model is tiny; expect low yields and low accuracy, reported honestly.

Budget (README: the whole demo in about 6 minutes on a 2-core CPU, install excluded). Nothing is cached or canned:
every step does its real work, only smaller. QA synthesis stops as soon as ``--n-qa`` samples are accepted
(``synth qa --n``), tries cheaper candidates (2 facts per page, 1 closed-book attempt) and decodes 8 candidates at
once on two embedded servers of 4 slots (``llm.embedded`` in ``demo.yaml``, printed); the teacher and the evaluated
agent get a 2-call budget; the embedded defaults of ``synth traj`` (``openseeker.agent.embedded_defaults``) do the
rest. Each step's time is printed at the end and saved in ``demo.json``.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import typer
from rich.console import Console

from openseeker.errors import OpenSeekerError, UserError

console = Console()


SEARCH_QUERIES = ("theory of relativity physicist", "largest desert in Africa")

# Hand-written two-hop questions over the wiki-offline web (ours, from its pages' lead paragraphs), each with its
# evidence chain (the pages, far end first). The embedded 135M model accepts 0-2 synthesized questions in a demo's
# budget (benchmarks/demo.md); when it accepts too few to train on and hold one out, these top up the sets, tagged
# ``metadata.source = "demo-reference"`` and announced, so trajectories, SFT data and an evaluation on a question
# the trajectories never saw are made on every run. They never count as synthesized samples.
REFERENCE_QUESTIONS: list[tuple[str, str, list[str]]] = [
    ("Which museum in Paris houses the most famous portrait painted by Leonardo da Vinci?", "Louvre",
     ["Mona Lisa", "Louvre"]),
    ("Into which sea does the river that rises in Germany's Black Forest flow?", "Black Sea", ["Danube", "Black Sea"]),
    ("Which mountain range holds the highest mountain on Earth, on the China-Nepal border?", "Himalayas",
     ["Mount Everest", "Himalayas"]),
    ("Which theory, published in 1905 and 1915, is the German-born physicist behind E = mc2 best known for?",
     "Theory of relativity", ["Albert Einstein", "Theory of relativity"]),
]  # fmt: skip


def reference_questions() -> list[dict]:
    """``REFERENCE_QUESTIONS`` as QA records the reference teacher can replay and ``eval run`` can grade."""
    out = []
    for i, (question, answer, chain) in enumerate(REFERENCE_QUESTIONS):
        nodes = [
            {"id": f"n{k}", "name": t, "page_url": "https://en.wikipedia.org/wiki/" + t.replace(" ", "_")}
            for k, t in enumerate(chain)
        ]
        out.append({"kind": "qa", "id": f"demo-reference-{i}", "question": question, "answer": answer,
                    "entity_graph": {"nodes": nodes, "edges": []},
                    "metadata": {"chain_path": chain, "source": "demo-reference"}})  # fmt: skip
    return out


def _top_up(train: Path, heldout: Path, n_train: int, n_heldout: int) -> tuple[int, int]:
    """Add reference questions where the synthesized ones leave a set empty; returns how many went to each."""
    refs = [json.dumps(r) + "\n" for r in reference_questions()]
    add_train = 0 if n_train else 2
    add_held = 0 if n_heldout else 1
    with train.open("a", encoding="utf-8") as fh:
        fh.writelines(refs[:add_train])
    with heldout.open("a", encoding="utf-8") as fh:
        fh.writelines(refs[len(refs) - add_held :] if add_held else [])
    return add_train, add_held


# The QA step decodes 8 candidates at once on two servers of 4 slots each, the cores shared out (one thread each
# on 2 cores; continuous batching: on CPU a batch of 4 costs little more than 1 for a 135M model). Measured in
# benchmarks/bench_embedded_load.py: two one-thread servers decode 1.18-1.39x faster than one two-thread server at
# 0-2 busy cores, and 4 slots per thread beat 8 (docs/llm.md, "Threads, polling and slots").
DEMO_CONFIG = """# written by `openseeker demo`: settings of the demo's QA synthesis step (docs/config.md)
llm:
  embedded: {servers: 2, n_parallel: 4, n_ctx: 8192}
"""

# QA synthesis starts no new candidate after this many seconds (those in flight finish, about 30 s more): on the
# idle 2-core machine 40 candidates took 278-316 s, so the budget bounds the demo near 5 minutes whatever the
# machine's load (benchmarks/demo.md); reference questions top up what fewer candidates did not make.
QA_TIME_BUDGET_S = 240.0

# What to try after the demo: (what it does, command). {out}, {sft} are filled in. Other stages add their entry
# here (e.g. `openseeker view` to browse the outputs) so the demo keeps ending with the next commands.
NEXT_COMMANDS: list[tuple[str, str]] = [
    # --- next commands: add yours here -------------------------------------------------------------
    (
        "look at what it wrote: QA samples, yield and rejections, trajectories, eval runs (a page on 127.0.0.1)",
        "openseeker view {out}",
    ),
    ("the per-stage yield report of QA synthesis", "openseeker synth report {out}/qa.jsonl"),
    (
        "ask the agent your own question on the demo web",
        'openseeker agent run --web {out}/web --question "Who painted the Mona Lisa?" --out {out}/mine.jsonl',
    ),
    (
        "train the student on the SFT data (needs the training extras: bash scripts/install.sh --train)",
        "openseeker train sft --data {sft} --out {out}/student --lora --max-steps 5",
    ),
    (
        "the same pipeline with a real model (any OpenAI-compatible server)",
        "openseeker synth qa --web {out}/web --n 100 --out qa.jsonl --base-url http://localhost:8000/v1 --model NAME",
    ),
]


def _run(
    args: list[str], *, timings: dict[str, float] | None = None, label: str = "", allow_fail: bool = False
) -> int:
    shown = "openseeker " + " ".join(shlex.quote(a) for a in args)
    console.rule(f"[bold cyan]$ {shown}", align="left")
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "openseeker.cli.main", *args])
    took = time.perf_counter() - started
    if timings is not None:
        key = label or " ".join(args[:2])
        timings[key] = round(timings.get(key, 0.0) + took, 1)
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


def run_demo(
    out: Path,
    *,
    n_qa: int,
    max_candidates: int,
    heldout: int,
    max_tool_calls: int,
    seed: int,
    qa_time_budget: float = QA_TIME_BUDGET_S,
) -> dict:
    """Run the demo pipeline into ``out``; returns the paths of what it wrote and the time of each step."""
    t0 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    web = out / "web"
    qa, qa_train, qa_heldout = out / "qa.jsonl", out / "qa-train.jsonl", out / "qa-heldout.jsonl"
    traj, ref_traj = out / "trajectories.teacher.jsonl", out / "trajectories.reference.jsonl"
    sft, evaldir = out / "sft", out / "eval"
    demo_cfg = out / "demo.yaml"
    demo_cfg.write_text(DEMO_CONFIG, encoding="utf-8")
    timings: dict[str, float] = {}

    def run(args: list[str], label: str = "") -> int:
        return _run(args, timings=timings, label=label)

    run(["web", "build", "--source", "wiki-offline", "--out", str(web)])
    run(["web", "stats", "--web", str(web)], "web stats/search")
    for query in SEARCH_QUERIES:
        run(["web", "search", "--web", str(web), "--top-k", "3", query], "web stats/search")

    # stops at --n accepted; cheaper candidates (2 facts per page, 1 closed-book attempt), 8 decoded at once
    run(
        [
            "synth",
            "qa",
            "--web",
            str(web),
            "--n",
            str(n_qa),
            "--out",
            str(qa),
            "--seed",
            str(seed),
            "--max-candidates",
            str(max_candidates),
            "--time-budget",
            f"{qa_time_budget:g}",
            "--facts",
            "2",
            "--attempts",
            "1",
            "--concurrency",
            "8",
            "--config",
            str(demo_cfg),
        ]
    )
    accepted = _count_lines(qa)
    n_train, n_heldout = _split_heldout(qa, qa_train, qa_heldout, heldout)
    console.print(
        f"[bold]{accepted} accepted QA sample(s)[/]: {n_train} for trajectories, {n_heldout} held out for evaluation"
    )
    ref_train, ref_held = _top_up(qa_train, qa_heldout, n_train, n_heldout)
    if ref_train or ref_held:
        console.print(
            f"[yellow]Too few synthesized samples for every later stage: {ref_train} hand-written reference "
            f"question(s) added for trajectories and {ref_held} held out for evaluation (metadata.source "
            "'demo-reference'; they do not count as synthesized). A stronger model (--base-url/--model) or a "
            "larger --max-candidates makes more.[/]"
        )
    _trajectories_and_export(run, web, qa_train, traj, ref_traj, sft, max_tool_calls)
    _evaluate(run, web, qa_heldout, evaldir, max_tool_calls)

    total = round(time.perf_counter() - t0, 1)
    summary = {
        "web": str(web),
        "qa": str(qa),
        "qa_report": str(qa) + ".report.json",
        "qa_accepted": accepted,
        "reference_questions": {"train": ref_train, "heldout": ref_held},
        "trajectories": str(traj) if traj.exists() else None,
        "reference_trajectories": str(ref_traj) if ref_traj.exists() else None,
        "sft": str(sft) if sft.exists() else None,
        "eval_report": str(evaldir / "report.md") if (evaldir / "report.md").exists() else None,
        "timings_s": {**timings, "total": total},
    }
    (out / "demo.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    _print_summary(summary, timings, total, out, sft)
    return summary


def _trajectories_and_export(
    run: Callable[..., int], web: Path, qa_train: Path, traj: Path, ref_traj: Path, sft: Path, max_tool_calls: int
) -> None:
    # The LLM teacher (embedded model, retrospective summarization on) and the offline reference teacher go to
    # separate files: their data never mixes silently.
    run(
        [
            "synth",
            "traj",
            "--web",
            str(web),
            "--qa",
            str(qa_train),
            "--out",
            str(traj),
            "--max-tool-calls",
            str(max_tool_calls),
            "--limit",
            "1",
        ]
    )
    run(["synth", "traj", "--web", str(web), "--qa", str(qa_train), "--out", str(ref_traj), "--teacher", "reference"])
    # all formats; on a core install (no transformers/torch) the tokenized form is skipped, and it says why
    run(["export", "sft", "--traj", str(ref_traj), "--out", str(sft), "--format", "all", "--allow-reference"])


def _evaluate(run: Callable[..., int], web: Path, eval_set: Path, evaldir: Path, max_tool_calls: int) -> None:
    if _count_lines(eval_set):
        run(
            [
                "eval",
                "run",
                "--benchmark",
                "synth",
                "--path",
                str(eval_set),
                "--web",
                str(web),
                "--out",
                str(evaldir),
                "--max-tool-calls",
                str(max_tool_calls),
                "--max-turns",
                str(max_tool_calls + 2),
                "--max-tokens-per-turn",
                "256",
                "--judge",
                "none",
            ],
            "eval run/report",
        )
        run(["eval", "report", str(evaldir)], "eval run/report")
    else:
        console.print("[yellow]No questions to evaluate on (no QA sample was accepted).[/]")


def _print_summary(summary: dict, timings: dict[str, float], total: float, out: Path, sft: Path) -> None:
    console.rule(f"[bold green]demo finished in {_minutes(total)}", align="left")
    for key, value in summary.items():
        if key != "timings_s":
            console.print(f"  {key:22s} {value}")
    console.print("  time per step: " + ", ".join(f"{k} {v:.0f}s" for k, v in timings.items()), soft_wrap=True)
    console.print("\n[bold]Next commands:[/]")
    for what, command in next_commands(out, sft):
        console.print(f"  # {what}\n  {command}", soft_wrap=True, highlight=False)


def next_commands(out: Path, sft: Path) -> list[tuple[str, str]]:
    """``NEXT_COMMANDS`` with the demo's paths filled in."""
    return [(what, command.format(out=out, sft=sft)) for what, command in NEXT_COMMANDS]


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s"


app = typer.Typer()  # root-level commands (openseeker.cli.main mounts it without a name)


@app.command("demo")
def demo(
    out: Path = typer.Option(Path("runs/demo"), "--out", help="Where everything is written (resumable)."),
    n_qa: int = typer.Option(2, "--n-qa", help="QA samples to accept (the last --heldout are kept for eval)."),
    max_candidates: int = typer.Option(
        40,
        "--max-candidates",
        help="Candidates to try at most (QA synthesis stops earlier, as soon as --n-qa are accepted).",
    ),
    heldout: int = typer.Option(1, "--heldout", help="Accepted questions held out for evaluation."),
    max_tool_calls: int = typer.Option(
        2,
        "--max-tool-calls",
        help="Tool budget per question in the demo "
        "(teacher and evaluated agent: every call adds a search block to all "
        "later prompts, the main cost on CPU).",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of QA synthesis."),
    qa_time_budget: float = typer.Option(
        QA_TIME_BUDGET_S,
        "--qa-time-budget",
        help="Seconds after which QA synthesis starts no new candidate (synth qa --time-budget).",
    ),
) -> None:
    """Run the whole pipeline on the embedded default (offline, CPU): web, QA, trajectories, SFT data, eval."""
    if n_qa < 1 or max_candidates < n_qa:
        raise UserError("--n-qa must be >= 1 and --max-candidates >= --n-qa")
    if qa_time_budget <= 0:
        raise UserError("--qa-time-budget must be > 0 seconds")
    run_demo(
        out,
        n_qa=n_qa,
        max_candidates=max_candidates,
        heldout=heldout,
        max_tool_calls=max_tool_calls,
        seed=seed,
        qa_time_budget=qa_time_budget,
    )
