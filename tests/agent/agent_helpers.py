"""Shared helpers of the agent tests (imported by path-independent name via ``importlib`` mode)."""

from __future__ import annotations

import json
from typing import Any

from openseeker.records import Trajectory
from openseeker.testing.fake_web import FakeWeb, tiny_pages
from openseeker.web.tools import SearchTool, VisitTool


def tools(web: FakeWeb | None = None, extractor: Any = None) -> list[Any]:
    web = web or FakeWeb(tiny_pages())
    return [SearchTool(web), VisitTool(web, extractor=extractor)]


def call(name: str, **arguments: Any) -> str:
    return "<tool_call>" + json.dumps({"name": name, "arguments": arguments}) + "</tool_call>"


def check_well_formed(traj: Trajectory) -> None:
    """The invariants every trajectory must hold, whatever happened during the run."""
    Trajectory.model_validate_json(traj.model_dump_json())  # round-trips
    msgs = traj.messages
    from openseeker.agent.prompts import BOX_INSTRUCTION

    asked = traj.question + (BOX_INSTRUCTION if traj.metadata.get("answer") == "boxed" else "")
    assert msgs[0]["role"] == "system" and msgs[1] == {"role": "user", "content": asked}
    open_ids: list[str] = []
    n_tool = 0
    for m in msgs[2:]:
        assert m["role"] in ("assistant", "tool", "user"), m
        if m["role"] == "tool":
            assert m["tool_call_id"] == open_ids.pop(0), "tool message answers the oldest pending call"
            assert isinstance(m["content"], str)
            n_tool += 1
        else:
            assert not open_ids, f"calls left without a tool message before {m}"
        if m["role"] == "assistant":
            assert isinstance(m["content"], str)
            for tc in m.get("tool_calls", []):
                json.loads(tc["function"]["arguments"])
                open_ids.append(tc["id"])
            if m.get("tool_calls"):
                assert m["content"].count("<tool_call>") == len(m["tool_calls"])
    assert not open_ids
    assert traj.num_turns == len(traj.steps) == sum(1 for m in msgs if m["role"] == "assistant")
    assert traj.num_tool_calls <= n_tool
    if traj.stop_reason == "answered":
        assert traj.final_answer is not None and msgs[-1]["role"] == "assistant"
        marked = "\\boxed{%s}" if traj.metadata.get("answer") == "boxed" else "<answer>%s</answer>"
        assert marked % traj.final_answer in msgs[-1]["content"]
    ids = [tc["id"] for m in msgs for tc in m.get("tool_calls", [])]
    assert len(ids) == len(set(ids)), "tool call ids are unique"
