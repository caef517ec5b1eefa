"""The embedded server under CPU load: threads, busy-wait polling and parallel slots, idle and beside busy cores.

Run: ``python benchmarks/bench_embedded_load.py [--loads 0 1 2] [--repeats 2] [--out benchmarks/results/embedded_load.json]``

A laptop doing something else is the normal case. llama.cpp's worker threads busy-wait for each other between
operations (``cpuparams.poll``, 50 by default), so when the cores are oversubscribed a thread that spins holds a
core another thread (its own peer, or the pipeline's Python) needs. This measures, side by side in one run, every
setting worth choosing between, with a competing load the benchmark starts itself (``k`` processes spinning in a
loop, ``k`` = 0, 1, 2 busy cores), each trial in a fresh process with a fresh server:

- ``batch``: the demo's QA step in miniature: 16 chat requests (a ~350-token prompt each, 48 tokens out,
  temperature 0), 8 in flight (wall time);
- ``single``: one request of 64 tokens out (latency).

The load average is recorded (the machine is shared: other work adds to the load this benchmark starts).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from openseeker.executors.supervise import sigterm_when_parent_dies

CONFIGS = [  # name -> EmbeddedSettings overrides
    ("before: auto threads, poll 50, 4 slots", {"threads": 0, "poll": 50, "n_parallel": 4}),
    ("default: auto threads, poll 0, 4 slots", {"threads": 0, "poll": 0, "n_parallel": 4}),
    ("auto threads, poll 50, 8 slots", {"threads": 0, "poll": 50, "n_parallel": 8}),
    ("auto threads, poll 0", {"threads": 0, "poll": 0, "n_parallel": 8}),
    ("2 threads, poll 50", {"threads": 2, "poll": 50, "n_parallel": 8}),
    ("2 threads, poll 0", {"threads": 2, "poll": 0, "n_parallel": 8}),
    ("1 thread, poll 50", {"threads": 1, "poll": 50, "n_parallel": 8}),
    ("1 thread, poll 0", {"threads": 1, "poll": 0, "n_parallel": 8}),
    ("1 thread, poll 0, 4 slots", {"threads": 1, "poll": 0, "n_parallel": 4}),
    ("2 servers x 1 thread, poll 0", {"threads": 1, "poll": 0, "n_parallel": 4, "servers": 2}),
    ("2 servers x 1 thread, poll 50", {"threads": 1, "poll": 50, "n_parallel": 4, "servers": 2}),
]

PARAGRAPH = (
    "The Sahara is a desert spanning North Africa. With an area of 9,200,000 square kilometres, it is the largest "
    "hot desert in the world and the third-largest desert overall, smaller only than the deserts of Antarctica and "
    "the northern Arctic. The name Sahara is derived from the Arabic word for desert. The desert covers much of "
    "North Africa, excluding the fertile region on the Mediterranean Sea coast, the Atlas Mountains of the "
    "Maghreb, and the Nile Valley in Egypt and the Sudan. It stretches from the Red Sea in the east and the "
    "Mediterranean in the north to the Atlantic Ocean in the west, where the landscape gradually changes from "
    "desert to coastal plains. "
)


async def _trial(settings: dict) -> dict:
    from openseeker.llm.config import embedded_config
    from openseeker.llm.embedded import auto_threads
    from openseeker.llm.pool import LLMPool

    cfg = embedded_config(n_ctx=8192, **settings)
    t0 = time.perf_counter()
    async with LLMPool(cfg) as pool:
        llm = pool.role("generator")
        start_s = time.perf_counter() - t0
        await llm.chat([{"role": "user", "content": "Say hi."}], max_tokens=4, temperature=0.0)  # warm
        messages = [
            [{"role": "user", "content": f"{PARAGRAPH}\nQuestion {i}: name one fact from the text above."}]
            for i in range(16)
        ]
        sem = asyncio.Semaphore(8)

        async def one(m: list) -> int:
            async with sem:
                c = await llm.chat(m, max_tokens=48, temperature=0.0)
                return c.usage.completion_tokens

        t1 = time.perf_counter()
        tokens = sum(await asyncio.gather(*(one(m) for m in messages)))
        batch_s = time.perf_counter() - t1
        t2 = time.perf_counter()
        c = await llm.chat(
            [{"role": "user", "content": "Write a short paragraph about deserts."}], max_tokens=64, temperature=0.0
        )
        single_s = time.perf_counter() - t2
    return {
        "start_s": round(start_s, 2),
        "batch_s": round(batch_s, 2),
        "batch_tokens": tokens,
        "single_s": round(single_s, 2),
        "single_tokens": c.usage.completion_tokens,
        "threads_used": settings["threads"] or max(1, auto_threads() // settings.get("servers", 1)),
    }


def _spinners(k: int) -> list[subprocess.Popen]:
    """``k`` busy cores; they die with this script even when it is killed (an orphan would load later runs)."""
    cmd = [sys.executable, "-c", "while True: pass"]
    return [subprocess.Popen(cmd, preexec_fn=sigterm_when_parent_dies) for _ in range(k)]


def _run_trial(settings: dict) -> dict:
    env = {**os.environ, "OPENSEEKER_NO_CACHE": "1", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, __file__, "--trial", json.dumps(settings)], capture_output=True, text=True, env=env
    )
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trial", help=argparse.SUPPRESS)
    ap.add_argument("--loads", type=int, nargs="+", default=[0, 1, 2], help="busy cores to start (default 0 1 2)")
    ap.add_argument("--repeats", type=int, default=2, help="rounds over every config (interleaved)")
    ap.add_argument("--only", nargs="*", help="config names to run (default: all)")
    ap.add_argument("--out", default="benchmarks/results/embedded_load.json")
    args = ap.parse_args()
    if args.trial:
        print(json.dumps(asyncio.run(_trial(json.loads(args.trial)))))
        return
    configs = [(n, s) for n, s in CONFIGS if not args.only or n in args.only]
    rows = []
    for load in args.loads:
        spin = _spinners(load)
        time.sleep(1.0)
        try:
            for rep in range(args.repeats):
                for name, settings in configs:  # interleaved: drift in the machine's load hits every config alike
                    la = os.getloadavg()[0]
                    r = _run_trial(settings)
                    row = {
                        "load_cores": load,
                        "config": name,
                        **settings,
                        "repeat": rep,
                        "loadavg_1m": round(la, 2),
                        **r,
                    }
                    rows.append(row)
                    print(json.dumps(row), flush=True)
        finally:
            for p in spin:
                p.kill()
    summary = _summarize(rows)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(
        json.dumps(
            {
                "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                "cpus": os.cpu_count(),
                "rows": rows,
                "summary": summary,
            },
            indent=2,
        )  # fmt: skip
    )
    for line in summary:
        print(line)


def _summarize(rows: list[dict]) -> list[str]:
    """Median batch seconds and tokens/s (the outputs of batched decoding vary a little in length), single-request
    seconds per (load, config), and the batch throughput relative to the old default at that load."""
    import statistics

    out = []
    for load in sorted({r["load_cores"] for r in rows}):
        base = None
        for name, _ in CONFIGS:
            mine = [r for r in rows if r["load_cores"] == load and r["config"] == name and "batch_s" in r]
            if not mine:
                continue
            b = statistics.median(r["batch_s"] for r in mine)
            tps = statistics.median(r["batch_tokens"] / r["batch_s"] for r in mine)
            s = statistics.median(r["single_s"] for r in mine)
            base = base or tps
            out.append(
                f"load {load}: {name:30s} batch {b:6.1f} s, {tps:5.1f} tok/s ({tps / base:4.2f}x)  single {s:5.2f} s"
            )
    return out


if __name__ == "__main__":
    main()
