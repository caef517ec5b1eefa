"""The loop experiment's plumbing at toy scale (benchmarks/loop.py, docs/loop.md), with the real pieces: the
reference teacher's trajectories over the wiki-offline web, `export sft`, two training steps of SmolLM2-135M on the
CPU, `train to-gguf`, the embedded server on the student's GGUF, and `eval run` of the base model and the student
on 2 held-out questions. Every step's output exists and is what the next step reads; the prompt the student was
trained on is the prompt it is served at evaluation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

ROOT = Path(__file__).resolve().parents[2]
WIKI = "https://en.wikipedia.org/wiki/"
CHAINS = [  # (question, answer, chain of page titles in the wiki-offline corpus)
    ("Which desert lies north of the river that flows into the Mediterranean?", "Sahara", ["Nile", "Sahara"]),
    ("In which country was the physicist who discovered polonium born?", "Poland", ["Marie Curie", "Poland"]),
    ("Who developed the theory of relativity?", "Albert Einstein", ["Theory of relativity", "Albert Einstein"]),
    ("Which country does the Nile cross before the sea?", "Egypt", ["Nile", "Egypt"]),
]


def _qa(i: int, question: str, answer: str, chain: list[str]) -> dict:
    nodes = [{"id": f"n{k}", "name": t, "page_url": WIKI + t.replace(" ", "_")} for k, t in enumerate(chain)]
    return {"kind": "qa", "id": f"toy-{i}", "question": question, "answer": answer,
            "entity_graph": {"nodes": nodes, "edges": []}, "metadata": {"chain_path": chain}}  # fmt: skip


@pytest.mark.train
@pytest.mark.embedded
def test_loop_plumbing_at_toy_scale(tmp_path):
    from openseeker.web.build import build_web

    web = tmp_path / "web"
    build_web("wiki-offline", web, progress=False)
    qa = tmp_path / "qa.jsonl"
    qa.write_text("".join(json.dumps(_qa(i, *c)) + "\n" for i, c in enumerate(CHAINS)))
    out = tmp_path / "loop"
    cfg = tmp_path / "loop.yaml"
    cfg.write_text(
        "llm:\n  embedded: {n_ctx: 4096, n_parallel: 2, poll: 0}\n"
        "agent: {protocol: text, max_tool_calls: 4, max_turns: 5, context_tokens: 4096, max_tokens_per_turn: 48,\n"
        "        search_top_k: 3, visit_max_chars: 300, extract: false, concurrency: 2}\n"
        f"loop:\n  out: {out}\n  synth: {{enabled: false}}\n  multihop: {{families: []}}\n"
        f"  qa_files: [{{name: toy, path: {qa}, web: {web}, heldout: 2}}]\n"
        "  llm_teacher: false\n  ablation: false\n"
        "  train: {max_steps: 2, grad_accum: 1, max_tokens: 4096}\n  eval: {runs: 1}\n"
    )
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "loop.py"), "--config", str(cfg)],
        capture_output=True, text=True, timeout=1500, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    # data: 2 training questions, 2 held out, no overlap
    train = [json.loads(x) for x in (out / "data" / "toy-train.jsonl").read_text().splitlines()]
    held = [json.loads(x) for x in (out / "data" / "toy-heldout.jsonl").read_text().splitlines()]
    assert len(train) == 2 and len(held) == 2 and not {r["id"] for r in train} & {r["id"] for r in held}
    # trajectories -> the SFT data the trainer read -> a student -> its GGUF
    trajs = [json.loads(x) for x in (out / "traj" / "toy.reference.jsonl").read_text().splitlines()]
    assert len(trajs) == 2 and all(t["stop_reason"] == "answered" and t["num_tool_calls"] == 4 for t in trajs)
    tokenized = (out / "sft" / "main" / "tokenized.jsonl").read_text().splitlines()
    assert len(tokenized) == 2
    student = json.loads((out / "steps" / "student-main.json").read_text())["outputs"]
    assert student["trained"] and Path(student["gguf"]).stat().st_size > 50_000_000
    assert (out / "students" / "main" / "final").is_dir()
    # the embedded server served the student's GGUF in its evaluation, the packaged model in the base's
    evals = {m: json.loads((out / "eval" / m / "toy" / "config.json").read_text()) for m in ("base", "main")}
    assert evals["main"]["llm"]["student"]["gguf"] == "main.gguf"
    assert evals["base"]["llm"]["student"]["gguf"] == "SmolLM2-135M-Instruct.Q4_1.gguf"
    for m in ("base", "main"):
        assert len((out / "eval" / m / "toy" / "results.jsonl").read_text().splitlines()) == 2
    # the student is trained on the system prompt it is served with at evaluation
    trained_on = json.loads((out / "sft" / "main" / "messages.jsonl").read_text().splitlines()[0])["messages"][0]
    assert trained_on["role"] == "system" and trained_on["content"] == evals["main"]["prompts"]["agent_system"]
    # the report reads all of it
    report = json.loads((out / "report.json").read_text())
    assert set(report["models"]) == {"base", "main"} and report["models"]["main"]["question_runs"] == 2
    assert "main - base" in report["differences"] and (out / "report.md").read_text().startswith("| model |")
