"""The judge through the real client (LLMPool -> OpenAIChatLLM -> HTTP) against ScriptedChatServer."""

from __future__ import annotations

import asyncio
import json
import socket

from openseeker.llm.config import endpoint_config
from openseeker.llm.judge import PROMPT_VERSION, judge_answer
from openseeker.llm.pool import LLMPool
from openseeker.testing.chat_server import Reply, ScriptedChatServer

Q = "Which city hosts the Eiffel Tower?"
YES = json.dumps({"extracted_final_answer": "Paris", "reasoning": "same city", "correct": "yes", "confidence": 90})
NO = json.dumps({"extracted_final_answer": "Lyon", "reasoning": "different city", "correct": "no", "confidence": 60})


def grade(base_url: str, response: str, tmp_path, **settings):
    async def go():
        cfg = endpoint_config(
            base_url,
            "judge-model-x",
            cache=False,
            backoff_s=0.01,
            timeout_s=5.0,
            cache_dir=str(tmp_path / "c"),
            **settings,
        )
        async with LLMPool(cfg) as pool:
            return await judge_answer(Q, "Paris", response, pool.role("judge"))

    return asyncio.run(go())


def test_correct_over_http(tmp_path):
    with ScriptedChatServer([Reply(content=YES)]) as srv:
        v = grade(srv.base_url, "Explanation: ...\nExact Answer: Paris\nConfidence: 90%", tmp_path)
        body = srv.requests[0]
    assert v.correct is True and v.extracted_answer == "Paris" and v.confidence == 90
    assert v.judge_model == "judge-model-x" and v.prompt_version == PROMPT_VERSION and v.method == "llm"
    assert body["temperature"] == 0 and body["response_format"]["type"] == "json_schema"
    assert "[correct_answer]: Paris" in body["messages"][0]["content"]
    assert v.em is True and v.f1 == 1.0


def test_incorrect_over_http(tmp_path):
    with ScriptedChatServer([Reply(content=NO)]) as srv:
        v = grade(srv.base_url, "Exact Answer: Lyon", tmp_path)
    assert v.correct is False and v.extracted_answer == "Lyon" and v.em is False


def test_free_text_verdict_with_incorrect_trap(tmp_path):
    text = (
        "extracted_final_answer: Lyon\nreasoning: the response names Lyon, not Paris\n**Correct:** no\nconfidence: 40"
    )
    with ScriptedChatServer([Reply(content=text)]) as srv:
        v = grade(srv.base_url, "Lyon", tmp_path)
    assert v.correct is False and v.confidence == 40


def test_unparseable_then_retried(tmp_path):
    with ScriptedChatServer([Reply(content="I cannot decide."), Reply(content="hmm"), Reply(content=YES)]) as srv:
        v = grade(srv.base_url, "Paris", tmp_path)
        n = len(srv.requests)
    assert v.correct is True and v.attempts == 3 and n == 3


def test_unparseable_stays_none(tmp_path):
    with ScriptedChatServer(default=Reply(content="no verdict here")) as srv:
        v = grade(srv.base_url, "Paris", tmp_path)
    assert v.correct is None and v.attempts == 3 and "unparseable" in v.error
    assert v.em is True  # the offline columns still say the short answer matches


def test_endpoint_down(tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens on this port now
    v = grade(f"http://127.0.0.1:{port}/v1", "Paris", tmp_path, max_retries=1)
    assert v.correct is None and v.error and v.error.startswith("judge call failed")
    assert v.judge_model == "judge-model-x"


def test_server_error_then_ok(tmp_path):
    with ScriptedChatServer([Reply(status=503), Reply(content=YES)]) as srv:
        v = grade(srv.base_url, "Paris", tmp_path, max_retries=2)
    assert v.correct is True
