"""``openseeker agent run``: answer questions with the search agent over a web; trajectories to resumable JSONL.

A thin wrapper over ``openseeker.agent.batch.run_questions``.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from openseeker.agent.batch import load_questions, raise_if_failed, run_questions
from openseeker.agent.embedded_defaults import describe_reduced
from openseeker.agent.options import (
    AllowMixedOpt,
    AnswerOpt,
    ConcurrencyOpt,
    ContextTokensOpt,
    MaxToolCallsOpt,
    MaxTurnsOpt,
    PresetOpt,
    ProtocolOpt,
    RetrievalOpt,
    RoleOpt,
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
    RankOpt,
    RayAddressOpt,
    WebConfigOpt,
    WebOpt,
    WorkersOpt,
)
from openseeker.errors import UserError
from openseeker.executors import get_executor
from openseeker.io import iter_jsonl
from openseeker.llm.config import resolve_llm_config
from openseeker.records import Question, content_id
from openseeker.web.open import live_config_from_flags

if TYPE_CHECKING:
    from openseeker.records import Question

app = typer.Typer(name="agent", help="The search agent (ReAct with search/visit).", no_args_is_help=True)

RUN_EPILOG = """Examples:

  openseeker agent run --web webs/wiki --question "Where was the designer of the Eiffel Tower born?" --out t.jsonl

  openseeker agent run --web webs/wiki --questions qs.jsonl --out trajs.jsonl --concurrency 16

  openseeker agent run --web webs/wiki --base-url http://localhost:8000/v1 --model Qwen/Qwen3-8B \\
      --questions qs.jsonl --out trajs.jsonl --max-tool-calls 50 --role teacher

  openseeker agent run --web webs/wiki --questions qs.jsonl --out trajs.jsonl --workers 2 --concurrency 512

  openseeker agent run --web webs/wiki --questions qs.jsonl --out trajs.jsonl --executor ray --workers 8 \\
      --ray-address auto --base-url http://vllm:8000/v1,http://vllm2:8000/v1

  openseeker agent run --web live --web-config live.yaml --base-url http://localhost:8000/v1 \\
      --question "..." --out t.jsonl

  openseeker agent run --web webs/wiki --base-url http://localhost:8000/v1 --model OpenSeeker-v2 \\
      --preset v2 --questions qs.jsonl --out trajs.jsonl       # + code_exec in a bwrap sandbox, \\boxed{} answers

Each line of the questions file is a JSON object with "id" and "question" (other keys are kept in the
trajectory's metadata). Re-running the same command resumes: ids already in --out are skipped.
"""


@app.command("run", epilog=RUN_EPILOG)
def run_cmd(
    web: WebOpt,
    out: Annotated[Path, typer.Option("--out", help="Trajectories JSONL (appended to; resumable).")],
    question: Annotated[str | None, typer.Option("--question", help="One question.")] = None,
    questions: Annotated[
        Path | None, typer.Option("--questions", help='JSONL file, one {"id", "question"} per line.')
    ] = None,
    llm: LLMOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    config: ConfigOpt = None,
    web_config: WebConfigOpt = None,
    max_tool_calls: MaxToolCallsOpt = None,
    concurrency: ConcurrencyOpt = None,
    role: RoleOpt = None,
    protocol: ProtocolOpt = None,
    no_extract: Annotated[
        bool, typer.Option("--no-extract", help="visit returns raw page text (no extractor LLM).")
    ] = False,
    max_turns: MaxTurnsOpt = None,
    context_tokens: ContextTokensOpt = None,
    temperature: TemperatureOpt = None,
    seed: SeedOpt = None,
    retrieval: RetrievalOpt = None,
    preset: PresetOpt = None,
    tools: ToolsOpt = None,
    answer: AnswerOpt = None,
    sandbox: SandboxOpt = None,
    limit: Annotated[int | None, typer.Option("--limit", min=0, help="Run at most N pending questions.")] = None,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bar.")] = False,
    workers: WorkersOpt = None,
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = None,
    rank: RankOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    allow_mixed: AllowMixedOpt = False,
) -> None:
    """Answer questions with the agent; one trajectory per question in --out."""

    if (question is None) == (questions is None):
        raise UserError("give exactly one of --question TEXT or --questions FILE")
    if role is not None and role not in ("student", "teacher"):
        raise UserError(f"--role must be 'student' or 'teacher', got {role!r}")
    items = _questions(question, questions)
    cli = dict(
        role=role,
        protocol=protocol,
        max_tool_calls=max_tool_calls,
        concurrency=concurrency,
        extract=False if no_extract else None,
        max_turns=max_turns,
        context_tokens=context_tokens,
        temperature=temperature,
        seed=seed,
        retrieval=retrieval,
        preset=preset,
        tools=tools,
        answer=answer,
        sandbox=sandbox,
    )
    llm_config = resolve_llm_config(config=config, llm=llm, base_url=base_url, model=model)
    settings, reduced = resolve_run_settings(config, llm_config, cli)
    if reduced:
        typer.echo(describe_reduced(reduced), err=True)
    live_cfg = live_config_from_flags(web, web_config, config)
    exe = get_executor(
        executor,
        workers=workers,
        ray_address=ray_address,
        rank=rank,
        concurrency=settings["concurrency"],
        progress=not no_progress,
        limit=limit,
    )
    summary = asyncio.run(
        run_questions(
            web,
            llm_config,
            items,
            out,
            settings=settings,
            progress=not no_progress,
            limit=limit,
            web_config=live_cfg,
            executor=exe,
            allow_mixed=allow_mixed,
        )
    )
    if as_json:
        typer.echo(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        _echo_summary(summary, single=question is not None)

    raise_if_failed(summary)


def _questions(question: str | None, questions: Path | None) -> list[Question]:
    """The questions to run: ``--question TEXT`` (its id is a hash of the text) or ``--questions FILE``."""

    if question is not None:
        if not question.strip():
            raise UserError("--question is empty")
        return [Question(id=content_id(question), question=question)]
    assert questions is not None  # run_cmd checked that exactly one of the two was given
    return load_questions(questions)


def _echo_summary(s: dict, single: bool) -> None:
    stops = ", ".join(f"{k} {v}" for k, v in sorted(s["stop_reasons"].items())) or "-"
    typer.echo(
        f"{s['out']}: ran {s['done']}, skipped {s['skipped']} (already done), total {s['total']}; "
        f"protocol {s.get('protocol', '?')}"
    )
    typer.echo(f"  stop reasons: {stops}")
    typer.echo(
        f"  tool calls {s['tool_calls']} (mean {s['mean_tool_calls']}), turns {s['turns']}, "
        f"tokens in {s['tokens']['prompt']} / out {s['tokens']['completion']}, wall {s['wall_s']:.1f}s"
    )
    if s.get("extractor") and s["extractor"].get("calls"):
        e = s["extractor"]
        typer.echo(f"  visit extractor: {e['ok']} extracted, {e['failed']} fell back to raw text")
    if single and s["done"]:
        last = None
        for _, obj in iter_jsonl(s["out"]):
            last = obj
        if last is not None:
            typer.echo(f"  answer: {last.get('final_answer')!r} ({last.get('stop_reason')})")
