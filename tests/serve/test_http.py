"""The HTTP server: /search, /visit, /retrieve (Search-R1 shape), /health, token, body limit, concurrency."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from serve_helpers import call, running

from openseeker.cli.main import main
from openseeker.serve.http import create_app
from openseeker.testing.fake_search_apis import FakeSearchAPI, FakeSite, Route
from openseeker.testing.fake_web import FakeWeb, tiny_pages
from openseeker.web.live import LiveWeb


def search_r1_bm25_document(contents: str) -> dict:
    """How Search-R1's BM25 retrieval server builds a document from its indexed contents
    (search_r1/search/retrieval_server.py, BM25Retriever._search)."""
    return {
        "title": contents.split("\n")[0].strip('"'),
        "text": "\n".join(contents.split("\n")[1:]),
        "contents": contents,
    }


def passages2string(retrieval_result: list[dict]) -> str:
    """How Search-R1's generation loop renders one query's /retrieve result (search_r1/llm_agent/generation.py)."""
    out = ""
    for idx, doc_item in enumerate(retrieval_result):
        content = doc_item["document"]["contents"]
        title = content.split("\n")[0]
        text = "\n".join(content.split("\n")[1:])
        out += f"Doc {idx + 1}(Title: {title}) {text}\n"
    return out


@pytest.fixture
def web():
    return FakeWeb(tiny_pages())


def test_search_returns_tool_text_and_hits(web):
    r = call(create_app(web), "POST", "/search", json={"query": ["Paris", "Eiffel"], "top_k": 2})
    assert r.status_code == 200
    body = r.json()
    assert body["result"].startswith("A search for 'Paris' found")
    assert "\n---\nA search for 'Eiffel'" in body["result"]
    assert len(body["hits"]) == 2 and 0 < len(body["hits"][0]) <= 2
    assert set(body["hits"][0][0]) == {"url", "docid", "title", "snippet", "score", "date", "source"}
    assert body["hits"][0][0]["url"] in body["result"]


def test_retrieve_matches_search_r1_shape(web):
    app = create_app(web)
    req = {"queries": ["Eiffel Tower designer", "capital of France"], "topk": 3, "return_scores": True}
    r = call(app, "POST", "/retrieve", json=req)
    assert r.status_code == 200
    result = r.json()["result"]
    assert isinstance(result, list) and len(result) == 2
    for per_query in result:
        assert 1 <= len(per_query) <= 3
        for item in per_query:
            assert set(item) == {"document", "score"} and isinstance(item["score"], float)
            doc = item["document"]
            assert set(doc) == {"id", "title", "text", "contents"}
            title_line = doc["contents"].split("\n")[0]
            assert title_line.startswith('"') and title_line.endswith('"')
            # title and text are what Search-R1's BM25 server derives from the same contents
            assert {k: doc[k] for k in ("title", "text", "contents")} == search_r1_bm25_document(doc["contents"])
    expected = web.search_one("Eiffel Tower designer", 3)
    assert [i["document"]["id"] for i in result[0]] == [h.url for h in expected]
    rendered = passages2string(result[0])
    assert rendered.startswith(f'Doc 1(Title: "{expected[0].title}") {expected[0].snippet}')
    # without scores each inner item is the document itself; topk defaults to Search-R1's 3
    r = call(app, "POST", "/retrieve", json={"queries": ["Paris"]})
    docs = r.json()["result"][0]
    assert docs and set(docs[0]) == {"id", "title", "text", "contents"} and len(docs) <= 3


def test_visit_raw_and_with_extractor(web):
    url = tiny_pages()[0].url
    r = call(create_app(web), "POST", "/visit", json={"url": url, "goal": "what"})
    assert r.json()["result"].startswith(f"Page: [{tiny_pages()[0].title}]({url})")

    async def extractor(u, title, text, goal):
        return f"EXTRACTED {u} for {goal}"

    r = call(create_app(web, extractor=extractor), "POST", "/visit", json={"url": [url, "https://nope/"], "goal": "g"})
    first, second = r.json()["result"].split("\n=======\n")
    assert first == f"EXTRACTED {url} for g" and second.startswith("[visit] https://nope/ was not found")


def test_bearer_token(web):
    app = create_app(web, token="s3cret")
    assert call(app, "POST", "/search", json={"query": "Paris"}).status_code == 401
    bad = call(app, "POST", "/search", json={"query": "Paris"}, headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.headers["www-authenticate"] == "Bearer"
    ok = call(app, "POST", "/retrieve", json={"queries": ["Paris"]}, headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200
    assert call(app, "GET", "/health").json()["status"] == "ok"  # health stays open


def test_request_size_limit(web):
    app = create_app(web, max_body_bytes=1000)
    r = call(app, "POST", "/search", json={"query": ["x" * 2000]})
    assert r.status_code == 413 and "too large" in r.json()["detail"]

    async def chunks():  # no Content-Length: the limit is enforced while streaming
        for _ in range(5):
            yield b" " * 400

    r = call(app, "POST", "/search", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_bad_requests(web):
    app = create_app(web)
    assert call(app, "POST", "/search", json={"query": []}).status_code == 400
    assert call(app, "POST", "/search", json={"query": ["q"] * 17}).status_code == 400
    assert call(app, "POST", "/search", json={"queries": ["q"]}).status_code == 422
    assert call(app, "POST", "/search", json={"query": "q", "top_k": 0}).status_code == 422
    assert call(app, "POST", "/visit", json={"url": ["u"] * 9}).status_code == 400
    assert call(app, "POST", "/visit", json={"url": [" "]}).status_code == 400
    assert call(app, "POST", "/retrieve", json={"queries": []}).json() == {"result": []}
    assert call(app, "POST", "/search", content=b"{nope").status_code == 400
    # `curl -d` sends a form content type: the JSON body is read anyway
    r = call(
        app,
        "POST",
        "/search",
        content=b'{"query": ["Paris"]}',
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200 and "Paris" in r.json()["result"]


def test_live_web_behind_the_server(monkeypatch):
    with (
        FakeSearchAPI("searxng") as api,
        FakeSite(
            {"/a": Route("<html><title>A</title><body><p>" + "Alpha text. " * 30 + "</p></body></html>")}
        ) as site,
    ):
        live = LiveWeb.from_config(
            {
                "backend": "searxng",
                "searxng": {"base_url": api.base_url},
                "cache": {"path": None},
                "ssrf": {"allow": ["127.0.0.1"]},
            }
        )
        app = create_app(live)
        r = call(app, "POST", "/retrieve", json={"queries": ["Paris"], "topk": 2, "return_scores": True})
        v = call(app, "POST", "/visit", json={"url": [site.url("/a"), "http://169.254.169.254/"], "goal": "g"})
        health = call(app, "GET", "/health").json()
        live.close()
    assert r.json()["result"][0][0]["document"]["id"] == "https://en.wikipedia.org/wiki/Paris"
    page, blocked = v.json()["result"].split("\n=======\n")
    assert "Alpha text." in page and "cloud metadata address" in blocked
    assert health["web"] == "live" and health["stats"]["searxng"]["calls"] == 1
    assert health["stats"]["fetch"]["blocked"] == 1


def test_real_server_is_concurrent():
    """20 requests in flight at once reach the web together (a serial server would hand it one at a time)."""

    class Gauge(FakeWeb):
        in_flight = peak = 0

        async def search(self, queries, top_k=10):
            Gauge.in_flight += 1
            Gauge.peak = max(Gauge.peak, Gauge.in_flight)
            try:
                for _ in range(200):  # wait (bounded) until several requests overlap
                    if Gauge.peak >= 8:
                        break
                    await asyncio.sleep(0.01)
                return await super().search(queries, top_k)
            finally:
                Gauge.in_flight -= 1

    async def burst(port):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            return await asyncio.gather(*(client.post("/search", json={"query": [f"Paris {i}"]}) for i in range(20)))

    with running(create_app(Gauge(tiny_pages()))) as port:
        responses = asyncio.run(burst(port))
    assert all(r.status_code == 200 for r in responses)
    assert Gauge.peak >= 8


def test_cli_errors_are_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("OPENSEEKER_LIVE_CONFIG", raising=False)
    assert main(["serve", "--web", "live"]) == 2
    assert "--web live needs a live-web config" in capsys.readouterr().err
    assert main(["serve", "--web", str(tmp_path / "missing")]) == 2
    cfg = tmp_path / "live.yaml"
    cfg.write_text(json.dumps({"backend": "serper"}))
    assert main(["mcp", "--web", "live", "--web-config", str(cfg)]) == 2
    assert "SERPER_API_KEY" in capsys.readouterr().err
    assert main(["mcp", "--web", "live", "--transport", "websocket"]) == 2
    assert "--transport must be one of" in capsys.readouterr().err
    assert main(["mcp", "--web", str(tmp_path / "missing"), "--tools", "nope"]) == 2
    assert "--tools must be one of" in capsys.readouterr().err


def test_extract_visit_through_an_llm_endpoint():
    """`serve --extract`: /visit goes through the extractor role of an OpenAI-compatible endpoint."""
    from openseeker.llm.config import resolve_llm_config
    from openseeker.serve.cli import PoolExtractor
    from openseeker.testing.chat_server import Reply, ScriptedChatServer

    answer = json.dumps({"rational": "r", "evidence": "completed in 1889", "summary": "Built 1887-1889."})
    with ScriptedChatServer(default=Reply(content=answer)) as srv:
        extractor = PoolExtractor(resolve_llm_config(base_url=srv.base_url, model="scripted-model"))
        web = FakeWeb(tiny_pages())
        url = tiny_pages()[1].url

        async def go():
            app = create_app(web, extractor=extractor)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
                r = await c.post("/visit", json={"url": url, "goal": "when was it built"})
            await extractor.aclose()
            return r

        r = asyncio.run(go())
    text = r.json()["result"]
    assert text.startswith(f"The useful information in {url} for user goal when was it built as follows:")
    assert "completed in 1889" in text and "Built 1887-1889." in text
    assert "Eiffel" in json.dumps(srv.requests[-1]["messages"])


def test_cli_serve_with_two_workers(tmp_path):
    """`openseeker serve --workers 2` (uvicorn worker processes built from the same flags) answers requests."""
    import socket
    import subprocess
    import sys

    with FakeSearchAPI("searxng") as api:
        cfg = tmp_path / "live.yaml"
        cfg.write_text(
            json.dumps({"backend": "searxng", "searxng": {"base_url": api.base_url}, "cache": {"path": None}})
        )
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "openseeker.cli.main",
                "-q",
                "serve",
                "--web",
                "live",
                "--web-config",
                str(cfg),
                "--port",
                str(port),
                "--workers",
                "2",
                "--token",
                "tk",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline, health = time.time() + 60, None
            while time.time() < deadline and health is None:
                try:
                    health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).json()
                except httpx.HTTPError:
                    time.sleep(0.2)
            headers = {"Authorization": "Bearer tk"}
            answers = [
                httpx.post(
                    f"http://127.0.0.1:{port}/retrieve", json={"queries": ["Paris"]}, headers=headers, timeout=30
                )
                for _ in range(4)
            ]
            unauthorized = httpx.post(f"http://127.0.0.1:{port}/search", json={"query": "Paris"}, timeout=30)
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    assert health is not None and health["web"] == "live"
    assert all(r.status_code == 200 and r.json()["result"][0][0]["id"].endswith("/wiki/Paris") for r in answers)
    assert unauthorized.status_code == 401
