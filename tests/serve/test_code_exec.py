"""``code_exec`` behind a server: off unless enabled, refused without a token, one sandbox per client session;
the text a client reads is the agent's own observation."""

from __future__ import annotations

import asyncio

import pytest
from serve_helpers import call

from openseeker.agent.toolset import code_exec_tool
from openseeker.cli.main import main
from openseeker.errors import UserError
from openseeker.sandbox.bwrap import BwrapBackend
from openseeker.sandbox.sessions import SandboxSessions
from openseeker.sandbox.settings import SandboxSettings
from openseeker.sandbox.tool import parse_shell_results
from openseeker.serve.http import create_app
from openseeker.testing.fake_web import FakeWeb, tiny_pages


@pytest.fixture
def sessions():
    try:
        BwrapBackend(SandboxSettings(backend="bwrap")).check()
    except UserError as exc:
        pytest.skip(f"bwrap cannot run here: {exc}")
    s = SandboxSessions(code_exec_tool('{"backend": "bwrap"}'))
    yield s
    asyncio.run(s.close())


def stdout(response) -> str:
    assert response.status_code == 200, response.text
    return parse_shell_results(response.json()["result"])[1]


def test_http_code_exec_needs_a_token_and_keeps_sessions_apart(sessions):
    web = FakeWeb(tiny_pages())
    with pytest.raises(UserError, match="only behind a bearer token"):
        create_app(web, code_exec=sessions)
    assert call(create_app(web), "POST", "/code_exec", json={"cmd": "id"}).status_code == 404  # off by default
    app = create_app(web, token="s3cret", code_exec=sessions)
    auth = {"Authorization": "Bearer s3cret"}
    assert call(app, "POST", "/code_exec", json={"cmd": "id"}).status_code == 401
    write = {"cmd": "echo mine > f.txt; pwd", "session": "alice"}
    assert stdout(call(app, "POST", "/code_exec", json=write, headers=auth)) == "/home/user\n"
    assert stdout(call(app, "POST", "/code_exec", json={"cmd": "cat f.txt", "session": "alice"}, headers=auth)) == (
        "mine\n"
    )
    other = call(app, "POST", "/code_exec", json={"cmd": "cat f.txt", "session": "bob"}, headers=auth)
    assert parse_shell_results(other.json()["result"])[0] == "1"  # bob has a sandbox of his own
    assert call(app, "POST", "/code_exec", json={"cmd": " "}, headers=auth).status_code == 400


def test_idle_and_surplus_sessions_are_removed(sessions):
    sessions.max_sessions = 2

    async def go():
        await sessions.run("a", "echo a > f")
        first = next(iter(sessions._sessions.values()))[0].sandbox.dir
        await sessions.run("b", "echo b > f")
        await sessions.run("c", "echo c > f")  # a third session: the longest idle (a) goes
        return first, sorted(sessions._sessions)

    first, live = asyncio.run(go())
    assert live == ["b", "c"] and not first.exists()


def test_mcp_code_exec_tool(sessions):
    mcp = pytest.importorskip("mcp")
    from openseeker.serve.mcp_server import build_mcp_server

    server = build_mcp_server(FakeWeb(tiny_pages()), code_exec=sessions)

    async def go():
        async with mcp.Client(server) as client:
            names = sorted(t.name for t in (await client.list_tools()).tools)
            await client.call_tool("code_exec", {"cmd": "echo 6 > n"})
            result = await client.call_tool("code_exec", {"cmd": "python -c 'print(int(open(\"n\").read()) * 7)'"})
            return names, "".join(getattr(c, "text", "") for c in result.content)

    names, text = asyncio.run(go())
    assert names == ["code_exec", "search", "visit"]
    assert parse_shell_results(text) == ("0", "42\n", "")
    # not there unless enabled
    plain = build_mcp_server(FakeWeb(tiny_pages()))

    async def names_of():
        async with mcp.Client(plain) as client:
            return sorted(t.name for t in (await client.list_tools()).tools)

    assert asyncio.run(names_of()) == ["search", "visit"]


@pytest.mark.parametrize("command", [["serve"], ["mcp", "--transport", "http"]])
def test_cli_refuses_code_exec_without_a_token(command, tmp_path, capsys):
    web = tmp_path / "nowhere"
    assert main([*command, "--web", str(web), "--code-exec"]) == 2
    err = capsys.readouterr().err.strip()
    assert "only behind a bearer token: add --token" in err and len(err.splitlines()) == 1
