"""Faults of the machine and of the input are one clear line naming the file, key or option (issue 24, item 11):
a read-only --out, a full disk (real filesystems: small tmpfs mounts), a bad line in a questions file."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess

import pytest
from exec_helpers import Switchboard, jsonl_ids, llm_config_file, questions, start_cli

from openseeker.cli.main import main
from openseeker.testing.chat_server import ScriptedChatServer


@contextlib.contextmanager
def tmpfs(path, *options: str):
    """A tmpfs mounted at ``path`` (needs root; the test is skipped, with the reason, without it)."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(path)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


@pytest.fixture
def board():
    sb = Switchboard()
    with ScriptedChatServer(sb) as srv:
        sb.base_url = srv.base_url
        yield sb


def run(*args: str) -> tuple[int, str]:
    proc = start_cli(*args)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_read_only_out_is_one_line(tiny_web, board, tmp_path, workers):
    """Before: `internal error: OSError ...`; with --workers 2, 69 lines, 2 tracebacks and a claim that work was
    saved when none was."""
    qfile = questions(tmp_path / "q.jsonl", 4)
    config = llm_config_file(tmp_path / "llm.yaml", board.base_url)
    with tmpfs(tmp_path / "ro", "ro", "size=1m") as ro:
        code, err = run("agent", "run", "--web", str(tiny_web), "--questions", str(qfile), "--out",
                        str(ro / "out.jsonl"), "--config", str(config), "--no-progress", "--workers", workers)  # fmt: skip
    lines = [x for x in err.strip().splitlines() if x.strip()]
    assert code == 2 and len(lines) == 1, err
    assert "cannot create the lock file" in lines[0] and "Read-only file system" in lines[0] and str(ro) in lines[0]
    assert "Traceback" not in err and "internal error" not in err and "saved" not in err
    assert sum(board.answers.values()) == 0  # refused before any work


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_full_disk_names_the_file_and_the_rerun_finishes(tiny_web, board, tmp_path, workers):
    """Before: `internal error: OSError: [Errno 28] No space left on device`, without the path."""
    qfile = questions(tmp_path / "q.jsonl", 40)
    config = llm_config_file(tmp_path / "llm.yaml", board.base_url)
    with tmpfs(tmp_path / "disk", "size=48k") as disk:
        out = disk / "out.jsonl"
        args = ("agent", "run", "--web", str(tiny_web), "--questions", str(qfile), "--out", str(out), "--config",
                str(config), "--no-progress", "--workers", workers)  # fmt: skip
        code, err = run(*args)
        flat = " ".join(err.split())
        assert code == 1, err
        assert "No space left on device" in flat and str(disk) in flat and "internal error" not in flat
        assert "Traceback" not in err
        subprocess.run(["mount", "-o", "remount,size=8m", str(disk)], check=True)
        code, err = run(*args)
        assert code == 0, err
        ids = jsonl_ids(out)
        assert len(ids) == len(set(ids)) == 40


def test_a_bad_questions_line_does_not_suggest_an_option_agent_run_lacks(tiny_web, tmp_path, capsys):
    qfile = tmp_path / "q.jsonl"
    qfile.write_text('{"id": "a", "question": "x"}\n{"id": "b", "question": \n')
    assert main(["agent", "run", "--web", str(tiny_web), "--questions", str(qfile), "--out", str(tmp_path / "o")]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"{qfile}:2:" in err and "--skip-bad" not in err
