"""Load benchmark of ``openseeker serve`` on the wiki-offline web: N concurrent clients on loopback, bounded in time.

The server runs as a real subprocess (``python -m openseeker.cli.main serve --web DIR``: uvicorn, one process);
the load generator is a minimal asyncio HTTP/1.1 keep-alive client in this process, one connection per client (so on a 2-core machine both share the CPU: the figures are
a floor, not a ceiling). Each client loops for ``--duration`` seconds over a fixed mix of requests:

- ``/search``   one query (a page title + one word of its text), ``top_k=10``  -> our text block + hits
- ``/retrieve`` Search-R1 request, 3 queries, ``topk=3``, ``return_scores=true``
- ``/visit``    one url from the web, no extractor (raw page text)

Per level and endpoint it reports requests, queries/s, p50/p99 latency and errors (non-200 or transport errors).

``--bad-fraction 0.01`` mixes in 1 % bad requests (JSON nested 1,000 deep, lone surrogates on /search, /visit and
/retrieve, invalid JSON, top_k 0, 17 queries) on the same keep-alive connections as the valid ones; it reports
how each bad request was answered (4xx / 5xx / dropped connection) and how many VALID requests failed (the
acceptance figure: 0). ``--server-src DIR`` runs the server from another source tree (e.g. the code before the
fix, ``git archive <commit> src | tar -x -C DIR``) for a side-by-side run.

Usage:
    python benchmarks/bench_serve.py                                  # builds the web once into --workdir
    python benchmarks/bench_serve.py --clients 1,8,32 --duration 15 --out benchmarks/results/serve.json
    python benchmarks/bench_serve.py --web path/to/web                # an existing web directory
    python benchmarks/bench_serve.py --live-fake                      # `serve --web live`: fake SearXNG + site
    python benchmarks/bench_serve.py --live-fake --no-cache           # ... every request a cache miss
    python benchmarks/bench_serve.py --bad-fraction 0.01 --clients 8 --duration 10   # robustness under bad input
    python benchmarks/bench_serve.py --search-r1-batch 2560           # one Search-R1 rollout batch vs direct search

``--live-fake`` measures the live path (LiveWeb: rate limiter, SQLite cache, SSRF guard, httpx, trafilatura)
against a fake SearXNG and a fake site on 127.0.0.1 serving the same wiki-offline pages as HTML; the web's own
latency is then only loopback, so the figures are our overhead. The cache is on (repeat queries are hits), the
rate limit off.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_web(workdir: Path) -> Path:
    from openseeker.web.build import build_web

    out = workdir / "wiki-offline"
    t0 = time.perf_counter()
    info = build_web("wiki-offline", out, progress=False)
    print(
        f"web: {out} ({info.get('import', {}).get('pages', '?')} pages, "
        f"{'up to date' if info.get('up_to_date') else f'built in {time.perf_counter() - t0:.0f}s'})"
    )
    return out


def workload(web_dir: Path, n: int, seed: int) -> dict[str, list]:
    from openseeker.web.local import LocalWeb

    rng = random.Random(seed)
    web = LocalWeb.open(web_dir)
    pages = web.graph.sample(n, seed=seed)
    web.close()
    queries = []
    for p in pages:
        words = [w for w in p.text.split()[:40] if w.isalpha() and len(w) > 4]
        queries.append(f"{p.title} {rng.choice(words)}" if words else p.title)
    return {"queries": queries, "urls": [p.url for p in pages]}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(q / 100 * (len(values) - 1)))))
    return values[k]


class RawConn:
    """A minimal HTTP/1.1 keep-alive client on one connection (asyncio streams, TCP_NODELAY).

    The load generator must be cheaper than the server it measures: one httpx ``AsyncClient`` with 32 pooled
    connections tops out near ~110 req/s on this machine (measured against ``/health``), below the server.
    """

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    async def request(self, method: str, path: str, payload: object | None = None) -> tuple[int, bytes]:
        if self.writer is None:
            await self._open()
        assert self.reader is not None and self.writer is not None
        if isinstance(payload, bytes):  # sent as is (bad requests)
            body = payload
        else:
            body = json.dumps(payload).encode() if payload is not None else b""
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("server closed the connection")
        status = int(status_line.split()[1])
        length, chunked = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value.strip())
            elif name.lower() == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
        if not chunked:
            return status, await self.reader.readexactly(length)
        data = bytearray()
        while True:
            size = int((await self.reader.readline()).strip(), 16)
            chunk = await self.reader.readexactly(size + 2)
            if size == 0:
                return status, bytes(data)
            data += chunk[:-2]

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass


BAD_REQUESTS: list[tuple[str, str, bytes]] = [
    ("nested JSON", "/search", b"[" * 1000 + b"]" * 1000),
    ("nested JSON", "/retrieve", b'{"queries": ' + b"[" * 1000 + b"]" * 1000 + b"}"),
    ("lone surrogate", "/search", b'{"query": ["caf\\ud800"]}'),
    ("lone surrogate", "/visit", b'{"url": "https://en.wikipedia.org/wiki/\\udc00", "goal": "g"}'),
    ("lone surrogate", "/retrieve", b'{"queries": ["\\ud800"], "topk": 3}'),
    ("invalid JSON", "/search", b'{"query": '),
    ("top_k 0", "/search", b'{"query": "x", "top_k": 0}'),
    ("17 queries", "/search", json.dumps({"query": ["q"] * 17}).encode()),
]


async def run_level(
    base: str, clients: int, duration: float, work: dict[str, list], seed: int, bad_fraction: float = 0.0
) -> dict:
    lat: dict[str, list[float]] = {"search": [], "retrieve": [], "visit": []}
    errors: dict[str, int] = dict.fromkeys(lat, 0)
    bad = {"sent": 0, "4xx": 0, "5xx": 0, "other": 0, "dropped": 0}
    error_samples: list[str] = []
    host, port = base.rsplit("//", 1)[1].split(":")
    stop_at = time.perf_counter() + duration

    async def worker(i: int) -> None:
        rng = random.Random(seed * 1000 + i)
        qs, urls = work["queries"], work["urls"]
        conn = RawConn(host, int(port))
        step = 0
        while time.perf_counter() < stop_at:
            if bad_fraction and rng.random() < bad_fraction:
                _label, path, raw = BAD_REQUESTS[bad["sent"] % len(BAD_REQUESTS)]
                bad["sent"] += 1
                try:
                    status, _ = await asyncio.wait_for(conn.request("POST", path, raw), 60)
                    bad["4xx" if 400 <= status < 500 else "5xx" if status >= 500 else "other"] += 1
                except Exception:  # noqa: BLE001 - a dropped connection is what is being counted
                    bad["dropped"] += 1
                    await conn.close()
                    conn = RawConn(host, int(port))
                continue
            kind = ("search", "retrieve", "visit")[step % 3]
            step += 1
            if kind == "search":
                req = ("/search", {"query": [rng.choice(qs)], "top_k": 10})
            elif kind == "retrieve":
                req = ("/retrieve", {"queries": rng.sample(qs, 3), "topk": 3, "return_scores": True})
            else:
                req = ("/visit", {"url": rng.choice(urls), "goal": "facts"})
            t0 = time.perf_counter()
            try:
                status, body = await asyncio.wait_for(conn.request("POST", req[0], req[1]), 60)
                ok = status == 200 and "result" in json.loads(body)
                if not ok and len(error_samples) < 5:
                    error_samples.append(f"{req[0]} HTTP {status}: {body[:120]!r}")
            except Exception as exc:  # counted, never fatal; reconnect
                ok = False
                await conn.close()
                conn = RawConn(host, int(port))
                if len(error_samples) < 5:
                    error_samples.append(f"{req[0]} {type(exc).__name__}: {exc}")
            dt = time.perf_counter() - t0
            if ok:
                lat[kind].append(dt)
            else:
                errors[kind] += 1
        await conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(clients)))
    wall = time.perf_counter() - t0
    rows = {}
    for kind, values in lat.items():
        rows[kind] = {
            "requests": len(values) + errors[kind],
            "ok": len(values),
            "errors": errors[kind],
            "per_s": round(len(values) / wall, 1),
            "p50_ms": round(pct(values, 50) * 1000, 1),
            "p99_ms": round(pct(values, 99) * 1000, 1),
        }
    everything = [v for values in lat.values() for v in values]
    rows["all"] = {
        "requests": len(everything) + sum(errors.values()),
        "ok": len(everything),
        "errors": sum(errors.values()),
        "per_s": round(len(everything) / wall, 1),
        "p50_ms": round(pct(everything, 50) * 1000, 1),
        "p99_ms": round(pct(everything, 99) * 1000, 1),
        "mean_ms": round(statistics.fmean(everything) * 1000, 1) if everything else None,
    }
    # queries/s counts search queries (1 per /search, 3 per /retrieve)
    rows["queries_per_s"] = round((len(lat["search"]) + 3 * len(lat["retrieve"])) / wall, 1)
    out = {"clients": clients, "duration_s": round(wall, 2), "endpoints": rows, "error_samples": error_samples}
    if bad_fraction:
        out["bad_requests"] = bad
        out["valid_failed"] = sum(errors.values())
    return out


async def health_baseline(base: str, clients: int, duration: float) -> dict:
    """Control: the same clients hammering ``GET /health`` (no web work) - the HTTP stack's own ceiling here."""
    lat: list[float] = []
    errors = 0
    host, port = base.rsplit("//", 1)[1].split(":")
    stop_at = time.perf_counter() + duration

    async def worker() -> None:
        nonlocal errors
        conn = RawConn(host, int(port))
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            try:
                ok = (await asyncio.wait_for(conn.request("GET", "/health"), 60))[0] == 200
            except Exception:
                ok = False
                await conn.close()
                conn = RawConn(host, int(port))
            if ok:
                lat.append(time.perf_counter() - t0)
            else:
                errors += 1
        await conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    wall = time.perf_counter() - t0
    return {
        "per_s": round(len(lat) / wall, 1),
        "p50_ms": round(pct(lat, 50) * 1000, 1),
        "p99_ms": round(pct(lat, 99) * 1000, 1),
        "errors": errors,
    }


class _FakesProcess:
    def __init__(self, proc: subprocess.Popen):
        self.proc = proc

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def serve_fakes(web_dir: Path, n: int, seed: int) -> None:
    """Child-process mode: run the fakes, print their URLs and corpus as one JSON line, serve until killed."""
    import html

    from openseeker.testing.fake_search_apis import FakeSearchAPI, FakeSite, Route
    from openseeker.web.local import LocalWeb

    web = LocalWeb.open(web_dir)
    pages = web.graph.sample(n, seed=seed)
    web.close()
    site = FakeSite().start()
    corpus = []
    for i, p in enumerate(pages):
        path = f"/wiki/{i}"
        site.routes[path] = Route(
            f"<html><head><title>{html.escape(p.title)}</title></head><body><article>"
            f"<h1>{html.escape(p.title)}</h1><p>{html.escape(p.text)}</p></article></body></html>"
        )
        corpus.append({"title": p.title, "url": site.url(path), "snippet": p.text[:200]})
    api = FakeSearchAPI("searxng", corpus=corpus).start()
    print(json.dumps({"api": api.base_url, "corpus": corpus}), flush=True)
    while True:
        time.sleep(3600)


def start_live_fakes(web_dir: Path, workdir: Path, n: int, seed: int, cache: bool = True):
    """A fake SearXNG over ``n`` wiki-offline pages and a fake site serving them as HTML, in their OWN process (so
    they do not share the load generator's GIL); returns (fakes, config path, workload)."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve-fakes", "--web", str(web_dir), "--seed", str(seed)],
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )
    info = json.loads(proc.stdout.readline())
    corpus = info["corpus"]
    cfg = workdir / "live-bench.yaml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(
        json.dumps(
            {
                "backend": "searxng",
                "searxng": {"base_url": info["api"], "rate_per_s": 0},
                "fetch": {"rate_per_s": 0},
                "ssrf": {"allow": ["127.0.0.1"]},
                "cache": {"enabled": cache, "path": str(workdir / "live-bench-cache.sqlite")},
            }
        )
    )
    for suffix in ("", "-wal", "-shm"):
        (workdir / f"live-bench-cache.sqlite{suffix}").unlink(missing_ok=True)
    return (
        (_FakesProcess(proc),),
        cfg,
        {"queries": [f"{c['title']}" for c in corpus], "urls": [c["url"] for c in corpus]},
    )


def start_server(
    web_dir: Path | str, port: int, extra: list[str] | None = None, src: Path | None = None
) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "openseeker.cli.main",
        "-q",
        "serve",
        "--web",
        str(web_dir),
        "--port",
        str(port),
        *(extra or []),
    ]
    env = dict(os.environ, PYTHONPATH=str(src)) if src else None
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=env)
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit("server exited before answering /health")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not come up within 60 s")


def search_r1_batch(web_dir: Path, n: int, out: Path) -> None:
    """One Search-R1 ``/retrieve`` request of ``n`` 400-character queries (topk 3, scores) through ``openseeker
    serve`` as a subprocess, against the obvious alternative: the same queries through ``LocalWeb.search_sync``
    in-process (no HTTP, no JSON, no validation). Repeated twice, best time kept."""
    from openseeker.web.local import LocalWeb

    work = workload(web_dir, 500, 0)
    queries = [(" ".join(work["queries"][i % 500 :] + work["queries"]) * 2)[:400] for i in range(n)]
    web = LocalWeb.open(web_dir)
    web.search_sync(queries[:50], 3)  # warm the index
    direct = []
    for _ in range(2):
        t0 = time.perf_counter()
        web.search_sync(queries, 3)
        direct.append(time.perf_counter() - t0)
    web.close()
    port = free_port()
    proc = start_server(web_dir, port)
    served, sizes = [], {}
    try:
        for _ in range(2):
            payload = json.dumps({"queries": queries, "topk": 3, "return_scores": True}).encode()
            t0 = time.perf_counter()
            r = httpx.post(
                f"http://127.0.0.1:{port}/retrieve",
                content=payload,
                headers={"content-type": "application/json"},
                timeout=600,
            )
            served.append(time.perf_counter() - t0)
            assert r.status_code == 200 and len(r.json()["result"]) == n, r.text[:200]
            sizes = {"request_bytes": len(payload), "response_bytes": len(r.content)}
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    report = {
        "benchmark": "serve_search_r1_batch",
        "queries": n,
        "query_chars": 400,
        "topk": 3,
        **sizes,
        "direct_search_s": round(min(direct), 2),
        "served_retrieve_s": round(min(served), 2),
        "ratio_served_over_direct": round(min(served) / min(direct), 2),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "machine": {"cpus": os.cpu_count()},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--web", type=Path, help="an existing web directory (default: build wiki-offline in --workdir)")
    ap.add_argument("--workdir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "openseeker-bench-serve")
    ap.add_argument("--clients", default="1,8,32", help="comma-separated concurrency levels")
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per level")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--live-fake", action="store_true", help="serve --web live against fakes on loopback")
    ap.add_argument("--serve-fakes", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--no-cache", action="store_true", help="with --live-fake: cache off (every request is a miss)")
    ap.add_argument("--workers", type=int, default=1, help="serve --workers N (server processes)")
    ap.add_argument("--bad-fraction", type=float, default=0.0, help="share of bad requests mixed in (e.g. 0.01)")
    ap.add_argument("--server-src", type=Path, help="run the server from this source tree (PYTHONPATH)")
    ap.add_argument(
        "--search-r1-batch",
        type=int,
        help="time one Search-R1 /retrieve request of N queries against direct LocalWeb search, then exit",
    )
    ap.add_argument(
        "--out",
        type=Path,
        help="default: benchmarks/results/serve.json (serve_live.json with "
        "--live-fake, serve_badmix.json with --bad-fraction)",
    )
    args = ap.parse_args()
    name = ("serve_live_nocache" if args.no_cache else "serve_live") if args.live_fake else "serve"
    name = "serve_badmix" if args.bad_fraction else name
    args.out = args.out or ROOT / "benchmarks" / "results" / f"{name}.json"

    if args.serve_fakes:
        return serve_fakes(args.web, 500, args.seed)
    web_dir = args.web or ensure_web(args.workdir)
    if args.search_r1_batch:
        return search_r1_batch(
            web_dir,
            args.search_r1_batch,
            args.out
            if args.out != ROOT / "benchmarks" / "results" / f"{name}.json"
            else ROOT / "benchmarks" / "results" / "serve_search_r1_batch.json",
        )
    port = free_port()
    fakes = ()
    if args.live_fake:
        fakes, cfg, work = start_live_fakes(web_dir, args.workdir, 500, args.seed, cache=not args.no_cache)
        proc = start_server("live", port, ["--web-config", str(cfg), "--workers", str(args.workers)])
    else:
        work = workload(web_dir, 500, args.seed)
        proc = start_server(web_dir, port, ["--workers", str(args.workers)], src=args.server_src)
    base = f"http://127.0.0.1:{port}"
    # warm-up (index open, page cache)
    httpx.post(f"{base}/search", json={"query": work["queries"][:3]}, timeout=60)
    levels = []
    load_before = os.getloadavg()
    try:
        for n in [int(x) for x in args.clients.split(",") if x.strip()]:
            res = asyncio.run(run_level(base, n, args.duration, work, args.seed, args.bad_fraction))
            res["web_stats_after"] = httpx.get(f"{base}/health", timeout=30).json().get("stats", {})
            res["health_baseline"] = asyncio.run(health_baseline(base, n, min(args.duration, 5.0)))
            levels.append(res)
            a = res["endpoints"]["all"]
            print(
                f"clients={n:3d}  req/s={a['per_s']:7.1f}  queries/s={res['endpoints']['queries_per_s']:7.1f}  "
                f"p50={a['p50_ms']:7.1f} ms  p99={a['p99_ms']:7.1f} ms  errors={a['errors']}"
            )
            if args.bad_fraction:
                b = res["bad_requests"]
                print(
                    f"    bad requests: {b['sent']} sent -> {b['4xx']} 4xx, {b['5xx']} 5xx, {b['dropped']} dropped "
                    f"connections;  valid requests failed: {res['valid_failed']}"
                )
            for kind in ("search", "retrieve", "visit"):
                e = res["endpoints"][kind]
                print(
                    f"    {kind:8s} {e['per_s']:7.1f}/s  p50={e['p50_ms']:7.1f} ms  p99={e['p99_ms']:7.1f} ms  "
                    f"errors={e['errors']}"
                )
            for name, st in res["web_stats_after"].items():
                print(
                    f"    {name}: {st.get('requests')} asked, {st.get('hits')} cache hits, {st.get('calls')} calls, "
                    f"{st.get('errors')} errors (cumulative)"
                )
            h = res["health_baseline"]
            print(f"    /health  {h['per_s']:7.1f}/s  p50={h['p50_ms']:7.1f} ms  p99={h['p99_ms']:7.1f} ms  (control)")
    finally:
        for fake in fakes:
            fake.stop()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    report = {
        "benchmark": "serve",
        "web": f"live (fake SearXNG + fake site on loopback, cache {'off' if args.no_cache else 'on'})"
        if args.live_fake
        else str(web_dir),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "note": "server and load generator share the machine's cores with whatever else runs",
        "duration_per_level_s": args.duration,
        "server_workers": args.workers,
        "mix": "search:retrieve(3 queries):visit = 1:1:1",
        "bad_fraction": args.bad_fraction,
        "server_src": str(args.server_src or "this tree"),
        "levels": levels,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
