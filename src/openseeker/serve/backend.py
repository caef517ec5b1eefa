"""What a failing web backend means for a client: transient (retry later) or permanent (fix the server).

RL frameworks retry server errors blindly: verl's ``call_search_api`` (``verl/tools/utils/search_r1_like_utils.py``)
retries HTTP 500/502/503/504 and connection errors up to 10 times with delays 1+2+...+9 s = 45 s per tool call,
and gives up at once on any other status. So the status code carries the distinction:

=============  ====================================================  ===================================
kind           examples                                              HTTP answer
=============  ====================================================  ===================================
transient      rate limited (429), upstream 5xx, timeout, network    503 + ``Retry-After`` (retried)
permanent      bad API key (401/403), request refused (4xx),         424 Failed Dependency (not retried)
               misconfiguration (``UserError``), malformed answer
unexpected     anything else (a bug in a backend)                    502 Bad Gateway
=============  ====================================================  ===================================

``BackendHealth`` remembers recent outcomes so ``/health`` reflects the backend instead of the HTTP stack.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from openseeker.errors import ToolError, UserError

TRANSIENT, PERMANENT, UNEXPECTED = "transient", "permanent", "unexpected"
STATUS = {TRANSIENT: 503, PERMANENT: 424, UNEXPECTED: 502}
DEFAULT_RETRY_AFTER_S = 5


@dataclass
class BackendFailure:
    kind: str
    message: str
    retry_after: float | None = None

    @property
    def status(self) -> int:
        return STATUS[self.kind]

    def body(self) -> dict[str, Any]:
        return {
            "detail": f"search backend failed: {self.message}",
            "error": {"kind": self.kind, "retryable": self.kind == TRANSIENT},
        }

    def headers(self) -> dict[str, str]:
        if self.kind != TRANSIENT:
            return {}
        return {"Retry-After": str(max(1, round(self.retry_after or DEFAULT_RETRY_AFTER_S)))}


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def classify(exc: BaseException) -> BackendFailure:
    """Sort a backend exception into transient / permanent / unexpected (looking through its cause chain)."""
    from openseeker.web.live.search_backends import BackendError

    message = str(exc) if isinstance(exc, (ToolError, UserError)) else f"{type(exc).__name__}: {exc}"
    links = list(_chain(exc))
    # LiveWeb re-raises a retryable error it gave up on as a new BackendError (context: the original), so every
    # BackendError in the chain counts: any retryable one (or a 429 / 5xx status) makes the failure transient.
    backend_errors = [link for link in links if isinstance(link, BackendError)]
    if backend_errors:
        transient = [b for b in backend_errors if b.retryable or b.status == 429 or b.status >= 500]
        if transient:
            after = next((b.retry_after for b in transient if b.retry_after is not None), None)
            return BackendFailure(TRANSIENT, message, after)
        return BackendFailure(PERMANENT, message)
    for link in links:
        if isinstance(link, UserError):
            return BackendFailure(PERMANENT, message)
        if isinstance(link, (asyncio.TimeoutError, TimeoutError, ConnectionError, httpx.TransportError)):
            return BackendFailure(TRANSIENT, message)
    return BackendFailure(UNEXPECTED, message)


@dataclass
class BackendHealth:
    """Outcomes of the backend calls the server made, for ``/health``.

    The status is ``failing`` once ``threshold`` consecutive calls failed, or right after a permanent failure
    (one bad-key answer is enough: it will not fix itself); ``degraded`` after fewer transient failures;
    ``ok`` otherwise (including before the first call). A success resets it.
    """

    threshold: int = 3
    clock: Any = time.time
    calls: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    last_failure: BackendFailure | None = None
    last_failure_at: float | None = None
    last_success_at: float | None = None
    by_kind: dict[str, int] = field(default_factory=dict)

    def success(self) -> None:
        self.calls += 1
        self.consecutive_failures = 0
        self.last_success_at = self.clock()

    def failure(self, failure: BackendFailure) -> None:
        self.calls += 1
        self.failures += 1
        self.consecutive_failures += 1
        self.last_failure, self.last_failure_at = failure, self.clock()
        self.by_kind[failure.kind] = self.by_kind.get(failure.kind, 0) + 1

    @property
    def status(self) -> str:
        if self.consecutive_failures == 0:
            return "ok"
        if self.consecutive_failures >= self.threshold or (self.last_failure and self.last_failure.kind == PERMANENT):
            return "failing"
        return "degraded"

    def report(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "status": self.status,
            "calls": self.calls,
            "failures": self.failures,
            "consecutive_failures": self.consecutive_failures,
            "failures_by_kind": self.by_kind,
            "last_success_at": self.last_success_at,
        }
        if self.last_failure is not None:
            out["last_error"] = {
                "kind": self.last_failure.kind,
                "message": self.last_failure.message,
                "at": self.last_failure_at,
            }
        return out
