"""SFT of the 135M student on CPU: the loss goes down on a repeated batch, checkpoints load and generate, resume,
LoRA, and GGUF conversion for serving. Kept to a few steps on a ~100-token example."""

from __future__ import annotations

import json

import pytest
from train_helpers import make_trajectory

from openseeker.errors import UserError
from openseeker.io import write_jsonl
from openseeker.train.export import ExportConfig, export_sft

pytestmark = pytest.mark.train


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory, student_tokenizer):
    d = tmp_path_factory.mktemp("sft")
    write_jsonl(d / "traj.jsonl", [make_trajectory("one", n_calls=1, obs_words=3)])
    export_sft(
        d / "traj.jsonl", d / "data", ExportConfig(formats=("tokenized",), system="keep"), tokenizer=student_tokenizer
    )
    return d / "data"


def _losses(out):
    return [
        json.loads(line)["loss"]
        for line in (out / "train_log.jsonl").read_text().splitlines()
        if "loss" in json.loads(line)
    ]


def test_full_finetune_loss_goes_down_and_checkpoint_generates(tiny_data, tmp_path):
    from openseeker.train.sft import TrainConfig, generate, train_sft

    out = tmp_path / "full"
    s = train_sft(
        TrainConfig(data=str(tiny_data), out=str(out), max_steps=3, lr=1e-4, extra={"save_strategy": "no"})
    )  # no optimizer-state checkpoint: keeps the test light
    losses = _losses(out)
    assert len(losses) == 3 and s["steps"] == 3
    assert losses[-1] < losses[0] * 0.8, losses  # same batch every step: it must be learnt
    assert s["train_tokens"] > 0 and s["tokens_per_s"] > 0
    assert (out / "final" / "model.safetensors").exists()
    text = generate(out / "final", [{"role": "user", "content": "Question one: which city?"}], max_new_tokens=8)
    assert isinstance(text, str) and text.strip()


def test_lora_resume_and_gguf_conversion(tiny_data, tmp_path):
    from openseeker.train.convert import to_gguf
    from openseeker.train.sft import TrainConfig, train_sft

    out = tmp_path / "lora"
    s = train_sft(TrainConfig(data=str(tiny_data), out=str(out), lora=True, max_steps=2, lr=1e-3))
    assert s["lora"] and (out / "final" / "adapter_config.json").exists() and (out / "checkpoint-2").exists()
    # resume continues from the last checkpoint instead of starting again
    s2 = train_sft(TrainConfig(data=str(tiny_data), out=str(out), lora=True, max_steps=3, lr=1e-3, resume=True))
    losses = _losses(out)
    assert s2["steps"] == 3 and len(losses) == 3 and losses[-1] < losses[0], losses
    with pytest.raises(UserError, match="--resume"):
        train_sft(TrainConfig(data=str(tiny_data), out=str(out), lora=True, max_steps=1))
    gguf_path = to_gguf(out / "final", tmp_path / "student.gguf")
    import gguf

    reader = gguf.GGUFReader(str(gguf_path))
    names = {t.name for t in reader.tensors}
    assert "token_embd.weight" in names and "blk.0.attn_q.weight" in names and len(names) == 272
    assert "tokenizer.ggml.tokens" in reader.fields and "tokenizer.chat_template" in reader.fields
