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
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             _node_ip_address="127.0.0.1")
    try:
        yield
    finally:
        ray.shutdown()


def records(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_ray_and_local_workers_write_the_same_records(ray_cluster, tiny_web, endpoint, tmp_path, monkeypatch,
                                                      capsys):
    from test_local import strip_timings

    monkeypatch.setenv("OPENSEEKER_NO_CACHE", "1")
    qfile = questions(tmp_path / "q.jsonl", 10)
    outs = {}
    for backend in ("local", "ray"):
        out = tmp_path / f"{backend}.jsonl"
        assert main(["agent", "run", "--web", str(tiny_web), "--base-url", endpoint.base_url, "--model", "m",
                     "--questions", str(qfile), "--out", str(out), "--no-progress", "--json", "--workers", "2",
                     "--executor", backend]) == 0
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
