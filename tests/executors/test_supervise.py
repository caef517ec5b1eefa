"""Supervision with real processes and signals: a worker dies with its parent (even a parent killed by SIGKILL), and
SIGTERM stops a worker whose event loop is blocked by synchronous work (an importer parsing its part)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

BLOCKED = textwrap.dedent("""
    import asyncio, sys, time
    from openseeker.executors.supervise import stopping_on_sigterm

    async def blocked():
        print("ready", flush=True)
        end = time.monotonic() + 60
        while time.monotonic() < end:  # synchronous work holding the loop: a cancel alone would wait for it
            pass

    try:
        asyncio.run(stopping_on_sigterm(blocked()))
    except KeyboardInterrupt as exc:
        sys.exit(128 + exc.signum)
""")

ORPHAN = textwrap.dedent("""
    import os, subprocess, sys, time
    if sys.argv[1] == "middle":  # the parent: starts a worker, says its pid, then waits to be killed
        child = subprocess.Popen([sys.executable, __file__, "worker", str(os.getpid())])
        print(child.pid, flush=True)
        time.sleep(60)
    else:  # the worker
        from openseeker.executors.supervise import die_with_parent
        die_with_parent(int(sys.argv[2]))
        time.sleep(60)
""")


def env() -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_sigterm_stops_a_worker_blocked_in_synchronous_code(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", BLOCKED], env=env(), stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 143
    assert time.monotonic() - t0 < 10  # not the 60 s the synchronous work would take


def test_a_worker_dies_with_its_parent_killed_by_sigkill(tmp_path):
    script = tmp_path / "orphan.py"
    script.write_text(ORPHAN)
    middle = subprocess.Popen([sys.executable, str(script), "middle"], env=env(), stdout=subprocess.PIPE, text=True)
    worker = int(middle.stdout.readline())
    time.sleep(0.5)  # the worker has set its parent-death signal
    assert alive(worker)
    middle.kill()
    middle.wait()
    deadline = time.monotonic() + 5
    while alive(worker):
        assert time.monotonic() < deadline, "the worker outlived its parent"
        time.sleep(0.05)
