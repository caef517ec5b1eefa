"""Sandboxes for the ``code_exec`` tool: ``open_backend`` (bwrap | e2b), ``CodeExecTool``. See docs/code-tool.md.

Names are imported lazily so that ``openseeker --help`` does not load the sandbox stack.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "BACKENDS": "openseeker.sandbox.base",
    "ExecResult": "openseeker.sandbox.base",
    "open_backend": "openseeker.sandbox.base",
    "SandboxSettings": "openseeker.sandbox.settings",
    "CodeExecTool": "openseeker.sandbox.tool",
    "CODE_EXEC_SCHEMA": "openseeker.sandbox.tool",
    "format_shell_results": "openseeker.sandbox.tool",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'openseeker.sandbox' has no attribute {name!r}")
