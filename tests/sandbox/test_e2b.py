"""The e2b backend against the real E2B service: needs the SDK and E2B_API_KEY (skips otherwise, saying which)."""

from __future__ import annotations

import asyncio
import importlib.util
import os

import pytest
from sandbox_helpers import parse

from openseeker.sandbox.base import open_backend
from openseeker.sandbox.settings import SandboxSettings
from openseeker.sandbox.tool import CodeExecTool

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("e2b_code_interpreter") is None, reason="no e2b-code-interpreter"),
    pytest.mark.skipif(not os.environ.get("E2B_API_KEY"), reason="no E2B_API_KEY (E2B is a paid cloud service)"),
    pytest.mark.skipif(os.environ.get("OPENSEEKER_TEST_NETWORK") != "1", reason="tests reach loopback only"),
]


def test_e2b_attempt_keeps_files_and_reports_exit_codes():
    tool = CodeExecTool(open_backend(SandboxSettings(backend="e2b", timeout_s=60)))

    async def go():
        async with tool.attempt():
            a = parse(await tool.execute({"cmd": "echo 41 > n.txt"}))
            b = parse(await tool.execute({"cmd": "python - <<'PY'\nprint(int(open('n.txt').read()) + 1)\nPY"}))
            c = parse(await tool.execute({"cmd": "echo out; echo err >&2; exit 3"}))
        return a, b, c

    a, b, c = asyncio.run(go())
    assert a[0] == 0 and b == (0, "42\n", "") and c == (3, "out\n", "err\n")
