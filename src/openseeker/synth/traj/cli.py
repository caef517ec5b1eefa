"""``openseeker synth traj``: teacher trajectories with retrospective summarization (a thin wrapper over
``openseeker.synth.traj.pipeline.synthesize_trajectories``)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer

from openseeker.agent.batch import raise_if_failed
from openseeker.agent.options import (
    AllowMixedOpt,
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
    ToolsOpt,
)
from openseeker.agent.settings import agent_section
from openseeker.cli.options import (
    BaseUrlOpt,
    ConfigOpt,
    ExecutorOpt,
    LLMOpt,
    ModelOpt,
    RankOpt,
    RayAddressOpt,
    WebConfigOpt,
    WebOpt,
    WorkersOpt,
)
from openseeker.executors import get_executor
from openseeker.llm.config import resolve_llm_config
from openseeker.synth.traj.pipeline import synthesize_trajectories
from openseeker.web.open import live_config_from_flags

TRAJ_EPILOG = """Examples:

  openseeker synth traj --web webs/wiki --qa qa.jsonl --out traj.jsonl                  # embedded SmolLM2 teacher
      (reduced defaults on the embedded model, printed at start; e.g. --max-tool-calls 8 to raise the budget)

  openseeker synth traj --web webs/wiki --qa qa.jsonl --out traj.jsonl \\
      --base-url http://localhost:8000/v1 --model Qwen/Qwen3-32B --concurrency 32 --max-tool-calls 100

  openseeker synth traj --web webs/wiki --qa qa.jsonl --out ref.jsonl --teacher reference   # offline replay

  openseeker synth traj --web webs/wiki --qa qa.jsonl --out v2.jsonl --base-url http://localhost:8000/v1 \\
      --model Qwen/Qwen3-32B --preset v2          # the teacher may call code_exec (a bwrap sandbox per rollout)

  openseeker synth traj --web webs/wiki --qa qa.jsonl --out traj.jsonl --config roles.yaml \\
      --executor ray --ray-address auto --workers 16 --concurrency 128        # a Ray cluster (docs/scale.md)

Re-running the same command resumes (QA ids already in --out are skipped). A file holds one teacher kind.
"""


app = typer.Typer()  # mounted into the synth group by openseeker.synth.cli


@app.command("traj", epilog=TRAJ_EPILOG)
def traj_cmd(
    web: WebOpt,
    qa: Annotated[Path, typer.Option("--qa", help="QA JSONL (from `openseeker synth qa`).")],
    out: Annotated[Path, typer.Option("--out", help="Trajectories JSONL (appended to; resumable).")],
    no_summarize: Annotated[
        bool,
        typer.Option(
            "--no-summarize", help="Ablation: the teacher sees raw observations (no retrospective summaries)."
        ),
    ] = False,
    teacher: Annotated[
        str,
        typer.Option(
            "--teacher", help="llm (the teacher role) | reference (offline replay of the QA evidence chain, no LLM)."
        ),
    ] = "llm",
    llm: LLMOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    config: ConfigOpt = None,
    web_config: WebConfigOpt = None,
    concurrency: ConcurrencyOpt = None,
    max_tool_calls: MaxToolCallsOpt = None,
    max_turns: MaxTurnsOpt = None,
    max_tokens_per_turn: MaxTokensPerTurnOpt = None,
    context_tokens: ContextTokensOpt = None,
    protocol: ProtocolOpt = None,
    retrieval: RetrievalOpt = None,
    preset: PresetOpt = None,
    tools: ToolsOpt = None,
    answer: AnswerOpt = None,
    sandbox: SandboxOpt = None,
    no_judge: Annotated[
        bool, typer.Option("--no-judge", help="Label with normalized match instead of the judge role.")
    ] = False,
    embedded_judge: Annotated[
        bool,
        typer.Option(
            "--embedded-judge",
            help="Let the embedded 135M model grade (default: normalized match when the judge role is embedded).",
        ),
    ] = False,
    limit: Annotated[int | None, typer.Option("--limit", help="At most N pending questions.")] = None,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bar.")] = False,
    workers: WorkersOpt = None,
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = None,
    rank: RankOpt = None,
    allow_mixed: AllowMixedOpt = False,
) -> None:
    """Teacher rollouts on QA records (retrospective summarization), labelled against the gold answers."""

    llm_config = None
    if teacher == "llm" or (not no_judge and (base_url or config)):
        llm_config = resolve_llm_config(config=config, llm=llm, base_url=base_url, model=model)
    live_cfg = live_config_from_flags(web, web_config, config)

    # only what the user gave (the `agent:` section, then flags): the pipeline fills in the defaults (reduced ones
    # when the teacher is the embedded model) and says so
    cli = {
        "concurrency": concurrency,
        "max_tool_calls": max_tool_calls,
        "protocol": protocol,
        "max_turns": max_turns,
        "max_tokens_per_turn": max_tokens_per_turn,
        "context_tokens": context_tokens,
        "retrieval": retrieval,
        "preset": preset,
        "tools": tools,
        "answer": answer,
    }
    section = agent_section(config)
    settings = {**section, **{k: v for k, v in cli.items() if v is not None}}
    if sandbox is not None:  # the backend from the flag, the limits from the file
        settings["sandbox"] = {**(section.get("sandbox") or {}), "backend": sandbox}
    settings.pop("role", None)
    exe = get_executor(
        executor,
        workers=workers,
        ray_address=ray_address,
        rank=rank,
        concurrency=settings.get("concurrency") or 8,
        progress=not no_progress,
        limit=limit,
    )
    summary = asyncio.run(
        synthesize_trajectories(
            qa,
            web,
            out,
            teacher=teacher,
            llm_config=llm_config,
            summarize=not no_summarize,
            settings=settings,
            judge=not no_judge and teacher == "llm",
            progress=not no_progress,
            limit=limit,
            embedded_judge=embedded_judge,
            web_config=live_cfg,
            executor=exe,
            allow_mixed=allow_mixed,
        )
    )
    _echo_summary(summary, out)

    raise_if_failed(summary)


def _echo_summary(summary: dict, out: Path) -> None:
    f = summary["file"]
    typer.echo(f"{summary['done']} new trajectories ({summary['skipped']} already done) -> {out}")
    typer.echo(
        f"file: {f['trajectories']} trajectories, correct {f['correct']}/{f['judged']} judged, "
        f"mean tool calls {f['mean_tool_calls']}, stop reasons {f['stop_reasons']}, teachers {f['teachers']}"
    )
    if f["summaries"]:
        typer.echo(f"summaries: {f['summaries']} ({f['summary_fallbacks']} fell back to truncated observations)")
    if summary.get("llm_usage"):
        typer.echo("llm usage: " + json.dumps(summary["llm_usage"]))
