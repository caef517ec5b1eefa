"""The WARC/WET importer on small real archives written here with warcio (a WARC library independent of the
reader, fastwarc): redirects, non-HTML records, broken HTML, non-UTF-8 charsets, duplicates, truncation."""

from __future__ import annotations

import gzip
import io
import json

import pytest

from openseeker.errors import InputError
from openseeker.records import Link, Page
from openseeker.web.build import build_web
from openseeker.web.importers import Redirect, detect_format, get_importer
from openseeker.web.importers.warc import canonical_url
from openseeker.web.store import WebGraph

warcio = pytest.importorskip("warcio")
from warcio.warcwriter import WARCWriter

from .warc_files import write_crawl, write_pages


@pytest.fixture
def crawl(tmp_path):
    return write_crawl(tmp_path / "crawl.warc.gz")


def _collect(imp):
    out = {"pages": [], "links": [], "redirects": []}
    for rec in imp:
        out["pages" if isinstance(rec, Page) else "links" if isinstance(rec, Link) else "redirects"].append(rec)
    return out


def test_canonical_url():
    assert canonical_url("HTTP://Example.COM:80/a?utm_source=x&b=2&a=1#top") == "http://example.com/a?a=1&b=2"
    assert canonical_url("https://example.com:443/x/../y?fbclid=1") == "https://example.com/y"
    assert canonical_url("https://example.com:8443/") == "https://example.com:8443/"
    assert canonical_url("mailto:someone@example.com") == "mailto:someone@example.com"


def test_detect_warc(tmp_path, crawl):
    assert detect_format(crawl) == "warc"
    assert detect_format(tmp_path) == "warc"  # a directory holding WARC files
    assert detect_format(str(tmp_path / "*.warc.gz")) == "warc"


def test_records_pages_links_redirects(crawl):
    got = _collect(get_importer(crawl))
    pages: dict[str, Page] = {}
    for p in got["pages"]:
        pages.setdefault(p.url, p)
    # the importer yields every HTML 2xx page; duplicates are dropped by the build
    assert len(got["pages"]) == 6 and set(pages) == {
        "http://example.com/a",
        "http://example.com/b",
        "https://example.com/c",
        "http://example.com/d",
        "http://mirror.example.net/a",
    }
    a = pages["http://example.com/a"]
    assert a.title == "Alpha page" and "Alpha is the first page" in a.text and a.lang == "en"
    assert "Home" not in a.text.split("\n")[0]
    b, c = pages["http://example.com/b"], pages["https://example.com/c"]
    assert "café crème and crêpes" in b.text and b.title == "Beta café"
    assert "Größe der Straße" in c.text and c.lang == "de"
    assert "unclosed tags and broken markup" in pages["http://example.com/d"].text
    a_links = [(lk.dst, lk.anchor) for lk in got["links"] if lk.src == "http://example.com/a"]
    assert a_links == [
        ("http://example.com/", "Home"),
        ("http://example.com/b", "the beta page"),
        ("https://example.com/c", "gamma"),
        ("http://example.com/old", "an old address"),
        ("https://other.org/x", "elsewhere"),
    ]  # mailto, self-link dropped; fragments gone
    assert got["redirects"] == [Redirect(title="http://example.com/old", target="http://example.com/b")]


def test_build_graph(tmp_path, crawl):
    info = build_web(crawl, tmp_path / "web", progress=False)
    imp = info["import"]
    assert imp["imported"] == 4
    assert imp["skipped_by_reason"] == {
        "not HTML": 1,
        "HTTP 404": 1,
        "redirect": 1,
        "duplicate url": 1,
        "duplicate text": 1,
    }
    assert info["links"]["resolved"]["links_added"] == 4  # a->b (twice: /b and /old), a->c, b->a, d->a
    assert "derived" not in info["links"]
    with WebGraph(tmp_path / "web", readonly=True) as g:
        assert len(g) == 4
        out = [(lk.dst, lk.anchor) for lk in g.out_links("http://example.com/a")]
        # /b directly and via the recorded redirect /old: one link (the first anchor)
        assert out == [("http://example.com/b", "the beta page"), ("https://example.com/c", "gamma")]
        assert [lk.src for lk in g.in_links("http://example.com/a")] == [
            "http://example.com/b",
            "http://example.com/d",
        ]
        assert g.get("http://example.com/b").title == "Beta café"  # the first copy of the url is kept
    from openseeker.web.local import LocalWeb

    with LocalWeb.open(tmp_path / "web") as lw:  # visit follows the crawl's redirects and canonical spellings
        assert lw.fetch_sync("http://example.com/old").url == "http://example.com/b"
        assert lw.fetch_sync("HTTP://EXAMPLE.com/a?utm_campaign=z#x").url == "http://example.com/a"


@pytest.mark.parametrize("workers", [1, 2])
def test_web_json_counts_the_pages_in_the_web(tmp_path, workers):
    """A duplicate is yielded by the importer and dropped by the build: the counts in web.json are of what the web
    holds (12 pages, not 13), whether one process or several parsed the archive."""
    body = "<p>Page {i} is about item {i}; see <a href='/p{j}'>the next one</a>.</p>"
    pages = [(f"http://example.com/p{i}", f"Page {i}", body.format(i=i, j=(i + 1) % 12)) for i in range(12)]
    pages.append(("http://example.com/p3", "Page 3 again", "<p>another body under the same url</p>"))
    crawl = write_pages(tmp_path / "dup.warc.gz", pages)
    build_web(crawl, tmp_path / "web", progress=False, workers=workers)
    info = json.loads((tmp_path / "web" / "web.json").read_text())
    with WebGraph(tmp_path / "web", readonly=True) as g:
        in_web = len(g)
    assert in_web == 12 and info["import"]["imported"] == 12
    assert info["import"]["pages"] == in_web, info["import"]
    # each page links to the next one and (its nav bar) to "/"; the dropped copy's links are not counted
    assert info["import"]["links"] == info["links"]["resolved"]["raw_links"] == 24
    assert info["import"]["skipped_by_reason"] == {"duplicate url": 1}


def test_folder_and_glob_same_graph(tmp_path):
    (tmp_path / "in").mkdir()
    write_crawl(tmp_path / "in" / "one.warc.gz")
    write_crawl(tmp_path / "in" / "two.warc", gz=False)
    i1 = build_web(tmp_path / "in", tmp_path / "w1", progress=False)
    i2 = build_web(str(tmp_path / "in" / "*.warc*"), tmp_path / "w2", progress=False)
    assert i1["import"]["imported"] == i2["import"]["imported"] == 4
    assert i1["import"]["skipped_by_reason"]["duplicate url"] == 6  # the second file repeats every page
    assert i1["degree_stats"]["links"] == i2["degree_stats"]["links"] == 4


def test_truncated_archive(tmp_path, crawl):
    data = crawl.read_bytes()
    bad = tmp_path / "bad" / "cut.warc.gz"
    bad.parent.mkdir()
    bad.write_bytes(data[: int(len(data) * 0.6)])
    with pytest.raises(InputError, match=r"cut\.warc\.gz: truncated record at byte offset \d+"):
        build_web(bad, tmp_path / "w", progress=False)
    info = build_web(bad, tmp_path / "w2", progress=False, skip_bad=True)
    reasons = info["import"]["skipped_by_reason"]
    assert sum(v for k, v in reasons.items() if k.startswith("truncated record")) == 1
    assert 1 <= info["import"]["imported"] < 4
    par = build_web(bad, tmp_path / "w3", progress=False, skip_bad=True, workers=2, parts=3)
    for key in ("read", "skipped", "skipped_by_reason", "imported"):
        assert par["import"][key] == info["import"][key], key


def test_corrupt_gzip(tmp_path, crawl):
    data = bytearray(crawl.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 64] = b"A" * 64
    bad = tmp_path / "bad.warc.gz"
    bad.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"bad\.warc\.gz: corrupt data after byte offset \d+"):
        build_web(bad, tmp_path / "w", progress=False)
    info = build_web(bad, tmp_path / "w2", progress=False, skip_bad=True)
    assert info["import"]["skipped"] >= 1 and info["import"]["imported"] >= 1


def test_not_a_warc(tmp_path):
    bad = tmp_path / "junk.warc.gz"
    bad.write_bytes(gzip.compress(b"this is not a WARC file at all\n" * 10))
    with pytest.raises(Exception) as exc:
        build_web(bad, tmp_path / "w", progress=False)
    assert "junk.warc.gz" in str(exc.value)


def test_wet_pages_get_title_mention_links(tmp_path):
    path = tmp_path / "crawl.warc.wet.gz"
    texts = {
        "http://example.com/river": "Danube River\nThe Danube River flows through Vienna and Budapest.",
        "http://example.com/vienna": "Vienna\nVienna is the capital of Austria, on the Danube River.",
        "http://example.com/budapest": "Budapest\nBudapest lies on the Danube River; trains go to Vienna.",
    }
    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=True)
        for url, text in texts.items():
            w.write_record(
                w.create_warc_record(
                    url, "conversion", payload=io.BytesIO(text.encode()), warc_content_type="text/plain"
                )
            )
    info = build_web(path, tmp_path / "web", progress=False)
    assert info["import"]["imported"] == 3 and info["import"]["links"] == 0
    assert info["links"]["derived"]["method"] == "title-mentions"
    with WebGraph(tmp_path / "web", readonly=True) as g:
        assert g.get("http://example.com/vienna").title == "Vienna"
        assert {lk.dst for lk in g.out_links("http://example.com/budapest")} == {
            "http://example.com/river",
            "http://example.com/vienna",
        }


@pytest.mark.parametrize("gz", [True, False])
def test_every_cut_point_is_reported(tmp_path, gz):
    """Wherever the file is cut (inside a header, a payload, between gzip members), the import stops with
    the file and an offset, never silently short."""
    src = write_crawl(tmp_path / ("full.warc.gz" if gz else "full.warc"), gz=gz)
    data = src.read_bytes()
    bad = tmp_path / ("cut.warc.gz" if gz else "cut.warc")
    for frac in (0.05, 0.2, 0.33, 0.5, 0.61, 0.77, 0.9, 0.99):
        bad.write_bytes(data[: int(len(data) * frac)])
        imp = get_importer(bad)
        with pytest.raises(InputError, match=r"cut\.warc(\.gz)?: .*byte offset \d+"):
            _collect(imp)
    imp = get_importer(src)
    _collect(imp)
    assert imp.stats.read == 9


def test_cli_one_line_errors_and_skip_bad(tmp_path, crawl, capsys):
    from openseeker.cli.main import main

    data = crawl.read_bytes()
    bad = tmp_path / "cut.warc.gz"
    bad.write_bytes(data[: int(len(data) * 0.6)])
    assert main(["web", "build", "--source", str(bad), "--out", str(tmp_path / "w"), "--no-progress"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "Traceback" not in err and "cut.warc.gz: truncated record at byte offset" in err and "--skip-bad" in err
    args = ["web", "build", "--source", str(bad), "--out", str(tmp_path / "w1"), "--no-progress", "--workers", "2"]
    for _ in range(2):  # with workers too: the same one line, and no advice to re-run (it would fail again)
        assert main(args) == 2
        err = " ".join(capsys.readouterr().err.split())
        assert "truncated record at byte offset" in err and "--skip-bad" in err and "re-run" not in err
    assert (
        main(
            [
                "web",
                "build",
                "--source",
                str(bad),
                "--out",
                str(tmp_path / "w2"),
                "--no-progress",
                "--skip-bad",
                "--workers",
                "2",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "truncated record at byte offset" in out and "parsed in 2 parts by 2 local workers" in out
