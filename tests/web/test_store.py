"""WebGraph: inserts, link resolution (url / title / redirect), reads, seeded sampling, degree statistics."""

from __future__ import annotations

from pathlib import Path

import pytest

from openseeker.errors import UserError
from openseeker.records import Link, Page
from openseeker.web.store import WebGraph, normalize_title


def _page(title: str, text: str = "", **kw) -> Page:
    return Page(url=f"https://ex.org/{title.replace(' ', '_')}", title=title, text=text or f"About {title}.", **kw)


@pytest.fixture
def graph(tmp_path):
    g = WebGraph(tmp_path / "graph.sqlite")
    with g.writer(batch=3) as w:  # tiny batches: several transactions
        for t, topic in [("Alpha", "x"), ("Beta", "x"), ("Gamma", "y"), ("Delta", "y"), ("Epsilon", "x")]:
            w.add_page(_page(t, topic=topic, lang="en" if t != "Delta" else "fr"))
        w.add_page(_page("Alpha", "duplicate url"))  # same url: not replaced, counted
        w.add_redirect("Alfa", "Alpha")
        w.add_link(Link(src="https://ex.org/Alpha", dst="https://ex.org/Beta", anchor="b"))
        w.add_link(Link(src="https://ex.org/Alpha", dst="gamma", anchor="g"))  # by title, case-insensitive
        w.add_link(Link(src="https://ex.org/Beta", dst="Alfa", anchor="via redirect"))
        w.add_link(Link(src="https://ex.org/Beta", dst="https://ex.org/Beta"))  # self-link
        w.add_link(Link(src="https://ex.org/Beta", dst="Nowhere"))  # unresolved
        w.add_link(Link(src="https://ex.org/Alpha", dst="Beta", anchor="again"))  # duplicate pair
        w.add_link(Link(src="https://ex.org/Gamma", dst="Alpha"))
    g.resolve_stats = g.resolve_links()
    g.compute_degrees()
    g.writer_stats = w
    yield g
    g.close()


def test_inserts_and_duplicates(graph):
    assert len(graph) == 5
    assert graph.writer_stats.pages_added == 5
    assert graph.writer_stats.duplicate_urls == 1
    assert graph.get("https://ex.org/Alpha").text == "About Alpha."


def test_link_resolution_counts(graph):
    s = graph.resolve_stats
    assert s == {
        "raw_links": 7,
        "links_added": 4,
        "unresolved": 1,
        "self_links": 1,
        "unknown_source": 0,
        "duplicates": 1,
    }


def test_out_and_in_links(graph):
    out = graph.out_links("https://ex.org/Alpha")
    assert [(lk.dst, lk.anchor) for lk in out] == [("https://ex.org/Beta", "b"), ("https://ex.org/Gamma", "g")]
    assert [lk.src for lk in graph.in_links("https://ex.org/Alpha")] == ["https://ex.org/Beta", "https://ex.org/Gamma"]
    assert graph.out_links("https://ex.org/Nope") == []
    assert graph.degree("https://ex.org/Alpha") == (2, 2)


def test_get_by_title_case_and_redirect(graph):
    assert graph.get_by_title("ALPHA").url == "https://ex.org/Alpha"
    assert graph.get_by_title("  beta ").url == "https://ex.org/Beta"
    assert graph.get_by_title("alfa").url == "https://ex.org/Alpha"
    assert graph.get_by_title("Omega") is None
    assert graph.get_by_title("") is None
    assert normalize_title("Ray_Charles ") == "ray charles"


def test_sample_is_seeded_and_filtered(graph):
    a = [p.url for p in graph.sample(3, seed=7)]
    b = [p.url for p in graph.sample(3, seed=7)]
    assert a == b and len(set(a)) == 3
    assert {p.url for p in graph.sample(10, seed=1)} == {p.url for p in graph.iter_pages()}
    assert {p.topic for p in graph.sample(10, seed=1, topic="y")} == {"y"}
    assert [p.title for p in graph.sample(10, seed=1, lang="fr")] == ["Delta"]
    assert {p.title for p in graph.sample(10, seed=3, min_out_degree=1)} == {"Alpha", "Beta", "Gamma"}
    assert graph.sample(0, seed=1) == []


def test_degree_stats(graph):
    s = graph.degree_stats()
    assert s["pages"] == 5 and s["links"] == 4
    assert s["mean_out_degree"] == pytest.approx(0.8)
    assert s["median_out_degree"] == 1.0  # out-degrees 2, 1, 1, 0, 0
    assert s["max_out_degree"] == 2
    assert s["pages_no_out_links"] == 2
    assert s["isolated_pages"] == 2  # Delta and Epsilon
    assert s["histogram"] == {"0": 2, "1-2": 3}


def test_iter_pages_streams_in_order(graph):
    assert [p.title for p in graph.iter_pages(batch=2)] == ["Alpha", "Beta", "Gamma", "Delta", "Epsilon"]


def test_meta_and_readonly(graph, tmp_path):
    graph.set_meta("status", "complete")
    graph.set_meta("counts", {"a": 1})
    graph.checkpoint()
    ro = WebGraph(tmp_path / "graph.sqlite", readonly=True)
    assert ro.get_meta("counts") == {"a": 1}
    assert len(ro) == 5
    with pytest.raises(UserError):
        ro.writer()
    ro.close()
    with pytest.raises(UserError, match="no such web graph"):
        WebGraph(tmp_path / "missing.sqlite", readonly=True)


def test_many_pages_batched(tmp_path):
    g = WebGraph(tmp_path)
    n = 20_000
    with g.writer() as w:
        for i in range(n):
            w.add_page(Page(url=f"https://ex.org/{i}", title=f"P{i}", text="t"))
            w.add_link(Link(src=f"https://ex.org/{i}", dst=f"P{(i + 1) % n}"))
    r = g.resolve_links()
    g.compute_degrees()
    assert len(g) == n and r["links_added"] == n
    s = g.degree_stats()
    assert s["median_out_degree"] == 1.0 and s["pages_no_out_links"] == 0
    g.close()


def _ring(g: WebGraph, n: int, extra: list[Link] = ()) -> None:
    with g.writer(batch=7) as w:
        for i in range(n):
            w.add_page(Page(url=f"https://ex.org/{i}", title=f"P{i}", text="t"))
            w.add_link(Link(src=f"https://ex.org/{i}", dst=f"https://ex.org/{(i + 1) % n}"))
            w.add_link(Link(src=f"https://ex.org/{i}", dst=f"P{(i + 2) % n}"))
        w.add_links(extra)


def test_chunked_resolution_matches_one_chunk_and_deletes_the_staging_file(tmp_path, monkeypatch):
    """Links are staged in their own file, resolved a chunk (one transaction) at a time; the file is deleted
    afterwards and the graph file never holds them. Small chunks give the same links and counts as one."""
    from openseeker.web import store

    extra = [
        Link(src="https://ex.org/3", dst="https://ex.org/4"),  # duplicate pair
        Link(src="https://ex.org/5", dst="Nowhere"),
        Link(src="https://ex.org/6", dst="https://ex.org/6"),
        Link(src="https://ex.org/unknown", dst="P1"),
    ]  # a source that is no page
    results = {}
    for chunk in (1_000_000, 3):
        monkeypatch.setattr(store, "RESOLVE_CHUNK", chunk)
        monkeypatch.setattr(store, "DEGREE_CHUNK", max(2, chunk // 2))
        g = WebGraph(tmp_path / str(chunk))
        _ring(g, 20, extra)
        assert g.staging_path.exists()
        r = g.resolve_links()
        g.compute_degrees()
        assert not g.staging_path.exists() and not Path(f"{g.staging_path}-wal").exists()
        assert g.execute("SELECT count(*) FROM sqlite_master WHERE name = 'raw_links'").fetchone()[0] == 0
        links = g.execute("SELECT src_id, dst_id FROM links ORDER BY 1, 2").fetchall()
        degrees = g.execute("SELECT id, out_degree, in_degree FROM pages ORDER BY id").fetchall()
        results[chunk] = (r, links, degrees)
        g.close()
    assert results[3] == results[1_000_000]
    r, links, degrees = results[3]
    assert r == {
        "raw_links": 44,
        "links_added": 40,
        "unresolved": 1,
        "self_links": 1,
        "unknown_source": 1,
        "duplicates": 1,
    }
    assert all(d[1:] == (2, 2) for d in degrees)


def test_keep_unresolved_keeps_only_them_in_the_staging_file(tmp_path):
    g = WebGraph(tmp_path)
    _ring(g, 5, [Link(src="https://ex.org/1", dst="https://ex.org/later"), Link(src="https://ex.org/2", dst="Later")])
    r = g.resolve_links(keep_unresolved=True)
    assert r["unresolved"] == 2 and r["links_added"] == 10
    assert g.staged_links() > 0
    assert g.execute("SELECT count(*) FROM staging.raw_links").fetchone()[0] == 2
    with g.writer() as w:  # the targets arrive (an incremental build)
        w.add_page(Page(url="https://ex.org/later", title="Later", text="t"))
    r = g.resolve_links(keep_unresolved=True)
    assert (r["raw_links"], r["links_added"], r["unresolved"]) == (2, 2, 0)  # by url and by title
    assert not g.staging_path.exists()
    assert [lk.src for lk in g.in_links("https://ex.org/later")] == ["https://ex.org/1", "https://ex.org/2"]
    g.close()


def test_a_graph_file_with_the_old_staging_table_is_moved_out(tmp_path):
    """Graph files from before the staging file kept ``raw_links`` inside; opening one for writing moves its
    (unresolved) rows to the staging file, so `web add` still resolves them."""
    import sqlite3

    g = WebGraph(tmp_path)
    _ring(g, 3)
    g.resolve_links()
    g.close()
    con = sqlite3.connect(tmp_path / "graph.sqlite")
    con.execute("CREATE TABLE raw_links (src_url TEXT NOT NULL, dst_url TEXT, dst_norm TEXT, anchor TEXT)")
    con.execute("INSERT INTO raw_links VALUES ('https://ex.org/0', NULL, 'later', 'a')")
    con.commit()
    con.close()
    g = WebGraph(tmp_path)
    assert g.execute("SELECT count(*) FROM main.sqlite_master WHERE name = 'raw_links'").fetchone()[0] == 0
    assert g.staged_links() == 1
    with g.writer() as w:
        w.add_page(Page(url="https://ex.org/later", title="Later", text="t"))
    assert g.resolve_links()["links_added"] == 1
    assert [lk.anchor for lk in g.out_links("https://ex.org/0")][-1] == "a"
    g.close()
