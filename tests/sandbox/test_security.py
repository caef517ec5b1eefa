"""The security matrix of the bwrap sandbox, attacked through the ``code_exec`` tool as a model would attack it.

For each attack: the host is unharmed (checked from outside), the attempt goes on (the next call in the same
sandbox works) and the agent reads a clear result (an error, a limit note, or nothing it should not see).
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from pathlib import Path

from sandbox_helpers import parse

import openseeker
from openseeker.sandbox.tool import CodeExecTool

PROJECT = Path(openseeker.__file__).resolve().parents[2]


async def attack(backend, *cmds: str) -> list[tuple[int, str, str]]:
    """Run ``cmds`` in one attempt, then a harmless call that must still work; the results of ``cmds``."""
    tool = CodeExecTool(backend)
    async with tool.attempt():
        results = [parse(await tool.execute({"cmd": c})) for c in cmds]
        assert parse(await tool.execute({"cmd": "echo still-here"})) == (0, "still-here\n", "")
    return results


def test_reading_outside_the_work_directory_is_impossible(bwrap_backend):
    secret_in_root = next((p for p in (Path("/root/.bashrc"), Path("/root/.profile")) if p.is_file()), None)
    cmds = [
        f"cat {PROJECT / 'pyproject.toml'}",
        f"ls {PROJECT}",
        "cat /etc/shadow",
        "ls -a /root; ls -a /root/.ssh",
        f"cat {secret_in_root or '/root/.bashrc'}",
        "ls /home",
    ]
    (proj, proj_ls, shadow, root_ls, root_file, home) = asyncio.run(attack(bwrap_backend, *cmds))
    assert proj[0] != 0 and "No such file" in proj[2] and "[project]" not in proj[1]
    assert proj_ls[0] != 0 and proj_ls[1] == ""
    assert shadow[0] != 0 and shadow[1] == ""
    # /root holds at most the way down to the Python the sandbox offers (pyenv lives there on some machines)
    assert set(root_ls[1].split()) <= {".", "..", ".pyenv"}, root_ls
    assert root_file[0] != 0 and root_file[1] == ""
    assert home[1].split() == ["user"]


def test_writing_outside_the_work_directory_is_impossible(bwrap_backend, tmp_path):
    target = tmp_path / "pwned"
    cmds = [f"echo x > {target}", "echo x > /usr/pwned", "echo x > /etc/pwned", f"echo x > {PROJECT}/pwned"]
    results = asyncio.run(attack(bwrap_backend, *cmds))
    for exit_code, _, stderr in results:
        assert exit_code != 0 and stderr
    assert not target.exists() and not Path("/usr/pwned").exists() and not (PROJECT / "pwned").exists()


def test_no_network_not_even_a_server_on_this_hosts_loopback(bwrap_backend):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    accepted = []

    def accept() -> None:
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            try:
                accepted.append(server.accept())
            except (TimeoutError, OSError):
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    code = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2); print('connected')"
    ((exit_code, stdout, stderr),) = asyncio.run(attack(bwrap_backend, f'python -c "{code}"'))
    t.join()
    server.close()
    assert exit_code == 1 and "connected" not in stdout
    assert "ConnectionRefusedError" in stderr
    assert accepted == []


def test_fork_bomb_is_contained(bwrap_backend, limits):
    bomb = (
        "python - <<'PY'\nimport os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\nPY"
    )
    t0 = time.monotonic()
    ((exit_code, _, stderr),) = asyncio.run(attack(bwrap_backend, bomb))
    assert time.monotonic() - t0 < limits.timeout_s + 10
    assert exit_code == 124 and "wall-time limit" in stderr


def test_endless_loop_is_stopped(bwrap_backend, limits):
    ((exit_code, _, stderr),) = asyncio.run(attack(bwrap_backend, "while true; do :; done"))
    # the CPU limit (3 s) or the wall-time limit (4 s) ends it, and the agent is told which
    assert (exit_code == 152 and "[sandbox] stopped: CPU time limit (3 s per process)" in stderr) or (
        exit_code == 124 and "[sandbox] killed: the call ran longer than 4 s" in stderr
    )


def test_a_2_gb_allocation_fails_inside_the_sandbox(bwrap_backend):
    ((exit_code, _, stderr),) = asyncio.run(attack(bwrap_backend, "python -c 'b = bytearray(2 * 1024**3)'"))
    assert exit_code == 1 and "MemoryError" in stderr and "memory limit: 1024 MiB" in stderr


def test_100_mb_of_output_is_cut_and_the_call_stopped(bwrap_backend):
    t0 = time.monotonic()
    ((exit_code, stdout, stderr),) = asyncio.run(
        attack(bwrap_backend, "head -c 100000000 /dev/zero | tr '\\0' a; echo done")
    )
    assert time.monotonic() - t0 < 20
    assert "more than 8 MiB of output" in stderr and exit_code != 0
    assert stdout == "a" * 20_000 + " [truncated due to length limit]"


def test_a_background_process_does_not_outlive_its_call(bwrap_backend):
    marker = f"sleep {4000 + os.getpid() % 1000}"
    cmds = [f"({marker} &); nohup {marker} >/dev/null 2>&1 & setsid {marker} & echo started"]
    t0 = time.monotonic()
    ((exit_code, stdout, _),) = asyncio.run(attack(bwrap_backend, *cmds))
    assert exit_code == 0 and stdout == "started\n" and time.monotonic() - t0 < 10
    alive = []
    for entry in Path("/proc").iterdir():
        try:
            if (
                entry.name.isdigit()
                and (entry / "cmdline").read_bytes().replace(b"\0", b" ").strip() == marker.encode()
            ):
                alive.append(entry.name)
        except OSError:
            continue
    assert alive == []


def test_symlinks_out_of_the_work_directory_lead_nowhere(bwrap_backend, tmp_path):
    outside = tmp_path / "host-dir"
    outside.mkdir()
    (outside / "keep.txt").write_text("host file")
    cmds = [
        f"ln -s {outside} link && ls link/",
        "ln -s /etc/shadow shadow && cat shadow",
        f"ln -s {PROJECT} project && ls project/",
    ]
    tool = CodeExecTool(bwrap_backend)

    async def go():
        async with tool.attempt() as attempt:
            results = [parse(await tool.execute({"cmd": c})) for c in cmds]
            workdir = attempt.sandbox.dir
        return results, workdir

    results, workdir = asyncio.run(go())
    for exit_code, stdout, _ in results:
        assert exit_code != 0 and stdout == ""
    assert not workdir.exists()  # the attempt's directory went away with its symlinks ...
    assert (outside / "keep.txt").read_text() == "host file"  # ... without following them
