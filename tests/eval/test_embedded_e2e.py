"""The embedded agent (SmolLM2-135M, in-process llama.cpp) evaluated offline on the MuSiQue sample, its
paragraphs as the web: the report files and plots must appear. Budgets are tiny to keep this test short; the
measured --limit 5 run is in benchmarks/eval.md."""

from __future__ import annotations

import json

import pytest

from openseeker.cli.main import main
from openseeker.testing.shared import SHARED_DATA, requires_shared


@pytest.mark.embedded
@requires_shared
def test_embedded_musique_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENSEEKER_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "eval"
    args = [
        "eval",
        "run",
        "--benchmark",
        "musique",
        "--path",
        str(SHARED_DATA / "corpora/multihop-samples/data/musique_train.json"),
        "--out",
        str(out),
        "--limit",
        "2",
        "--llm",
        "embedded",
        "--max-tool-calls",
        "1",
        "--max-turns",
        "2",
        "--max-tokens-per-turn",
        "96",
        "--concurrency",
        "2",
        "--no-progress",
    ]
    assert main(args) == 0
    rep = json.loads((out / "report.json").read_text())
    assert rep["n_questions"] == 2 and rep["n_records"] == 2
    assert sum(rep["stop_reasons"].values()) == 2
    assert rep["config"]["models"]["student"] and rep["config"]["prompt_versions"]["judge"]
    for f in ("report.md", "plots/accuracy_by_benchmark.png", "plots/tool_calls_hist.png", "config.json"):
        assert (out / f).stat().st_size > 0
