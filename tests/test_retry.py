"""The one backoff / Retry-After helper (openseeker.retry) that the LLM client and the live web share."""

from __future__ import annotations

import email.utils
import random
import time

from openseeker.retry import backoff_delay, parse_retry_after, retry_after_from_headers


def test_equal_jitter_bounds_and_cap():
    rng = random.Random(1)
    for attempt in range(12):
        ceiling = min(8.0, 0.5 * 2**attempt)
        for _ in range(50):
            d = backoff_delay(attempt, base=0.5, cap=8.0, rng=rng)
            assert ceiling / 2 <= d <= ceiling  # never below half the ceiling: equal jitter, not full jitter


def test_retry_after_wins_but_is_capped():
    assert backoff_delay(5, retry_after=1.5) == 1.5
    assert backoff_delay(0, retry_after=3600, cap=8) == 8
    assert backoff_delay(0, cap=30, retry_after=100, retry_after_cap=120) == 100
    assert 0.25 <= backoff_delay(0, retry_after=-1, rng=random.Random(0)) <= 0.5  # a negative value is ignored


def test_parse_retry_after_values():
    assert parse_retry_after("2") == 2.0 and parse_retry_after("0") == 0.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") is None  # past: the client's own backoff applies
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= parse_retry_after(future) <= 31


def test_headers_prefer_the_millisecond_header():
    assert retry_after_from_headers({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert retry_after_from_headers({"retry-after-ms": "x", "retry-after": "9"}) == 9.0
    assert retry_after_from_headers({}) is None and retry_after_from_headers(None) is None
