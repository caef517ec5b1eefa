"""parse_json robustness, json_schema_format, chat_json retries (FakeLLM for logic, HTTP once)."""

from __future__ import annotations

import pytest
from llm_helpers import USER, run

from openseeker.errors import LLMError
from openseeker.llm.base import Completion
from openseeker.llm.jsonout import chat_json, json_schema_format, missing_keys, parse_json
from openseeker.testing.chat_server import Reply, ScriptedChatServer
from openseeker.testing.fakes import FakeLLM


@pytest.mark.parametrize(
    "text, expected",
    [
        ('{"a": 1}', {"a": 1}),
        ("[1, 2, 3]", [1, 2, 3]),
        ('Sure! Here it is:\n```json\n{"a": [1, 2,],}\n```\nHope that helps.', {"a": [1, 2]}),
        ('```\n{"x": true}\n```', {"x": True}),
        ('<think>maybe {"a": 0}?</think>{"a": 2}', {"a": 2}),
        ("answer: {'name': 'Paris', 'ok': True, 'n': None}", {"name": "Paris", "ok": True, "n": None}),
        ('{name: "Paris", population: 2100000}', {"name": "Paris", "population": 2100000}),
        ('{"q": "it\'s \\"quoted\\" {not a brace}"}', {"q": 'it\'s "quoted" {not a brace}'}),
        ('{"a": {"b": [1, 2', {"a": {"b": [1, 2]}}),
        ('{"answer": "Par', {"answer": "Par"}),
        ('{"k": "v", "x":', {"k": "v"}),
        ('{"k": "v",', {"k": "v"}),
        ('text {not json} then {"ok": 1} and {"later": 2}', {"ok": 1}),
        ('{"url": "http://a.b/c?d=1", "n": -1.5e3}', {"url": "http://a.b/c?d=1", "n": -1500.0}),
        ('{"text": "a, b: c"}', {"text": "a, b: c"}),
        ('{"zh": "北京"}', {"zh": "北京"}),
    ],
)
def test_parse_json_recovers(text, expected):
    assert parse_json(text) == expected


@pytest.mark.parametrize("text", [None, "", "no json at all", "{{{{", "} ] ) nope", '<think>{"a": 1}</think>'])
def test_parse_json_hopeless_is_none(text):
    assert parse_json(text) is None


def test_json_schema_format_shape():
    fmt = json_schema_format("my schema!", {"type": "object"})
    assert fmt == {
        "type": "json_schema",
        "json_schema": {"name": "my_schema_", "schema": {"type": "object"}, "strict": False},
    }
    assert json_schema_format("x", {}, strict=True)["json_schema"]["strict"] is True


SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string"}, "confidence": {"type": "integer"}},
    "required": ["answer", "confidence"],
}


def test_missing_keys():
    assert missing_keys({"answer": "x", "confidence": 3}, SCHEMA) == []
    assert missing_keys({"answer": "x"}, SCHEMA) == ["confidence"]
    assert missing_keys([1], SCHEMA) == ["<not an object>"]


def test_chat_json_first_try():
    llm = FakeLLM(['{"answer": "Paris", "confidence": 90}'])
    value, comps = run(chat_json(llm, USER, SCHEMA, max_tokens=20))
    assert value == {"answer": "Paris", "confidence": 90} and len(comps) == 1
    _, kwargs = llm.calls[0]
    assert kwargs["response_format"]["json_schema"]["schema"] == SCHEMA and kwargs["max_tokens"] == 20


def test_chat_json_retries_on_missing_keys_then_succeeds():
    llm = FakeLLM(["I think Paris.", '{"answer": "Paris"}', '{"answer": "Paris", "confidence": 7}'])
    value, comps = run(chat_json(llm, USER, SCHEMA, retries=2))
    assert value == {"answer": "Paris", "confidence": 7} and len(comps) == 3
    retry_messages, _ = llm.calls[2]
    assert retry_messages[-2] == {"role": "assistant", "content": '{"answer": "Paris"}'}
    assert "confidence" in retry_messages[-1]["content"]


def test_chat_json_gives_none_when_model_keeps_failing():
    llm = FakeLLM(default="no idea")
    value, comps = run(chat_json(llm, USER, SCHEMA, retries=1))
    assert value is None and len(comps) == 2


def test_chat_json_uses_reasoning_when_content_empty():
    llm = FakeLLM([Completion(content="", reasoning='{"answer": "x", "confidence": 1}')])
    value, _ = run(chat_json(llm, USER, SCHEMA))
    assert value == {"answer": "x", "confidence": 1}


def test_chat_json_llm_error_is_none():
    class Broken:
        role, model = "judge", "m"

        async def chat(self, messages, **kw):
            raise LLMError("endpoint down")

    value, comps = run(chat_json(Broken(), USER, SCHEMA))
    assert value is None and comps == []


def test_chat_json_over_http(make_pool):
    script = [Reply(content="```json\n{'answer': 'Paris', 'confidence': 3,}\n```")]
    with ScriptedChatServer(script) as srv:

        async def go():
            async with make_pool(srv.base_url) as pool:
                return await chat_json(pool.role("verifier"), USER, SCHEMA, name="verdict")

        value, comps = run(go())
    assert value == {"answer": "Paris", "confidence": 3} and len(comps) == 1
    assert srv.requests[0]["response_format"]["json_schema"]["name"] == "verdict"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("{'a': 'it\\'s'}", {"a": "it's"}),
        ('{"a": "line1\nline2"}', {"a": "line1\nline2"}),
        ('[{"a": 1}, {"b": 2}, {"c":', [{"a": 1}, {"b": 2}, {}]),  # the outer array, not its first element
        ('["x", "y', ["x", "y"]),
        ('{"k": "v", "x', {"k": "v"}),
        ('{"a": 1} {"b": 2}', {"a": 1}),
    ],
)
def test_parse_json_more_repairs(text, expected):
    assert parse_json(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            '{"think": "x", "action": "search", "query": ["a", "b',
            {"think": "x", "action": "search", "query": ["a", "b"]},
        ),
        ('{"action": "answer", "answer": {"x": 1', {"action": "answer", "answer": {"x": 1}}),
        ('```json\n{"action": "search", "query": ["x"]', {"action": "search", "query": ["x"]}),
        ("{not json}", None),  # json-repair would read a list out of it: a repair that changes the kind is refused
    ],
)
def test_parse_json_truncated_reply_is_the_outer_object(text, expected):
    # regression: the agent protocol had its own second parser to get the outer object, not an inner value
    assert parse_json(text) == expected


def test_chat_json_validate_hook_and_error_code():
    llm = FakeLLM(['{"answer": "", "confidence": 1}', '{"answer": "", "confidence": 2}'])
    reply = run(chat_json(llm, USER, SCHEMA, retries=1, validate=lambda v: None if v["answer"] else "empty"))
    assert reply.value is None and reply.error == "empty" and reply.attempts == 2
    assert reply.raws == ['{"answer": "", "confidence": 1}', '{"answer": "", "confidence": 2}']
    assert "That was not usable: empty" in llm.calls[1][0][-1]["content"]


def test_chat_json_wrong_type_is_malformed():
    llm = FakeLLM(['{"answer": ["Paris"], "confidence": 3}'])
    reply = run(chat_json(llm, USER, SCHEMA, retries=0))
    assert reply.value is None and reply.error == "malformed_json"


def test_chat_json_resample_bumps_the_seed_and_keeps_the_prompt():
    llm = FakeLLM(["nope", '{"answer": "Paris", "confidence": 9}'])
    seen = []
    reply = run(chat_json(llm, USER, SCHEMA, correct=False, seed=7, on_completion=seen.append))
    assert reply.value == {"answer": "Paris", "confidence": 9} and len(seen) == 2
    assert [kw["seed"] for _, kw in llm.calls] == [7, 8] and all(m == USER for m, _ in llm.calls)


class _FailsOnce:
    role, model = "x", "m"

    def __init__(self):
        self.calls = []

    async def chat(self, messages, **kw):
        self.calls.append(messages)
        if len(self.calls) == 1:
            raise LLMError("endpoint down")
        return Completion(content='{"answer": "a", "confidence": 1}')


def test_chat_json_llm_error_raise_or_retry_with_a_prompt_per_attempt():
    with pytest.raises(LLMError):
        run(chat_json(_FailsOnce(), USER, SCHEMA, on_llm_error="raise"))
    llm = _FailsOnce()
    reply = run(chat_json(llm, lambda i: [{"role": "user", "content": f"attempt {i}"}], SCHEMA, on_llm_error="retry"))
    assert reply.value == {"answer": "a", "confidence": 1} and reply.attempts == 2
    assert [m[0]["content"] for m in llm.calls] == ["attempt 0", "attempt 1"]


def test_json_objects_spans_in_order():
    from openseeker.llm.jsonout import json_objects

    text = 'a {"x": {"y": 1}} b {broken} {"z": 2}'
    assert [(obj, text[s:e]) for s, e, obj in json_objects(text)] == [
        ({"x": {"y": 1}}, '{"x": {"y": 1}}'),
        ({"z": 2}, '{"z": 2}'),
    ]  # nested objects are not listed again
    assert json_objects("no braces") == []
