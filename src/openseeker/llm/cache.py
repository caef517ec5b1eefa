"""Persistent response cache (SQLite) for chat calls.

The key is a sha256 over the sorted JSON of the full request payload (model, messages, tools, response_format,
sampling, seed, extra body), the endpoint identity and a *sample index*. Greedy calls (temperature 0) and
calls with an explicit seed use index 0, so identical requests share an entry. Sampled calls (temperature > 0
and no seed) get the index ``n`` = how many times this process already asked the same payload, so ``k``
rollouts of one prompt stay ``k`` different entries, and a re-run (resume) replays them in the same order
instead of collapsing them into one answer.

Batch runners should wrap each item in ``rollout_scope(item_id)``: the id then joins the key, so two rollouts of
the same prompt (pass@k, several trajectories per question) never share entries, and resuming a batch in which
some rollouts of a question already finished does not replay *their* samples for the remaining ones.

Disabled by ``cache: false`` on an endpoint or ``OPENSEEKER_NO_CACHE=1`` in the environment.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from openseeker.errors import UserError
from openseeker.sqlite_wal import connect_wal

log = logging.getLogger(__name__)

CACHE_FILE = "responses.sqlite"
SCHEMA = "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, created REAL, response TEXT)"


_ROLLOUT: ContextVar[str | None] = ContextVar("openseeker_llm_rollout", default=None)


@contextmanager
def rollout_scope(key: str) -> Iterator[None]:
    """Tag every LLM call made in this context (this asyncio task and the tasks it starts) with ``key``.

    Example:
        >>> async def run_item(item):                       # doctest: +SKIP
        ...     with rollout_scope(item["id"]):
        ...         return await agent.run(item["question"], id=item["id"])
    """
    token = _ROLLOUT.set(str(key))
    try:
        yield
    finally:
        _ROLLOUT.reset(token)


def current_rollout() -> str | None:
    return _ROLLOUT.get()


def cache_disabled_by_env() -> bool:
    return os.environ.get("OPENSEEKER_NO_CACHE", "").strip().lower() not in ("", "0", "false", "no")


def payload_hash(endpoint: str, payload: dict[str, Any], rollout: str | None = None) -> str:
    key: dict[str, Any] = {"endpoint": endpoint, "payload": payload}
    if rollout is not None:
        key["rollout"] = rollout
    blob = json.dumps(key, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def is_sampled(payload: dict[str, Any]) -> bool:
    """True when the request is stochastic: temperature > 0 (or unset, server default) and no seed."""
    temperature = payload.get("temperature")
    return (temperature is None or float(temperature) > 0) and payload.get("seed") is None


class ResponseCache:
    """A key -> response-JSON store in ``<cache_dir>/responses.sqlite`` (WAL; safe across processes)."""

    def __init__(self, cache_dir: str | Path):
        self.path = Path(cache_dir).expanduser() / CACHE_FILE
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = connect_wal(self.path, schema=SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise UserError(
                f"cannot open the LLM response cache {self.path}: {exc} "
                "(set cache_dir in the config, or OPENSEEKER_NO_CACHE=1)"
            ) from None
        self._lock = threading.Lock()
        self._sample_counts: dict[str, int] = defaultdict(int)
        self.hits = 0
        self.misses = 0

    def key(self, endpoint: str, payload: dict[str, Any]) -> str:
        """The cache key of this call; for sampled calls also advances the per-payload sample index."""
        base = payload_hash(endpoint, payload, _ROLLOUT.get())
        if not is_sampled(payload):
            return base
        with self._lock:
            index = self._sample_counts[base]
            self._sample_counts[base] += 1
        return hashlib.sha256(f"{base}:{index}".encode()).hexdigest()

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            with self._lock:
                row = self._db.execute("SELECT response FROM responses WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error as exc:  # a broken cache must never break a run
            log.warning("LLM cache read failed (%s); calling the endpoint", exc)
            return None
        if row is None:
            self.misses += 1
            return None
        try:
            value = json.loads(row[0])
        except ValueError:
            return None
        self.hits += 1
        return value

    def put(self, key: str, response: dict[str, Any]) -> None:
        try:
            with self._lock:
                self._db.execute(
                    "INSERT OR REPLACE INTO responses (key, created, response) VALUES (?, ?, ?)",
                    (key, time.time(), json.dumps(response, ensure_ascii=False)),
                )
        except sqlite3.Error as exc:
            log.warning("LLM cache write failed (%s); continuing without caching this response", exc)

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def clear(self) -> None:
        """Delete every entry (and give the space back)."""
        with self._lock:
            self._db.execute("DELETE FROM responses")
            self._db.execute("VACUUM")

    def close(self) -> None:
        with self._lock:
            try:
                self._db.close()
            except sqlite3.Error:
                pass
