"""Ungraded verdicts in the report: counted by reason, and counted as wrong (default) or excluded from the
denominator (OpenSeeker's eval/eval.py) - the report says which."""

from __future__ import annotations

import json

import pytest

from openseeker.errors import UserError
from openseeker.eval.report import render_markdown, summarize, write_report


def rec(i: str, correct, ungraded=None, run: int = 0) -> dict:
    verdict = {
        "correct": correct,
        "em": bool(correct),
        "f1": float(bool(correct)),
        "judge_model": "j",
        "prompt_version": "p",
        "answer_metric": "hotpot",
        "ungraded": ungraded,
        "error": None if ungraded is None else f"judge {ungraded}",
    }
    return {
        "id": i,
        "key": f"{i}#{run}",
        "run": run,
        "benchmark": "b",
        "correct": correct,
        "verdict": verdict,
        "num_tool_calls": 2,
        "language": "en",
    }


RECORDS = [
    rec("a", True),
    rec("b", True),
    rec("c", False),
    rec("d", None, "unparseable"),
    rec("e", None, "judge_error"),
]


def test_default_counts_ungraded_as_wrong():
    r = summarize(RECORDS)
    assert r["accuracy"] == 0.4 and r["n_scored"] == 5 and r["ungraded_policy"] == "wrong"
    assert r["ungraded"] == 2 and r["ungraded_by_reason"] == {"unparseable": 1, "judge_error": 1}
    md = render_markdown(r)
    assert "ungraded 2 (judge_error 1, unparseable 1; counted as wrong)" in md
    assert "rules: hotpot" in md


def test_exclude_drops_them_from_the_denominator():
    r = summarize(RECORDS, ungraded="exclude")
    assert r["accuracy"] == round(2 / 3, 4) and r["n_scored"] == 3 and r["n_questions"] == 5
    assert r["ungraded"] == 2 and r["tool_calls"]["n"] == 5  # the other statistics keep every record
    assert "excluded from the denominator" in render_markdown(r)


def test_policy_comes_from_the_run_settings(tmp_path):
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in RECORDS), encoding="utf-8")
    (tmp_path / "config.json").write_text(json.dumps({"settings": {"benchmark": "b", "ungraded": "exclude"}}))
    assert write_report(tmp_path)["ungraded_policy"] == "exclude"
    assert write_report(tmp_path, ungraded="wrong")["accuracy"] == 0.4
    with pytest.raises(UserError):
        summarize(RECORDS, ungraded="drop")
