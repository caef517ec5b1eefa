"""Parser unit tests: text protocol, native calls, constrained-JSON actions, rendering of the model input."""

from __future__ import annotations

import json

import pytest

from openseeker.agent.protocol import (
    assistant_message,
    json_step_schema,
    normalize_call,
    parse_json_action,
    parse_native,
    parse_text,
    render_input,
    tool_message,
)
from openseeker.records import ToolCall
from openseeker.web.tools import SearchTool, VisitTool

SCHEMAS = [SearchTool.schema, VisitTool.schema]


def test_think_and_several_calls():
    content = (
        "<think>I need two things.</think>\n"
        '<tool_call>{"name": "search", "arguments": {"query": ["a", "b"]}}</tool_call>\n'
        '<tool_call>\n{"name": "visit", "arguments": {"url": "https://x", "goal": "g"}}\n</tool_call>'
    )
    turn = parse_text(content, tools=SCHEMAS)
    assert turn.reasoning == "I need two things."
    assert [c.name for c in turn.calls] == ["search", "visit"]
    assert turn.calls[0].arguments == {"query": ["a", "b"]}
    assert turn.calls[1].arguments == {"url": "https://x", "goal": "g"}
    assert turn.answer is None and not turn.errors


def test_answer_wins_and_closes_run():
    turn = parse_text("<think>ok</think>\n<answer> Paris </answer>")
    assert turn.answer == "Paris" and turn.calls == [] and turn.reasoning == "ok"


def test_unclosed_answer_and_unclosed_call():
    assert parse_text("<answer>Dijon").answer == "Dijon"
    turn = parse_text('<tool_call>{"name": "search", "arguments": {"query": ["x"]}}')
    assert turn.calls and turn.calls[0].arguments == {"query": ["x"]}


def test_lone_close_think_from_prompt_opened_reasoning():
    turn = parse_text('reasoning here</think>\n<tool_call>{"name":"search","arguments":{"query":["q"]}}</tool_call>')
    assert turn.reasoning == "reasoning here"
    assert turn.calls[0].name == "search"


def test_bare_json_calls_without_tags():
    turn = parse_text(
        'I will search.\n{"name": "search", "arguments": {"query": ["eiffel"]}}\nthen '
        '```json\n{"name": "visit", "arguments": {"url": ["u"], "goal": "g"}}\n```'
    )
    assert [c.name for c in turn.calls] == ["search", "visit"]


def test_broken_json_inside_tags_is_repaired_or_reported():
    # trailing comma: repaired
    turn = parse_text('<tool_call>{"name": "search", "arguments": {"query": ["x"],},}</tool_call>')
    assert turn.calls and turn.calls[0].arguments["query"] == ["x"]
    # missing closing braces: repaired
    turn = parse_text('<tool_call>{"name": "search", "arguments": {"query": ["x"]</tool_call>')
    assert turn.calls and turn.calls[0].arguments["query"] == ["x"]
    # hopeless: an error the model can read, no crash
    turn = parse_text("<tool_call>search for the eiffel tower please</tool_call>")
    assert not turn.calls and turn.errors and "could not parse" in turn.errors[0]


def test_string_arguments_and_flat_form_and_aliases():
    turn = parse_text('<tool_call>{"name": "search", "arguments": "{\\"query\\": [\\"q\\"]}"}</tool_call>')
    assert turn.calls[0].arguments == {"query": ["q"]}
    turn = parse_text('<tool_call>{"name": "web_search", "query": "q"}</tool_call>')
    assert turn.calls[0].name == "search" and turn.calls[0].arguments == {"query": "q"}
    turn = parse_text('<tool_call>{"name": "search", "arguments": ["q1", "q2"]}</tool_call>', tools=SCHEMAS)
    assert turn.calls[0].arguments == {"query": ["q1", "q2"]}
    assert isinstance(normalize_call({"arguments": {}}), str)  # no name -> error message
    assert isinstance(normalize_call([1, 2]), str)


def test_no_action_is_not_an_error_but_not_acted():
    turn = parse_text("I am not sure what to do.")
    assert not turn.acted and turn.reasoning == "I am not sure what to do."


def test_native_calls_win_and_raw_arguments_are_decoded():
    calls = [
        ToolCall(id="c1", name="search", arguments={"query": ["a"]}),
        ToolCall(id="c2", name="visit", arguments={"_raw": '{"url": "u", "goal": "g",}'}),
    ]
    turn = parse_native("<think>r</think>", calls, tools=SCHEMAS)
    assert turn.native and [c.id for c in turn.calls] == ["c1", "c2"]
    assert turn.calls[1].arguments == {"url": "u", "goal": "g"}
    assert turn.reasoning == "r"


@pytest.mark.parametrize(
    "content, name, args",
    [
        ('{"think": "t", "action": "search", "query": ["eiffel tower"]}', "search", {"query": ["eiffel tower"]}),
        ('{"think": "t", "action": "search", "query": "eiffel"}', "search", {"query": ["eiffel"]}),
        (
            '{"think": "t", "action": "visit", "url": ["https://x"], "goal": "born"}',
            "visit",
            {"url": ["https://x"], "goal": "born"},
        ),
    ],
)
def test_json_actions(content, name, args):
    turn = parse_json_action(content)
    assert turn.calls[0].name == name and turn.calls[0].arguments == args and turn.reasoning == "t"


def test_json_answer_and_bad_actions():
    assert parse_json_action('{"think": "", "action": "answer", "answer": "Dijon"}').answer == "Dijon"
    for bad in (
        '{"action": "answer", "answer": ""}',
        '{"action": "dance"}',
        '{"action": "search", "query": []}',
        "not json at all",
    ):
        turn = parse_json_action(bad)
        assert not turn.acted and turn.errors, bad
    # a text-protocol reply in json mode still works
    assert parse_json_action("<answer>x</answer>").answer == "x"


def test_json_schema_branches_require_their_fields():
    schema = json_step_schema()
    branches = {b["properties"]["action"]["enum"][0]: b["required"] for b in schema["anyOf"]}
    assert branches == {
        "search": ["think", "action", "query"],
        "visit": ["think", "action", "url", "goal"],
        "answer": ["think", "action", "answer"],
    }
    assert json_step_schema(answer_only=True)["properties"]["action"]["enum"] == ["answer"]
    no_answer = json_step_schema(allow_answer=False)
    assert [b["properties"]["action"]["enum"] for b in no_answer["anyOf"]] == [["search"], ["visit"]]
    assert json_step_schema(actions=("search",))["required"] == ["think", "action", "query"]


def _history():
    call = ToolCall(id="c1", name="search", arguments={"query": ["q"]})
    call2 = ToolCall(id="c2", name="visit", arguments={"url": ["u"], "goal": "g"})
    return [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "question"},
        assistant_message("think", [call, call2], None),
        tool_message(call, "OBS1"),
        tool_message(call2, "OBS2"),
        assistant_message("done", [], "A"),
    ]


def test_canonical_assistant_message_has_both_text_and_tool_calls():
    msg = _history()[2]
    assert msg["content"].startswith("<think>\nthink\n</think>")
    assert msg["content"].count("<tool_call>") == 2
    assert [tc["id"] for tc in msg["tool_calls"]] == ["c1", "c2"]
    assert json.loads(msg["tool_calls"][0]["function"]["arguments"]) == {"query": ["q"]}
    # the rendering parses back to the same calls
    turn = parse_text(msg["content"])
    assert [(c.name, c.arguments) for c in turn.calls] == [
        ("search", {"query": ["q"]}),
        ("visit", {"url": ["u"], "goal": "g"}),
    ]


def test_render_text_merges_tool_responses_into_one_user_turn():
    out = render_input(_history(), "text")
    assert [m["role"] for m in out] == ["system", "user", "assistant", "user", "assistant"]
    assert "tool_calls" not in out[2]
    assert out[3]["content"] == "<tool_response>\nOBS1\n</tool_response>\n<tool_response>\nOBS2\n</tool_response>"


def test_render_native_keeps_tool_messages_and_strips_call_text():
    out = render_input(_history(), "native")
    assert [m["role"] for m in out] == ["system", "user", "assistant", "tool", "tool", "assistant"]
    assert "<tool_call>" not in out[2]["content"] and out[2]["tool_calls"]


def test_render_json_shows_actions_as_json():
    out = render_input(_history(), "json")
    act = json.loads(out[2]["content"])
    assert act == {"think": "think", "action": "search", "query": ["q"]}
    assert out[3]["role"] == "user" and "Result of search:\nOBS1" in out[3]["content"]
    assert json.loads(out[4]["content"])["answer"] == "A"


def test_llama_function_tags_and_openai_shaped_json_in_text():
    turn = parse_text('<function=search>{"query": ["eiffel"]}</function>', tools=SCHEMAS)
    assert [(c.name, c.arguments) for c in turn.calls] == [("search", {"query": ["eiffel"]})]
    turn = parse_text(
        '{"tool_calls": [{"type": "function", "function": {"name": "visit", '
        '"arguments": "{\\"url\\": \\"u\\", \\"goal\\": \\"g\\"}"}}]}'
    )
    assert [(c.name, c.arguments) for c in turn.calls] == [("visit", {"url": "u", "goal": "g"})]


def test_calls_written_inside_think_are_used_once():
    turn = parse_text(
        '<think>let me search <tool_call>{"name": "search", "arguments": {"query": ["q"]}}</tool_call></think>'
    )
    assert [c.name for c in turn.calls] == ["search"] and turn.reasoning == "let me search"
