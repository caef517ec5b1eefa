"""``code_exec`` behind a server (``openseeker serve --code-exec``, ``openseeker mcp --code-exec``).

A server has no agent run to bound an attempt, so a sandbox belongs to a client's *session* (the ``session``
field of ``POST /code_exec``; one per MCP server process): created on the session's first call, removed when the
session has been idle for ``idle_s`` seconds, when there are more than ``max_sessions`` (the longest idle goes
first) and when the server stops. Whatever a killed server leaves behind is removed on the next start
(``openseeker.sandbox.bwrap.sweep_leftovers``).
"""

from __future__ import annotations

import asyncio
import time

from openseeker.sandbox.tool import EMPTY_CMD, MAX_STDERR_CHARS, Attempt, CodeExecTool, format_result
from openseeker.sandbox.tool import format_shell_results as _format

SESSION_CHARS = 128


class SandboxSessions:
    """Sandboxes keyed by client session, for servers (see the module docstring)."""

    def __init__(self, tool: CodeExecTool, *, idle_s: float = 600.0, max_sessions: int = 16):
        self.tool, self.idle_s, self.max_sessions = tool, idle_s, max_sessions
        self._sessions: dict[str, tuple[Attempt, float]] = {}
        self._lock = asyncio.Lock()

    async def _attempt(self, key: str) -> Attempt:
        async with self._lock:
            now = time.monotonic()
            stale = [k for k, (_, used) in self._sessions.items() if now - used > self.idle_s]
            if key not in self._sessions and len(self._sessions) - len(stale) >= self.max_sessions:
                stale.append(min(self._sessions, key=lambda k: self._sessions[k][1]))
            for k in stale:
                attempt, _ = self._sessions.pop(k)
                await attempt.close()
            attempt = self._sessions.get(key, (Attempt(self.tool.backend), now))[0]
            self._sessions[key] = (attempt, now)
            return attempt

    async def run(self, session: str, cmd: str) -> str:
        """The observation of ``cmd`` in ``session``'s sandbox (the agent's exact text; never raises)."""
        if not isinstance(cmd, str) or not cmd.strip():
            return EMPTY_CMD
        attempt = await self._attempt(str(session)[:SESSION_CHARS])
        try:
            return format_result(await attempt.run(cmd))
        except Exception as exc:  # noqa: BLE001 - the sandbox failed: the client reads why
            return _format(1, "", f"{type(exc).__name__}: {exc}"[:MAX_STDERR_CHARS])

    async def close(self) -> None:
        async with self._lock:
            sessions, self._sessions = self._sessions, {}
        for attempt, _ in sessions.values():
            await attempt.close()
