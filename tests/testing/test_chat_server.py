import json

import httpx

from openseeker.testing import Reply, ScriptedChatServer


def test_scripted_replies_in_order_then_default():
    with ScriptedChatServer(
        [Reply(content="one"), Reply(status=429, headers={"Retry-After": "0"})], default=Reply(content="dflt")
    ) as srv:
        body = {"model": "m", "messages": [{"role": "user", "content": "hi there"}]}
        r1 = httpx.post(srv.base_url + "/chat/completions", json=body)
        r2 = httpx.post(srv.base_url + "/chat/completions", json=body)
        r3 = httpx.post(srv.base_url + "/chat/completions", json=body)
    assert r1.json()["choices"][0]["message"]["content"] == "one"
    assert r1.json()["usage"]["prompt_tokens"] == 2
    assert r2.status_code == 429 and r2.headers["Retry-After"] == "0" and "error" in r2.json()
    assert r3.json()["choices"][0]["message"]["content"] == "dflt"
    assert len(srv.requests) == 3


def test_tool_calls_and_raw_body():
    with ScriptedChatServer(
        [Reply(tool_calls=[{"name": "search", "arguments": {"query": ["x"]}}]), Reply(body="{not json")]
    ) as srv:
        body = {"model": "m", "messages": []}
        msg = httpx.post(srv.base_url + "/chat/completions", json=body).json()["choices"][0]
        raw = httpx.post(srv.base_url + "/chat/completions", json=body)
    assert msg["finish_reason"] == "tool_calls"
    call = msg["message"]["tool_calls"][0]["function"]
    assert call["name"] == "search" and json.loads(call["arguments"]) == {"query": ["x"]}
    assert raw.text == "{not json"


def test_function_responder_sees_request():
    with ScriptedChatServer(lambda req: Reply(content=req["messages"][-1]["content"].upper())) as srv:
        r = httpx.post(
            srv.base_url + "/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "echo"}]}
        )
        models = httpx.get(srv.base_url + "/models").json()
    assert r.json()["choices"][0]["message"]["content"] == "ECHO"
    assert models["data"][0]["id"] == "scripted-model"
