"""Endpoint replicas: 4 scripted chat servers (real HTTP on 127.0.0.1, each its own process), one SIGKILLed
mid-run: the batch completes with every id exactly once, the healthy replicas share the load within 10 %, the
dead one is ejected and probed back in when it returns."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys

import pytest

from openseeker.agent.batch import run_batch
from openseeker.agent.runtime import Agent
from openseeker.llm.config import EndpointConfig, endpoint_config
from openseeker.llm.pool import LLMPool
from openseeker.llm.replicas import ReplicaTransport, split_replicas
from openseeker.testing.fake_web import FakeWeb, tiny_pages
from openseeker.web.tools import SearchTool, VisitTool


def start_replica(delay: float = 0.02, port: int = 0) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "openseeker.testing.chat_server", "--delay", str(delay)],
        stdout=subprocess.PIPE,
        env=env,
    )
    url = proc.stdout.readline().decode().strip()
    assert url.startswith("http://127.0.0.1:"), url
    return proc, url


@pytest.fixture
def replicas():
    procs = [start_replica() for _ in range(4)]
    yield procs
    for p, _ in procs:
        if p.poll() is None:
            p.kill()
        p.wait()


def test_base_url_lists_replicas():
    ep = EndpointConfig(base_url=["http://a:1/v1/", "http://b:2/v1"], model="m")
    assert ep.base_url == "http://a:1/v1,http://b:2/v1" and ep.replicas == ["http://a:1/v1", "http://b:2/v1"]
    assert EndpointConfig(base_url="http://a:1/v1 , http://b:2/v1/").replicas == ["http://a:1/v1", "http://b:2/v1"]
    assert split_replicas("http://a/v1") == ["http://a/v1"]


def test_one_replica_killed_mid_run(replicas, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENSEEKER_NO_CACHE", "1")
    urls = [u for _, u in replicas]
    cfg = endpoint_config(",".join(urls), model="m", concurrency=4, max_retries=2, backoff_s=0.05)
    items = [{"id": f"q{i:03d}", "question": f"Where was Eiffel born? ({i})"} for i in range(240)]
    out = tmp_path / "out.jsonl"

    async def main():
        async with LLMPool(cfg) as pool:
            web = FakeWeb(tiny_pages())
            agent = Agent(pool.role("student"), [SearchTool(web), VisitTool(web)], protocol="text")
            task = asyncio.create_task(run_batch(items, out, agent=agent, concurrency=12, progress=False))
            transport = next(iter(pool._clients.values()))
            assert isinstance(transport, ReplicaTransport)
            while sum(r.served for r in transport.replicas) < 120:  # a quarter of the 480 calls
                await asyncio.sleep(0.01)
            replicas[1][0].send_signal(signal.SIGKILL)  # mid-run, with requests in flight on it
            summary = await task
            return summary, transport.stats()

    summary, stats = asyncio.run(main())
    ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert summary["done"] == 240 and summary["failed"] == 0 and summary["stop_reasons"] == {"answered": 240}
    assert len(ids) == len(set(ids)) == 240  # 0 lost, 0 duplicated
    assert stats[1]["ejected"] and stats[1]["ejections"] >= 1
    healthy = [s["served"] for i, s in enumerate(stats) if i != 1]
    mean = sum(healthy) / len(healthy)
    assert all(abs(n - mean) <= 0.10 * mean for n in healthy), healthy
    assert sum(s["served"] for s in stats) == 480  # every call answered exactly once (2 per rollout)


def test_ejected_replica_is_probed_back_in(monkeypatch):
    import openseeker.llm.replicas as rep

    monkeypatch.setattr(rep, "EJECT_BASE_S", 0.1)
    monkeypatch.setenv("OPENSEEKER_NO_CACHE", "1")  # every call reaches a replica
    proc, url = start_replica(delay=0.0)
    port = int(url.split(":")[2].split("/")[0])
    other, url2 = start_replica(delay=0.0)
    cfg = endpoint_config(f"{url},{url2}", model="m", concurrency=2, max_retries=0)
    body = [{"role": "user", "content": "Where was Eiffel born?"}]

    async def main():
        async with LLMPool(cfg) as pool:
            llm = pool.role("student")
            transport = next(iter(pool._clients.values()))
            proc.kill()
            proc.wait()
            for _ in range(6):  # the dead replica fails once, is ejected; every call still succeeds
                assert (await llm.chat(body)).content
            assert transport.stats()[0]["ejected"]
            # the same port comes back: the probe brings it in again
            back = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    (
                        "import sys, threading; from openseeker.testing import chat_server as c;"
                        "from http.server import ThreadingHTTPServer;"
                        f"s = c.ScriptedChatServer(lambda r: c.Reply(content='ok')); s._httpd.server_close();"
                        f"s._httpd = c._HTTPServer(('127.0.0.1', {port}), s._handler_class()); s._httpd.daemon_threads = True;"
                        "s._thread = threading.Thread(target=s._httpd.serve_forever, daemon=True); s.start();"
                        "print('up', flush=True); threading.Event().wait()"
                    ),
                ],
                stdout=subprocess.PIPE,
                env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
            )
            try:
                assert back.stdout.readline().strip() == b"up"
                for _ in range(100):
                    if not transport.stats()[0]["ejected"]:
                        break
                    await asyncio.sleep(0.05)
                assert not transport.stats()[0]["ejected"]
                before = transport.stats()[0]["served"]
                for _ in range(6):
                    await llm.chat(body)
                assert transport.stats()[0]["served"] > before
            finally:
                back.kill()
                back.wait()

    try:
        asyncio.run(main())
    finally:
        other.kill()
        other.wait()
