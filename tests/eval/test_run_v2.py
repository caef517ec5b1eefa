"""``eval run --preset v2``: the three tools, the authors' \\boxed{} instruction, the box's content graded; the
agent is the one ``agent run`` builds (``agent_parts``), so the preset and the sandbox come the same way."""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from openseeker.agent.prompts import BOX_INSTRUCTION
from openseeker.errors import UserError
from openseeker.eval.run import EvalSettings, Roles, evaluate_async
from openseeker.records import EvalItem
from openseeker.sandbox.bwrap import BwrapBackend
from openseeker.sandbox.settings import SandboxSettings
from openseeker.testing.fake_web import FakeWeb, tiny_pages
from openseeker.testing.fakes import FakeLLM

ITEM = EvalItem(id="m1", question="What is 17 * 23 + 1?", answers=["392"], benchmark="synth")


def student(messages, kwargs):
    """Asks the sandbox, then answers with what it printed, in \\boxed{} (text protocol: results in user turns)."""
    if len(messages) == 2:
        assert messages[1]["content"] == ITEM.question + BOX_INSTRUCTION
        assert '"name": "code_exec"' in messages[0]["content"]
        return '<tool_call>{"name": "code_exec", "arguments": {"cmd": "python -c \'print(17 * 23 + 1)\'"}}</tool_call>'
    value = re.search(r"<stdout>(\d+)", messages[-1]["content"]).group(1)
    return f"The result is \\boxed{{{value}}}."


def judge(messages, kwargs):
    text = messages[0]["content"]
    response = text.split("[response]:")[1].split("[correct_answer]:")[0]
    correct = "yes" if response.strip() == "392" else "no"
    return json.dumps(
        {"extracted_final_answer": response.strip(), "reasoning": "r", "correct": correct, "confidence": 90}
    )


def test_v2_preset_runs_code_exec_and_grades_the_boxed_answer(tmp_path):
    try:
        BwrapBackend(SandboxSettings(backend="bwrap")).check()
    except UserError as exc:
        pytest.skip(f"bwrap cannot run here: {exc}")
    agent = {"preset": "v2", "protocol": "text", "max_tool_calls": 5, "extract": False}
    settings = EvalSettings(benchmark="synth", path="", web="fake", judge="llm", agent=agent)
    roles = Roles(student=FakeLLM(student, model="v2"), judge=FakeLLM(judge, model="judge"))
    rep = asyncio.run(
        evaluate_async(
            settings, tmp_path / "out", roles=roles, progress=False, items=[ITEM], web_obj=FakeWeb(tiny_pages())
        )
    )
    (row,) = [json.loads(x) for x in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert row["answer"] == "392" and row["correct"] is True and row["tool_calls"] == {"code_exec": 1}
    (traj,) = [json.loads(x) for x in (tmp_path / "out" / "trajectories.jsonl").read_text().splitlines()]
    assert [t["function"]["name"] for t in traj["tools"]] == ["search", "visit", "code_exec"]
    assert rep["accuracy"] == 1.0
    assert json.loads((tmp_path / "out" / "config.json").read_text())["settings"]["agent"]["preset"] == "v2"


def test_v2_preset_without_a_sandbox_is_refused_before_any_question(tmp_path):
    agent = {"preset": "v2", "sandbox": {"backend": "none"}}
    settings = EvalSettings(benchmark="synth", path="", web="fake", agent=agent)
    with pytest.raises(UserError, match="backend is 'none'"):
        asyncio.run(
            evaluate_async(
                settings, tmp_path / "out", roles=Roles(student=None), items=[ITEM], web_obj=FakeWeb(tiny_pages())
            )
        )
    assert not (tmp_path / "out").exists()
    with pytest.raises(UserError, match="unknown tool"):
        EvalSettings(benchmark="synth", path="", web="fake", agent={"tools": "search,pyhton"})
