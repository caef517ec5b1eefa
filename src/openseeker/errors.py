"""Error hierarchy.

``UserError`` means the caller misused something (bad path, bad flag, malformed input file): the CLI prints
its message on one line and exits 2, never a traceback. Run errors (``LLMError``, ``ToolError``) are failures
of a component during a run; they carry enough context to say what failed.
"""

from __future__ import annotations

import re
import signal
from typing import ClassVar


class OpenSeekerError(Exception):
    """Base class of every error this package raises on purpose."""


class UserError(OpenSeekerError):
    """The caller misused the API or gave bad input. The message must say what to fix."""


class InputError(UserError):
    """A malformed input record, located by file and line (1-based) where there is one."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None):
        self.path, self.line, self.reason = path, line, message
        where = f"{path}:{line}: " if path and line else (f"{path}: " if path else "")
        super().__init__(f"{where}{message}")


class OutputError(OpenSeekerError):
    """An output could not be written (disk full, read-only file, permissions); the message names the file."""


class Interrupted(KeyboardInterrupt):
    """A run stopped by SIGINT or SIGTERM after saving what had finished; the CLI exits ``128 + signum``.

    A ``KeyboardInterrupt`` so that every cleanup path written for Ctrl-C runs for SIGTERM too. ``last`` is the
    signal of the latest one raised in this process: typer turns a ``KeyboardInterrupt`` into a bare exit code 130,
    and the CLI reads this to exit 143 for SIGTERM."""

    last: ClassVar[int | None] = None
    last_detail: ClassVar[str] = ""

    def __init__(self, signum: int = signal.SIGINT, detail: str = ""):
        super().__init__(detail)
        self.signum, self.detail = int(signum), detail
        Interrupted.last = int(signum)
        if detail:
            Interrupted.last_detail = detail


class LLMError(OpenSeekerError):
    """An LLM call failed after retries (endpoint down, non-retryable HTTP error, bad response)."""


# What endpoints say when the input does not fit (vLLM, SGLang, llama.cpp, OpenAI, Anthropic-compatible proxies).
CONTEXT_LENGTH_RE = re.compile(
    r"context.{0,20}(length|window|limit|size)|maximum context|exceeds? the (model|available)|too many tokens|"
    r"too long|reduce the length",
    re.IGNORECASE,
)


class ContextLengthError(LLMError):
    """The request does not fit the model's context window (HTTP 413, or 400 with a context-length message)."""


def is_context_length_error(exc: BaseException) -> bool:
    """A ``ContextLengthError``, or any failure whose message says the input was too long (clients that do not
    classify their errors raise plain ``LLMError``s)."""
    return isinstance(exc, ContextLengthError) or bool(CONTEXT_LENGTH_RE.search(str(exc)))


class ToolError(OpenSeekerError):
    """A tool failed in a way the agent should be told about (turned into an observation, never raised out)."""
