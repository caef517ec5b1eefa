"""The typed records at stage boundaries: trajectory labels, eval results, questions, stop reasons."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from openseeker.records import EvalResult, Question, Trajectory, TrajectoryLabels


def test_labels_read_the_metadata_keys_synthesis_writes():
    t = Trajectory(id="a", question="q", metadata={"teacher": "reference-replay", "correct": True,
                                                   "verdict": {"correct": True, "em": 1.0}})
    assert t.labels == TrajectoryLabels(teacher="reference-replay", correct=True, verdict={"correct": True, "em": 1.0})
    bare = Trajectory(id="b", question="q", metadata={"correct": "yes"})
    assert bare.labels.teacher == "llm" and bare.labels.correct is None and bare.labels.verdict is None


def test_eval_result_row_keeps_the_on_disk_shape():
    r = EvalResult(key="x#0", id="x", run=0, question="q?", gold=["a"], answer="a", verdict={"correct": True},
                   correct=True, score=1.0)
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
