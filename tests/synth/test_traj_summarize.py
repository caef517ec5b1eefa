"""Retrospective summarization: H_t checked exactly at every step of scripted rollouts over real HTTP
(ScriptedChatServer on 127.0.0.1 for the teacher and the summarizer), and the training view H^train."""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from openseeker.agent.protocol import render_input
from openseeker.llm.client import OpenAIChatLLM
from openseeker.llm.config import EndpointConfig
from openseeker.records import QASample
from openseeker.synth.traj.summarize import RetrospectiveSummarizer, format_summary
from openseeker.synth.traj.teacher import teacher_rollout
from openseeker.synth.traj.view import SUMMARY_MARKER, ViewError, check_training_view, training_view
from openseeker.testing.chat_server import Reply, ScriptedChatServer
from openseeker.testing.fake_web import FakeWeb, tiny_pages
from openseeker.testing.fakes import FakeLLM
from openseeker.web.tools import SearchTool, VisitTool

QA = QASample(id="q1", question="Where was the designer of the Eiffel Tower born?", answer="Dijon")
EIFFEL = "https://en.wikipedia.org/wiki/Eiffel_Tower"
GUSTAVE = "https://en.wikipedia.org/wiki/Gustave_Eiffel"


def call(name: str, **arguments) -> str:
    return "<tool_call>" + json.dumps({"name": name, "arguments": arguments}) + "</tool_call>"


def llm(srv: ScriptedChatServer, role: str, **kw) -> OpenAIChatLLM:
    settings = {"max_retries": 1, "backoff_s": 0.01, "timeout_s": 5.0, "cache": False, **kw}
    return OpenAIChatLLM(role, EndpointConfig(base_url=srv.base_url, model="scripted", **settings))


def summarizer_server() -> ScriptedChatServer:
    """Answers each summarization request with a summary naming the observation's first words (deterministic)."""

    def respond(req):
        user = req["messages"][-1]["content"]
        obs = user.split("Tool result:\n", 1)[1].split("\n\nWrite the compressed summary")[0]
        return Reply(content=f"SUMMARY<{obs[:40]}>")

    return ScriptedChatServer(respond)


def expected_summary(observation: str) -> str:
    return f"SUMMARY<{observation[:40]}>"


def teacher_script() -> list[Reply]:
    return [
        Reply(content="<think>find the tower</think>" + call("search", query=["Eiffel Tower designer"])),
        Reply(content="<think>read the tower page</think>" + call("visit", url=[EIFFEL], goal="designer")),
        Reply(
            content="<think>two things at once</think>"
            + call("visit", url=[GUSTAVE], goal="birthplace")
            + call("search", query=["Dijon"])
        ),
        Reply(content="<think>done</think><answer>Dijon</answer>"),
    ]


def tools(web: FakeWeb | None = None):
    web = web or FakeWeb(tiny_pages())
    return [SearchTool(web), VisitTool(web)]


def run(coro):
    return asyncio.run(coro)


def raw_prefix_before_call(traj, k: int) -> list[dict]:
    """The raw history the agent held before teacher call k (system, user, then steps 0..k-1 in full)."""
    msgs = traj.messages
    assistant_idx = [i for i, m in enumerate(msgs) if m["role"] == "assistant"]
    end = assistant_idx[k] if k < len(assistant_idx) else len(msgs)
    return msgs[:end]


def expected_h_t(traj, k: int) -> list[dict]:
    """H_t built independently: tool messages of steps < k-1 replaced by their summary, the rest raw."""
    prefix = [dict(m) for m in raw_prefix_before_call(traj, k)]
    last_assistant = max((i for i, m in enumerate(prefix) if m["role"] == "assistant"), default=-1)
    for i, m in enumerate(prefix):
        if m["role"] == "tool" and i < last_assistant:
            prefix[i] = {**m, "content": format_summary(expected_summary(m["content"]))}
    return render_input(prefix, "text")


def test_h_t_exact_at_every_step_over_http():
    with ScriptedChatServer(teacher_script()) as tsrv, summarizer_server() as ssrv:

        async def go():
            t, s = llm(tsrv, "teacher"), llm(ssrv, "summarizer")
            try:
                return await teacher_rollout(
                    QA, t, tools(), summarizer=s, summarize=True, agent_kwargs={"protocol": "text"}
                )
            finally:
                await t.aclose()
                await s.aclose()

        traj = run(go())
        teacher_requests = [r["messages"] for r in tsrv.requests]
        summarizer_requests = [r["messages"] for r in ssrv.requests]
    assert traj.stop_reason == "answered" and traj.final_answer == "Dijon"
    assert len(teacher_requests) == 4 == len(traj.steps)
    for k, sent in enumerate(teacher_requests):
        want = expected_h_t(traj, k)
        assert sent == want, f"H_t differs at step {k}"
        assert traj.steps[k].context == want, f"recorded context differs at step {k}"
    # the latest observation is raw, every older one is its summary
    obs = [o for s in traj.steps for o in s.observations]
    assert len(obs) == 4
    last_sent = "\n".join(m["content"] for m in teacher_requests[3])
    for o in obs[:2]:
        assert o not in last_sent and expected_summary(o) in last_sent
    for o in obs[2:]:  # step 2 made two calls: both are the latest observation
        assert o in last_sent
    # summaries computed once each: obs of steps 0 and 1 (step 2 never stopped being the latest)
    assert len(summarizer_requests) == 2
    assert [s.summary for s in traj.steps] == [expected_summary(obs[0]), expected_summary(obs[1]), None, None]
    assert QA.question in summarizer_requests[0][-1]["content"] and obs[0] in summarizer_requests[0][-1]["content"]
    assert traj.metadata["summarizer"]["calls"] == 2 and traj.metadata["summarizer"]["fallbacks"] == 0
    assert "summarizer" in traj.usage


def test_training_view_is_raw_and_complete():
    with ScriptedChatServer(teacher_script()) as tsrv, summarizer_server() as ssrv:

        async def go():
            t, s = llm(tsrv, "teacher"), llm(ssrv, "summarizer")
            try:
                return await teacher_rollout(QA, t, tools(), summarizer=s, agent_kwargs={"protocol": "text"})
            finally:
                await t.aclose()
                await s.aclose()

        traj = run(go())
    view = training_view(traj)
    # exactly the raw observations, produced by executing the same calls directly against the same web
    direct_tools = {t.name: t for t in tools()}
    expected_obs = []
    for step in traj.steps:
        for c in step.tool_calls:
            expected_obs.append(run(direct_tools[c.name].execute(c.arguments)))
    assert [m["content"] for m in view if m["role"] == "tool"] == expected_obs
    blob = json.dumps(view)
    assert "SUMMARY<" not in blob and SUMMARY_MARKER not in blob
    # same reasoning and calls as the teacher produced
    assert [m["content"] for m in view if m["role"] == "assistant"] == [
        m["content"] for m in traj.messages if m["role"] == "assistant"
    ]
    assert "<think>\nfind the tower\n</think>" in view[2]["content"]
    # and the check catches a leak
    leaked = [dict(m) for m in view]
    tool_i = next(i for i, m in enumerate(leaked) if m["role"] == "tool")
    leaked[tool_i]["content"] = format_summary("x")
    with pytest.raises(ViewError):
        check_training_view(traj, leaked)


def test_summarizer_failure_falls_back_to_truncated_observation():
    with ScriptedChatServer(teacher_script()) as tsrv, ScriptedChatServer(default=Reply(status=500)) as ssrv:

        async def go():
            t, s = llm(tsrv, "teacher"), llm(ssrv, "summarizer", max_retries=0)
            try:
                return await teacher_rollout(
                    QA,
                    t,
                    tools(),
                    summarizer=s,
                    agent_kwargs={"protocol": "text"},
                    summarizer_kwargs={"fallback_chars": 30},
                )
            finally:
                await t.aclose()
                await s.aclose()

        traj = run(go())
        last = tsrv.requests[-1]["messages"]
    assert traj.stop_reason == "answered"
    recs = traj.metadata["summaries"]
    assert [r["status"] for r in recs] == ["fallback", "fallback"] and all(r["error"] for r in recs)
    obs0 = traj.steps[0].observations[0]
    assert traj.steps[0].summary == obs0[:30] + " [... truncated]"
    assert format_summary(obs0[:30] + " [... truncated]") in "\n".join(m["content"] for m in last)
    assert traj.metadata["summarizer"]["fallbacks"] == 2
    training_view(traj)  # a truncation fallback is not a leak: the raw text is still complete


def test_no_summarize_is_the_identity():
    with ScriptedChatServer(teacher_script()) as tsrv:

        async def go():
            t = llm(tsrv, "teacher")
            try:
                return await teacher_rollout(QA, t, tools(), summarize=False, agent_kwargs={"protocol": "text"})
            finally:
                await t.aclose()

        traj = run(go())
        sent = [r["messages"] for r in tsrv.requests]
    for k, s in enumerate(sent):
        assert s == render_input(raw_prefix_before_call(traj, k), "text")
    assert traj.metadata["summarize"] is False and all(s.summary is None for s in traj.steps)
    assert "summaries" not in traj.metadata


def test_hook_caches_and_never_touches_reasoning_or_calls():
    summ = FakeLLM(lambda msgs, kw: "S")
    hook = RetrospectiveSummarizer(summ)
    msgs = [{"role": "system", "content": "sys"}, {"role": "user", "content": "Q"}]
    for i in range(3):
        msgs.append(
            {
                "role": "assistant",
                "content": f"<think>r{i}</think>",
                "tool_calls": [{"id": f"c{i}", "type": "function", "function": {"name": "search", "arguments": "{}"}}],
            }
        )
        msgs.append({"role": "tool", "tool_call_id": f"c{i}", "name": "search", "content": f"obs{i}"})
    out1 = run(hook(msgs, None))
    out2 = run(hook(msgs, None))
    assert out1 == out2 and len(summ.calls) == 2  # obs0 and obs1 once each, cached on the second call
    assert [m["content"] for m in out1 if m["role"] == "tool"] == [format_summary("S")] * 2 + ["obs2"]
    assert [m for m in out1 if m["role"] != "tool"] == [m for m in msgs if m["role"] != "tool"]
    assert msgs[3]["content"] == "obs0"  # the raw history is not modified
    # the summarizer saw the question, the producing call and the reasoning
    prompt = summ.calls[0][0][-1]["content"]
    assert "Q" in prompt and "obs0" in prompt and "r0" in prompt and re.search(r'"name": "search"', prompt)
