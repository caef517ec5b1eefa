"""Synthesis throughput against scripted endpoints with latency: QA candidates/s and teacher rollouts/s.

Run:  python benchmarks/bench_synth.py [--latency 0.2] [--qa-concurrency 8 32] [--traj-concurrency 64]
                                      [--traj-workers 1 2] [--out benchmarks/results/synth.json]

Endpoints: ``ScriptedChatServer`` (real HTTP, one process per endpoint, ``--latency`` s per call, like a remote
vLLM answering a short completion). QA synthesis: the rule-based ``Oracle`` answers every prompt of METHOD §2
(extract, generate, obfuscate, closed-book and with-graph verification, judge) over ``tiny_world()``; the
candidate count is fixed (``--qa-candidates``), so the figure is candidates/s, LLM calls/s and the calls kept in
flight on average (a candidate runs some of its calls concurrently, so there is no simple ideal); one process
and ``--qa-workers N`` (each worker its own pool, an equal share of the target). Trajectory synthesis: the LLM
teacher (search -> visit -> answer, text protocol) with retrospective summarization and the LLM judge, over
``FakeWeb`` tools, on one process and on ``--workers N`` (the executor's local backend); rollouts/s against the
ideal ``concurrency / (calls per rollout x latency)``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
W = "https://en.wikipedia.org/wiki/"


def _traj_reply(req: dict):
    from openseeker.testing.chat_server import Reply

    msgs = req["messages"]
    if msgs[0]["content"].startswith("You compress"):
        return Reply(content="Gustave Eiffel, born in Dijon.")
    if "You are grading an answer" in json.dumps(msgs):
        return Reply(
            content=json.dumps(
                {"extracted_final_answer": "Dijon", "reasoning": "same", "correct": "yes", "confidence": 90}
            )
        )
    n_obs = sum(m["content"].count("<tool_response>") for m in msgs if m["role"] == "user")

    def call(name: str, **a) -> str:
        return "<tool_call>" + json.dumps({"name": name, "arguments": a}) + "</tool_call>"

    if n_obs == 0:
        return Reply(content="<think>search</think>" + call("search", query=["Gustave Eiffel"]))
    if n_obs == 1:
        return Reply(content="<think>read</think>" + call("visit", url=[W + "Gustave_Eiffel"], goal="birthplace"))
    return Reply(content="<think>found</think><answer>Dijon</answer>")


def serve(kind: str, latency: float) -> None:
    import threading

    from openseeker.testing.chat_server import ScriptedChatServer
    from openseeker.testing.qa_oracle import Oracle

    oracle = Oracle()

    def reply(req):
        r = oracle.reply(req) if kind == "qa" else _traj_reply(req)
        r.delay = latency
        return r

    srv = ScriptedChatServer(reply).start()
    srv.requests = _Counting()
    print(srv.base_url, flush=True)
    threading.Event().wait()


class _Counting(list):
    def append(self, item) -> None:
        self.n = getattr(self, "n", 0) + 1


def start(kind: str, latency: float) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    p = subprocess.Popen(
        [sys.executable, "-W", "ignore", __file__, "--serve", kind, "--latency", str(latency)],
        stdout=subprocess.PIPE,
        env=env,
    )
    return p, p.stdout.readline().decode().strip()


def qa_run(url: str, concurrency: int, candidates: int, latency: float, tmp: Path, workers: int = 1) -> dict:
    from openseeker.executors import get_executor
    from openseeker.llm.config import endpoint_config
    from openseeker.llm.pool import LLMPool
    from openseeker.synth.qa import QAControls, synthesize_qa_async
    from openseeker.testing.qa_oracle import tiny_world

    cfg = endpoint_config(url, "scripted", cache=False, max_retries=0, concurrency=concurrency * 4, timeout_s=120)
    out = tmp / f"qa_w{workers}_c{concurrency}.jsonl"
    per = max(1, concurrency // workers)
    exe = get_executor("local", workers=workers, concurrency=per, progress=False)

    async def go():
        async with LLMPool(cfg) as pool:
            t0 = time.perf_counter()
            report = await synthesize_qa_async(
                tiny_world(),
                candidates,
                out,
                pool=pool,
                controls=QAControls(),
                seed=0,
                concurrency=per,
                max_candidates=candidates,
                progress=False,
                executor=exe,
                llm_config=cfg,
            )
            return report, time.perf_counter() - t0, pool.usage()

    report, wall, usage = asyncio.run(go())
    if workers > 1:
        calls = sum(u["calls"] for u in report["last_run"]["pool_usage"].values())
    else:
        calls = sum(u.calls for u in usage.values())
    n = report["candidates"]
    calls_per = calls / n
    # a candidate runs some calls concurrently (per-page extraction, verification attempts), so there is no
    # simple ideal: report the LLM calls kept in flight on average (calls/s x latency) against the candidates
    return {
        "stage": "synth qa",
        "workers": workers,
        "concurrency": concurrency,
        "candidates": n,
        "accepted": report["accepted"],
        "llm_calls": calls,
        "calls_per_candidate": round(calls_per, 2),
        "wall_s": round(wall, 2),
        "candidates_per_s": round(n / wall, 2),
        "llm_calls_per_s": round(calls / wall, 1),
        "mean_calls_in_flight": round(calls / wall * latency, 1),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def traj_run(url: str, workers: int, concurrency: int, rollouts: int, latency: float, tmp: Path) -> dict:
    from openseeker.executors import get_executor
    from openseeker.io import write_jsonl
    from openseeker.llm.config import endpoint_config
    from openseeker.records import QASample
    from openseeker.synth.traj.pipeline import synthesize_trajectories
    from openseeker.testing.fake_web import FakeWeb, tiny_pages

    qa_path = tmp / "qa.jsonl"
    write_jsonl(
        qa_path,
        [
            QASample(id=f"q{i:05d}", question=f"Where was the Eiffel Tower's designer born? ({i})", answer="Dijon")
            for i in range(rollouts)
        ],
    )
    per = max(1, concurrency // workers)
    cfg = endpoint_config(url, "scripted", cache=False, max_retries=0, concurrency=per * 2, timeout_s=120)
    out = tmp / f"traj_w{workers}_c{concurrency}.jsonl"
    out.unlink(missing_ok=True)
    exe = get_executor("local", workers=workers, concurrency=per, progress=False)
    t0 = time.perf_counter()
    s = asyncio.run(
        synthesize_trajectories(
            qa_path,
            FakeWeb(tiny_pages()),
            out,
            teacher="llm",
            llm_config=cfg,
            judge=True,
            progress=False,
            settings={"extract": False, "protocol": "text", "concurrency": per},
            executor=exe,
        )
    )
    wall = time.perf_counter() - t0
    assert s["done"] == rollouts, s
    calls = sum(u["calls"] for u in s.get("llm_usage", {}).values())
    per_rollout = calls / rollouts
    ideal = concurrency / (per_rollout * latency)
    steady = max(s["rank_wall_s"])
    return {
        "stage": "synth traj",
        "workers": workers,
        "concurrency": concurrency,
        "rollouts": rollouts,
        "llm_calls": calls,
        "calls_per_rollout": round(per_rollout, 2),
        "wall_s": round(wall, 2),
        "rollouts_per_s": round(rollouts / wall, 2),
        "steady_rollouts_per_s": round(rollouts / steady, 2),
        "ideal_rollouts_per_s": round(ideal, 2),
        "fraction_of_ideal": round(rollouts / wall / ideal, 3),
        "steady_fraction_of_ideal": round(rollouts / steady / ideal, 3),
        "correct": s["file"]["correct"],
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--qa-concurrency", type=int, nargs="*", default=[8, 32])
    ap.add_argument("--qa-candidates", type=int, default=96)
    ap.add_argument("--qa-workers", type=int, nargs="*", default=[1])
    ap.add_argument("--traj-concurrency", type=int, nargs="*", default=[64])
    ap.add_argument("--traj-workers", type=int, nargs="*", default=[1, 2])
    ap.add_argument("--traj-rollouts", type=int, default=384)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "synth.json")
    ap.add_argument("--serve", choices=["qa", "traj"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve, args.latency)
        return
    import logging

    logging.basicConfig(level=logging.ERROR)
    load_before = os.getloadavg()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as d:
        tmp = Path(d)
        for kind in ("qa", "traj"):
            proc, url = start(kind, args.latency)
            try:
                if kind == "qa":
                    for c in args.qa_concurrency:
                        for w in args.qa_workers:
                            results.append(qa_run(url, c, args.qa_candidates, args.latency, tmp, w))
                            print(json.dumps(results[-1]), flush=True)
                else:
                    for c in args.traj_concurrency:
                        for w in args.traj_workers:
                            results.append(traj_run(url, w, c, args.traj_rollouts, args.latency, tmp))
                            print(json.dumps(results[-1]), flush=True)
            finally:
                proc.kill()
                proc.wait()
    report = {
        "benchmark": "synthesis throughput vs scripted endpoints",
        "latency_s": args.latency,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "load_avg_before": load_before,
        "load_avg_after": os.getloadavg(),
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
