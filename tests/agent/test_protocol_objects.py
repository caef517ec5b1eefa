"""The protocol objects (one per tool-call protocol) and the loop's typed handling of endpoint errors."""

from __future__ import annotations

import asyncio

from agent_helpers import call, check_well_formed, tools

from openseeker.agent.protocol import get_protocol
from openseeker.agent.runtime import Agent
from openseeker.errors import ContextLengthError, LLMError, is_context_length_error
from openseeker.llm.client import ContextLengthError as ClientContextLengthError
from openseeker.testing.fakes import FakeLLM

SCHEMAS = [{"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}}]


def test_force_message_states_the_protocols_answer_format():
    text = get_protocol("text").force_message("max_tool_calls", max_tool_calls=7)
    js = get_protocol("json").force_message("max_tool_calls", max_tool_calls=7)
    assert "(7 tool calls, the limit is 7)" in text and text.endswith("in <answer></answer> tags.")
    assert js.endswith('as {"action": "answer", "answer": "..."}.') and "<answer>" not in js
    for reason in ("max_turns", "context_overflow"):
        assert get_protocol("native").force_message(reason, max_tool_calls=1).endswith("<answer></answer> tags.")


def test_request_arguments_per_protocol():
    assert get_protocol("text").request(tools=SCHEMAS, forced=False, tool_calls_made=0, min_tool_calls=1) == {}
    native = get_protocol("native")
    assert native.request(tools=SCHEMAS, forced=False, tool_calls_made=0, min_tool_calls=1) == {"tools": SCHEMAS}
    assert native.request(tools=SCHEMAS, forced=True, tool_calls_made=3, min_tool_calls=1) == {}
    js = get_protocol("json")
    first = js.request(tools=SCHEMAS, forced=False, tool_calls_made=0, min_tool_calls=1)["response_format"]
    assert first["json_schema"]["name"] == "agent_search"
    act = js.request(tools=SCHEMAS, forced=False, tool_calls_made=1, min_tool_calls=2)["response_format"]
    assert act["json_schema"]["name"] == "agent_act"
    final = js.request(tools=SCHEMAS, forced=True, tool_calls_made=0, min_tool_calls=2)["response_format"]
    assert final["json_schema"]["name"] == "agent_answer"


def test_context_length_error_is_one_class_and_one_pattern():
    assert ClientContextLengthError is ContextLengthError and issubclass(ContextLengthError, LLMError)
    assert is_context_length_error(ContextLengthError("anything"))
    assert is_context_length_error(LLMError("400: context_length_exceeded"))
    assert is_context_length_error(RuntimeError("prompt is too long: 9000 tokens"))
    assert not is_context_length_error(LLMError("endpoint down after 4 retries"))


def test_typed_context_length_error_forces_an_answer_whatever_its_message():
    state = {"n": 0}

    def fn(messages, kw):
        state["n"] += 1
        if state["n"] == 2:
            raise ContextLengthError("HTTP 413")  # no context words in the message: the type decides
        if "maximum context length" in str(messages[-1]["content"]):
            return "<answer>short</answer>"
        return call("search", query=["q"])

    traj = asyncio.run(Agent(FakeLLM(fn), tools()).run("q?"))
    check_well_formed(traj)
    assert traj.stop_reason == "context_overflow" and traj.final_answer == "short"
    assert traj.metadata["context_overflow_at_turn"] == 1
