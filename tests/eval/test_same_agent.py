"""`eval run` measures the agent `agent run` runs: one config file (its `agent:` section and the roles) through both
commands against one scripted endpoint gives the same resolved settings and the same system prompt, and the
prompt recorded in the eval's config.json is the one that was sent. Before, `eval run` built its own agent with a
30-call budget, ignored the `agent:` section and recorded a prompt it never sent."""

from __future__ import annotations

import json

from openseeker.agent.settings import AgentSettings
from openseeker.cli.main import main
from openseeker.testing.chat_server import Reply, ScriptedChatServer
from openseeker.web.build import build_web

PAGES = [
    {"url": "https://ex.org/eiffel", "title": "Gustave Eiffel", "text": "Gustave Eiffel was born in Dijon."},
    {"url": "https://ex.org/dijon", "title": "Dijon", "text": "Dijon is a city in eastern France."},
]
QUESTION = "Where was Gustave Eiffel born?"


def test_agent_run_and_eval_run_use_the_same_agent(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENSEEKER_NO_CACHE", "1")
    (tmp_path / "pages.jsonl").write_text("".join(json.dumps(p) + "\n" for p in PAGES))
    web = tmp_path / "web"
    build_web(tmp_path / "pages.jsonl", web, progress=False)
    (tmp_path / "qa.jsonl").write_text(json.dumps({"id": "q1", "question": QUESTION, "answer": "Dijon"}) + "\n")

    def answer(request):
        return Reply(content="<answer>Dijon</answer>")

    with ScriptedChatServer(answer) as srv:
        config = tmp_path / "cfg.yaml"
        config.write_text(
            f"llm:\n  default: {{base_url: '{srv.base_url}', model: m}}\n"
            "agent: {max_tool_calls: 7, max_turns: 9, search_top_k: 3, protocol: text, extract: false}\n"
        )
        common = ["--web", str(web), "--config", str(config), "--no-progress"]
        assert main(["agent", "run", "--question", QUESTION, "--out", str(tmp_path / "a.jsonl"), *common]) == 0
        assert (
            main(
                [
                    "eval",
                    "run",
                    "--benchmark",
                    "synth",
                    "--path",
                    str(tmp_path / "qa.jsonl"),
                    "--judge",
                    "none",
                    "--out",
                    str(tmp_path / "ev"),
                    *common,
                ]
            )  # fmt: skip
            == 0
        )
        sent = [r["messages"][0]["content"] for r in srv.requests]

    agent_run = json.loads((tmp_path / "a.jsonl.summary.json").read_text())["config"]
    eval_run = json.loads((tmp_path / "ev" / "config.json").read_text())
    ours = agent_run["agent"]
    assert ours == eval_run["settings"]["agent"] and agent_run["agent_resolved"] == eval_run["agent_resolved"]
    assert ours["max_tool_calls"] == 7 and ours["search_top_k"] == 3 and ours["role"] == "student"
    # the prompt each recorded is the prompt each sent, and it is one prompt
    assert agent_run["system_prompt"] == eval_run["prompts"]["agent_system"] == sent[0] == sent[-1]
    traj_a = json.loads((tmp_path / "a.jsonl").read_text())
    traj_e = json.loads((tmp_path / "ev" / "trajectories.jsonl").read_text())
    assert traj_a["messages"][0] == traj_e["messages"][0]
    assert traj_a["tools"] == traj_e["tools"]


def test_eval_defaults_are_the_papers():
    """200 tool calls, as the authors' evaluation (their result files are named ``result_tool200``)."""
    from openseeker.eval.settings import EvalSettings

    s = EvalSettings(benchmark="synth", path="", web="w")
    assert s.agent["max_tool_calls"] == 200 and s.agent["concurrency"] == AgentSettings().concurrency
