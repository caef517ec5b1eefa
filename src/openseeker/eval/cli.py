"""``openseeker eval``: load benchmarks, run evaluations, write and compare reports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from openseeker.agent.embedded_defaults import describe_reduced
from openseeker.agent.options import (
    AnswerOpt,
    ConcurrencyOpt,
    ContextTokensOpt,
    MaxTokensPerTurnOpt,
    MaxToolCallsOpt,
    MaxTurnsOpt,
    PresetOpt,
    ProtocolOpt,
    RetrievalOpt,
    SandboxOpt,
    SeedOpt,
    TemperatureOpt,
    ToolsOpt,
)
from openseeker.agent.settings import resolve_run_settings
from openseeker.cli.options import (
    BaseUrlOpt,
    ConfigOpt,
    ExecutorOpt,
    LLMOpt,
    ModelOpt,
    RayAddressOpt,
    WebConfigOpt,
    WorkersOpt,
    field_help,
)
from openseeker.eval.cli_offline import after_run, echo_retrieval, web_for
from openseeker.eval.cli_offline import app as offline_app
from openseeker.eval.leakage import DEFAULT_BLOCKLIST
from openseeker.eval.loaders import BENCHMARKS, load_benchmark
from openseeker.eval.report import compare, render_markdown, write_report
from openseeker.eval.run import evaluate, regrade
from openseeker.eval.settings import EvalSettings
from openseeker.executors import get_executor
from openseeker.llm.config import resolve_llm_config
from openseeker.web.open import live_config_from_flags

EPILOG_LOAD = """Examples:\n
  openseeker eval load --benchmark browsecomp-zh --count\n
  openseeker eval load --benchmark xbench-2505 --show 1
"""
EPILOG_RUN = """Examples:\n
  openseeker eval run --benchmark musique --out out/eval-musique --limit 5 --llm embedded\n
  openseeker eval run --benchmark browsecomp-zh --web live --config my.yaml --out out/bczh --sample 50 --subset-seed 0\n
  openseeker eval run --benchmark xbench-2505 --web live --config my.yaml --out out/xb-v2 --preset v2
"""


def _eval(name: str) -> str:
    """An eval option's help: the ``EvalSettings`` field's documentation (written once, as for agent options)."""
    return field_help(EvalSettings, name)


BenchmarkOpt = Annotated[str, typer.Option("--benchmark", "-b", help=_eval("benchmark"))]
PathOpt = Annotated[Path | None, typer.Option("--path", help=_eval("path"))]
JudgeOpt = Annotated[str, typer.Option("--judge", help=_eval("judge"))]
UngradedOpt = Annotated[str, typer.Option("--ungraded", help=_eval("ungraded"))]


app = typer.Typer(
    name="eval",
    help="Evaluate an agent on benchmarks (decrypted in memory) with a pinned judge; reports.",
    no_args_is_help=True,
)


@app.command("load", epilog=EPILOG_LOAD)
def load_cmd(
    benchmark: BenchmarkOpt,
    path: PathOpt = None,
    count: Annotated[bool, typer.Option("--count", help="Print the number of records.")] = False,
    show: Annotated[
        int | None,
        typer.Option("--show", help="Print N decrypted records (terminal only; never redirect them into the repo)."),
    ] = None,
) -> None:
    """Load (and decrypt in memory) a benchmark: print its record count or the first N records."""

    items = load_benchmark(benchmark, path)
    if show is None or count:
        typer.echo(len(items))
    if show:
        for it in items[:show]:
            typer.echo(it.model_dump_json(indent=2))


@app.command("list")
def list_cmd() -> None:
    """List the benchmarks the loaders know."""

    for name, spec in sorted(BENCHMARKS.items()):
        typer.echo(f"{name:24s} {spec.kind:9s} {spec.description}")


@app.command("run", epilog=EPILOG_RUN)
def run_cmd(
    benchmark: BenchmarkOpt,
    out: Annotated[Path, typer.Option("--out", help="Output directory (resumable: re-run to continue).")],
    path: PathOpt = None,
    web: Annotated[str | None, typer.Option("--web", help=_eval("web"))] = None,
    limit: Annotated[int | None, typer.Option("--limit", help=_eval("limit"))] = None,
    sample: Annotated[int | None, typer.Option("--sample", help=_eval("sample"))] = None,
    subset_seed: Annotated[int, typer.Option("--subset-seed", help=_eval("subset_seed"))] = 0,
    runs: Annotated[int, typer.Option("--runs", help=_eval("runs"))] = 1,
    llm: LLMOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    config: ConfigOpt = None,
    web_config: WebConfigOpt = None,
    judge: JudgeOpt = "llm",
    concurrency: ConcurrencyOpt = None,
    max_tool_calls: MaxToolCallsOpt = None,
    max_turns: MaxTurnsOpt = None,
    max_tokens_per_turn: MaxTokensPerTurnOpt = None,
    context_tokens: ContextTokensOpt = None,
    protocol: ProtocolOpt = None,
    temperature: TemperatureOpt = None,
    seed: SeedOpt = None,
    retrieval: RetrievalOpt = None,
    preset: PresetOpt = None,
    tools: ToolsOpt = None,
    answer: AnswerOpt = None,
    sandbox: SandboxOpt = None,
    no_extract: Annotated[
        bool, typer.Option("--no-extract", help="visit returns raw page text (no extractor LLM).")
    ] = False,
    leakage_guard: Annotated[str, typer.Option("--leakage-guard", help=_eval("leakage_guard"))] = "auto",
    block_domain: Annotated[list[str] | None, typer.Option("--block-domain", help=_eval("blocklist"))] = None,
    ungraded: UngradedOpt = "wrong",
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bar.")] = False,
    workers: WorkersOpt = None,
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = None,
) -> None:
    """Run the agent (student role) on a benchmark subset, judge the answers, write the report.

    The agent is the one `agent run` runs with the same --config (its `agent:` section) and flags."""
    web = web_for(benchmark, path, web)
    cfg = resolve_llm_config(config=config, llm=llm, base_url=base_url, model=model)
    live_cfg = live_config_from_flags(web, web_config, config)
    cli = dict(
        protocol=protocol,
        max_tool_calls=max_tool_calls,
        concurrency=concurrency,
        extract=False if no_extract else None,
        max_turns=max_turns,
        max_tokens_per_turn=max_tokens_per_turn,
        context_tokens=context_tokens,
        temperature=temperature,
        seed=seed,
        retrieval=retrieval,
        preset=preset,
        tools=tools,
        answer=answer,
        sandbox=sandbox,
    )
    agent, reduced = resolve_run_settings(config, cfg, cli, role="student")
    if reduced:
        typer.echo(describe_reduced(reduced), err=True)
    report = evaluate(
        benchmark,
        path,
        web,
        out,
        limit=limit,
        sample=sample,
        subset_seed=subset_seed,
        runs=runs,
        llm_config=cfg,
        judge=judge,
        agent=agent,
        leakage_guard=leakage_guard,
        blocklist=list(DEFAULT_BLOCKLIST) + list(block_domain or []),
        progress=not no_progress,
        web_config=live_cfg,
        ungraded=ungraded,
        executor=get_executor(
            executor,
            workers=workers,
            ray_address=ray_address,
            concurrency=agent["concurrency"],
            progress=not no_progress,
        ),
    )
    typer.echo(render_markdown(report).split("\n## ")[0].strip())
    echo_retrieval(after_run(benchmark, path, web, out))
    typer.echo(f"\nreport: {out / 'report.md'} (json: {out / 'report.json'}, plots: {out / 'plots'})")


@app.command("regrade")
def regrade_cmd(
    source: Annotated[Path, typer.Argument(help="An eval output directory (its trajectories are graded).")],
    out: Annotated[Path, typer.Option("--out", help="New output directory.")],
    judge: JudgeOpt = "llm",
    llm: LLMOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    config: ConfigOpt = None,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bar.")] = False,
) -> None:
    """Grade a finished run's answers again with another judge, without re-running the agent."""

    cfg = None
    if judge == "llm":
        cfg = resolve_llm_config(config=config, llm=llm, base_url=base_url, model=model)
    report = regrade(source, out, judge=judge, llm_config=cfg, progress=not no_progress)
    typer.echo(render_markdown(report).split("\n## ")[0].strip())
    typer.echo(f"\nreport: {out / 'report.md'}")


@app.command("report")
def report_cmd(
    dirs: Annotated[list[Path], typer.Argument(help="Eval output directories.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Where the comparison (compare.md, plots) goes; default: the current directory."),
    ] = None,
    ungraded: Annotated[
        str | None, typer.Option("--ungraded", help=_eval("ungraded") + " Default: the run's setting.")
    ] = None,
) -> None:
    """Regenerate the report of DIR; with several DIRs also print and write a side-by-side comparison."""

    if len(dirs) == 1:
        rep = write_report(dirs[0], ungraded=ungraded)
        typer.echo(render_markdown(rep))
        return
    md = compare(dirs, out or Path.cwd(), ungraded=ungraded)
    typer.echo(md)
    typer.echo(f"written: {(out or Path.cwd()) / 'compare.md'}")


app.add_typer(offline_app)  # freeze, bcp, bcp-runs
