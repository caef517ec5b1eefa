"""Per-call overhead of the code_exec sandbox: bwrap vs a plain subprocess, side by side in one run.

Run: ``python benchmarks/bench_code_exec.py [--calls 200] [--out benchmarks/results/code_exec.json]``

Both sides run the same command through asyncio's subprocess machinery and read stdout/stderr to the end:
- ``plain``: ``bash -c CMD`` with no isolation at all (what running the model's code unsandboxed would cost);
- ``bwrap``: ``BwrapSandbox.run(CMD)``, the real tool path (prlimit + bwrap namespaces + the wrapper that keeps
  the working directory), one sandbox per attempt as in a rollout.
Commands: ``true`` (pure start-up overhead) and ``python -c 'print(1)'`` (a typical short call; the sandbox's
Python is the running interpreter). Concurrency 1 (one attempt, calls one after another) and 32 (32 attempts in
flight, each its own sandbox). Reported: p50 / p99 per call in milliseconds and the bwrap / plain ratio, with the
machine's load average before and after (the machine is shared; run it with nothing else of yours running).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from openseeker.sandbox.bwrap import BwrapBackend
from openseeker.sandbox.settings import SandboxSettings

COMMANDS = {"true": "true", "python": f"{sys.executable} -c 'print(1)'"}


async def _plain(cmd: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        cmd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    await proc.communicate()


async def _one_attempt(kind: str, backend: BwrapBackend, cmd: str, calls: int) -> list[float]:
    times = []
    sandbox = await backend.create() if kind == "bwrap" else None
    try:
        for _ in range(calls):
            t0 = time.perf_counter()
            if sandbox is not None:
                result = await sandbox.run(cmd)
                assert result.exit_code == 0, result
            else:
                await _plain(cmd)
            times.append(time.perf_counter() - t0)
    finally:
        if sandbox is not None:
            await sandbox.close()
    return times


async def _measure(kind: str, backend: BwrapBackend, cmd: str, concurrency: int, calls: int) -> dict:
    per = max(1, calls // concurrency)
    t0 = time.perf_counter()
    runs = await asyncio.gather(*(_one_attempt(kind, backend, cmd, per) for _ in range(concurrency)))
    wall = time.perf_counter() - t0
    times = sorted(t for run in runs for t in run)
    return {
        "calls": len(times),
        "p50_ms": round(statistics.median(times) * 1000, 2),
        "p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))] * 1000, 2),
        "calls_per_s": round(len(times) / wall, 1),
    }


async def main(calls: int) -> dict:
    backend = BwrapBackend(SandboxSettings(backend="bwrap"))
    backend.check()
    for _ in range(3):  # warm the page cache for both sides
        await _one_attempt("bwrap", backend, "true", 2)
        await _plain("true")
    rows = []
    for name, cmd in COMMANDS.items():
        for concurrency in (1, 32):
            row = {"command": name, "concurrency": concurrency}
            for kind in ("plain", "bwrap"):
                row[kind] = await _measure(kind, backend, cmd, concurrency, calls)
            row["ratio_p50"] = round(row["bwrap"]["p50_ms"] / row["plain"]["p50_ms"], 2)
            row["extra_p50_ms"] = round(row["bwrap"]["p50_ms"] - row["plain"]["p50_ms"], 2)
            rows.append(row)
            print(json.dumps(row), flush=True)
    return {"rows": rows}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=320, help="calls per measurement (split over the attempts)")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "code_exec.json")
    args = ap.parse_args()
    load_before = os.getloadavg()
    result = asyncio.run(main(args.calls))
    result.update(
        load_before=[round(x, 2) for x in load_before],
        load_after=[round(x, 2) for x in os.getloadavg()],
        cpus=os.cpu_count(),
        python=platform.python_version(),
        kernel=platform.release(),
        bwrap=os.popen("bwrap --version").read().strip(),
        user="root" if os.geteuid() == 0 else "unprivileged",
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
