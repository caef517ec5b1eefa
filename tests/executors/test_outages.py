"""Infrastructure failures are not results (issue 24, item 6): a judge or summarizer outage is recorded as a
failure, the next run does again only what failed (the judgement, not the rollout, when the rollout is fine), and
the final numbers equal those of a run without the outage."""

from __future__ import annotations

import json

import pytest
from exec_helpers import Switchboard, jsonl_ids, llm_config_file, qa_file

from openseeker.cli.main import main
from openseeker.records import Trajectory
from openseeker.synth.traj.filters import Gates, apply_gates
from openseeker.testing.chat_server import ScriptedChatServer

N = 8


@pytest.fixture
def board(monkeypatch):
    monkeypatch.setenv("OPENSEEKER_NO_CACHE", "1")
    sb = Switchboard()
    with ScriptedChatServer(sb) as srv:
        sb.base_url = srv.base_url
        yield sb


def test_eval_judge_outage_then_rerun_equals_a_run_without_it(tiny_web, board, tmp_path, capsys):
    """Before: a judge 500 was written as correct=None, the re-run did not judge it again, and the report counted
    it wrong (0 % here, where the truth is 100 %)."""
    qa = qa_file(tmp_path / "qa.jsonl", N)
    config = llm_config_file(tmp_path / "llm.yaml", board.base_url)
    out = tmp_path / "eval"
    args = ["eval", "run", "--benchmark", "synth", "--path", str(qa), "--web", str(tiny_web), "--out", str(out),
            "--config", str(config), "--no-progress"]  # fmt: skip
    board.judge_down = True
    assert main(args) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert f"{N} question-run(s) not graded" in err and "nothing is graded yet" in err
    assert not jsonl_ids(out / "results.jsonl", "key")  # an outage is not a grade
    assert len(jsonl_ids(out / "trajectories.jsonl")) == N  # the answers are kept
    assert len(jsonl_ids(out / "failed.jsonl", "key")) == N
    board.judge_down = False
    assert main(args) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["accuracy"] == 1.0 and report["n_records"] == N and report["not_graded"] == 0
    assert set(board.answers.values()) == {1}  # the agent ran once per question: only the judgement was redone
    assert not (out / "failed.jsonl").exists()


def test_eval_report_names_what_is_not_graded_yet(tiny_web, board, tmp_path, capsys):
    qa = qa_file(tmp_path / "qa.jsonl", N)
    config = llm_config_file(tmp_path / "llm.yaml", board.base_url)
    out = tmp_path / "eval"
    board.fail = {2, 5}  # the agent's endpoint fails on two questions
    args = ["eval", "run", "--benchmark", "synth", "--path", str(qa), "--web", str(tiny_web), "--out", str(out),
            "--config", str(config), "--no-progress"]  # fmt: skip
    assert main(args) == 1
    report = json.loads((out / "report.json").read_text())
    assert report["accuracy"] == 1.0 and report["n_records"] == N - 2 and report["not_graded"] == 2
    assert "Not graded yet: 2 question-run(s)" in (out / "report.md").read_text()


def traj_args(web, qa, out, config):
    return ["synth", "traj", "--web", str(web), "--qa", str(qa), "--out", str(out), "--config", str(config),
            "--no-progress"]  # fmt: skip


def test_synth_traj_judge_outage_labels_the_kept_rollouts_on_the_rerun(tiny_web, board, tmp_path, capsys):
    """Before: unjudged trajectories stayed correct=None and vanished from `export sft --only-correct`."""
    qa = qa_file(tmp_path / "qa.jsonl", N)
    config = llm_config_file(tmp_path / "llm.yaml", board.base_url)
    out = tmp_path / "traj.jsonl"
    board.judge_down = True
    assert main(traj_args(tiny_web, qa, out, config)) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert f"{N} item(s) not finished" in err and "judge" in err
    assert not jsonl_ids(out)  # no unlabelled trajectory among the results
    assert len(jsonl_ids(tmp_path / "traj.jsonl.unlabelled.jsonl")) == N
    board.judge_down = False
    assert main(traj_args(tiny_web, qa, out, config)) == 0
    trajs = [Trajectory.model_validate_json(line) for line in out.read_text().splitlines()]
    assert len(trajs) == N and all(t.labels.correct is True for t in trajs)
    assert all(apply_gates(t, Gates(only_correct=True))[0] for t in trajs)  # export sft --only-correct keeps them
    assert set(board.answers.values()) == {1}  # labelled again, not rolled out again
    assert not (tmp_path / "traj.jsonl.unlabelled.jsonl").exists()
    assert not (tmp_path / "traj.jsonl.failed.jsonl").exists()


def test_synth_traj_summarizer_outage_is_not_a_result(tiny_web, board, tmp_path, capsys):
    """A rollout built on fallback summaries (the summarizer down) is done again, not kept."""
    qa = qa_file(tmp_path / "qa.jsonl", N)
    config = llm_config_file(tmp_path / "llm.yaml", board.base_url)
    out = tmp_path / "traj.jsonl"
    board.summarizer_down = True
    assert main(traj_args(tiny_web, qa, out, config)) == 1
    assert "summarizer" in " ".join(capsys.readouterr().err.split())
    assert not jsonl_ids(out)
    board.summarizer_down = False
    assert main(traj_args(tiny_web, qa, out, config)) == 0
    trajs = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(trajs) == N
    assert all(s["status"] == "ok" for t in trajs for s in t["metadata"]["summaries"])
    assert all(t["metadata"]["summaries"] for t in trajs)  # the summarizer did run
