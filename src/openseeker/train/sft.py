"""SFT of the student on the exported dataset: TRL ``SFTTrainer`` + PEFT (LoRA) or full fine-tuning.

``train_sft(TrainConfig(data=..., out=...))`` reads ``tokenized.jsonl`` from ``openseeker export sft`` (input ids
plus OUR labels: -100 on everything but assistant tokens). The dataset already has a ``labels`` column, so TRL
keeps our mask exactly (it only builds labels when the column is absent) and does not re-tokenize.

Batching (**ours**): plain right-padding, no packing and no padding-free batching by default. Both are only
correct when the attention kernel honours per-sequence ``position_ids`` (flash-attention varlen); with the CPU
``sdpa``/``eager`` kernels a packed row would attend across example boundaries. ``--padding-free`` is offered for
GPU runs with ``attn_implementation=flash_attention_2``.

Multi-GPU / multi-node: the same module under accelerate, e.g.
``accelerate launch --config_file configs/accelerate/zero3.yaml -m openseeker.train --data D --out O``.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from openseeker.errors import InputError, UserError
from openseeker.io import iter_jsonl
from openseeker.provenance import provenance
from openseeker.train.convert import SOURCE_FILE, merged_model, resolve_model_path, source_gguf
from openseeker.train.render import render_messages

log = logging.getLogger(__name__)

LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@dataclass
class TrainConfig:
    """Hyper-parameters and paths of one SFT run. The paper gives none (METHOD.md section 4): defaults are ours.

    Attributes:
        data: a directory from ``openseeker export sft`` (or a ``tokenized.jsonl`` file).
        out: output directory (checkpoints, ``final/``, ``train_log.jsonl``, ``run_config.json``).
        model: base model: a HF directory or a ``.gguf`` (converted once); default: the embedded SmolLM2-135M.
        lora: train a LoRA adapter instead of all weights.
        max_steps: stop after this many optimizer steps (-1 = run ``epochs``).
        epochs: number of passes over the data.
        lr: learning rate (default 2e-4 with LoRA, 2e-5 full).
        batch_size: per-device micro-batch size.
        grad_accum: gradient-accumulation steps.
        max_length: drop longer examples at load time (export already applied its own length policy).
        lora_r, lora_alpha, lora_dropout: LoRA shape (rank, scaling alpha, dropout).
        save_steps: checkpoint every N steps (also saved at the end).
        save_total_limit: keep at most this many checkpoints.
        logging_steps: log every N steps.
        resume: continue from the last checkpoint in ``out``.
        seed: seed of the shuffling and of LoRA init.
        padding_free: padding-free batches (correct only with flash-attention varlen; GPU).
        warmup_ratio: linear warm-up fraction.
        limit: use only the first N examples.
    """

    data: str
    out: str
    model: str | None = None
    lora: bool = False
    max_steps: int = -1
    epochs: float = 1.0
    lr: float | None = None
    batch_size: int = 1
    grad_accum: int = 1
    max_length: int | None = None
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    save_steps: int = 500
    save_total_limit: int = 2
    logging_steps: int = 1
    resume: bool = False
    seed: int = 0
    padding_free: bool = False
    warmup_ratio: float = 0.0
    limit: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # passed through to trl.SFTConfig

    def __post_init__(self) -> None:
        if self.max_steps == 0 or self.max_steps < -1:
            raise UserError("--max-steps must be a positive number (or -1 for epochs)")
        if self.epochs <= 0:
            raise UserError("--epochs must be > 0")
        if self.batch_size < 1 or self.grad_accum < 1:
            raise UserError("--batch-size and --grad-accum must be >= 1")
        if self.lr is not None and not (0 < self.lr < 1):
            raise UserError("--lr must be in (0, 1)")
        if self.lr is None:
            self.lr = 2e-4 if self.lora else 2e-5


def load_tokenized(data: str | Path, *, max_length: int | None = None, limit: int | None = None) -> list[dict]:
    """Read ``tokenized.jsonl`` rows ``{input_ids, labels}``; validates shape, drops over-length rows (logged)."""
    p = Path(data)
    path = p / "tokenized.jsonl" if p.is_dir() else p
    if not path.exists():
        raise UserError(f"{path}: no tokenized data; run `openseeker export sft --format tokenized` first")
    rows, too_long = [], 0
    for lineno, obj in iter_jsonl(path, required=("input_ids", "labels")):
        ids, labels = obj["input_ids"], obj["labels"]
        if len(ids) != len(labels):
            raise InputError("input_ids and labels differ in length", path=str(path), line=lineno)
        if not any(x != -100 for x in labels):
            raise InputError("example has no trained token (all labels are -100)", path=str(path), line=lineno)
        if max_length is not None and len(ids) > max_length:
            too_long += 1
            continue
        rows.append({"input_ids": ids, "labels": labels})
        if limit is not None and len(rows) >= limit:
            break
    if too_long:
        log.warning("dropped %d example(s) longer than max_length=%d", too_long, max_length)
    if not rows:
        raise UserError(f"{path}: no usable training example")
    return rows


def _device_kwargs() -> dict[str, Any]:
    import torch

    if torch.cuda.is_available():
        bf16 = torch.cuda.is_bf16_supported()
        return {"bf16": bf16, "fp16": not bf16, "use_cpu": False}
    return {"bf16": False, "fp16": False, "use_cpu": True}


class _JsonlLogger:
    """A TrainerCallback writing every log dict to ``train_log.jsonl`` (kept across resumes)."""

    def __new__(cls, path: Path):
        from transformers import TrainerCallback

        class Cb(TrainerCallback):
            def on_log(self, args, state, control, logs=None, **kw):
                if logs and state.is_world_process_zero:
                    with path.open("a", encoding="utf-8") as fh:
                        fh.write(json.dumps({"step": state.global_step, **logs}) + "\n")

        return Cb()


def _checkpoints(out: Path, resume: bool) -> list[Path]:
    """The run's checkpoints, oldest first; existing ones without ``resume`` are a ``UserError``."""
    checkpoints = sorted(
        out.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]) if p.name.split("-")[-1].isdigit() else -1
    )
    if resume and not checkpoints:
        log.warning("--resume: no checkpoint in %s, starting from scratch", out)
    if not resume and checkpoints:
        raise UserError(
            f"{out} already has checkpoints ({checkpoints[-1].name}); pass --resume to continue or "
            "choose another --out"
        )
    return checkpoints


def _sft_args(cfg: TrainConfig, out: Path, dev: dict[str, Any]) -> Any:
    """TRL's ``SFTConfig`` for ``cfg`` (``dev``: the device keywords, ``cfg.extra`` last so it can override)."""
    from trl import SFTConfig

    return SFTConfig(
        output_dir=str(out),
        max_steps=cfg.max_steps,
        num_train_epochs=cfg.epochs,
        per_device_train_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        learning_rate=cfg.lr,
        warmup_steps=cfg.warmup_ratio,  # transformers>=5: a float < 1 is a ratio of the total steps
        logging_steps=cfg.logging_steps,
        save_steps=cfg.save_steps,
        save_total_limit=cfg.save_total_limit,
        seed=cfg.seed,
        activation_checkpointing=False,  # (was gradient_checkpointing) off on CPU: the 135M model fits easily
        report_to="none",
        max_length=None,  # lengths were handled by the export policy / load_tokenized
        packing=False,
        padding_free=cfg.padding_free,
        dataloader_num_workers=0,
        disable_tqdm=False,
        **dev,
        **cfg.extra,
    )


def train_sft(cfg: TrainConfig) -> dict[str, Any]:
    """Run SFT; returns a summary (steps, losses, tokens/s, where the final model is)."""
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTTrainer

    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    model_path = resolve_model_path(cfg.model)
    rows = load_tokenized(cfg.data, max_length=cfg.max_length, limit=cfg.limit)
    dataset = Dataset.from_list(rows)
    tok = AutoTokenizer.from_pretrained(model_path)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    dev = _device_kwargs()
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32 if dev["use_cpu"] else "auto")
    peft_config = None
    if cfg.lora:
        from peft import LoraConfig

        peft_config = LoraConfig(
            r=cfg.lora_r,
            lora_alpha=cfg.lora_alpha,
            lora_dropout=cfg.lora_dropout,
            target_modules=LORA_TARGETS,
            task_type="CAUSAL_LM",
        )
    checkpoints = _checkpoints(out, cfg.resume)
    args = _sft_args(cfg, out, dev)
    trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tok, peft_config=peft_config)
    trainer.add_callback(_JsonlLogger(out / "train_log.jsonl"))
    is_main = trainer.is_world_process_zero()  # under accelerate/torchrun only rank 0 writes our files
    if is_main:
        (out / "run_config.json").write_text(
            json.dumps(
                {
                    "config": asdict(cfg),
                    "model_path": str(model_path),
                    "examples": len(rows),
                    "sft_args": args.to_dict(),
                    "provenance": provenance(),
                },
                indent=2,
                default=str,
            )
            + "\n"
        )
    t0 = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=True if (cfg.resume and checkpoints) else None)
    wall = time.perf_counter() - t0
    final = out / "final"
    trainer.save_model(str(final))  # collective under FSDP/ZeRO-3: every rank calls it
    if is_main:
        tok.save_pretrained(final)
    src = source_gguf(model_path)
    if src is not None and is_main:
        (final / SOURCE_FILE).write_text(json.dumps({"gguf": str(src)}, indent=2))
    history = trainer.state.log_history
    losses = [h["loss"] for h in history if "loss" in h]
    num_tokens = max((h.get("num_tokens", 0) for h in history), default=0)
    summary = {
        "final": str(final),
        "lora": cfg.lora,
        "steps": trainer.state.global_step,
        "examples": len(rows),
        "first_loss": losses[0] if losses else None,
        "last_loss": losses[-1] if losses else None,
        "train_loss": result.training_loss if not math.isnan(result.training_loss) else None,
        "train_tokens": num_tokens,
        "wall_s": round(wall, 2),
        "tokens_per_s": round(num_tokens / wall, 1) if wall > 0 and num_tokens else None,
    }
    if is_main:
        (out / "train_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def load_trained(path: str | Path) -> tuple[Any, Any]:
    """Load a trained checkpoint (full, or LoRA merged into its base) and its tokenizer, for generation."""

    return merged_model(path)


def generate(path: str | Path, messages: list[dict[str, Any]], *, max_new_tokens: int = 64) -> str:
    """Greedy generation from a trained checkpoint with the ChatML template (a smoke check, not serving)."""
    import torch

    model, tok = load_trained(path)
    model.eval()
    text = render_messages(messages).text + "<|im_start|>assistant\n"
    enc = tok(text, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        ids = model.generate(
            **enc,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            eos_token_id=tok.convert_tokens_to_ids("<|im_end|>"),
            pad_token_id=tok.pad_token_id,
        )
    return tok.decode(ids[0, enc["input_ids"].shape[1] :], skip_special_tokens=True)
