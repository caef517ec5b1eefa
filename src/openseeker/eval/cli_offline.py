"""``openseeker eval freeze`` / ``eval bcp`` / ``eval bcp-runs``, and the offline-benchmark hooks of ``eval run``
(LocalComp: the frozen web by default; LocalComp and BrowseComp-Plus: evidence and gold recall after the run)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from openseeker.cli.options import BaseUrlOpt, ConfigOpt, LLMOpt, ModelOpt
from openseeker.errors import UserError
from openseeker.eval import bcp
from openseeker.eval.bcp import run_record_from_trajectory, write_run_dir
from openseeker.eval.loaders import get_spec, load_benchmark, resolve_path
from openseeker.eval.localcomp import check_web, freeze, frozen_web, localcomp_qrels, qrels_report
from openseeker.eval.qrels import load_qrels
from openseeker.io import iter_jsonl
from openseeker.llm.config import resolve_llm_config
from openseeker.llm.pool import LLMPool
from openseeker.records import Trajectory
from openseeker.web.local import LocalWeb
from openseeker.web.open import open_web

EPILOG_FREEZE = """Examples:\n
  openseeker eval freeze --qa out/qa.jsonl --web out/web --out benchmarks/localcomp-wiki\n
  openseeker eval freeze --qa out/qa.jsonl --web out/web --out lc --holdout 50 --seed 0 --copy-web\n
  openseeker eval run --benchmark localcomp --path lc --out out/eval-lc --llm embedded
"""
EPILOG_BCP = """Examples:\n
  openseeker eval bcp-runs out/eval-bcp --web webs/bcp --out runs/mine\n
  openseeker eval bcp runs/mine --ground-truth browsecomp_plus_decrypted.jsonl --bcp-repo ~/BrowseComp-Plus \\\n
      --config judge-qwen3-32b.yaml
"""


def web_for(benchmark: str, path: Path | None, web: str | None) -> str | None:
    """``eval run``'s web: a LocalComp benchmark brings its own (content hash checked)."""

    if get_spec(benchmark).name != "localcomp":
        return web

    if path is None:
        raise UserError("--path DIR (a frozen LocalComp benchmark) is required for --benchmark localcomp")
    if web and web != "live":
        check_web(path, web)
        return web
    if web == "live":
        raise UserError("a LocalComp benchmark is evaluated on its frozen web, not --web live")
    return str(frozen_web(path))


def after_run(benchmark: str, path: Path | None, web: str | None, out: Path) -> dict[str, Any] | None:
    """Evidence/gold recall of an ``eval run`` on a benchmark with qrels (LocalComp, BrowseComp-Plus)."""

    name = get_spec(benchmark).name
    if name == "localcomp":
        evidence, gold, sub = localcomp_qrels(path)  # type: ignore[arg-type]
        return qrels_report(out, evidence, gold, extra={"subgraph": sub})
    if name == "browsecomp-plus":
        items = load_benchmark(name, resolve_path(get_spec(name), path))
        evidence = {it.id: it.metadata.get("evidence_docids", []) for it in items}
        gold = {it.id: it.metadata.get("gold_docids", []) for it in items}
        w = open_web(web) if web and web != "live" else None
        try:

            def to_docid(url: str) -> str | None:
                page = w.fetch_sync(url) if w is not None else None
                return None if page is None else page.metadata.get("docid")

            return qrels_report(out, evidence, gold, to_docid)
        finally:
            if w is not None:
                w.close()
    return None


def echo_retrieval(rep: dict[str, Any] | None) -> None:
    if not rep:
        return

    def pct(x: float | None) -> str:
        return "n/a" if x is None else f"{100 * x:.1f}%"

    typer.echo(
        f"evidence recall {pct(rep.get('evidence_recall'))} (with visits "
        f"{pct(rep.get('evidence_recall_with_visits'))}), gold recall {pct(rep.get('gold_recall'))}, "
        f"search calls per question {rep.get('search_calls_per_query') or 0:.2f}"
    )


app = typer.Typer()  # commands of the eval group (mounted by openseeker.eval.cli)


@app.command("freeze", epilog=EPILOG_FREEZE)
def freeze_cmd(
    qa: Annotated[Path, typer.Option("--qa", help="Verified QA (QASample JSONL from `synth qa`).")],
    web: Annotated[Path, typer.Option("--web", help="The web directory the QA was synthesized from.")],
    out: Annotated[Path, typer.Option("--out", help="The benchmark directory to write.")],
    name: Annotated[str | None, typer.Option("--name", help="Benchmark name (default: OUT's name).")] = None,
    holdout: Annotated[
        int | None,
        typer.Option("--holdout", help="Keep N questions drawn with --seed; the others' ids go to rest_ids.txt."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of --holdout.")] = 0,
    copy_web: Annotated[bool, typer.Option("--copy-web", help="Copy the web into the benchmark.")] = False,
    allow_unverified: Annotated[
        bool, typer.Option("--allow-unverified", help="Accept QA without a verification record.")
    ] = False,
) -> None:
    """Freeze verified QA + its web into an offline benchmark (questions, answers, evidence/gold qrels,
    the web's content hash, the protocol)."""

    meta = freeze(
        qa, web, out, name=name, holdout=holdout, seed=seed, copy_web=copy_web, allow_unverified=allow_unverified
    )
    typer.echo(
        f"froze {meta['questions']} questions over {meta['web']['path']} (content sha256 "
        f"{meta['web']['content_sha256'][:12]}...) into {out}"
    )
    typer.echo(f"run it: openseeker eval run --benchmark localcomp --path {out} --out OUT")


@app.command("bcp-runs", epilog=EPILOG_BCP)
def bcp_runs_cmd(
    source: Annotated[Path, typer.Argument(help="An `eval run --benchmark browsecomp-plus` output dir.")],
    web: Annotated[Path, typer.Option("--web", help="The web built from their corpus (maps urls to docids).")],
    out: Annotated[Path, typer.Option("--out", help="Directory for their run files (one JSON per query).")],
) -> None:
    """Write a finished run as BrowseComp-Plus run files (for their evaluate_run.py or `eval bcp`)."""

    tpath = source / "trajectories.jsonl"
    if not tpath.exists():
        raise UserError(f"{source}: no trajectories.jsonl")
    with LocalWeb.open(web) as lw:

        def to_docid(url: str) -> str | None:
            page = lw.fetch_sync(url)
            return None if page is None else page.metadata.get("docid")

        recs = []
        for _line, obj in iter_jsonl(tpath):
            traj = Trajectory.model_validate(obj)
            if not traj.id.endswith("#0"):
                continue  # their format holds one run per query: the first
            recs.append(run_record_from_trajectory(traj, traj.metadata.get("item_id") or traj.id[:-2], to_docid))
    n = write_run_dir(out, recs)
    typer.echo(f"wrote {n} run files to {out}")


@app.command("bcp", epilog=EPILOG_BCP)
def bcp_cmd(
    runs: Annotated[Path, typer.Argument(help="A directory of BrowseComp-Plus run files.")],
    ground_truth: Annotated[
        Path | None, typer.Option("--ground-truth", help="Their decrypted dataset JSONL (query_id, query, answer).")
    ] = None,
    qrels: Annotated[
        Path | None,
        typer.Option(
            "--qrels-dir", help="Directory with qrel_evidence.txt and qrel_golds.txt (default: the shared data)."
        ),
    ] = None,
    bcp_repo: Annotated[
        Path | None,
        typer.Option("--bcp-repo", help="A checkout of texttron/BrowseComp-Plus (their grader prompt, hash-checked)."),
    ] = None,
    protocol: Annotated[str, typer.Option("--judge-protocol", help="Pinned judge protocol.")] = "browsecomp-plus",
    no_judge: Annotated[bool, typer.Option("--no-judge", help="Retrieval metrics and tool calls only.")] = False,
    llm: LLMOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    config: ConfigOpt = None,
    concurrency: Annotated[int, typer.Option("--concurrency", help="Judge calls in flight.")] = 4,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Summary JSON (default: RUNS_eval/"
            "evaluation_summary.json, outside RUNS: their script reads "
            "every .json in RUNS).",
        ),
    ] = None,
) -> None:
    """Grade BrowseComp-Plus run files under their protocol; print and write their summary (+ gold recall)."""

    records = bcp.read_run_dir(runs)
    qdir = bcp.qrels_dir(qrels)
    if qrels is None and not (qdir / bcp.EVIDENCE_QRELS).is_file():
        raise UserError(
            f"{qdir}: no {bcp.EVIDENCE_QRELS} (the shared data); pass --qrels-dir DIR or set $OPENSEEKER_DATA"
        )
    evidence = load_qrels(qdir / bcp.EVIDENCE_QRELS)
    gold = load_qrels(qdir / bcp.GOLD_QRELS) if (qdir / bcp.GOLD_QRELS).exists() else {}
    grades: dict[str, Any] | None = None
    proto = bcp.get_protocol(protocol)
    judge_model = None
    if not no_judge:
        if ground_truth is None or bcp_repo is None:
            raise UserError(
                "grading needs --ground-truth (their decrypted JSONL) and --bcp-repo (their "
                "grader prompt); or pass --no-judge"
            )
        truth = bcp.load_ground_truth(ground_truth)
        template = bcp.load_grader_template(bcp_repo, proto)

        cfg = resolve_llm_config(config=config, llm=llm, base_url=base_url, model=model)

        async def go() -> tuple[dict[str, Any], str]:
            async with LLMPool(cfg) as pool:
                judge = pool.role("judge")
                return await bcp.grade_runs(records, truth, judge, template, proto, concurrency), judge.model

        grades, judge_model = asyncio.run(go())
        if judge_model != proto.model:
            typer.echo(
                f"warning: judge model {judge_model!r} is not the protocol's {proto.model!r}: the "
                "accuracy is not comparable with their leaderboard",
                err=True,
            )
    summary = bcp.summarize(
        records,
        grades,
        evidence=evidence,
        gold=gold,
        protocol=None if no_judge else proto.name,
        judge_model=judge_model,
    )
    target = out or runs.with_name(runs.name + "_eval") / "evaluation_summary.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    short = {k: v for k, v in summary.items() if k != "per_query_metrics"}
    typer.echo(json.dumps(short, indent=2, ensure_ascii=False))
    typer.echo(f"summary: {target}")
