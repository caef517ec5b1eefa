"""Worker processes that never outlive their run, and runs that stop cleanly on SIGINT and SIGTERM.

Why: a worker left running after its parent died (SIGKILL, OOM, a SIGTERM sent to the parent alone) keeps calling
the endpoint for items the re-run then does again: measured before this module, a third of the rollouts of a
killed ``agent run --workers 2`` were paid twice. And a SIGINT that reached only the parent left it waiting for
its workers to finish everything, then exit 0 without merging.

* Worker side (``die_with_parent``): Linux's ``prctl(PR_SET_PDEATHSIG, SIGTERM)`` has the kernel send SIGTERM to
  the worker the moment its parent dies; a thread polling ``os.getppid()`` does the same where prctl does not
  exist (or the parent died before prctl ran). ``stopping_on_sigterm`` turns SIGTERM into a cancel of the rank,
  which writes what finished (the engine's flush on cancel) and exits 143.
* Parent side (``stop_signals`` + ``wait_for_exit``): SIGINT/SIGTERM are recorded instead of killing the parent
  mid-way; the parent sends SIGTERM to every worker, waits for them to exit (SIGKILL after ``GRACE_S``, or at a
  second signal), and the executor merges what finished before raising ``Interrupted``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

from openseeker.errors import Interrupted

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
WATCH_EVERY_S = 0.5  # the getppid poll of the fallback watchdog
GRACE_S = 60.0  # a stopped worker has this long to write what finished before SIGKILL
STUCK_S = 2.0  # a worker whose loop is blocked by synchronous work is interrupted where it is after this long

T = TypeVar("T")


def _set_pdeathsig(signum: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def sigterm_when_parent_dies() -> None:
    """For ``subprocess``'s ``preexec_fn``: the child gets SIGTERM when the process that started it dies (Linux;
    elsewhere nothing). A child that is a whole openseeker command needs no watchdog: it handles SIGTERM itself."""
    _set_pdeathsig(signal.SIGTERM)


def die_with_parent(parent: int) -> None:
    """Make this process get SIGTERM when ``parent`` (its parent's pid) dies (see the module docstring)."""
    _set_pdeathsig(signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before prctl: nothing was done yet
        os._exit(143)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(WATCH_EVERY_S)
        log.warning("the parent process %d is gone: stopping", parent)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(GRACE_S)
        os._exit(143)

    threading.Thread(target=watch, name="openseeker-parent-watch", daemon=True).start()


async def stopping_on_sigterm(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro``; SIGTERM cancels it (its cleanup writes what finished) and raises ``Interrupted(SIGTERM)``.

    A stage whose ``process`` runs long synchronous code (an importer parsing its whole part) blocks the event loop,
    so a cancel would wait for it: if the run has not stopped ``STUCK_S`` after the SIGTERM, a second one is raised
    where the code is (as Ctrl-C does in synchronous code), and the loop's shutdown still flushes what finished.
    SIGINT needs nothing here: ``asyncio.run`` already cancels the main task on it."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(coro)
    got: list[int] = []

    def on_sigterm(signum: int, frame: Any) -> None:
        got.append(signum)
        if len(got) > 1:  # the cancel did not stop it in time: synchronous work holds the loop
            raise Interrupted(signal.SIGTERM)
        loop.call_soon_threadsafe(task.cancel)
        again = threading.Timer(STUCK_S, os.kill, (os.getpid(), signal.SIGTERM))
        again.daemon = True
        again.start()

    try:
        previous = signal.signal(signal.SIGTERM, on_sigterm)
    except ValueError:  # not the main thread
        previous = None
    try:
        return await task
    except asyncio.CancelledError:
        if got:
            raise Interrupted(signal.SIGTERM) from None
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def stop_signals(on_signal: Callable[[int], None]) -> Iterator[None]:
    """While the block runs, SIGINT and SIGTERM call ``on_signal(signum)`` (on the running loop) instead of
    interrupting; the previous handlers come back after. Outside the main thread: no change."""
    loop = asyncio.get_running_loop()
    installed: list[tuple[int, Any]] = []
    for sig in (int(signal.SIGINT), int(signal.SIGTERM)):
        try:
            previous = signal.getsignal(sig)
            loop.add_signal_handler(sig, on_signal, sig)
            installed.append((sig, previous))
        except (NotImplementedError, RuntimeError, ValueError):
            break
    try:
        yield
    finally:
        for sig, previous in installed:
            loop.remove_signal_handler(sig)
            with contextlib.suppress(TypeError, ValueError):
                signal.signal(sig, previous if previous is not None else signal.SIG_DFL)


async def wait_for_exit(
    procs: list[Any], received: list[int], *, grace_s: float = GRACE_S, poll: Callable[[], None] | None = None
) -> None:
    """Wait until every process in ``procs`` (``multiprocessing.Process``) has exited. Once ``received`` holds a
    signal, the live ones get SIGTERM (they write what finished and exit); after ``grace_s``, or when a second
    signal arrives, SIGKILL."""
    signalled, killed, since = False, False, 0.0
    while any(p.is_alive() for p in procs):
        if received and not signalled:
            signalled, since = True, time.monotonic()
            _send(procs, signal.SIGTERM)
        if signalled and not killed and (len(received) > 1 or time.monotonic() - since > grace_s):
            killed = True
            log.warning("workers still running after the stop signal: killing them")
            _send(procs, signal.SIGKILL)
        if poll is not None:
            poll()
        await asyncio.sleep(0.1)
    for p in procs:
        p.join()


def _send(procs: list[Any], sig: int) -> None:
    for p in procs:
        if p.is_alive() and p.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p.pid, sig)
