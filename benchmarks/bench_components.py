"""``web stats`` largest component: time and memory of openseeker's union-find (``web.report.component_labels``)
beside ``scipy.sparse.csgraph.connected_components`` (what ``web stats`` used before), on the same links.

The links are bench_webscale.py's link model (per page a lognormal number of out-links, mean ~20, capped at
1000; targets from a power law through a fixed permutation), built as int32 chunks of 1M links, as ``web stats``
reads them from the graph. Each method runs in its own subprocess that first builds the links; the figure is
the peak RSS above the RSS with the links in memory (Linux ``VmHWM`` - ``VmRSS`` before the method), and the
wall time of the method alone. Both must give the same partition (checked on the component sizes).

Usage:
    python benchmarks/bench_components.py --pages 1000000,10000000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHUNK = 1_000_000


def links(n: int) -> list:
    import numpy as np

    rng = np.random.default_rng(11)
    perm = rng.permutation(n).astype(np.int32)
    chunks = []
    for lo in range(0, n, 50_000):
        m = min(50_000, n - lo)
        deg = np.minimum(rng.lognormal(2.5, 1.0, size=m).astype(np.int64), 1000)
        src = np.repeat(np.arange(lo, lo + m, dtype=np.int32), deg)
        dst = perm[(n * rng.random(len(src)) ** 3).astype(np.int64)]
        chunks.append((src, dst))
    src = np.concatenate([s for s, _ in chunks])
    dst = np.concatenate([d for _, d in chunks])
    del chunks
    return [(src[i : i + CHUNK].copy(), dst[i : i + CHUNK].copy()) for i in range(0, len(src), CHUNK)]


def _status(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


def run(method: str, n: int) -> dict:
    import numpy as np

    edges = links(n)
    n_links = sum(len(s) for s, _ in edges)
    # peak so far is the link generation's; reset it so VmHWM shows the method's own peak
    Path("/proc/self/clear_refs").write_text("5")
    base = _status("VmRSS")
    t = time.perf_counter()
    if method == "openseeker":
        sys.path.insert(0, str(ROOT / "src"))
        from openseeker.web.report import component_labels

        labels = component_labels(n, edges)
    else:
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        s = np.concatenate([s for s, _ in edges])
        d = np.concatenate([d for _, d in edges])
        edges.clear()
        m = coo_matrix((np.ones(len(s), dtype=np.int8), (s, d)), shape=(n, n)).tocsr()
        _, labels = connected_components(m, directed=True, connection="weak")
    seconds = time.perf_counter() - t
    sizes = np.sort(np.bincount(labels))[::-1]
    sizes = sizes[sizes > 0]
    return {
        "method": method,
        "pages": n,
        "links": n_links,
        "seconds": round(seconds, 2),
        "peak_extra_mb": round((_status("VmHWM") - base) / 1e6, 1),
        "links_rss_mb": round(base / 1e6, 1),
        "components": len(sizes),
        "largest": int(sizes[0]),
        "second": int(sizes[1]) if len(sizes) > 1 else 0,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", default="1000000")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "components.json")
    args = ap.parse_args()
    result: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()}, "runs": []}
    for n in (int(x) for x in args.pages.split(",")):
        pair = {}
        for method in ("scipy", "openseeker"):
            p = subprocess.run(
                [sys.executable, __file__, "--run", method, str(n)], capture_output=True, text=True, check=False
            )
            if p.returncode:
                raise SystemExit(p.stderr[-3000:])
            pair[method] = json.loads(p.stdout.strip().splitlines()[-1])
            print(json.dumps(pair[method]), flush=True)
        same = all(pair["scipy"][k] == pair["openseeker"][k] for k in ("components", "largest", "second"))
        result["runs"].append(
            {
                **pair,
                "same_components": same,
                "memory_ratio": round(
                    pair["scipy"]["peak_extra_mb"] / max(0.1, pair["openseeker"]["peak_extra_mb"]), 2
                ),
                "time_ratio": round(pair["scipy"]["seconds"] / pair["openseeker"]["seconds"], 2),
            }
        )
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--run":
        print(json.dumps(run(sys.argv[2], int(sys.argv[3]))))
    else:
        main()
