"""The output lock: held by another (real) process it refuses with that process's pid and host; it goes away with
its holder, even on SIGKILL; within one process it is re-entrant; its file is removed on release."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from openseeker.errors import UserError
from openseeker.outlock import hold_output, lock_file_for

HOLDER = textwrap.dedent("""
    import sys, time
    from openseeker.outlock import hold_output
    with hold_output(sys.argv[1]):
        print("held", flush=True)
        time.sleep(60)
""")


def holder(output):
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(output)],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_another_process_holding_the_lock_is_named(tmp_path):
    out = tmp_path / "trajs.jsonl"
    proc = holder(out)
    try:
        with pytest.raises(UserError) as err:
            with hold_output(out):
                pass
        msg = str(err.value)
        assert (
            f"{out} is being written by another openseeker run (pid {proc.pid} on host {socket.gethostname()}" in msg
        )
        assert "\n" not in msg
    finally:
        proc.kill()
        proc.wait()


def test_the_lock_dies_with_its_holder(tmp_path):
    out = tmp_path / "web"
    proc = holder(out)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert lock_file_for(out).exists()  # SIGKILL left the file; the operating system dropped the lock
    with hold_output(out, what="the web"):
        pass
    assert not lock_file_for(out).exists()


def test_reentrant_in_one_process_and_removed_on_release(tmp_path):
    out = tmp_path / "eval"
    with hold_output(out) as path:
        with hold_output(out):  # evaluate_async holds it, the executor inside takes it again
            assert path.exists()
        assert path.exists()  # still held by the outer block
    assert not path.exists()


def test_a_directory_that_cannot_hold_the_lock_is_one_line(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes into a read-only directory: see tests/executors/test_messages.py (read-only mount)")
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o555)
    try:
        with pytest.raises(UserError, match="cannot create the lock file"):
            with hold_output(d / "out.jsonl"):
                pass
    finally:
        d.chmod(0o755)


def test_a_waiting_second_holder_gets_the_lock_after_release(tmp_path):
    out = tmp_path / "o.jsonl"
    proc = holder(out)
    proc.terminate()  # SIGTERM: the holder dies, the lock with it
    proc.wait()
    deadline = time.monotonic() + 5
    while True:
        try:
            with hold_output(out):
                break
        except UserError:
            assert time.monotonic() < deadline
            time.sleep(0.05)
