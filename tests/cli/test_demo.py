"""`openseeker demo`: the pieces that do not need the embedded model (the end-to-end run is README command 1,
timed in the README). The next commands it prints must be real commands of this CLI, with real flags."""

from __future__ import annotations

import asyncio
import json
import shlex
from pathlib import Path

import pytest
import typer.main

from openseeker.cli.demo import (
    DEMO_CONFIG,
    NEXT_COMMANDS,
    REFERENCE_QUESTIONS,
    _split_heldout,
    _top_up,
    next_commands,
    reference_questions,
)
from openseeker.cli.main import build_app
from openseeker.llm.config import resolve_llm_config


def _resolve(argv: list[str]):
    """The command ``argv`` names, with its options parsed (raises a usage error on a bad name or flag)."""
    group = typer.main.get_command(build_app())
    ctx = group.make_context("openseeker", list(argv), resilient_parsing=False)
    cmd, args = group, list(argv)
    while hasattr(cmd, "resolve_command"):  # a group (typer's own click-compatible classes)
        name, sub, args = cmd.resolve_command(ctx, args)
        ctx = sub.make_context(name, list(args), parent=ctx)
        cmd = sub
    return cmd


@pytest.mark.parametrize("what,command", next_commands(Path("runs/demo"), Path("runs/demo/sft")))
def test_next_commands_are_real_commands(what, command):
    argv = shlex.split(command)
    assert argv[0] == "openseeker" and what
    assert _resolve(argv[1:]) is not None


def test_next_commands_list_is_the_extension_point():
    assert len(NEXT_COMMANDS) >= 3 and all("{out}" in c or "{sft}" in c for _, c in NEXT_COMMANDS)


def test_demo_config_is_a_valid_llm_config(tmp_path):
    path = tmp_path / "demo.yaml"
    path.write_text(DEMO_CONFIG)
    cfg = resolve_llm_config(config=path)
    assert cfg.embedded.servers * cfg.embedded.n_parallel == 8 and cfg.roles["generator"].embedded


def test_split_heldout_keeps_the_last_for_eval(tmp_path):
    qa = tmp_path / "qa.jsonl"
    qa.write_text('{"id": "a"}\n{"id": "b"}\n')
    assert _split_heldout(qa, tmp_path / "t.jsonl", tmp_path / "h.jsonl", 1) == (1, 1)
    assert (tmp_path / "h.jsonl").read_text() == '{"id": "b"}\n'
    qa.write_text('{"id": "a"}\n')  # one sample: nothing can be held out
    assert _split_heldout(qa, tmp_path / "t.jsonl", tmp_path / "h.jsonl", 1) == (1, 0)


def test_resolve_rejects_unknown_commands_and_flags():
    for argv in (["nosuch", "x"], ["train", "sft", "--data", "x", "--out", "y", "--bogus"]):
        with pytest.raises(Exception, match="No such|no such"):
            _resolve(argv)


def test_top_up_fills_only_the_empty_sets(tmp_path):
    train, held = tmp_path / "train.jsonl", tmp_path / "held.jsonl"
    train.write_text('{"id": "s1"}\n')
    held.write_text("")
    assert _top_up(train, held, n_train=1, n_heldout=0) == (0, 1)
    assert len(train.read_text().splitlines()) == 1 and len(held.read_text().splitlines()) == 1
    train.write_text("")
    held.write_text("")
    assert _top_up(train, held, n_train=0, n_heldout=0) == (2, 1)
    ids = [json.loads(x)["id"] for x in train.read_text().splitlines() + held.read_text().splitlines()]
    assert len(set(ids)) == 3 and all(i.startswith("demo-reference-") for i in ids)  # none both trained and held


def test_reference_questions_replay_over_the_wiki_offline_web(tmp_path):
    """Every hand-written question's chain pages are in the embedded corpus, and the answer is the last page."""
    from openseeker.synth.traj.pipeline import synthesize_trajectories
    from openseeker.web.build import build_web

    web = tmp_path / "web"
    build_web("wiki-offline", web, progress=False)
    qa = tmp_path / "ref.jsonl"
    qa.write_text("".join(json.dumps(r) + "\n" for r in reference_questions()))
    asyncio.run(synthesize_trajectories(qa, str(web), tmp_path / "t.jsonl", teacher="reference", progress=False))
    by_question = {t["question"]: t for t in map(json.loads, (tmp_path / "t.jsonl").read_text().splitlines())}
    assert len(by_question) == len(REFERENCE_QUESTIONS)  # written in the order they finish, not the input order
    for question, answer, chain in REFERENCE_QUESTIONS:
        t = by_question[question]
        assert t["final_answer"] == answer == chain[-1] and t["num_tool_calls"] == 2 * len(chain)
        visits = [o for s in t["steps"] for c, o in zip(s["tool_calls"], s["observations"]) if c["name"] == "visit"]
        assert len(visits) == len(chain) and all(v.startswith("Page: [") for v in visits)  # every page was found


def test_every_step_the_demo_runs_is_a_real_command_with_real_flags(tmp_path, monkeypatch):
    """The demo's own steps (not only the next commands it prints) parse with this CLI; QA synthesis gets the
    time budget and the 40-candidate cap (the steps themselves are not run here: README command 1 runs them)."""
    import openseeker.cli.demo as demo

    ran: list[list[str]] = []

    def fake_run(args, *, timings=None, label="", allow_fail=False):
        ran.append(list(args))
        return 0

    monkeypatch.setattr(demo, "_run", fake_run)
    demo.run_demo(tmp_path / "demo", n_qa=2, max_candidates=40, heldout=1, max_tool_calls=2, seed=0)
    assert [a[:2] for a in ran][:3] == [["web", "build"], ["web", "stats"], ["web", "search"]]
    qa = next(a for a in ran if a[:2] == ["synth", "qa"])
    assert qa[qa.index("--time-budget") + 1] == f"{demo.QA_TIME_BUDGET_S:g}"
    assert qa[qa.index("--max-candidates") + 1] == "40"
    assert [a[:2] for a in ran][-2:] == [["eval", "run"], ["eval", "report"]]
    for argv in ran:
        assert _resolve(argv) is not None, argv
