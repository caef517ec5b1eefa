"""The local executor: one process vs N spawned worker processes on the same stage give the same records; the
shards merge in input order; a rank killed with SIGKILL is finished by re-running the same command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from exec_helpers import agent_responder, questions

from openseeker.cli.main import main
from openseeker.executors import shard_of

TIMING_KEYS = {"wall_s", "llm_s", "tool_s", "latency_s", "created", "started", "finished", "elapsed_s"}


def strip_timings(obj):
    if isinstance(obj, dict):
        return {k: strip_timings(v) for k, v in obj.items() if k not in TIMING_KEYS}
    if isinstance(obj, list):
        return [strip_timings(v) for v in obj]
    return obj


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run_cli(tiny_web, srv, qfile, out, *extra) -> int:
    return main(
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
            *extra,
        ]
    )


def test_shard_of_is_stable_and_spread():
    assert shard_of("q001", 1) == 0
    ranks = [shard_of(f"q{i}", 4) for i in range(400)]
    assert ranks == [shard_of(f"q{i}", 4) for i in range(400)]  # no salted hash()
    assert all(60 < ranks.count(r) < 140 for r in range(4))
    assert shard_of("q7", 4) == 2  # pinned: resuming on another machine / Python keeps an id on its rank


def test_two_workers_equal_one_process(tiny_web, endpoint, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OPENSEEKER_NO_CACHE", "1")
    qfile = questions(tmp_path / "q.jsonl", 12)
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    assert run_cli(tiny_web, endpoint, qfile, one) == 0
    s1 = json.loads(capsys.readouterr().out)
    assert run_cli(tiny_web, endpoint, qfile, two, "--workers", "2", "--concurrency", "3") == 0
    s2 = json.loads(capsys.readouterr().out)
    assert s1["done"] == s2["done"] == 12 and s2["workers"] == 2 and s2["executor"] == "local"
    assert s2["stop_reasons"] == {"answered": 12} and s2["tool_calls"] == 24
    assert s2["llm_usage"]["student"]["calls"] == 36 and s2["llm_usage"]["extractor"]["calls"] == 12
    r1, r2 = records(one), records(two)
    assert [r["id"] for r in r2] == [f"q{i:03d}" for i in range(12)]  # merged in input order
    assert sorted(map(json.dumps, map(strip_timings, r1))) == sorted(map(json.dumps, map(strip_timings, r2)))
    assert not (tmp_path / "two.jsonl.shards").exists()
    assert json.loads((tmp_path / "two.jsonl.summary.json").read_text())["summary"]["done"] == 12
    assert run_cli(tiny_web, endpoint, qfile, two, "--workers", "2") == 0  # nothing left: a no-op
    assert json.loads(capsys.readouterr().out)["skipped"] == 12 and len(records(two)) == 12


def test_sigkill_a_worker_then_rerun_finishes_every_id_once(tiny_web, tmp_path):
    from openseeker.testing.chat_server import ScriptedChatServer

    def slow(req):
        reply = agent_responder(req)
        reply.delay = 0.05
        return reply

    qfile = questions(tmp_path / "q.jsonl", 40)
    out = tmp_path / "out.jsonl"
    env = {**os.environ, "OPENSEEKER_NO_CACHE": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    with ScriptedChatServer(slow) as srv:
        cmd = [
            sys.executable,
            "-m",
            "openseeker.cli.main",
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
            "--workers",
            "2",
            "--concurrency",
            "2",
        ]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        progress = tmp_path / "out.jsonl.shards" / "progress" / "00000.json"
        deadline = time.monotonic() + 60
        victim = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                p = json.loads(progress.read_text())
            except (OSError, ValueError):
                p = {}
            if p.get("done", 0) >= 2:
                victim = p["pid"]
                break
            time.sleep(0.05)
        assert victim is not None, proc.communicate()
        os.kill(victim, signal.SIGKILL)
        _, err = proc.communicate(timeout=120)
        err = b" ".join(err.split())  # the console wraps long lines
        assert proc.returncode == 1 and b"rank 0 (killed by signal 9)" in err, err
        first = [r["id"] for r in records(out)]  # what every rank finished is merged, the dead rank's too
        assert 2 <= len(first) < 40 and first == sorted(first) and b"merged into" in err, err
        rerun = subprocess.run(cmd, check=False, env=env, capture_output=True, timeout=120)
        assert rerun.returncode == 0, rerun.stderr.decode()[-2000:]
    ids = [r["id"] for r in records(out)]
    assert len(ids) == len(set(ids)) == 40 and sorted(ids) == [f"q{i:03d}" for i in range(40)]
    assert ids[: len(first)] == first and ids[len(first) :] == sorted(ids[len(first) :])  # each run in input order
    assert not (tmp_path / "out.jsonl.shards").exists()


def test_live_objects_cannot_go_to_worker_processes(tmp_path):
    import asyncio

    from openseeker.agent.batch import run_batch
    from openseeker.errors import UserError
    from openseeker.executors import get_executor

    class Unpicklable:
        def __reduce__(self):
            raise TypeError("cannot pickle 'Unpicklable'")

        async def run(self, q, **kw):  # pragma: no cover - never reached
            raise AssertionError

    with pytest.raises(UserError, match="multi-worker runs need a stage built from settings"):
        asyncio.run(
            run_batch(
                [{"id": "a", "question": "q"}, {"id": "b", "question": "q"}],
                tmp_path / "o.jsonl",
                agent=Unpicklable(),
                executor=get_executor("local", workers=2, progress=False),
            )
        )


def test_job_array_ranks_then_the_plain_command_merges(tiny_web, endpoint, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OPENSEEKER_NO_CACHE", "1")
    qfile = questions(tmp_path / "q.jsonl", 9)
    out = tmp_path / "out.jsonl"
    shards = tmp_path / "out.jsonl.shards"
    for rank in (1, 0):  # as Slurm array tasks would, in any order
        assert run_cli(tiny_web, endpoint, qfile, out, "--workers", "2", "--rank", str(rank)) == 0
        s = json.loads(capsys.readouterr().out)
        assert s["executor"] == f"local rank {rank}" and (shards / "completions" / f"{rank:05d}").exists()
        assert not out.exists()  # a rank never merges
    assert run_cli(tiny_web, endpoint, qfile, out, "--workers", "2") == 0  # the final step: nothing left, merge
    s = json.loads(capsys.readouterr().out)
    assert s["done"] == 0 and s["skipped"] == 9
    assert [r["id"] for r in records(out)] == [f"q{i:03d}" for i in range(9)] and not shards.exists()
    assert run_cli(tiny_web, endpoint, qfile, out, "--workers", "2", "--rank", "2") == 2  # out of range
