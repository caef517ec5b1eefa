"""The local sandbox: bubblewrap (Debian's ``bwrap``, the sandbox Flatpak uses), no account and no network.

One attempt owns one directory on the host (``<tmp>/openseeker-sandbox-<uid>/<pid>-<start>-<token>/``) holding the
sandbox's home (``/home/user``, its working directory), its ``/tmp`` and the shell's last working directory. Each
call starts a fresh ``bwrap`` over that directory:

* namespaces: user, pid, net (only a private loopback), ipc, uts, cgroup; no capabilities; no nested user
  namespaces; a new session (no terminal injection); ``--die-with-parent``;
* the file system: an empty root with read-only ``/usr`` (and its ``/bin``, ``/lib`` links), a handful of
  read-only ``/etc`` files (no ``shadow``, no host ``passwd``), a private ``/proc`` and ``/dev``, the Python
  installation the sandbox offers (read-only, at its own path) and the attempt's writable home and ``/tmp``;
  nothing else of the host: not the project, not ``/root``, not the user's home;
* limits (``prlimit``): CPU seconds, address space, processes and file size per process; wall time and total
  output per call are enforced here, by killing ``bwrap`` — its pid namespace dies with it, so a process left in
  the background does not outlive its call;
* as root, each attempt runs under its own unprivileged uid (outside the sandbox), so the process limit is that
  attempt's alone and nothing the sandbox does is done as root.

A run killed with ``kill -9`` leaves its directories behind; the next ``BwrapBackend`` removes those whose owner
process is gone (``sweep_leftovers``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from openseeker.errors import UserError
from openseeker.sandbox.base import ExecResult
from openseeker.sandbox.settings import SandboxSettings

log = logging.getLogger(__name__)

HOME = "/home/user"  # E2B's working directory too: the authors' prompts and data refer to it
STATE = "/run/sandbox"  # the shell's last working directory (persisted across calls)
KEEP_BYTES = 256 * 1024  # per stream: far more than the tool shows (20,000 / 4,000 characters)
SETUP_FAILED = 125  # exit code when the sandbox itself could not start a call

# Inside the sandbox: resume in the last working directory, remember it on exit, run the command.
WRAPPER = (
    f'cd "$(cat {STATE}/cwd 2>/dev/null)" 2>/dev/null || cd {HOME}\n'
    f"trap 'pwd > {STATE}/cwd 2>/dev/null' EXIT\n"
    'eval "$1"\n'
)
ETC_FILES = ("alternatives", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "mime.types", "fonts")
PASSWD = "root:x:0:0:root:/root:/usr/sbin/nologin\nuser:x:{uid}:{uid}:user:/home/user:/bin/bash\n"
GROUP = "root:x:0:\nuser:x:{uid}:\n"
HOSTS = "127.0.0.1 localhost\n::1 localhost\n"
ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": HOME,
    "USER": "user",
    "LOGNAME": "user",
    "SHELL": "/bin/bash",
    "LANG": "C.UTF-8",
    "TMPDIR": "/tmp",
    "TERM": "dumb",
    "MPLBACKEND": "Agg",
    # one thread per numeric library: threads count against the process limit, and a 2-core laptop gains nothing
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONUNBUFFERED": "1",
}


def sandbox_root() -> Path:
    """Where attempt directories live: one folder per host user under the system temporary directory."""
    return Path(tempfile.gettempdir()) / f"openseeker-sandbox-{os.getuid()}"


def _start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (clock ticks since boot), or None when there is no such process; with
    the pid it names one process for good (pids are reused)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw.rpartition(")")[2].split()[19]  # field 22; the name in parentheses may hold spaces


def _force_rmtree(path: Path) -> None:
    """``rmtree`` that also removes what the sandbox made unreadable (``chmod 000`` on its own directories)."""

    def retry(func: Any, p: str, _exc: Any) -> None:
        try:
            os.chmod(os.path.dirname(p), stat.S_IRWXU)
            if os.path.isdir(p) and not os.path.islink(p):
                os.chmod(p, stat.S_IRWXU)
            func(p)
        except OSError:
            pass

    shutil.rmtree(path, onerror=retry)


def sweep_leftovers(root: Path | None = None) -> list[str]:
    """Remove attempt directories whose owner process is gone (a run killed with ``kill -9``); their names."""
    root = root or sandbox_root()
    removed: list[str] = []
    try:
        entries = list(root.iterdir())
    except OSError:
        return removed
    for entry in entries:
        pid, _, rest = entry.name.partition("-")
        start = rest.partition("-")[0]
        if not pid.isdigit() or not entry.is_dir():
            continue
        if _start_time(int(pid)) == start:
            continue  # its owner still runs (maybe another openseeker process): not ours to remove
        _force_rmtree(entry)
        removed.append(entry.name)
    if removed:
        log.info("removed %d sandbox directories left by killed runs under %s", len(removed), root)
    return removed


def _python_prefixes(python: str | None) -> list[str]:
    """The installation directories of the sandbox's Python (its environment and its base), to bind read-only."""
    if python is None:
        prefixes = [sys.prefix, sys.base_prefix]
    else:
        exe = shutil.which(python) or python
        try:
            out = subprocess.run(
                [exe, "-c", "import sys, json; print(json.dumps([sys.prefix, sys.base_prefix]))"],
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            ).stdout
            prefixes = json.loads(out)
        except (OSError, subprocess.SubprocessError, ValueError) as exc:
            raise UserError(
                f"agent.sandbox.python: cannot run {python!r} ({exc}); give a Python interpreter"
            ) from None
    out_: list[str] = []
    for p in map(os.path.realpath, prefixes):
        if p in ("/", "/usr") or p.startswith("/usr/") or any(p == q or p.startswith(q + "/") for q in out_):
            continue  # /usr is bound anyway
        out_ = [q for q in out_ if not q.startswith(p + "/")] + [p]
    return out_


@lru_cache(maxsize=1)
def _host_layout() -> tuple[str, ...]:
    """bwrap arguments for the read-only system: ``/usr``, the merged-usr links (or directories), ``/etc`` files."""
    args = ["--ro-bind", "/usr", "/usr", "--perms", "0755", "--dir", "/etc"]
    for top in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / top
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), f"/{top}"]
        elif path.is_dir():
            args += ["--ro-bind", str(path), f"/{top}"]
    for name in ETC_FILES:
        if os.path.exists(f"/etc/{name}"):
            args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    return tuple(args)


@lru_cache(maxsize=8)
def _probe(bwrap: str, prlimit: str) -> str | None:
    """None when a minimal sandbox starts here (the way calls start it), else bwrap's one-line reason (cached)."""
    args = [prlimit, "--core=0", "--", bwrap, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"]
    args += ["--die-with-parent", "--new-session", *_host_layout(), "--proc", "/proc", "--dev", "/dev"]
    if os.geteuid() == 0:
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]
        args += ["/usr/bin/setpriv", "--reuid=1000000000", "--regid=1000000000", "--clear-groups", "--"]
    else:
        args += ["--unshare-user", "--disable-userns", "--cap-drop", "ALL"]
    args += ["/bin/sh", "-c", "exit 0"]
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        return str(exc)
    if done.returncode == 0:
        return None
    return (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[0]


class _Capture:
    """One output stream: the first ``KEEP_BYTES`` bytes are kept, the rest is counted and dropped."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.total = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = KEEP_BYTES - len(self.data)
        if room > 0:
            self.data += chunk[:room]

    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


class BwrapBackend:
    """``bwrap`` on this machine. ``check`` refuses (one line naming the fix) where it cannot run."""

    name = "bwrap"

    def __init__(self, settings: SandboxSettings | None = None):
        self.settings = settings or SandboxSettings()
        self.bwrap = shutil.which("bwrap")
        self.prlimit = shutil.which("prlimit")
        self.bash = shutil.which("bash", path="/usr/bin:/bin")
        self.root = sandbox_root()
        self._python: list[str] | None = None

    def check(self) -> None:
        if self.bwrap is None:
            raise UserError("code_exec: bubblewrap is not installed: apt-get install bubblewrap")
        if self.prlimit is None:
            raise UserError("code_exec: prlimit (util-linux) is not installed: apt-get install util-linux")
        if os.geteuid() == 0 and not os.path.exists("/usr/bin/setpriv"):
            raise UserError(
                "code_exec: as root the sandbox drops to its own uid with setpriv: apt-get install util-linux"
            )
        if self.bash is None:
            raise UserError("code_exec: the sandbox runs commands with bash, which is missing: apt-get install bash")
        reason = _probe(self.bwrap, self.prlimit)
        if reason is not None:
            raise UserError(
                f"code_exec: bwrap cannot create a sandbox here ({reason}): allow unprivileged user namespaces "
                "(sysctl -w kernel.unprivileged_userns_clone=1; on Ubuntu also "
                "kernel.apparmor_restrict_unprivileged_userns=0), or run inside a container that allows them"
            )
        self._python = _python_prefixes(self.settings.python)
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)  # bwrap binds the attempt's directories as their owner: no one else may look in
        sweep_leftovers(self.root)

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "bwrap": self.bwrap, **self.settings.model_dump(exclude={"backend"})}

    async def create(self) -> BwrapSandbox:
        if self._python is None:
            self.check()
        return BwrapSandbox(self, self._python or [])


class BwrapSandbox:
    """One attempt's bwrap sandbox: a private home and ``/tmp`` that persist across calls until ``close``."""

    def __init__(self, backend: BwrapBackend, python_dirs: list[str]):
        self.backend, self.settings = backend, backend.settings
        me = os.getpid()
        self.dir = backend.root / f"{me}-{_start_time(me)}-{secrets.token_hex(6)}"
        self.dir.mkdir(mode=0o700)
        # never run commands as root: as root, an unprivileged uid (and gid) of the attempt's own, outside too
        self.uid: int | None = 1_000_000_000 + secrets.randbelow(1_000_000_000) if os.geteuid() == 0 else None
        uid = self.uid if self.uid is not None else 1000
        for sub in ("home", "tmp", "state"):
            (self.dir / sub).mkdir(mode=0o700)
            if self.uid is not None:
                os.chown(self.dir / sub, self.uid, self.uid)
        etc = self.dir / "etc"
        etc.mkdir(mode=0o755)
        files = {"passwd": PASSWD.format(uid=uid), "group": GROUP.format(uid=uid), "hosts": HOSTS}
        for name, text in {**files, "hostname": "sandbox\n"}.items():
            (etc / name).write_text(text)
        self.python_dirs = python_dirs
        self._lock = asyncio.Lock()
        self._proc: asyncio.subprocess.Process | None = None
        self.closed = False

    def _args(self, cmd: str) -> list[str]:
        s, b = self.settings, self.backend
        mib = 1024 * 1024
        nproc = s.processes if self.uid is not None else s.processes + _user_processes()
        args = [
            b.prlimit or "prlimit",
            f"--cpu={s.cpu_s}:{s.cpu_s + 1}",
            f"--as={s.memory_mb * mib}",
            f"--nproc={nproc}",
        ]
        args += [f"--fsize={s.file_mb * mib}", "--core=0", "--", b.bwrap or "bwrap"]
        args += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
        args += ["--hostname", "sandbox", "--die-with-parent", "--new-session", "--clearenv", *_host_layout()]
        if self.uid is None:  # an unprivileged user: a user namespace maps it to uid 1000 inside, no capabilities
            args += ["--unshare-user", "--disable-userns", "--uid", "1000", "--gid", "1000", "--cap-drop", "ALL"]
        else:  # root: bwrap sets up the namespaces, then setpriv drops to the attempt's own uid for good
            args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]
        for name in ("passwd", "group", "hosts", "hostname"):
            args += ["--ro-bind", str(self.dir / "etc" / name), f"/etc/{name}"]
        args += ["--proc", "/proc", "--dev", "/dev"]
        binds = [(p, p, "--ro-bind") for p in self.python_dirs]
        binds += [(str(self.dir / "home"), HOME, "--bind"), (str(self.dir / "tmp"), "/tmp", "--bind")]
        binds += [(str(self.dir / "state"), STATE, "--bind")]
        made: set[str] = set()
        for src, dest, how in binds:  # parents readable by all (bwrap would make them 0700 as root)
            for parent in reversed(Path(dest).parents):
                if str(parent) != "/" and str(parent) not in made and str(parent) != "/tmp":
                    made.add(str(parent))
                    args += ["--perms", "0755", "--dir", str(parent)]
            args += [how, src, dest]
        args += ["--chdir", HOME]
        env = dict(ENV)
        env["PATH"] = ":".join([*(f"{p}/bin" for p in self.python_dirs), env["PATH"]])
        for key, value in env.items():
            args += ["--setenv", key, value]
        if self.uid is not None:
            args += ["/usr/bin/setpriv", f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups"]
            args += ["--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--"]
        return [*args, "/bin/bash", "--noprofile", "--norc", "-c", WRAPPER, "bash", cmd]

    async def run(self, cmd: str) -> ExecResult:
        if self.closed:
            raise RuntimeError("the sandbox is closed")
        async with self._lock:  # calls of one attempt run one after another, in the order they were made
            return await self._run(cmd)

    async def _run(self, cmd: str) -> ExecResult:
        s = self.settings
        proc = await asyncio.create_subprocess_exec(
            *self._args(cmd),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        self._proc = proc
        out, err = _Capture(), _Capture()
        notes: list[str] = []
        over = asyncio.Event()
        limit = s.output_mb * 1024 * 1024

        async def pump(stream: asyncio.StreamReader, cap: _Capture) -> None:
            while chunk := await stream.read(65536):
                cap.add(chunk)
                if out.total + err.total > limit:
                    over.set()

        assert proc.stdout is not None and proc.stderr is not None
        pumps = asyncio.gather(pump(proc.stdout, out), pump(proc.stderr, err))
        waiter = asyncio.ensure_future(proc.wait())
        overflow = asyncio.ensure_future(over.wait())
        try:
            done, _ = await asyncio.wait({waiter, overflow}, timeout=s.timeout_s, return_when=asyncio.FIRST_COMPLETED)
            if waiter not in done:
                _kill(proc)
                if overflow in done:
                    notes.append(f"killed: more than {s.output_mb} MiB of output")
                else:
                    notes.append(f"killed: the call ran longer than {s.timeout_s:g} s (wall-time limit)")
            rc = await waiter
            try:  # bwrap is gone, so is every process of its namespace: the pipes close at once
                await asyncio.wait_for(pumps, 5)
            except TimeoutError:
                pumps.cancel()
        except BaseException:  # cancelled by the agent's tool timeout: leave nothing running
            _kill(proc)
            pumps.cancel()
            raise
        finally:
            overflow.cancel()
            self._proc = None
        stderr = err.text()
        if rc != 0 and not notes and stderr.startswith("bwrap: "):
            return ExecResult(SETUP_FAILED, "", "", [f"the sandbox could not start: {stderr.strip()[:500]}"])
        exit_code = _exit_code(rc, notes)
        notes += _limit_notes(exit_code, stderr, s) if len(notes) == 0 else []
        return ExecResult(exit_code, out.text(), stderr, notes)

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._proc is not None:
            _kill(self._proc)
        await asyncio.to_thread(_force_rmtree, self.dir)


def _kill(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL to bwrap: its pid namespace, and with it every process of the call, goes too."""
    try:
        proc.send_signal(signal.SIGKILL)
    except ProcessLookupError:
        pass


def _exit_code(rc: int, notes: list[str]) -> int:
    if notes and notes[0].startswith("killed: the call ran longer"):
        return 124  # timeout(1)'s convention
    if rc < 0:
        return 128 - rc  # the shell's convention for "ended by signal N"
    return rc


def _limit_notes(exit_code: int, stderr: str, s: SandboxSettings) -> list[str]:
    """Why a command probably ended, in words, when a sandbox limit was the cause."""
    notes = []
    if exit_code == 128 + signal.SIGXCPU or "CPU time limit exceeded" in stderr:
        notes.append(f"stopped: CPU time limit ({s.cpu_s} s per process)")
    elif exit_code == 128 + signal.SIGKILL:
        notes.append(f"killed (SIGKILL): the CPU time limit ({s.cpu_s} s per process) or the system ran out of memory")
    if exit_code == 128 + signal.SIGXFSZ or "File size limit exceeded" in stderr:
        notes.append(f"stopped: file size limit ({s.file_mb} MiB per file)")
    if "MemoryError" in stderr or "Cannot allocate memory" in stderr or "std::bad_alloc" in stderr:
        notes.append(f"memory limit: {s.memory_mb} MiB of address space per process")
    if "Resource temporarily unavailable" in stderr or "retry: fork" in stderr:
        notes.append(f"process limit: {s.processes} processes and threads")
    return notes


def _user_processes() -> int:
    """Processes and threads this user runs now: without root the process limit counts all of them, so the
    sandbox's budget is added on top."""
    uid, n = str(os.getuid()), 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            status = Path(entry.path, "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("Uid", "").split()[:1] == [uid]:
            n += int(fields.get("Threads", "1").strip() or 1)
    return n
