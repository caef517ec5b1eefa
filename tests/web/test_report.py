"""``web stats``: languages, out-link fraction, largest component, duplicate rate and the degree plot, on a
crawl whose answers are known by construction."""

from __future__ import annotations

import json

import pytest

from openseeker.cli.main import main
from openseeker.web.build import build_web
from openseeker.web.report import component_labels, largest_component
from openseeker.web.store import WebGraph

from .warc_files import write_crawl


def test_report_on_a_crawl(tmp_path, capsys):
    write_crawl(tmp_path / "crawl.warc.gz")
    web = tmp_path / "web"
    build_web(tmp_path / "crawl.warc.gz", web, progress=False)
    png = tmp_path / "deg.png"
    assert main(["web", "stats", "--web", str(web), "--json", "--plot", str(png)]) == 0
    s = json.loads(capsys.readouterr().out)
    # 4 pages: a, b, d in English, c in German; a->b, a->c, b->a, d->a: one component of all 4
    assert s["pages"] == 4 and s["links"] == 4
    assert s["languages"] == {"en": 3, "de": 1}
    assert s["fraction_with_out_links"] == 0.75  # c links nowhere inside the web
    assert s["components"] == {"components": 1, "largest": 4, "largest_fraction": 1.0}
    assert s["duplicate_rate"] == {"duplicates": {"duplicate url": 1, "duplicate text": 1}, "rate": round(2 / 6, 4)}
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    assert main(["web", "stats", "--web", str(web), "--no-components"]) == 0
    text = capsys.readouterr().out
    assert "languages: en: 3, de: 1" in text and "duplicates dropped at import 2 (33.3%)" in text
    assert "largest connected component" not in text


def test_components_count_islands(tmp_path):
    rows = [
        {"title": t, "text": f"{t} text", "links": links}
        for t, links in [("A", ["B"]), ("B", ["C"]), ("C", []), ("D", ["E"]), ("E", []), ("F", [])]
    ]
    src = tmp_path / "c.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    build_web(src, tmp_path / "web", progress=False, derive_links=False)
    with WebGraph(tmp_path / "web", readonly=True) as g:
        assert largest_component(g) == {"components": 3, "largest": 3, "largest_fraction": 0.5}


@pytest.mark.parametrize("seed", range(8))
def test_component_labels_match_scipy_on_random_graphs(seed):
    """Labels are the smallest node of each weak component: the partition scipy's connected_components finds,
    on graphs with isolated nodes, self-loops, repeated links and long chains, in chunks of any size."""
    import numpy as np
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 3000))
    m = int(rng.integers(0, 3 * n))
    s, d = rng.integers(0, n, m), rng.integers(0, n, m)
    if seed % 2:  # a long chain in reverse id order: the slow case for label hooking
        chain = rng.permutation(n)
        s, d = np.concatenate([s, chain[1:]]), np.concatenate([d, chain[:-1]])
    cut = sorted(rng.integers(0, len(s) + 1, 3))
    chunks = [(s[a:b], d[a:b]) for a, b in zip([0, *cut], [*cut, len(s)])]
    labels = component_labels(n, chunks)
    assert chunks == []
    _, expected = connected_components(coo_matrix((np.ones(len(s)), (s, d)), shape=(n, n)), connection="weak")
    # same partition: a bijection between label values
    pairs = set(zip(labels.tolist(), expected.tolist()))
    assert len(pairs) == len(set(labels.tolist())) == len(set(expected.tolist()))
    assert all(labels[i] <= i and labels[labels[i]] == labels[i] for i in range(n))


def test_component_labels_of_no_links():
    assert component_labels(3, []).tolist() == [0, 1, 2]
