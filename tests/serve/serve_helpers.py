"""Shared helpers: a real uvicorn server on 127.0.0.1 in a thread, an ASGI call, a web whose pages have docids."""

from __future__ import annotations

import asyncio
import threading
import time
from contextlib import contextmanager

import httpx

from openseeker.records import Page
from openseeker.testing.fake_web import FakeWeb


def call(app, method: str, path: str, **kwargs) -> httpx.Response:
    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(go())


@contextmanager
def running(app, **config):
    """Serve ``app`` with uvicorn on a free loopback port; yields the port."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", **config))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started and time.time() < deadline and thread.is_alive():
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class DocidWeb(FakeWeb):
    """A ``FakeWeb`` whose pages carry external docids (the BrowseComp-Plus contract: ``SearchHit.docid`` is the
    corpus id, ``fetch`` accepts it in place of the url)."""

    def __init__(self, docs: list[tuple[str, str, str]]):
        pages = [Page(url=f"https://corpus.local/{docid}", title=title, text=text) for docid, title, text in docs]
        super().__init__(pages)
        self.docid_of = {p.url: docid for p, (docid, _, _) in zip(pages, docs)}
        self.url_of = {docid: url for url, docid in self.docid_of.items()}

    def search_one(self, query, top_k=10):
        return [h.model_copy(update={"docid": self.docid_of[h.url]}) for h in super().search_one(query, top_k)]

    async def fetch(self, url):
        return await super().fetch(self.url_of.get(url, url))


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def small_web(tmp_path, n: int = 30):
    """A real local web (SQLite graph + tantivy index) built from a JSONL corpus made here."""
    import json

    from openseeker.web.build import build_web

    rows = [
        {
            "title": f"Tower {i}",
            "url": f"https://example.org/wiki/Tower_{i}",
            "text": f"Tower {i} is a lattice tower in city {i % 7}, designed by engineer {i % 5} and completed in "
            f"{1880 + i}. " * 3,
        }
        for i in range(n)
    ]
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "web"
    build_web(corpus, out, progress=False)
    return out


@contextmanager
def cli_server(args: list[str], port: int, ready_path: str = "/health", timeout: float = 60):
    """``python -m openseeker.cli.main ARGS`` as a subprocess (this tree's code), until ``ready_path`` answers."""
    import os
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "openseeker.cli.main", "-q", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
    )
    try:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"server exited: {proc.stderr.read().decode()[-2000:]}")
            try:
                with httpx.stream("GET", f"http://127.0.0.1:{port}{ready_path}", timeout=2) as r:
                    if r.status_code < 500:
                        break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
