"""`openseeker eval` end to end through the CLI and the real LLM client against ScriptedChatServer: the MuSiQue
sample's paragraphs become the web (built under OUT/web), the agent searches and answers, the judge grades."""

from __future__ import annotations

import json

from openseeker.cli.main import main
from openseeker.testing.chat_server import Reply, ScriptedChatServer
from openseeker.testing.shared import SHARED_DATA, requires_shared

MUSIQUE = SHARED_DATA / "corpora/multihop-samples/data/musique_train.json"
YES = json.dumps({"extracted_final_answer": "x", "reasoning": "r", "correct": "yes", "confidence": 70})


def responder(request):
    fmt = request.get("response_format") or {}
    name = (fmt.get("json_schema") or {}).get("name", "")
    text = json.dumps(request["messages"])
    if name == "verdict" or "[correct_answer]" in text:
        return Reply(content=YES)
    if fmt:  # the extractor (visit tool) or anything else asking for JSON
        return Reply(content=json.dumps({"rational": "r", "evidence": "e", "summary": "s"}))
    if len(request["messages"]) > 2:  # the agent has seen a tool result: answer
        return Reply(content="<answer>G. Stanley Hall</answer>")
    return Reply(
        content='<tool_call>{"name": "search", "arguments": {"query": ["Journal of Psychotherapy '
        'Integration publisher"]}}</tool_call>'
    )


@requires_shared
def test_eval_run_and_report_cli(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OPENSEEKER_NO_CACHE", "1")
    out = tmp_path / "run"
    with ScriptedChatServer(responder) as srv:
        args = [
            "eval",
            "run",
            "--benchmark",
            "musique",
            "--path",
            str(MUSIQUE),
            "--out",
            str(out),
            "--limit",
            "2",
            "--base-url",
            srv.base_url,
            "--model",
            "scripted",
            "--concurrency",
            "1",
            "--max-tool-calls",
            "3",
            "--no-progress",
        ]
        assert main(args) == 0
        n_requests = len(srv.requests)
        assert main(args) == 0  # re-run: everything done, nothing asked
        assert len(srv.requests) == n_requests
    recs = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert len(recs) == 2 and all(r["num_tool_calls"] >= 1 for r in recs)
    assert all(r["verdict"]["judge_model"] == "scripted" for r in recs)
    assert (out / "web" / "web.json").exists() and (out / "plots" / "tool_calls_hist.png").exists()
    rep = json.loads((out / "report.json").read_text())
    assert rep["n_questions"] == 2 and rep["accuracy"] == 1.0 and rep["tool_calls"]["by_tool"]["search"] >= 2
    assert "report:" in capsys.readouterr().out
    assert main(["eval", "report", str(out), str(out), "--out", str(tmp_path / "cmp")]) == 0
    assert (tmp_path / "cmp" / "compare.md").exists()


@requires_shared
def test_eval_load_cli(capsys):
    assert (
        main(
            [
                "eval",
                "load",
                "--benchmark",
                "xbench-2505",
                "--path",
                str(SHARED_DATA / "benchmarks/xbench/data/DeepSearch-2505.csv"),
                "--count",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.strip() == "100"
    assert main(["eval", "load", "--benchmark", "browsecom", "--count"]) == 2
    assert "Did you mean" in capsys.readouterr().err


def test_eval_load_show_constructed_file(tmp_path, capsys):
    from openseeker.eval.crypto import encrypt

    canary = "test canary"
    f = tmp_path / "bc.csv"
    f.write_text(
        "problem,answer,problem_topic,canary\n"
        f"{encrypt('A constructed question?', canary)},{encrypt('Forty-two', canary)},Test,{canary}\n",
        encoding="utf-8",
    )
    assert main(["eval", "load", "--benchmark", "browsecomp", "--path", str(f), "--show", "1"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["question"] == "A constructed question?" and shown["answers"] == ["Forty-two"]
    assert main(["eval", "load", "--benchmark", "browsecomp", "--path", str(tmp_path / "missing.csv")]) == 2


@requires_shared
def test_eval_run_on_two_workers_matches_one_process(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OPENSEEKER_NO_CACHE", "1")
    results = {}
    with ScriptedChatServer(responder) as srv:
        for workers in ("1", "2"):
            out = tmp_path / f"run{workers}"
            assert (
                main(
                    [
                        "eval",
                        "run",
                        "--benchmark",
                        "musique",
                        "--path",
                        str(MUSIQUE),
                        "--out",
                        str(out),
                        "--limit",
                        "4",
                        "--base-url",
                        srv.base_url,
                        "--model",
                        "scripted",
                        "--concurrency",
                        "2",
                        "--max-tool-calls",
                        "3",
                        "--no-progress",
                        "--workers",
                        workers,
                    ]
                )
                == 0
            )
            recs = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
            trajs = [json.loads(x)["id"] for x in (out / "trajectories.jsonl").read_text().splitlines()]
            assert sorted(trajs) == sorted(r["key"] for r in recs) and not (out / "shards").exists()
            results[workers] = sorted((r["key"], r["answer"], r["correct"], r["num_tool_calls"]) for r in recs)
            rep = json.loads((out / "report.json").read_text())
            assert rep["n_questions"] == 4 and rep["accuracy"] == 1.0
    capsys.readouterr()
    assert results["1"] == results["2"] and len(results["2"]) == 4


def test_eval_option_help_is_the_eval_settings_doc():
    # one source for the help text: the EvalSettings docstring (as AgentSettings for agent options)
    import typer

    from openseeker.agent.settings import AgentSettings
    from openseeker.cli.options import field_help
    from openseeker.eval.cli import app
    from openseeker.eval.settings import EvalSettings

    group = typer.main.get_command(app)
    helps = {c: {p.name: p.help for p in group.commands[c].params} for c in ("run", "load", "regrade", "report")}
    for name in (
        "benchmark",
        "path",
        "web",
        "limit",
        "sample",
        "subset_seed",
        "runs",
        "judge",
        "leakage_guard",
        "ungraded",
    ):
        assert helps["run"][name] == field_help(EvalSettings, name), name
    for name in ("concurrency", "max_tool_calls", "max_turns", "seed", "protocol", "retrieval"):  # the agent's own
        assert helps["run"][name] == field_help(AgentSettings, name), name
    assert helps["run"]["block_domain"] == field_help(EvalSettings, "blocklist")
    assert helps["load"]["benchmark"] == helps["run"]["benchmark"] and helps["load"]["path"] == helps["run"]["path"]
    assert helps["regrade"]["judge"] == helps["run"]["judge"]
    assert helps["report"]["ungraded"].startswith(field_help(EvalSettings, "ungraded"))
