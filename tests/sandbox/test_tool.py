"""``code_exec`` against the authors' tool (rui-ye/OpenSeeker, src/tools/code_exec.py, read side by side).

Their rules, in our words:
* the function is called ``code_exec`` and takes exactly one argument, a required string ``cmd`` (no other
  properties allowed); the model never names a sandbox: one sandbox serves the whole attempt;
* the result is four lines of XML: ``<shell_results>``, then ``<exit_code>N</exit_code>``,
  ``<stdout>...</stdout>``, ``<stderr>...</stderr>`` on one logical line each, then ``</shell_results>``;
* stdout longer than 20,000 characters keeps its first 20,000 and gets `` [truncated due to length limit]``;
  stderr the same at 4,000; the cut happens before escaping, and all three fields are HTML-escaped (quotes too);
* an empty or missing ``cmd`` answers ``[ERROR]: cmd must be a non-empty string.`` without touching a sandbox;
* when the sandbox itself fails, the answer is still ``<shell_results>``: exit code 1, empty stdout, the
  error on stderr.
"""

from __future__ import annotations

import asyncio

import pytest

from openseeker.errors import UserError
from openseeker.sandbox.base import ExecResult, open_backend
from openseeker.sandbox.settings import SandboxSettings
from openseeker.sandbox.tool import CODE_EXEC_SCHEMA, CodeExecTool, format_result, format_shell_results


def test_schema_is_the_authors_interface():
    fn = CODE_EXEC_SCHEMA["function"]
    assert CODE_EXEC_SCHEMA["type"] == "function" and fn["name"] == "code_exec"
    params = fn["parameters"]
    assert params["type"] == "object" and params["required"] == ["cmd"]
    assert params["additionalProperties"] is False
    assert list(params["properties"]) == ["cmd"] and params["properties"]["cmd"]["type"] == "string"
    # what the description must tell the model (in our words): shared sandbox, persistence, python heredoc, XML
    text = fn["description"]
    for needle in ("every call of the current attempt", "stay for the next call", "python - <<'PY'", "exit_code"):
        assert needle in text


def test_result_layout_escaping_and_cuts():
    out = format_shell_results(0, "a<b & \"c\" 'd'\n", "")
    assert out == (
        "<shell_results>\n<exit_code>0</exit_code>\n<stdout>a&lt;b &amp; &quot;c&quot; &#x27;d&#x27;\n</stdout>\n"
        "<stderr></stderr>\n</shell_results>"
    )
    long = format_shell_results(2, "x" * 20_001, "<" * 4_001)
    assert "<stdout>" + "x" * 20_000 + " [truncated due to length limit]</stdout>" in long
    assert "<stderr>" + "&lt;" * 4_000 + " [truncated due to length limit]</stderr>" in long
    exact = format_shell_results(0, "x" * 20_000, "e" * 4_000)
    assert "truncated" not in exact


def test_limit_notes_open_stderr_so_a_cut_cannot_drop_them():
    out = format_result(ExecResult(124, "", "y" * 10_000, ["killed: the call ran longer than 60 s"]))
    assert "<stderr>[sandbox] killed: the call ran longer than 60 s\nyyy" in out


class _Broken:
    name = "broken"

    def check(self) -> None: ...

    def describe(self) -> dict:
        return {}

    async def create(self):
        raise OSError("no space left on device")


def test_empty_command_and_a_failing_sandbox():
    tool = CodeExecTool(_Broken())
    for args in ({}, {"cmd": ""}, {"cmd": "  "}, {"cmd": 3}):
        assert asyncio.run(tool.execute(args)) == "[ERROR]: cmd must be a non-empty string."
    assert asyncio.run(tool.execute({"cmd": "ls"})) == (
        "<shell_results>\n<exit_code>1</exit_code>\n<stdout></stdout>\n"
        "<stderr>OSError: no space left on device</stderr>\n</shell_results>"
    )


def test_no_backend_means_a_refusal_never_an_unsandboxed_run(monkeypatch, tmp_path):
    with pytest.raises(UserError, match="backend is 'none'"):
        open_backend(SandboxSettings(backend="none"))
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on the PATH
    with pytest.raises(UserError, match=r"apt-get install bubblewrap \(or set agent.sandbox.backend: e2b\)"):
        open_backend(SandboxSettings(backend="auto"))
    with pytest.raises(UserError, match="^code_exec: bubblewrap is not installed: apt-get install bubblewrap$"):
        open_backend(SandboxSettings(backend="bwrap"))


def test_e2b_refuses_at_start_without_its_sdk_or_key(monkeypatch):
    monkeypatch.delenv("E2B_API_KEY", raising=False)
    with pytest.raises(UserError, match="e2b backend needs (the E2B SDK: pip install|an API key: export E2B_API_KEY)"):
        open_backend(SandboxSettings(backend="e2b"))
