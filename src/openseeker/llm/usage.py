"""Usage accounting, one way: a ``UsageMeter`` adds ``Usage`` per key.

Three scopes use it: the ``LLMPool`` keeps one keyed by role (every endpoint call of the process), an agent
rollout opens one with ``metering`` so that secondary calls made on its behalf (the visit extractor, the
retrospective summarizer) reach ``Trajectory.usage`` through ``record_usage``, and QA synthesis keeps one per
candidate keyed by stage (``openseeker.synth.qa.llmcall.Meter``).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

from openseeker.records import Usage


class UsageMeter:
    """``Usage`` per key (a role or a stage), additive."""

    def __init__(self, keys: tuple[str, ...] = ()):
        self.by_key: dict[str, Usage] = {k: Usage() for k in keys}

    def add(self, key: str, usage: Usage) -> None:
        self.by_key.setdefault(key, Usage()).add(usage)

    def total(self) -> Usage:
        out = Usage()
        for u in self.by_key.values():
            out.add(u)
        return out

    def snapshot(self) -> dict[str, Usage]:
        """Copies, safe to keep while the meter goes on counting."""
        return {k: u.model_copy() for k, u in self.by_key.items()}


_current: contextvars.ContextVar[UsageMeter | None] = contextvars.ContextVar("openseeker_usage", default=None)


@contextmanager
def metering(meter: UsageMeter) -> Iterator[UsageMeter]:
    """Within this block (and the tasks it starts), ``record_usage`` adds to ``meter``."""
    token = _current.set(meter)
    try:
        yield meter
    finally:
        _current.reset(token)


def record_usage(key: str, usage: Usage) -> None:
    """Add ``usage`` under ``key`` to the meter of the enclosing ``metering`` block, if any."""
    meter = _current.get()
    if meter is not None:
        meter.add(key, usage)
