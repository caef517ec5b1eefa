"""SQLite files opened in WAL mode by several processes at the same moment (openseeker.sqlite_wal)."""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
import time

import pytest

from openseeker.errors import UserError
from openseeker.sqlite_wal import connect_wal


def _open_llm_cache(path: str) -> None:
    from openseeker.llm.cache import ResponseCache

    ResponseCache(path).put("k", {"choices": []})


def _open_live_cache(path: str) -> None:
    from openseeker.web.live.cache import SQLiteCache

    SQLiteCache(path).put("page", "https://example.org/", {"title": "x"}, 60)


def _open_at_once(opener, path: str, barrier, errors) -> None:
    barrier.wait()
    try:
        opener(path)
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        errors.put(repr(exc))


@pytest.mark.parametrize("opener", [_open_llm_cache, _open_live_cache], ids=["llm-cache", "live-web-cache"])
def test_processes_opening_a_new_shared_file_at_once_all_succeed(tmp_path, opener):
    """Before the shared retry, 9 (LLM cache) and 6 (live web cache) of 30 rounds of 6 processes had one fail
    with "database is locked": 20 rounds pass by chance with p < 0.001 and p ~ 0.01."""
    ctx = mp.get_context("fork")
    errors = ctx.Queue()
    for round_ in range(20):
        barrier = ctx.Barrier(6)
        path = str(tmp_path / f"{round_}.sqlite")
        procs = [ctx.Process(target=_open_at_once, args=(opener, path, barrier, errors)) for _ in range(6)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(timeout=60)
        assert all(p.exitcode == 0 for p in procs)
        assert errors.empty(), errors.get()


def test_the_schema_is_applied_and_wal_is_on(tmp_path):
    db = connect_wal(tmp_path / "a.sqlite", schema="CREATE TABLE IF NOT EXISTS t (x INTEGER)")
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    db.execute("INSERT INTO t VALUES (1)")
    again = connect_wal(tmp_path / "a.sqlite", schema="CREATE TABLE IF NOT EXISTS t (x INTEGER)")
    assert again.execute("SELECT x FROM t").fetchall() == [(1,)]


def test_errors_other_than_locked_are_raised_at_once(tmp_path):
    t = time.perf_counter()
    with pytest.raises(sqlite3.OperationalError, match="unable to open"):
        connect_wal(tmp_path / "missing-folder" / "a.sqlite")
    assert time.perf_counter() - t < 1.0  # not retried for 5 s


def test_a_live_cache_that_cannot_be_opened_is_a_clear_error(tmp_path):
    from openseeker.web.live.cache import SQLiteCache

    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(UserError, match="cannot open the live web cache .*a-file"):
        SQLiteCache(tmp_path / "a-file" / "cache.sqlite")
