"""Importers on small fixtures made here and on the real shared corpora (skipped when ../shared is absent)."""

from __future__ import annotations

import bz2
import json

import pytest

from openseeker.errors import InputError, UserError
from openseeker.records import Link, Page
from openseeker.testing.shared import SHARED_DATA, requires_shared
from openseeker.web.importers import Redirect, detect_format, get_importer, title_url


def _collect(importer):
    pages, links, redirects = [], [], []
    for rec in importer:
        (pages if isinstance(rec, Page) else links if isinstance(rec, Link) else redirects).append(rec)
    return pages, links, redirects


# ------------------------------------------------------------------ detection


def test_detect_format(tmp_path):
    assert detect_format("wiki-offline") == "wiki-offline"
    assert detect_format("wiki-offline:fr") == "wiki-offline"
    for name, fmt in [
        ("a.jsonl", "jsonl"),
        ("a.xml", "mediawiki"),
        ("a.xml.bz2", "mediawiki"),
        ("a.zim", "zim"),
        ("a.json", "multihop"),
    ]:
        (tmp_path / name).write_text("x")
        assert detect_format(tmp_path / name) == fmt
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "p.html").write_text("<p>x</p>")
    assert detect_format(tmp_path / "site") == "html"
    (tmp_path / "a.csv").write_text("x")
    with pytest.raises(UserError, match="unknown corpus format"):
        detect_format(tmp_path / "a.csv")
    with pytest.raises(UserError, match="no such file"):
        detect_format(tmp_path / "missing.jsonl")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no .html"):
        detect_format(tmp_path / "empty")
    with pytest.raises(UserError, match="unknown language"):
        get_importer("wiki-offline:xx")


def test_title_url():
    assert title_url("Ray Charles") == "https://local/wiki/Ray_Charles"
    assert title_url("100% Why? #1", "https://en.wikipedia.org/wiki/") == (
        "https://en.wikipedia.org/wiki/100%25_Why%3F_%231"
    )
    assert title_url("Musique concrète") == "https://local/wiki/Musique_concrète"


# ------------------------------------------------------------------ jsonl


def _jsonl(tmp_path, lines):
    p = tmp_path / "c.jsonl"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


GOOD = [
    json.dumps(
        {
            "title": "Alpha",
            "text": "Alpha links to Beta.",
            "links": ["Beta", "https://x.org/Gamma"],
            "lang": "fr",
            "description": "first",
            "extra": 1,
        }
    ),
    json.dumps(
        {
            "title": "Beta",
            "text": "Beta.",
            "url": "https://x.org/Beta",
            "links": [{"title": "Alpha", "anchor": "the alpha"}],
        }
    ),
]


def test_jsonl_fields_and_links(tmp_path):
    imp = get_importer(_jsonl(tmp_path, GOOD + [""]))
    pages, links, _ = _collect(imp)
    assert [p.url for p in pages] == ["https://local/wiki/Alpha", "https://x.org/Beta"]
    assert pages[0].lang == "fr" and pages[0].description == "first" and pages[0].metadata == {"extra": 1}
    assert [(lk.src, lk.dst, lk.anchor) for lk in links] == [
        ("https://local/wiki/Alpha", "Beta", ""),
        ("https://local/wiki/Alpha", "https://x.org/Gamma", ""),
        ("https://x.org/Beta", "Alpha", "the alpha"),
    ]
    assert imp.stats.as_dict()["read"] == 2 and imp.stats.pages == 2 and imp.stats.links == 3


def test_jsonl_malformed_line_names_file_and_line(tmp_path):
    p = _jsonl(tmp_path, [GOOD[0], '{"title": "Broken", "text": ', GOOD[1], json.dumps({"title": "No text"})])
    with pytest.raises(InputError) as exc:
        _collect(get_importer(p))
    assert exc.value.path == str(p) and exc.value.line == 2
    assert "c.jsonl:2:" in str(exc.value) and "\n" not in str(exc.value)
    imp = get_importer(p, skip_bad=True)
    pages, _, _ = _collect(imp)
    assert [pg.title for pg in pages] == ["Alpha", "Beta"]
    stats = imp.stats.as_dict()
    assert stats["skipped"] == 2 and stats["read"] == 4


def test_jsonl_missing_file(tmp_path):
    with pytest.raises(UserError, match="missing.jsonl: no such file"):
        get_importer(tmp_path / "missing.jsonl")


# ------------------------------------------------------------------ multihop


def test_multihop_fixture_keeps_repeated_titles(tmp_path):
    p = tmp_path / "x_corpus.json"
    p.write_text(
        json.dumps(
            [
                {"title": "A", "text": "one"},
                {"title": "B", "text": "two"},
                {"title": "A", "text": "three"},
                {"title": "", "text": "skip"},
            ]
        )
    )
    imp = get_importer(p)
    pages, links, _ = _collect(imp)
    assert [p.url for p in pages] == ["https://local/wiki/A", "https://local/wiki/B", "https://local/wiki/A_(2)"]
    assert [p.metadata["paragraph"] for p in pages] == [1, 1, 2]
    assert links == [] and imp.stats.skipped == {"empty title or text": 1}
    bad = tmp_path / "bad.json"
    bad.write_text('[{"title": 1}]')
    with pytest.raises(InputError, match="bad.json"):
        _collect(get_importer(bad))


def test_multihop_hotpotqa_dict_of_sentences(tmp_path):
    p = tmp_path / "h.json"
    p.write_text(json.dumps({"Demon Dice": ["Demon Dice is a game.", " It uses dice."], "X": "Plain text."}))
    pages, _, _ = _collect(get_importer(p))
    assert [(pg.title, pg.text) for pg in pages] == [
        ("Demon Dice", "Demon Dice is a game. It uses dice."),
        ("X", "Plain text."),
    ]


@requires_shared
@pytest.mark.parametrize("name", ["musique_train_corpus", "hotpotqa_train_corpus", "2wikimultihopqa_corpus"])
def test_multihop_real_corpora(name):
    path = SHARED_DATA / f"corpora/multihop-samples/data/{name}.json"
    raw = json.loads(path.read_text())
    imp = get_importer(path)
    pages, _, _ = _collect(imp)
    assert len(pages) + sum(imp.stats.skipped.values()) == len(raw)  # every paragraph kept or counted
    assert len({p.url for p in pages}) == len(pages)  # repeated titles get distinct urls
    assert all(p.text for p in pages)


# ------------------------------------------------------------------ wiki-offline


def test_wiki_offline_en():
    imp = get_importer("wiki-offline")
    pages, links, _ = _collect(imp)
    assert len(pages) == 10_033 and links == []
    by_title = {p.title: p for p in pages}
    p = by_title["Ray Charles"]
    assert p.url == "https://en.wikipedia.org/wiki/Ray_Charles" and p.topic and p.lang == "en" and p.text
    assert len({p.url for p in pages}) == len(pages)


def test_wiki_offline_fr_urls():
    pages, _, _ = _collect(get_importer("wiki-offline:fr"))
    assert len(pages) > 9_000
    assert all(p.url.startswith("https://fr.wikipedia.org/wiki/") and p.lang == "fr" for p in pages)


# ------------------------------------------------------------------ mediawiki

XML = """<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/" xml:lang="en">
  <siteinfo><base>https://en.wikipedia.org/wiki/Main_Page</base>
    <namespaces><namespace key="0" /><namespace key="14">Category</namespace></namespaces></siteinfo>
  <page><title>Ray Charles</title><ns>0</ns><id>1</id><revision><id>9</id><text xml:space="preserve">'''Ray Charles''' was an [[United States|American]] [[singer]].{{Infobox|x=1}}&lt;ref&gt;A citation [[Nowhere]]&lt;/ref&gt; See [[Georgia on My Mind#Charts|his song]] and [[:Category:Foo]].
[[File:Ray.jpg|thumb|A photo]] [[fr:Ray Charles]]
[[Category:Singers]]</text></revision></page>
  <page><title>Singer</title><ns>0</ns><id>2</id><revision><id>10</id><text>A '''singer''' sings, like [[ray Charles]].</text></revision></page>
  <page><title>Ray</title><ns>0</ns><id>3</id><redirect title="Ray Charles" /><revision><id>11</id><text>#REDIRECT [[Ray Charles]]</text></revision></page>
  <page><title>Talk:Singer</title><ns>1</ns><id>4</id><revision><id>12</id><text>chat</text></revision></page>
</mediawiki>
"""


def test_mediawiki_fixture(tmp_path):
    p = tmp_path / "dump.xml"
    p.write_text(XML, encoding="utf-8")
    imp = get_importer(p)
    pages, links, redirects = _collect(imp)
    assert [pg.url for pg in pages] == [
        "https://en.wikipedia.org/wiki/Ray_Charles",
        "https://en.wikipedia.org/wiki/Singer",
    ]
    text = pages[0].text
    assert text.startswith("Ray Charles was an American singer.") and "his song" in text
    assert "citation" not in text and "Infobox" not in text and "Category" not in text and "thumb" not in text
    assert [(lk.dst, lk.anchor) for lk in links if lk.src.endswith("Ray_Charles")] == [
        ("United States", "American"),
        ("Singer", "singer"),
        ("Georgia on My Mind", "his song"),
    ]
    assert redirects == [Redirect("Ray", "Ray Charles")]
    assert imp.stats.skipped == {"redirect": 1, "non-article namespace": 1}


def test_mediawiki_truncated_bz2(tmp_path):
    data = bz2.compress(XML.encode() * 1)
    p = tmp_path / "dump.xml.bz2"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError) as exc:
        _collect(get_importer(p))
    assert "dump.xml.bz2" in str(exc.value) and "truncated" in str(exc.value)
    imp = get_importer(p, skip_bad=True)
    _collect(imp)
    assert sum(imp.stats.skipped.values()) >= 1


def test_mediawiki_malformed_xml_names_line(tmp_path):
    p = tmp_path / "bad.xml"
    p.write_text(XML.replace("<ns>1</ns>", "<ns>1</nsx>"), encoding="utf-8")
    with pytest.raises(InputError) as exc:
        _collect(get_importer(p))
    line = next(i for i, text in enumerate(XML.splitlines(), 1) if "Talk:Singer" in text)
    assert exc.value.line == line and f"bad.xml:{line}:" in str(exc.value)


@requires_shared
def test_mediawiki_real_dump():
    path = SHARED_DATA / "corpora/enwiki-sample/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
    imp = get_importer(path)
    pages, links, redirects = _collect(imp)
    assert len(pages) == 106  # the main-namespace, non-redirect articles
    assert imp.stats.read == 206 and len(redirects) >= 90
    assert len(links) > 20_000
    anarchism = next(p for p in pages if p.title == "Anarchism")
    assert anarchism.url == "https://en.wikipedia.org/wiki/Anarchism"
    assert "political philosophy" in anarchism.text[:300] and "[[" not in anarchism.text and "{{" not in anarchism.text


# ------------------------------------------------------------------ zim


@requires_shared
def test_zim_real_file():
    imp = get_importer(SHARED_DATA / "corpora/kiwix-raycharles/zimfile.zim")
    pages, links, redirects = _collect(imp)
    assert len(pages) == 129
    assert len(links) == 592
    ray = next(p for p in pages if p.title == "Ray Charles")
    assert ray.url == "https://en.wikipedia.org/wiki/Ray_Charles" and "singer" in ray.text
    assert any(lk.src == ray.url and lk.dst == "Georgia on My Mind" for lk in links)
    assert redirects


def test_zim_not_a_zim(tmp_path):
    p = tmp_path / "x.zim"
    p.write_bytes(b"not a zim file")
    with pytest.raises(UserError, match="x.zim"):
        _collect(get_importer(p))


# ------------------------------------------------------------------ html directory


def test_html_dir(tmp_path):
    site = tmp_path / "site"
    (site / "sub").mkdir(parents=True)
    body = "<p>" + "Some real paragraph text about the topic. " * 5 + "</p>"
    (site / "index.html").write_text(
        f'<html lang="en"><head><title>Home page</title><meta name="description" content="the home"></head>'
        f'<body><h1>Home</h1>{body}<a href="sub/b.html#x">to b</a> <a href="https://ext.org/">ext</a>'
        f'<a href="mailto:a@b">mail</a></body></html>'
    )
    (site / "sub" / "b.html").write_text(
        f"<html><body><h1>Bee</h1>{body}<a href='../index.html'>home</a></body></html>"
    )
    (site / "sub" / "empty.htm").write_text("<html><body></body></html>")
    imp = get_importer(site)
    pages, links, _ = _collect(imp)
    assert [(p.url, p.title) for p in pages] == [
        ("https://local/index.html", "Home page"),
        ("https://local/sub/b.html", "Bee"),
    ]
    assert pages[0].description == "the home" and "real paragraph" in pages[0].text
    assert [(lk.src, lk.dst, lk.anchor) for lk in links] == [
        ("https://local/index.html", "https://local/sub/b.html", "to b"),
        ("https://local/index.html", "https://ext.org/", "ext"),
        ("https://local/sub/b.html", "https://local/index.html", "home"),
    ]
    assert imp.stats.skipped == {"empty text": 1}
