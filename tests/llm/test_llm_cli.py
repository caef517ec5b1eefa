"""``openseeker llm ping/show`` against the scripted server (the CLI is mounted on a bare typer app)."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from openseeker.errors import LLMError
from openseeker.llm.cli import app as llm_app
from openseeker.testing.chat_server import Reply, ScriptedChatServer


@pytest.fixture
def app():
    root = typer.Typer()

    @root.callback()
    def _root() -> None:
        pass

    root.add_typer(llm_app)
    return root


def test_ping_json_one_call_per_endpoint(app):
    with ScriptedChatServer(default=Reply(content="pong")) as srv:
        result = CliRunner().invoke(app, ["llm", "ping", "--base-url", srv.base_url, "--model", "m", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)  # stdout only: log warnings go to stderr
    assert {r["role"] for r in rows} >= {"teacher", "judge"}
    assert all(r["ok"] and r["reply"] == "pong" and r["model"] == "m" for r in rows)
    assert len(srv.requests) == 1  # all roles share the endpoint and model


def test_ping_reports_failure(app):
    with ScriptedChatServer(default=Reply(status=404)) as srv:
        result = CliRunner().invoke(
            app, ["llm", "ping", "--base-url", srv.base_url, "--model", "m", "--role", "judge"]
        )
    assert isinstance(result.exception, LLMError) and "judge" in str(result.exception)
    assert "HTTP 404" in result.output


def test_show_prints_resolved_config_without_keys(app, monkeypatch, tmp_path):
    monkeypatch.setenv("PROVIDER_KEY", "sk-secret-value")
    cfg = tmp_path / "c.yaml"
    cfg.write_text("llm:\n  roles:\n    judge: {base_url: https://x/v1, model: big, api_key_env: PROVIDER_KEY}\n")
    result = CliRunner().invoke(app, ["llm", "show", "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["roles"]["judge"]["model"] == "big" and out["roles"]["teacher"]["backend"] == "embedded"
    assert "sk-secret-value" not in result.output


def test_cache_info_and_clear(app, monkeypatch, tmp_path):
    from openseeker.llm.cache import ResponseCache

    monkeypatch.setenv("OPENSEEKER_CACHE_DIR", str(tmp_path / "c"))
    result = CliRunner().invoke(app, ["llm", "cache"])
    assert result.exit_code == 0 and "no cache yet" in result.output
    cache = ResponseCache(tmp_path / "c")
    cache.put("k1", {"x": 1})
    cache.put("k2", {"x": 2})
    cache.close()
    result = CliRunner().invoke(app, ["llm", "cache"])
    assert "2 responses" in result.output
    result = CliRunner().invoke(app, ["llm", "cache", "--clear"])
    assert "2 responses" in result.output and "cleared" in result.output
    assert "0 responses" in CliRunner().invoke(app, ["llm", "cache"]).output
