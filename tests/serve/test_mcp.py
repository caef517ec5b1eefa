"""The MCP server with the official MCP client: in-memory, stdio, streamable HTTP and SSE (with and without a
bearer token, at the URLs verl's and BrowseComp-Plus's clients use); tool errors are ``isError: true``."""

from __future__ import annotations

import asyncio
import os
import sys

import httpx
import pytest

mcp = pytest.importorskip("mcp")

from mcp import Client
from mcp.client.stdio import StdioServerParameters
from serve_helpers import running

from openseeker.errors import ToolError
from openseeker.records import Page
from openseeker.serve.mcp_server import build_mcp_server, mcp_asgi_app
from openseeker.testing.fake_search_apis import FakeSearchAPI, FakeSite, Route
from openseeker.testing.fake_web import FakeWeb, tiny_pages
from openseeker.web.tools import SearchTool, VisitTool


def text_of(result) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


def is_error(result) -> bool:
    return bool(getattr(result, "is_error", getattr(result, "isError", False)))


def input_schema(tool) -> dict:
    return getattr(tool, "input_schema", None) or tool.inputSchema


async def exercise(client) -> tuple[list[str], str, str]:
    tools = await client.list_tools()
    names = sorted(t.name for t in tools.tools)
    found = await client.call_tool("search", {"query": ["Eiffel Tower"]})
    url = tiny_pages()[1].url
    page = await client.call_tool("visit", {"url": [url], "goal": "who designed it"})
    assert not is_error(found) and not is_error(page)
    return names, text_of(found), text_of(page)


def in_memory(server, fn):
    async def go():
        async with Client(server) as client:
            return await fn(client)

    return asyncio.run(go())


def test_in_memory_client_lists_and_calls_both_tools():
    async def fn(client):
        names, found, page = await exercise(client)
        schema = {t.name: input_schema(t) for t in (await client.list_tools()).tools}
        return names, found, page, schema

    names, found, page, schema = in_memory(build_mcp_server(FakeWeb(tiny_pages())), fn)
    assert names == ["search", "visit"]
    assert found.startswith("A search for 'Eiffel Tower' found")
    assert "(https://en.wikipedia.org/wiki/Eiffel_Tower)" in found
    assert page.startswith("Page: [Eiffel Tower](https://en.wikipedia.org/wiki/Eiffel_Tower)")
    assert schema["visit"]["required"] == ["url", "goal"] and schema["search"]["required"] == ["query"]


def test_tool_parameters_carry_the_agents_descriptions():
    async def fn(client):
        return {t.name: input_schema(t)["properties"] for t in (await client.list_tools()).tools}

    props = in_memory(build_mcp_server(FakeWeb(tiny_pages())), fn)
    agent = {SearchTool.name: SearchTool.schema, VisitTool.name: VisitTool.schema}
    for tool, params in props.items():
        for name, prop in agent[tool]["function"]["parameters"]["properties"].items():
            assert params[name]["description"].startswith(prop["description"])
    assert props["search"]["top_k"]["minimum"] == 1 and props["search"]["top_k"]["maximum"] == 50
    assert props["search"]["top_k"]["description"]


class Broken(FakeWeb):
    async def search(self, queries, top_k=10):
        raise ToolError("serper rejected the API key (HTTP 401)")


@pytest.mark.parametrize(
    "tool,args,message",
    [
        ("search", {"query": ["q"] * 17}, "17 queries given; at most 16"),
        ("search", {"query": "x" * 513}, "query 0 is 513 characters; at most 512"),
        ("search", {"query": "Paris", "top_k": 0}, "top_k"),
        ("search", {"query": "Paris", "top_k": 51}, "top_k"),
        ("search", {"query": "Paris", "top_k": 10**6}, "top_k"),
        ("search", {"query": []}, "empty query"),
        ("search", {"query": "caf\ud800"}, "surrogate"),
        ("visit", {"url": ["https://x/"] * 9, "goal": "g"}, "9 urls given; at most 8"),
        ("visit", {"url": "https://x/\udc00", "goal": "g"}, "surrogate"),
        ("visit", {"url": []}, "goal"),  # a missing required argument
    ],
)
def test_tool_errors_are_is_error(tool, args, message):
    result = in_memory(build_mcp_server(FakeWeb(tiny_pages())), lambda c: c.call_tool(tool, args))
    assert is_error(result) and message in text_of(result)


def test_null_top_k_is_the_servers_default():
    """MCP clients send ``null`` for an optional argument they leave unset (docs/serve.md: null = the default)."""
    towers = [Page(url=f"https://t.org/{i}", title=f"Tower {i}", text=f"tower number {i}") for i in range(12)]

    async def fn(client):
        return [await client.call_tool("search", {"query": "tower", **extra}) for extra in ({"top_k": None}, {})]

    null, missing = in_memory(build_mcp_server(FakeWeb(towers), top_k=3), fn)
    assert not is_error(null), text_of(null)
    assert text_of(null) == text_of(missing) and text_of(null).count("https://t.org/") == 3


def test_a_failing_backend_is_a_tool_error_with_its_kind():
    result = in_memory(build_mcp_server(Broken([])), lambda c: c.call_tool("search", {"query": "Paris"}))
    assert is_error(result)
    assert "search backend failed (unexpected)" in text_of(result) and "HTTP 401" in text_of(result)


def test_stdio_server_over_the_live_web(tmp_path):
    """`openseeker mcp --web live` as a subprocess, its live backend and pages served by fakes in this process."""
    article = (
        "<html><head><title>Tower</title></head><body><p>" + "The tower is 330 metres tall. " * 20 + "</p></body>"
    )
    with FakeSearchAPI("searxng") as api, FakeSite({"/tower": Route(article)}) as site:
        cfg = tmp_path / "live.yaml"
        cfg.write_text(
            f"backend: searxng\nsearxng: {{base_url: '{api.base_url}'}}\ncache: {{path: null}}\n"
            "ssrf: {allow: ['127.0.0.1']}\n"
        )
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "openseeker.cli.main", "-q", "mcp", "--web", "live", "--web-config", str(cfg)],
            env=dict(os.environ),
        )  # the SDK passes only a few variables by default

        async def go():
            async with Client(params, read_timeout_seconds=60) as client:
                names = sorted(t.name for t in (await client.list_tools()).tools)
                found = text_of(await client.call_tool("search", {"query": ["Paris capital"]}))
                page = text_of(await client.call_tool("visit", {"url": site.url("/tower"), "goal": "height"}))
                blocked = text_of(await client.call_tool("visit", {"url": "http://10.0.0.1/", "goal": "x"}))
                too_many = await client.call_tool("search", {"query": ["q"] * 17})
                return names, found, page, blocked, too_many

        names, found, page, blocked, too_many = asyncio.run(asyncio.wait_for(go(), 90))
    assert names == ["search", "visit"]
    assert "1. [Paris - Wikipedia](https://en.wikipedia.org/wiki/Paris)" in found
    assert page.startswith(f"Page: [Tower]({site.url('/tower')})") and "330 metres" in page
    assert "private-network address" in blocked
    assert is_error(too_many)
    assert api.requests and api.requests[0]["params"]["q"] == "Paris capital"


# --------------------------------------------------------------------------- HTTP transports


def sse_transport(url: str, token: str | None):
    """How verl's MCP client connects when a server has an ``auth_token`` (fastmcp ``SSETransport(url,
    headers={"Authorization": "Bearer ..."})``) and how BrowseComp-Plus's clients connect (SSE at their --mcp-url)."""
    from mcp.client.sse import sse_client

    return sse_client(url, headers={"Authorization": f"Bearer {token}"} if token else None, timeout=30)


def streamable_transport(url: str, token: str | None):
    from mcp.client.streamable_http import streamable_http_client

    try:
        from mcp.shared._httpx_utils import create_mcp_http_client
    except ImportError:  # pragma: no cover - older SDK layout
        return streamable_http_client(url)
    client = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"} if token else None)
    return streamable_http_client(url, http_client=client)


@pytest.mark.parametrize("token", [None, "s3cret"])
def test_streamable_http_and_sse_with_and_without_token(token):
    app = mcp_asgi_app(build_mcp_server(FakeWeb(tiny_pages())), token=token)
    with running(app) as port:
        base = f"http://127.0.0.1:{port}"

        async def session(transport):
            async with Client(transport, read_timeout_seconds=30) as client:
                names, found, page = await exercise(client)
                bad = await client.call_tool("search", {"query": "Paris", "top_k": 0})
                return names, found, page, is_error(bad)

        async def go():
            out = {}
            for label, transport in (
                ("streamable /mcp", streamable_transport(f"{base}/mcp", token)),
                ("sse /sse", sse_transport(f"{base}/sse", token)),
                ("sse /mcp", sse_transport(f"{base}/mcp", token)),
                # fastmcp 2.x (verl, BrowseComp-Plus) asks for the SSE url with a "/"
                ("sse /sse/", sse_transport(f"{base}/sse/", token)),
                ("sse /mcp/", sse_transport(f"{base}/mcp/", token)),
            ):
                out[label] = await asyncio.wait_for(session(transport), 60)
            async with httpx.AsyncClient(base_url=base) as c:
                out["no token"] = (
                    await c.post(
                        "/mcp",
                        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                        headers={"Accept": "application/json, text/event-stream"},
                    )
                ).status_code
                out["sse no token"] = (
                    (await c.get("/sse", headers={"Authorization": "Bearer wrong"})).status_code if token else None
                )
            return out

        out = asyncio.run(go())
    for label in ("streamable /mcp", "sse /sse", "sse /mcp", "sse /sse/", "sse /mcp/"):
        names, found, page, bad_is_error = out[label]
        assert names == ["search", "visit"], label
        assert "Eiffel Tower" in found and page.startswith("Page: [Eiffel Tower]"), label
        assert bad_is_error, label
    if token:
        assert out["no token"] == 401 and out["sse no token"] == 401
    else:
        assert out["no token"] != 401


def _mcp_error_message(exc: BaseException) -> str:
    """The message of the ``MCPError`` the SDK client raised (anyio nests it in task-group exception groups)."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    assert type(exc).__name__ in ("MCPError", "McpError"), repr(exc)
    return str(exc)


@pytest.mark.parametrize("mounted", ["mcp", "serve --mcp"])
@pytest.mark.parametrize("token", [None, "wrong"])
def test_streamable_client_is_told_the_token_is_missing_or_wrong(tmp_path, mounted, token):
    """The SDK's streamable-HTTP client (which openai-agents and fastmcp use) shows the JSON-RPC error of a non-2xx
    JSON body, and only "Server returned an error response" for any other body: the 401 must be JSON-RPC."""
    if mounted == "mcp":
        app, config = mcp_asgi_app(build_mcp_server(FakeWeb(tiny_pages())), token="s3cret"), {}
    else:
        from serve_helpers import small_web

        from openseeker.serve.cli import build_app_from_spec

        app, config = (
            build_app_from_spec({"web": str(small_web(tmp_path)), "token": "s3cret", "mcp": "openseeker"}),
            {"lifespan": "on"},
        )
    with running(app, **config) as port:

        async def go():
            async with Client(streamable_transport(f"http://127.0.0.1:{port}/mcp", token), read_timeout_seconds=30):
                pass

        with pytest.raises(BaseException) as caught:
            asyncio.run(asyncio.wait_for(go(), 60))
        search = httpx.post(f"http://127.0.0.1:{port}/search", json={"query": "x"}) if mounted != "mcp" else None
    assert "missing or wrong bearer token" in _mcp_error_message(caught.value)
    if search is not None:  # the HTTP routes keep their {"detail": ...} body
        assert search.status_code == 401 and search.json() == {"detail": "missing or wrong bearer token"}


@pytest.mark.parametrize("tools", ["openseeker", "browsecomp-plus"])
def test_serve_with_mcp_on_the_same_port(tmp_path, tools):
    """`openseeker serve --mcp TOOLS --token T`: /retrieve and MCP (SSE and streamable HTTP at /mcp) on one port,
    one web, one token; /health stays open."""
    from serve_helpers import small_web

    from openseeker.serve.cli import build_app_from_spec

    app = build_app_from_spec({"web": str(small_web(tmp_path)), "token": "tk", "mcp": tools})
    auth = {"Authorization": "Bearer tk"}
    with running(app, lifespan="on") as port:
        base = f"http://127.0.0.1:{port}"

        async def go():
            names = []
            for transport in (sse_transport(f"{base}/mcp", "tk"), streamable_transport(f"{base}/mcp", "tk")):
                async with Client(transport, read_timeout_seconds=30) as client:
                    names.append(sorted(t.name for t in (await client.list_tools()).tools))
                    found = await client.call_tool("search", {"query": "lattice tower"})
                    assert not is_error(found) and "Tower" in text_of(found)
            async with httpx.AsyncClient(base_url=base, timeout=30) as c:
                retrieve = await c.post("/retrieve", json={"queries": ["lattice tower"]}, headers=auth)
                health = await c.get("/health")
                unauthorized = await c.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
            return names, retrieve, health, unauthorized

        names, retrieve, health, unauthorized = asyncio.run(asyncio.wait_for(go(), 90))
    expected = ["search", "visit"] if tools == "openseeker" else ["get_document", "search"]
    assert names == [expected, expected]
    assert retrieve.status_code == 200 and retrieve.json()["result"][0][0]["title"].startswith("Tower")
    assert health.status_code == 200 and unauthorized.status_code == 401


def test_serve_mcp_flag_errors(tmp_path, capsys):
    from openseeker.cli.main import main

    assert main(["serve", "--web", str(tmp_path / "missing"), "--mcp", "nope"]) == 2
    assert "--mcp must be one of" in capsys.readouterr().err
    assert main(["serve", "--web", str(tmp_path / "missing"), "--mcp", "openseeker", "--workers", "2"]) == 2
    assert "--mcp needs --workers 1" in capsys.readouterr().err
