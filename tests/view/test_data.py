"""The viewer's data layer on real pipeline outputs: discovery, the line-offset index, paged rows with filters
and search, items, the yield funnel, eval summaries and comparison, errors located by file and line."""

from __future__ import annotations

import json

import pytest

from openseeker.errors import InputError, UserError
from openseeker.io import read_jsonl
from openseeker.view.data import Catalog
from openseeker.view.index import LineIndex


def ds_of(cat: Catalog, kind: str, name: str | None = None):
    return next(d for d in cat.datasets.values() if d.kind == kind and (name is None or d.source.name == name))


def test_run_folder_finds_every_output(run_dir):
    cat = Catalog.open([run_dir])
    kinds = sorted((d.kind, d.source.name) for d in cat.datasets.values())
    assert ("qa", "qa.jsonl") in kinds and ("rejected", "qa.rejected.jsonl") in kinds
    assert ("traj", "trajectories.teacher.jsonl") in kinds and ("traj", "trajectories.reference.jsonl") in kinds
    assert ("sft", "sft/messages.jsonl") in kinds and ("eval", "eval") in kinds and ("eval", "eval-b") in kinds
    assert ("traj", "eval/trajectories.jsonl") in kinds
    assert cat.found.web == run_dir / "web"
    assert any("ShareGPT" in s for s in cat.found.skipped)
    counts = cat.warm()
    assert counts["qa.jsonl"] == len(read_jsonl(run_dir / "qa.jsonl"))


def test_qa_rows_filters_search_and_item(run_dir):
    cat = Catalog.open([run_dir])
    qa = ds_of(cat, "qa")
    rows = read_jsonl(run_dir / "qa.jsonl")
    page = qa.rows(limit=2)
    assert page["total"] == len(rows) and [r["id"] for r in page["rows"]] == [r["id"] for r in rows[:2]]
    assert qa.rows(offset=2, limit=2)["rows"][0]["id"] == rows[2]["id"]
    assert qa.rows(filters={"language": "zz"})["total"] == 0
    hops = str(len(rows[0]["chain"]))
    assert qa.rows(filters={"hops": hops})["total"] == sum(1 for r in rows if str(len(r["chain"])) == hops)
    needle = rows[1]["answer"].upper()
    assert rows[1]["id"] in [r["id"] for r in qa.rows(q=needle)["rows"]]
    it = qa.item(1)
    assert it["record"] == rows[1] and it["line"] == 2
    assert rows[1]["subgraph"]["urls"][0] in it["pages"]  # cited page text from the run's web
    assert "text" in it["pages"][rows[1]["subgraph"]["urls"][0]]
    s = qa.summary()
    assert s["facets"]["language"] == {"en": len(rows)} and s["rejected_ds"]


def test_yield_funnel_and_reasons_match_the_report(run_dir):
    cat = Catalog.open([run_dir])
    rej = ds_of(cat, "rejected")
    report = json.loads((run_dir / "qa.report.json").read_text())
    y = rej.summary()["yield"]
    assert y["candidates"] == report["candidates"] and y["accepted"] == report["accepted"]
    assert [f["stage"] for f in y["funnel"]] == [s["stage"] for s in report["stages"]]
    expected = {(s["stage"], r): n for s in report["stages"] for r, n in s["rejected"].items()}
    assert {(r["stage"], r["reason"]): r["count"] for r in y["reasons"]} == expected
    stage, reason = next(iter(expected))
    ex = rej.rows(filters={"stage": stage, "reason": reason})
    assert ex["total"] == expected[(stage, reason)] and all(r["reason"] == reason for r in ex["rows"])


def test_yield_without_report_is_computed_from_the_sidecar(run_dir, tmp_path):
    (tmp_path / "qa.jsonl").write_bytes((run_dir / "qa.jsonl").read_bytes())
    (tmp_path / "qa.rejected.jsonl").write_bytes((run_dir / "qa.rejected.jsonl").read_bytes())
    cat = Catalog.open([tmp_path])
    y = ds_of(cat, "rejected").summary()["yield"]
    n_acc, n_rej = len(read_jsonl(tmp_path / "qa.jsonl")), len(read_jsonl(tmp_path / "qa.rejected.jsonl"))
    assert y["candidates"] == n_acc + n_rej and y["funnel"][-1]["out"] == n_acc


def test_yield_of_a_run_that_accepted_nothing(run_dir, tmp_path):
    """Nothing accepted: the QA file is empty (so it is not a dataset of its own) and the page, which renders
    "{candidates} candidates → {accepted} accepted" from this JSON, must say 0 accepted, not "-" (unknown)."""
    (tmp_path / "qa.jsonl").write_text("")
    (tmp_path / "qa.rejected.jsonl").write_bytes((run_dir / "qa.rejected.jsonl").read_bytes())
    cat = Catalog.open([tmp_path])
    assert [ds.kind for ds in cat.datasets.values()] == ["rejected"]
    y = ds_of(cat, "rejected").summary()["yield"]
    assert y["accepted"] == 0 and y["candidates"] == len(read_jsonl(tmp_path / "qa.rejected.jsonl"))
    assert y["funnel"][-1]["out"] == 0


def test_trajectory_item_keeps_raw_and_summary(run_dir):
    cat = Catalog.open([run_dir / "trajectories.teacher.jsonl"])
    tr = ds_of(cat, "traj")
    raw = read_jsonl(run_dir / "trajectories.teacher.jsonl")
    t = tr.item(0)["record"]
    assert t["has_summaries"] and t["final_answer"] == raw[0]["final_answer"]
    for shown, step in zip(t["steps"], raw[0]["steps"]):
        assert shown["observations"] == step["observations"] and shown["summary"] == step["summary"]
        assert shown["prompt_tokens"] == step["usage"]["prompt_tokens"]
        assert shown["context_messages"] == len(step["context"] or [])
    assert "context" not in t["steps"][0]  # the per-step contexts repeat the history: never sent whole
    assert tr.rows(q=raw[2]["id"])["rows"][0]["id"] == raw[2]["id"]
    assert tr.find(raw[3]["id"]) == 3


def test_eval_summary_item_and_compare(run_dir):
    cat = Catalog.open([run_dir / "eval", run_dir / "eval-b"])
    a, b = (ds_of(cat, "eval", n) for n in ("eval", "eval-b"))
    report = json.loads((run_dir / "eval" / "report.json").read_text())
    s = a.summary()
    assert s["report"]["accuracy"] == report["accuracy"] and s["report"]["ci95"] == report["ci95"]
    assert sum(bin_["n"] for bin_ in s["hist_tool_calls"]) == report["n_records"]
    it = a.item(0)
    assert it["trajectory"]["id"] == it["record"]["key"] and it["traj_ds"]
    c = cat.compare(a.id, b.id)
    ra = {r["key"]: r["correct"] for r in read_jsonl(run_dir / "eval" / "results.jsonl")}
    rb = {r["key"]: r["correct"] for r in read_jsonl(run_dir / "eval-b" / "results.jsonl")}
    assert {f["key"] for f in c["flips"]} == {k for k in ra if ra[k] != rb[k]} and c["flips"]
    assert c["gained"] == sum(1 for k in ra if rb[k] and not ra[k])


def test_line_index_offsets_blank_lines_and_torn_tail(tmp_path):
    p = tmp_path / "t.jsonl"
    p.write_text('{"id": "a", "question": "q1"}\n\n{"id": "b", "question": "q\\"2"}\n{"id": "c"', encoding="utf-8")
    idx = LineIndex(p)
    assert len(idx) == 3 and list(idx.linenos) == [1, 3, 4]
    assert idx.read(1) == {"id": "b", "question": 'q"2'} and idx.head(1) == {"id": "b", "question": 'q"2'}
    with pytest.raises(InputError, match=r"t.jsonl:4: not valid JSON"):
        idx.read(2)


def test_line_index_long_lines_cross_blocks(tmp_path):
    p = tmp_path / "big.jsonl"
    rows = [{"id": f"r{i}", "blob": "x" * (700_000 * (i % 3))} for i in range(7)]
    p.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    idx = LineIndex(p)
    assert len(idx) == 7 and [idx.read(i)["id"] for i in range(7)] == [r["id"] for r in rows]


def test_malformed_line_is_shown_not_fatal(run_dir, tmp_path):
    lines = (run_dir / "qa.jsonl").read_text().splitlines()
    (tmp_path / "qa.jsonl").write_text(lines[0] + "\n{broken\n" + lines[1] + "\n")
    cat = Catalog.open([tmp_path / "qa.jsonl"])
    qa = ds_of(cat, "qa")
    rows = qa.rows()["rows"]
    assert len(rows) == 3 and rows[1]["bad"] and "line 2" in rows[1]["id"]
    assert qa.summary()["bad_lines"][0].startswith(str(tmp_path / "qa.jsonl") + ":2:")
    with pytest.raises(InputError, match=r"qa.jsonl:2:"):
        qa.item(1)


def test_a_yield_report_opens_its_qa_file(run_dir):
    cat = Catalog.open([run_dir / "qa.report.json"])
    assert sorted(d.kind for d in cat.datasets.values()) == ["qa", "rejected"]


def test_bad_paths_are_clear_errors(run_dir, tmp_path):
    with pytest.raises(UserError, match="no such file"):
        Catalog.open([tmp_path / "nope"])
    (tmp_path / "x.jsonl").write_text('{"kind": "page", "url": "u"}\n')
    with pytest.raises(UserError, match=r"x.jsonl:1: not a pipeline output"):
        Catalog.open([tmp_path / "x.jsonl"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no pipeline output found"):
        Catalog.open([tmp_path / "empty"])
    with pytest.raises(UserError, match="not a local web"):
        Catalog.open([run_dir / "qa.jsonl"], web=tmp_path)


def test_background_index_serves_pages_meanwhile(run_dir):
    import time

    cat = Catalog.open([run_dir / "qa.jsonl"])
    qa = ds_of(cat, "qa")
    counts = cat.warm(background=True)
    assert counts["qa.jsonl"] == len(qa.index)
    first = qa.rows(limit=2)  # answered whether or not the background parse has finished
    assert first["total"] == len(qa.index) and len(first["rows"]) == 2
    deadline = time.monotonic() + 30
    while qa.indexing and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not qa.indexing and qa.summary()["facets"]["language"]
    assert qa.rows(limit=2)["rows"] == first["rows"]  # the same rows either way


def test_static_export_chunks_and_malformed_lines(run_dir, tmp_path):
    from openseeker.view.export import export_site

    lines = (run_dir / "qa.jsonl").read_text().splitlines()
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "qa.jsonl").write_text(lines[0] + "\n{broken\n" + "\n".join(lines[1:]) + "\n")
    cat = Catalog.open([tmp_path / "in" / "qa.jsonl"])
    info = export_site(cat, tmp_path / "site", progress=False)
    ds = ds_of(cat, "qa")

    def load(key: str):
        text = (tmp_path / "site" / "data" / f"{key}.js").read_text()
        prefix = f"OSV.put({json.dumps(key)},"
        assert text.startswith(prefix) and text.rstrip().endswith(");")
        return json.loads(text[len(prefix) :].rstrip().rstrip(";")[:-1])

    manifest = load("manifest")
    entry = manifest["datasets"][0]
    assert entry["count"] == len(lines) + 1 == info["datasets"]["qa.jsonl"]
    items = load(f"{ds.id}/items-0")
    assert items[0]["record"]["id"] == json.loads(lines[0])["id"] and "qa.jsonl:2:" in items[1]["error"]
    rows = load(f"{ds.id}/rows-0")
    assert rows[1]["bad"] and [r["i"] for r in rows] == list(range(len(lines) + 1))


def test_histogram_bins():
    from openseeker.view.data import histogram

    assert histogram([]) == []
    assert histogram([1, 2, 2, 3]) == [
        {"lo": 1, "hi": 1, "n": 1},
        {"lo": 2, "hi": 2, "n": 2},
        {"lo": 3, "hi": 3, "n": 1},
    ]
    wide = histogram(list(range(100)), bins=10)
    assert len(wide) == 10 and all(b["n"] == 10 for b in wide) and wide[-1]["hi"] == 99


def test_run_with_nothing_accepted_still_shows_the_funnel(run_dir, tmp_path):
    """The embedded demo often accepts nothing: qa.jsonl is empty, the rejections and the report are the story."""
    (tmp_path / "qa.jsonl").write_text("")
    (tmp_path / "qa.rejected.jsonl").write_bytes((run_dir / "qa.rejected.jsonl").read_bytes())
    report = json.loads((run_dir / "qa.report.json").read_text())
    (tmp_path / "qa.report.json").write_text(json.dumps(report))
    cat = Catalog.open([tmp_path])
    assert [d.kind for d in cat.datasets.values()] == ["rejected"]
    assert "qa.jsonl: empty" in cat.found.skipped
    y = ds_of(cat, "rejected").summary()["yield"]
    assert y["candidates"] == report["candidates"] and y["funnel"][0]["in"] == report["candidates"]
