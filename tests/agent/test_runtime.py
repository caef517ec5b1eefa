"""Agent loop logic with an in-process FakeLLM (the HTTP path is in test_agent_http.py)."""

from __future__ import annotations

import asyncio

import pytest
from agent_helpers import call, check_well_formed, tools

from openseeker.agent.runtime import Agent, estimate_tokens, resolve_protocol
from openseeker.errors import LLMError, UserError
from openseeker.llm.base import Completion
from openseeker.records import Usage
from openseeker.testing.fakes import FakeLLM, tool_completion

Q = "Where was the designer of the Eiffel Tower born?"
PARIS = "https://en.wikipedia.org/wiki/Gustave_Eiffel"


def run(agent: Agent, question: str = Q, **kw):
    return asyncio.run(agent.run(question, **kw))


def test_answered_run_with_multi_call_turn():
    llm = FakeLLM(
        [
            "<think>two at once</think>"
            + call("search", query=["Eiffel Tower designer"])
            + call("visit", url=PARIS, goal="birthplace"),
            "<think>got it</think><answer>Dijon</answer>",
        ]
    )
    traj = run(Agent(llm, tools()), id="q1")
    check_well_formed(traj)
    assert traj.id == "q1" and traj.stop_reason == "answered" and traj.final_answer == "Dijon"
    assert traj.num_tool_calls == 2 and traj.num_turns == 2
    obs = traj.steps[0].observations
    assert "Eiffel Tower" in obs[0] and "born in Dijon" in obs[1]
    # the model saw both observations as one user turn of <tool_response> blocks (text protocol)
    second_input = llm.calls[1][0]
    assert second_input[-1]["role"] == "user" and second_input[-1]["content"].count("<tool_response>") == 2
    assert traj.usage["fake"].calls == 2 and traj.usage["fake"].prompt_tokens > 0


def test_tools_in_one_turn_run_concurrently():
    class BarrierTool:  # each call waits until all five are in flight: sequential execution would time out
        name = "slow"
        schema = {"type": "function", "function": {"name": "slow", "parameters": {"type": "object"}}}

        def __init__(self):
            self.in_flight = self.max_in_flight = 0
            self.all_in = None

        async def execute(self, arguments):
            if self.all_in is None:
                self.all_in = asyncio.Event()
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            if self.in_flight == 5:
                self.all_in.set()
            try:
                await asyncio.wait_for(self.all_in.wait(), 30)
            except TimeoutError:
                return "never reached 5 in flight"
            finally:
                self.in_flight -= 1
            return "done"

    tool = BarrierTool()
    llm = FakeLLM([call("slow") * 5, "<answer>x</answer>"])
    traj = run(Agent(llm, [tool]))
    assert tool.max_in_flight == 5
    assert traj.steps[0].observations == ["done"] * 5 and traj.num_tool_calls == 5
    assert traj.steps[0].tool_s > 0
    check_well_formed(traj)


def test_unknown_tool_and_malformed_call_become_observations():
    llm = FakeLLM(
        [
            call("calculator", expr="1+1"),
            "<tool_call>{not json at all</tool_call>",
            '<tool_call>{"name": "search", "arguments": {"query": 42}}</tool_call>',
            "<answer>done</answer>",
        ]
    )
    traj = run(Agent(llm, tools()))
    check_well_formed(traj)
    assert traj.stop_reason == "answered"
    assert "unknown tool 'calculator'" in traj.steps[0].observations[0]
    assert "search, visit" in traj.steps[0].observations[0]
    # the malformed call: an error message in a user turn, which the model reads next
    assert "could not parse" in llm.calls[2][0][-1]["content"]
    assert "must be a string or a list" in traj.steps[2].observations[0]


def test_tool_budget_forces_one_final_answer():
    llm = FakeLLM(
        lambda messages, kw: (
            call("search", query=["again"])
            if "too many tools" not in str(messages[-1]["content"])
            else "<answer>best guess</answer>"
        )
    )
    traj = run(Agent(llm, tools(), max_tool_calls=3))
    check_well_formed(traj)
    assert traj.stop_reason == "max_tool_calls" and traj.final_answer == "best guess"
    assert traj.num_tool_calls == 3 and traj.num_turns == 4
    assert "too many tools" in traj.messages[-2]["content"]


def test_budget_cuts_a_turn_with_more_calls_than_left():
    llm = FakeLLM([call("search", query=["a"]) * 3, "still searching"])
    traj = run(Agent(llm, tools(), max_tool_calls=2))
    check_well_formed(traj)
    assert traj.num_tool_calls == 2 and "not executed" in traj.steps[0].observations[2]
    # the forced turn gave no tagged answer: its free text is kept as the answer, reason stays the budget
    assert traj.stop_reason == "max_tool_calls" and traj.final_answer == "still searching"
    assert traj.metadata["answer_untagged"] is True


def test_model_that_never_answers_hits_the_turn_limit():
    llm = FakeLLM(default=call("nonexistent"))
    traj = run(Agent(llm, tools(), max_tool_calls=100, max_turns=5))
    check_well_formed(traj)
    assert traj.stop_reason == "max_turns" and traj.num_turns == 5


def test_idle_model_gives_no_answer():
    llm = FakeLLM(default="hmm, let me think")
    traj = run(Agent(llm, tools(), max_idle_turns=3))
    check_well_formed(traj)
    assert traj.stop_reason == "no_answer" and traj.num_turns == 3 and traj.final_answer is None
    assert "neither a tool call nor a final answer" in llm.calls[1][0][-1]["content"]


def test_context_overflow_shrinks_generation_and_forces_answer():
    big = "x" * 4000  # ~1100 estimated tokens per observation

    class BigTool:
        name = "search"
        schema = {"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}}

        async def execute(self, arguments):
            return big

    llm = FakeLLM(
        lambda messages, kw: (
            "<answer>forced</answer>"
            if "maximum context length" in str(messages[-1]["content"])
            else call("search", query=["q"])
        )
    )
    traj = run(Agent(llm, [BigTool()], context_tokens=4000, max_tokens_per_turn=500))
    check_well_formed(traj)
    assert traj.stop_reason == "context_overflow" and traj.final_answer == "forced"
    last_messages, last_kwargs = llm.calls[-1]
    assert last_kwargs["max_tokens"] < 500  # generation length shrank
    assert estimate_tokens(last_messages) + last_kwargs["max_tokens"] <= 4000
    # the raw history keeps every observation in full
    assert all(m["content"] == big for m in traj.messages if m["role"] == "tool")


def test_endpoint_context_error_is_treated_as_overflow():
    state = {"n": 0}

    def fn(messages, kw):
        state["n"] += 1
        if state["n"] == 2:
            raise LLMError("400: This model's maximum context length is 4096 tokens")
        if "maximum context length" in str(messages[-1]["content"]):
            return "<answer>short</answer>"
        return call("search", query=["q"])

    traj = run(Agent(FakeLLM(fn), tools()))
    check_well_formed(traj)
    assert traj.stop_reason == "context_overflow" and traj.final_answer == "short"
    assert "maximum context length" in traj.metadata["errors"][0]


def test_llm_error_is_recorded_not_raised():
    def fn(messages, kw):
        if len(messages) > 2:
            raise LLMError("endpoint down after 4 retries")
        return call("search", query=["q"])

    traj = run(Agent(FakeLLM(fn), tools()))
    check_well_formed(traj)
    assert traj.stop_reason == "llm_error" and traj.num_turns == 1
    assert "endpoint down" in traj.metadata["errors"][0]


def test_keyboard_interrupt_propagates():
    def fn(messages, kw):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(Agent(FakeLLM(fn), tools()))


def test_context_hook_shapes_input_but_history_stays_raw():
    seen_lengths = []

    async def hook(messages, traj):
        seen_lengths.append(len(traj.steps))
        out = []
        for m in messages:
            if m["role"] == "tool":
                m = {**m, "content": f"SUMMARY of {m['name']}"}
            out.append(m)
        return out

    llm = FakeLLM([call("search", query=["Eiffel"]), call("search", query=["Dijon"]), "<answer>Dijon</answer>"])
    traj = run(Agent(llm, tools(), context_hook=hook, record_context=True))
    check_well_formed(traj)
    assert seen_lengths == [0, 1, 2]  # called before every LLM call
    third_input = llm.calls[2][0]
    assert "SUMMARY of search" in str(third_input) and "A search for" not in str(third_input)
    assert traj.steps[2].context == third_input  # record_context stores exactly what was sent
    raw_tool = [m["content"] for m in traj.messages if m["role"] == "tool"]
    assert all(c.startswith("A search for") for c in raw_tool)


def test_native_protocol_sends_tools_and_tool_messages():
    llm = FakeLLM([tool_completion("search", {"query": ["Eiffel"]}), "<answer>Paris</answer>"])
    traj = run(Agent(llm, tools(), protocol="native"))
    check_well_formed(traj)
    assert llm.calls[0][1]["tools"][0]["function"]["name"] == "search"
    assert llm.calls[1][0][-1]["role"] == "tool"
    assert traj.messages[2]["tool_calls"][0]["id"] == "call_search"


def test_native_calls_are_used_even_in_text_protocol():
    llm = FakeLLM([tool_completion("search", {"query": "Eiffel"}), "<answer>Paris</answer>"])
    traj = run(Agent(llm, tools(), protocol="text"))
    assert traj.num_tool_calls == 1 and "Eiffel Tower" in traj.steps[0].observations[0]


def test_json_protocol_uses_response_format_and_answer_only_when_forced():
    llm = FakeLLM(
        lambda m, kw: (
            '{"think": "t", "action": "search", "query": ["Eiffel"]}'
            if kw["response_format"]["json_schema"]["name"] in ("agent_step", "agent_search")
            else '{"think": "t", "action": "answer", "answer": "Paris"}'
        )
    )
    traj = run(Agent(llm, tools(), protocol="json", max_tool_calls=2))
    check_well_formed(traj)
    assert traj.stop_reason == "max_tool_calls" and traj.final_answer == "Paris"
    names = [kw["response_format"]["json_schema"]["name"] for _, kw in llm.calls]
    assert names == ["agent_search", "agent_step", "agent_answer"]  # no answer from memory: search first
    first_schema = llm.calls[0][1]["response_format"]["json_schema"]["schema"]
    assert first_schema["properties"]["action"]["enum"] == ["search"] and "anyOf" not in first_schema
    assert '"action": "search"' in llm.calls[1][0][2]["content"]  # history shown as JSON actions


def test_protocol_resolution():
    class Emb:
        model, role, embedded = "SmolLM2-135M-Instruct", "student", True

    assert resolve_protocol("auto", Emb()) == "json"
    assert resolve_protocol("auto", FakeLLM()) == "text"
    assert resolve_protocol("native", Emb()) == "native"
    with pytest.raises(UserError):
        resolve_protocol("xml", FakeLLM())
    from openseeker.llm.config import EmbeddedSettings

    assert Agent(Emb(), tools()).context_tokens == EmbeddedSettings().n_ctx
    assert Agent(FakeLLM(), tools()).context_tokens == 131_072
    assert Agent(FakeLLM(), tools(), context_tokens=5000).context_tokens == 5000


def test_extractor_usage_lands_in_the_trajectory():
    from openseeker.agent.extract import LLMExtractor

    ext_llm = FakeLLM(default='{"rational": "r", "evidence": "born in Dijon", "summary": "Dijon"}', role="extractor")
    llm = FakeLLM([call("visit", url=PARIS, goal="birthplace"), "<answer>Dijon</answer>"], role="student")
    traj = run(Agent(llm, tools(extractor=LLMExtractor(ext_llm))))
    assert "Evidence in page: \nborn in Dijon" in traj.steps[0].observations[0]
    assert set(traj.usage) == {"student", "extractor"}


def test_step_usage_and_timings_are_recorded():
    comp = Completion(content=call("search", query=["x"]), usage=Usage(prompt_tokens=10, completion_tokens=5, calls=1))
    llm = FakeLLM([comp, Completion(content="<answer>a</answer>", usage=Usage(prompt_tokens=20, calls=1))])
    traj = run(Agent(llm, tools()))
    assert traj.steps[0].usage.prompt_tokens == 10 and traj.usage["fake"].prompt_tokens == 30
    assert traj.steps[0].llm_s >= 0 and traj.wall_s > 0


def test_budget_forced_turn_that_overflows_is_fitted_and_keeps_its_reason():
    big = "y" * 6000

    class BigTool:
        name = "search"
        schema = {"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}}

        async def execute(self, arguments):
            return big

    llm = FakeLLM(
        lambda messages, kw: (
            "<answer>ok</answer>" if "too many tools" in str(messages[-1]["content"]) else call("search", query=["q"])
        )
    )
    # budget of 2 calls; after them the history (~3.5k tokens) no longer fits 3000 tokens + the reserve
    traj = run(Agent(llm, [BigTool()], max_tool_calls=2, context_tokens=3000, max_tokens_per_turn=300))
    check_well_formed(traj)
    last_messages, last_kwargs = llm.calls[-1]
    assert estimate_tokens(last_messages) + last_kwargs["max_tokens"] <= 3000
    assert "too many tools" in last_messages[-1]["content"]
    assert traj.stop_reason == "max_tool_calls" and traj.final_answer == "ok"


def test_failing_context_hook_is_recorded_not_raised():
    async def hook(messages, traj):
        if traj.steps:
            raise LLMError("summarizer down")
        return messages

    traj = run(Agent(FakeLLM([call("search", query=["x"])]), tools(), context_hook=hook))
    check_well_formed(traj)
    assert traj.stop_reason == "llm_error" and "summarizer down" in traj.metadata["errors"][0]
