"""``code_exec``: OpenSeeker-v2's code tool, a shell command in the attempt's sandbox.

The interface is the authors' (``rui-ye/OpenSeeker``, ``src/tools/code_exec.py``), so their prompts, data and
models work unchanged: one function ``code_exec`` with one required string ``cmd``; the observation is
``<shell_results>`` holding ``<exit_code>``, ``<stdout>`` and ``<stderr>``, each HTML-escaped, stdout cut at 20,000
characters and stderr at 4,000, each cut marked. ``tests/sandbox/test_tool.py`` states their rules and checks ours.

Lifecycle: every call of one attempt (one ``Agent.run``) goes to one sandbox, created on the first call and
removed when the attempt ends (``CodeExecTool.attempt``; the agent opens it for every tool that has one). The
attempt is found through a context variable, so one tool object serves any number of concurrent rollouts, each
with its own sandbox. A call outside an attempt gets a sandbox of its own, removed after it.

``execute`` never raises into the agent: a sandbox failure is a ``<shell_results>`` with exit code 1 and the
reason on stderr, as in the authors' tool.
"""

from __future__ import annotations

import asyncio
import contextvars
import html
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from openseeker.sandbox.base import Backend, ExecResult, Sandbox

log = logging.getLogger(__name__)

NAME = "code_exec"
MAX_STDOUT_CHARS = 20_000
MAX_STDERR_CHARS = 4_000
TRUNCATION_MARKER = " [truncated due to length limit]"  # what the authors' models saw after a cut
EMPTY_CMD = "[ERROR]: cmd must be a non-empty string."

DESCRIPTION = (
    "Run a shell command in this task's own sandbox and get back its exit code, stdout and stderr.\n\n"
    "One sandbox serves every call of the current attempt: files you write and the working directory stay for "
    "the next call; never create or name a sandbox yourself. For Python, pipe a script to the interpreter, e.g. "
    "`python - <<'PY' ... PY`. Good for arithmetic, numeric work (numpy, scipy), symbolic math (sympy), parsing "
    "and transforming data, writing and reading files, and checking intermediate results. The sandbox has no "
    "network, and each call has time and memory limits.\n\n"
    "Args:\n"
    "    cmd: the shell command to run in the sandbox.\n\n"
    "Returns:\n"
    "    XML with the exit_code, stdout and stderr of the command."
)

CODE_EXEC_SCHEMA: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": NAME,
        "description": DESCRIPTION,
        "parameters": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"cmd": {"type": "string", "description": "The shell command to run in the sandbox."}},
            "required": ["cmd"],
        },
    },
}


def _cut(text: str, limit: int) -> str:
    return text[:limit] + TRUNCATION_MARKER if len(text) > limit else text


def format_shell_results(exit_code: int, stdout: str, stderr: str) -> str:
    """The observation the model reads: the authors' ``<shell_results>`` layout, cut, then escaped."""
    return (
        "<shell_results>\n"
        f"<exit_code>{html.escape(str(exit_code))}</exit_code>\n"
        f"<stdout>{html.escape(_cut(stdout, MAX_STDOUT_CHARS))}</stdout>\n"
        f"<stderr>{html.escape(_cut(stderr, MAX_STDERR_CHARS))}</stderr>\n"
        "</shell_results>"
    )


_RESULTS = re.compile(
    r"<shell_results>\n<exit_code>(.*?)</exit_code>\n<stdout>(.*?)</stdout>\n<stderr>(.*?)</stderr>\n</shell_results>",
    re.S,
)


def parse_shell_results(observation: str) -> tuple[str, str, str] | None:
    """``(exit_code, stdout, stderr)`` unescaped from an observation, or None when it is not one (the viewer shows
    code output this way; tests read it back)."""
    m = _RESULTS.fullmatch(observation.strip())
    return (html.unescape(m.group(1)), html.unescape(m.group(2)), html.unescape(m.group(3))) if m else None


def format_result(result: ExecResult) -> str:
    """A sandbox result as the observation; the sandbox's notes (a limit that stopped the command) open stderr,
    where a cut cannot drop them."""
    notes = "".join(f"[sandbox] {n}\n" for n in result.notes)
    return format_shell_results(result.exit_code, result.stdout, notes + result.stderr)


class Attempt:
    """The sandbox of one attempt, made on the first call (an attempt that never runs code costs nothing)."""

    def __init__(self, backend: Backend):
        self.backend = backend
        self.sandbox: Sandbox | None = None
        self.calls = 0
        self._lock = asyncio.Lock()

    async def run(self, cmd: str) -> ExecResult:
        async with self._lock:
            if self.sandbox is None:
                self.sandbox = await self.backend.create()
        self.calls += 1
        return await self.sandbox.run(cmd)

    async def close(self) -> None:
        sandbox, self.sandbox = self.sandbox, None
        if sandbox is not None:
            await asyncio.shield(sandbox.close())  # removed even when the attempt is being cancelled


class CodeExecTool:
    """The ``code_exec`` tool over a sandbox ``Backend`` (``openseeker.sandbox.open_backend``)."""

    name = NAME
    schema = CODE_EXEC_SCHEMA

    def __init__(self, backend: Backend):
        self.backend = backend
        self._current: contextvars.ContextVar[Attempt | None] = contextvars.ContextVar(
            f"code_exec_attempt_{id(self)}", default=None
        )

    @asynccontextmanager
    async def attempt(self) -> AsyncIterator[Attempt]:
        """One attempt's sandbox for every call made inside this block (and the tasks it starts)."""
        current = Attempt(self.backend)
        token = self._current.set(current)
        try:
            yield current
        finally:
            self._current.reset(token)
            await current.close()

    async def execute(self, arguments: dict[str, Any]) -> str:
        cmd = arguments.get("cmd", arguments.get("command")) if isinstance(arguments, dict) else None
        if not isinstance(cmd, str) or not cmd.strip():
            return EMPTY_CMD
        current = self._current.get()
        try:
            if current is not None:
                return format_result(await current.run(cmd))
            async with self.attempt() as once:  # no attempt open: a sandbox for this call alone
                return format_result(await once.run(cmd))
        except (TypeError, AttributeError, NameError, AssertionError):
            raise
        except Exception as exc:  # the sandbox itself failed: the agent reads why, the run goes on
            log.warning("code_exec: the sandbox failed: %s", exc)
            return format_shell_results(1, "", f"{type(exc).__name__}: {exc}"[:MAX_STDERR_CHARS])
