"""Retry pacing shared by every client that talks to a remote service: the LLM client (``llm/client.py``) and
the live-web search backends (``web/live``).

``backoff_delay`` is capped exponential backoff with *equal jitter*: the delay before retry ``attempt``
(0-based) is uniform in ``[c/2, c]`` with ``c = min(cap, base * 2**attempt)``. Half the ceiling is always waited
(a burst of failing clients still backs off), the other half is random (they do not retry in lockstep). A
server's ``Retry-After`` wins over the formula but is capped too, so a hostile or mistaken value cannot stall a
run. ``retry_after_from_headers`` reads ``retry-after-ms`` (OpenAI-style) and ``Retry-After`` (seconds or an
HTTP date, RFC 9110 section 10.2.3).

Example:
    >>> import random
    >>> 0.25 <= backoff_delay(0, base=0.5, cap=8.0, rng=random.Random(0)) <= 0.5
    True
    >>> backoff_delay(3, retry_after=2.0)
    2.0
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Mapping
from typing import Any


def backoff_delay(
    attempt: int,
    *,
    base: float = 0.5,
    cap: float = 8.0,
    retry_after: float | None = None,
    retry_after_cap: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before retry ``attempt`` (0-based).

    Args:
        attempt: retries already waited for (0 for the first retry).
        base: the first ceiling (seconds); it doubles per attempt.
        cap: the largest ceiling (seconds).
        retry_after: the server's ``Retry-After`` in seconds, if it sent one (a negative value is ignored).
        retry_after_cap: the longest ``Retry-After`` honoured (default: ``cap``).
        rng: random source (tests pass a seeded ``random.Random``).
    """
    if retry_after is not None and retry_after >= 0:
        return min(cap if retry_after_cap is None else retry_after_cap, retry_after)
    ceiling = min(cap, base * (2**attempt))
    return ceiling * (0.5 + (rng or random).random() / 2)  # equal jitter: uniform in [ceiling/2, ceiling]


def parse_retry_after(value: str | None) -> float | None:
    """One ``Retry-After`` value: delta-seconds, or an HTTP date still in the future; None when absent,
    unparseable or already past (then the client's own backoff applies)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        wait = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
    except (TypeError, ValueError, IndexError):
        return None
    return wait if wait > 0 else None


def retry_after_from_headers(headers: Mapping[str, Any] | None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` (preferred, OpenAI's finer header) or ``Retry-After``, else None.
    ``headers`` must look names up case-insensitively (httpx, aiohttp and the openai SDK's headers do)."""
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    return parse_retry_after(headers.get("retry-after"))
