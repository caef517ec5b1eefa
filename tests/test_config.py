"""The one config file: sections per stage, one reader, one key check, one precedence rule."""

from __future__ import annotations

import pytest

from openseeker import config as root
from openseeker.agent.settings import AGENT_SETTINGS, resolve_agent_settings
from openseeker.errors import UserError
from openseeker.llm.config import resolve_llm_config
from openseeker.web.live.config import live_config_source, load_live_config

ONE_FILE = """\
llm:
  default: {base_url: http://127.0.0.1:9/v1, model: m}
live:
  backend: ddgs
  ddgs: {rate_per_s: 0.5}
  cache: {path: null}
agent: {max_tool_calls: 7, protocol: native}
"""


def test_llm_live_and_agent_sections_in_one_file(tmp_path):
    # regression: the LLM reader rejected `live:` as a typo, so the documented single file did not work
    path = tmp_path / "openseeker.yaml"
    path.write_text(ONE_FILE)
    assert resolve_llm_config(config=path, check_keys=False).roles["teacher"].model == "m"
    assert live_config_source(None, path) == path
    live = load_live_config(path)
    assert live.backend == "ddgs" and live.backend_settings().rate_per_s == 0.5
    s = resolve_agent_settings(path, max_tool_calls=None, concurrency=3)
    assert (s["max_tool_calls"], s["protocol"], s["concurrency"]) == (7, "native", 3)  # file > defaults, CLI > file


def test_cli_over_file_over_defaults():
    assert root.layered({"a": 1, "b": 2, "c": 3}, {"b": 20, "c": 30}, {"c": 300, "a": None}) == {
        "a": 1,
        "b": 20,
        "c": 300,
    }
    assert resolve_agent_settings() == AGENT_SETTINGS


@pytest.mark.parametrize(
    "text, message",
    [
        ("agent: {max_tool_call: 3}\n", r"agent\.max_tool_call: Extra inputs"),
        ("agent: {protocol: smoke}\n", r"agent\.protocol"),
        ("agent: [1]\n", "agent must be a mapping"),
        ("agnet: {}\n", r"unknown key <top level>\.agnet"),
        ("agent: {max_tool_calls: 1}\nagent2: [\n", r"cfg\.yaml:\d+: invalid YAML"),
    ],
)
def test_bad_agent_section_names_the_file_and_key(tmp_path, text, message):
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    with pytest.raises(UserError, match=message) as info:
        resolve_agent_settings(path)
    assert str(path) in str(info.value)
    with pytest.raises(UserError, match="unknown agent setting"):
        resolve_agent_settings(None, max_tool_cals=3)


def test_file_is_read_once_per_version(tmp_path, monkeypatch):
    path = tmp_path / "cfg.yaml"
    path.write_text(ONE_FILE)
    calls = []
    real = root._read_cached.__wrapped__

    def counting(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(root, "_read_cached", root.lru_cache(maxsize=8)(counting))
    resolve_llm_config(config=path, check_keys=False)
    resolve_agent_settings(path)
    load_live_config(path)
    assert len(calls) == 1
    path.write_text(ONE_FILE.replace("max_tool_calls: 7", "max_tool_calls: 8 "))
    assert resolve_agent_settings(path)["max_tool_calls"] == 8 and len(calls) == 2


def test_a_section_is_checked_only_by_its_stage(tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text("agent: {bogus: 1}\nllm: {default: {model: m}}\n")
    cfg = root.load_config(path)  # top-level keys only
    with pytest.raises(UserError, match="agent.bogus"):
        cfg.get("agent")
    with pytest.raises(UserError, match="Did you mean 'agent'"):
        cfg.get("agnt")
    assert cfg.get("train") is None


def test_option_help_is_the_field_doc():
    from openseeker.agent.settings import AgentSettings
    from openseeker.cli.options import field_help
    from openseeker.synth.qa.controls import QAControls

    assert field_help(AgentSettings, "max_tool_calls") == AgentSettings.model_fields["max_tool_calls"].description
    assert field_help(QAControls, "k").startswith("Pages gathered around the seed")
    assert "(wiki-offline has e.g." in field_help(QAControls, "topic")  # continuation lines joined
    assert field_help(QAControls, "max_chars") == "Page text shown to the extractor."
    with pytest.raises(KeyError, match="not documented"):
        field_help(QAControls, "nope")
