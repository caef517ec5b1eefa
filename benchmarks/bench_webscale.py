"""Web-scale benchmark: ``web build`` and the graph/index readers on a synthetic web of N pages.

The synthetic web (seeded, streamed to a JSONL file): page ``i`` has a 3-word title, ~60 words of text drawn from
a Zipf vocabulary, and a heavy-tailed number of out-links (lognormal, mean ~20, capped at 1000) to targets drawn
from a power law (``int(N * u**3)`` through a fixed permutation: a few pages get a large share of the in-links,
as on the web). Links are urls, so resolution is by url.

Measured (each phase in its own subprocess, niced; peak RSS per subprocess):

- build: wall time per phase (import, links, index) from ``web.json``, peak RSS, disk size of the web;
- link resolution: raw links, resolved, unresolved (from ``web.json``);
- readers: uniform seed sampling (``WebGraph.sample(1)``), ``out_links(url)``, ``get(url)`` latency p50/p99;
- search: ``LocalWeb.search_sync`` p50/p99 over 200 queries of 2-3 words.

Usage:
    python benchmarks/bench_webscale.py --pages 1000000 --workdir /tmp/webscale
    python benchmarks/bench_webscale.py --pages 100000,1000000 --out benchmarks/results/webscale.json
    python benchmarks/bench_webscale.py --pages 10000000 --workdir /work/webscale --keep --reuse-corpus --nice 0
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SEED = 11


def _zipf_words(rng) -> tuple[list[str], Any]:
    """The vocabulary and the 4M-word Zipf stream the page texts are cut from (the first draw of ``rng``)."""
    vocab = [f"w{i}" for i in range(50_000)]
    return vocab, rng.zipf(1.3, size=4_000_000) % len(vocab)


def _titles_and_texts(vocab: list[str], zipf) -> Iterator[tuple[str, str]]:
    """``(title, text)`` of pages 0, 1, 2, ...: 63 consecutive words of the stream each (it wraps around)."""
    zi, i = 0, 0
    while True:
        words = zipf[zi : zi + 63] if zi + 63 < len(zipf) else zipf[:63]
        zi = (zi + 63) % (len(zipf) - 64)
        yield f"{' '.join(vocab[w] for w in words[:3])} {i}", " ".join(vocab[w] for w in words[3:])
        i += 1


def synthetic_pages(n: int) -> Iterator[tuple[str, str, str]]:
    """``(url, title, text)`` of the first ``n`` pages of :func:`generate`'s web, without the links (for
    benchmarks of the search index alone, e.g. bench_search_engines.py)."""
    import numpy as np

    texts = _titles_and_texts(*_zipf_words(np.random.default_rng(SEED)))
    for i in range(n):
        title, text = next(texts)
        yield f"https://synth.example/p/{i}", title, text


def generate(path: Path, n: int) -> dict:
    import numpy as np

    rng = np.random.default_rng(SEED)
    texts = _titles_and_texts(*_zipf_words(rng))
    perm = rng.permutation(n)
    links_total = 0
    t = time.perf_counter()
    with path.open("w") as fh:
        chunk = 50_000
        for lo in range(0, n, chunk):
            m = min(chunk, n - lo)
            deg = np.minimum(rng.lognormal(2.5, 1.0, size=m).astype(int), 1000)
            targets = perm[(n * rng.random(int(deg.sum())) ** 3).astype(int)]
            off = 0
            lines = []
            for k in range(m):
                i = lo + k
                title, text = next(texts)
                d = int(deg[k])
                links = [f"https://synth.example/p/{int(x)}" for x in targets[off : off + d]]
                off += d
                links_total += d
                lines.append(
                    json.dumps({"title": title, "text": text, "url": f"https://synth.example/p/{i}", "links": links})
                )
            fh.write("\n".join(lines) + "\n")
    return {
        "pages": n,
        "links_generated": links_total,
        "jsonl_mb": round(path.stat().st_size / 1e6, 1),
        "generate_s": round(time.perf_counter() - t, 1),
    }


class DiskPeak:
    """The peak of the file system's used space above its level at the start, sampled every 2 s: SQLite's
    temp files are unlinked while open, so only the file system sees them (other users of the disk add noise)."""

    def __init__(self, path: Path):
        self.path, self.base, self.peak, self._stop = path, shutil.disk_usage(path).used, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(2.0):
            self.peak = max(self.peak, shutil.disk_usage(self.path).used - self.base)

    def __enter__(self) -> DiskPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _child(code: str, *args: str, nice: int = 10) -> dict:
    """Run ``code`` in a niced subprocess; returns its JSON result plus its peak RSS."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    p = subprocess.run(
        ["nice", "-n", str(nice), sys.executable, "-c", code, *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if p.returncode:
        raise SystemExit(p.stderr[-3000:])
    out = json.loads(p.stdout.strip().splitlines()[-1])
    out["wall_s"] = round(time.perf_counter() - t, 1)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out["peak_rss_mb_upper_bound"] = round(max(peak, before) / 1024, 1)  # max over children so far (Linux: KB)
    return out


BUILD = """
import json, sys, resource
from openseeker.web.build import build_web
info = build_web(sys.argv[1], sys.argv[2], progress=False)
print(json.dumps({"timings_s": info["timings_s"], "links": info["links"], "import": info["import"],
                  "degree_stats": {k: info["degree_stats"][k] for k in ("pages", "links", "max_in_degree",
                  "max_out_degree", "median_out_degree")},
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

READ = """
import json, random, statistics, sys, time, resource
from openseeker.web.local import LocalWeb
web, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(5)
def lat(fn, reps):
    xs = []
    for _ in range(reps):
        t = time.perf_counter(); fn(); xs.append((time.perf_counter() - t) * 1000)
    xs.sort()
    return {"p50_ms": round(xs[len(xs) // 2], 3), "p99_ms": round(xs[int(len(xs) * 0.99) - 1], 3)}
with LocalWeb.open(web) as lw:
    g = lw.graph
    urls = [f"https://synth.example/p/{rng.randrange(n)}" for _ in range(2000)]
    it = iter(urls)
    out = {"out_links": lat(lambda: g.out_links(next(it)), 1000)}
    out["out_links_mean_len"] = sum(len(g.out_links(u)) for u in urls[:200]) / 200
    it = iter(urls[1000:])
    out["get"] = lat(lambda: g.get(next(it)), 1000)
    out["sample_1"] = lat(lambda: g.sample(1, seed=rng.randrange(1 << 30)), 50)
    vocab = [f"w{i}" for i in range(2000)]
    qs = iter([" ".join(rng.sample(vocab, rng.choice((2, 3)))) for _ in range(260)])
    lw.search_sync(["w1 w2"], 10)  # warm-up: open the index
    for _ in range(10):
        lw.search_sync([next(qs)], 10)
    out["search"] = lat(lambda: lw.search_sync([next(qs)], 10), 200)
    # the top 10 alone (no stored documents read), with the frequent terms' lists skipped when provably exact
    # (openseeker.web.search.maxscore) vs the full query, on the same 200 queries, alternating
    ix = lw.index
    terms = [ix.query_terms(" ".join(rng.sample(vocab, rng.choice((2, 3))))) for _ in range(200)]
    full = lambda t: ix._searcher.search(ix._query(t), limit=10, count=False).hits
    pruned, plain = [], []
    for t in terms:
        for fn, xs in ((lambda t=t: ix._top(t, 10), pruned), (lambda t=t: full(t), plain)):
            a = time.perf_counter(); fn(); xs.append((time.perf_counter() - a) * 1000)
    q = lambda xs: {"p50_ms": round(sorted(xs)[len(xs) // 2], 3), "p99_ms": round(sorted(xs)[int(len(xs) * 0.99) - 1], 3)}
    key = lambda hits: [(round(s, 4), h.segment_ord, h.doc) for s, h in hits]
    out["top10_maxscore"], out["top10_full_query"] = q(pruned), q(plain)
    out["top10_same"] = sum(key(ix._top(t, 10)) == key(full(t)) for t in terms)
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def du(path: Path) -> float:
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", default="100000,1000000")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/openseeker-webscale"))
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "webscale.json")
    ap.add_argument("--keep", action="store_true", help="keep the generated corpora and webs")
    ap.add_argument(
        "--reuse-corpus",
        action="store_true",
        help="use synth-N.jsonl in the workdir when it was generated before (same seed: same corpus)",
    )
    ap.add_argument("--nice", type=int, default=10, help="niceness of the build and reader subprocesses")
    ap.add_argument(
        "--read-only",
        action="store_true",
        help="only measure the readers of webs kept in the workdir (--keep), one size after the other "
        "in one run, and write them to --out: latencies of two sizes side by side",
    )
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    results = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()}, "runs": []}
    if args.out.exists():
        results = json.loads(args.out.read_text())
    if args.read_only:
        reads = {}
        for n in (int(x) for x in args.pages.split(",")):
            reads[n] = _child(READ, str(args.workdir / f"web-{n}"), str(n), nice=args.nice)
            print(n, json.dumps(reads[n]), flush=True)
        args.out.write_text(
            json.dumps(
                {"machine": results["machine"], "load_avg_1m": round(os.getloadavg()[0], 2), "read": reads}, indent=2
            )
        )
        print("wrote", args.out)
        return
    for n in (int(x) for x in args.pages.split(",")):
        src = args.workdir / f"synth-{n}.jsonl"
        run = {"pages": n, "load_avg_1m_start": round(os.getloadavg()[0], 2)}
        stats_file = src.with_suffix(".corpus.json")
        if args.reuse_corpus and src.exists() and stats_file.exists():
            run["corpus"] = {**json.loads(stats_file.read_text()), "reused": True}
        else:
            run["corpus"] = generate(src, n)
            stats_file.write_text(json.dumps(run["corpus"]))
        print(run, flush=True)
        web = args.workdir / f"web-{n}"
        shutil.rmtree(web, ignore_errors=True)
        with DiskPeak(args.workdir) as disk:
            run["build"] = _child(BUILD, str(src), str(web), nice=args.nice)
        run["build"]["disk_peak_extra_mb"] = round(disk.peak / 1e6, 1)
        run["disk_mb"] = {
            "graph": round((web / "graph.sqlite").stat().st_size / 1e6, 1),
            "index": du(web / "index"),
            "corpus_jsonl": run["corpus"]["jsonl_mb"],
        }
        print(json.dumps(run["build"]), flush=True)
        run["read"] = _child(READ, str(web), str(n), nice=args.nice)
        run["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
        print(json.dumps(run["read"]), flush=True)
        results["runs"] = [r for r in results["runs"] if r["pages"] != n] + [run]
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2))
        if not args.keep:
            shutil.rmtree(web, ignore_errors=True)
            src.unlink(missing_ok=True)
            stats_file.unlink(missing_ok=True)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
