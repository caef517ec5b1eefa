"""code_exec in the agent: the tool set, the v2 preset (three tools, \\boxed{} answers), one sandbox per attempt.

The acceptance run: a scripted OpenAI-compatible endpoint drives ``openseeker agent run --preset v2`` to write a
file, run Python on it in the bwrap sandbox and answer with the value the sandbox computed, in ``\\boxed{}``; the
trajectory then exports to every SFT format and opens in the viewer with the code and its output readable.
"""

from __future__ import annotations

import asyncio
import json
import os
import re

import pytest
from agent_helpers import call, check_well_formed

from openseeker.agent.prompts import BOX_INSTRUCTION
from openseeker.agent.runtime import Agent
from openseeker.agent.settings import resolve_agent_settings
from openseeker.cli.main import main
from openseeker.errors import UserError
from openseeker.records import Trajectory
from openseeker.sandbox.bwrap import BwrapBackend, sandbox_root
from openseeker.sandbox.settings import SandboxSettings
from openseeker.testing.chat_server import Reply, ScriptedChatServer

QUESTION = "What is the sum of the squares of 3, 4 and 5?"


@pytest.fixture
def bwrap_ok():
    try:
        BwrapBackend(SandboxSettings(backend="bwrap")).check()
    except UserError as exc:
        pytest.skip(f"bwrap cannot run here: {exc}")


def _responder(req):
    """Write the numbers, sum their squares with Python in the sandbox, answer with what the sandbox printed."""
    msgs = req["messages"]
    if len(msgs) == 2:
        return Reply(
            content="<think>Write the numbers down.</think>"
            + call("code_exec", cmd="printf '3\\n4\\n5\\n' > nums.txt")
        )
    if len(msgs) == 4:
        script = "python - <<'PY'\nprint(sum(int(x) ** 2 for x in open('nums.txt')))\nPY"
        return Reply(content="<think>Now compute.</think>" + call("code_exec", cmd=script))
    printed = re.search(r"<stdout>(\d+)\n</stdout>", msgs[-1]["content"])
    value = printed.group(1) if printed else "no output"
    return Reply(content=f"<think>The sandbox printed {value}.</think>The sum of the squares is \\boxed{{{value}}}.")


def test_acceptance_write_run_answer_export_view(bwrap_ok, tiny_web, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OPENSEEKER_NO_CACHE", "1")
    out = tmp_path / "t.jsonl"
    before = set(os.listdir(sandbox_root())) if sandbox_root().exists() else set()
    with ScriptedChatServer(_responder) as srv:
        args = ["agent", "run", "--web", str(tiny_web), "--base-url", srv.base_url, "--model", "m"]
        args += ["--question", QUESTION, "--out", str(out), "--preset", "v2", "--protocol", "text"]
        assert main([*args, "--no-progress", "--json"]) == 0
        sent = srv.requests[0]["messages"]
    summary = json.loads(capsys.readouterr().out)
    assert summary["stop_reasons"] == {"answered": 1}
    (t,) = [Trajectory.model_validate_json(line) for line in out.read_text().splitlines()]
    check_well_formed(t)
    assert t.final_answer == "50" and t.stop_reason == "answered" and t.num_tool_calls == 2
    assert [c.name for s in t.steps for c in s.tool_calls] == ["code_exec", "code_exec"]
    assert t.steps[1].observations == [
        "<shell_results>\n<exit_code>0</exit_code>\n<stdout>50\n</stdout>\n<stderr></stderr>\n</shell_results>"
    ]
    assert [tool["function"]["name"] for tool in t.tools] == ["search", "visit", "code_exec"]
    assert sent[1]["content"] == QUESTION + BOX_INSTRUCTION  # the authors' \boxed{} instruction, as they ask it
    assert '"name": "code_exec"' in sent[0]["content"] and "\\boxed{}" in sent[0]["content"]
    assert t.messages[-1]["content"].endswith("The sum of the squares is \\boxed{50}.")
    assert (set(os.listdir(sandbox_root())) - before) == set()  # the attempt's sandbox is gone

    sft = tmp_path / "sft"
    assert main(["export", "sft", "--traj", str(out), "--out", str(sft), "--format", "messages,sharegpt,swift"]) == 0
    (row,) = [json.loads(x) for x in (sft / "messages.jsonl").read_text().splitlines()]
    system = row["messages"][0]["content"]
    assert '"name": "code_exec"' in system and "wrap the final answer in \\boxed{}" in system
    calls = [c["function"] for m in row["messages"] for c in m.get("tool_calls") or []]
    assert calls[1]["arguments"]["cmd"].startswith("python - <<'PY'\n")
    assert row["messages"][-1]["content"] == "The sum of the squares is \\boxed{50}."
    share = json.loads((sft / "sharegpt.jsonl").read_text())
    assert [c["from"] for c in share["conversations"]] == ["human", "function_call", "observation"] * 1 + [
        "function_call",
        "observation",
        "gpt",
    ]
    swift = json.loads((sft / "swift.jsonl").read_text())
    assert sum(m["role"] == "tool_call" for m in swift["messages"]) == 2

    from openseeker.view.data import Catalog

    catalog = Catalog.open([out])
    ds = catalog.get(catalog.manifest()["datasets"][0]["id"])
    item = ds.item(0)
    runs = [c for s in item["record"]["steps"] for c in s["code"]]
    assert runs[1]["cmd"].startswith("python - <<'PY'") and runs[1]["stdout"] == "50\n"
    assert runs[1]["exit_code"] == "0" and runs[0]["stdout"] == ""


def test_the_v2_preset_and_the_tool_set_resolve_in_one_place(tmp_path):
    s = resolve_agent_settings(preset="v2")
    assert s["tools"] == ["search", "visit", "code_exec"] and s["answer"] == "boxed"
    assert resolve_agent_settings(preset="v2", tools="search,code")["tools"] == ["search", "code_exec"]
    cfg = tmp_path / "c.yaml"
    cfg.write_text("agent:\n  preset: v2\n  answer: tag\n  sandbox: {timeout_s: 5, memory_mb: 512}\n")
    s = resolve_agent_settings(cfg, sandbox="bwrap")
    assert s["answer"] == "tag" and s["tools"][-1] == "code_exec"  # the file wins over the preset
    assert s["sandbox"]["backend"] == "bwrap" and s["sandbox"]["timeout_s"] == 5 and s["sandbox"]["memory_mb"] == 512
    assert resolve_agent_settings()["tools"] == ["search", "visit"]  # off unless the tool set names it
    with pytest.raises(UserError, match="unknown tool 'pyhton'"):
        resolve_agent_settings(tools="search,pyhton")
    with pytest.raises(UserError, match="unknown agent preset"):
        resolve_agent_settings(preset="v3")


def test_code_exec_with_no_sandbox_is_refused_at_start(tiny_web, tmp_path, capsys):
    code = main(
        ["agent", "run", "--web", str(tiny_web), "--base-url", "http://127.0.0.1:9/v1", "--model", "m"]
        + ["--question", "q", "--out", str(tmp_path / "o.jsonl"), "--tools", "search,code_exec", "--sandbox", "none"]
        + ["--no-progress"]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and "backend is 'none'" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "o.jsonl").exists()


def test_concurrent_rollouts_each_get_their_own_sandbox(bwrap_ok):
    """One agent, eight rollouts in flight: each writes its id to the same file name and reads back its own."""
    from openseeker.agent.toolset import ToolContext, build_tools

    class _LLM:
        model, role = "scripted", "student"

        async def chat(self, messages, **kw):
            from openseeker.llm.base import Completion

            q = messages[1]["content"].split()[0]
            n = sum(m["role"] == "user" for m in messages)
            if n == 1:
                return Completion(content=call("code_exec", cmd=f"echo {q} > mine.txt"))
            if n == 2:
                return Completion(content=call("code_exec", cmd="sleep 0.2; cat mine.txt"))
            seen = re.search(r"<stdout>(\w+)", messages[-1]["content"]).group(1)
            return Completion(content=f"<answer>{seen}</answer>")

    tools = build_tools(["code_exec"], ToolContext(None, settings={"sandbox": {"backend": "bwrap"}}))
    agent = Agent(_LLM(), tools, protocol="text", max_tool_calls=4)

    async def go():
        return await asyncio.gather(*(agent.run(f"r{i} writes its id") for i in range(8)))

    assert [t.final_answer for t in asyncio.run(go())] == [f"r{i}" for i in range(8)]


def test_the_json_protocol_refuses_what_it_cannot_do():
    from openseeker.agent.toolset import check_tools

    with pytest.raises(UserError, match="needs the text or native protocol"):
        check_tools({"tools": ["search", "code_exec"], "protocol": "json", "sandbox": {"backend": "none"}})

    class _Embedded:
        embedded, model = True, "smollm2"

    with pytest.raises(UserError, match="json protocol"):
        Agent(_Embedded(), [], answer="boxed")
