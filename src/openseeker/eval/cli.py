"""``openseeker eval``: load benchmarks, run evaluations, write and compare reports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from openseeker.cli.options import (
    BaseUrlOpt,
    ConfigOpt,
    ExecutorOpt,
    LLMOpt,
    ModelOpt,
    RayAddressOpt,
    RetrievalOpt,
    WebConfigOpt,
    WorkersOpt,
)
from openseeker.eval.cli_offline import app as offline_app
from openseeker.eval import DEFAULT_MAX_TOOL_CALLS

EPILOG_LOAD = """Examples:\n
  openseeker eval load --benchmark browsecomp-zh --count\n
  openseeker eval load --benchmark xbench-2505 --show 1
"""
EPILOG_RUN = """Examples:\n
  openseeker eval run --benchmark musique --out out/eval-musique --limit 5 --llm embedded\n
  openseeker eval run --benchmark browsecomp-zh --web live --config my.yaml --out out/bczh --sample 50 --seed 0
"""


UngradedOpt = Annotated[str, typer.Option("--ungraded", help="Ungraded answers (judge reply unparseable or judge "
                                          "down) count as 'wrong' (default) or are 'exclude'd from the "
                                          "denominator (OpenSeeker's eval script); the report says which.")]


app = typer.Typer(name="eval", help="Evaluate an agent on benchmarks (decrypted in memory) with a pinned judge; "
                  "reports.", no_args_is_help=True)


@app.command("load", epilog=EPILOG_LOAD)
def load_cmd(
    benchmark: Annotated[str, typer.Option("--benchmark", "-b", help="Benchmark name (see `eval list`).")],
    path: Annotated[Optional[Path], typer.Option("--path", help="The benchmark file (default: under "
                                                 "$OPENSEEKER_DATA or ../shared/data).")] = None,
    count: Annotated[bool, typer.Option("--count", help="Print the number of records.")] = False,
    show: Annotated[Optional[int], typer.Option("--show", help="Print N decrypted records (terminal "
                                                "only; never redirect them into the repo).")] = None,
) -> None:
    """Load (and decrypt in memory) a benchmark: print its record count or the first N records."""
    from openseeker.eval.loaders import load_benchmark

    items = load_benchmark(benchmark, path)
    if show is None or count:
        typer.echo(len(items))
    if show:
        for it in items[:show]:
            typer.echo(it.model_dump_json(indent=2))


@app.command("list")
def list_cmd() -> None:
    """List the benchmarks the loaders know."""
    from openseeker.eval.loaders import BENCHMARKS

    for name, spec in sorted(BENCHMARKS.items()):
        typer.echo(f"{name:24s} {spec.kind:9s} {spec.description}")


@app.command("run", epilog=EPILOG_RUN)
def run_cmd(
    benchmark: Annotated[str, typer.Option("--benchmark", "-b", help="Benchmark name (see `eval list`).")],
    out: Annotated[Path, typer.Option("--out", help="Output directory (resumable: re-run to continue).")],
    path: Annotated[Optional[Path], typer.Option("--path", help="The benchmark file.")] = None,
    web: Annotated[Optional[str], typer.Option("--web", help="A local web directory (from `web build`) or "
                                               "'live'. Multi-hop sets (musique, hotpotqa) default to a web "
                                               "built from their own paragraphs under OUT/web.")] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", help="First N questions (after --sample).")] = None,
    sample: Annotated[Optional[int], typer.Option("--sample", help="N questions drawn with --seed.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of --sample.")] = 0,
    runs: Annotated[int, typer.Option("--runs", help="Runs per question (avg@n, pass@n).")] = 1,
    llm: LLMOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    config: ConfigOpt = None,
    web_config: WebConfigOpt = None,
    judge: Annotated[str, typer.Option("--judge", help="'llm' (judge role) or 'none' (normalized exact "
                                       "match).")] = "llm",
    concurrency: Annotated[int, typer.Option("--concurrency", help="Questions in flight.")] = 2,
    max_tool_calls: Annotated[int, typer.Option("--max-tool-calls", help="Tool budget per question.")]
    = DEFAULT_MAX_TOOL_CALLS,
    max_turns: Annotated[Optional[int], typer.Option("--max-turns", help="LLM turns per question.")] = None,
    max_tokens_per_turn: Annotated[Optional[int], typer.Option("--max-tokens-per-turn", help="Generation "
                                                               "limit per agent turn.")] = None,
    leakage_guard: Annotated[str, typer.Option("--leakage-guard", help="auto (on for --web live), on, "
                                               "off.")] = "auto",
    block_domain: Annotated[Optional[list[str]], typer.Option("--block-domain", help="Extra blocked "
                                                              "host or host/path prefix (repeatable).")] = None,
    ungraded: UngradedOpt = "wrong",
    retrieval: RetrievalOpt = None,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bar.")] = False,
    workers: WorkersOpt = None,
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = None,
) -> None:
    """Run the agent (student role) on a benchmark subset, judge the answers, write the report."""
    from openseeker.eval.leakage import DEFAULT_BLOCKLIST
    from openseeker.eval.report import render_markdown
    from openseeker.eval.run import evaluate
    from openseeker.executors import get_executor
    from openseeker.llm.config import resolve_llm_config

    from openseeker.eval.cli_offline import after_run, echo_retrieval, web_for

    web = web_for(benchmark, path, web)
    cfg = resolve_llm_config(config=config, llm=llm, base_url=base_url, model=model)
    live_cfg = None
    if web == "live":
        from openseeker.web.live.config import live_config_source

        live_cfg = live_config_source(web_config, config)
    report = evaluate(
        benchmark, path, web, out, limit=limit, sample=sample, seed=seed, runs=runs, llm_config=cfg,
        judge=judge, concurrency=concurrency, max_tool_calls=max_tool_calls, max_turns=max_turns,
        leakage_guard=leakage_guard, blocklist=list(DEFAULT_BLOCKLIST) + list(block_domain or []),
        progress=not no_progress,
        agent_options={"max_tokens_per_turn": max_tokens_per_turn} if max_tokens_per_turn else None,
        web_config=live_cfg, ungraded=ungraded, retrieval=retrieval,
        executor=get_executor(executor, workers=workers, ray_address=ray_address, concurrency=concurrency,
                              progress=not no_progress),
    )
    typer.echo(render_markdown(report).split("\n## ")[0].strip())
    echo_retrieval(after_run(benchmark, path, web, out))
    typer.echo(f"\nreport: {out / 'report.md'} (json: {out / 'report.json'}, plots: {out / 'plots'})")


@app.command("regrade")
def regrade_cmd(
    source: Annotated[Path, typer.Argument(help="An eval output directory (its trajectories are graded).")],
    out: Annotated[Path, typer.Option("--out", help="New output directory.")],
    judge: Annotated[str, typer.Option("--judge", help="'llm' (judge role) or 'none' (normalized exact "
                                       "match).")] = "llm",
    llm: LLMOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    config: ConfigOpt = None,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bar.")] = False,
) -> None:
    """Grade a finished run's answers again with another judge, without re-running the agent."""
    from openseeker.eval.report import render_markdown
    from openseeker.eval.run import regrade

    cfg = None
    if judge == "llm":
        from openseeker.llm.config import resolve_llm_config

        cfg = resolve_llm_config(config=config, llm=llm, base_url=base_url, model=model)
    report = regrade(source, out, judge=judge, llm_config=cfg, progress=not no_progress)
    typer.echo(render_markdown(report).split("\n## ")[0].strip())
    typer.echo(f"\nreport: {out / 'report.md'}")


@app.command("report")
def report_cmd(
    dirs: Annotated[list[Path], typer.Argument(help="Eval output directories.")],
    out: Annotated[Optional[Path], typer.Option("--out", help="Where the comparison (compare.md, plots) "
                                                "goes; default: the current directory.")] = None,
    ungraded: Annotated[Optional[str], typer.Option("--ungraded", help="Ungraded answers (judge reply "
                                                    "unparseable or judge down) count as 'wrong' or are "
                                                    "'exclude'd from the denominator; default: the run's "
                                                    "setting.")] = None,
) -> None:
    """Regenerate the report of DIR; with several DIRs also print and write a side-by-side comparison."""
    from openseeker.eval.report import compare, render_markdown, write_report

    if len(dirs) == 1:
        rep = write_report(dirs[0], ungraded=ungraded)
        typer.echo(render_markdown(rep))
        return
    md = compare(dirs, out or Path.cwd(), ungraded=ungraded)
    typer.echo(md)
    typer.echo(f"written: {(out or Path.cwd()) / 'compare.md'}")


app.add_typer(offline_app)  # freeze, bcp, bcp-runs
