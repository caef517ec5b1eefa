"""A persistent SQLite TTL cache for live search results and fetched pages.

Keys are ``kind`` + a normalized key (see ``normalize_query`` / ``normalize_url``) + the backend. Only successes
are stored: a failed call is never cached, so a transient 500 does not poison later runs.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import unicodedata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from openseeker.errors import UserError
from openseeker.sqlite_wal import connect_wal

log = logging.getLogger(__name__)

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS cache (kind TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, "
    "created REAL NOT NULL, expires REAL NOT NULL, PRIMARY KEY (kind, key))"
)


def normalize_query(query: str) -> str:
    """NFKC, case-folded, whitespace collapsed: ``"  Paris  CAPITAL"`` and ``"paris capital"`` share an entry."""
    return " ".join(unicodedata.normalize("NFKC", query).casefold().split())


def normalize_url(url: str) -> str:
    """Lower-case scheme and host, drop the fragment and default ports; path and query are kept as-is."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = (
        parts.port
        if parts.port and not (scheme == "http" and parts.port == 80 or scheme == "https" and parts.port == 443)
        else None
    )
    netloc = f"[{host}]" if ":" in host else host
    if port:
        netloc += f":{port}"
    if parts.username:
        netloc = f"{parts.username}{':' + parts.password if parts.password else ''}@{netloc}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


class SQLiteCache:
    """``get(kind, key)`` / ``put(kind, key, value, ttl_s)`` over one SQLite file (JSON values).

    Args:
        path: database file; ``None`` keeps it in memory (for tests and ``cache.path: null``).
    """

    def __init__(self, path: str | Path | None):
        self.path = str(Path(path).expanduser()) if path else ":memory:"
        self._lock = threading.Lock()
        if not path:
            self._db = sqlite3.connect(self.path, check_same_thread=False)
            self._db.executescript(SCHEMA)
            return
        try:  # shared by the ranks of a parallel run, which open it together
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._db = connect_wal(self.path, schema=SCHEMA, isolation_level="")
        except (OSError, sqlite3.Error) as exc:
            raise UserError(
                f"cannot open the live web cache {self.path}: {exc} (set cache.path in the live web "
                "config, or cache.enabled: false)"
            ) from None

    def get(self, kind: str, key: str) -> Any | None:
        with self._lock:
            row = self._db.execute("SELECT value, expires FROM cache WHERE kind=? AND key=?", (kind, key)).fetchone()
        if row is None:
            return None
        value, expires = row
        if expires < time.time():
            return None
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            log.warning("cache %s: corrupt entry %s/%s ignored", self.path, kind, key)
            return None

    def put(self, kind: str, key: str, value: Any, ttl_s: float) -> None:
        now = time.time()
        blob = json.dumps(value, ensure_ascii=False)
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO cache VALUES (?, ?, ?, ?, ?)", (kind, key, blob, now, now + ttl_s)
            )
            self._db.commit()

    def purge_expired(self) -> int:
        with self._lock:
            cur = self._db.execute("DELETE FROM cache WHERE expires < ?", (time.time(),))
            self._db.commit()
            return cur.rowcount

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM cache").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
