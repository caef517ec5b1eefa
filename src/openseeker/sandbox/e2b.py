"""The authors' sandbox: an E2B cloud sandbox per attempt (``e2b-code-interpreter``, ``E2B_API_KEY``).

For parity with OpenSeeker-v2's own runs. Optional: the SDK is imported only when this backend is chosen, and a
missing SDK or key is a one-line refusal at start. Network calls go to E2B only, the service the user chose.

One difference from the authors' runner, on purpose: their ``commands.run`` call lets the SDK raise on a non-zero
exit, so a failing command came back as exit code 1 with the exception text and no stdout; here the command's
own exit code, stdout and stderr are reported, as the bwrap backend does.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from openseeker.errors import UserError
from openseeker.sandbox.base import ExecResult
from openseeker.sandbox.settings import SandboxSettings

INSTALL_HINT = "pip install 'openseeker[e2b]' (or pip install e2b-code-interpreter)"


def _sandbox_class() -> Any:
    try:
        from e2b_code_interpreter import Sandbox
    except ImportError:
        raise UserError(f"code_exec: the e2b backend needs the E2B SDK: {INSTALL_HINT}") from None
    return Sandbox


class E2BBackend:
    """E2B sandboxes: one per attempt, killed when the attempt ends (and by E2B itself after its timeout)."""

    name = "e2b"

    def __init__(self, settings: SandboxSettings | None = None):
        self.settings = settings or SandboxSettings(backend="e2b")

    def check(self) -> None:
        _sandbox_class()
        if not os.environ.get("E2B_API_KEY"):
            raise UserError("code_exec: the e2b backend needs an API key: export E2B_API_KEY=... (from e2b.dev)")

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "template": self.settings.e2b_template, "timeout_s": self.settings.timeout_s}

    async def create(self) -> E2BSandbox:
        self.check()
        return E2BSandbox(self.settings)


class E2BSandbox:
    """One E2B sandbox, created on the first call (creation is the slow, billed part)."""

    def __init__(self, settings: SandboxSettings):
        self.settings = settings
        self._sandbox: Any = None
        self._lock = asyncio.Lock()

    def _create(self) -> Any:
        kwargs: dict[str, Any] = {"api_key": os.environ.get("E2B_API_KEY"), "timeout": 600}
        if self.settings.e2b_template:
            kwargs["template"] = self.settings.e2b_template
        cls = _sandbox_class()
        create = getattr(cls, "create", None)
        return create(**kwargs) if callable(create) else cls(**kwargs)

    def _run(self, cmd: str) -> ExecResult:
        from e2b import CommandExitException, TimeoutException

        if self._sandbox is None:
            self._sandbox = self._create()
        try:
            r = self._sandbox.commands.run(cmd, timeout=self.settings.timeout_s)
        except CommandExitException as exc:  # a non-zero exit: the SDK raises, the result is on the exception
            r = exc
        except TimeoutException:
            note = f"killed: the call ran longer than {self.settings.timeout_s:g} s (wall-time limit)"
            return ExecResult(124, "", "", [note])
        return ExecResult(int(r.exit_code or 0), str(r.stdout or ""), str(r.stderr or ""), [])

    async def run(self, cmd: str) -> ExecResult:
        async with self._lock:
            return await asyncio.to_thread(self._run, cmd)

    async def close(self) -> None:
        sandbox, self._sandbox = self._sandbox, None
        if sandbox is not None:
            try:
                await asyncio.to_thread(sandbox.kill)
            except Exception:  # already gone (E2B's own timeout): nothing left to remove
                pass
