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

from openseeker.errors import InputError, OutputError, UserError

log = logging.getLogger(__name__)


def iter_jsonl(
    path: str | os.PathLike,
    *,
    skip_bad: bool = False,
    required: Iterable[str] = (),
    stats: dict | None = None,
    skip_bad_option: str | None = None,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)`` for each non-blank line.

    Lines are read as bytes and decoded one by one: a byte that is not UTF-8 spoils its own line only, and is
    reported at its real line number (a text-mode reader decodes ahead in chunks, so the error used to surface at
    the first line of the chunk, and ``--skip-bad`` lost the rest of the file).

    Args:
        path: the file.
        skip_bad: count and skip malformed lines instead of raising ``InputError``.
        required: keys every object must have.
        stats: if given, ``stats["skipped"]`` and ``stats["read"]`` are incremented.
        skip_bad_option: the caller's option that skips bad lines (``"--skip-bad"``), named in the error; only
            commands that have one say so.
    """
    p = Path(path)
    if not p.exists():
        raise UserError(f"{p}: no such file")
    required = tuple(required)
    hint = f" (use {skip_bad_option} to skip such lines)" if skip_bad_option else ""
    with p.open("rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            try:
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise ValueError(f"not valid UTF-8 ({exc.reason} at byte {exc.start + 1} of the line)") from None
                if not line.strip():
                    continue
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
                raise InputError(f"{exc}{hint}", path=str(p), line=lineno) from None
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
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._load()
            self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise OutputError(f"{self.path}: cannot open for writing ({exc.strerror or exc})") from None

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
        self.write_many([row])

    def write_many(self, rows: Iterable[Any]) -> int:
        """Append several records with ONE fsync (group commit: an fsync costs milliseconds, so high-throughput
        stages batch what finished meanwhile). A crash mid-call leaves at most a torn last line, which the next
        open cuts off; those ids are simply not done. A failed write (disk full) is undone (the file is cut back
        to where the batch began) and raised as ``OutputError`` naming the file. Returns the number written."""
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
            self._append("".join(lines).encode("utf-8"))
            self.done.update(keys)
        return len(lines)

    def _append(self, data: bytes) -> None:
        if self._fd is None:
            raise ValueError(f"{self.path}: writer is closed")
        start = os.fstat(self._fd).st_size
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
            os.fsync(self._fd)
        except OSError as exc:
            try:  # no torn line left behind: the batch is not done, the next run does it again
                os.ftruncate(self._fd, start)
            except OSError:
                pass
            raise OutputError(
                f"{self.path}: cannot write ({exc.strerror or exc}); every record before this batch is saved: "
                "fix it (free space, permissions) and re-run the same command"
            ) from None

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> ResumableWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# --------------------------------------------------------------------------- one setup per output

SETUP_SUFFIX = ".setup.json"


def setup_path(output: str | os.PathLike) -> Path:
    """``<output>.setup.json``: what the records of a resumable output were made with (see ``check_setup``)."""
    p = Path(output)
    return p.with_name(p.name + SETUP_SUFFIX)


def setup_diffs(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """``key=old (now new)`` for every dotted key set (not None) in both and different (nested dicts compared key by
    key; a key only one side has is not a difference: a newer version may record more)."""
    diffs = []
    for key in sorted(set(old) & set(new)):
        a, b = old[key], new[key]
        if isinstance(a, dict) and isinstance(b, dict):
            diffs += setup_diffs(a, b, f"{prefix}{key}.")
        elif a is not None and b is not None and a != b:
            diffs.append(f"{prefix}{key}={a!r} (now {b!r})")
    return diffs


def check_setup(
    output: str | os.PathLike, setup: dict[str, Any], *, has_records: bool, allow_mixed: bool = False
) -> None:
    """Refuse to resume ``output`` with another setup (models, agent settings, ...): records made two ways would
    sit in one file that every later stage reads as one dataset (a killed run with model A resumed with model B
    gave 96 A and 24 B trajectories). ``setup`` is recorded in ``<output>.setup.json`` when the output starts (or
    the user allowed the mix); a resume compares with it and names every difference.

    Args:
        output: the output file (or folder).
        setup: what changes a record: model names (``None`` when unknown, e.g. "the endpoint's first model"),
            settings; compared key by key (``setup_diffs``).
        has_records: whether the output already holds records (else the setup is simply recorded).
        allow_mixed: the user's explicit ``--allow-mixed``: record the new setup and go on.
    """
    path = setup_path(output)
    if has_records and path.exists() and not allow_mixed:
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = {}
        diffs = setup_diffs(old, setup)
        if diffs:
            raise UserError(
                f"{output} holds records made with {', '.join(diffs)}; resuming would mix them in one file: use "
                "another --out, or pass --allow-mixed to add to it anyway"
            )
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(setup, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from None
