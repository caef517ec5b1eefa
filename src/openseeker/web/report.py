"""``web stats``: what a user judges a corpus by, beyond counts.

Pages and languages, links and the degree distributions (a log-log plot of in- and out-degree CCDFs), the
fraction of pages with out-links, the largest weakly connected component (a random walk from a seed can only
reach its component: a web split into islands gives short, shallow questions), and the duplicate rate of the
import (pages dropped as the same url or the same text; with ``--dedup near`` also as near-duplicate text, whose
count and rate are also given alone).

Components: union-find by label hooking and pointer jumping over the link table, held as int32 chunks (8 bytes a
link, 1.6 GB at 200M links); links already inside one component are dropped after each round, so later rounds are
short. ``scipy.sparse.csgraph.connected_components`` needed ~34 more bytes a link (a float64 CSR copy and its
transpose: 6.7 GB above the links at 196M links, against 0.1 GB here, and 3.8x the time; bench_components.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openseeker.web.build import NEAR_DUPLICATE
from openseeker.web.store import WebGraph


def languages(graph: WebGraph, top: int = 20) -> dict[str, int]:
    rows = graph.execute("SELECT lang, count(*) FROM pages GROUP BY lang ORDER BY 2 DESC LIMIT ?", (top,)).fetchall()
    return {lang or "(none)": n for lang, n in rows}


def component_labels(n: int, edges: list[tuple[Any, Any]]) -> Any:
    """The weakly connected component of each of ``n`` nodes (``0..n-1``) as the smallest node id in it;
    ``edges``: chunks of ``(source ids, target ids)`` int arrays (direction ignored), consumed (the list is
    emptied, so the links are held once).

    Rounds of: every edge whose ends carry different labels hooks the larger label to the smaller one
    (``np.minimum.at``), then labels jump to their label's label until stable. Labels only ever move to a smaller
    id of the same component, and a round ends with every label a fixed point, so at the end an edge with
    different labels at its ends is proof of more work; none left means each component carries one label."""
    import numpy as np

    label = np.arange(n, dtype=np.int32)
    live: list[Any] = [(np.asarray(s, dtype=np.int32), np.asarray(d, dtype=np.int32)) for s, d in edges]
    edges.clear()  # the chunks are consumed: each is replaced by its shorter remainder as soon as it is done
    while live:
        for i, (s, d) in enumerate(live):
            ls, ld = label[s], label[d]
            differ = ls != ld
            if differ.any():
                ls, ld = ls[differ], ld[differ]
                np.minimum.at(label, np.maximum(ls, ld), np.minimum(ls, ld))
                live[i] = (s[differ], d[differ])
            else:
                live[i] = None
        while True:  # pointer jumping: every label becomes a fixed point (a root)
            jumped = label[label]
            if np.array_equal(jumped, label):
                break
            label = jumped
        live = [chunk for chunk in live if chunk is not None]
    return label


def largest_component(graph: WebGraph, batch: int = 1_000_000) -> dict[str, Any]:
    """Size of the largest weakly connected component and the number of components (isolated pages count)."""
    import numpy as np

    n_ids = (graph.execute("SELECT max(id) FROM pages").fetchone()[0] or 0) + 1
    edges = []
    cur = graph.execute("SELECT src_id, dst_id FROM links")
    while True:
        rows = cur.fetchmany(batch)
        if not rows:
            break
        a = np.array(rows, dtype=np.int32)
        edges.append((a[:, 0].copy(), a[:, 1].copy()))  # copies: the (rows, 2) array is freed
    labels = component_labels(n_ids, edges)
    dense = graph._dense_ids()
    if dense is not None:
        ids = np.arange(dense[0], dense[0] + dense[1], dtype=np.int64)
    else:
        ids = np.array([r[0] for r in graph.execute("SELECT id FROM pages").fetchall()], dtype=np.int64)
    counts = np.bincount(labels[ids])
    pages = len(ids)
    largest = int(counts.max()) if pages else 0
    return {
        "components": int((counts > 0).sum()),
        "largest": largest,
        "largest_fraction": round(largest / pages, 4) if pages else 0.0,
    }


def duplicate_rate(import_stats: dict[str, Any]) -> dict[str, Any]:
    """Pages dropped as duplicates by reason and their share of the pages read; with ``--dedup near`` also the
    near-duplicates alone (``near_duplicates``, ``near_rate``) and the detector's settings (``near_dedup``)."""

    reasons = import_stats.get("skipped_by_reason", {})
    dups = {k: v for k, v in reasons.items() if k.startswith("duplicate") or k == NEAR_DUPLICATE}
    kept = import_stats.get("imported", 0)
    total = kept + sum(dups.values())
    out: dict[str, Any] = {"duplicates": dups, "rate": round(sum(dups.values()) / total, 4) if total else 0.0}
    if "near_dedup" in import_stats:
        near = dups.get(NEAR_DUPLICATE, 0)
        out.update(
            near_duplicates=near,
            near_rate=round(near / total, 4) if total else 0.0,
            near_dedup=import_stats["near_dedup"],
        )
    return out


def degree_plot(graph: WebGraph, path: Path) -> Path:
    """Log-log CCDF of in- and out-degree (the share of pages with degree >= k) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
    pages = len(graph) or 1
    for col, label in (("out_degree", "out-links"), ("in_degree", "in-links")):
        rows = graph.execute(f"SELECT {col}, count(*) FROM pages WHERE {col} > 0 GROUP BY {col} ORDER BY 1").fetchall()
        if not rows:
            continue
        k = np.array([r[0] for r in rows])
        c = np.array([r[1] for r in rows])
        ccdf = c[::-1].cumsum()[::-1] / pages
        ax.loglog(k, ccdf, marker=".", linestyle="-", label=label)
    ax.set_xlabel("degree k")
    ax.set_ylabel("share of pages with degree >= k")
    ax.set_title(f"degree distribution ({pages:,} pages)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def web_report(
    graph: WebGraph, info: dict[str, Any] | None = None, *, components: bool = True, plot: Path | None = None
) -> dict[str, Any]:
    """The ``web stats`` report (see the module doc); ``info`` is the web's ``web.json``."""
    info = info or {}
    deg = graph.degree_stats()
    out: dict[str, Any] = dict(deg)
    out["languages"] = languages(graph)
    out["fraction_with_out_links"] = round(1 - deg["pages_no_out_links"] / deg["pages"], 4) if deg["pages"] else 0.0
    out["duplicate_rate"] = duplicate_rate(info.get("import") or graph.get_meta("import", {}) or {})
    if components:
        out["components"] = largest_component(graph)
    if plot is not None:
        out["degree_plot"] = str(degree_plot(graph, plot))
    return out
