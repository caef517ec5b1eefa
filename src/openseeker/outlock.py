"""One writer per output: an advisory lock on ``<output>.lock``, held for the whole run.

Why: every batch output is resumable (ids already written are skipped), which is exactly what makes two runs on
one output go wrong without a lock: both read "nothing done", both write every record (duplicates the next run
keeps as "already done"), both pay every LLM call, and an eval folder ends up with two runs per question counted as
``pass@2``. Two ``web build``s into one folder interleave their SQLite writes and index rebuilds.

How: ``fcntl.flock`` on a small file next to the output (``trajs.jsonl`` -> ``trajs.jsonl.lock``, ``webs/wiki`` ->
``webs/wiki.lock``). The operating system drops the lock when the holding process dies, even by SIGKILL, so a
stale lock cannot exist; the file only records who holds it (pid, host, start time, command) for the refusal
message, and is removed by its holder on release. The lock is taken before anything is read (so what is "done"
is never read by one run while another writes), and is re-entrant within a process (the eval folder's lock is
held by ``evaluate_async`` and again by the executor inside it). Worker processes do not inherit it (the file is
opened close-on-exec): they run under their parent's lock, and die with it (``executors.local``).

Readers (``serve``, ``view``, ``web search``) take no lock. On a shared filesystem the lock is as good as the
filesystem's ``flock`` (NFSv4 and Lustre implement it; some FUSE mounts do not). Where ``fcntl`` does not exist
(Windows) there is no lock.

Example:
    >>> with hold_output(Path("trajs.jsonl")):       # doctest: +SKIP
    ...     run_the_stage()
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from openseeker.errors import UserError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

LOCK_SUFFIX = ".lock"

_held: dict[str, list] = {}  # realpath of a lock file -> [fd, holds] (re-entrant within this process)
_guard = threading.Lock()
locked_outputs: list[str] = []  # every output this process has locked (the CLI's interrupted line names them)


def lock_file_for(output: str | os.PathLike) -> Path:
    """The lock file of an output file or directory: ``<output>.lock`` beside it."""
    p = Path(output)
    return p.with_name(p.name + LOCK_SUFFIX)


def _holder_text(fd: int) -> str:
    """Who holds the lock, from the file's content: ``pid 123 on host h since 12:00:01 (openseeker agent run)``."""
    try:
        raw = os.pread(fd, 4096, 0)
        info = json.loads(raw or b"{}")
    except (OSError, ValueError):
        info = {}
    if not info:
        return "another process"
    started = time.localtime(info.get("started", 0))
    today = time.strftime("%Y-%m-%d") == time.strftime("%Y-%m-%d", started)
    since = time.strftime("%H:%M:%S" if today else "%Y-%m-%d %H:%M:%S", started)
    command = f" ({info['command']})" if info.get("command") else ""
    return f"pid {info.get('pid')} on host {info.get('host')} since {since}{command}"


def _command() -> str:
    """``openseeker agent run`` (the program and its first two arguments: the command, not its paths)."""
    if not sys.argv or not sys.argv[0]:
        return ""
    program = os.path.basename(sys.argv[0])
    if program in ("main.py", "__main__.py"):  # python -m openseeker.cli.main
        program = "openseeker"
    return " ".join([program, *(a for a in sys.argv[1:3] if not a.startswith("-"))])[:120]


def _open_locked(path: Path, what: str) -> int:
    """Open ``path`` and take its exclusive lock, or raise the one-line refusal naming the holder."""
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise UserError(
                f"cannot create the lock file {path} ({exc.strerror}): is {path.parent} writable?"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder_text(fd)
            os.close(fd)
            raise UserError(
                f"{what} is being written by another openseeker run ({holder}); wait for it to finish or stop it "
                f"(its lock: {path})"
            ) from None
        except OSError as exc:  # a filesystem without flock: run unguarded rather than not at all
            log.warning("%s: no lock on this filesystem (%s); make sure no other run writes %s", path, exc, what)
            return fd
        # the holder before us may have removed the file between our open and our lock: lock the current one
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


def acquire(output: str | os.PathLike, *, lock_file: str | os.PathLike | None = None, what: str | None = None) -> Path:
    """Take the lock of ``output`` (re-entrant in this process); returns the lock file. ``UserError`` when another
    process holds it. Pair with ``release``; prefer ``hold_output``."""
    path = Path(lock_file) if lock_file is not None else lock_file_for(output)
    if fcntl is None:  # pragma: no cover - Windows
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    key = os.path.realpath(path)
    with _guard:
        if key in _held:
            _held[key][1] += 1
            return path
        fd = _open_locked(path, what or str(output))
        info = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time(), "command": _command()}
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(info).encode("utf-8"), 0)
        except OSError as exc:  # the lock holds without its note (a full disk): the refusal says less
            log.debug("lock note %s: %s", path, exc)
        _held[key] = [fd, 1]
        if lock_file is None and str(output) not in locked_outputs:
            locked_outputs.append(str(output))
    return path


def release(lock_path: str | os.PathLike) -> None:
    """Give back one hold of the lock at ``lock_path``; the last one removes the file and unlocks."""
    if fcntl is None:  # pragma: no cover - Windows
        return
    key = os.path.realpath(lock_path)
    with _guard:
        entry = _held.get(key)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] > 0:
            return
        del _held[key]
        try:  # removed while still locked: a process that opened it meanwhile sees it gone and retries
            os.unlink(lock_path)
        except OSError:
            pass
        os.close(entry[0])


@contextmanager
def hold_output(
    output: str | os.PathLike, *, lock_file: str | os.PathLike | None = None, what: str | None = None
) -> Iterator[Path]:
    """Hold the lock of ``output`` (a file or a directory) for the ``with`` block; see the module docstring.

    Args:
        output: what is written; its lock is ``<output>.lock`` unless ``lock_file`` is given.
        lock_file: another lock file (one rank of a job array locks its own).
        what: how the refusal names the output (default: its path).
    """
    path = acquire(output, lock_file=lock_file, what=what)
    try:
        yield path
    finally:
        release(path)


@contextmanager
def hold_all(locks: list[tuple[Path, Path | None, str | None]]) -> Iterator[None]:
    """Hold several locks (``(output, lock_file, what)``) at once; all or none."""
    taken: list[Path] = []
    try:
        for output, lock_file, what in locks:
            taken.append(acquire(output, lock_file=lock_file, what=what))
        yield
    finally:
        for path in reversed(taken):
            release(path)
