"""Scale-out benchmark: the executor's backends and the client's CPU per agent step (benchmarks/scale.md).

Run (each part bounded; the fake endpoint is bench_agent.py's raw-asyncio server in its own process):

    python benchmarks/bench_scale.py cpu                    # CPU per step against an instant endpoint (+ profile)
    python benchmarks/bench_scale.py workers --concurrency 64 256 1024 2048 4096 --backends 1 local2 ray2
    python benchmarks/bench_scale.py replicas               # 4 replicas, one SIGKILLed mid-run

``cpu``: agent rollouts (3 searches + answer, text protocol, the real LLMPool -> aiohttp transport -> executor
with group commit) against an endpoint answering at once; CPU seconds of this process / agent steps. ``--profile``
prints the top functions by own time.

``workers``: ``agent run``'s stage (``run_questions``: every worker opens its own LLM pool; FakeWeb tools) at
total concurrency c against a 100 ms endpoint, with 1 process, ``--workers 2`` (local) and 2 Ray workers (a local
Ray cluster, started once); rollouts = waves x c. The same fake endpoint serves all (one process; it needs CPU
too: on a 2-core machine it competes with the workers).

``replicas``: 4 chat-server replicas (``python -m openseeker.testing.chat_server``, each its own process, 50 ms
per call); one SIGKILLed after a quarter of the calls; reports completion, lost/duplicated ids, and the load
spread over the healthy replicas.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_agent import start_server  # noqa: E402  (the fake endpoint, shared with bench_agent)

SEARCHES = 3
STEPS = SEARCHES + 1


def _items(n: int) -> list[dict]:
    return [
        {"id": f"r{i:06d}", "question": f"Where was the designer of the Eiffel Tower born? ({i})"} for i in range(n)
    ]


def _settings(concurrency: int) -> dict:
    return {"concurrency": concurrency, "protocol": "text", "extract": False, "max_tool_calls": 20}


def _cfg(base_url: str, concurrency: int):
    from openseeker.llm.config import endpoint_config

    return endpoint_config(
        base_url, "bench", cache=False, concurrency=concurrency, max_retries=0, timeout_s=300, transport="aiohttp"
    )


# --------------------------------------------------------------------------- cpu per step


async def cpu_run(base_url: str, concurrency: int, rollouts: int, out_dir: Path, profile: bool) -> dict:
    from openseeker.agent.batch import run_batch
    from openseeker.agent.runtime import Agent
    from openseeker.llm.pool import LLMPool
    from openseeker.testing.fake_web import FakeWeb, tiny_pages
    from openseeker.web.tools import SearchTool, VisitTool

    web = FakeWeb(tiny_pages())
    async with LLMPool(_cfg(base_url, concurrency)) as pool:
        agent = Agent(pool.role("student"), [SearchTool(web), VisitTool(web)], protocol="text")
        await run_batch(
            _items(32), out_dir / "warm.jsonl", agent=agent, concurrency=8, progress=False, write_summary=False
        )
        out = out_dir / f"cpu_c{concurrency}.jsonl"
        prof = None
        if profile:
            import cProfile

            prof = cProfile.Profile()
            prof.enable()
        t0, c0 = time.perf_counter(), time.process_time()
        s = await run_batch(
            _items(rollouts), out, agent=agent, concurrency=concurrency, progress=False, write_summary=False
        )
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        if prof is not None:
            prof.disable()
            import pstats

            pstats.Stats(prof).sort_stats("tottime").print_stats(25)
    steps = s["turns"]
    assert s["done"] == rollouts and steps == rollouts * STEPS, s
    return {
        "concurrency": concurrency,
        "rollouts": rollouts,
        "steps": steps,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "cpu_ms_per_step": round(cpu / steps * 1e3, 3),
        "steps_per_s": round(steps / wall, 1),
    }


# --------------------------------------------------------------------------- backends


def workers_run(base_url: str, backend: str, concurrency: int, rollouts: int, out_dir: Path) -> dict:
    from openseeker.agent.batch import run_questions
    from openseeker.executors import get_executor
    from openseeker.testing.fake_web import FakeWeb, tiny_pages

    n = 1 if backend == "1" else int(backend[-1])
    kind = "ray" if backend.startswith("ray") else "local"
    per = max(1, concurrency // n)
    exe = get_executor(kind, workers=n, concurrency=per, progress=False)
    out = out_dir / f"w_{backend}_c{concurrency}.jsonl"
    out.unlink(missing_ok=True)
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    c0 = time.process_time()
    t0 = time.perf_counter()
    s = asyncio.run(
        run_questions(
            FakeWeb(tiny_pages()),
            _cfg(base_url, per),
            _items(rollouts),
            out,
            settings=_settings(per),
            progress=False,
            executor=exe,
        )
    )
    wall = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = time.process_time() - c0 + (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    assert s["done"] == rollouts, s
    ideal = concurrency / (STEPS * 0.1)
    out.unlink(missing_ok=True)
    steady = max(s["rank_wall_s"])  # from the ranks' first item to their last write: without process start-up
    return {
        "backend": {"1": "1 process", "local2": "local --workers 2", "ray2": "ray, 2 workers"}[backend],
        "concurrency": concurrency,
        "rollouts": rollouts,
        "wall_s": round(wall, 2),
        "rollouts_per_s": round(rollouts / wall, 1),
        "ideal_rollouts_per_s": round(ideal, 1),
        "fraction_of_ideal": round(rollouts / wall / ideal, 3),
        "steady_s": round(steady, 2),
        "steady_rollouts_per_s": round(rollouts / steady, 1),
        "steady_fraction_of_ideal": round(rollouts / steady / ideal, 3),
        "cpu_s": None if kind == "ray" else round(cpu, 2),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


# --------------------------------------------------------------------------- replicas


def replicas_run(rollouts: int, concurrency: int) -> dict:
    from openseeker.agent.batch import run_batch
    from openseeker.agent.runtime import Agent
    from openseeker.llm.config import endpoint_config
    from openseeker.llm.pool import LLMPool
    from openseeker.testing.fake_web import FakeWeb, tiny_pages
    from openseeker.web.tools import SearchTool, VisitTool

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = []
    for _ in range(4):
        p = subprocess.Popen(
            [
                sys.executable,
                "-W",
                "ignore",
                "-m",
                "openseeker.testing.chat_server",
                "--delay",
                "0.05",
                "--searches",
                "1",
            ],
            stdout=subprocess.PIPE,
            env=env,
        )
        procs.append((p, p.stdout.readline().decode().strip()))
    cfg = endpoint_config(
        ",".join(u for _, u in procs),
        model="m",
        cache=False,
        concurrency=concurrency // 4 + 4,
        max_retries=2,
        backoff_s=0.1,
    )

    async def main():
        async with LLMPool(cfg) as pool:
            web = FakeWeb(tiny_pages())
            agent = Agent(pool.role("student"), [SearchTool(web), VisitTool(web)], protocol="text")
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "out.jsonl"
                task = asyncio.create_task(
                    run_batch(
                        _items(rollouts),
                        out,
                        agent=agent,
                        concurrency=concurrency,
                        progress=False,
                        write_summary=False,
                    )
                )
                transport = next(iter(pool._clients.values()))
                while sum(r.served for r in transport.replicas) < rollouts * 2 // 4:
                    await asyncio.sleep(0.01)
                in_flight = transport.replicas[1].in_flight
                procs[1][0].send_signal(signal.SIGKILL)
                t0 = time.perf_counter()
                summary = await task
                ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
                return summary, transport.stats(), ids, in_flight, time.perf_counter() - t0

    try:
        summary, stats, ids, in_flight, after = asyncio.run(main())
    finally:
        for p, _ in procs:
            p.kill()
            p.wait()
    healthy = [s["served"] for i, s in enumerate(stats) if i != 1]
    mean = sum(healthy) / 3
    return {
        "rollouts": rollouts,
        "concurrency": concurrency,
        "calls_per_rollout": 2,
        "done": summary["done"],
        "failed": summary["failed"],
        "lost": rollouts - len(set(ids)),
        "duplicated": len(ids) - len(set(ids)),
        "in_flight_on_killed_replica": in_flight,
        "served_per_replica": [s["served"] for s in stats],
        "killed_replica": 1,
        "healthy_max_dev_from_mean": round(max(abs(n - mean) for n in healthy) / mean, 4),
        "calls_answered": sum(s["served"] for s in stats),
        "seconds_after_kill": round(after, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("part", choices=["cpu", "workers", "replicas"])
    ap.add_argument("--concurrency", type=int, nargs="+", default=None)
    ap.add_argument("--backends", nargs="+", default=["1", "local2", "ray2"], choices=["1", "local2", "ray2"])
    ap.add_argument("--waves", type=int, default=2, help="workers: rollouts = waves x concurrency")
    ap.add_argument("--rollouts", type=int, default=2000, help="cpu / replicas: rollouts")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    import logging

    logging.basicConfig(level=logging.ERROR)
    load_before = os.getloadavg()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        if args.part == "cpu":
            proc, url = start_server(SEARCHES, 0.0)
            try:
                for c in args.concurrency or [1, 32]:
                    r = asyncio.run(cpu_run(url, c, args.rollouts if c > 1 else 200, Path(tmp), args.profile))
                    print(json.dumps(r), flush=True)
                    results.append(r)
            finally:
                proc.kill()
        elif args.part == "workers":
            proc, url = start_server(SEARCHES, 0.1)
            try:
                if "ray2" in args.backends:
                    import ray

                    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
                for c in args.concurrency or [2048]:
                    for b in args.backends:
                        r = workers_run(url, b, c, args.waves * c, Path(tmp))
                        print(json.dumps(r), flush=True)
                        results.append(r)
            finally:
                proc.kill()
        else:
            r = replicas_run(args.rollouts, (args.concurrency or [64])[0])
            print(json.dumps(r), flush=True)
            results.append(r)
    report = {
        "benchmark": f"scale/{args.part}",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "load_avg_before": load_before,
        "load_avg_after": os.getloadavg(),
        "results": results,
    }
    out = args.out or HERE / "results" / f"scale_{args.part}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
