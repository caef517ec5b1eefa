"""The sandbox contract, on the real bwrap backend: one sandbox per attempt, created on the first call, state kept
across calls, removed at the end; leftovers of a killed run removed on the next start; attempts isolated."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap

from sandbox_helpers import parse

from openseeker.sandbox.bwrap import BwrapBackend, sandbox_root
from openseeker.sandbox.tool import CodeExecTool


def test_files_and_working_directory_persist_across_calls_of_one_attempt(bwrap_backend):
    tool = CodeExecTool(bwrap_backend)

    async def go():
        async with tool.attempt() as attempt:
            assert attempt.sandbox is None  # nothing is created before the first call
            first = parse(await tool.execute({"cmd": "pwd; mkdir -p work && cd work && echo 41 > n.txt"}))
            second = parse(
                await tool.execute({"cmd": "pwd; python - <<'PY'\nprint(int(open('n.txt').read()) + 1)\nPY"})
            )
            third = parse(await tool.execute({"cmd": "echo tmp > /tmp/t; cat /tmp/t; exit 3"}))
            workdir = attempt.sandbox.dir
            assert workdir.is_dir()
        return first, second, third, workdir

    first, second, third, workdir = asyncio.run(go())
    assert first == (0, "/home/user\n", "")
    assert second == (0, "/home/user/work\n42\n", "")
    assert third == (3, "tmp\n", "")
    assert not workdir.exists()  # removed at the end of the attempt


def test_each_attempt_has_its_own_sandbox(bwrap_backend):
    tool = CodeExecTool(bwrap_backend)

    async def one(i: int) -> tuple[str, str]:
        async with tool.attempt():
            wrote = parse(await tool.execute({"cmd": f"echo attempt-{i} > mine.txt; ls"}))
            await asyncio.sleep(0.05)  # every attempt has written before any reads
            read = parse(await tool.execute({"cmd": "cat mine.txt; ls /home/user /tmp | sort"}))
        return wrote[1], read[1]

    async def go():
        return await asyncio.gather(*(one(i) for i in range(32)))

    for i, (listing, read) in enumerate(asyncio.run(go())):
        assert listing == "mine.txt\n"
        assert read.splitlines()[0] == f"attempt-{i}"
        assert "attempt-" not in "".join(read.splitlines()[1:])


def test_a_call_outside_an_attempt_gets_a_sandbox_of_its_own(bwrap_backend):
    tool = CodeExecTool(bwrap_backend)
    before = set(os.listdir(sandbox_root()))
    assert parse(asyncio.run(tool.execute({"cmd": "echo once > f; cat f"}))) == (0, "once\n", "")
    assert parse(asyncio.run(tool.execute({"cmd": "cat f"})))[0] == 1  # nothing was kept
    assert set(os.listdir(sandbox_root())) == before


def test_leftovers_of_a_killed_run_are_removed_on_the_next_start(bwrap_backend, tmp_path):
    script = textwrap.dedent(
        """
        import asyncio, os, signal, sys
        from openseeker.sandbox.bwrap import BwrapBackend
        from openseeker.sandbox.settings import SandboxSettings

        async def main():
            backend = BwrapBackend(SandboxSettings(backend="bwrap"))
            backend.check()
            sandbox = await backend.create()
            await sandbox.run("echo left > behind.txt")
            print(sandbox.dir, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

        asyncio.run(main())
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == -signal.SIGKILL, done.stderr
    left = done.stdout.strip()
    assert os.path.isfile(os.path.join(left, "home", "behind.txt"))
    BwrapBackend(bwrap_backend.settings).check()  # the next start
    assert not os.path.exists(left)


def test_a_cancelled_call_leaves_nothing_running(bwrap_backend):
    tool = CodeExecTool(bwrap_backend)
    marker = f"sleep {5000 + os.getpid() % 1000}"

    async def go():
        async with tool.attempt():
            try:
                await asyncio.wait_for(tool.execute({"cmd": marker}), 0.5)  # the agent's tool timeout
            except TimeoutError:
                pass
            return parse(await tool.execute({"cmd": "echo next"}))

    assert asyncio.run(go()) == (0, "next\n", "")
    assert not any(p.isdigit() and _cmdline(p) == marker for p in os.listdir("/proc")), (
        "the cancelled call's process still runs"
    )


def _cmdline(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""
