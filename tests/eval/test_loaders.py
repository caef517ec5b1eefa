"""Loaders on the real files under ../shared/data/benchmarks (skipped when absent) + decryption error paths.

No decrypted text is written anywhere: assertions are on counts, structure and cross-file agreement.
"""

from __future__ import annotations

import csv
import json
import unicodedata

import pytest

from openseeker.errors import InputError, UserError
from openseeker.eval.crypto import decrypt, encrypt
from openseeker.eval.loaders import get_spec, iter_benchmark, load_benchmark, select
from openseeker.records import EvalItem
from openseeker.testing.shared import SHARED_DATA, requires_shared

B = SHARED_DATA / "benchmarks"
pytestmark = []


def _cjk_ratio(text: str) -> float:
    chars = [c for c in text if not c.isspace()]
    return sum(1 for c in chars if "\u4e00" <= c <= "\u9fff") / max(1, len(chars))


def _plausible(text: str) -> bool:
    return bool(text.strip()) and not any(unicodedata.category(c) == "Cc" and c not in "\t\n\r" for c in text)


@requires_shared
@pytest.mark.parametrize(
    "name,path,count",
    [
        ("browsecomp-zh", "browsecomp-zh/data/browsecomp-zh-encrypted.xlsx", 289),
        ("browsecomp-zh-revised", "browsecomp-zh/revised/data/browsecomp-zh-encrypted.csv", 289),
        ("xbench-2505", "xbench/data/DeepSearch-2505.csv", 100),
        ("xbench-2510", "xbench/data/DeepSearch-2510.csv", 100),
        ("widesearch", "widesearch/widesearch.jsonl", 200),
        ("gaia", "gaia/webthinker/GAIA/dev.json", 103),
        ("hle", "hle/webthinker/HLE/test.json", 500),
        ("frames", "frames/opendeepsearch/evals/datasets/frames_test_set.csv", 824),
        ("frames", "frames/skillorchestra/data/frames.jsonl", 824),
        ("simpleqa", "simpleqa/opendeepsearch/evals/datasets/simple_qa_test_set.csv", 4326),
        ("webwalkerqa", "webwalkerqa/webthinker/WebWalkerQA/test.json", 680),
        ("fanoutqa", "fanoutqa/fanout-final-dev.json", 310),
        ("gisa", "gisa/encrypted_question.jsonl", 373),
        ("browsecomp", "browsecomp/_fixture_reconstructed_2rows.csv", 2),
    ],
)
def test_exact_counts_and_fields(name, path, count):
    items = load_benchmark(name, B / path)
    assert len(items) == count
    assert len({it.id for it in items}) == count  # ids unique
    for it in items:
        assert isinstance(it, EvalItem) and _plausible(it.question)
        if name != "widesearch":
            assert it.answers and all(isinstance(a, str) and a.strip() for a in it.answers)


@requires_shared
@pytest.mark.parametrize("name", ["browsecomp-zh", "browsecomp-zh-revised", "xbench-2505", "xbench-2510"])
def test_chinese_benchmarks_decrypt_to_chinese(name):
    items = load_benchmark(name)
    ratios = sorted(_cjk_ratio(it.question) for it in items)
    assert ratios[len(ratios) // 2] > 0.5  # the median question is mostly Chinese characters
    assert all(it.language == "zh" for it in items)


@requires_shared
def test_browsecomp_fixture_is_english():
    items = load_benchmark("browsecomp", B / "browsecomp/_fixture_reconstructed_2rows.csv")
    for it in items:
        assert it.question.isascii() or _cjk_ratio(it.question) == 0
        assert len(it.question.split()) > 15 and it.metadata["category"]


@requires_shared
def test_bczh_original_and_revised_agree():
    orig = load_benchmark("browsecomp-zh")
    rev = load_benchmark("browsecomp-zh-revised")
    by_q = {it.question.strip(): it for it in orig}
    matched = [(by_q[r.question.strip()], r) for r in rev if r.question.strip() in by_q]
    assert len(matched) >= 270  # same questions (a few differ in whitespace/punctuation)
    same_original = sum(o.answers[0] == r.metadata["original_answer"] for o, r in matched)
    assert same_original >= 0.95 * len(matched)  # raw_answer of the revised file == the original answer
    revised = [r for r in rev if r.metadata["answer_revised"]]
    assert len(revised) == 24  # README: 24 answers corrected
    changed = sum(r.answers[0] != r.metadata["original_answer"] for r in revised)
    assert changed >= 20
    assert sum(bool(r.metadata["revision_tag"]) for r in revised) == len(revised)  # each revision says why
    assert sum(bool(r.metadata["revision_reason"]) for r in revised) == len(revised)  # ...and explains it
    assert all(o.metadata["category"] for o, _ in matched)  # the original carries the topic


@requires_shared
def test_widesearch_metadata():
    items = load_benchmark("widesearch")
    assert sum(it.language == "en" for it in items) == 100
    for it in items[:20]:
        ev = it.metadata["evaluation"]
        assert set(ev) >= {"unique_columns", "required", "eval_pipeline"}
        assert (B / "widesearch/widesearch_gold" / f"{it.id}.csv").exists()


@requires_shared
def test_hle_and_gaia_categories():
    hle = load_benchmark("hle")
    assert {it.metadata["answer_type"] for it in hle} == {"exactMatch", "multipleChoice"}
    gaia_orig = load_benchmark("gaia", B / "gaia/2023/validation/metadata.jsonl")
    assert 100 <= len(gaia_orig) < 165  # rows with attachments dropped


@requires_shared
def test_multihop_loaders_and_pages():
    from openseeker.eval.loaders.multihop import multihop_pages

    mus = load_benchmark("musique")
    assert len(mus) == 100 and all(it.metadata["supporting_urls"] for it in mus)
    pages = multihop_pages(SHARED_DATA / "corpora/multihop-samples/data/musique_train.json", "musique")
    urls = {p.url for p in pages}
    assert len(pages) == len(urls) > 1000
    assert all(u in urls for it in mus for u in it.metadata["supporting_urls"])
    hp = load_benchmark("hotpotqa")
    assert len(hp) == 100
    assert len(multihop_pages(SHARED_DATA / "corpora/multihop-samples/data/hotpotqa_train.json", "hotpotqa")) > 500


# ------------------------------------------------------------------ errors (constructed files, ciphertext only)


def _write_bc_csv(path, rows):
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["problem", "answer", "problem_topic", "canary"])
        w.writerows(rows)


def test_roundtrip_and_wrong_canary(tmp_path):
    canary = "BENCHMARK DATA SHOULD NEVER APPEAR AS PLAIN TEXT ONLINE. canary GUID test:123"
    q = "Which synthetic test question is this, used only to exercise the loader?"
    assert decrypt(encrypt(q, canary), canary) == q
    assert decrypt(encrypt("答案", "k", "raw"), "k", "raw") == "答案"
    f = tmp_path / "bc.csv"
    _write_bc_csv(
        f,
        [
            [encrypt(q, canary), encrypt("42", canary), "Test", canary],
            [encrypt(q, canary), encrypt("43", canary), "Test", "a different canary that is wrong"],
        ],
    )
    with pytest.raises(InputError) as exc:
        load_benchmark("browsecomp", f)
    assert "row 2" in str(exc.value) and str(f) in str(exc.value)


def test_corrupted_row_named(tmp_path):
    canary = "canary-x"
    f = tmp_path / "bc.csv"
    _write_bc_csv(
        f,
        [
            [encrypt("first question text", canary), encrypt("a", canary), "T", canary],
            [encrypt("second question text", canary), encrypt("b", canary), "T", canary],
            ["%%%not-base64%%%", encrypt("c", canary), "T", canary],
        ],
    )
    with pytest.raises(InputError, match=r"row 3: field 'problem': not valid base64"):
        load_benchmark("browsecomp", f)


@requires_shared
def test_real_rows_with_wrong_canary(tmp_path):
    src = B / "xbench/data/DeepSearch-2505.csv"
    rows = list(csv.DictReader(src.open(encoding="utf-8")))
    rows[4]["canary"] = "not the xbench canary"
    f = tmp_path / "DeepSearch-2505.csv"
    with f.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    with pytest.raises(InputError, match=r"row 5"):
        load_benchmark("xbench-2505", f)
    # a truncated ciphertext in the BrowseComp fixture
    bc = list(csv.reader((B / "browsecomp/_fixture_reconstructed_2rows.csv").open(encoding="utf-8")))
    bc[2][0] = bc[2][0][:-7]
    g = tmp_path / "bc.csv"
    with g.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(bc)
    with pytest.raises(InputError, match=r"row 2"):
        load_benchmark("browsecomp", g)


def test_registry_did_you_mean_and_subsets(tmp_path):
    with pytest.raises(UserError, match="Did you mean 'browsecomp-zh'"):
        get_spec("browsecom-zh")
    assert get_spec("bczh").name == "browsecomp-zh"
    items = [EvalItem(id=str(i), question=f"q{i}", answers=["a"]) for i in range(50)]
    a = select(items, sample=10, seed=3)
    assert [x.id for x in a] == [x.id for x in select(items, sample=10, seed=3)]  # deterministic
    assert [x.id for x in a] != [x.id for x in select(items, sample=10, seed=4)]
    assert len(select(items, sample=10, seed=3, limit=4)) == 4
    assert [x.id for x in select(items, limit=3)] == ["0", "1", "2"]


def test_synth_loader(tmp_path):
    from openseeker.records import QASample, Rejection

    f = tmp_path / "qa.jsonl"
    rows = [
        QASample(id="q1", question="Who?", answer="Me", language="en", difficulty="hard"),
        Rejection(id="q2", stage="verify", reason="too easy"),
        QASample(id="q3", question="谁?", answer="我", language="zh"),
    ]
    f.write_text("\n".join(r.model_dump_json() for r in rows) + "\n", encoding="utf-8")
    items = list(iter_benchmark("synth", f))
    assert [(i.id, i.answers, i.language) for i in items] == [("q1", ["Me"], "en"), ("q3", ["我"], "zh")]
    f.write_text(json.dumps({"id": "x", "question": "q"}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=":1:"):
        list(iter_benchmark("synth", f))
