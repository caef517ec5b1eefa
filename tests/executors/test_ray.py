"""The Ray executor on a real local Ray cluster (started here, loopback only, 2 CPUs, no dashboard): the same
stage as the local multi-process backend, the same records."""

from __future__ import annotations

import json

import pytest
from exec_helpers import questions

from openseeker.cli.main import main

ray = pytest.importorskip("ray", reason="the ray extra is not installed")


@pytest.fixture(scope="module")
def ray_cluster():
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")
    try:
        yield
    finally:
        ray.shutdown()


def records(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_ray_and_local_workers_write_the_same_records(ray_cluster, tiny_web, endpoint, tmp_path, monkeypatch, capsys):
    from test_local import strip_timings

    monkeypatch.setenv("OPENSEEKER_NO_CACHE", "1")
    qfile = questions(tmp_path / "q.jsonl", 10)
    outs = {}
    for backend in ("local", "ray"):
        out = tmp_path / f"{backend}.jsonl"
        assert (
            main(
                [
                    "agent",
                    "run",
                    "--web",
                    str(tiny_web),
                    "--base-url",
                    endpoint.base_url,
                    "--model",
                    "m",
                    "--questions",
                    str(qfile),
                    "--out",
                    str(out),
                    "--no-progress",
                    "--json",
                    "--workers",
                    "2",
                    "--executor",
                    backend,
                ]
            )
            == 0
        )
        summary = json.loads(capsys.readouterr().out)
        assert summary["executor"] == backend and summary["done"] == 10 and summary["workers"] == 2
        outs[backend] = [strip_timings(r) for r in records(out)]
    assert [r["id"] for r in outs["ray"]] == [f"q{i:03d}" for i in range(10)]
    assert outs["ray"] == outs["local"]  # merged in input order: identical whichever backend ran


def test_missing_ray_is_a_clear_error(monkeypatch):
    import builtins

    from openseeker.errors import UserError
    from openseeker.executors.ray import import_ray

    real = builtins.__import__

    def no_ray(name, *a, **kw):
        if name == "ray":
            raise ImportError("No module named 'ray'")
        return real(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(UserError, match=r"openseeker\[ray\]"):
        import_ray()


def test_a_ray_worker_killed_mid_run_is_retried_and_resumes_its_shard(
    ray_cluster, tiny_web, tmp_path, monkeypatch, capsys
):
    import os
    import signal
    import threading
    import time

    from exec_helpers import agent_responder

    from openseeker.testing.chat_server import ScriptedChatServer

    def slow(req):
        reply = agent_responder(req)
        reply.delay = 0.05
        return reply

    monkeypatch.setenv("OPENSEEKER_NO_CACHE", "1")
    qfile = questions(tmp_path / "q.jsonl", 30)
    out = tmp_path / "out.jsonl"
    progress = tmp_path / "out.jsonl.shards" / "progress" / "00000.json"
    killed = {}

    def killer():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                p = json.loads(progress.read_text())
            except (OSError, ValueError):
                p = {}
            if p.get("done", 0) >= 2:
                killed["pid"] = p["pid"]
                os.kill(p["pid"], signal.SIGKILL)
                return
            time.sleep(0.05)

    with ScriptedChatServer(slow) as srv:
        t = threading.Thread(target=killer, daemon=True)
        t.start()
        rc = main(
            [
                "agent",
                "run",
                "--web",
                str(tiny_web),
                "--base-url",
                srv.base_url,
                "--model",
                "m",
                "--questions",
                str(qfile),
                "--out",
                str(out),
                "--no-progress",
                "--json",
                "--workers",
                "2",
                "--executor",
                "ray",
                "--concurrency",
                "2",
            ]
        )
        t.join(timeout=5)
    assert killed, "rank 0 finished before it could be killed"
    assert rc == 0  # Ray re-ran rank 0's task; it resumed from its shard
    ids = [r["id"] for r in records(out)]
    assert ids == [f"q{i:03d}" for i in range(30)]  # every id exactly once, in input order
    assert not (tmp_path / "out.jsonl.shards").exists()
