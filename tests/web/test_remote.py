"""The remote web: an agent whose web is a client of ``openseeker serve`` (a real server process on 127.0.0.1)
sees exactly what it sees on the local web directory, and fails over between two server replicas."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from openseeker.errors import ToolError
from openseeker.web.local import LocalWeb
from openseeker.web.remote import RemoteWeb, parse_visit
from openseeker.web.tools import SearchTool, VisitTool

PAGES = [
    {
        "url": "https://en.wikipedia.org/wiki/Gustave_Eiffel",
        "title": "Gustave Eiffel [engineer]",
        "text": "Gustave Eiffel was a French civil engineer, born in Dijon. His company built the Eiffel Tower.",
    },
    {
        "url": "https://en.wikipedia.org/wiki/Dijon",
        "title": "Dijon",
        "text": "Dijon is a city in eastern France, famous for mustard.\n\nIt is the capital of Burgundy.",
    },
]


@pytest.fixture(scope="module")
def web_dir(tmp_path_factory):
    from openseeker.web.build import build_web

    d = tmp_path_factory.mktemp("remote")
    (d / "pages.jsonl").write_text("".join(json.dumps(p) + "\n" for p in PAGES))
    build_web(d / "pages.jsonl", d / "web", progress=False)
    return d / "web"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(web_dir) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "openseeker.cli.main", "serve", "--web", str(web_dir), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/health", timeout=1):
                return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("openseeker serve did not start")


@pytest.fixture(scope="module")
def servers(web_dir):
    procs = [start_server(web_dir) for _ in range(2)]
    yield procs
    for p, _ in procs:
        p.kill()
        p.wait()


def test_remote_tools_show_what_the_local_web_shows(web_dir, servers):
    url = servers[0][1]

    async def both():
        local, remote = LocalWeb.open(web_dir), RemoteWeb(url)
        try:
            out = []
            for web in (local, remote):
                search, visit = SearchTool(web), VisitTool(web)
                out.append(
                    (
                        await search.execute({"query": ["Eiffel engineer", "mustard city"]}),
                        await visit.execute(
                            {"url": [PAGES[0]["url"], PAGES[1]["url"], "https://nowhere.x/"], "goal": "birthplace"}
                        ),
                    )
                )
            return out
        finally:
            local.close()
            await remote.aclose()

    (ls, lv), (rs, rv) = asyncio.run(both())
    assert ls == rs and "Gustave Eiffel [engineer]" in rs
    assert lv == rv and "famous for mustard.\n\nIt is the capital" in rv and "was not found" in rv


def test_remote_fails_over_to_another_server(web_dir, servers):
    (p0, u0), (_, u1) = servers

    async def run():
        web = RemoteWeb(f"{u0},{u1}")
        try:
            assert (await web.search(["Dijon"]))[0][0].title == "Dijon"
            p0.kill()
            p0.wait()
            for _ in range(4):
                hits = await web.search(["Dijon"])
                assert hits[0][0].url == PAGES[1]["url"]
            return web.stats()
        finally:
            await web.aclose()

    stats = asyncio.run(run())
    assert stats["search"] == 5 and stats["failovers"] >= 1


def test_bad_specs_and_refusals():
    from openseeker.errors import UserError

    with pytest.raises(UserError, match="http://host:port"):
        RemoteWeb("ftp://x")
    assert parse_visit("u", "[visit] u was not found. Use a url from search results.") is None
    with pytest.raises(ToolError, match="blocked address"):
        parse_visit("http://10.0.0.1/", "[visit] Could not open http://10.0.0.1/: blocked address")
    page = parse_visit("u", "Page: [A [b]](https://x/y)\n\nline1\n\nline2")
    assert (page.title, page.url, page.text) == ("A [b]", "https://x/y", "line1\n\nline2")
