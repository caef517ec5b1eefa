"""Opening an SQLite file in WAL mode when other processes may be opening it at the same moment.

Why one helper: the ranks of a parallel run share files (the LLM response cache, the live web's page cache), and
they start together. Switching a *new* file to WAL answers "database is locked" at once when another process is
switching it too: SQLite's busy timeout does not cover that step. Measured with 6 processes opening one new file
at the same moment, 30 rounds: 9 rounds with a failure for the LLM cache, 6 for the live web cache; 0 for either
with the retry below (tests/test_sqlite_wal.py). Every WAL database the project connects to opens here (the
graph's attached staging file is switched by the one process that writes it).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

__all__ = ["connect_wal"]

RETRY_PAUSE_S = 0.05
RETRY_ATTEMPTS = 100  # ~5 s of retrying; a lock held longer than that is someone else's long write


def connect_wal(
    path: str | Path,
    *,
    schema: str = "",
    timeout: float = 30.0,
    isolation_level: str | None = None,
    check_same_thread: bool = False,
    attempts: int = RETRY_ATTEMPTS,
) -> sqlite3.Connection:
    """A connection to ``path`` in WAL mode with ``synchronous=NORMAL``, ``schema`` (idempotent SQL, e.g.
    ``CREATE TABLE IF NOT EXISTS``) applied. "database is locked" from the journal-mode switch or the schema is
    retried for ~5 s; other errors (and a lock that outlasts the retries) are raised as ``sqlite3.Error``."""
    for attempt in range(attempts):
        db = sqlite3.connect(
            str(path), timeout=timeout, isolation_level=isolation_level, check_same_thread=check_same_thread
        )
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            if schema:
                db.executescript(schema)
            return db
        except sqlite3.OperationalError as exc:
            db.close()
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(RETRY_PAUSE_S)
    raise AssertionError("unreachable")  # the last attempt returns or raises
