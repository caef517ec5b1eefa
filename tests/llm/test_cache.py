"""The LLM response cache opened by several processes at once (the ranks of a parallel run share it)."""

from __future__ import annotations

import multiprocessing as mp


def _open(directory: str, barrier, errors) -> None:
    from openseeker.llm.cache import ResponseCache

    barrier.wait()
    try:
        ResponseCache(directory)
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        errors.put(str(exc))


def test_processes_opening_a_new_cache_at_once_all_succeed(tmp_path):
    """Before the retry, 9 of 30 rounds of 6 processes had one fail with "database is locked" (the journal-mode
    switch of a new file does not wait for SQLite's busy timeout): 20 rounds pass by chance with p < 0.001."""
    ctx = mp.get_context("fork")
    errors = ctx.Queue()
    for round_ in range(20):
        barrier = ctx.Barrier(6)
        procs = [ctx.Process(target=_open, args=(str(tmp_path / str(round_)), barrier, errors)) for _ in range(6)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(timeout=60)
        assert all(p.exitcode == 0 for p in procs)
    assert errors.empty(), errors.get()
