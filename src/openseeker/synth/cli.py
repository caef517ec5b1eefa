"""``openseeker synth``: QA synthesis (``synth qa``, ``synth report``) and trajectory synthesis (``synth traj``,
registered by ``openseeker.synth.traj.cli_traj`` when present)."""

from __future__ import annotations

import json
import logging
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
    WorkersOpt,
)

log = logging.getLogger(__name__)

synth_app = typer.Typer(
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


@synth_app.command("qa", epilog=QA_EPILOG)
def qa_cmd(
    web: Annotated[str, typer.Option("--web", help="A local web directory (from `openseeker web build`), or "
                                     "'live' with --seed-urls.")],
    n: Annotated[int, typer.Option("--n", help="Accepted samples wanted (counting those already in --out).")],
    out: Annotated[Path, typer.Option("--out", help="Output JSONL of QASample (resumable; sidecars beside it).")],
    k: Annotated[int, typer.Option("--k", help="Pages gathered around each seed.")] = 3,
    depth: Annotated[int, typer.Option("--depth", help="Hops of the expansion walk (1 = pages linked from the "
                                       "seed, the paper's setting).")] = 2,
    selector: Annotated[str, typer.Option("--selector", help="Neighbour selection: random, relevance or "
                                          "llm.")] = "relevance",
    facts: Annotated[int, typer.Option("--facts", help="Entities (each with a fact) extracted per page.")] = 3,
    min_hops: Annotated[int, typer.Option("--min-hops", help="Edges the reasoning chain must traverse (>= 2).")] = 2,
    lang: Annotated[str, typer.Option("--lang", help="Language of the questions: en, zh, es, fr, ...")] = "en",
    topic: Annotated[Optional[str], typer.Option("--topic", help="Only seeds with this topic.")] = None,
    page_lang: Annotated[Optional[str], typer.Option("--page-lang", help="Only seeds in this page language.")] = None,
    min_out_degree: Annotated[int, typer.Option("--min-out-degree", help="Only seeds with this many out-links.")] = 1,
    obfuscation: Annotated[int, typer.Option("--obfuscation", help="0 none, 1 chain entities, 2 all + numbers.")] = 1,
    attempts: Annotated[int, typer.Option("--attempts", help="Closed-book attempts (all must be wrong).")] = 2,
    judge: Annotated[str, typer.Option("--judge", help="Correctness: auto (normalized match, else the judge "
                                       "role), llm (always the judge role) or normalized (no LLM judge).")] = "auto",
    retries: Annotated[int, typer.Option("--retries", help="Extra attempts on malformed/invalid model output.")] = 1,
    llm: LLMOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    config: ConfigOpt = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the seed sampling and every random choice.")] = 0,
    concurrency: Annotated[int, typer.Option("--concurrency", help="Candidates in flight at once.")] = 4,
    max_candidates: Annotated[Optional[int], typer.Option("--max-candidates",
                                                          help="Candidates to try at most (default 3*n).")] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", help="Alias of --max-candidates.")] = None,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bar.")] = False,
    seed_urls: Annotated[Optional[Path], typer.Option("--seed-urls", help="With --web live: a file of seed urls "
                                                      "(one per line); their links are crawled --depth hops.")] = None,
    fanout: Annotated[int, typer.Option("--fanout", help="With --web live: links followed per crawled page.")] = 8,
    web_config: Annotated[Optional[Path], typer.Option("--web-config", help="Live-web YAML for --web live (see "
                                                       "docs/live-web.md).")] = None,
    workers: WorkersOpt = None,
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = None,
) -> None:
    """Synthesize verified, obfuscated multi-hop questions from a web graph (METHOD.md section 2)."""
    from openseeker.synth.qa.controls import QAControls
    from openseeker.synth.qa.pipeline import synthesize_qa
    from openseeker.synth.qa.report import format_report

    controls = QAControls(k=k, depth=depth, selector=selector, facts=facts, min_hops=min_hops,
                          max_hops=max(min_hops + 1, 3), obfuscation=obfuscation, lang=lang, topic=topic,
                          page_lang=page_lang, min_out_degree=min_out_degree, attempts=attempts,
                          judge=judge, retries=retries)
    urls, live_cfg = None, None
    if web == "live":
        from openseeker.synth.qa.live import read_seed_urls
        from openseeker.web.live.config import live_config_source

        if seed_urls is None:
            from openseeker.errors import UserError

            raise UserError("--web live needs --seed-urls FILE (one url per line): QA synthesis follows the seed "
                            "pages' hyperlinks")
        urls, live_cfg = read_seed_urls(seed_urls), live_config_source(web_config, config)
    from openseeker.executors import get_executor

    exe = get_executor(executor, workers=workers, ray_address=ray_address, concurrency=concurrency,
                       progress=not no_progress)
    report = synthesize_qa(web, n, out, controls=controls, config=config, llm=llm, base_url=base_url, model=model,
                           seed=seed, concurrency=concurrency, max_candidates=max_candidates or limit,
                           progress=not no_progress, seed_urls=urls, web_config=live_cfg, crawl_fanout=fanout,
                           executor=exe)
    typer.echo(format_report(report))


@synth_app.command("report")
def report_cmd(
    file: Annotated[Path, typer.Argument(help="A QA synthesis output JSONL (its .rejected.jsonl is read too).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Print the per-stage yield report of a QA synthesis output (recomputed from the files)."""
    from openseeker.synth.qa.report import build_report, format_report

    report = build_report(file)
    typer.echo(json.dumps(report, indent=2, ensure_ascii=False) if as_json else format_report(report))


def register(app: typer.Typer) -> None:
    from openseeker.synth.traj.cli_traj import register_traj

    register_traj(synth_app)
    app.add_typer(synth_app, name="synth")
