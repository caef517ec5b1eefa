"""Integrity under concurrency and faults, with real processes and real signals (issue 24): one writer per output,
Ctrl-C and SIGTERM stop a run cleanly (exit 130 / 143, what finished merged), workers die with their parent, a
failing item never withholds the others, the ``.failed`` sidecar lists exactly what still fails, and a resume
with another model is refused."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from exec_helpers import Switchboard, jsonl_ids, live_in_group, llm_config_file, qa_file, questions, start_cli

from openseeker.cli.main import main
from openseeker.testing.chat_server import ScriptedChatServer


@pytest.fixture
def board():
    sb = Switchboard(delay=0.05)
    with ScriptedChatServer(sb) as srv:
        sb.base_url = srv.base_url
        yield sb


def agent_args(web: Path, qfile: Path, out: Path, config: Path, *extra: str) -> list[str]:
    return ["agent", "run", "--web", str(web), "--questions", str(qfile), "--out", str(out), "--config", str(config),
            "--no-progress", *extra]  # fmt: skip


def wait_for(cond, timeout: float = 60.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return False


def lines_in(*paths: Path) -> int:
    return sum(len(p.read_text().splitlines()) for p in paths if p.exists())


def shard_lines(out: Path) -> int:
    return lines_in(out, *sorted(out.with_name(out.name + ".shards").glob("trajectories-*.jsonl")))


# --------------------------------------------------------------------------- one writer per output (items 1, 2)


def test_two_agent_runs_on_one_out_the_second_is_refused(tiny_web, board, tmp_path):
    qfile, out = questions(tmp_path / "q.jsonl", 16), tmp_path / "out.jsonl"
    config = llm_config_file(tmp_path / "llm.yaml", board.base_url)
    procs = [start_cli(*agent_args(tiny_web, qfile, out, config)) for _ in range(2)]
    errs = [p.communicate(timeout=120)[1] for p in procs]
    codes = sorted(p.returncode for p in procs)
    refusal = next(e for p, e in zip(procs, errs) if p.returncode == 2)
    assert codes == [0, 2], errs
    flat = " ".join(refusal.split())
    assert f"{out} is being written by another openseeker run (pid " in flat and " on host " in flat
    assert len(refusal.strip().splitlines()) == 1 and "Traceback" not in refusal
    ids = jsonl_ids(out)
    assert len(ids) == len(set(ids)) == 16  # not 32 (each duplicated)
    assert sum(board.answers.values()) == 16  # and each rollout paid once
    assert not out.with_name("out.jsonl.lock").exists()  # the holder removed its lock file


def test_two_eval_runs_on_one_folder_the_second_is_refused(tiny_web, board, tmp_path):
    qa = qa_file(tmp_path / "qa.jsonl", 10)
    out = tmp_path / "eval"
    config = llm_config_file(tmp_path / "llm.yaml", board.base_url)
    args = ["eval", "run", "--benchmark", "synth", "--path", str(qa), "--web", str(tiny_web), "--out", str(out),
            "--config", str(config), "--no-progress"]  # fmt: skip
    procs = [start_cli(*args) for _ in range(2)]
    errs = [p.communicate(timeout=120)[1] for p in procs]
    assert sorted(p.returncode for p in procs) == [0, 2], errs
    assert any("the eval folder" in e and "is being written by another openseeker run" in e for e in errs)
    keys = jsonl_ids(out / "results.jsonl", "key")
    assert len(keys) == len(set(keys)) == 10
    report = json.loads((out / "report.json").read_text())
    assert report["runs"] == 1 and report["n_records"] == 10  # not "10 questions x 2 run(s)"


def test_two_web_builds_into_one_folder_the_second_is_refused(tmp_path):
    src = tmp_path / "corpus.jsonl"
    rows = [{"title": f"Page {i}", "text": f"page {i} text", "links": [f"Page {(i + 1) % 2000}"]} for i in range(2000)]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    web = tmp_path / "web"
    args = ["web", "build", "--source", str(src), "--out", str(web), "--no-progress", "--workers", "2"]
    procs = [start_cli(*args) for _ in range(2)]
    errs = [p.communicate(timeout=180)[1] for p in procs]
    assert sorted(p.returncode for p in procs) == [0, 2], errs
    assert any(f"the web {web} is being written by another openseeker run" in " ".join(e.split()) for e in errs)
    info = json.loads((web / "web.json").read_text())
    import sqlite3

    con = sqlite3.connect(web / "graph.sqlite")
    pages, links = (con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("pages", "links"))
    con.close()
    assert info["status"] == "complete" and (pages, links) == (2000, 2000)
    assert main(["web", "build", "--source", str(src), "--out", str(web), "--no-progress"]) == 0  # up to date


# --------------------------------------------------------------------------- Ctrl-C, SIGTERM (item 4)


@pytest.mark.parametrize("sig, code, name", [(signal.SIGINT, 130, "Ctrl-C"), (signal.SIGTERM, 143, "SIGTERM")])
def test_a_signal_to_the_group_exits_with_its_code_and_the_rerun_line(tiny_web, board, tmp_path, sig, code, name):
    qfile, out = questions(tmp_path / "q.jsonl", 60), tmp_path / "out.jsonl"
    config = llm_config_file(tmp_path / "llm.yaml", board.base_url)
    proc = start_cli(*agent_args(tiny_web, qfile, out, config, "--concurrency", "2"))
    assert wait_for(lambda: lines_in(out) >= 3 or proc.poll() is not None)
    os.killpg(proc.pid, sig)  # a terminal's Ctrl-C, `kill -TERM -- -PGID`
    _, err = proc.communicate(timeout=60)
    flat = " ".join(err.split())
    assert proc.returncode == code, err
    assert f"interrupted ({name}): everything finished is saved in {out}; re-run the same command" in flat
    first = jsonl_ids(out)
    assert 3 <= len(first) < 60
    assert main(agent_args(tiny_web, qfile, out, config)) == 0
    ids = jsonl_ids(out)
    assert len(ids) == len(set(ids)) == 60


def test_sigint_to_the_parent_alone_stops_the_workers_and_merges(tiny_web, board, tmp_path):
    """Before: the parent waited for its workers to finish everything, skipped the merge and exited 0."""
    qfile, out = questions(tmp_path / "q.jsonl", 80), tmp_path / "out.jsonl"
    config = llm_config_file(tmp_path / "llm.yaml", board.base_url)
    proc = start_cli(*agent_args(tiny_web, qfile, out, config, "--workers", "2", "--concurrency", "2"))
    assert wait_for(lambda: shard_lines(out) >= 4 or proc.poll() is not None)
    os.kill(proc.pid, signal.SIGINT)
    t0 = time.monotonic()
    _, err = proc.communicate(timeout=60)
    stopped_in = time.monotonic() - t0
    assert proc.returncode == 130, err
    assert "interrupted (Ctrl-C)" in err and "merged into" in " ".join(err.split())
    assert stopped_in < 10 and sum(board.answers.values()) < 80  # it stopped, it did not finish everything
    merged = jsonl_ids(out)
    assert len(merged) >= 4 and not out.with_name("out.jsonl.shards").exists()
    assert wait_for(lambda: not live_in_group(proc.pid), timeout=3)  # (multiprocessing's tracker exits just after)
    assert main(agent_args(tiny_web, qfile, out, config, "--workers", "2")) == 0
    ids = jsonl_ids(out)
    assert len(ids) == len(set(ids)) == 80


# --------------------------------------------------------------------------- workers die with their parent (item 5)


def test_killing_the_parent_stops_its_workers(tiny_web, board, tmp_path):
    """Before: SIGKILL of the parent left its workers running, calling the endpoint and racing the re-run."""
    qfile, out = questions(tmp_path / "q.jsonl", 120), tmp_path / "out.jsonl"
    config = llm_config_file(tmp_path / "llm.yaml", board.base_url)
    proc = start_cli(*agent_args(tiny_web, qfile, out, config, "--workers", "2", "--concurrency", "2"))
    assert wait_for(lambda: shard_lines(out) >= 4 or proc.poll() is not None)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert wait_for(lambda: not live_in_group(proc.pid), timeout=3), "workers outlived their parent"
    served = sum(board.answers.values())
    time.sleep(1.0)
    assert sum(board.answers.values()) == served < 120  # nobody calls the endpoint any more
    assert main(agent_args(tiny_web, qfile, out, config, "--workers", "2")) == 0
    ids = jsonl_ids(out)
    assert len(ids) == len(set(ids)) == 120
    assert sum(board.answers.values()) <= 120 + 4  # at most the answers in flight at the kill are paid twice


# --------------------------------------------------------------------------- failures (items 7, 8)


def test_a_failing_item_does_not_withhold_the_others(tiny_web, board, tmp_path):
    qfile, out = questions(tmp_path / "q.jsonl", 12), tmp_path / "out.jsonl"
    config = llm_config_file(tmp_path / "llm.yaml", board.base_url)
    sidecar = tmp_path / "out.jsonl.failed.jsonl"
    board.fail = {3, 7}
    for _ in range(2):  # the same two keep failing: the sidecar lists each once, not once per run
        proc = start_cli(*agent_args(tiny_web, qfile, out, config, "--workers", "2"))
        _, err = proc.communicate(timeout=120)
        flat = " ".join(err.split())
        assert proc.returncode == 1 and "2 item(s) not finished" in flat and f"listed in {sidecar}" in flat, err
        assert sorted(jsonl_ids(out)) == [f"q{i:03d}" for i in range(12) if i not in (3, 7)]
        assert sorted(jsonl_ids(sidecar)) == ["q003", "q007"]
    board.fail = set()
    assert main(agent_args(tiny_web, qfile, out, config, "--workers", "2")) == 0
    assert sorted(jsonl_ids(out)) == [f"q{i:03d}" for i in range(12)]
    assert not sidecar.exists()  # nothing fails any more: no stale list


# --------------------------------------------------------------------------- one setup per output (item 9)


def test_resuming_with_another_model_is_refused(tiny_web, board, tmp_path, capsys):
    qfile, out = questions(tmp_path / "q.jsonl", 6), tmp_path / "out.jsonl"
    model_a = llm_config_file(tmp_path / "a.yaml", board.base_url, model="model-a")
    model_b = llm_config_file(tmp_path / "b.yaml", board.base_url, model="model-b")
    assert main(agent_args(tiny_web, qfile, out, model_a, "--limit", "3")) == 0
    capsys.readouterr()
    assert main(agent_args(tiny_web, qfile, out, model_b)) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "models.student='model-a' (now 'model-b')" in err and "--allow-mixed" in err
    assert len(jsonl_ids(out)) == 3
    assert main(agent_args(tiny_web, qfile, out, model_a, "--concurrency", "2")) == 0  # concurrency changes nothing
    assert len(jsonl_ids(out)) == 6


def test_allow_mixed_adds_to_an_output_of_another_setup(tiny_web, board, tmp_path):
    qfile, out = questions(tmp_path / "q.jsonl", 4), tmp_path / "out.jsonl"
    model_a = llm_config_file(tmp_path / "a.yaml", board.base_url, model="model-a")
    model_b = llm_config_file(tmp_path / "b.yaml", board.base_url, model="model-b")
    assert main(agent_args(tiny_web, qfile, out, model_a, "--limit", "2")) == 0
    assert main(agent_args(tiny_web, qfile, out, model_b, "--allow-mixed")) == 0
    models = [json.loads(line)["metadata"]["model"] for line in out.read_text().splitlines()]
    assert models == ["model-a", "model-a", "model-b", "model-b"]
