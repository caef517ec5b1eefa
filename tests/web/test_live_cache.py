"""Live-web plumbing: cache keys and TTL, token bucket, backoff."""

from __future__ import annotations

import asyncio
import random

import pytest

from openseeker.web.live.cache import SQLiteCache, normalize_query, normalize_url
from openseeker.web.live.ratelimit import TokenBucket, backoff_delay, parse_retry_after


def test_normalization():
    assert normalize_query("  Paris   CAPITAL ") == normalize_query("paris capital") == "paris capital"
    assert normalize_query("ＡＢＣ") == "abc"  # NFKC full-width
    assert normalize_url("HTTPS://Example.COM:443/a?b=1#frag") == "https://example.com/a?b=1"
    assert normalize_url("http://example.com:8080") == "http://example.com:8080/"
    assert normalize_url("http://example.com/A") != normalize_url("http://example.com/a")  # paths are case-sensitive


def test_sqlite_cache_ttl_and_persistence(tmp_path):
    path = tmp_path / "c.sqlite"
    cache = SQLiteCache(path)
    cache.put("search", "k", {"hits": [1, 2]}, ttl_s=60)
    cache.put("search", "old", {"x": 1}, ttl_s=-1)
    assert cache.get("search", "k") == {"hits": [1, 2]} and cache.get("page", "k") is None
    assert cache.get("search", "old") is None
    assert cache.purge_expired() == 1 and len(cache) == 1
    cache.close()
    assert SQLiteCache(path).get("search", "k") == {"hits": [1, 2]}


def test_token_bucket_paces_requests():
    now = [100.0]
    sleeps: list[float] = []

    async def fake_sleep(seconds):  # the injected clock advances by exactly what the bucket asked to wait
        sleeps.append(seconds)
        assert len(sleeps) < 100, "the bucket keeps waiting (float refill never reaches one token)"
        now[0] += seconds

    bucket = TokenBucket(rate=20.0, burst=2, clock=lambda: now[0], sleep=fake_sleep)

    async def go():
        for _ in range(6):
            await bucket.acquire()

    asyncio.run(go())
    # 2 free (burst), then 4 paced at 20/s: one 0.05 s wait each, 0.2 s in all
    assert sleeps == pytest.approx([0.05] * 4)
    assert now[0] - 100.0 == pytest.approx(0.2) and bucket.waited_s == pytest.approx(0.2)
    now[0] += 10  # idle: refills to the burst, never beyond
    asyncio.run(go())
    assert len(sleeps) == 8
    assert TokenBucket(rate=0).rate == 0  # disabled: acquire returns at once
    asyncio.run(TokenBucket(rate=0).acquire())


def test_backoff_is_bounded_and_honours_retry_after():
    rng = random.Random(0)
    delays = [backoff_delay(a, base=0.5, cap=8.0, rng=rng) for a in range(10)]
    assert all(0 < d <= 8.0 for d in delays) and delays[0] <= 0.5 and max(delays) > 2
    assert backoff_delay(0, retry_after=3) == 3 and backoff_delay(0, retry_after=3600, cap=8) == 8
    assert parse_retry_after("2") == 2.0 and parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") is None
