"""JSONL in and out: located errors on read, append-only resumable output on write.

Resumability contract (used by every batch stage): output is one JSON object per line, keyed by an id field.
On open, the writer reads the ids already present; a torn last line (a crash mid-write) is cut off and reported,
so re-running a stage appends only what is missing, never duplicates and never leaves gaps.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from openseeker.errors import InputError, UserError

log = logging.getLogger(__name__)


def iter_jsonl(
    path: str | os.PathLike, *, skip_bad: bool = False, required: Iterable[str] = (), stats: dict | None = None
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)`` for each non-blank line.

    Args:
        path: the file.
        skip_bad: count and skip malformed lines instead of raising ``InputError``.
        required: keys every object must have.
        stats: if given, ``stats["skipped"]`` and ``stats["read"]`` are incremented.
    """
    p = Path(path)
    if not p.exists():
        raise UserError(f"{p}: no such file")
    required = tuple(required)
    with p.open("r", encoding="utf-8", errors="strict") as fh:
        lineno = 0
        while True:
            try:
                line = fh.readline()
            except UnicodeDecodeError as exc:
                raise InputError(f"not valid UTF-8 ({exc.reason})", path=str(p), line=lineno + 1) from exc
            if not line:
                break
            lineno += 1
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                if not isinstance(obj, dict):
                    raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
                missing = [k for k in required if k not in obj]
                if missing:
                    raise ValueError(f"missing required field(s) {', '.join(missing)}")
            except ValueError as exc:  # json.JSONDecodeError is a ValueError
                if skip_bad:
                    log.warning("%s:%d: skipped: %s", p, lineno, exc)
                    if stats is not None:
                        stats["skipped"] = stats.get("skipped", 0) + 1
                    continue
                raise InputError(f"{exc} (use --skip-bad to skip such lines)", path=str(p), line=lineno) from None
            if stats is not None:
                stats["read"] = stats.get("read", 0) + 1
            yield lineno, obj


def read_jsonl(path: str | os.PathLike, **kwargs: Any) -> list[dict[str, Any]]:
    return [obj for _, obj in iter_jsonl(path, **kwargs)]


def write_jsonl(path: str | os.PathLike, rows: Iterable[Any]) -> int:
    """Write rows (dicts or pydantic models) atomically (tmp file + rename). Returns the count."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(p.suffix + ".tmp")
    n = 0
    with tmp.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(_dump(row) + "\n")
            n += 1
    os.replace(tmp, p)
    return n


def _dump(row: Any) -> str:
    if hasattr(row, "model_dump_json"):
        return row.model_dump_json()
    return json.dumps(row, ensure_ascii=False)


class ResumableWriter:
    """Append-only JSONL output keyed by ``key``; knows what is done so a re-run only adds what is missing.

    Example:
        >>> with ResumableWriter("out.jsonl") as w:       # doctest: +SKIP
        ...     todo = [q for q in questions if q["id"] not in w.done]
        ...     for q in todo:
        ...         w.write(run(q))
    """

    def __init__(self, path: str | os.PathLike, key: str = "id"):
        self.path = Path(path)
        self.key = key
        self.done: set[str] = set()
        self.repaired = 0  # torn trailing lines cut off on open
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._load()
        self._fh = self.path.open("a", encoding="utf-8")

    def _load(self) -> None:
        if not self.path.exists():
            return
        good_end = 0
        with self.path.open("rb") as fh:
            offset = 0
            for lineno, raw in enumerate(fh, 1):
                offset += len(raw)
                if not raw.strip():
                    good_end = offset
                    continue
                try:
                    obj = json.loads(raw)
                except ValueError:
                    if raw.endswith(b"\n"):
                        raise InputError(
                            "corrupt line in the middle of a resumable output file; fix or remove it",
                            path=str(self.path),
                            line=lineno,
                        ) from None
                    self.repaired += 1  # torn last line from an interrupted write
                    break
                if not raw.endswith(b"\n"):  # complete JSON but no newline: keep it, add the newline
                    with self.path.open("ab") as out:
                        out.write(b"\n")
                    offset += 1
                self.done.add(str(obj.get(self.key)))
                good_end = offset
        if self.repaired:
            log.warning("%s: cut off a torn last line left by an interrupted run", self.path)
            with self.path.open("r+b") as fh:
                fh.truncate(good_end)

    def write(self, row: Any) -> None:
        """Append one record and flush it to disk (a crash after this call cannot lose it)."""
        line = _dump(row)
        key = json.loads(line).get(self.key) if not isinstance(row, dict) else row.get(self.key)
        self._fh.write(line + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self.done.add(str(key))

    def write_many(self, rows: Iterable[Any]) -> int:
        """Append several records with ONE flush + fsync (group commit: an fsync costs milliseconds, so
        high-throughput stages batch what finished meanwhile). A crash mid-call leaves at most a torn last line,
        which the next open cuts off; those ids are simply not done. Returns the number written."""
        lines, keys = [], []
        for row in rows:
            line = _dump(row)
            if isinstance(row, dict):
                key = row.get(self.key)
            elif hasattr(row, self.key):
                key = getattr(row, self.key)
            else:
                key = json.loads(line).get(self.key)
            lines.append(line + "\n")
            keys.append(str(key))
        if lines:
            self._fh.write("".join(lines))
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self.done.update(keys)
        return len(lines)

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()

    def __enter__(self) -> ResumableWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
