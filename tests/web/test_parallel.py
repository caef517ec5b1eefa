"""Parallel import (``web build --workers N``): the same graph as one worker (pages, ids, links, redirects) for
every sharded importer, and a run killed mid-parse resumes without duplicates."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from openseeker.testing.shared import SHARED_DATA, requires_shared
from openseeker.web.build import build_web
from openseeker.web.importers import get_importer
from openseeker.web.parallel import part_id

from .warc_files import write_crawl


def dump(web: Path) -> dict:
    """Everything that must not depend on the number of workers."""
    con = sqlite3.connect(web / "graph.sqlite")
    out = {
        "pages": con.execute("SELECT id, url, title, text, lang, metadata FROM pages ORDER BY id").fetchall(),
        "links": con.execute("SELECT src_id, dst_id, anchor FROM links ORDER BY 1, 2").fetchall(),
        "redirects": con.execute("SELECT * FROM redirects ORDER BY 1").fetchall(),
        "url_redirects": con.execute("SELECT * FROM url_redirects ORDER BY 1").fetchall(),
    }
    con.close()
    return out


def _jsonl(tmp_path: Path, n: int = 60) -> Path:
    p = tmp_path / "c.jsonl"
    rows = [
        {
            "title": f"Page {i}",
            "text": f"Page {i} text about topic {i % 7}.",
            "links": [f"Page {(i * 7 + 3) % n}", f"Page {(i + 1) % n}"],
        }
        for i in range(n)
    ]
    rows[10] = rows[3]  # a duplicate url
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return p


def _html_dir(tmp_path: Path) -> Path:
    d = tmp_path / "site"
    d.mkdir()
    for i in range(12):
        (d / f"p{i}.html").write_text(
            f"<html><head><title>P{i}</title></head><body><p>Page number {i} of the "
            f"site, about {i % 3}.</p><a href='p{(i + 1) % 12}.html'>next</a>"
            f"<a href='p{(i * 5) % 12}.html'>jump</a></body></html>"
        )
    return d


def _mediawiki(tmp_path: Path) -> Path:
    pages = []
    for i in range(30):
        pages.append(
            f"<page><title>Article {i}</title><ns>0</ns><id>{i + 1}</id><revision><id>{100 + i}</id>"
            f"<text>'''Article {i}''' links to [[Article {(i + 1) % 30}]] and [[Article {(i * 3) % 30}|"
            f"another]].{{{{Infobox|x=[[Hidden]]}}}}</text></revision></page>"
        )
        if i % 5 == 0:
            pages.append(
                f"<page><title>Alias {i}</title><ns>0</ns><id>{1000 + i}</id><redirect title='Article "
                f"{i}'/><revision><id>{2000 + i}</id><text>#REDIRECT [[Article {i}]]</text></revision>"
                "</page>"
            )
    p = tmp_path / "dump.xml"
    p.write_text(
        '<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/" xml:lang="en">' + "".join(pages) + "</mediawiki>"
    )
    return p


def _warc(tmp_path: Path) -> Path:
    d = tmp_path / "crawl"
    d.mkdir()
    write_crawl(d / "a.warc.gz")
    write_crawl(d / "b.warc", gz=False)
    return d


def _warc_files(tmp_path: Path) -> Path:
    """More files than shards: shards take whole files."""
    d = tmp_path / "crawl-files"
    d.mkdir()
    for i in range(4):
        write_crawl(d / f"part-{i}.warc.gz")
    return d


SOURCES = {"jsonl": _jsonl, "html": _html_dir, "mediawiki": _mediawiki, "warc": _warc, "warc-files": _warc_files}


@pytest.mark.parametrize("fmt", sorted(SOURCES))
def test_same_graph_with_1_and_n_workers(tmp_path, fmt):
    src = SOURCES[fmt](tmp_path)
    one = build_web(src, tmp_path / "w1", progress=False)
    many = build_web(src, tmp_path / "w3", progress=False, workers=2, parts=3)
    assert many["import"]["parallel"]["parts"] == 3
    assert one["format"] == many["format"] == fmt.split("-")[0]
    d1, dn = dump(tmp_path / "w1"), dump(tmp_path / "w3")
    assert len(d1["pages"]) > 3 and len(d1["links"]) > 3
    assert d1 == dn
    for key in ("read", "pages", "links", "redirects", "skipped", "skipped_by_reason", "imported"):
        assert one["import"][key] == many["import"][key], key
    assert not (tmp_path / "w3" / "import-parts").exists()  # parts are removed once the build is complete


@requires_shared
def test_zim_same_graph(tmp_path):
    src = SHARED_DATA / "corpora/kiwix-raycharles/zimfile.zim"
    build_web(src, tmp_path / "w1", progress=False)
    build_web(src, tmp_path / "w2", progress=False, workers=2)
    assert dump(tmp_path / "w1") == dump(tmp_path / "w2")


def test_part_ids_cover_every_rank():
    from openseeker.executors import shard_of

    for world in (1, 2, 3, 8):
        ranks = [shard_of(part_id(p, world, world), world) for p in range(world)]
        assert ranks == list(range(world))


def test_every_importer_that_claims_sharding_partitions_its_items(tmp_path):
    """The shards of a source are disjoint and cover it (a wrong ``mine`` would duplicate or drop pages)."""
    for fmt, make in SOURCES.items():
        (tmp_path / fmt).mkdir()
        src = make(tmp_path / fmt)
        whole = list(get_importer(src))
        parts = []
        for rank in range(3):
            imp = get_importer(src).shard(rank, 3)
            parts += [(imp.seq, r) for r in imp]
        merged = [r for _, r in sorted(parts, key=lambda t: t[0])]
        assert merged == whole, fmt


def test_interrupted_parallel_import_resumes_without_duplicates(tmp_path):
    src = _jsonl(tmp_path, n=40_000)
    out = tmp_path / "web"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    cmd = [
        sys.executable,
        "-m",
        "openseeker.cli.main",
        "web",
        "build",
        "--source",
        str(src),
        "--out",
        str(out),
        "--workers",
        "2",
        "--parts",
        "4",
        "--no-progress",
    ]
    proc = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    killed_mid_parse = False
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            parts = list((out / "import-parts").glob("*/part-*.jsonl*"))
            if any(p.name.endswith(".tmp") for p in parts) and any(p.stat().st_size > 0 for p in parts):
                os.killpg(proc.pid, signal.SIGKILL)
                killed_mid_parse = True
                break
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert killed_mid_parse, "the build finished before it could be interrupted"
    info = build_web(src, out, progress=False, workers=2, parts=4)
    assert info["status"] == "complete"
    ref = build_web(src, tmp_path / "ref", progress=False)
    assert dump(out) == dump(tmp_path / "ref")
    assert info["import"]["imported"] == ref["import"]["imported"] == 39_999


def _multistream(tmp_path: Path, per_stream: int = 4) -> Path:
    """A dump laid out like the ``pages-articles-multistream`` files: a header stream, then a few pages per
    stream, the closing tag in the last one."""
    import bz2
    import re

    xml = _mediawiki(tmp_path).read_text()
    xml = xml.replace(
        'xml:lang="en">',
        'xml:lang="en"><siteinfo><base>https://xx.example.org/wiki/Main</base>'
        "<namespaces><namespace key='6'>Datei</namespace></namespaces></siteinfo>",
    )
    head, rest = xml.split("</siteinfo>", 1)
    pages = re.findall(r"<page>.*?</page>", rest, flags=re.DOTALL)
    streams = [bz2.compress((head + "</siteinfo>\n").encode())]
    for i in range(0, len(pages), per_stream):
        streams.append(bz2.compress("".join(pages[i : i + per_stream]).encode()))
    streams.append(bz2.compress(b"</mediawiki>\n"))
    p = tmp_path / "dump-multistream.xml.bz2"
    p.write_bytes(b"".join(streams))
    return p


def test_multistream_bz2_byte_ranges(tmp_path):
    src = _multistream(tmp_path)
    imp = get_importer(src).shard(1, 3)
    assert imp._stream_range() is not None  # split by byte ranges of streams, not by reading everything
    recs = list(imp)
    assert recs and all(isinstance(imp.seq, list) for _ in recs[:1])
    one = build_web(src, tmp_path / "w1", progress=False)
    many = build_web(src, tmp_path / "w3", progress=False, workers=2, parts=3)
    assert dump(tmp_path / "w1") == dump(tmp_path / "w3")
    assert one["import"]["imported"] == many["import"]["imported"] == 30
    assert dump(tmp_path / "w1")["pages"][0][1] == "https://xx.example.org/wiki/Article_0"  # siteinfo read


def test_multistream_truncated(tmp_path):
    src = _multistream(tmp_path)
    data = src.read_bytes()
    src.write_bytes(data[: len(data) - 40])
    from openseeker.errors import InputError

    with pytest.raises(InputError, match="truncated"):
        for rank in range(2):
            list(get_importer(src).shard(rank, 2))


def test_ray_executor_same_graph(tmp_path):
    """The import stage on a real local Ray cluster (started here, loopback only): the same graph."""
    ray = pytest.importorskip("ray", reason="the ray extra is not installed")
    src = _jsonl(tmp_path, n=200)
    build_web(src, tmp_path / "w1", progress=False)
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")
    try:
        info = build_web(src, tmp_path / "wr", progress=False, workers=2, executor="ray")
    finally:
        ray.shutdown()
    assert info["import"]["parallel"]["executor"] == "ray"
    assert dump(tmp_path / "w1") == dump(tmp_path / "wr")


def test_bad_input_counted_once_with_n_workers(tmp_path):
    """A truncated dump is met by every shard that reads it; it is counted once, as with one worker."""
    import bz2

    rng = __import__("random").Random(3)
    pages = "".join(
        f"<page><title>T{i}</title><ns>0</ns><id>{i + 1}</id><revision><id>{i + 9}</id><text>"
        + " ".join(f"w{rng.randrange(10**6)}" for _ in range(150))
        + f" [[T{i + 1}]]</text>"
        "</revision></page>"
        for i in range(600)
    )
    full = bz2.compress(f'<mediawiki xml:lang="en">{pages}</mediawiki>'.encode(), compresslevel=1)
    src = tmp_path / "cut.xml.bz2"
    src.write_bytes(full[: len(full) * 2 // 3])
    one = build_web(src, tmp_path / "w1", progress=False, skip_bad=True)
    many = build_web(src, tmp_path / "w3", progress=False, skip_bad=True, workers=2, parts=3)
    assert one["import"]["skipped_by_reason"] == many["import"]["skipped_by_reason"]
    assert sum(v for k, v in one["import"]["skipped_by_reason"].items() if k.startswith("truncated")) == 1
    assert dump(tmp_path / "w1") == dump(tmp_path / "w3")
