"""The executor contract every batch stage runs on (agent run, eval run, synth qa, synth traj, web import...).

A *stage* is a picklable object with one hook, ``process(item) -> Outcome``, plus ``open()`` for the resources a
worker needs (an LLM pool, a web). An *executor* runs a stage over items:

- **Sharding.** Item ``id`` goes to rank ``shard_of(id, world_size)`` (a stable hash, the same on every machine and
  Python), so a rank always owns the same ids whatever backend runs it (datatrove shards files with
  ``files[rank::world_size]``; we shard items by id so resuming never moves an id to another rank).
- **Outputs.** With one worker the stage writes straight into the files the user named. With ``world_size > 1``
  rank ``r`` writes ``<shard dir>/<stream>-{r:05d}.jsonl`` (resumable, keyed by id), ``stats/{r:05d}.json``
  (additive counters) and, once every id it owns is done, the empty marker ``completions/{r:05d}`` (datatrove's
  ``completions/{rank:05d}``). Once no rank runs any more - all done, items failing, a rank killed, Ctrl-C - what
  they finished is **merged** into the user's files in the input order (deterministic: the same bytes modulo
  timings whichever backend ran), and the shard dir is removed: what finished is never held back by what did not.
- **Resume.** Ids already in the final files or in the rank's shard are skipped; a rank killed mid-run (even
  SIGKILL) leaves at most a torn last line, cut off on the next open; re-running the same command finishes the
  missing ids and merges: every id exactly once.
- **One writer.** A run holds the lock of its output (``Stage.output``, ``openseeker.outlock``) from before it reads
  what is done until after the merge (``engine.run_locks``); workers die with their parent (``supervise``).
- **Failures.** An item whose ``Outcome.failed`` is set (an endpoint still failing after retries) is written to the
  ``.failed`` sidecar, not to the output, and is retried by the next run; the sidecar is kept to one line per id
  still failing (``engine.compact_failed``).

Backends: ``local`` (``LocalExecutor``: in-process for one worker, N spawned processes otherwise) and ``ray``
(``RayExecutor``: N Ray tasks on an existing or a local cluster), both running ``openseeker.executors.engine``.

Example:
    >>> from openseeker.executors import get_executor                      # doctest: +SKIP
    >>> summary = get_executor("local", workers=2).run(stage, items)       # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from openseeker.errors import UserError

SHARD_DIR_SUFFIX = ".shards"


def shard_of(item_id: str, world_size: int) -> int:
    """The rank that owns ``item_id``: a stable hash (blake2b), never Python's salted ``hash``."""
    if world_size <= 1:
        return 0
    digest = hashlib.blake2b(str(item_id).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % world_size


@dataclass
class Outcome:
    """What ``Stage.process`` returns for one item.

    Args:
        records: stream name -> records to append (all streams of one item are written in one group commit, in
            the order of ``Stage.streams``). Empty: the item produced nothing and is not marked done.
        failed: a record for the ``.failed`` sidecar: the item is NOT done and a re-run retries it.
        error: one line saying why it failed (shown in the summary).
        stats: additive counters for the summary (numbers, nested dicts of numbers, lists).
    """

    records: dict[str, list[Any]] = field(default_factory=dict)
    failed: Any = None
    error: str | None = None
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Stream:
    """One output file of a stage: its final path and the key field that identifies a record."""

    path: Path
    key: str = "id"
    marks_done: bool = True  # ids in this stream count as done (e.g. accepted and rejected; not an auxiliary file)


class Stage(ABC):
    """A batch stage. Subclasses set ``name`` and ``streams`` and implement ``process``.

    The object is pickled to every worker (a process or a Ray task), so it holds settings (paths, configs), not
    open resources; ``open()`` builds those once per worker and ``close`` happens when its context exits.
    """

    name: str = "stage"

    @property
    @abstractmethod
    def streams(self) -> dict[str, Stream]:
        """Output streams, in write order; the first is the primary output (its ``.failed`` sidecar, its summary)."""

    def item_id(self, item: Any) -> str:
        """The id an item is sharded and resumed by (the key of its records in the ``marks_done`` streams)."""
        return str(item["id"])

    @asynccontextmanager
    async def open(self) -> AsyncIterator[Stage]:
        """Per-worker resources (LLM pool, web); yields the stage ready for ``process``."""
        yield self

    def ready_copy(self) -> Self:
        """A shallow copy for ``open()`` to fill with this worker's open resources. Not ``copy.copy``: that goes
        through ``__getstate__``, which stages override to strip open objects before pickling to workers."""
        ready = object.__new__(type(self))
        ready.__dict__.update(self.__dict__)
        return ready

    @abstractmethod
    async def process(self, item: Any) -> Outcome:
        """Do one item. Raise only for faults that must stop the whole run (a bug, a full disk)."""

    def should_stop(self) -> bool:
        """True when the worker should take no more items (e.g. a target count reached)."""
        return False

    def worker_stats(self) -> dict[str, Any]:
        """Additive counters of this worker beyond the per-item ones (e.g. LLM usage), taken when it finishes."""
        return {}

    def worker_info(self) -> dict[str, Any]:
        """Non-additive facts a worker learned (resolved protocol, model names); the first rank's are kept."""
        return {}

    def progress_text(self, stats: dict[str, Any]) -> str:
        """One short line for the progress bar from the running counters."""
        return ""

    def item_id_of_record(self, stream: str, record: dict[str, Any]) -> str:
        """The item a written record belongs to (orders the merge); default: the record's key."""
        return str(record.get(self.streams[stream].key))

    def failed_id(self, record: Any) -> str | None:
        """The item id of a ``.failed`` sidecar record (the sidecar is kept to one line per id still failing)."""
        if isinstance(record, dict):
            v = record.get("id", record.get("key"))
        else:
            v = getattr(record, "id", None)
        return None if v is None else str(v)

    @property
    def output(self) -> Path:
        """What the stage writes, as the one path its lock is taken on (``<output>.lock``, ``openseeker.outlock``):
        the primary stream's file by default; a stage writing a folder names the folder."""
        return next(iter(self.streams.values())).path

    @property
    def shard_dir(self) -> Path:
        """Where multi-worker runs keep their shards, markers and per-rank stats (next to the primary output)."""
        primary = next(iter(self.streams.values())).path
        return primary.with_name(primary.name + SHARD_DIR_SUFFIX)

    @property
    def failed_path(self) -> Path:
        primary = next(iter(self.streams.values())).path
        return primary.with_name(primary.name + ".failed.jsonl")


@dataclass
class ShardResult:
    """What one rank reports back (also saved as ``stats/{rank:05d}.json``)."""

    rank: int
    world_size: int
    assigned: int = 0
    skipped: int = 0
    done: int = 0
    failed: int = 0
    failed_ids: list[str] = field(default_factory=list)
    first_error: str | None = None
    interrupted: bool = False
    complete: bool = False
    wall_s: float = 0.0
    stats: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


class Executor(ABC):
    """Runs a stage over items on some backend; returns the merged ``RunSummary`` dict.

    Args:
        workers: ranks (``world_size``); 1 runs in this process.
        concurrency: items in flight per worker.
        progress: show a progress bar (the parent renders every rank's counters).
        limit: at most this many pending items (taken in input order before sharding).
    """

    name: str = "executor"

    def __init__(self, workers: int = 1, *, concurrency: int = 8, progress: bool = True, limit: int | None = None):

        if workers < 1:
            raise UserError("--workers must be >= 1")
        if concurrency < 1:
            raise UserError("--concurrency must be >= 1")
        self.workers, self.concurrency, self.progress, self.limit = workers, concurrency, progress, limit

    @abstractmethod
    async def arun(self, stage: Stage, items: list[Any]) -> dict[str, Any]:
        """Run every pending item of ``stage``; merge; return the summary (see ``engine.summarize``)."""

    def run(self, stage: Stage, items: list[Any]) -> dict[str, Any]:
        """``arun`` from synchronous code."""
        return asyncio.run(self.arun(stage, items))


def completion_marker(shard_dir: Path, rank: int) -> Path:
    return shard_dir / "completions" / f"{rank:05d}"


def stats_path(shard_dir: Path, rank: int) -> Path:
    return shard_dir / "stats" / f"{rank:05d}.json"


def progress_path(shard_dir: Path, rank: int) -> Path:
    return shard_dir / "progress" / f"{rank:05d}.json"


def shard_stream_path(shard_dir: Path, stream: str, rank: int) -> Path:
    return shard_dir / f"{stream}-{rank:05d}.jsonl"


def shard_failed_path(shard_dir: Path, rank: int) -> Path:
    return shard_dir / f"failed-{rank:05d}.jsonl"


def rank_error_path(shard_dir: Path, rank: int) -> Path:
    """The one-line error of a worker process that failed (read by the parent, which reports it)."""
    return shard_dir / "errors" / f"{rank:05d}.json"


def rank_lock_path(shard_dir: Path, rank: int) -> Path:
    """The lock of one rank's shard: held by a ``--rank`` task of a job array, and by a plain run for every rank."""
    return shard_dir / f"rank-{rank:05d}.lock"


def atomic_write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj, default=str), encoding="utf-8")
    os.replace(tmp, path)


def plan_digest(ids: list[str]) -> str:
    """Fingerprint of a rank's assignment; a completion marker counts only for the same assignment."""
    h = hashlib.blake2b(digest_size=16)
    for i in ids:
        h.update(i.encode("utf-8") + b"\0")
    return h.hexdigest()
