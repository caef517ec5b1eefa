"""The agent against a real OpenAI-compatible HTTP server on 127.0.0.1 (ScriptedChatServer), through the real
client (``OpenAIChatLLM``, openai SDK + httpx). Each scenario must end with a well-formed trajectory and the right
stop reason."""

from __future__ import annotations

import asyncio
import json

import pytest
from agent_helpers import call, check_well_formed, tools

from openseeker.agent.extract import LLMExtractor
from openseeker.agent.runtime import Agent
from openseeker.llm.client import OpenAIChatLLM
from openseeker.llm.config import EndpointConfig
from openseeker.testing.chat_server import Reply, ScriptedChatServer

Q = "Where was the designer of the Eiffel Tower born?"
EIFFEL = "https://en.wikipedia.org/wiki/Gustave_Eiffel"


def make_llm(srv: ScriptedChatServer, role: str = "student", **kw) -> OpenAIChatLLM:
    settings = {"max_retries": 2, "backoff_s": 0.01, "timeout_s": 5.0, "cache": False, **kw}
    return OpenAIChatLLM(role, EndpointConfig(base_url=srv.base_url, model="scripted", **settings))


def run_agent(srv: ScriptedChatServer, *, llm_kw: dict | None = None, **agent_kw):
    async def go():
        llm = make_llm(srv, **(llm_kw or {}))
        try:
            return await Agent(llm, agent_kw.pop("tools", None) or tools(), **agent_kw).run(Q, id="h1")
        finally:
            await llm.aclose()

    return asyncio.run(go())


def test_multi_call_turn_over_http():
    script = [
        Reply(
            content="<think>both</think>"
            + call("search", query=["Eiffel Tower"])
            + call("visit", url=[EIFFEL], goal="birthplace")
        ),
        Reply(content="<think>found</think>\n<answer>Dijon</answer>", prompt_tokens=50, completion_tokens=7),
    ]
    with ScriptedChatServer(script) as srv:
        traj = run_agent(srv)
    check_well_formed(traj)
    assert traj.stop_reason == "answered" and traj.final_answer == "Dijon" and traj.num_tool_calls == 2
    second = srv.requests[1]["messages"]
    assert second[-1]["role"] == "user" and second[-1]["content"].count("<tool_response>") == 2
    assert "born in Dijon" in second[-1]["content"]
    assert "tools" not in srv.requests[0]  # text protocol: tools are described in the system prompt
    assert "<tools>" in srv.requests[0]["messages"][0]["content"]
    assert traj.usage["student"].completion_tokens >= 7


def test_native_tool_calls_over_http_including_broken_arguments():
    script = [
        Reply(
            content="",
            tool_calls=[
                {"id": "a1", "name": "search", "arguments": {"query": ["Eiffel"]}},
                {"id": "a2", "name": "visit", "arguments": '{"url": ["' + EIFFEL + '"], "goal": "born",}'},
            ],
        ),
        Reply(content="<answer>Dijon</answer>"),
    ]
    with ScriptedChatServer(script) as srv:
        traj = run_agent(srv, protocol="native")
    check_well_formed(traj)
    assert traj.stop_reason == "answered"
    assert [tc["id"] for tc in traj.messages[2]["tool_calls"]] == ["a1", "a2"]
    assert "born in Dijon" in traj.steps[0].observations[1]  # broken JSON arguments were repaired
    req2 = srv.requests[1]
    assert req2["tools"] and [m["role"] for m in req2["messages"][-2:]] == ["tool", "tool"]


def test_malformed_json_and_unknown_tool_over_http():
    script = [
        Reply(content='<tool_call>{"name": "search", "arguments": {"query": ["Eiffel"</tool_call>'),  # repaired
        Reply(content="<tool_call>{{{ nonsense</tool_call>"),
        Reply(content=call("python", code="print(1)")),
        Reply(content="<answer>Dijon</answer>"),
    ]
    with ScriptedChatServer(script) as srv:
        traj = run_agent(srv)
    check_well_formed(traj)
    assert traj.stop_reason == "answered" and traj.num_turns == 4
    assert "Eiffel Tower" in traj.steps[0].observations[0]
    assert "could not parse" in srv.requests[2]["messages"][-1]["content"]
    assert "unknown tool 'python'" in srv.requests[3]["messages"][-1]["content"]


def test_429_and_500_are_retried_and_the_run_completes():
    script = [
        Reply(status=429, headers={"Retry-After": "0"}),
        Reply(content=call("search", query=["Eiffel"])),
        Reply(status=500),
        Reply(status=503),
        Reply(content="<answer>Dijon</answer>"),
    ]
    with ScriptedChatServer(script) as srv:
        traj = run_agent(srv)
    check_well_formed(traj)
    assert traj.stop_reason == "answered" and len(srv.requests) == 5


def test_persistent_500_ends_with_llm_error():
    with ScriptedChatServer([Reply(content=call("search", query=["Eiffel"]))], default=Reply(status=500)) as srv:
        traj = run_agent(srv)
    check_well_formed(traj)
    assert traj.stop_reason == "llm_error" and traj.num_turns == 1 and traj.num_tool_calls == 1
    assert "500" in traj.metadata["errors"][0]
    assert len(srv.requests) == 1 + 3  # one good call, then 1 + max_retries attempts


def test_timeouts_are_retried_then_recorded():
    script = [Reply(content=call("search", query=["Eiffel"]), delay=0.0), Reply(content="slow", delay=1.5)]
    with ScriptedChatServer(script, default=Reply(content="<answer>late</answer>", delay=1.5)) as srv:
        traj = run_agent(srv, llm_kw={"timeout_s": 0.3, "max_retries": 1})
    check_well_formed(traj)
    assert traj.stop_reason == "llm_error" and "timeout" in traj.metadata["errors"][0]


def test_timeout_then_success():
    script = [Reply(content="x", delay=1.0), Reply(content="<answer>Dijon</answer>")]
    with ScriptedChatServer(script) as srv:
        traj = run_agent(srv, llm_kw={"timeout_s": 0.3, "max_retries": 2})
    check_well_formed(traj)
    assert traj.stop_reason == "answered" and traj.final_answer == "Dijon"


def test_model_that_never_answers_exhausts_the_tool_budget():
    def responder(req):
        last = req["messages"][-1]["content"]
        if "too many tools" in last:
            return Reply(content="<think>out of budget</think><answer>Dijon?</answer>")
        return Reply(content=call("search", query=["again"]) + call("search", query=["and again"]))

    with ScriptedChatServer(responder) as srv:
        traj = run_agent(srv, max_tool_calls=5)
    check_well_formed(traj)
    assert traj.stop_reason == "max_tool_calls" and traj.final_answer == "Dijon?"
    assert traj.num_tool_calls == 5 and traj.num_turns == 4  # 2 + 2 + 1 (one cut) + the forced answer


def test_model_ignoring_the_forced_turn_still_ends():
    with ScriptedChatServer(default=Reply(content=call("search", query=["x"]))) as srv:
        traj = run_agent(srv, max_tool_calls=2)
    check_well_formed(traj)
    assert traj.stop_reason == "max_tool_calls" and traj.final_answer is None and traj.num_turns == 3


def test_context_overflow_over_http():
    big_page = "lorem ipsum " * 1500  # ~18k chars

    class BigSearch:
        name = "search"
        schema = tools()[0].schema

        async def execute(self, arguments):
            return big_page

    def responder(req):
        if "maximum context length" in req["messages"][-1]["content"]:
            return Reply(content="<answer>Dijon</answer>")
        return Reply(content=call("search", query=["Eiffel"]))

    with ScriptedChatServer(responder) as srv:
        traj = run_agent(srv, tools=[BigSearch()], context_tokens=16_000, max_tokens_per_turn=1000)
    check_well_formed(traj)
    assert traj.stop_reason == "context_overflow" and traj.final_answer == "Dijon"
    last = srv.requests[-1]
    assert last["max_tokens"] <= 900  # generation shrank by >= 10%
    assert len(json.dumps(last["messages"])) < 16_000 * 4


def test_server_side_context_error_forces_answer():
    err = '{"error": {"message": "This model\'s maximum context length is 8192 tokens", "code": 400}}'

    def responder(req):
        if "maximum context length" in req["messages"][-1]["content"]:
            return Reply(content="<answer>Dijon</answer>")
        if len(req["messages"]) > 4:
            return Reply(status=400, body=err)
        return Reply(content=call("search", query=["Eiffel"]))

    with ScriptedChatServer(responder) as srv:
        traj = run_agent(srv)
    check_well_formed(traj)
    assert traj.stop_reason == "context_overflow" and traj.final_answer == "Dijon"


def test_json_protocol_over_http_sends_schema():
    script = [
        Reply(content='{"think": "look it up", "action": "search", "query": ["Gustave Eiffel"]}'),
        Reply(content='{"think": "read", "action": "visit", "url": ["' + EIFFEL + '"], "goal": "birthplace"}'),
        Reply(content='{"think": "done", "action": "answer", "answer": "Dijon"}'),
    ]
    with ScriptedChatServer(script) as srv:
        traj = run_agent(srv, protocol="json")
    check_well_formed(traj)
    assert traj.final_answer == "Dijon" and traj.num_tool_calls == 2
    first, second = srv.requests[0]["response_format"], srv.requests[1]["response_format"]
    assert first["type"] == "json_schema" and first["json_schema"]["schema"]["properties"]["action"]["enum"] == [
        "search"
    ]  # the first action can only be a search
    assert len(second["json_schema"]["schema"]["anyOf"]) == 3


def test_goal_conditioned_visit_with_retry_and_fallback():
    async def go(srv):
        ext = LLMExtractor(make_llm(srv, role="extractor"), max_page_chars=1000, retries=1)
        web_tools = tools(extractor=ext)
        out1 = await web_tools[1].execute({"url": EIFFEL, "goal": "birthplace"})
        out2 = await web_tools[1].execute({"url": EIFFEL, "goal": "birthplace"})
        return ext, out1, out2

    script = [
        Reply(content="not json"),  # first attempt fails -> retried on a shorter page
        Reply(content='{"rational": "r", "evidence": "born in Dijon", "summary": "He was born in Dijon."}'),
        Reply(content="nope"),
        Reply(content="still nope"),  # both attempts fail -> raw text fallback
    ]
    with ScriptedChatServer(script) as srv:
        ext, out1, out2 = asyncio.run(go(srv))
    assert out1.startswith(f"The useful information in {EIFFEL} for user goal birthplace as follows:")
    assert "Summary: \nHe was born in Dijon." in out1
    assert out2.startswith("Page: [Gustave Eiffel]")
    assert ext.stats == {"calls": 2, "ok": 1, "failed": 1, "retries": 2}
    assert srv.requests[0]["response_format"]["json_schema"]["schema"]["required"] == [
        "rational",
        "evidence",
        "summary",
    ]


@pytest.mark.parametrize("content", ["", "   ", "<think>only thinking</think>"])
def test_empty_replies_end_with_no_answer(content):
    with ScriptedChatServer(default=Reply(content=content)) as srv:
        traj = run_agent(srv, max_idle_turns=2)
    check_well_formed(traj)
    assert traj.stop_reason == "no_answer" and traj.num_turns == 2
