"""Fault matrix: the batch stages under kills, signals, a full disk, endpoint faults, two writers and bad bytes.

Every scenario runs the real ``openseeker`` command in its own process group against a scripted OpenAI-compatible
endpoint on 127.0.0.1 (``ScriptedChatServer``: real HTTP, a latency per call, switches that make it fail), then
re-runs the same command the way a user would, and checks the output: each id exactly once (``dup``, ``lost``),
no unparseable line (``corrupt``), rollouts whose final answer the endpoint served more than once (``redone``:
work paid twice), worker processes still alive after their parent died (``orphans``), the exit codes and the
last line of stderr. The ``ok`` column applies the guarantees of docs/resume.md ("Interrupting and resuming").

Run from the repository root (a few minutes; ``--src`` runs another checkout, e.g. the code before a change):

    python benchmarks/fault_matrix.py [--reps 5] [--only kill-parent,two-writers] [--src /tmp/old/src]
        [--json benchmarks/results/fault_matrix.json]

The full-disk rows need root (a small tmpfs is mounted); without it they are skipped with the reason.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

N = 40  # questions per run
N_KILL = 120  # questions of the kill -9 parent runs: enough left at the kill for orphaned workers to race the re-run
DELAY = 0.1  # seconds per LLM call
CASE = re.compile(r"\(case (\d+)\)")


# --------------------------------------------------------------------------- the endpoint


class Endpoint:
    """The scripted endpoint: search then answer "Dijon" (``searches`` tool calls first); a judge that says yes;
    a summarizer; and switches: ``fail`` (cases whose answer turn gets 500s), ``flaky`` (cases whose first answer
    turn gets one transient fault: 429, a truncated body, a hang past the client timeout), ``judge_down``,
    ``summarizer_down``.

    It listens on two ports: door ``a`` for the run a scenario interrupts, door ``b`` for the re-runs, so an answer
    says which run asked for it (and answers door ``a`` serves after the kill come from orphaned workers). Every
    final answer is logged as ``(time, door, case)``."""

    def __init__(self, delay: float = DELAY):
        from openseeker.testing.chat_server import ScriptedChatServer

        self.delay = delay
        self.lock = threading.Lock()
        self.reset()
        self.servers = {door: ScriptedChatServer(lambda req, d=door: self.respond(req, d)).start() for door in "ab"}

    def reset(self, searches: int = 1) -> None:
        with self.lock:
            self.searches, self.fail, self.flaky = searches, set(), {}
            self.judge_down = self.summarizer_down = False
            self.log: list[tuple[float, str, int]] = []
            self.judged: Counter = Counter()

    def base_url(self, door: str = "a") -> str:
        return self.servers[door].base_url

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()

    def respond(self, req: dict[str, Any], door: str) -> Any:
        from openseeker.testing.chat_server import Reply

        msgs = req.get("messages") or []
        text = " ".join(str(m.get("content") or "") for m in msgs)
        m = CASE.search(text)
        case = int(m.group(1)) if m else -1
        if "You are grading an answer" in text:
            if self.judge_down:
                return Reply(status=500, delay=self.delay / 4)
            with self.lock:
                self.judged[case] += 1
            verdict = {"extracted_final_answer": "Dijon", "reasoning": "same", "correct": "yes", "confidence": 100}
            return Reply(content=json.dumps(verdict), delay=self.delay / 4)
        if msgs and "You compress the result of a tool call" in str(msgs[0].get("content") or ""):
            if self.summarizer_down:
                return Reply(status=500, delay=self.delay / 4)
            return Reply(content="Gustave Eiffel was born in Dijon.", delay=self.delay / 4)
        if req.get("response_format"):  # the visit extractor
            return Reply(content='{"rational": "r", "evidence": "born in Dijon", "summary": "Born in Dijon."}')
        turns = sum(1 for x in msgs if x.get("role") in ("tool", "user")) - 1
        if turns < self.searches:
            call = {"name": "search", "arguments": {"query": ["Gustave Eiffel"]}}
            return Reply(content=f"<tool_call>{json.dumps(call)}</tool_call>", delay=self.delay)
        if case in self.fail:
            return Reply(status=500, delay=self.delay / 4)
        with self.lock:
            fault = self.flaky.pop(case, None)
        if fault == "429":
            return Reply(status=429, headers={"Retry-After": "0"})
        if fault == "truncated":
            return Reply(status=200, body='{"id": "x", "object": "chat.completion", "choices": [{"mess')
        if fault == "hang":
            return Reply(content="<answer>Dijon</answer>", delay=3.0)  # past the 1.5 s client timeout
        time.sleep(self.delay)  # the model "generates"; the answer counts as served when it is sent
        with self.lock:
            self.log.append((time.monotonic(), door, case))
        return Reply(content="<answer>Dijon</answer>")

    def answered(self) -> int:
        with self.lock:
            return len(self.log)

    def redone(self, stopped_at: float | None = None, window: float = 1.5) -> tuple[int, int]:
        """``(redone, in flight)``: cases whose final answer was served more than once. One the interrupted run
        (door ``a``) got within ``window`` seconds around ``stopped_at`` and the re-run asked for again counts as
        *in flight* (the model had answered as the run was stopped: its reply was lost whatever the code does);
        every other repeat is *redone*: work paid twice (an orphaned worker's, a duplicate run's)."""
        with self.lock:
            log = list(self.log)
        by_case: dict[int, list[tuple[float, str]]] = {}
        for t, door, case in log:
            by_case.setdefault(case, []).append((t, door))
        redone = in_flight = 0
        for answers in by_case.values():
            if len(answers) < 2:
                continue
            first_run = [t for t, door in answers if door == "a"]
            near_stop = stopped_at is not None and all(abs(t - stopped_at) <= window for t in first_run)
            if near_stop and len(first_run) == 1:
                in_flight += 1
            else:
                redone += len(answers) - 1
        return redone, in_flight


# --------------------------------------------------------------------------- the stages


@dataclass
class Stage:
    """One command under test: how to call it and where its records are."""

    name: str
    key: str  # the record field that identifies an item
    searches: int = 1

    def argv(
        self, d: Path, out: Path, env: Env, workers: int, model: str = "m", door: str = "a", n: int = N
    ) -> list[str]:
        questions, qa = env.inputs(n)
        common = ["--config", str(env.config(d, model, door)), "--no-progress"]
        if workers > 1:
            common += ["--workers", str(workers), "--concurrency", "2"]
        else:
            common += ["--concurrency", "3"]
        if self.name == "agent run":
            return [
                "agent",
                "run",
                "--web",
                str(env.web),
                "--questions",
                str(questions),
                "--out",
                str(out),
            ] + common
        if self.name == "synth traj":
            return ["synth", "traj", "--web", str(env.web), "--qa", str(qa), "--out", str(out)] + common
        return [
            "eval",
            "run",
            "--benchmark",
            "synth",
            "--path",
            str(qa),
            "--web",
            str(env.web),
            "--out",
            str(out),
        ] + common

    def out(self, d: Path) -> Path:
        return d / ("eval-out" if self.name == "eval run" else "out.jsonl")

    def final_file(self, out: Path) -> Path:
        return out / "results.jsonl" if self.name == "eval run" else out

    def expected(self, n: int = N) -> set[str]:
        ids = {f"q{i:03d}" for i in range(n)}
        return {f"{i}#0" for i in ids} if self.name == "eval run" else ids

    def shard_files(self, out: Path) -> list[Path]:
        if self.name == "eval run":
            return sorted((out / "shards").glob("results-*.jsonl"))
        return sorted(out.with_name(out.name + ".shards").glob("trajectories-*.jsonl"))

    def progress_pid(self, out: Path, rank: int = 0) -> int | None:
        shards = out / "shards" if self.name == "eval run" else out.with_name(out.name + ".shards")
        try:
            return int(json.loads((shards / "progress" / f"{rank:05d}.json").read_text())["pid"])
        except (OSError, ValueError, KeyError):
            return None

    def done_so_far(self, out: Path) -> int:
        return sum(_lines(p) for p in [self.final_file(out), *self.shard_files(out)])


AGENT, TRAJ, EVAL = Stage("agent run", "id"), Stage("synth traj", "id", searches=2), Stage("eval run", "key")


def _lines(p: Path) -> int:
    try:
        with p.open("rb") as fh:
            return sum(1 for line in fh if line.endswith(b"\n"))
    except OSError:
        return 0


def read_records(p: Path) -> tuple[list[dict], int]:
    """``(records, corrupt lines)`` of a JSONL file."""
    recs, bad = [], 0
    if not p.exists():
        return recs, bad
    for raw in p.read_bytes().splitlines():
        if not raw.strip():
            continue
        try:
            recs.append(json.loads(raw))
        except ValueError:
            bad += 1
    return recs, bad


# --------------------------------------------------------------------------- running the command


class Proc(subprocess.Popen):
    """A command whose output goes to files, so that ``communicate`` waits for this process only: worker processes
    that outlive it (orphans) would hold a pipe open and make a pipe-reading ``communicate`` wait for them too."""

    out_path: Path
    err_path: Path

    def communicate(self, input: Any = None, timeout: float | None = None) -> tuple[str, str]:  # noqa: A002
        self.wait(timeout=timeout)
        return self.out_path.read_text(errors="replace"), self.err_path.read_text(errors="replace")


@dataclass
class Env:
    src: Path
    work: Path
    endpoint: Endpoint
    web: Path = field(init=False)

    def vars(self) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONPATH": str(self.src),
            "OPENSEEKER_NO_CACHE": "1",
            "COLUMNS": "400",
            "PYTHONWARNINGS": "ignore",
        }

    def config(self, d: Path, model: str, door: str = "a") -> Path:
        p = d / f"llm-{model}-{door}.yaml"
        if not p.exists():
            d.mkdir(parents=True, exist_ok=True)
            p.write_text(
                "llm:\n  default:\n"
                f"    base_url: {self.endpoint.base_url(door)}\n    model: {model}\n"
                "    timeout_s: 1.5\n    max_retries: 2\n    backoff_s: 0.05\n    concurrency: 64\n"
            )
        return p

    def inputs(self, n: int) -> tuple[Path, Path]:
        """``(questions, qa)`` files of ``n`` items (the same question and id in both; gold answer Dijon)."""
        questions, qa = self.work / f"questions-{n}.jsonl", self.work / f"qa-{n}.jsonl"
        if not questions.exists():
            rows = [{"id": f"q{i:03d}", "question": f"Where was Eiffel born? (case {i})"} for i in range(n)]
            questions.write_text("".join(json.dumps(r) + "\n" for r in rows))
            qa.write_text("".join(json.dumps({**r, "answer": "Dijon"}) + "\n" for r in rows))
        return questions, qa

    def start(self, argv: list[str], cwd: Path) -> Proc:
        def child() -> None:  # Ctrl-C reaches a background child only if SIGINT is not inherited as ignored
            signal.signal(signal.SIGINT, signal.SIG_DFL)

        self.started = getattr(self, "started", 0) + 1
        logs = self.work / "logs"
        logs.mkdir(exist_ok=True)
        out_path, err_path = logs / f"{self.started}.out", logs / f"{self.started}.err"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            proc = Proc(
                [sys.executable, "-m", "openseeker.cli.main", *argv],
                cwd=cwd,
                env=self.vars(),
                stdout=out,
                stderr=err,
                start_new_session=True,
                preexec_fn=child,
            )
        proc.out_path, proc.err_path = out_path, err_path
        return proc

    def run(self, argv: list[str], cwd: Path, timeout: float = 300) -> tuple[int, str]:
        proc = self.start(argv, cwd)
        _, err = proc.communicate(timeout=timeout)
        return proc.returncode, err


def last_line(err: str) -> str:
    lines = [x.strip() for x in err.strip().splitlines() if x.strip() and not x.startswith(" ")]
    lines = [x for x in lines if "WARNING" not in x and "is not among those listed" not in x] or lines
    text = re.sub(r"^\[[\d/: ]+\]\s*", "", lines[-1]) if lines else ""
    return text[:150]


def group_alive(pgid: int) -> bool:
    """Whether a live (not zombie) process of process group ``pgid`` remains (Linux /proc)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def wait_until(cond: Callable[[], bool], timeout: float = 60, every: float = 0.05) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(every)
    return False


# --------------------------------------------------------------------------- checks


@dataclass
class Row:
    scenario: str
    stage: str
    workers: int | str
    exits: str = ""
    dup: int | str = "-"
    lost: int | str = "-"
    corrupt: int | str = "-"
    redone: int | str = "-"
    orphans: int | str = "-"
    detail: str = ""
    message: str = ""
    ok: bool = False


def integrity(row: Row, stage: Stage, out: Path, n: int = N) -> bool:
    recs, bad = read_records(stage.final_file(out))
    keys = [str(r.get(stage.key)) for r in recs]
    row.dup = len(keys) - len(set(keys))
    row.lost = len(stage.expected(n) - set(keys))
    row.corrupt = bad
    return row.dup == row.lost == row.corrupt == 0


# --------------------------------------------------------------------------- scenarios


def scenario_kill_parent(env: Env, stage: Stage, rep: int) -> Row:
    """SIGKILL the parent of --workers 2 midway; a user re-runs at once."""
    d = fresh(env, f"kill-parent-{stage.name}-{rep}")
    out = stage.out(d)
    env.endpoint.reset(stage.searches)
    row = Row("kill -9 parent", stage.name, 2)
    proc = env.start(stage.argv(d, out, env, 2, n=N_KILL), d)
    started = wait_until(lambda: stage.done_so_far(out) >= N_KILL // 10 or proc.poll() is not None, 120)
    if not started or proc.poll() is not None:
        row.detail = "finished before the kill"
        proc.communicate()
        return row
    os.kill(proc.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    proc.communicate()
    time.sleep(2.0)
    orphans = group_alive(proc.pid)
    code, err = env.run(stage.argv(d, out, env, 2, door="b", n=N_KILL), d)
    wait_until(lambda: not group_alive(proc.pid), 60)  # orphans of the killed parent finish their share
    kill_group(proc.pid)
    code2, err2 = env.run(
        stage.argv(d, out, env, 2, door="b", n=N_KILL), d
    )  # whatever they left is merged by one more run
    row.exits = f"-9, {code}, {code2}"
    row.orphans = int(orphans)
    row.redone, in_flight = env.endpoint.redone(killed_at)
    row.detail = f"{N_KILL} items; {in_flight} answer(s) in flight at the kill"
    row.message = last_line(err)
    good = integrity(row, stage, out, N_KILL)
    row.ok = good and not orphans and row.redone == 0 and code == 0
    return row


def scenario_kill_worker(env: Env, stage: Stage, rep: int) -> Row:
    """SIGKILL one worker of --workers 2 midway, then re-run."""
    d = fresh(env, f"kill-worker-{stage.name}-{rep}")
    out = stage.out(d)
    env.endpoint.reset(stage.searches)
    row = Row("kill -9 a worker", stage.name, 2)
    proc = env.start(stage.argv(d, out, env, 2), d)
    victim = None

    def ready() -> bool:
        nonlocal victim
        victim = stage.progress_pid(out, 0)
        return (victim is not None and stage.done_so_far(out) >= N // 5) or proc.poll() is not None

    wait_until(ready, 120)
    if victim is None or proc.poll() is not None:
        proc.communicate()
        row.detail = "finished before the kill"
        return row
    os.kill(victim, signal.SIGKILL)
    killed_at = time.monotonic()
    _, err = proc.communicate(timeout=300)
    saved = _lines(stage.final_file(out))
    code2, err2 = env.run(stage.argv(d, out, env, 2, door="b"), d)
    row.exits = f"{proc.returncode}, {code2}"
    row.message = last_line(err)
    row.redone, in_flight = env.endpoint.redone(killed_at)
    row.detail = f"{saved} in --out after the kill, {in_flight} answer(s) in flight"
    row.ok = integrity(row, stage, out) and proc.returncode == 1 and code2 == 0 and saved > 0
    return row


def scenario_signal(env: Env, stage: Stage, sig: int, target: str, workers: int) -> Row:
    """SIGINT / SIGTERM to the process group (a terminal's Ctrl-C, `kill -- -PGID`) or to the parent alone."""
    name = {signal.SIGINT: "SIGINT", signal.SIGTERM: "SIGTERM"}[sig]
    d = fresh(env, f"{name}-{target}-{stage.name}-{workers}")
    out = stage.out(d)
    env.endpoint.reset(stage.searches)
    row = Row(f"{name} to the {target}", stage.name, workers)
    proc = env.start(stage.argv(d, out, env, workers), d)
    wait_until(lambda: stage.done_so_far(out) >= N // 5 or proc.poll() is not None, 120)
    if proc.poll() is not None:
        proc.communicate()
        row.detail = "finished before the signal"
        return row
    t0 = time.monotonic()
    if target == "group":
        os.killpg(proc.pid, sig)
    else:
        os.kill(proc.pid, sig)
    try:
        _, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        kill_group(proc.pid)
        _, err = proc.communicate()
    stop_s = time.monotonic() - t0
    time.sleep(0.5)
    orphans = group_alive(proc.pid)
    kill_group(proc.pid)
    saved = _lines(stage.final_file(out))
    code2, _ = env.run(stage.argv(d, out, env, workers, door="b"), d)
    want = 128 + sig
    row.exits = f"{proc.returncode}, {code2}"
    row.orphans = int(orphans)
    row.redone, in_flight = env.endpoint.redone(t0 + min(stop_s, 1.0))
    row.message = last_line(err)
    row.detail = f"stopped in {stop_s:.1f}s, {saved} in --out, {in_flight} answer(s) in flight"
    said = "interrupted" in err and "re-run" in err
    row.ok = integrity(row, stage, out) and proc.returncode == want and said and not orphans and code2 == 0
    row.ok = row.ok and saved > 0 and row.redone == 0  # what finished was merged, nothing paid twice
    return row


def scenario_endpoint_faults(env: Env, stage: Stage, workers: int) -> Row:
    """6 items whose answer keeps failing (500) and 6 with one transient fault each (429, a truncated body, a
    hang past the timeout); then the endpoint recovers and the command is re-run."""
    d = fresh(env, f"endpoint-{stage.name}-{workers}")
    out = stage.out(d)
    env.endpoint.reset(stage.searches)
    env.endpoint.fail = set(range(0, 6))
    env.endpoint.flaky = {6: "429", 7: "truncated", 8: "hang", 9: "429", 10: "truncated", 11: "hang"}
    row = Row("endpoint 500/429/truncated/hang", stage.name, workers)
    code, err = env.run(stage.argv(d, out, env, workers), d)
    first = _lines(stage.final_file(out))
    failed = failed_sidecar(stage, out)
    env.endpoint.fail = set()
    code2, _ = env.run(stage.argv(d, out, env, workers, door="b"), d)
    stale = _lines(failed) if failed.exists() else 0
    row.exits = f"{code}, {code2}"
    row.message = last_line(err)
    row.redone = env.endpoint.redone()[0]
    row.detail = f"{first}/{N - 6} in --out after run 1; sidecar after run 2: {stale} lines"
    row.ok = integrity(row, stage, out) and code == 1 and first == N - 6 and stale == 0 and code2 == 0
    return row


def failed_sidecar(stage: Stage, out: Path) -> Path:
    return out / "failed.jsonl" if stage.name == "eval run" else out.with_name(out.name + ".failed.jsonl")


def scenario_two_writers(env: Env, stage: Stage) -> Row:
    """Two commands started on one output at the same moment."""
    d = fresh(env, f"two-writers-{stage.name}")
    out = stage.out(d)
    env.endpoint.reset(stage.searches)
    row = Row("two writers", stage.name, 1)
    procs = [env.start(stage.argv(d, out, env, 1), d) for _ in range(2)]
    errs = [p.communicate(timeout=300)[1] for p in procs]
    codes = sorted(p.returncode for p in procs)
    row.exits = ", ".join(map(str, codes))
    row.message = last_line(max(errs, key=lambda e: "another" in e))
    row.redone = env.endpoint.redone()[0]
    recs, _ = read_records(stage.final_file(out))
    row.detail = f"{len(recs)} records for {N} items, {env.endpoint.answered()} answers served"
    refused = codes == [0, 2] and any("being written by another" in e for e in errs)
    row.ok = integrity(row, stage, out) and refused and row.redone == 0
    if stage.name == "eval run":
        report = json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else {}
        row.detail += f"; report runs={report.get('runs')}"
    return row


def scenario_full_disk(env: Env, stage: Stage, workers: int) -> Row:
    """--out on a full filesystem (a small tmpfs): the error names the file; after space is freed the same command
    finishes every id once."""
    row = Row("full disk", stage.name, workers)
    d = fresh(env, f"disk-{stage.name}-{workers}")
    mnt = d / "disk"
    mnt.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        row.detail = "skipped: needs root to mount a tmpfs"
        return row
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48k", "tmpfs", str(mnt)], capture_output=True)
    if mounted.returncode != 0:
        row.detail = f"skipped: mount failed ({mounted.stderr.decode().strip()[:60]})"
        return row
    try:
        out = stage.out(mnt)
        env.endpoint.reset(stage.searches)
        argv = stage.argv(d, out, env, workers)
        code, err = env.run(argv, d)
        subprocess.run(["mount", "-o", "remount,size=8m", str(mnt)], check=True)
        code2, _ = env.run(argv, d)
        row.exits = f"{code}, {code2}"
        row.message = last_line(err)
        named = str(mnt) in err and "No space left" in err and "internal error" not in err and "Traceback" not in err
        row.detail = "error names the file" if named else "error does not name the file"
        row.ok = integrity(row, stage, out) and code in (1, 2) and named and code2 == 0
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
    return row


def scenario_judge_outage(env: Env, stage: Stage) -> Row:
    """The judge returns 500 for the whole first run; it recovers; the same command is re-run. The result must
    equal a run without the outage (every answer is right), and no rollout is redone (the judgement only)."""
    d = fresh(env, f"judge-{stage.name}")
    out = stage.out(d)
    env.endpoint.reset(stage.searches)
    env.endpoint.judge_down = True
    row = Row("judge outage, re-run", stage.name, 1)
    code, err = env.run(stage.argv(d, out, env, 1), d)
    env.endpoint.judge_down = False
    code2, _ = env.run(stage.argv(d, out, env, 1, door="b"), d)
    row.exits = f"{code}, {code2}"
    row.message = last_line(err)
    row.redone = env.endpoint.redone()[0]
    recs, _ = read_records(stage.final_file(out))
    if stage.name == "eval run":
        report = json.loads((out / "report.json").read_text())
        acc = report.get("accuracy", report.get("avg_at_n"))
        row.detail = f"accuracy {acc} (without the outage: 1.0)"
        right = acc == 1.0
    else:
        unlabelled = sum(1 for r in recs if (r.get("metadata") or {}).get("correct") is not True)
        row.detail = f"{unlabelled} trajectories not labelled correct (without the outage: 0)"
        right = unlabelled == 0
    row.ok = integrity(row, stage, out) and right and row.redone == 0 and code2 == 0
    return row


def scenario_summarizer_outage(env: Env) -> Row:
    """synth traj with the summarizer down for the first run: no trajectory built on fallback summaries is kept
    as a result; the re-run does those again."""
    stage = TRAJ
    d = fresh(env, "summarizer")
    out = stage.out(d)
    env.endpoint.reset(stage.searches)
    env.endpoint.summarizer_down = True
    row = Row("summarizer outage, re-run", stage.name, 1)
    code, err = env.run(stage.argv(d, out, env, 1), d)
    env.endpoint.summarizer_down = False
    code2, _ = env.run(stage.argv(d, out, env, 1, door="b"), d)
    recs, _ = read_records(out)
    fallbacks = sum(
        1 for r in recs if any(s.get("status") == "fallback" for s in (r.get("metadata") or {}).get("summaries") or [])
    )
    row.exits = f"{code}, {code2}"
    row.message = last_line(err)
    row.detail = f"{fallbacks} trajectories built on fallback summaries"
    row.ok = integrity(row, stage, out) and fallbacks == 0 and code2 == 0
    return row


def scenario_model_switch(env: Env, stage: Stage) -> Row:
    """--workers 2 with model A, killed midway, re-run with model B."""
    d = fresh(env, f"model-switch-{stage.name}")
    out = stage.out(d)
    env.endpoint.reset(stage.searches)
    row = Row("resume with another model", stage.name, 2)
    proc = env.start(stage.argv(d, out, env, 2, model="model-a"), d)
    wait_until(lambda: stage.done_so_far(out) >= N // 4 or proc.poll() is not None, 120)
    kill_group(proc.pid)
    proc.communicate()
    code, err = env.run(stage.argv(d, out, env, 2, model="model-b"), d)
    recs, _ = read_records(stage.final_file(out))
    shard_recs = [r for p in stage.shard_files(out) for r in read_records(p)[0]]
    models = Counter(str((r.get("metadata") or {}).get("model")) for r in recs + shard_recs)
    row.exits = f"-9, {code}"
    row.message = last_line(err)
    row.detail = f"models in the output: {dict(models)}"
    row.ok = code == 2 and "model-b" not in models and "model" in err
    return row


def scenario_web_two_builds(env: Env, workers: int) -> Row:
    d = fresh(env, f"web-two-{workers}")
    web = d / "web"
    row = Row("two writers", "web build", workers)
    argv = ["web", "build", "--source", str(env.corpus), "--out", str(web), "--no-progress"]
    if workers > 1:
        argv += ["--workers", str(workers)]
    procs = [env.start(argv, d) for _ in range(2)]
    errs = [p.communicate(timeout=300)[1] for p in procs]
    codes = sorted(p.returncode for p in procs)
    pages, links, status = graph_counts(web)
    row.exits = ", ".join(map(str, codes))
    row.message = last_line(max(errs, key=lambda e: "another" in e))
    row.detail = (
        f"status {status}, {pages} pages, {links} links (alone: {env.corpus_pages} pages, {env.corpus_links} links)"
    )
    row.corrupt = int((pages, links) != (env.corpus_pages, env.corpus_links))
    refused = codes == [0, 2] and any("being written by another" in e for e in errs)
    row.ok = refused and row.corrupt == 0 and status == "complete"
    return row


def graph_counts(web: Path) -> tuple[int, int, str]:
    try:
        con = sqlite3.connect(f"file:{web / 'graph.sqlite'}?mode=ro", uri=True)
        pages = con.execute("SELECT count(*) FROM pages").fetchone()[0]
        links = con.execute("SELECT count(*) FROM links").fetchone()[0]
        status = json.loads(con.execute("SELECT value FROM meta WHERE key='status'").fetchone()[0])
        con.close()
        return pages, links, status
    except (sqlite3.Error, TypeError, ValueError):
        return 0, 0, "unreadable"


def scenario_web_kill(env: Env, workers: int, how: str) -> Row:
    """web build killed (SIGKILL of the parent, or SIGTERM to the group) midway, then re-run."""
    d = fresh(env, f"web-{how}-{workers}")
    web = d / "web"
    row = Row(f"{how}", "web build", workers)
    argv = ["web", "build", "--source", str(env.big_corpus), "--out", str(web), "--no-progress"]
    if workers > 1:
        argv += ["--workers", str(workers)]
    proc = env.start(argv, d)
    wait_until(lambda: (web / "graph.sqlite").exists() or proc.poll() is not None, 120)
    time.sleep(1.0)
    if how == "kill -9 parent":
        os.kill(proc.pid, signal.SIGKILL)
    else:
        os.killpg(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    time.sleep(1.0)
    orphans = group_alive(proc.pid)
    kill_group(proc.pid)
    code2, err2 = env.run(argv, d)
    pages, links, status = graph_counts(web)
    row.exits = f"{proc.returncode}, {code2}"
    row.orphans = int(orphans)
    row.message = last_line(err)
    row.detail = f"status {status}, {pages} pages (want {env.big_pages})"
    row.dup = row.lost = row.corrupt = 0 if pages == env.big_pages else abs(pages - env.big_pages)
    row.ok = pages == env.big_pages and status == "complete" and not orphans and code2 == 0
    if how != "kill -9 parent":
        row.ok = row.ok and proc.returncode == 143
    return row


def scenario_bad_bytes(env: Env) -> list[Row]:
    """One byte that is not UTF-8 in a JSONL corpus (line 1,500 of 3,000) and in question files (lines 5, 300)."""
    d = fresh(env, "bad-bytes")
    rows = []
    corpus = d / "bad.jsonl"
    lines = [json.dumps({"title": f"Page {i}", "text": f"text of page {i}"}).encode() for i in range(3000)]
    lines[1499] = lines[1499].replace(b"text of", b"text \xff of")
    corpus.write_bytes(b"\n".join(lines) + b"\n")
    code, err = env.run(["web", "build", "--source", str(corpus), "--out", str(d / "w1"), "--no-progress"], d)
    row = Row("bad byte, no --skip-bad", "web build", 1, exits=str(code), message=last_line(err))
    row.ok = code == 2 and f"{corpus}:1500" in err
    rows.append(row)
    code, err = env.run(
        ["web", "build", "--source", str(corpus), "--out", str(d / "w2"), "--no-progress", "--skip-bad"], d
    )
    pages, _, status = graph_counts(d / "w2")
    row = Row("bad byte, --skip-bad", "web build", 1, exits=str(code), message=last_line(err))
    row.lost = 2999 - pages
    row.detail = f"{pages} pages (want 2999), status {status}"
    row.ok = code == 0 and pages == 2999
    rows.append(row)
    for bad_line in (5, 300):
        q = d / f"q{bad_line}.jsonl"
        qs = [json.dumps({"id": f"q{i}", "question": f"question {i}"}).encode() for i in range(400)]
        qs[bad_line - 1] = qs[bad_line - 1].replace(b"question", b"que\xffstion")
        q.write_bytes(b"\n".join(qs) + b"\n")
        argv = ["agent", "run", "--web", str(env.web), "--questions", str(q), "--out", str(d / "o.jsonl")]
        code, err = env.run(argv + ["--config", str(env.config(d, "m"))], d)
        flat = " ".join(err.split())
        row = Row(f"bad byte on line {bad_line}", "agent run", 1, exits=str(code), message=last_line(err))
        row.ok = code == 2 and f"{q}:{bad_line}:" in flat and "--skip-bad" not in flat
        rows.append(row)
    return rows


class QAEndpoint:
    """The rule-based QA-synthesis oracle (``openseeker.testing.qa_oracle``) over real HTTP, with a latency per call
    and an outage switch (``down``: every call gets 500)."""

    def __init__(self, delay: float = 0.02):
        from openseeker.testing.chat_server import ScriptedChatServer
        from openseeker.testing.qa_oracle import Oracle

        self.delay, self.down, self.oracle = delay, False, Oracle()
        self.server = ScriptedChatServer(self.respond).start()

    def respond(self, req: dict[str, Any]) -> Any:
        from openseeker.testing.chat_server import Reply

        time.sleep(self.delay)
        return Reply(status=500) if self.down else self.oracle.reply(req)


def qa_argv(env: Env, out: Path, workers: int, n: int = 12) -> list[str]:
    cfg = env.work / "qa-llm.yaml"
    if not cfg.exists():
        cfg.write_text(
            f"llm:\n  default:\n    base_url: {env.qa_endpoint.server.base_url}\n    model: m\n"
            "    max_retries: 0\n    timeout_s: 5\n    concurrency: 64\n"
        )
    argv = ["synth", "qa", "--web", str(env.world), "--n", str(n), "--out", str(out), "--k", "3", "--config",
            str(cfg), "--max-candidates", "40", "--concurrency", "2", "--no-progress"]  # fmt: skip
    return argv + (["--workers", str(workers)] if workers > 1 else [])


def qa_integrity(row: Row, out: Path) -> bool:
    acc, bad1 = read_records(out)
    rej, bad2 = read_records(out.with_name(out.name + ".rejected.jsonl"))
    ids = [str(r.get("id")) for r in acc + rej]
    row.dup, row.corrupt, row.lost = len(ids) - len(set(ids)), bad1 + bad2, "-"
    return row.dup == row.corrupt == 0


def scenario_qa_kill(env: Env, rep: int) -> Row:
    """synth qa --workers 2, its parent SIGKILLed midway, then re-run."""
    d = fresh(env, f"qa-kill-{rep}")
    out = d / "qa.jsonl"
    row = Row("kill -9 parent", "synth qa", 2)
    proc = env.start(qa_argv(env, out, 2), d)
    shards = out.with_name(out.name + ".shards")
    wait_until(lambda: sum(_lines(f) for f in shards.glob("*-0000*.jsonl")) >= 4 or proc.poll() is not None, 120)
    if proc.poll() is not None:
        proc.communicate()
        row.detail = "finished before the kill"
        return row
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    time.sleep(2.0)
    orphans = group_alive(proc.pid)
    wait_until(lambda: not group_alive(proc.pid), 60)
    code, err = env.run(qa_argv(env, out, 2), d)
    row.exits, row.orphans, row.message = f"-9, {code}", int(orphans), last_line(err)
    row.detail = f"{_lines(out)} accepted"
    row.ok = qa_integrity(row, out) and not orphans and code == 0
    return row


def scenario_qa_outage(env: Env, workers: int) -> Row:
    """synth qa with the endpoint down for a moment: the lost candidates are listed and the command says so."""
    d = fresh(env, f"qa-outage-{workers}")
    out = d / "qa.jsonl"
    row = Row("endpoint 500s", "synth qa", workers)
    proc = env.start(qa_argv(env, out, workers, n=30), d)
    files = [out, out.with_name("qa.jsonl.rejected.jsonl")]
    shards = out.with_name(out.name + ".shards")
    wait_until(lambda: sum(map(_lines, [*files, *shards.glob("*.jsonl")])) >= 2 or proc.poll() is not None, 120)
    env.qa_endpoint.down = True
    time.sleep(0.3)
    env.qa_endpoint.down = False
    printed, err = proc.communicate(timeout=300)
    sidecar = out.with_name("qa.jsonl.failed.jsonl")
    row.exits, row.message = str(proc.returncode), last_line(err)
    row.detail = f"sidecar: {_lines(sidecar)} lines"
    row.ok = qa_integrity(row, out) and proc.returncode == 1 and _lines(sidecar) > 0 and "+-" not in printed
    return row


def fresh(env: Env, name: str) -> Path:
    d = env.work / re.sub(r"[^\w.-]+", "-", name)
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    return d


# --------------------------------------------------------------------------- setup and report


def setup(env: Env) -> None:
    d = env.work
    pages = [
        {
            "url": "https://en.wikipedia.org/wiki/Gustave_Eiffel",
            "title": "Gustave Eiffel",
            "text": "Gustave Eiffel was a French civil engineer, born in Dijon. His company built the Eiffel Tower.",
        },
        {"url": "https://en.wikipedia.org/wiki/Dijon", "title": "Dijon", "text": "Dijon is a city in France."},
    ]
    (d / "pages.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pages))
    env.web = d / "web"
    code, err = env.run(
        ["web", "build", "--source", str(d / "pages.jsonl"), "--out", str(env.web), "--no-progress"], d
    )
    assert code == 0, err
    env.corpus = d / "corpus.jsonl"  # 3,000 linked pages
    rows = []
    for i in range(3000):
        links = [f"Page {(i * 7 + k) % 3000}" for k in range(1, 6)]
        rows.append({"title": f"Page {i}", "text": f"Page {i} is about topic {i % 50} and links on.", "links": links})
    env.corpus.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, err = env.run(
        ["web", "build", "--source", str(env.corpus), "--out", str(d / "web-alone"), "--no-progress"], d
    )
    assert code == 0, err
    env.corpus_pages, env.corpus_links, _ = graph_counts(d / "web-alone")
    env.big_corpus = d / "big.jsonl"  # long enough to be interrupted midway
    with env.big_corpus.open("w") as fh:
        for i in range(60_000):
            words = " ".join(f"w{(i * 31 + k) % 5000}" for k in range(60))
            fh.write(json.dumps({"title": f"Doc {i}", "text": words, "links": [f"Doc {(i + 1) % 60000}"]}) + "\n")
    env.big_pages = 60_000
    from openseeker.testing.qa_oracle import tiny_world

    world = tiny_world()  # the QA oracle's 9 linked pages
    rows = [
        {"url": p.url, "title": p.title, "text": p.text, "links": [x.dst for x in world.out_links(p.url)]}
        for p in world.pages.values()
    ]
    (d / "world.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    env.world = d / "world"
    code, err = env.run(
        ["web", "build", "--source", str(d / "world.jsonl"), "--out", str(env.world), "--no-progress"], d
    )
    assert code == 0, err


SCENARIOS = (
    "kill-parent",
    "kill-worker",
    "signals",
    "endpoint",
    "two-writers",
    "full-disk",
    "judge",
    "model-switch",
    "web",
    "bad-bytes",
    "qa",
)


def run_matrix(env: Env, reps: int, only: set[str]) -> list[Row]:
    rows: list[Row] = []

    def want(name: str) -> bool:
        return not only or name in only

    def add(row: Row | list[Row]) -> None:
        for r in row if isinstance(row, list) else [row]:
            rows.append(r)
            print(format_row(r), flush=True)

    if want("kill-parent"):
        for stage in (AGENT, TRAJ, EVAL):
            for rep in range(reps if stage is AGENT else max(1, reps // 2)):
                add(scenario_kill_parent(env, stage, rep))
    if want("kill-worker"):
        for stage in (AGENT, TRAJ, EVAL):
            for rep in range(reps if stage is AGENT else max(1, reps // 2)):
                add(scenario_kill_worker(env, stage, rep))
    if want("signals"):
        for stage in (AGENT, TRAJ, EVAL):
            for sig in (signal.SIGINT, signal.SIGTERM):
                for target in ("group", "parent"):
                    add(scenario_signal(env, stage, sig, target, 2))
        for sig in (signal.SIGINT, signal.SIGTERM):
            add(scenario_signal(env, AGENT, sig, "parent", 1))
    if want("endpoint"):
        for stage in (AGENT, TRAJ, EVAL):
            for workers in (1, 2):
                add(scenario_endpoint_faults(env, stage, workers))
    if want("two-writers"):
        for stage in (AGENT, TRAJ, EVAL):
            add(scenario_two_writers(env, stage))
        for workers in (1, 2):
            add(scenario_web_two_builds(env, workers))
    if want("full-disk"):
        for workers in (1, 2):
            add(scenario_full_disk(env, AGENT, workers))
        add(scenario_full_disk(env, EVAL, 1))
    if want("judge"):
        add(scenario_judge_outage(env, EVAL))
        add(scenario_judge_outage(env, TRAJ))
        add(scenario_summarizer_outage(env))
    if want("model-switch"):
        add(scenario_model_switch(env, AGENT))
        add(scenario_model_switch(env, TRAJ))
    if want("web"):
        for workers in (1, 2):
            add(scenario_web_kill(env, workers, "kill -9 parent"))
            add(scenario_web_kill(env, workers, "SIGTERM to the group"))
    if want("bad-bytes"):
        add(scenario_bad_bytes(env))
    if want("qa"):
        for rep in range(max(1, reps // 2)):
            add(scenario_qa_kill(env, rep))
        for workers in (1, 2):
            add(scenario_qa_outage(env, workers))
    return rows


COLUMNS = ("scenario", "stage", "workers", "exits", "dup", "lost", "corrupt", "redone", "orphans", "ok", "detail")


def format_row(r: Row) -> str:
    cells = [str(getattr(r, c)) if c != "ok" else ("ok" if r.ok else "FAIL") for c in COLUMNS]
    return "| " + " | ".join(cells) + " |"


def table(rows: list[Row]) -> str:
    head = "| " + " | ".join(COLUMNS) + " |\n|" + "---|" * len(COLUMNS) + "\n"
    return head + "\n".join(format_row(r) for r in rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=5, help="repetitions of the kill scenarios for agent run")
    ap.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(SCENARIOS)}")
    ap.add_argument("--src", type=Path, default=ROOT / "src", help="the openseeker source tree to run")
    ap.add_argument("--json", type=Path, default=None, help="write the rows here")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    sys.path.insert(0, str(args.src))
    only = {s for s in args.only.split(",") if s}
    unknown = only - set(SCENARIOS)
    if unknown:
        raise SystemExit(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    work = Path(tempfile.mkdtemp(prefix="fault-matrix-"))
    endpoint = Endpoint()
    env = Env(src=args.src.resolve(), work=work, endpoint=endpoint)
    env.qa_endpoint = QAEndpoint()
    t0 = time.monotonic()
    try:
        setup(env)
        print(table([]))
        rows = run_matrix(env, args.reps, only)
    finally:
        endpoint.stop()
        env.qa_endpoint.server.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    wall = time.monotonic() - t0
    print(
        f"\n{sum(r.ok for r in rows)}/{len(rows)} rows ok in {wall:.0f}s (src {args.src}, load {os.getloadavg()[0]:.1f})"
    )
    print("\nmessages:")
    for r in rows:
        if r.message:
            print(f"- {r.scenario} / {r.stage} / {r.workers}: {r.message}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps({"src": str(args.src), "wall_s": round(wall), "rows": [r.__dict__ for r in rows]}, indent=2)
            + "\n"
        )


if __name__ == "__main__":
    main()
