"""`openseeker demo`: the pieces that do not need the embedded model (the end-to-end run is README command 1,
timed in the README). The next commands it prints must be real commands of this CLI, with real flags."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import typer.main

from openseeker.cli.demo import DEMO_CONFIG, NEXT_COMMANDS, _split_heldout, next_commands
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
    assert cfg.embedded.n_parallel == 8 and cfg.roles["generator"].embedded


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
