"""OpenAIChatLLM through LLMPool against ScriptedChatServer: real HTTP, real openai SDK."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
from llm_helpers import USER, run

from openseeker.errors import LLMError, UserError
from openseeker.llm.client import ContextLengthError, parse_retry_after
from openseeker.llm.jsonout import json_schema_format
from openseeker.testing.chat_server import Reply, ScriptedChatServer


def test_success_payload_and_parsing(make_pool):
    with ScriptedChatServer(
        [Reply(content="Paris", reasoning="France's capital is Paris.", prompt_tokens=12, completion_tokens=3)]
    ) as srv:

        async def go():
            async with make_pool(
                srv.base_url, "my-model", temperature=0.2, max_tokens=77, extra_body={"top_k": 20}
            ) as pool:
                return await pool.role("judge").chat(USER, stop=["</answer>"])

        c = run(go())
    assert c.content == "Paris"
    assert c.reasoning == "France's capital is Paris."
    assert c.usage.prompt_tokens == 12 and c.usage.completion_tokens == 3 and c.usage.calls == 1
    assert c.model == "my-model" and not c.cached and c.finish_reason == "stop"
    req = srv.requests[0]
    assert req["model"] == "my-model" and req["messages"] == USER
    assert req["temperature"] == 0.2 and req["max_tokens"] == 77 and req["top_k"] == 20
    assert req["stop"] == ["</answer>"]


def test_call_overrides_role_defaults(make_pool):
    with ScriptedChatServer(default=Reply(content="x")) as srv:

        async def go():
            async with make_pool(srv.base_url, temperature=0.9, max_tokens=10) as pool:
                await pool.role("teacher").chat(
                    USER,
                    temperature=0.0,
                    max_tokens=5,
                    seed=7,
                    tools=[{"type": "function", "function": {"name": "search"}}],
                )

        run(go())
    req = srv.requests[0]
    assert req["temperature"] == 0.0 and req["max_tokens"] == 5 and req["seed"] == 7
    assert req["tools"][0]["function"]["name"] == "search"


def test_native_tool_calls_parsed(make_pool):
    calls = [
        {"name": "search", "arguments": {"query": ["a", "b"]}},
        {"name": "visit", "arguments": '{"url": "http://x", "goal": broken'},
        {"name": "visit", "arguments": "[1, 2]"},
    ]
    with ScriptedChatServer([Reply(content="", tool_calls=calls)]) as srv:

        async def go():
            async with make_pool(srv.base_url) as pool:
                return await pool.role("teacher").chat(USER)

        c = run(go())
    assert [tc.name for tc in c.tool_calls] == ["search", "visit", "visit"]
    assert c.tool_calls[0].arguments == {"query": ["a", "b"]}
    assert c.tool_calls[1].arguments == {"_raw": '{"url": "http://x", "goal": broken'}
    assert c.tool_calls[2].arguments == {"_raw": "[1, 2]"}
    assert all(tc.id for tc in c.tool_calls)
    assert c.finish_reason == "tool_calls"


def test_429_then_success_respects_retry_after(make_pool, monkeypatch):
    import openseeker.llm.client as client_mod

    waits: list[float] = []
    real_sleep = asyncio.sleep

    async def spy_sleep(delay, *args, **kwargs):  # records the backoff the client chose (no wall-clock assert)
        waits.append(delay)
        await real_sleep(0)

    monkeypatch.setattr(client_mod.asyncio, "sleep", spy_sleep)
    script = [Reply(status=429, headers={"Retry-After": "0.4"}), Reply(content="ok")]
    with ScriptedChatServer(script) as srv:

        async def go():
            async with make_pool(srv.base_url) as pool:
                c = await pool.role("judge").chat(USER)
                return c, pool.stats()["judge"]

        c, stats = run(go())
    assert c.content == "ok"
    assert len(srv.requests) == 2
    assert 0.4 in waits  # waited as told by Retry-After (not the exponential backoff)
    assert stats["retries"] == 1 and stats["errors"] == 0


def test_500_forever_raises_after_bounded_retries(make_pool):
    with ScriptedChatServer(default=Reply(status=500)) as srv:

        async def go():
            async with make_pool(srv.base_url, max_retries=2) as pool:
                with pytest.raises(LLMError, match="3 attempt"):
                    await pool.role("judge").chat(USER)
                return pool.stats()["judge"], pool.usage()["judge"]

        stats, usage = run(go())
    assert len(srv.requests) == 3
    assert stats["errors"] == 1 and stats["retries"] == 2
    assert usage.calls == 0


def test_timeout_then_success(make_pool):
    with ScriptedChatServer([Reply(content="late", delay=1.5), Reply(content="on time")]) as srv:

        async def go():
            async with make_pool(srv.base_url, timeout_s=0.3) as pool:
                return await pool.role("judge").chat(USER), pool.stats()["judge"]

        c, stats = run(go())
    assert c.content == "on time"
    assert stats["retries"] == 1


def test_connection_refused_is_llm_error(make_pool):
    srv = ScriptedChatServer().start()
    url = srv.base_url
    srv.stop()

    async def go():
        async with make_pool(url, max_retries=1) as pool:
            with pytest.raises(LLMError, match="connection error"):
                await pool.role("judge").chat(USER)

    run(go())


def test_malformed_body_retried_then_error(make_pool):
    bad = [Reply(body="this is not json"), Reply(body='{"choices": []}'), Reply(body='{"id": 1}')]
    with ScriptedChatServer(bad) as srv:

        async def go():
            async with make_pool(srv.base_url, max_retries=2) as pool:
                with pytest.raises(LLMError, match="malformed"):
                    await pool.role("judge").chat(USER)

        run(go())
    assert len(srv.requests) == 3


def test_malformed_body_then_success(make_pool):
    with ScriptedChatServer([Reply(body="<html>502</html>"), Reply(content="fine")]) as srv:

        async def go():
            async with make_pool(srv.base_url) as pool:
                return await pool.role("judge").chat(USER)

        assert run(go()).content == "fine"


def test_non_retryable_400_carries_server_message(make_pool):
    body = json.dumps({"error": {"message": "model 'nope' does not exist", "type": "invalid_request_error"}})
    with ScriptedChatServer([Reply(status=400, body=body), Reply(content="never")]) as srv:

        async def go():
            async with make_pool(srv.base_url) as pool:
                with pytest.raises(LLMError, match="model 'nope' does not exist") as info:
                    await pool.role("judge").chat(USER)
                return info.value

        err = run(go())
    assert "HTTP 400" in str(err) and "judge" in str(err)
    assert len(srv.requests) == 1  # not retried


def test_401_is_not_retried(make_pool):
    with ScriptedChatServer([Reply(status=401), Reply(content="never")]) as srv:

        async def go():
            async with make_pool(srv.base_url) as pool:
                with pytest.raises(LLMError, match="HTTP 401"):
                    await pool.role("judge").chat(USER)

        run(go())
    assert len(srv.requests) == 1


def test_context_length_error(make_pool):
    body = json.dumps(
        {
            "error": {
                "message": "request (9000 tokens) exceeds the available context size (8192 tokens), try increasing it"
            }
        }
    )
    with ScriptedChatServer([Reply(status=400, body=body)]) as srv:

        async def go():
            async with make_pool(srv.base_url) as pool:
                with pytest.raises(ContextLengthError, match="exceeds the available context"):
                    await pool.role("teacher").chat(USER)

        run(go())
    assert len(srv.requests) == 1


def test_response_format_passed_through(make_pool):
    fmt = json_schema_format("answer", {"type": "object", "properties": {"a": {"type": "string"}}})
    with ScriptedChatServer([Reply(content='{"a": "x"}')]) as srv:

        async def go():
            async with make_pool(srv.base_url) as pool:
                return await pool.role("judge").chat(USER, response_format=fmt)

        run(go())
    assert srv.requests[0]["response_format"] == fmt


def test_response_format_rejected_falls_back(make_pool):
    fmt = json_schema_format("answer", {"type": "object"})
    body = json.dumps({"error": {"message": "response_format json_schema is not supported"}})
    with ScriptedChatServer([Reply(status=400, body=body)], default=Reply(content='{"a": 1}')) as srv:

        async def go():
            async with make_pool(srv.base_url) as pool:
                llm = pool.role("judge")
                first = await llm.chat(USER, response_format=fmt)
                second = await llm.chat(USER + [{"role": "user", "content": "again"}], response_format=fmt)
                return first, second, pool.stats()["judge"]

        first, second, stats = run(go())
    assert first.content == '{"a": 1}' and second.content == '{"a": 1}'
    assert "response_format" in srv.requests[0]
    assert "response_format" not in srv.requests[1]
    assert "response_format" not in srv.requests[2]  # remembered for the endpoint
    assert stats["format_fallbacks"] == 1


def test_cache_hit_served_without_request(make_pool):
    with ScriptedChatServer(default=Reply(content="cached answer", prompt_tokens=5, completion_tokens=2)) as srv:

        async def go():
            async with make_pool(srv.base_url) as pool:
                a = await pool.role("judge").chat(USER)
                b = await pool.role("judge").chat(USER)
                return a, b, pool.usage()["judge"], pool.stats()["judge"]

        a, b, usage, stats = run(go())

        async def again():  # a new pool on the same cache dir: persistent
            async with make_pool(srv.base_url) as pool:
                return await pool.role("judge").chat(USER)

        c = run(again())
    assert len(srv.requests) == 1
    assert not a.cached and b.cached and c.cached
    assert b.content == c.content == "cached answer"
    assert b.usage.completion_tokens == 2
    assert usage.calls == 1 and stats["cache_hits"] == 1


def test_cache_key_covers_request(make_pool):
    with ScriptedChatServer(default=Reply(content="x")) as srv:

        async def go():
            async with make_pool(srv.base_url) as pool:
                llm = pool.role("judge")
                await llm.chat(USER)
                await llm.chat(USER, max_tokens=3)
                await llm.chat(USER, tools=[{"type": "function", "function": {"name": "t"}}])
                await llm.chat(USER, seed=1)
                await llm.chat([{"role": "user", "content": "other"}])

        run(go())
    assert len(srv.requests) == 5


@pytest.mark.parametrize("how", ["env", "config"])
def test_cache_opt_out(make_pool, monkeypatch, how):
    settings = {}
    if how == "env":
        monkeypatch.setenv("OPENSEEKER_NO_CACHE", "1")
    else:
        settings["cache"] = False
    with ScriptedChatServer(default=Reply(content="x")) as srv:

        async def go():
            async with make_pool(srv.base_url, **settings) as pool:
                await pool.role("judge").chat(USER)
                return await pool.role("judge").chat(USER)

        c = run(go())
    assert len(srv.requests) == 2 and not c.cached


def test_sampled_calls_not_collapsed_and_replayed_in_order(make_pool):
    counter = iter(range(1000))
    with ScriptedChatServer(lambda req: Reply(content=f"sample {next(counter)}")) as srv:

        async def go():
            async with make_pool(srv.base_url) as pool:
                llm = pool.role("teacher")
                return [(await llm.chat(USER, temperature=0.8)).content for _ in range(3)]

        first = run(go())
        second = run(go())  # a re-run (resume) replays the same samples from the cache
    assert first == ["sample 0", "sample 1", "sample 2"]
    assert second == first
    assert len(srv.requests) == 3


def test_seeded_sampled_calls_share_an_entry(make_pool):
    with ScriptedChatServer(default=Reply(content="s")) as srv:

        async def go():
            async with make_pool(srv.base_url) as pool:
                llm = pool.role("teacher")
                return [await llm.chat(USER, temperature=0.8, seed=3) for _ in range(3)]

        out = run(go())
    assert len(srv.requests) == 1 and [c.cached for c in out] == [False, True, True]


def test_concurrency_limit_shared_by_roles_on_one_endpoint(make_pool):
    lock = threading.Lock()
    state = {"now": 0, "max": 0}

    def responder(req):
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.3)  # wide enough for all permitted requests to overlap even on a loaded machine
        with lock:
            state["now"] -= 1
        return Reply(content="ok")

    with ScriptedChatServer(responder) as srv:

        async def go():
            async with make_pool(srv.base_url, concurrency=3, cache=False) as pool:
                calls = [
                    pool.role(r).chat([{"role": "user", "content": f"q{i}"}])
                    for i in range(6)
                    for r in ("teacher", "judge")
                ]
                await asyncio.gather(*calls)

        run(go())
    assert len(srv.requests) == 12
    assert state["max"] == 3  # reached, never exceeded (the behaviour; no wall-clock assert)


def test_usage_accounting_per_role(make_pool):
    def responder(req):
        return Reply(content="a b", prompt_tokens=10, completion_tokens=4)

    with ScriptedChatServer(responder) as srv:

        async def go():
            async with make_pool(srv.base_url, cache=False) as pool:
                await pool.role("teacher").chat(USER)
                await pool.role("teacher").chat(USER)
                await pool.role("summarizer").chat(USER)
                return pool.usage()

        usage = run(go())
    assert usage["teacher"].calls == 2 and usage["teacher"].prompt_tokens == 20
    assert usage["teacher"].completion_tokens == 8 and usage["teacher"].latency_s > 0
    assert usage["summarizer"].calls == 1 and usage["summarizer"].total_tokens == 14
    assert usage["judge"].calls == 0


def test_unknown_role_and_unstarted_pool(make_pool):
    with ScriptedChatServer() as srv:

        async def go():
            async with make_pool(srv.base_url) as pool:
                with pytest.raises(UserError, match="roles are: generator"):
                    pool.role("oracle")

        run(go())


def test_model_discovered_from_endpoint(make_pool):
    with ScriptedChatServer(default=Reply(content="x"), model="served/model-1") as srv:

        async def go():
            async with make_pool(srv.base_url, model="") as pool:
                await pool.role("judge").chat(USER)
                return pool.describe()

        desc = run(go())
    assert srv.requests[0]["model"] == "served/model-1"
    assert desc["judge"]["model"] == "served/model-1"


def test_describe_never_contains_api_key(make_pool, monkeypatch):
    monkeypatch.setenv("MY_SECRET_KEY", "sk-very-secret-123")
    with ScriptedChatServer(default=Reply(content="x")) as srv:

        async def go():
            async with make_pool(srv.base_url, api_key_env="MY_SECRET_KEY") as pool:
                await pool.role("judge").chat(USER)
                return pool.describe()

        desc = run(go())
    assert "sk-very-secret-123" not in json.dumps(desc)
    assert desc["judge"]["api_key_env"] == "MY_SECRET_KEY"


def test_missing_api_key_fails_at_start(make_pool):
    with ScriptedChatServer() as srv:

        async def go():
            async with make_pool(srv.base_url, api_key_env="OPENSEEKER_TEST_UNSET_KEY"):
                pass

        with pytest.raises(UserError, match="OPENSEEKER_TEST_UNSET_KEY"):
            run(go())
    assert srv.requests == []


def test_parse_retry_after_forms():
    assert parse_retry_after({"retry-after": "2"}) == 2.0
    assert parse_retry_after({"retry-after-ms": "250"}) == 0.25
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 <= parse_retry_after({"retry-after": date}) <= 31


def test_413_is_context_length_error(make_pool):
    with ScriptedChatServer([Reply(status=413)]) as srv:

        async def go():
            async with make_pool(srv.base_url) as pool:
                with pytest.raises(ContextLengthError):
                    await pool.role("teacher").chat(USER)

        run(go())


def test_sharded_sdk_clients_round_robin():
    from openseeker.llm.transport import SHARD_CONNECTIONS, OpenAITransport

    one = OpenAITransport("http://127.0.0.1:1/v1", "k", concurrency=SHARD_CONNECTIONS, timeout_s=5)
    many = OpenAITransport("http://127.0.0.1:1/v1", "k", concurrency=SHARD_CONNECTIONS * 3 + 1, timeout_s=5)
    assert len(one.clients) == 1 and len(many.clients) == 4
    picked = [many._pick() for _ in range(8)]
    assert picked[:4] == many.clients and picked[4:] == many.clients

    async def close():
        await one.close()
        await many.close()

    run(close())


def test_transport_selection(monkeypatch):
    import importlib.util

    from openseeker.llm.replicas import make_transport
    from openseeker.llm.transport import AiohttpTransport, OpenAITransport, resolve_transport

    have_aiohttp = importlib.util.find_spec("aiohttp") is not None
    assert resolve_transport("openai") == "openai"
    assert resolve_transport("auto") == ("aiohttp" if have_aiohttp else "openai")
    monkeypatch.setenv("OPENSEEKER_LLM_TRANSPORT", "openai")
    assert resolve_transport("auto") == "openai" and resolve_transport("aiohttp") == "aiohttp"
    assert isinstance(make_transport("http://x/v1", "k", concurrency=1, timeout_s=1), OpenAITransport)
    monkeypatch.setenv("OPENSEEKER_LLM_TRANSPORT", "carrier-pigeon")
    with pytest.raises(UserError, match="unknown LLM transport"):
        resolve_transport("auto")
    monkeypatch.delenv("OPENSEEKER_LLM_TRANSPORT")
    expected = AiohttpTransport if have_aiohttp else OpenAITransport
    assert isinstance(make_transport("http://x/v1", "k", concurrency=1, timeout_s=1), expected)


def test_high_concurrency_over_shards(make_pool):
    lock = threading.Lock()
    state = {"now": 0, "max": 0}

    def responder(req):
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.2)
        with lock:
            state["now"] -= 1
        return Reply(content=req["messages"][0]["content"])

    with ScriptedChatServer(responder) as srv:

        async def go():
            async with make_pool(srv.base_url, concurrency=40, cache=False) as pool:
                llm = pool.role("teacher")
                return await asyncio.gather(*[llm.chat([{"role": "user", "content": f"q{i}"}]) for i in range(80)])

        out = run(go())
    assert [c.content for c in out] == [f"q{i}" for i in range(80)]  # every answer matched to its request
    assert 8 < state["max"] <= 40  # above the default limit, never above the configured one


def test_unserializable_message_is_llm_error_not_crash(make_pool):
    with ScriptedChatServer(default=Reply(content="x")) as srv:

        async def go():
            async with make_pool(srv.base_url, cache=False) as pool:
                with pytest.raises(LLMError, match="could not send"):
                    await pool.role("teacher").chat([{"role": "user", "content": object()}])

        run(go())
    assert srv.requests == []


def test_max_completion_tokens_and_temperature_adaptation(make_pool):
    """OpenAI reasoning models reject max_tokens and non-default temperature: adapt once, remember."""

    def responder(req):
        if "max_tokens" in req:
            return Reply(
                status=400,
                body=json.dumps(
                    {
                        "error": {
                            "message": "Unsupported parameter: 'max_tokens' is "
                            "not supported with this model. Use "
                            "'max_completion_tokens' instead."
                        }
                    }
                ),
            )
        if "temperature" in req:
            return Reply(
                status=400,
                body=json.dumps(
                    {"error": {"message": "Unsupported value: 'temperature' does not support 0.0 with this model."}}
                ),
            )
        return Reply(content="ok")

    with ScriptedChatServer(responder) as srv:

        async def go():
            async with make_pool(srv.base_url, max_tokens=50) as pool:
                llm = pool.role("judge")
                a = await llm.chat(USER)
                b = await llm.chat(USER + [{"role": "user", "content": "more"}])
                return a, b, pool.stats()["judge"]

        a, b, stats = run(go())
    assert a.content == b.content == "ok"
    assert len(srv.requests) == 4  # 2 rejected, then the adapted request; the second call adapted up front
    assert srv.requests[2]["max_completion_tokens"] == 50 and "temperature" not in srv.requests[2]
    assert "max_tokens" not in srv.requests[3] and "temperature" not in srv.requests[3]
    assert stats["format_fallbacks"] == 2 and stats["retries"] == 0


def test_failed_adaptation_is_not_remembered(make_pool):
    body = json.dumps({"error": {"message": "messages[1]: tool message without a preceding tool call"}})
    fmt = json_schema_format("x", {"type": "object"})
    with ScriptedChatServer(
        [Reply(status=400, body=body), Reply(status=400, body=body)], default=Reply(content="{}")
    ) as srv:

        async def go():
            async with make_pool(srv.base_url) as pool:
                llm = pool.role("judge")
                with pytest.raises(LLMError, match="tool message without"):
                    await llm.chat(USER, response_format=fmt)
                await llm.chat(USER + [{"role": "user", "content": "next"}], response_format=fmt)

        run(go())
    assert "response_format" in srv.requests[0] and "response_format" not in srv.requests[1]
    assert "response_format" in srv.requests[2]  # the failed fix was forgotten


def test_start_warns_about_unlisted_model_and_unreachable_endpoint(make_pool, caplog):
    with ScriptedChatServer(default=Reply(content="x"), model="served") as srv:

        async def go():
            async with make_pool(srv.base_url, model="other"):
                pass

        with caplog.at_level("WARNING", logger="openseeker.llm.pool"):
            run(go())
    assert "'other' is not among those listed" in caplog.text
    caplog.clear()
    dead = ScriptedChatServer().start()
    url = dead.base_url
    dead.stop()

    async def go_dead():
        async with make_pool(url, model="m"):
            pass

    with caplog.at_level("WARNING", logger="openseeker.llm.pool"):
        run(go_dead())  # only a warning: the calls themselves report failures
    assert "did not answer GET /models" in caplog.text


def test_rollout_scope_separates_rollouts_and_survives_resume(make_pool):
    """k rollouts of one prompt; a resume that re-runs only the unfinished ones must not replay finished ones."""
    from openseeker.llm.cache import rollout_scope

    counter = iter(range(1000))
    with ScriptedChatServer(lambda req: Reply(content=f"sample {next(counter)}")) as srv:

        async def rollout(llm, rid):
            with rollout_scope(rid):
                return (await llm.chat(USER, temperature=0.8)).content

        async def batch(ids):
            async with make_pool(srv.base_url) as pool:
                llm = pool.role("teacher")
                return await asyncio.gather(*[rollout(llm, rid) for rid in ids])

        first = run(batch(["q#0", "q#1"]))  # q#2 and q#3 "crashed" before their calls
        resumed = run(batch(["q#2", "q#3"]))
        again = run(batch(["q#0", "q#1", "q#2", "q#3"]))  # everything cached now
    assert len(set(first + resumed)) == 4  # no rollout replayed another's sample
    assert again == first + resumed
    assert len(srv.requests) == 4


def _self_signed(tmp_path):
    """A certificate for 127.0.0.1 made with the cryptography package (skip if absent)."""
    import datetime

    crypto = pytest.importorskip("cryptography")
    del crypto
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def test_https_endpoint_verified_against_ssl_cert_file(make_pool, tmp_path, monkeypatch):
    import ssl

    cert_path, key_path = _self_signed(tmp_path)
    srv = ScriptedChatServer(default=Reply(content="over tls"))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_path, key_path)
    srv._httpd.socket = ctx.wrap_socket(srv._httpd.socket, server_side=True)
    url = srv.base_url.replace("http://", "https://")
    with srv:

        async def go():
            async with make_pool(url, max_retries=3) as pool:
                try:
                    return await pool.role("judge").chat(USER)
                finally:
                    stats.update(pool.stats()["judge"])

        stats: dict = {}
        with pytest.raises(LLMError, match="(?i)TLS error.*certificate"):  # unknown CA: refused, not ignored
            run(go())
        assert stats["retries"] == 0  # a certificate problem is not retried
        monkeypatch.setenv("SSL_CERT_FILE", str(cert_path))
        assert run(go()).content == "over tls"
