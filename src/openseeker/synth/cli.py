"""``openseeker synth``: QA synthesis (``synth qa``, ``synth report``) and trajectory synthesis (``synth traj``,
registered by ``openseeker.synth.traj.cli``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from openseeker.cli.options import (
    BaseUrlOpt,
    ConfigOpt,
    ExecutorOpt,
    LLMOpt,
    ModelOpt,
    RayAddressOpt,
    WorkersOpt,
    field_help,
)
from openseeker.errors import LLMError, UserError
from openseeker.executors import get_executor
from openseeker.synth.qa.controls import QAControls
from openseeker.synth.qa.live import read_seed_urls
from openseeker.synth.qa.pipeline import synthesize_qa
from openseeker.synth.qa.report import build_report, format_report
from openseeker.synth.traj.cli import app as traj_app

app = typer.Typer(
    name="synth",
    help="Synthesize training data: verified multi-hop QA from a web graph, then trajectories.",
    no_args_is_help=True,
)

QA_EPILOG = """Examples:

  openseeker synth qa --web web/ --n 20 --out qa.jsonl                 # embedded SmolLM2 (weak: low yield)

  openseeker synth qa --web web/ --n 500 --out qa.jsonl --base-url http://localhost:8000/v1 --model Qwen3-32B \\
      --k 4 --depth 2 --lang zh --obfuscation 2 --concurrency 32

  openseeker synth report qa.jsonl
"""


_QA = QAControls()  # the defaults; the help of each control is its entry in the QAControls docstring


def _qa(name: str) -> str:
    return field_help(QAControls, name)


@app.command("qa", epilog=QA_EPILOG)
def qa_cmd(
    web: Annotated[
        str,
        typer.Option("--web", help="A local web directory (from `openseeker web build`), or 'live' with --seed-urls."),
    ],
    n: Annotated[int, typer.Option("--n", help="Accepted samples wanted (counting those already in --out).")],
    out: Annotated[Path, typer.Option("--out", help="Output JSONL of QASample (resumable; sidecars beside it).")],
    k: Annotated[int, typer.Option("--k", help=_qa("k"))] = _QA.k,
    depth: Annotated[int, typer.Option("--depth", help=_qa("depth"))] = _QA.depth,
    selector: Annotated[str, typer.Option("--selector", help=_qa("selector"))] = _QA.selector,
    facts: Annotated[int, typer.Option("--facts", help=_qa("facts"))] = _QA.facts,
    min_hops: Annotated[int, typer.Option("--min-hops", help=_qa("min_hops"))] = _QA.min_hops,
    lang: Annotated[str, typer.Option("--lang", help=_qa("lang"))] = _QA.lang,
    topic: Annotated[str | None, typer.Option("--topic", help=_qa("topic"))] = _QA.topic,
    page_lang: Annotated[str | None, typer.Option("--page-lang", help=_qa("page_lang"))] = _QA.page_lang,
    min_out_degree: Annotated[int, typer.Option("--min-out-degree", help=_qa("min_out_degree"))] = _QA.min_out_degree,
    obfuscation: Annotated[int, typer.Option("--obfuscation", help=_qa("obfuscation"))] = _QA.obfuscation,
    attempts: Annotated[int, typer.Option("--attempts", help=_qa("attempts"))] = _QA.attempts,
    judge: Annotated[str, typer.Option("--judge", help=_qa("judge"))] = _QA.judge,
    retries: Annotated[int, typer.Option("--retries", help=_qa("retries"))] = _QA.retries,
    questions_per_graph: Annotated[
        int, typer.Option("--questions-per-graph", help=_qa("questions_per_graph"))
    ] = _QA.questions_per_graph,
    llm: LLMOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    config: ConfigOpt = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the seed sampling and every random choice.")] = 0,
    concurrency: Annotated[int, typer.Option("--concurrency", help="Candidates in flight at once.")] = 4,
    max_candidates: Annotated[
        int | None, typer.Option("--max-candidates", help="Candidates to try at most (default 3*n).")
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="Alias of --max-candidates.")] = None,
    time_budget: Annotated[
        float | None,
        typer.Option(
            "--time-budget",
            help="Seconds after which no new candidate starts (those in flight finish); default: no limit.",
        ),
    ] = None,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bar.")] = False,
    seed_urls: Annotated[
        Path | None,
        typer.Option(
            "--seed-urls",
            help="With --web live: a file of seed urls (one per line); their links are crawled --depth hops.",
        ),
    ] = None,
    fanout: Annotated[int, typer.Option("--fanout", help="With --web live: links followed per crawled page.")] = 8,
    web_config: Annotated[
        Path | None, typer.Option("--web-config", help="Live-web YAML for --web live (see docs/live-web.md).")
    ] = None,
    workers: WorkersOpt = None,
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = None,
) -> None:
    """Synthesize verified, obfuscated multi-hop questions from a web graph (METHOD.md section 2)."""

    controls = QAControls(
        k=k,
        depth=depth,
        selector=selector,
        facts=facts,
        min_hops=min_hops,
        max_hops=max(min_hops + 1, 3),
        obfuscation=obfuscation,
        lang=lang,
        topic=topic,
        page_lang=page_lang,
        min_out_degree=min_out_degree,
        attempts=attempts,
        judge=judge,
        retries=retries,
        questions_per_graph=questions_per_graph,
    )
    urls, live_cfg = None, None
    if web == "live":
        from openseeker.web.live.config import live_config_source

        if seed_urls is None:
            raise UserError(
                "--web live needs --seed-urls FILE (one url per line): QA synthesis follows the seed pages' hyperlinks"
            )
        urls, live_cfg = read_seed_urls(seed_urls), live_config_source(web_config, config)

    exe = get_executor(
        executor, workers=workers, ray_address=ray_address, concurrency=concurrency, progress=not no_progress
    )
    report = synthesize_qa(
        web,
        n,
        out,
        controls=controls,
        config=config,
        llm=llm,
        base_url=base_url,
        model=model,
        seed=seed,
        concurrency=concurrency,
        max_candidates=max_candidates or limit,
        time_budget_s=time_budget,
        progress=not no_progress,
        seed_urls=urls,
        web_config=live_cfg,
        crawl_fanout=fanout,
        executor=exe,
    )
    typer.echo(format_report(report))
    last = report.get("last_run") or {}
    if last.get("llm_errors"):
        raise LLMError(
            f"{last['llm_errors']} candidate(s) not finished: an endpoint kept failing (last: "
            f"{last.get('last_llm_error')}); listed in {out}.failed.jsonl; the accepted and rejected ones are "
            "saved: fix the endpoint and re-run the same command to try them again"
        )


@app.command("report")
def report_cmd(
    file: Annotated[Path, typer.Argument(help="A QA synthesis output JSONL (its .rejected.jsonl is read too).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Print the per-stage yield report of a QA synthesis output (recomputed from the files)."""

    report = build_report(file)
    typer.echo(json.dumps(report, indent=2, ensure_ascii=False) if as_json else format_report(report))


app.add_typer(traj_app)  # synth traj
