"""Agent throughput benchmark: concurrent rollouts against a fake endpoint with a fixed 100 ms latency.

Run: ``python benchmarks/bench_agent.py [--concurrency 1 64 256 1024] [--out benchmarks/results/agent.json]``

The fake endpoint is a raw-asyncio HTTP/1.1 server (keep-alive, no framework) in a SEPARATE process, so a
thousand open connections are cheap and its CPU does not share the agent's event loop. It answers every
``/v1/chat/completions`` after sleeping 100 ms: a ``<tool_call>`` to ``search`` until the conversation holds
``--searches`` tool responses, then ``<answer>``. The agent side is the real stack: ``Agent`` (text protocol) over
``FakeWeb`` tools, ``OpenAIChatLLM`` (openai SDK + httpx) via ``LLMPool``, ``run_batch`` writing (and fsync'ing)
every trajectory to a JSONL file.

Reported per concurrency c (rollouts = ``--waves`` (8) x c, at most ``--max-rollouts`` (3072); fewer waves make
start-up (opening c connections) weigh more):
- throughput: rollouts/s, and as a fraction of the ideal c / (steps x latency) (steps = searches + 1 answer);
- overhead per step: wall x c / steps_total - latency, the average time a step takes beyond the endpoint's 100 ms
  (client, agent loop, tools, writing); at c = 1 it is the per-step framework overhead, split into the agent-loop
  part (wall minus time inside ``llm.chat``) and the client part (``llm.chat`` time minus the 100 ms);
- CPU per step of the agent process, and the projection ``steps/s one idle core could sustain`` (the machine is
  shared by several jobs, so wall-clock fractions at high concurrency measure the machine's load as much as us).

Clients (``--client``): ``aiohttp`` and ``openai`` = the real stack (``LLMPool`` -> ``OpenAIChatLLM``) with the
llm client's aiohttp transport (its default when installed) or the openai-SDK transport; ``raw`` = a minimal
asyncio HTTP client, i.e. the agent framework without any client library; ``httpx`` (not run by default) = one
plain ``httpx.AsyncClient``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LATENCY = 0.1

# --------------------------------------------------------------------------- the fake endpoint (child process)


def _completion(content: str) -> bytes:
    body = json.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 0,
            "model": "bench",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
        }
    ).encode()
    head = (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: keep-alive\r\n\r\n"
    ).encode()
    return head + body


async def _serve(port: int, searches: int, latency: float) -> None:
    search = _completion(
        '<think>look it up</think>\n<tool_call>{"name": "search", "arguments": '
        '{"query": ["Eiffel Tower designer"]}}</tool_call>'
    )
    answer = _completion("<think>enough</think>\n<answer>Dijon</answer>")
    models = b'{"object": "list", "data": [{"id": "bench", "object": "model"}]}'
    models = (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(models)}\r\n\r\n".encode() + models
    )

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                body = await reader.readexactly(length) if length else b""
                if head.startswith(b"GET"):
                    writer.write(models)
                else:
                    await asyncio.sleep(latency)
                    done = body.count(b"<tool_response>\\n") >= searches  # not the system prompt's mention
                    writer.write(answer if done else search)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=4096, limit=2**24)
    print("READY", flush=True)
    async with server:
        await server.serve_forever()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(searches: int, latency: float) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port), "--searches", str(searches), "--latency", str(latency)],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    if "READY" not in line:
        proc.kill()
        raise RuntimeError(f"fake endpoint did not start: {line!r}")
    return proc, f"http://127.0.0.1:{port}/v1"


# --------------------------------------------------------------------------- clients


class RawHTTPLLM:
    """A minimal keep-alive HTTP/1.1 chat client on raw asyncio streams (no SDK, no httpx): isolates the agent
    framework's own overhead from the client library's. Benchmark-only; not robust (no retries, no TLS)."""

    role, model = "student", "bench"

    def __init__(self, base_url: str):
        from urllib.parse import urlsplit

        u = urlsplit(base_url)
        self.host, self.port, self.path = u.hostname, u.port, u.path.rstrip("/") + "/chat/completions"
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def chat(self, messages, **kw):
        from openseeker.llm.base import Completion
        from openseeker.records import Usage

        body = json.dumps(
            {"model": self.model, "messages": messages, **{k: v for k, v in kw.items() if v is not None}}
        ).encode()
        conn = self._idle.pop() if self._idle else await asyncio.open_connection(self.host, self.port)
        reader, writer = conn
        writer.write(
            f"POST {self.path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        t0 = time.perf_counter()
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        data = json.loads(await reader.readexactly(length))
        self._idle.append(conn)
        msg = data["choices"][0]["message"]
        u = data.get("usage") or {}
        return Completion(
            content=msg.get("content") or "",
            model=self.model,
            usage=Usage(
                prompt_tokens=u.get("prompt_tokens", 0),
                completion_tokens=u.get("completion_tokens", 0),
                calls=1,
                latency_s=time.perf_counter() - t0,
            ),
        )


class HttpxLLM:
    """Plain ``httpx.AsyncClient.post`` (no openai SDK): separates httpx's cost from the SDK's."""

    role, model = "student", "bench"

    def __init__(self, base_url: str, concurrency: int):
        import httpx

        self.url = base_url.rstrip("/") + "/chat/completions"
        n = concurrency + 8
        self.client = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=n, max_keepalive_connections=n), timeout=120
        )

    async def chat(self, messages, **kw):
        from openseeker.llm.base import Completion
        from openseeker.records import Usage

        t0 = time.perf_counter()
        r = await self.client.post(
            self.url,
            json={"model": self.model, "messages": messages, **{k: v for k, v in kw.items() if v is not None}},
        )
        data = r.json()
        u = data.get("usage") or {}
        return Completion(
            content=data["choices"][0]["message"].get("content") or "",
            model=self.model,
            usage=Usage(
                prompt_tokens=u.get("prompt_tokens", 0),
                completion_tokens=u.get("completion_tokens", 0),
                calls=1,
                latency_s=time.perf_counter() - t0,
            ),
        )

    async def aclose(self):
        await self.client.aclose()


# --------------------------------------------------------------------------- the agent side


class _Staggered:
    """Spread the first ``c`` rollouts' starts evenly over one latency period. With a FIXED latency, rollouts
    started together stay in lockstep forever: every 100 ms, c requests arrive at once and their processing
    (client, loopback TCP, server) adds to the wait instead of overlapping it. Real endpoints have variable
    latency, which desynchronizes rollouts; staggering reproduces that steady state with the latency still fixed."""

    def __init__(self, agent, concurrency: int):
        self.agent, self.c, self.n = agent, concurrency, 0

    async def run(self, question, **kw):
        i, self.n = self.n, self.n + 1
        if i < self.c:
            await asyncio.sleep(LATENCY * i / self.c)
        return await self.agent.run(question, **kw)


async def run_level(
    base_url: str,
    concurrency: int,
    rollouts: int,
    searches: int,
    out_dir: Path,
    client: str = "aiohttp",
    stagger: bool = False,
) -> dict:
    from openseeker.agent.batch import run_batch
    from openseeker.agent.runtime import Agent
    from openseeker.llm.config import endpoint_config
    from openseeker.llm.pool import LLMPool
    from openseeker.records import Trajectory
    from openseeker.testing.fake_web import FakeWeb, tiny_pages
    from openseeker.web.tools import SearchTool, VisitTool

    web = FakeWeb(tiny_pages())
    transport = {"aiohttp": "aiohttp", "openai": "openai"}.get(client, "auto")
    cfg = endpoint_config(
        base_url, "bench", cache=False, concurrency=concurrency, max_retries=0, timeout_s=120, transport=transport
    )
    out = out_dir / f"agent_c{concurrency}.jsonl"
    out.unlink(missing_ok=True)
    items = [
        {"id": f"r{i:06d}", "question": f"Where was the designer of the Eiffel Tower born? ({i})"}
        for i in range(rollouts)
    ]
    async with LLMPool(cfg) as pool:
        llm = {
            "aiohttp": lambda: pool.role("student"),
            "openai": lambda: pool.role("student"),
            "raw": lambda: RawHTTPLLM(base_url),
            "httpx": lambda: HttpxLLM(base_url, concurrency),
        }[client]()
        agent = Agent(llm, [SearchTool(web), VisitTool(web)], protocol="text")
        # warm-up (connections, imports) outside the timing
        await run_batch(
            items[: min(concurrency, 8)],
            out_dir / "warmup.jsonl",
            agent=agent,
            concurrency=min(concurrency, 8),
            progress=False,
            write_summary=False,
        )
        (out_dir / "warmup.jsonl").unlink(missing_ok=True)
        t0, c0 = time.perf_counter(), time.process_time()
        runner = _Staggered(agent, concurrency) if stagger else None
        summary = await run_batch(
            items, out, agent=runner or agent, concurrency=concurrency, progress=False, write_summary=False
        )
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        if hasattr(llm, "aclose") and client in ("raw", "httpx"):
            await llm.aclose()
    trajs = [Trajectory.model_validate_json(line) for line in out.read_text().splitlines()]
    assert len(trajs) == rollouts and all(t.stop_reason == "answered" for t in trajs), summary["stop_reasons"]
    steps = sum(t.num_turns for t in trajs)
    steps_per_rollout = steps / rollouts
    ideal = concurrency / (steps_per_rollout * LATENCY)
    thr = rollouts / wall
    llm_s = sum(s.llm_s for t in trajs for s in t.steps)
    loop_s = sum(t.wall_s for t in trajs) - llm_s
    out.unlink(missing_ok=True)
    return {
        "client": client,
        "start": "staggered" if stagger else "together",
        "concurrency": concurrency,
        "rollouts": rollouts,
        "steps_per_rollout": steps_per_rollout,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "rollouts_per_s": round(thr, 2),
        "ideal_rollouts_per_s": round(ideal, 2),
        "fraction_of_ideal": round(thr / ideal, 3),
        "overhead_ms_per_step": round((wall * concurrency / steps - LATENCY) * 1e3, 2),
        "agent_loop_ms_per_step": round(loop_s / steps * 1e3, 3),
        "client_ms_per_step": round((llm_s / steps - LATENCY) * 1e3, 2),
        "cpu_ms_per_step": round(cpu / steps * 1e3, 3),
        # what one idle core could sustain at this CPU cost per step (a projection, not a measurement)
        "one_core_capacity_steps_per_s": round(steps / cpu, 1) if cpu else None,
        "projected_fraction_of_ideal_idle_core": round(min(1.0, (steps / cpu) / (concurrency / LATENCY)), 3)
        if cpu
        else None,
    }


async def main_async(args: argparse.Namespace) -> dict:
    proc, base_url = start_server(args.searches, LATENCY)
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-agent-") as tmp:
            for stagger in (False, True) if args.stagger == "both" else (args.stagger == "yes",):
                for client in args.client:
                    for c in args.concurrency:
                        rollouts = max(args.min_rollouts, min(args.waves * c, args.max_rollouts))
                        r = await run_level(
                            base_url, c, rollouts, args.searches, Path(tmp), client=client, stagger=stagger
                        )
                        r["load_avg_1m"] = round(os.getloadavg()[0], 2)
                        results.append(r)
                        print(json.dumps(r), flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return {
        "benchmark": "agent rollouts vs a fake endpoint with fixed latency",
        "latency_s": LATENCY,
        "searches_per_rollout": args.searches,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "load_avg_before": list(args.load_before),
        "load_avg_after": list(os.getloadavg()),
        "results": results,
    }


def markdown(report: dict) -> str:
    """The results as a markdown table (written next to the JSON, pasted into benchmarks/agent.md)."""
    rows = [
        "| client | start | c | rollouts | wall s | rollouts/s | ideal | **fraction of ideal** | overhead ms/step "
        "(wall) | agent-loop ms/step | client ms/step | CPU ms/step | projected fraction, idle core | "
        "load 1m |",
        "|" + "---|" * 14,
    ]
    for r in report["results"]:
        rows.append(
            f"| {r['client']} | {r.get('start', 'together')} | {r['concurrency']} | {r['rollouts']} "
            f"| {r['wall_s']:.2f} | {r['rollouts_per_s']:.1f} "
            f"| {r['ideal_rollouts_per_s']:.1f} | **{r['fraction_of_ideal']:.2f}** | {r['overhead_ms_per_step']:.1f} "
            f"| {r['agent_loop_ms_per_step']:.2f} | {r['client_ms_per_step']:.1f} | {r['cpu_ms_per_step']:.2f} "
            f"| {r['projected_fraction_of_ideal_idle_core']:.2f} | {r.get('load_avg_1m', '')} |"
        )
    m = report["machine"]
    head = (
        f"{m['cpus']} CPUs, Python {m['python']}; latency {report['latency_s'] * 1e3:.0f} ms, "
        f"{report['searches_per_rollout']} searches + 1 answer per rollout; load average before "
        f"{report['load_avg_before'][0]:.1f}, after {report['load_avg_after'][0]:.1f}."
    )
    return head + "\n\n" + "\n".join(rows) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 64, 256, 1024])
    ap.add_argument(
        "--client",
        nargs="+",
        default=["aiohttp", "openai", "raw"],
        choices=["aiohttp", "openai", "httpx", "raw"],
        help="aiohttp / openai: LLMPool -> OpenAIChatLLM (the real stack) with that transport; "
        "httpx: plain httpx posts; raw: a minimal asyncio HTTP client (the agent framework alone)",
    )
    ap.add_argument(
        "--stagger",
        choices=["no", "yes", "both"],
        default="both",
        help="start the first c rollouts together (lockstep) or spread over one latency period",
    )
    ap.add_argument("--searches", type=int, default=3, help="search steps per rollout before the answer")
    ap.add_argument("--waves", type=int, default=8, help="rollouts = waves x concurrency (capped by --max-rollouts)")
    ap.add_argument("--max-rollouts", type=int, default=3072)
    ap.add_argument("--min-rollouts", type=int, default=20)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "agent.json")
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--latency", type=float, default=LATENCY, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        asyncio.run(_serve(args.serve, args.searches, args.latency))
        return
    import logging

    logging.basicConfig(level=logging.WARNING)
    args.load_before = os.getloadavg()
    report = asyncio.run(main_async(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(report))
    print(f"wrote {args.out} and {args.out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
