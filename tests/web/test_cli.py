"""`openseeker web ...` through the real CLI entry point: outputs, exit codes, one-line errors."""

from __future__ import annotations

import bz2
import json

import pytest

from openseeker.cli.main import main

ROWS = [
    {"title": "Ray Charles", "text": "Ray Charles was an American singer and pianist, a pioneer of soul music."},
    {"title": "Soul music", "text": "Soul music is a popular music genre; Ray Charles helped create it."},
    {"title": "Georgia on My Mind", "text": "Georgia on My Mind is a song recorded by Ray Charles in 1960."},
]


def _jsonl(path, rows=ROWS, extra_lines=()):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "".join(x + "\n" for x in extra_lines))
    return path


@pytest.fixture
def built(tmp_path, capsys):
    src = _jsonl(tmp_path / "c.jsonl")
    out = tmp_path / "web"
    assert main(["web", "build", "--source", str(src), "--out", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    return out


def _err_line(capsys) -> str:
    """The error message (from ``error:`` on; rich may wrap it on a narrow terminal, so whitespace is joined)."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return " ".join(err[err.index("error:") :].split()) if "error:" in err else ""


def test_build_prints_summary(tmp_path, capsys):
    src = _jsonl(tmp_path / "c.jsonl")
    assert main(["web", "build", "--source", str(src), "--out", str(tmp_path / "w"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "pages 3" in out and "records read 3" in out
    assert main(["web", "build", "--source", str(src), "--out", str(tmp_path / "w")]) == 0
    assert "up to date" in capsys.readouterr().out


def test_build_refuses_other_corpus(tmp_path, built, capsys):
    other = _jsonl(tmp_path / "other.jsonl", ROWS[:1])
    assert main(["web", "build", "--source", str(other), "--out", str(built)]) == 2
    err = _err_line(capsys)
    assert "refusing to mix" in err and "--force" in err and "Traceback" not in err
    assert main(["web", "build", "--source", str(other), "--out", str(built), "--force", "--no-progress"]) == 0


def test_build_malformed_jsonl_line(tmp_path, capsys):
    src = _jsonl(tmp_path / "bad.jsonl", extra_lines=["{not json", json.dumps({"title": "t"})])
    out = tmp_path / "w"
    assert main(["web", "build", "--source", str(src), "--out", str(out), "--no-progress"]) == 2
    err = _err_line(capsys)
    assert "bad.jsonl:4:" in err and "--skip-bad" in err
    assert (
        main(["web", "build", "--source", str(src), "--out", str(out), "--skip-bad", "--no-progress", "--json"]) == 0
    )
    info = json.loads(capsys.readouterr().out)
    assert info["import"]["imported"] == 3 and info["import"]["skipped"] == 2


@pytest.mark.parametrize("workers", ["1", "2"])
def test_build_a_byte_that_is_not_utf8_spoils_only_its_line(tmp_path, capsys, workers):
    """Before: one \\xff on line 1,500 of 3,000 gave 1,498 pages with --skip-bad ("skipped 1", status complete),
    and without it an error without a line number."""
    src = tmp_path / "bad.jsonl"
    lines = [json.dumps({"title": f"Page {i}", "text": f"text of page {i}"}).encode() for i in range(3000)]
    lines[1499] = lines[1499].replace(b"text of", b"text \xff of")
    src.write_bytes(b"\n".join(lines) + b"\n")
    args = ["web", "build", "--source", str(src), "--no-progress", "--workers", workers]
    assert main([*args, "--out", str(tmp_path / "w1")]) == 2
    err = _err_line(capsys)
    assert f"{src}:1500: not valid UTF-8" in err and "--skip-bad" in err
    assert main([*args, "--out", str(tmp_path / "w2"), "--skip-bad", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["import"]["imported"] == 2999 and info["import"]["skipped"] == 1


def test_build_truncated_bz2_and_missing_file(tmp_path, capsys):
    xml = (
        "<mediawiki xml:lang='en'>"
        + "".join(
            f"<page><title>P{i}</title><ns>0</ns><id>{i}</id><revision><id>1</id><text>Page {i} text [[P{i + 1}]]. "
            + " ".join(str(i * j) for j in range(40))
            + "</text></revision></page>"
            for i in range(6000)
        )
        + "</mediawiki>"
    ).encode()
    assert len(xml) > 2 * 900_000  # several bz2 blocks: the first ones decompress, the cut one does not
    data = bz2.compress(xml)
    src = tmp_path / "dump.xml.bz2"
    src.write_bytes(data[: int(len(data) * 0.8)])
    assert main(["web", "build", "--source", str(src), "--out", str(tmp_path / "w"), "--no-progress"]) == 2
    err = _err_line(capsys)
    assert "dump.xml.bz2" in err and "truncated" in err
    assert (
        main(
            [
                "web",
                "build",
                "--source",
                str(src),
                "--out",
                str(tmp_path / "w"),
                "--no-progress",
                "--skip-bad",
                "--json",
            ]
        )
        == 0
    )
    info = json.loads(capsys.readouterr().out)
    assert 0 < info["import"]["imported"] < 6000 and info["import"]["skipped"] == 1
    assert main(["web", "build", "--source", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "x")]) == 2
    assert "nope.jsonl: no such file" in _err_line(capsys)
    (tmp_path / "x.csv").write_text("a,b")
    assert main(["web", "build", "--source", str(tmp_path / "x.csv"), "--out", str(tmp_path / "x")]) == 2
    assert "unknown corpus format" in _err_line(capsys)


def test_build_limit_and_derive_flags(tmp_path, capsys):
    src = _jsonl(tmp_path / "c.jsonl")
    out = tmp_path / "w"
    assert (
        main(
            [
                "web",
                "build",
                "--source",
                str(src),
                "--out",
                str(out),
                "--limit",
                "2",
                "--no-derive-links",
                "--no-progress",
                "--json",
            ]
        )
        == 0
    )
    info = json.loads(capsys.readouterr().out)
    assert info["degree_stats"]["pages"] == 2 and info["degree_stats"]["links"] == 0
    assert info["options"] == {"derive_links": False, "limit": 2}
    # other options = another build: refused without --force
    assert main(["-q", "web", "build", "--source", str(src), "--out", str(out), "--no-progress"]) == 2
    assert "built with other options" in _err_line(capsys)


def test_stats(built, capsys):
    assert main(["web", "stats", "--web", str(built), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["pages"] == 3 and s["links"] >= 2
    assert {"mean_out_degree", "median_out_degree", "pages_no_out_links"} <= set(s)
    assert main(["web", "stats", "--web", str(built)]) == 0
    assert "pages with no out-links" in capsys.readouterr().out


def test_search_text_json_and_batch(built, tmp_path, capsys):
    assert main(["web", "search", "--web", str(built), "--top-k", "2", "soul", "genre"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("A search for 'soul genre' found")
    assert "1. [Soul music](https://local/wiki/Soul_music)" in out
    q = tmp_path / "q.jsonl"
    q.write_text(json.dumps({"query": "Georgia 1960"}) + "\n" + json.dumps({"query": "pianist"}) + "\n")
    assert main(["web", "search", "--web", str(built), "--queries", str(q), "--json", "--top-k", "1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first[0]["url"] == "https://local/wiki/Georgia_on_My_Mind"
    assert set(first[0]) == {"url", "title", "score", "snippet"}
    assert main(["web", "search", "--web", str(built), "--queries", str(q)]) == 0
    assert capsys.readouterr().out.count("\n---\n") == 1
    assert main(["web", "search", "--web", str(built)]) == 2
    assert "QUERY" in _err_line(capsys)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"q": 1}\n')
    assert main(["web", "search", "--web", str(built), "--queries", str(bad)]) == 2
    assert "bad.jsonl:1:" in _err_line(capsys)


def test_visit(built, capsys):
    assert main(["web", "visit", "--web", str(built), "https://local/wiki/Ray_Charles", "--max-chars", "10"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Page: [Ray Charles](https://local/wiki/Ray_Charles)") and "truncated" in out
    assert main(["web", "visit", "--web", str(built), "Soul music"]) == 0
    assert "popular music genre" in capsys.readouterr().out
    assert main(["web", "visit", "--web", str(built), "https://local/wiki/Nope"]) == 2
    assert "no such page" in _err_line(capsys)
    assert main(["web", "visit", "--web", str(built / "missing"), "x"]) == 2


def test_wiki_offline_build_end_to_end(tmp_path, capsys):
    """The embedded default: the real 10,033-page web (its build time is measured in benchmarks, not here)."""
    out = tmp_path / "wiki"
    assert main(["web", "build", "--source", "wiki-offline", "--out", str(out), "--no-progress", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    deg = info["degree_stats"]
    assert deg["pages"] == 10_033
    assert deg["links"] > 15_000 and 1.0 < deg["mean_out_degree"] < 10
    assert deg["pages_no_out_links"] < 0.4 * deg["pages"]
    assert main(["web", "search", "--web", str(out), "--json", "--top-k", "3", "Ray Charles soul singer"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits[0]["url"] == "https://en.wikipedia.org/wiki/Ray_Charles"
