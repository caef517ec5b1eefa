"""The typed records at stage boundaries: trajectory labels, eval results, questions, stop reasons."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from openseeker.records import EvalResult, Question, Trajectory, TrajectoryLabels, Usage


def test_labels_read_the_metadata_keys_synthesis_writes():
    t = Trajectory(
        id="a",
        question="q",
        metadata={"teacher": "reference-replay", "correct": True, "verdict": {"correct": True, "em": 1.0}},
    )
    assert t.labels == TrajectoryLabels(teacher="reference-replay", correct=True, verdict={"correct": True, "em": 1.0})
    bare = Trajectory(id="b", question="q", metadata={"correct": "yes"})
    assert bare.labels.teacher == "llm" and bare.labels.correct is None and bare.labels.verdict is None


def test_eval_result_row_keeps_the_on_disk_shape():
    r = EvalResult(
        key="x#0",
        id="x",
        run=0,
        question="q?",
        gold=["a"],
        answer="a",
        verdict={"correct": True},
        correct=True,
        score=1.0,
    )
    row = r.as_row()
    assert list(row)[:5] == ["kind", "schema_version", "key", "id", "run"]
    assert row["kind"] == "eval_result" and row["schema_version"] == 1 and "widesearch" not in row
    assert list(row)[-3:] == ["verdict", "correct", "score"]
    table = EvalResult(key="x#0", id="x", run=0, question="q?", widesearch={"item_f1": 0.5}, score=0.5).as_row()
    assert table["widesearch"] == {"item_f1": 0.5} and table["verdict"] is None
    assert json.loads(json.dumps(row)) == row


def test_question_and_stop_reason_are_checked():
    assert Question(id="1", question="Who?").kind == "question"
    with pytest.raises(ValidationError):
        Trajectory(id="a", question="q", stop_reason="gave_up")


def test_trajectory_usage_is_typed_and_old_files_read_unchanged():
    # a line written before Usage was typed: role -> {prompt_tokens, completion_tokens, calls, latency_s}
    old = (
        '{"kind": "trajectory", "schema_version": 1, "id": "a", "question": "q", "usage": {"student": '
        '{"prompt_tokens": 120, "completion_tokens": 30, "calls": 2, "latency_s": 0.5}, "extractor": '
        '{"prompt_tokens": 40, "completion_tokens": 10, "calls": 1, "latency_s": 0.1}}}'
    )
    t = Trajectory.model_validate_json(old)
    assert isinstance(t.usage["student"], Usage)
    assert t.usage["student"].total_tokens == 150 and t.usage["extractor"].calls == 1
    # written back in the same shape (no kind/schema_version inside each role)
    assert json.loads(t.to_json())["usage"] == json.loads(old)["usage"]
    assert t.model_dump()["usage"]["student"] == {
        "prompt_tokens": 120,
        "completion_tokens": 30,
        "calls": 2,
        "latency_s": 0.5,
    }
    assert Trajectory(id="b", question="q").usage == {}


def test_batch_and_eval_token_counts_read_typed_usage():
    # eval's token count skipped every role that was not a plain dict: with typed usage it fell back to the
    # steps and missed the extractor's tokens
    from openseeker.agent.batch import trajectory_stats
    from openseeker.eval.stage import _tokens

    t = Trajectory(
        id="a",
        question="q",
        usage={
            "student": Usage(prompt_tokens=100, completion_tokens=20),
            "extractor": Usage(prompt_tokens=50, completion_tokens=5),
        },
    )
    assert _tokens(t) == {"prompt": 150, "completion": 25, "total": 175}
    stats = trajectory_stats(t)
    assert stats["prompt_tokens"] == 150 and stats["completion_tokens"] == 25
