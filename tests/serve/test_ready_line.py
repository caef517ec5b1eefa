"""The "serving on" line of `openseeker serve` and `openseeker mcp --transport http` is a promise a script acts on:
when it appears, the port must already accept connections (importing the stack and entering the lifespan take
seconds, longer when several servers start together)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading

import pytest
from serve_helpers import free_port, small_web


@pytest.mark.parametrize("command", [["serve"], ["mcp", "--transport", "http"]])
def test_the_port_accepts_when_the_line_appears(tmp_path, command):
    web_dir, port = small_web(tmp_path), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "openseeker.cli.main", *command, "--web", str(web_dir), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    watchdog = threading.Timer(120, proc.kill)  # a server that hangs silently ends the read loop below
    watchdog.start()
    try:
        seen = []
        for line in proc.stderr:
            seen.append(line)
            if f"http://127.0.0.1:{port}" in line:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    pass  # ConnectionRefusedError here: the line came before the server listened
                break
        else:
            pytest.fail(f"the server exited (or hung 120 s) without announcing the port: {''.join(seen)[-2000:]}")
    finally:
        watchdog.cancel()
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
