"""``web add``: a second crawl added to a built web links both ways, is searchable, is not added twice, and an
interrupted add resumes without duplicates."""

from __future__ import annotations

import pytest

from openseeker.cli.main import main
from openseeker.web.build import build_web
from openseeker.web.incremental import add_to_web
from openseeker.web.local import LocalWeb

from .test_parallel import dump
from .warc_files import write_pages


def _base_and_delta(tmp_path):
    base = write_pages(
        tmp_path / "base.warc.gz",
        [
            ("http://ex.org/a", "Alpha", "<p>Alpha links to <a href='/b'>beta</a> and <a href='/c'>gamma</a>.</p>"),
            ("http://ex.org/b", "Beta", "<p>Beta is about boats.</p>"),
        ],
    )
    delta = write_pages(
        tmp_path / "delta.warc.gz",
        [
            ("http://ex.org/c", "Gamma", "<p>Gamma is about glaciers; back to <a href='/a'>alpha</a>.</p>"),
            ("http://ex.org/b", "Beta again", "<p>Another copy of beta.</p>"),  # already in the web
            ("http://ex.org/d", "Delta", "<p>Delta talks about deltas of rivers and <a href='/c'>gamma</a>.</p>"),
        ],
    )
    return base, delta


def test_add_links_both_ways_and_is_searchable(tmp_path, capsys):
    base, delta = _base_and_delta(tmp_path)
    web = tmp_path / "web"
    build_web(base, web, progress=False, keep_unresolved=True)
    res = add_to_web(web, delta, progress=False)
    assert res["import"]["imported"] == 2 and res["import"]["skipped_by_reason"]["duplicate url"] == 1
    with LocalWeb.open(web) as lw:
        g = lw.graph
        assert len(g) == 4 and g.get("http://ex.org/b").title == "Beta"  # an add never replaces a page
        assert [lk.dst for lk in g.out_links("http://ex.org/a")] == ["http://ex.org/b", "http://ex.org/c"]
        assert [lk.dst for lk in g.out_links("http://ex.org/c")] == ["http://ex.org/a"]
        assert g.degree("http://ex.org/c") == (1, 2)
        assert lw.search_sync(["glaciers"], 3)[0][0].url == "http://ex.org/c"
        assert lw.info["added"][0]["source"] == str(delta) and lw.info["degree_stats"]["pages"] == 4
    assert add_to_web(web, delta, progress=False)["up_to_date"]
    assert main(["web", "add", "--web", str(web), "--source", str(delta), "--no-progress"]) == 0
    assert "already in" in capsys.readouterr().out


def test_without_keep_unresolved_old_pages_do_not_link_new_ones(tmp_path):
    base, delta = _base_and_delta(tmp_path)
    build_web(base, tmp_path / "web", progress=False)
    add_to_web(tmp_path / "web", delta, progress=False)
    with LocalWeb.open(tmp_path / "web") as lw:
        assert [lk.dst for lk in lw.graph.out_links("http://ex.org/a")] == ["http://ex.org/b"]


@pytest.mark.parametrize("where", ["import", "links", "index"])
def test_interrupted_add_resumes_without_duplicates(tmp_path, monkeypatch, where):
    base, delta = _base_and_delta(tmp_path)
    ref, web = tmp_path / "ref", tmp_path / "web"
    for d in (ref, web):
        build_web(base, d, progress=False, keep_unresolved=True)
    add_to_web(ref, delta, progress=False)

    from openseeker.web.importers.warc import WarcImporter
    from openseeker.web.search.index import SearchIndex

    calls = {"n": 0}
    if where == "import":
        original = WarcImporter._record

        def boom(self, *a, **k):
            calls["n"] += 1
            if calls["n"] == 3:
                raise KeyboardInterrupt
            yield from original(self, *a, **k)

        monkeypatch.setattr(WarcImporter, "_record", boom)
    elif where == "links":  # inside the second chunk's transaction (one staged link per chunk)
        from openseeker.web import store

        monkeypatch.setattr(store, "RESOLVE_CHUNK", 1)
        original = store._resolve_staged

        def boom(con):
            calls["n"] += 1
            if calls["n"] == 2:
                raise KeyboardInterrupt
            original(con)

        monkeypatch.setattr(store, "_resolve_staged", boom)
    else:

        def boom(self, docs, **k):
            list(docs)
            raise KeyboardInterrupt

        monkeypatch.setattr(SearchIndex, "add", boom)
    with pytest.raises(KeyboardInterrupt):
        add_to_web(web, delta, progress=False)
    monkeypatch.undo()
    other = write_pages(tmp_path / "x.warc.gz", [("http://ex.org/x", "X", "<p>x</p>")])
    with pytest.raises(Exception, match="interrupted"):  # another add first would mix two corpora's rollback
        add_to_web(web, other, progress=False)
    add_to_web(web, delta, progress=False)
    assert dump(web) == dump(ref)
    with LocalWeb.open(web) as lw:
        assert len(lw.index) == 4
