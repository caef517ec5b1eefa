"""``agent run --retrieval`` (the ``agent:`` setting ``retrieval``) reaches the search tool: a scripted model's
search on a web embedded with the packaged MiniLM returns the hybrid (fused) ranking; a web without a dense index
is refused in one line before any agent starts."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("faiss")

from agent_helpers import call

from openseeker.cli.main import main
from openseeker.records import Trajectory
from openseeker.testing.chat_server import Reply, ScriptedChatServer
from openseeker.testing.dense_web import build_dense_web

QUERY = "tallest peak on the planet or a piano"  # BM25: Piano only; dense: Mount Everest first


@pytest.fixture(scope="module")
def dense_web(tmp_path_factory):
    return build_dense_web(tmp_path_factory.mktemp("agent-dense"))  # the web's default stays bm25


def responder(req):
    if len(req["messages"]) == 2:
        return Reply(content=call("search", query=[QUERY]))
    return Reply(content="<answer>Mount Everest</answer>")


def run(base_url, web, out, *extra):
    return main(
        [
            "agent",
            "run",
            "--web",
            str(web),
            "--base-url",
            base_url,
            "--model",
            "m",
            "--question",
            "What is the tallest peak?",
            "--out",
            str(out),
            "--no-progress",
            "--no-extract",
            "--json",
            *extra,
        ]
    )


def test_agent_run_retrieval_hybrid_searches_fused(dense_web, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OPENSEEKER_NO_CACHE", "1")
    with ScriptedChatServer(responder) as srv:
        assert run(srv.base_url, dense_web, tmp_path / "hybrid.jsonl", "--retrieval", "hybrid") == 0
        assert run(srv.base_url, dense_web, tmp_path / "default.jsonl") == 0
        config = tmp_path / "c.yaml"
        config.write_text("agent:\n  retrieval: dense\n", encoding="utf-8")
        assert run(srv.base_url, dense_web, tmp_path / "dense.jsonl", "--config", str(config)) == 0
    capsys.readouterr()

    def observation(name):
        (line,) = (tmp_path / name).read_text().splitlines()
        return Trajectory.model_validate_json(line).steps[0].observations[0]

    hybrid, default, dense = observation("hybrid.jsonl"), observation("default.jsonl"), observation("dense.jsonl")
    assert "[Mount Everest](" in hybrid and "[Piano](" in hybrid
    assert hybrid.index("[Piano](") < hybrid.index("[Mount Everest](")  # RRF: Piano is in both lists
    assert "[Mount Everest](" not in default  # the web's default, bm25
    assert dense.index("[Mount Everest](") < dense.index("[Piano](")  # the config file's agent: retrieval
    summary = json.loads((tmp_path / "hybrid.jsonl.summary.json").read_text())
    assert summary["config"]["agent"]["retrieval"] == "hybrid"


def test_agent_run_on_a_web_without_dense_index_fails_in_one_line(tmp_path, capsys):
    web = build_dense_web(tmp_path, embed=False)
    nowhere = "http://127.0.0.1:9/v1"  # never called: the check comes first
    assert run(nowhere, web, tmp_path / "t.jsonl", "--retrieval", "hybrid") == 2
    err = capsys.readouterr().err
    assert "openseeker web embed" in err and "Traceback" not in err
    assert not (tmp_path / "t.jsonl").exists()
    assert run(nowhere, web, tmp_path / "t.jsonl", "--retrieval", "fuzzy") == 2
    assert "retrieval: Input should be 'bm25', 'dense' or 'hybrid'" in capsys.readouterr().err
