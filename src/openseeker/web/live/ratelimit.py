"""Per-backend token-bucket rate limiting; the retry backoff (equal jitter) and ``Retry-After`` parsing are
``openseeker.retry``'s, shared with the LLM client (re-exported here for the live web)."""

from __future__ import annotations

import asyncio
import time

from openseeker.retry import backoff_delay, parse_retry_after

__all__ = ["TokenBucket", "backoff_delay", "parse_retry_after"]


class TokenBucket:
    """``rate`` tokens/second, at most ``burst`` banked. ``await acquire()`` waits for a token.

    Args:
        rate: refill rate in tokens per second; ``<= 0`` disables limiting.
        burst: bucket capacity (requests that may go out back-to-back).
        clock: monotonic clock (injectable for tests).
        sleep: ``async sleep(seconds)`` (injectable with ``clock``, so tests assert the pacing, not wall time).
    """

    def __init__(self, rate: float, burst: int = 1, *, clock=time.monotonic, sleep=None):
        self.rate, self.capacity, self.clock = float(rate), max(1, int(burst)), clock
        self.sleep = sleep or asyncio.sleep
        self.tokens = float(self.capacity)
        self.updated = clock()
        self.waited_s = 0.0
        self._lock: asyncio.Lock | None = None
        self._lock_loop = None

    def _get_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        return self._lock

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    async def acquire(self) -> None:
        if self.rate <= 0:
            return
        async with self._get_lock():
            while True:
                self._refill()
                if self.tokens >= 1 - 1e-9:  # tolerance: a float refill may land a hair under 1 after the wait
                    self.tokens = max(self.tokens - 1, 0.0)
                    return
                wait = (1 - self.tokens) / self.rate
                self.waited_s += wait
                await self.sleep(wait)
