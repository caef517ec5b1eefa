"""End to end on the embedded SmolLM2-135M (real model, tiny web): the run completes, every candidate is
accounted for (accepted or rejected with a reason) and the yield report says the model is weak."""

from __future__ import annotations

import json

import pytest

from openseeker.io import read_jsonl
from openseeker.synth.qa import QAControls, synthesize_qa
from openseeker.synth.qa.report import rejected_path, report_path
from openseeker.testing.qa_oracle import tiny_world


@pytest.mark.embedded
def test_embedded_model_runs_to_completion(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENSEEKER_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "qa.jsonl"
    report = synthesize_qa(
        tiny_world(),
        1,
        out,
        controls=QAControls(k=2, depth=2, facts=2),
        llm="embedded",
        max_candidates=2,
        concurrency=2,
        progress=False,
    )
    accepted, rejected = read_jsonl(out), read_jsonl(rejected_path(out))
    assert report["candidates"] == len(accepted) + len(rejected) >= 1
    assert all(r["reason"] and r["detail"]["usage"]["calls"] >= 1 for r in rejected)
    saved = json.loads(report_path(out).read_text())
    assert saved["models"]["generator"]["model"] == "SmolLM2-135M-Instruct"
    assert any("SmolLM2-135M" in note for note in saved["notes"])
    assert saved["llm"]["calls"] >= 3  # at least one extraction per page of a candidate
