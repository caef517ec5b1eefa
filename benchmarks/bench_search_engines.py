"""Top-10 BM25 latency from 1M to 10M pages: our search path (tantivy through tantivy-py) beside an engine with
dynamic pruning (PISA: MaxScore, block-max WAND), on the pages and queries of bench_webscale.py.

Why: issue 14 set the goal (benchmarks/webscale.md) "search p50 at 10M within 2x of the 1M figure". Through tantivy-py every posting
of every query term is scored (its ``Searcher.search`` always collects through a ``MultiCollector``, so tantivy's
block-max WAND never runs); openseeker.web.search.maxscore skips only what it can prove. This benchmark asks whether an
engine that does have block-max WAND keeps the top 10 within 2x on the same workload, i.e. whether the goal is a
matter of engine or of workload.

What is measured (one process per web size, the same 200 queries of 2-3 words drawn from the 2,000 most frequent
words, every method in turn on each query, after 10 warm-up queries):
- ``tantivy_full``: the plain query, all postings scored (what the binding does);
- ``tantivy_openseeker``: ``SearchIndex._top`` (MaxScore-style split of openseeker.web.search.maxscore);
- ``pisa_<algorithm>``: PISA's ``ranked_or`` (exhaustive), ``maxscore``, ``block_max_wand``,
  ``block_max_maxscore``, on the same texts with the same BM25 parameters (k1 1.2, b 0.75, no stop words, no
  stemming: the synthetic words need none);
- the answers' agreement: openseeker's top 10 equals the full query's; PISA's pruned top 10 equals its exhaustive
  one (scores, rounded).
Only the top 10 (document ids and scores) is timed: reading the stored pages and making snippets adds ~0.27 ms
(1M) and ~0.5 ms (10M) to ``search`` (bench_webscale.py's search and top-10 p50s of one run).

PISA is an optional peer, not a dependency of openseeker: ``pip install --no-deps pyterrier-pisa==0.4.9
tbb==2020.3.254`` in the environment (``--no-deps``: its pyterrier dependencies are not needed here; only its
compiled ``_pisathon`` module is loaded). Without it the PISA columns are skipped.

Usage:
    python benchmarks/bench_search_engines.py --pages 1000000,10000000 --workdir /work/engines --keep
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "benchmarks")]

K = 10
QUERIES = 200
PISA_ALGORITHMS = ("ranked_or", "maxscore", "block_max_wand", "block_max_maxscore")
PISA_ARGS = {"encoding": "block_simdbp", "scorer_name": "bm25", "stemmer": "", "bm25_k1": 1.2, "bm25_b": 0.75}


def pisathon():
    """PISA's compiled module from an installed pyterrier-pisa, or ``None``."""
    spec = importlib.util.find_spec("pyterrier_pisa")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations)))
    so = next(folder.glob("_pisathon*.so"), None)
    if so is None:
        return None
    mod_spec = importlib.util.spec_from_file_location("_pisathon", so)
    module = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(module)
    return module


def build(n: int, root: Path) -> dict:
    """The tantivy index (openseeker's build) and, when PISA is installed, a PISA index of the same pages."""
    from bench_webscale import synthetic_pages

    from openseeker.web.search.index import SearchIndex

    out: dict = {"pages": n}
    if not (root / "tantivy" / "openseeker_index.json").exists():
        t = time.perf_counter()
        SearchIndex.build(root / "tantivy", synthetic_pages(n), progress=False, total=n, overwrite=True)
        out["tantivy_build_s"] = round(time.perf_counter() - t, 1)
    pisa = pisathon()
    if pisa is not None and not (root / "pisa" / "fwd.doclex").exists():
        (root / "pisa").mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            fifo = os.path.join(tmp, "docs")
            os.mkfifo(fifo)

            def feed() -> None:  # PISA's plain-text input: "docno text" per line
                with open(fifo, "w") as fh:
                    fh.writelines(f"{i} {title} {text}\n" for i, (_, title, text) in enumerate(synthetic_pages(n)))

            t = time.perf_counter()
            feeder = threading.Thread(target=feed, daemon=True)
            feeder.start()
            pisa.index(fifo, str(root / "pisa"), "", 100_000, 1)
            feeder.join()
            pisa.prepare_index(pisa.RetrievalContext(), str(root / "pisa"), **PISA_ARGS)  # block-max data
            out["pisa_build_s"] = round(time.perf_counter() - t, 1)
    return out


def measure(root: Path) -> dict:
    import numpy as np

    from openseeker.web.search.index import SearchIndex

    ix = SearchIndex.open(root / "tantivy")
    rng = random.Random(5)
    vocab = [f"w{i}" for i in range(2000)]
    queries = [" ".join(rng.sample(vocab, rng.choice((2, 3)))) for _ in range(QUERIES + 10)]
    methods = {
        "tantivy_full": lambda q, t: ix._searcher.search(ix._query(t), limit=K, count=False).hits,
        "tantivy_openseeker": lambda q, t: ix._top(t, K),
    }
    pisa = pisathon() if (root / "pisa" / "fwd.doclex").exists() else None
    if pisa is not None:
        ctx = pisa.RetrievalContext()
        pisa.prepare_index(ctx, str(root / "pisa"), **PISA_ARGS)
        bufs = {
            "result_qidxs": np.empty(K, np.int32),
            "result_docnos": np.empty(K, object),
            "result_ranks": np.empty(K, np.int32),
            "result_scores": np.empty(K, np.float32),
        }

        def pisa_top(algorithm: str, q: str) -> list[tuple[float, str]]:
            size = pisa.retrieve(
                ctx, algorithm, [(0, q)], k=K, threads=1, pretokenised=False, query_weighted=0, **bufs
            )
            return [(round(float(bufs["result_scores"][j]), 3), bufs["result_docnos"][j]) for j in range(size)]

        for algorithm in PISA_ALGORITHMS:
            methods[f"pisa_{algorithm}"] = lambda q, t, a=algorithm: pisa_top(a, q)
    for q in queries[:10]:
        for fn in methods.values():
            fn(q, ix.query_terms(q))
    times: dict[str, list[float]] = {name: [] for name in methods}
    same_openseeker = same_pisa = 0
    postings = []

    def key(hits: list) -> list[float]:  # tantivy's (score, address)
        return [round(s, 3) for s, _ in hits]

    for q in queries[10:]:
        terms = ix.query_terms(q)
        postings.append(sum(ix.doc_freq(t) for t in terms))
        for name, fn in methods.items():
            t = time.perf_counter()
            fn(q, terms)
            times[name].append((time.perf_counter() - t) * 1000)
        same_openseeker += key(ix._top(terms, K)) == key(methods["tantivy_full"](q, terms))
        if pisa is not None:
            same_pisa += [s for s, _ in pisa_top("ranked_or", q)] == [s for s, _ in pisa_top("block_max_wand", q)]

    def pct(xs: list[float], p: float) -> float:
        return round(sorted(xs)[min(len(xs) - 1, int(len(xs) * p))], 3)

    out = {
        name: {"p50_ms": pct(xs, 0.5), "p99_ms": pct(xs, 0.99), "mean_ms": round(statistics.fmean(xs), 3)}
        for name, xs in times.items()
    }
    out["pages"] = len(ix)
    out["query_postings_p50"] = int(statistics.median(postings))
    out["openseeker_top10_equals_full"] = f"{same_openseeker}/{QUERIES}"
    if pisa is not None:
        out["pisa_bmw_top10_equals_exhaustive"] = f"{same_pisa}/{QUERIES}"
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", default="1000000,10000000")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/openseeker-engines"))
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "search_engines.json")
    ap.add_argument("--keep", action="store_true", help="keep the indexes (a re-run then only measures)")
    args = ap.parse_args()
    if pisathon() is None:
        print(
            "pyterrier-pisa is not installed: measuring tantivy only "
            "(pip install --no-deps pyterrier-pisa==0.4.9 tbb==2020.3.254)",
            file=sys.stderr,
        )
    sizes = [int(x) for x in args.pages.split(",")]
    args.workdir.mkdir(parents=True, exist_ok=True)
    result: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()}, "runs": {}}
    for n in sizes:
        root = args.workdir / str(n)
        for step in ("build", "measure"):  # each in its own process: a clean heap and page cache state per size
            answer = args.workdir / f"{step}-{n}.json"  # not stdout: PISA logs there from C++, unordered
            p = subprocess.run(
                [sys.executable, __file__, f"--{step}", str(n), str(root), str(answer)],
                capture_output=True,
                text=True,
                check=False,
            )
            if p.returncode:
                raise SystemExit(p.stderr[-3000:])
            result["runs"].setdefault(str(n), {}).update(json.loads(answer.read_text()))
            answer.unlink()
        if not args.keep:  # only what this run made: the workdir may hold other things
            shutil.rmtree(root, ignore_errors=True)
        print(json.dumps({n: result["runs"][str(n)]}), flush=True)
    if len(sizes) > 1:
        small, large = result["runs"][str(sizes[0])], result["runs"][str(sizes[-1])]
        result[f"p50_ratio_{sizes[-1]}_over_{sizes[0]}"] = {
            name: round(large[name]["p50_ms"] / small[name]["p50_ms"], 2)
            for name in small
            if isinstance(small[name], dict) and name in large
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] in ("--build", "--measure"):
        n, root = int(sys.argv[2]), Path(sys.argv[3])
        result = build(n, root) if sys.argv[1] == "--build" else measure(root)
        Path(sys.argv[4]).write_text(json.dumps(result))
    else:
        main()
