"""Retrieval chosen per request at every door of the server: ``/search``'s optional ``retrieval`` field (4xx for
an unknown value or a web that cannot rank that way), ``RemoteWeb`` forwarding it, the MCP ``search`` tool's
optional ``retrieval`` parameter, and ``serve --retrieval`` as the web's default. The web is embedded with the
packaged MiniLM (offline)."""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("faiss")
pytest.importorskip("mcp")

from mcp import Client
from serve_helpers import call, running

from openseeker.errors import UserError
from openseeker.serve.cli import build_app_from_spec
from openseeker.serve.http import create_app
from openseeker.serve.mcp_server import build_mcp_server
from openseeker.testing.dense_web import build_dense_web
from openseeker.testing.fake_web import FakeWeb, tiny_pages
from openseeker.web.local import LocalWeb
from openseeker.web.remote import RemoteWeb

QUERY = "tallest peak on the planet or a piano"  # BM25: Piano only; dense: Mount Everest first


@pytest.fixture(scope="module")
def webs(tmp_path_factory):
    return (
        build_dense_web(tmp_path_factory.mktemp("serve-dense")),
        build_dense_web(tmp_path_factory.mktemp("serve-bm25"), embed=False),
    )


def expected(web_dir, retrieval, k=3):
    with LocalWeb.open(web_dir) as web:
        return [h.title for h in web.search_sync([QUERY], k, retrieval=retrieval)[0]]


def test_search_request_chooses_the_retrieval(webs):
    dense_dir, bm25_dir = webs
    with LocalWeb.open(dense_dir) as web:
        app = create_app(web)
        titles = {}
        for mode in ("bm25", "dense", "hybrid", None):
            body = {"query": QUERY, "top_k": 3, **({"retrieval": mode} if mode else {})}
            r = call(app, "POST", "/search", json=body)
            assert r.status_code == 200, r.text
            titles[mode] = [h["title"] for h in r.json()["hits"][0]]
        bad = call(app, "POST", "/search", json={"query": QUERY, "retrieval": "semantic"})
    assert titles["hybrid"] == expected(dense_dir, "hybrid") and {"Piano", "Mount Everest"} <= set(titles["hybrid"])
    assert titles["dense"][0] == "Mount Everest" and titles[None] == titles["bm25"] == ["Piano"]
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["retrieval"]
    with LocalWeb.open(bm25_dir) as web:
        r = call(create_app(web), "POST", "/search", json={"query": QUERY, "retrieval": "hybrid"})
    assert r.status_code == 400 and "openseeker web embed" in r.json()["detail"]
    r = call(create_app(FakeWeb(tiny_pages())), "POST", "/search", json={"query": "x", "retrieval": "dense"})
    assert r.status_code == 400 and "ranks with its own search engine" in r.json()["detail"]


def test_remote_web_forwards_the_retrieval(webs):
    dense_dir, bm25_dir = webs

    async def go(url):
        web = RemoteWeb(url)
        try:
            await web.ensure_retrieval("hybrid")
            return [h.title for h in (await web.search([QUERY], 3, retrieval="hybrid"))[0]]
        finally:
            await web.aclose()

    async def refused(url):
        web = RemoteWeb(url)
        try:
            await web.ensure_retrieval("dense")
        finally:
            await web.aclose()

    with LocalWeb.open(dense_dir) as web, running(create_app(web)) as port:
        assert asyncio.run(go(f"http://127.0.0.1:{port}")) == expected(dense_dir, "hybrid")
    with LocalWeb.open(bm25_dir) as web, running(create_app(web)) as port:
        with pytest.raises(UserError, match="openseeker web embed"):
            asyncio.run(refused(f"http://127.0.0.1:{port}"))


def test_mcp_search_tool_takes_a_retrieval(webs):
    dense_dir, bm25_dir = webs

    async def go(server, args):
        async with Client(server) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            schema = getattr(tools["search"], "input_schema", None) or tools["search"].inputSchema
            result = await client.call_tool("search", args)
            error = getattr(result, "is_error", getattr(result, "isError", False))
            return schema, "".join(getattr(c, "text", "") for c in result.content), bool(error)

    with LocalWeb.open(dense_dir) as web:
        schema, text, err = asyncio.run(
            go(build_mcp_server(web), {"query": [QUERY], "top_k": 3, "retrieval": "hybrid"})
        )
    prop = schema["properties"]["retrieval"]
    assert "hybrid" in str(prop) and "web embed" in prop["description"] and "retrieval" not in schema["required"]
    assert not err and "[Mount Everest](" in text and "[Piano](" in text
    with LocalWeb.open(bm25_dir) as web:
        _s, text, err = asyncio.run(go(build_mcp_server(web), {"query": [QUERY], "retrieval": "dense"}))
    assert err and "openseeker web embed" in text


def test_serve_retrieval_flag_sets_the_default(webs):
    dense_dir, bm25_dir = webs
    app = build_app_from_spec({"web": str(dense_dir), "retrieval": "dense"})
    try:
        r = call(app, "POST", "/search", json={"query": QUERY, "top_k": 3})
        assert [h["title"] for h in r.json()["hits"][0]] == expected(dense_dir, "dense")
    finally:
        app.fastapi.state.openseeker["close"]()
    with pytest.raises(UserError, match="openseeker web embed"):
        build_app_from_spec({"web": str(bm25_dir), "retrieval": "hybrid"})
