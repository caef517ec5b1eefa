"""build_web (resume, refusal, stats) and LocalWeb (Web protocol, forgiving fetch, search, tools)."""

from __future__ import annotations

import asyncio
import json

import pytest

from openseeker.errors import UserError
from openseeker.web.base import Web
from openseeker.web.build import build_web
from openseeker.web.local import LocalWeb, title_from_url, url_variants
from openseeker.web.open import connect_web
from openseeker.web.tools import SearchTool, VisitTool

ROWS = [
    {
        "title": "Ray Charles",
        "text": "Ray Charles was an American singer and pianist, a pioneer of soul music.",
        "url": "https://en.wikipedia.org/wiki/Ray_Charles",
        "links": ["Soul music", "Georgia on My Mind"],
    },
    {
        "title": "Soul music",
        "text": "Soul music is a popular music genre that originated in the United States.",
        "url": "https://en.wikipedia.org/wiki/Soul_music",
        "links": ["https://en.wikipedia.org/wiki/Ray_Charles"],
    },
    {
        "title": "Georgia on My Mind",
        "text": "Georgia on My Mind is a 1930 song recorded by Ray Charles in 1960.",
        "url": "https://en.wikipedia.org/wiki/Georgia_on_My_Mind",
    },
    {
        "title": "Café de Flore",
        "text": "The Café de Flore is a coffeehouse in Paris, France.",
        "url": "https://en.wikipedia.org/wiki/Café_de_Flore",
    },
]


def _corpus(tmp_path, rows=ROWS, name="c.jsonl"):
    p = tmp_path / name
    p.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return p


@pytest.fixture
def web_dir(tmp_path):
    out = tmp_path / "web"
    build_web(_corpus(tmp_path), out, progress=False)
    return out


def test_build_writes_stats(web_dir):
    info = json.loads((web_dir / "web.json").read_text())
    assert info["status"] == "complete" and info["index"]["status"] == "built"
    assert info["import"]["imported"] == 4 and info["import"]["links"] == 3
    assert info["links"]["resolved"]["links_added"] == 3 and "derived" not in info["links"]
    assert info["degree_stats"]["pages"] == 4 and info["degree_stats"]["links"] == 3
    assert {"python", "sqlite", "store"} <= set(info["versions"])


def test_rerun_same_corpus_is_up_to_date(tmp_path, web_dir):
    info = build_web(tmp_path / "c.jsonl", web_dir, progress=False)
    assert info["up_to_date"] is True
    with LocalWeb.open(web_dir) as web:
        assert len(web.graph) == 4


def test_refuses_to_mix_corpora_unless_forced(tmp_path, web_dir):
    other = _corpus(tmp_path, ROWS[:2], name="other.jsonl")
    with pytest.raises(UserError, match="refusing to mix"):
        build_web(other, web_dir, progress=False)
    with LocalWeb.open(web_dir) as web:  # untouched
        assert len(web.graph) == 4
    info = build_web(other, web_dir, progress=False, force=True)
    assert info["degree_stats"]["pages"] == 2


def test_refuses_foreign_directory(tmp_path):
    d = tmp_path / "mine"
    d.mkdir()
    (d / "notes.txt").write_text("keep me")
    with pytest.raises(UserError, match="not an openseeker web"):
        build_web(_corpus(tmp_path), d, progress=False)
    assert (d / "notes.txt").read_text() == "keep me"


def test_interrupted_import_rebuilds_cleanly(tmp_path, monkeypatch):
    import openseeker.web.build as build_mod

    out = tmp_path / "web"
    real = build_mod.WebGraph.resolve_links

    def boom(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(build_mod.WebGraph, "resolve_links", boom)
    with pytest.raises(KeyboardInterrupt):
        build_web(_corpus(tmp_path), out, progress=False)
    with pytest.raises(UserError, match="interrupted"):
        LocalWeb.open(out)
    monkeypatch.setattr(build_mod.WebGraph, "resolve_links", real)
    info = build_web(tmp_path / "c.jsonl", out, progress=False)
    assert info["status"] == "complete" and info["degree_stats"]["pages"] == 4  # no duplicates, no gaps
    assert info["import"]["skipped"] == 0


def test_interrupted_index_resumes_at_index(tmp_path, monkeypatch):
    from openseeker.web.search import index as index_mod

    out = tmp_path / "web"
    real = index_mod.SearchIndex.build

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(index_mod.SearchIndex, "build", boom)
    with pytest.raises(KeyboardInterrupt):
        build_web(_corpus(tmp_path), out, progress=False)
    monkeypatch.setattr(index_mod.SearchIndex, "build", real)
    info = build_web(tmp_path / "c.jsonl", out, progress=False)
    assert info["resumed"] is True and info["status"] == "complete"
    with LocalWeb.open(out) as web:
        assert len(web.graph) == 4 and len(web.index) == 4


def test_url_variants_and_titles():
    v = list(url_variants("http://en.wikipedia.org/wiki/Ray Charles/"))
    assert "https://en.wikipedia.org/wiki/Ray_Charles" in v
    assert title_from_url("https://en.wikipedia.org/wiki/Caf%C3%A9_de_Flore#History") == "Café de Flore"
    assert title_from_url("https://example.org/page") is None


@pytest.mark.parametrize(
    "spelling",
    [
        "https://en.wikipedia.org/wiki/Ray_Charles",
        "http://en.wikipedia.org/wiki/Ray_Charles",
        "https://en.wikipedia.org/wiki/Ray_Charles/",
        "https://en.wikipedia.org/wiki/Ray_Charles#Early_life",
        "https://en.wikipedia.org/wiki/Ray Charles",
        "en.wikipedia.org/wiki/Ray_Charles",
        "https://en.m.wikipedia.org/wiki/Ray_Charles",
        "https://en.wikipedia.org/wiki/ray_charles",
        "Ray Charles",
        "  ray charles ",
    ],
)
def test_fetch_accepts_variants(web_dir, spelling):
    with LocalWeb.open(web_dir) as web:
        page = asyncio.run(web.fetch(spelling))
        assert page is not None and page.url == "https://en.wikipedia.org/wiki/Ray_Charles"


def test_fetch_percent_encoding_both_ways(web_dir):
    with LocalWeb.open(web_dir) as web:
        assert web.fetch_sync("https://en.wikipedia.org/wiki/Caf%C3%A9_de_Flore").title == "Café de Flore"
        assert web.fetch_sync("https://en.wikipedia.org/wiki/Café_de_Flore").title == "Café de Flore"
        assert web.fetch_sync("https://en.wikipedia.org/wiki/Nope") is None
        assert web.fetch_sync("https://example.org/Ray_Charles_x") is None
        assert web.fetch_sync("") is None


def test_local_web_protocol_search_and_tools(web_dir):
    web = connect_web(web_dir)
    try:
        assert isinstance(web, LocalWeb) and isinstance(web, Web) and web.name == "local:web"
        results = asyncio.run(web.search(["soul music genre", "zzzz-nothing"], top_k=2))
        assert results[0][0].url == "https://en.wikipedia.org/wiki/Soul_music" and results[1] == []
        block = asyncio.run(SearchTool(web).execute({"query": ["Georgia song 1930"]}))
        assert block.startswith("A search for 'Georgia song 1930' found")
        assert "[Georgia on My Mind](https://en.wikipedia.org/wiki/Georgia_on_My_Mind)" in block
        text = asyncio.run(
            VisitTool(web, max_chars=20).execute({"url": ["Ray Charles", "https://x.org/none"], "goal": "g"})
        )
        assert text.startswith("Page: [Ray Charles](https://en.wikipedia.org/wiki/Ray_Charles)")
        assert "truncated" in text and "https://x.org/none was not found" in text
        assert [lk.dst for lk in web.graph.out_links("https://en.wikipedia.org/wiki/Ray_Charles")] == [
            "https://en.wikipedia.org/wiki/Soul_music",
            "https://en.wikipedia.org/wiki/Georgia_on_My_Mind",
        ]
    finally:
        web.close()


def test_open_missing_directory(tmp_path):
    with pytest.raises(UserError, match="not a web directory"):
        LocalWeb.open(tmp_path)


def test_jsonl_without_links_gets_derived_links(tmp_path):
    rows = [{"title": r["title"], "text": r["text"]} for r in ROWS]
    info = build_web(_corpus(tmp_path, rows), tmp_path / "w", progress=False)
    assert info["links"]["derived"]["links_added"] >= 2
    with LocalWeb.open(tmp_path / "w") as web:
        dsts = {lk.dst for lk in web.graph.out_links("https://local/wiki/Georgia_on_My_Mind")}
        assert dsts == {"https://local/wiki/Ray_Charles"}
