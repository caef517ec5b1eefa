"""``web stats``: languages, out-link fraction, largest component, duplicate rate and the degree plot, on a
crawl whose answers are known by construction."""

from __future__ import annotations

import json

from openseeker.cli.main import main
from openseeker.web.build import build_web
from openseeker.web.report import largest_component
from openseeker.web.store import WebGraph

from .test_importers_warc import write_crawl


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
    rows = [{"title": t, "text": f"{t} text", "links": links} for t, links in
            [("A", ["B"]), ("B", ["C"]), ("C", []), ("D", ["E"]), ("E", []), ("F", [])]]
    src = tmp_path / "c.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    build_web(src, tmp_path / "web", progress=False, derive_links=False)
    with WebGraph(tmp_path / "web", readonly=True) as g:
        assert largest_component(g) == {"components": 3, "largest": 3, "largest_fraction": 0.5}
