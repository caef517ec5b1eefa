"""Embedded-model defaults (issue 10, section 2) and step-level progress: what a user of the embedded default
sees instead of a 25-minute silent rollout."""

from __future__ import annotations

import asyncio

from agent_helpers import call, tools

from openseeker.agent.batch import AgentStage, run_batch
from openseeker.agent.embedded_defaults import (
    EMBEDDED_AGENT_DEFAULTS,
    apply_embedded_defaults,
    describe_reduced,
)
from openseeker.agent.runtime import Agent, step_listener
from openseeker.agent.settings import AGENT_SETTINGS
from openseeker.testing.fakes import FakeLLM


def test_embedded_defaults_fill_only_what_was_not_given():
    settings = {**AGENT_SETTINGS, "max_tool_calls": 50}
    out, changed = apply_embedded_defaults(settings, {"max_tool_calls"}, embedded=True)
    assert out["max_tool_calls"] == 50 and "max_tool_calls" not in changed
    assert out["context_tokens"] == 4096 and out["max_tokens_per_turn"] == 256 and out["max_turns"] == 6
    assert set(changed) == set(EMBEDDED_AGENT_DEFAULTS) - {"max_tool_calls"}
    line = describe_reduced(changed)
    assert line.count("\n") == 0 and "--context-tokens" in line and "--max-turns" in line
    # a real endpoint keeps the paper's budgets
    same, none = apply_embedded_defaults(dict(AGENT_SETTINGS), set(), embedded=False)
    assert same == AGENT_SETTINGS and none == {}
    assert AGENT_SETTINGS["max_tool_calls"] == 200  # the paper's default is untouched


def test_every_step_is_reported_while_the_rollout_runs():
    seen = []
    llm = FakeLLM(
        [call("search", query=["a"]), call("search", query=["b"]) + call("search", query=["c"]), "<answer>x</answer>"]
    )

    async def go():
        step_listener.set(
            lambda traj, step: seen.append(
                (len(traj.steps), len(step.tool_calls), traj.num_tool_calls, traj.final_answer)
            )
        )
        return await Agent(llm, tools()).run("q")

    traj = asyncio.run(go())
    # three steps, reported as they happen (the answer is only set after the last one was reported... or with it)
    assert [s[:3] for s in seen] == [(1, 1, 1), (2, 2, 3), (3, 0, 3)]
    assert seen[0][3] is None and seen[1][3] is None
    assert traj.stop_reason == "answered"


def test_progress_bar_counts_turns_and_tool_calls_of_running_rollouts(tmp_path):
    stage = AgentStage(tmp_path / "x.jsonl", agent=object())

    class Step:
        tool_calls = [1, 2]

    stage._on_step(None, Step())
    stage._on_step(None, Step())
    assert stage.live_text() == "turns 2, tool calls 4"

    # the bar shows the stage's live counters in a column re-rendered at every refresh
    from openseeker.executors.progress import _LiveColumn

    assert str(_LiveColumn(stage.live_text).render(None)) == "turns 2, tool calls 4"

    # through run_batch: the stage of a real batch receives every step of every rollout
    steps = []
    real_on_step = AgentStage._on_step

    def spy(self, traj, step):
        steps.append(traj.id)
        real_on_step(self, traj, step)

    AgentStage._on_step = spy
    try:
        llm = FakeLLM(lambda messages, kw: "<answer>x</answer>" if len(messages) > 2 else call("search", query=["q"]))
        items = [{"id": f"i{k}", "question": f"q{k}"} for k in range(3)]
        summary = asyncio.run(
            run_batch(items, tmp_path / "o.jsonl", agent=Agent(llm, tools()), concurrency=2, progress=False)
        )
    finally:
        AgentStage._on_step = real_on_step
    assert summary["done"] == 3 and sorted(steps) == ["i0", "i0", "i1", "i1", "i2", "i2"]
