"""Helpers of the sandbox tests (importable: ``tests/sandbox/conftest.py`` puts this folder on the path)."""

from __future__ import annotations

from openseeker.sandbox.tool import parse_shell_results


def parse(observation: str) -> tuple[int, str, str]:
    """An observation of ``code_exec`` as (exit code, stdout, stderr); fails the test when it is not one."""
    parsed = parse_shell_results(observation)
    assert parsed is not None, observation[:500]
    return int(parsed[0]), parsed[1], parsed[2]
