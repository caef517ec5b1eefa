"""Trajectory synthesis with the v2 tool set: the teacher calls code_exec in its own sandbox per rollout, the
trajectory records the calls and their outputs, and retrospective summarization compresses an older code output
like any other observation (the student still trains on the raw output)."""

from __future__ import annotations

import asyncio
import json

import pytest

from openseeker.errors import UserError
from openseeker.io import read_jsonl, write_jsonl
from openseeker.llm.config import endpoint_config
from openseeker.records import QASample, Trajectory
from openseeker.sandbox.bwrap import BwrapBackend
from openseeker.sandbox.settings import SandboxSettings
from openseeker.synth.traj.pipeline import synthesize_trajectories
from openseeker.synth.traj.view import training_view
from openseeker.testing.chat_server import Reply, ScriptedChatServer
from openseeker.testing.fake_web import FakeWeb, tiny_pages


def call(name: str, **arguments) -> str:
    return "<tool_call>" + json.dumps({"name": name, "arguments": arguments}) + "</tool_call>"


def teacher(req):
    msgs = req["messages"]
    if msgs[0]["content"].startswith("You compress"):
        assert "code_exec" in msgs[1]["content"]  # the summarizer sees the call that made the output
        return Reply(content="compressed: the file holds 12")
    n_obs = sum(m["content"].count("<tool_response>") for m in msgs if m["role"] == "user")
    if n_obs == 0:
        return Reply(content="<think>note it</think>" + call("code_exec", cmd="echo 12 > n.txt; cat n.txt"))
    if n_obs == 1:
        return Reply(
            content="<think>double it</think>"
            + call("code_exec", cmd="python -c 'print(2 * int(open(\"n.txt\").read()))'")
        )
    return Reply(content="<think>done</think>The answer is \\boxed{24}.")


def test_the_teacher_calls_code_exec_and_its_outputs_are_summarized(tmp_path):
    try:
        BwrapBackend(SandboxSettings(backend="bwrap")).check()
    except UserError as exc:
        pytest.skip(f"bwrap cannot run here: {exc}")
    qa_path = tmp_path / "qa.jsonl"
    write_jsonl(qa_path, [QASample(id="c0", question="What is twice twelve?", answer="24")])
    out = tmp_path / "traj.jsonl"
    with ScriptedChatServer(teacher) as srv:
        cfg = endpoint_config(srv.base_url, "scripted", cache=False, max_retries=0, timeout_s=10)
        summary = asyncio.run(
            synthesize_trajectories(
                qa_path,
                FakeWeb(tiny_pages()),
                out,
                teacher="llm",
                llm_config=cfg,
                judge=False,
                progress=False,
                settings={"extract": False, "protocol": "text", "preset": "v2"},
            )
        )
    (t,) = [Trajectory.model_validate(r) for r in read_jsonl(out)]
    assert summary["done"] == 1 and t.final_answer == "24" and t.metadata["correct"] is True
    assert [c.name for s in t.steps for c in s.tool_calls] == ["code_exec", "code_exec"]
    assert (
        "<stdout>12\n</stdout>" in t.steps[0].observations[0] and "<stdout>24\n</stdout>" in t.steps[1].observations[0]
    )
    # the teacher's last context: the first output summarized, the latest raw
    ctx = "\n".join(m["content"] for m in t.steps[2].context)
    assert "compressed: the file holds 12" in ctx and t.steps[1].observations[0] in ctx
    assert t.steps[0].observations[0] not in ctx and t.steps[0].summary == "compressed: the file holds 12"
    # the student's view is raw
    assert [m["content"] for m in training_view(t) if m["role"] == "tool"] == [
        o for s in t.steps for o in s.observations
    ]
