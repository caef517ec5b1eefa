"""Live search backends against fake APIs on 127.0.0.1 (documented response shapes and error shapes)."""

from __future__ import annotations

import asyncio

import pytest

from openseeker.errors import ToolError, UserError
from openseeker.testing.fake_search_apis import FakeSearchAPI, Fault
from openseeker.web.live import LiveWeb
from openseeker.web.live.search_backends import DdgsBackend, has_cjk
from openseeker.web.tools import SearchTool

KEYED = {"serper": "SERPER_API_KEY", "tavily": "TAVILY_API_KEY"}


def make_web(api: FakeSearchAPI, monkeypatch, **extra) -> LiveWeb:
    kind = api.kind
    if kind in KEYED:
        monkeypatch.setenv(KEYED[kind], "test-key")
    cfg = {
        "backend": kind,
        kind: {"base_url": api.base_url, "backoff_s": 0.01, "rate_per_s": 0, **extra},
        "cache": {"path": None},
    }
    return LiveWeb.from_config(cfg)


@pytest.mark.parametrize("kind", ["serper", "tavily", "searxng"])
def test_backend_maps_documented_shape_to_hits(kind, monkeypatch):
    with FakeSearchAPI(kind) as api:
        web = make_web(api, monkeypatch)
        (hits, none) = asyncio.run(web.search(["Paris capital", "zzzqqq"], top_k=2))
        web.close()
    assert [h.url for h in hits] == ["https://en.wikipedia.org/wiki/Paris", "https://en.wikipedia.org/wiki/France"]
    assert hits[0].title == "Paris - Wikipedia"
    assert hits[0].snippet == "Paris is the capital and largest city of France."
    assert hits[0].date == "Mar 3, 2024"
    assert none == []
    # the two queries run concurrently: pick the request of the first one, whatever arrived first
    req = next(r for r in api.requests if "Paris capital" in str(r.get("json") or r.get("params")))
    if kind == "serper":
        assert req["method"] == "POST" and req["headers"]["x-api-key"] == "test-key"
        assert req["json"]["q"] == "Paris capital" and req["json"]["gl"] == "us" and req["json"]["hl"] == "en"
    elif kind == "tavily":
        assert req["headers"]["authorization"] == "Bearer test-key" and req["json"]["query"] == "Paris capital"
    else:
        assert req["method"] == "GET" and req["params"]["format"] == "json" and req["params"]["q"] == "Paris capital"


def test_search_tool_text_over_live_backend(monkeypatch):
    with FakeSearchAPI("serper") as api:
        web = make_web(api, monkeypatch)
        text = asyncio.run(SearchTool(web).execute({"query": ["Eiffel tower"]}))
        web.close()
    assert text.startswith("A search for 'Eiffel tower' found 1 results:")
    assert "1. [Eiffel Tower](https://www.toureiffel.paris/en)\nDate published: 2023-05-01" in text


def test_cjk_query_uses_chinese_locale(monkeypatch):
    assert has_cjk("北京 首都") and not has_cjk("Beijing capital")
    with FakeSearchAPI("serper") as serper, FakeSearchAPI("searxng") as searx:
        for api in (serper, searx):
            web = make_web(api, monkeypatch)
            hits = asyncio.run(web.search(["北京"]))[0]
            web.close()
            assert hits and hits[0].url == "https://zh.wikipedia.org/wiki/北京"
    assert serper.requests[0]["json"]["gl"] == "cn" and serper.requests[0]["json"]["hl"] == "zh-cn"
    assert searx.requests[0]["params"]["language"] == "zh-CN"


@pytest.mark.parametrize("kind", ["serper", "tavily"])
def test_wrong_key_is_401_not_retried(kind, monkeypatch):
    with FakeSearchAPI(kind, key="the-real-key") as api:
        web = make_web(api, monkeypatch)
        with pytest.raises(ToolError, match=r"rejected the API key \(HTTP 401"):
            asyncio.run(web.search(["Paris"]))
        stats = web.stats()[kind]
        web.close()
    assert len(api.requests) == 1 and stats["errors"] == 1 and stats["retries"] == 0


@pytest.mark.parametrize("kind", ["serper", "tavily", "searxng"])
def test_429_and_500_are_retried_then_succeed(kind, monkeypatch):
    with FakeSearchAPI(kind, faults=[Fault(429, headers={"Retry-After": "0"}), Fault(500)]) as api:
        web = make_web(api, monkeypatch)
        hits = asyncio.run(web.search(["Paris"]))[0]
        stats = web.stats()[kind]
        web.close()
    assert hits[0].url == "https://en.wikipedia.org/wiki/Paris"
    assert len(api.requests) == 3 and stats["retries"] == 2 and stats["calls"] == 3 and stats["errors"] == 0


def test_persistent_500_gives_up_with_clear_error(monkeypatch):
    with FakeSearchAPI("serper", faults=[Fault(500)] * 5) as api:
        web = make_web(api, monkeypatch, max_retries=2)
        with pytest.raises(ToolError, match=r"serper server error \(HTTP 500.*gave up after 3 attempts"):
            asyncio.run(web.search(["Paris"]))
        text = asyncio.run(SearchTool(web).execute({"query": ["Paris"]}))
        web.close()
    assert len(api.requests) == 6  # 3 attempts, then the tool call: 2 remaining faults + 1 success
    assert text.startswith("A search for 'Paris'")


@pytest.mark.parametrize("kind", ["serper", "tavily", "searxng"])
def test_malformed_json_is_a_clear_error(kind, monkeypatch):
    with FakeSearchAPI(kind, faults=[Fault(200, body="{not json")]) as api:
        web = make_web(api, monkeypatch)
        with pytest.raises(ToolError, match="malformed JSON"):
            asyncio.run(web.search(["Paris"]))
        out = asyncio.run(SearchTool(web).execute({"query": ["Paris"]}))  # next call: the fault is consumed
        web.close()
    assert "Paris - Wikipedia" in out


def test_missing_key_fails_at_startup_not_mid_run(monkeypatch):
    with pytest.raises(UserError, match="SERPER_API_KEY"):
        LiveWeb.from_config({"backend": "serper"})
    monkeypatch.setenv("MY_TAVILY", "k")
    web = LiveWeb.from_config({"backend": "tavily", "tavily": {"api_key_env": "MY_TAVILY"}, "cache": {"path": None}})
    assert web.backend.api_key == "k"
    with pytest.raises(UserError, match="base_url"):
        LiveWeb.from_config({"backend": "searxng"})


def test_config_sources(tmp_path, monkeypatch):
    with pytest.raises(UserError, match="OPENSEEKER_LIVE_CONFIG"):
        LiveWeb.from_config(None)
    main_yaml = tmp_path / "openseeker.yaml"
    main_yaml.write_text("roles: {teacher: {model: x}}\nlive:\n  backend: ddgs\n  cache: {path: null}\n")
    assert LiveWeb.from_config(main_yaml).config.backend == "ddgs"
    monkeypatch.setenv("OPENSEEKER_LIVE_CONFIG", str(main_yaml))
    assert LiveWeb.from_config(None).config.backend == "ddgs"
    bad = tmp_path / "bad.yaml"
    bad.write_text("backend: ddgs\nfetch: {max_byte: 3}\n")
    with pytest.raises(UserError, match=r"fetch.max_byte: Extra inputs"):
        LiveWeb.from_config(bad)
    with pytest.raises(UserError, match="Did you mean 'tavily'"):
        LiveWeb.from_config({"backend": "tavilly"})


def test_cache_hits_persist_and_errors_are_not_cached(tmp_path, monkeypatch):
    db = tmp_path / "live.sqlite"
    with FakeSearchAPI("searxng", faults=[Fault(400)]) as api:
        cfg = {
            "backend": "searxng",
            "searxng": {"base_url": api.base_url, "rate_per_s": 0},
            "cache": {"path": str(db)},
        }
        web = LiveWeb.from_config(cfg)
        with pytest.raises(ToolError, match="HTTP 400"):
            asyncio.run(web.search(["Paris"]))
        first = asyncio.run(web.search(["Paris", "  PARIS "]))  # concurrent: both miss, same entry
        web.close()
        web2 = LiveWeb.from_config(cfg)  # a new process-like instance reuses the file
        again = asyncio.run(web2.search(["paris"], top_k=1))
        stats = web2.stats()["searxng"]
        web2.close()
    assert first[0] == first[1]
    assert again[0][0].url == first[0][0].url and len(again[0]) == 1
    assert stats["hits"] == 1 and stats["calls"] == 0
    assert len(api.requests) <= 3  # the 400, then at most one call per distinct in-flight query


def test_cost_accounting(monkeypatch):
    with FakeSearchAPI("serper") as api:
        web = make_web(api, monkeypatch, cost_per_1k=2.0)
        asyncio.run(web.search(["Paris", "France", "Paris"]))
        stats = web.stats()["serper"]
        web.close()
    # "Paris" twice in one call: both miss (concurrent), so 3 billed calls; a later repeat would be a hit
    assert stats["billed"] == stats["calls"] == len(api.requests)
    assert stats["cost_usd"] == pytest.approx(stats["billed"] * 2.0 / 1000)


class _FakeDDGS:
    calls: list = []

    def __init__(self, timeout=5, **_):
        pass

    def text(self, query, **kwargs):
        _FakeDDGS.calls.append((query, kwargs))
        if query == "nothing":
            from ddgs.exceptions import DDGSException

            raise DDGSException("No results found.")
        return [
            {"title": "Paris", "href": "https://en.wikipedia.org/wiki/Paris", "body": "Capital of France."},
            {"title": "Dup", "href": "https://en.wikipedia.org/wiki/Paris", "body": "duplicate url"},
        ]


def test_ddgs_backend_maps_results(monkeypatch):
    # ddgs talks to the engines itself (no base URL to point at 127.0.0.1), so its client is replaced in-process.
    monkeypatch.setattr(DdgsBackend, "ddgs_factory", _FakeDDGS)
    web = LiveWeb.from_config({"backend": "ddgs", "ddgs": {"rate_per_s": 0}, "cache": {"path": None}})
    hits, empty = asyncio.run(web.search(["巴黎", "nothing"], top_k=5))
    web.close()
    assert [(h.title, h.url, h.snippet) for h in hits] == [
        ("Paris", "https://en.wikipedia.org/wiki/Paris", "Capital of France.")
    ]
    assert empty == []
    assert _FakeDDGS.calls[0][1]["region"] == "cn-zh" and _FakeDDGS.calls[0][1]["max_results"] == 5
