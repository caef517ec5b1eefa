"""The root command: usage errors are click's usage errors (exit 2, with a did-you-mean), and no help text loses
its bracketed text to rich markup. Run in a real subprocess with the installed typer, the way a user meets it."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import typer.main

from openseeker.cli.main import build_app


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "220"}
    return subprocess.run(
        [sys.executable, "-m", "openseeker.cli.main", *args], capture_output=True, text=True, env=env, timeout=60
    )


@pytest.mark.parametrize(
    "argv,expected",
    [
        (["web", "buidl"], "Did you mean 'build'?"),
        (["web", "search", "--web", "W", "--retriever", "hybrid", "x"], "--retrieval"),
        (["web", "search", "--web", "W", "--top-k", "many", "x"], "Invalid value for '--top-k'"),
        (["nosuchstage"], "No such command 'nosuchstage'"),
    ],
)
def test_usage_errors_are_usage_errors(argv, expected):
    proc = _cli(*argv)
    assert proc.returncode == 2, proc.stderr
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr
    assert "Usage: openseeker" in proc.stderr and expected in proc.stderr


def _commands(group, path=()):
    for name, cmd in getattr(group, "commands", {}).items():
        yield (*path, name), cmd
        yield from _commands(cmd, (*path, name))


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[│╭╮╰╯─]", " ", text))


def test_every_bracketed_help_text_survives_rendering():
    """Each [..] in an option's or command's help appears in that command's --help output."""
    root = typer.main.get_command(build_app())
    checked = 0
    for path, cmd in _commands(root):
        texts = [p.help for p in cmd.params if getattr(p, "help", None)] + [cmd.help or ""]
        wanted = [b for t in texts for b in re.findall(r"\[[^\]\s]+\]", t or "")]
        if not wanted:
            continue
        shown = _squash(_cli(*path, "--help").stdout)
        for bracketed in wanted:
            assert bracketed in shown, f"openseeker {' '.join(path)} --help lost {bracketed!r}"
            checked += 1
    assert checked >= 1  # --dedup's pip install 'openseeker[dedup]' at least


def test_every_option_has_help():
    """Help comes from the settings classes' field docs (AgentSettings, EvalSettings, TrainConfig, ...): an option
    without it is one that was written by hand and forgotten (``train sft`` had six)."""
    root = typer.main.get_command(build_app())
    missing = [
        f"openseeker {' '.join(path)} {param.opts[0]}"
        for path, cmd in _commands(root)
        for param in cmd.params
        if getattr(param, "opts", None) and param.opts[0].startswith("--") and not getattr(param, "help", None)
    ]
    assert missing == []
