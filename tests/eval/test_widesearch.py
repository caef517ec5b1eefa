"""WideSearch table evaluation on the 200 real tasks (shared data): gold-as-answer agrees with the official
evaluator task for task, degraded answers score as its rules say, and the judge role takes the LLM steps."""

from __future__ import annotations

import asyncio
import csv
import json

import pytest

from openseeker.eval.loaders import load_benchmark
from openseeker.eval.widesearch import evaluate_table, read_gold, table_to_markdown
from openseeker.testing.fakes import FakeLLM
from openseeker.testing.shared import requires_shared

# Gold-as-answer (every gold CSV rendered as one fenced markdown table, newlines in cells -> spaces, "|" -> "\\|"):
# the official evaluator (ByteDance-Seed/WideSearch, run unmodified, LLM steps by the offline stand-ins) gives
# success on 189/200; these 11 fail there, for the reasons docs/eval-widesearch.md lists.
OFFICIAL_GOLD_FAILURES = {
    "ws_en_001": "gold CSV has a column outside `required` -> extra column",
    "ws_en_008": "gold CSV has a column outside `required` -> extra column",
    "ws_en_070": "a cell holds a '|' -> the official parser splits it",
    "ws_zh_002": "a cell holds a '|' -> the official parser splits it",
    "ws_en_093": "a multi-line cell in an exact_match column (newline kept by norm_str)",
    "ws_zh_069": "a multi-line cell in an exact_match column (newline kept by norm_str)",
    "ws_zh_068": "multi-line cells in exact_match columns",
    "ws_zh_029": "a multi-line key cell (no alignment by the stand-in)",
    "ws_zh_088": "multi-line key cells",
    "ws_zh_006": "cells starting with '\"' are read as quoted CSV fields",
    "ws_zh_081": "cells starting with '\"' are read as quoted CSV fields",
}


def score(answer, item, llm=None):
    return asyncio.run(evaluate_table(answer, item.metadata["gold_csv"], item.metadata["evaluation"], llm))


def raw_gold(item):
    with open(item.metadata["gold_csv"], encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


@pytest.fixture(scope="module")
def tasks():
    return {it.id: it for it in load_benchmark("widesearch")}


@requires_shared
def test_gold_as_answer_agrees_with_the_official_evaluator(tasks):
    assert len(tasks) == 200
    failed = set()
    for it in tasks.values():
        r = score("Here is the table:\n" + table_to_markdown(*raw_gold(it)), it)
        if not r["success"]:
            failed.add(it.id)
    assert failed == set(OFFICIAL_GOLD_FAILURES)


@requires_shared
def test_degraded_answer(tasks):
    it = tasks["ws_en_017"]
    ev = it.metadata["evaluation"]
    header, rows = read_gold(it.metadata["gold_csv"], ev["required"])
    n_cols = len(ev["required"])
    gpa = ev["required"].index("2023visitorsnumber(million)")
    assert ev["eval_pipeline"]["2023visitorsnumber(million)"]["metric"] == ["number_near"]
    kept = [list(r) for r in rows[5:]]
    kept[0][gpa] = "999"  # one wrong number
    kept.append(kept[1])  # a duplicated row is dropped before matching
    r = score(table_to_markdown(header, kept), it)
    n_pred = len(rows) - 5
    assert r["pred_rows"] == n_pred and r["matched_rows"] == n_pred
    assert r["item_precision"] == pytest.approx((n_pred * n_cols - 1) / (n_pred * n_cols))
    assert r["item_recall"] == pytest.approx((n_pred * n_cols - 1) / (len(rows) * n_cols))
    assert r["row_recall"] == pytest.approx((n_pred - 1) / len(rows))
    assert 0 < r["row_f1"] < r["item_f1"] < 1 and r["success"] is False
    # an extra column scores 0, however good the rest
    r2 = score(table_to_markdown(header + ["Notes"], [row + ["-"] for row in rows]), it)
    assert r2["item_f1"] == 0 and r2["extra_columns"] == ["notes"]
    assert score("I could not find it.", it)["parsed"] is False


@requires_shared
def test_llm_steps_use_the_judge_role(tasks):
    it = tasks["ws_en_017"]
    ev = it.metadata["evaluation"]
    header, rows = read_gold(it.metadata["gold_csv"], ev["required"])
    kinds = []

    def fn(messages, kwargs):
        content = messages[0]["content"]
        if content.startswith("Align two vocabularies"):
            kinds.append("align")
            values = json.loads(content.split("[to align]: ", 1)[1].split("\n\n[reference]", 1)[0])
            return json.dumps({"pairs": [{"origin": v, "transform": v} for v in values]})
        kinds.append("cells")
        n = content.count("[response]:")
        return json.dumps({"results": [False] * n})  # the judge rejects every llm_judge cell

    r = score(table_to_markdown(header, rows), it, FakeLLM(fn))
    judged = [
        c
        for c in ev["required"]
        if ev["eval_pipeline"][c]["metric"] == ["llm_judge"] and c not in ev["unique_columns"]
    ]
    assert judged and r["llm_judged_columns"] == judged and r["offline_judged_columns"] == []
    assert r["llm_aligned"] and "align" in kinds and "cells" in kinds
    assert r["item_f1"] < 1.0 and r["success"] is False
