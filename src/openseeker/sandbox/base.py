"""The sandbox interface behind ``code_exec``: a backend makes one ``Sandbox`` per attempt; a sandbox runs commands.

Why one small interface: the tool, the agent's attempt lifecycle and the tests only ever see ``Backend.check``,
``Backend.create`` and ``Sandbox.run`` / ``Sandbox.close``, so the local bubblewrap sandbox and the authors' E2B
cloud sandbox are interchangeable (``agent.sandbox.backend`` in the config). Backends are registered in
``BACKENDS`` with lazy targets: naming ``e2b`` never imports the E2B SDK until it is chosen.

There is no unsandboxed backend, on purpose: when no backend works the run refuses at start (``open_backend``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from openseeker.errors import UserError
from openseeker.registry import Registry
from openseeker.sandbox.settings import SandboxSettings


@dataclass
class ExecResult:
    """What one command did. ``stdout`` / ``stderr`` are already bounded by the backend (the tool cuts them again
    to the published limits); ``notes`` say why the sandbox stopped the command (a limit), for the agent to read.

    Attributes:
        exit_code: the shell's exit status (128+N when a signal N ended it; 124 on the wall-time limit).
        stdout: standard output (decoded UTF-8, invalid bytes replaced).
        stderr: standard error, followed by the sandbox's notes.
        notes: the limits that stopped the command, one short sentence each.
    """

    exit_code: int
    stdout: str
    stderr: str
    notes: list[str]


class Sandbox(Protocol):
    """One attempt's sandbox: files and the working directory persist across ``run`` calls until ``close``."""

    async def run(self, cmd: str) -> ExecResult:
        """Run ``cmd`` with ``bash -c``; never raises for what the command did (limits become notes)."""
        ...

    async def close(self) -> None:
        """Remove everything the sandbox holds (idempotent)."""
        ...


class Backend(Protocol):
    """A kind of sandbox. ``check`` refuses with a ``UserError`` naming the fix when the backend cannot run here."""

    name: str

    def check(self) -> None: ...

    async def create(self) -> Sandbox: ...

    def describe(self) -> dict[str, Any]: ...


BACKENDS: Registry[Any] = Registry("sandbox backend")
BACKENDS.register("bwrap", "openseeker.sandbox.bwrap:BwrapBackend", aliases=("bubblewrap",))
BACKENDS.register("e2b", "openseeker.sandbox.e2b:E2BBackend")


def open_backend(settings: SandboxSettings | dict[str, Any] | None = None) -> Backend:
    """The configured backend, checked now (a refusal is one line naming the fix; never a silent fallback).

    ``auto`` is ``bwrap``: the local sandbox is the default wherever it works, and where it does not the refusal
    says how to make it work or how to choose ``e2b`` instead.
    """
    s = settings if isinstance(settings, SandboxSettings) else SandboxSettings.model_validate(settings or {})
    if s.backend == "none":
        raise UserError(
            "the code_exec tool needs a sandbox but agent.sandbox.backend is 'none': set it to bwrap or e2b, "
            "or drop code_exec from agent.tools"
        )
    name = "bwrap" if s.backend == "auto" else s.backend
    backend = BACKENDS.get(name)(s)
    try:
        backend.check()
    except UserError as exc:
        if s.backend == "auto":
            raise UserError(f"{exc} (or set agent.sandbox.backend: e2b)") from None
        raise
    return backend
