"""A corpus in the BrowseComp-Plus format ({docid, text, url}; JSONL or parquet) -> web: docids kept as the page
ids the tools show (SearchHit.docid) and accepted by fetch; bad records located by file and line."""

from __future__ import annotations

import json

import pytest

from openseeker.errors import InputError
from openseeker.web.build import build_web
from openseeker.web.importers import detect_format
from openseeker.web.importers.browsecomp_plus import title_of
from openseeker.web.local import LocalWeb

DOCS = [
    {
        "docid": "10",
        "url": "https://ex.org/sahara",
        "text": "---\ntitle: Sahara\n---\nThe Sahara is the largest hot desert in the world, in North Africa.",
    },
    {"docid": "11", "url": "https://ex.org/gobi", "text": "Gobi Desert\nThe Gobi is a cold desert in Mongolia."},
    {"docid": "12", "url": "", "text": "Kalahari\nA sandy savanna in southern Africa."},
    {"docid": "13", "url": "https://ex.org/gobi", "text": "Camels\nCamels cross the Gobi and the Sahara."},
]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    d = tmp_path_factory.mktemp("bcp")
    src = write_jsonl(d / "corpus.jsonl", DOCS)
    info = build_web(src, d / "web", progress=False)
    assert info["format"] == "browsecomp-plus" and info["import"]["imported"] == 4 and info["index"]["docids"] == 4
    with LocalWeb.open(d / "web") as w:
        yield w


def test_search_hits_carry_docids(web):
    hits = web.search_sync(["largest hot desert in Africa"], 3)[0]
    assert hits[0].docid == "10" and hits[0].url == "https://ex.org/sahara" and hits[0].title == "Sahara"
    assert {h.docid for h in web.search_sync(["camels"], 5)[0]} == {"13"}


def test_fetch_by_docid_url_and_fallbacks(web):
    assert web.fetch_sync("11").url == "https://ex.org/gobi"
    assert web.fetch_sync(" 12 ").url == "urn:docid:12"  # a missing url gets a stable one
    assert web.fetch_sync("13").url == "https://ex.org/gobi#docid=13"  # a reused url never drops a document
    assert web.fetch_sync("https://ex.org/sahara").metadata["docid"] == "10"
    assert web.fetch_sync("99") is None


def test_parquet_corpus(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pa.table(
        {"docid": [d["docid"] for d in DOCS], "text": [d["text"] for d in DOCS], "url": [d["url"] for d in DOCS]}
    )
    pq.write_table(table, tmp_path / "corpus.parquet")
    assert detect_format(tmp_path / "corpus.parquet") == "browsecomp-plus"
    build_web(tmp_path / "corpus.parquet", tmp_path / "web", progress=False)
    with LocalWeb.open(tmp_path / "web") as w:
        assert w.fetch_sync("12").title == "Kalahari"
        assert w.search_sync(["Mongolia"], 1)[0][0].docid == "11"


def test_generic_jsonl_with_title_is_not_bcp(tmp_path):
    src = write_jsonl(tmp_path / "c.jsonl", [{"title": "A", "text": "alpha", "docid": "7"}])
    assert detect_format(src) == "jsonl"
    build_web(src, tmp_path / "web", progress=False)
    with LocalWeb.open(tmp_path / "web") as w:  # a docid in a generic JSONL corpus is exposed the same way
        assert w.search_sync(["alpha"], 1)[0][0].docid == "7" and w.fetch_sync("7").title == "A"


@pytest.mark.parametrize(
    "bad,reason",
    [
        ({"docid": "", "text": "x", "url": "u"}, "missing docid"),
        ({"docid": "1", "text": 5, "url": "u"}, "non-string text"),
    ],
)
def test_bad_records_are_located(tmp_path, bad, reason):
    src = write_jsonl(tmp_path / "c.jsonl", [DOCS[0], bad])
    (tmp_path / "c.jsonl").write_text(json.dumps(DOCS[0]) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(InputError, match=rf"c.jsonl:2: .*{reason}"):
        build_web(src, tmp_path / "web", progress=False)


def test_duplicate_docid_is_an_error(tmp_path):
    src = write_jsonl(tmp_path / "c.jsonl", [DOCS[0], DOCS[0]])
    with pytest.raises(InputError, match="c.jsonl:2: duplicate docid '10'"):
        build_web(src, tmp_path / "web", progress=False)


def test_title_of():
    assert title_of('---\ntitle: "Quoted"\nauthor: x\n---\nbody', "1") == "Quoted"
    assert title_of("\n\n# Heading here\nbody", "1") == "Heading here"
    assert title_of("   ", "5") == "Document 5"
