"""LLM backend benchmark: client overhead, client throughput at a fixed latency, embedded SmolLM2 speed.

Run: ``python benchmarks/bench_llm.py [--skip-embedded] [--out benchmarks/results/llm_bench.json]``

1. Client overhead: sequential calls through ``LLMPool``/``OpenAIChatLLM`` (both transports: aiohttp, openai SDK)
   against the in-process scripted server (no latency), for a 1-message and a 31-message (~17k words) context,
   compared with bare httpx posts. CPU ms per call include the in-process server's work in every case.
2. Client throughput: N concurrent calls against the scripted server (in a child process) with a fixed 100 ms
   latency, as a fraction of the ideal (concurrency / latency), and the client's CPU per call.
3. Embedded backend: server start time, decode speed of one request, aggregate speed of n_parallel requests,
   a JSON-schema constrained call, for 1 and 2 threads (the load average is recorded: the machine is shared).
"""

from __future__ import annotations

import argparse
import asyncio
import http.server
import json
import os
import platform
import time
from pathlib import Path

import httpx

from openseeker.llm.config import embedded_config, endpoint_config
from openseeker.llm.jsonout import chat_json
from openseeker.llm.pool import LLMPool
from openseeker.testing import chat_server as cs
from openseeker.testing.chat_server import Reply, ScriptedChatServer

# socketserver's default listen backlog is 5: a burst of new connections beyond it is reset by the kernel (the
# client sees connection errors and retries). Raise it for the benchmark.
http.server.ThreadingHTTPServer.request_queue_size = 4096


class FastScriptedChatServer(ScriptedChatServer):
    """The scripted server with TCP_NODELAY: without it, keep-alive requests hit the 40 ms Nagle/delayed-ACK
    stall (headers and body are written separately), which would swamp everything measured here."""

    def _handler_class(self):
        handler = super()._handler_class()
        handler.disable_nagle_algorithm = True
        return handler


TRANSPORTS = ("aiohttp", "openai")
SMALL = [{"role": "user", "content": "What is the capital of France?"}]
BIG = [{"role": "system", "content": "You are a search agent. " * 200}] + [
    {"role": "assistant" if i % 2 else "user", "content": "observation text " * 250} for i in range(30)
]


async def _client_overhead(n: int = 300) -> dict:
    out = {}
    with FastScriptedChatServer(default=Reply(content="ok")) as srv:
        for transport in TRANSPORTS:
            cfg = endpoint_config(srv.base_url, "scripted-model", cache=False, transport=transport)
            async with LLMPool(cfg) as pool:
                llm = pool.role("teacher")
                for label, msgs in (("small", SMALL), ("big_31_messages", BIG)):
                    for _ in range(20):
                        await llm.chat(msgs)
                    t, c = time.perf_counter(), time.process_time()
                    for _ in range(n):
                        await llm.chat(msgs)
                    out[f"client_{transport}_{label}"] = {
                        "wall_ms": (time.perf_counter() - t) / n * 1e3,
                        "cpu_ms": (time.process_time() - c) / n * 1e3,
                    }
        async with httpx.AsyncClient() as client:
            for label, msgs in (("small", SMALL), ("big_31_messages", BIG)):
                body = {"model": "m", "messages": msgs}
                for _ in range(20):
                    await client.post(srv.base_url + "/chat/completions", json=body)
                t, c = time.perf_counter(), time.process_time()
                for _ in range(n):
                    (await client.post(srv.base_url + "/chat/completions", json=body)).json()
                out[f"httpx_{label}"] = {
                    "wall_ms": (time.perf_counter() - t) / n * 1e3,
                    "cpu_ms": (time.process_time() - c) / n * 1e3,
                }
    return out


_SERVER_PROC = r"""
import http.server, sys, time
http.server.ThreadingHTTPServer.request_queue_size = 4096
from openseeker.testing.chat_server import Reply, ScriptedChatServer
class Fast(ScriptedChatServer):
    def _handler_class(self):
        h = super()._handler_class(); h.disable_nagle_algorithm = True; return h
srv = Fast(default=Reply(content="ok", delay=float(sys.argv[1]))).start()
print(srv.base_url, flush=True)
sys.stdin.read()
"""


async def _client_throughput(concurrencies=(1, 16, 64, 256), latency: float = 0.1, rounds: int = 4) -> dict:
    """The scripted server runs in a child process, so its threads do not share our GIL."""
    import subprocess
    import sys

    cmd = [sys.executable, "-c", _SERVER_PROC, str(latency)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # noqa: ASYNC220
    out = {}
    try:
        base_url = proc.stdout.readline().strip()
        for transport, conc in [(t, c) for t in TRANSPORTS for c in concurrencies]:
            cfg = endpoint_config(base_url, "scripted-model", cache=False, concurrency=conc, transport=transport)
            async with LLMPool(cfg) as pool:
                llm = pool.role("teacher")
                await asyncio.gather(*[llm.chat([{"role": "user", "content": f"w{i}"}]) for i in range(conc)])
                n = conc * rounds
                t, c = time.perf_counter(), time.process_time()
                await asyncio.gather(*[llm.chat([{"role": "user", "content": f"q{i}"}]) for i in range(n)])
                wall, cpu = time.perf_counter() - t, time.process_time() - c
                ideal = conc / latency
                out[f"{transport}_{conc}"] = {
                    "calls": n,
                    "calls_per_s": n / wall,
                    "ideal_per_s": ideal,
                    "fraction": n / wall / ideal,
                    "client_cpu_ms_per_call": cpu / n * 1e3,
                    "retries": pool.stats()["teacher"]["retries"],
                }
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)
    return out


async def _embedded(threads: int, n_parallel: int = 4) -> dict:
    os.environ["OPENSEEKER_NO_CACHE"] = "1"
    cfg = embedded_config(n_ctx=4096, n_parallel=n_parallel, threads=threads)
    t = time.perf_counter()
    async with LLMPool(cfg) as pool:
        startup = time.perf_counter() - t
        llm = pool.role("teacher")
        prompt = [{"role": "user", "content": "Write a short paragraph about the history of Paris."}]
        await llm.chat(prompt, max_tokens=8, temperature=0.0)  # warm
        c = await llm.chat(prompt, max_tokens=128, temperature=0.0, seed=1)
        timings = c.raw.get("timings", {})
        single = {
            "completion_tokens": c.usage.completion_tokens,
            "latency_s": c.usage.latency_s,
            "decode_tok_s": timings.get("predicted_per_second"),
            "prompt_tok_s": timings.get("prompt_per_second"),
        }
        t = time.perf_counter()
        cs_ = await asyncio.gather(
            *[
                llm.chat(
                    [{"role": "user", "content": f"Describe city number {i} in a few sentences."}],
                    max_tokens=96,
                    temperature=0.0,
                )
                for i in range(n_parallel)
            ]
        )
        wall = time.perf_counter() - t
        parallel = {
            "requests": n_parallel,
            "completion_tokens": sum(x.usage.completion_tokens for x in cs_),
            "wall_s": wall,
            "aggregate_tok_s": sum(x.usage.completion_tokens for x in cs_) / wall,
        }
        schema = {
            "type": "object",
            "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
            "required": ["city", "country"],
        }
        t = time.perf_counter()
        value, comps = await chat_json(
            pool.role("judge"),
            [{"role": "user", "content": "Name the capital of France and its country, as JSON."}],
            schema,
            max_tokens=48,
        )
        js = {"value": value, "attempts": len(comps), "wall_s": time.perf_counter() - t}
    return {
        "threads": threads,
        "n_parallel": n_parallel,
        "startup_s": startup,
        "single": single,
        "parallel": parallel,
        "json_schema": js,
        "loadavg_1m_after": os.getloadavg()[0],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="benchmarks/results/llm_bench.json")
    ap.add_argument("--skip-embedded", action="store_true")
    args = ap.parse_args()
    assert cs  # the base module is what FastScriptedChatServer patches
    result: dict = {
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_1m_start": os.getloadavg()[0],
        },
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    result["client_overhead"] = asyncio.run(_client_overhead())
    print(json.dumps(result["client_overhead"], indent=1))
    result["client_throughput_100ms"] = asyncio.run(_client_throughput())
    print(json.dumps(result["client_throughput_100ms"], indent=1))
    if not args.skip_embedded:
        result["embedded"] = [asyncio.run(_embedded(threads)) for threads in (1, 2)]
        print(json.dumps(result["embedded"], indent=1, default=str))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
