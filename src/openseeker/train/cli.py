"""CLI of the train stage: ``openseeker export sft``, ``openseeker train sft``, ``openseeker train to-gguf``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from openseeker.cli.options import field_help
from openseeker.errors import UserError
from openseeker.train.convert import to_gguf
from openseeker.train.export import FORMATS, ExportConfig, export_sft
from openseeker.train.sft import TrainConfig, train_sft

EXPORT_EPILOG = """Examples:

  openseeker export sft --traj traj.jsonl --out sft/ --format all --only-correct --min-tool-calls 2

  openseeker export sft --traj traj.jsonl --out sft/ --format tokenized --max-tokens 4096 --overlength truncate
"""

TRAIN_EPILOG = """Examples:

  openseeker train sft --data sft/ --out runs/lora --lora --max-steps 50

  accelerate launch --config_file configs/accelerate/zero3.yaml -m openseeker.train --data sft/ --out runs/full
"""


def export_command(
    traj: Annotated[Path, typer.Option("--traj", help="Trajectories JSONL (from `openseeker synth traj`).")],
    out: Annotated[Path, typer.Option("--out", help="Output directory.")],
    format: Annotated[
        str, typer.Option("--format", help="messages | sharegpt | swift | tokenized | all (comma list ok).")
    ] = "all",
    only_correct: Annotated[
        bool, typer.Option("--only-correct", help="Keep only trajectories judged correct.")
    ] = False,
    min_tool_calls: Annotated[
        int,
        typer.Option(
            "--min-tool-calls", help="Drop trajectories with fewer tool calls (OpenSeeker-v2's T_min; 0 = off)."
        ),
    ] = 0,
    max_tokens: Annotated[
        int | None, typer.Option("--max-tokens", help="Token budget per example (student template).")
    ] = None,
    overlength: Annotated[
        str, typer.Option("--overlength", help="drop | truncate (cut at the last assistant turn that fits).")
    ] = "drop",
    allow_reference: Annotated[
        bool,
        typer.Option(
            "--allow-reference", help="Also export trajectories of the offline reference teacher (tagged in metadata)."
        ),
    ] = False,
    system: Annotated[
        str, typer.Option("--system", help="student (the agent's text-protocol prompt) | keep.")
    ] = "student",
    model: Annotated[
        str | None,
        typer.Option("--model", help="Tokenizer: HF dir or .gguf (default: the embedded SmolLM2 student)."),
    ] = None,
    keep_unanswered: Annotated[
        bool, typer.Option("--keep-unanswered", help="Also export trajectories that ended without a final answer.")
    ] = False,
    skip_bad: Annotated[bool, typer.Option("--skip-bad", help="Skip malformed input lines (counted).")] = False,
) -> None:
    """Export trajectories as an SFT dataset: messages (TRL), ShareGPT (LLaMA-Factory), ms-swift, tokenized + mask."""

    formats = FORMATS if format.strip() == "all" else tuple(f.strip() for f in format.split(",") if f.strip())
    cfg = ExportConfig(
        formats=formats,
        only_correct=only_correct,
        min_tool_calls=min_tool_calls,
        max_tokens=max_tokens,
        overlength=overlength,
        allow_reference=allow_reference,
        system=system,
        model=model,
        require_answer=not keep_unanswered,
    )
    res = export_sft(traj, out, cfg, skip_bad=skip_bad, progress=True)
    s = res.stats
    typer.echo(f"exported {res.exported} / {s['read']} trajectories to {out} ({', '.join(s['config']['formats'])})")
    for skipped, why in (s.get("skipped_formats") or {}).items():
        typer.echo(f"skipped the {skipped} form: {why}")
    if res.reasons:
        typer.echo(
            "rejected: "
            + ", ".join(f"{k}={v}" for k, v in sorted(res.reasons.items()))
            + f" (see {out}/rejected.jsonl)"
        )
    if s["truncated"]:
        typer.echo(f"truncated to --max-tokens: {s['truncated']}")
    if s["tokens"].get("count"):
        t = s["tokens"]
        typer.echo(
            f"tokens per example: min {t['min']} p50 {t['p50']} p90 {t['p90']} max {t['max']} "
            f"(trained tokens total {s['trained_tokens']['total']})"
        )
    trl = s.get("trainers", {}).get("trl") or {}
    if trl.get("model_chat_template_problems"):
        typer.echo(
            f"note: the model's own chat template {'; '.join(trl['model_chat_template_problems'])}; train "
            f"messages.jsonl with TRL using {out}/{trl['chat_template_path']} (docs/train.md)"
        )
    typer.echo(f"teachers: {s['teachers']}  stats (incl. what to pass each trainer): {out}/stats.json")


def _train(name: str) -> str:
    return field_help(TrainConfig, name)


def sft_command(
    data: Annotated[Path, typer.Option("--data", help=_train("data"))],
    out: Annotated[Path, typer.Option("--out", help=_train("out"))],
    model: Annotated[str | None, typer.Option("--model", help=_train("model"))] = None,
    lora: Annotated[bool, typer.Option("--lora", help=_train("lora"))] = False,
    max_steps: Annotated[int, typer.Option("--max-steps", help=_train("max_steps"))] = -1,
    epochs: Annotated[float, typer.Option("--epochs", help=_train("epochs"))] = 1.0,
    lr: Annotated[float | None, typer.Option("--lr", help=_train("lr"))] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help=_train("batch_size"))] = 1,
    grad_accum: Annotated[int, typer.Option("--grad-accum", help=_train("grad_accum"))] = 1,
    max_length: Annotated[int | None, typer.Option("--max-length", help=_train("max_length"))] = None,
    lora_r: Annotated[int, typer.Option("--lora-r", help=_train("lora_r"))] = 16,
    save_steps: Annotated[int, typer.Option("--save-steps", help=_train("save_steps"))] = 500,
    resume: Annotated[bool, typer.Option("--resume", help=_train("resume"))] = False,
    padding_free: Annotated[bool, typer.Option("--padding-free", help=_train("padding_free"))] = False,
    seed: Annotated[int, typer.Option("--seed", help=_train("seed"))] = 0,
    limit: Annotated[int | None, typer.Option("--limit", help=_train("limit"))] = None,
) -> None:
    """Supervised fine-tuning of the student (TRL SFTTrainer; LoRA or full) on the assistant-only mask."""
    cfg = TrainConfig(
        data=str(data),
        out=str(out),
        model=model,
        lora=lora,
        max_steps=max_steps,
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        grad_accum=grad_accum,
        max_length=max_length,
        lora_r=lora_r,
        save_steps=save_steps,
        resume=resume,
        padding_free=padding_free,
        seed=seed,
        limit=limit,
    )
    s = train_sft(cfg)
    typer.echo(
        f"trained {s['steps']} steps on {s['examples']} examples: loss {s['first_loss']} -> {s['last_loss']}, "
        f"{s['tokens_per_s']} tokens/s; model in {s['final']}"
    )


def sft_main(argv: list[str] | None = None) -> int:
    """``python -m openseeker.train`` (what ``accelerate launch -m`` runs): the flags of ``train sft``."""
    app = typer.Typer(add_completion=False)
    app.command()(sft_command)
    try:
        app(args=argv, standalone_mode=False)
    except UserError as exc:
        logging.getLogger("openseeker.train.sft").error("%s", exc)
        return 2
    return 0


def to_gguf_command(
    checkpoint: Annotated[Path, typer.Argument(help="A trained checkpoint dir (full or LoRA, e.g. runs/x/final).")],
    out: Annotated[Path, typer.Option("--out", help="The .gguf file to write.")],
    source: Annotated[
        Path | None,
        typer.Option("--source", help="The GGUF the student came from (found automatically for our students)."),
    ] = None,
    dtype: Annotated[str, typer.Option("--dtype", help="f16 | f32")] = "f16",
) -> None:
    """Convert a trained checkpoint to GGUF so the embedded server (xllamacpp) can serve it as the student."""

    if dtype not in ("f16", "f32"):
        raise UserError("--dtype must be f16 or f32")
    if not checkpoint.is_dir():
        raise UserError(f"{checkpoint}: no such checkpoint directory")
    path = to_gguf(checkpoint, out, source=source, dtype=dtype)
    typer.echo(f"wrote {path}")


export_app = typer.Typer(name="export", help="Export datasets (SFT) from trajectories.", no_args_is_help=True)
export_app.command("sft", epilog=EXPORT_EPILOG)(export_command)
train_app = typer.Typer(
    name="train", help="Train the student (SFT) and convert checkpoints for serving.", no_args_is_help=True
)
train_app.command("sft", epilog=TRAIN_EPILOG)(sft_command)
train_app.command("to-gguf")(to_gguf_command)
