"""Benchmark of the SFT stage on this machine: export throughput and training tokens/s (LoRA and full FT).

    python benchmarks/bench_train.py [--trajectories 200] [--steps 4] [--seq 512] [--out benchmarks/results/train.json]

* export: synthetic trajectories shaped like the paper's (``--calls`` tool calls, ``--obs-words`` words per raw
  observation), exported to all formats with the SmolLM2 tokenizer; reports trajectories/s and tokens/s.
* training: ``openseeker.train.sft.train_sft`` on the 135M student (fp32, CPU), micro-batch 1, examples of about
  ``--seq`` tokens, ``--steps`` optimizer steps, LoRA (r=16, all linear layers) and full fine-tuning; tokens/s is
  TRL's count of non-padding tokens divided by the wall time of ``trainer.train()`` (first step included).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def synthetic_trajectories(n: int, calls: int, obs_words: int):
    import random

    from openseeker.records import Step, ToolCall, Trajectory

    rng = random.Random(0)
    vocab = (
        "the city river museum born founded capital century war king album river university painter "
        "composer island empire treaty population station bridge novel"
    ).split()
    out = []
    for i in range(n):
        msgs = [{"role": "system", "content": "teacher"}, {"role": "user", "content": f"Question {i}?"}]
        steps = []
        for c in range(calls):
            args = {"query": [f"{rng.choice(vocab)} {rng.choice(vocab)}"]}
            obs = " ".join(rng.choice(vocab) for _ in range(obs_words))
            msgs.append(
                {
                    "role": "assistant",
                    "content": f"<think>\nstep {c} reasoning about {args}\n</think>\n\n"
                    f"<tool_call>\n{json.dumps({'name': 'search', 'arguments': args})}\n</tool_call>",
                    "tool_calls": [
                        {
                            "id": f"c{c}",
                            "type": "function",
                            "function": {"name": "search", "arguments": json.dumps(args)},
                        }
                    ],
                }
            )
            msgs.append({"role": "tool", "tool_call_id": f"c{c}", "name": "search", "content": obs})
            steps.append(
                Step(index=c, tool_calls=[ToolCall(id=f"c{c}", name="search", arguments=args)], observations=[obs])
            )
        msgs.append({"role": "assistant", "content": "<think>\ndone\n</think>\n\n<answer>x</answer>"})
        steps.append(Step(index=calls))
        out.append(
            Trajectory(
                id=f"t{i}",
                question=f"Question {i}?",
                messages=msgs,
                steps=steps,
                final_answer="x",
                stop_reason="answered",
                num_tool_calls=calls,
                num_turns=calls + 1,
                metadata={"teacher": "llm", "correct": True},
            )
        )
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trajectories", type=int, default=200)
    ap.add_argument("--calls", type=int, default=10)
    ap.add_argument("--obs-words", type=int, default=300)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--modes", default="lora,full", help="training modes to measure ('' = export only)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "train.json"))
    a = ap.parse_args()

    import torch

    from openseeker.io import write_jsonl
    from openseeker.train.convert import load_tokenizer
    from openseeker.train.export import ExportConfig, export_sft
    from openseeker.train.sft import TrainConfig, train_sft

    result = {
        "machine": {
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "platform": platform.platform(),
            "python": sys.version.split()[0],
            "load_avg_at_start": os.getloadavg(),
        },
        "args": vars(a),
    }
    tok = load_tokenizer()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_jsonl(tmp / "traj.jsonl", synthetic_trajectories(a.trajectories, a.calls, a.obs_words))
        t0 = time.perf_counter()
        res = export_sft(tmp / "traj.jsonl", tmp / "sft", ExportConfig(system="keep"), tokenizer=tok)
        dt = time.perf_counter() - t0
        result["export"] = {
            "trajectories": a.trajectories,
            "formats": res.stats["config"]["formats"],
            "seconds": round(dt, 3),
            "trajectories_per_s": round(a.trajectories / dt, 1),
            "tokens_per_s": round(res.stats["tokens"]["total"] / dt),
            "mean_tokens_per_example": res.stats["tokens"]["mean"],
        }
        print(json.dumps(result["export"]), flush=True)

        # training data: examples of ~--seq tokens (a short trajectory), repeated
        calls = max(1, a.seq // 160)
        write_jsonl(tmp / "short.jsonl", synthetic_trajectories(8, calls, 100))
        r2 = export_sft(
            tmp / "short.jsonl", tmp / "short", ExportConfig(formats=("tokenized",), system="keep"), tokenizer=tok
        )
        result["train"] = {"example_tokens_mean": r2.stats["tokens"]["mean"]}
        for mode in [m for m in a.modes.split(",") if m]:
            s = train_sft(
                TrainConfig(
                    data=str(tmp / "short"),
                    out=str(tmp / f"run-{mode}"),
                    lora=mode == "lora",
                    max_steps=a.steps,
                    save_steps=10_000,
                    logging_steps=1,
                )
            )
            result["train"][mode] = {
                "steps": s["steps"],
                "tokens": s["train_tokens"],
                "wall_s": s["wall_s"],
                "tokens_per_s": s["tokens_per_s"],
                "first_loss": s["first_loss"],
                "last_loss": s["last_loss"],
            }
            print(mode, json.dumps(result["train"][mode]), flush=True)
    result["machine"]["load_avg_at_end"] = os.getloadavg()
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
