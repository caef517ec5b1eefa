"""Config resolution: defaults < YAML < CLI, strict keys, roles, API keys."""

from __future__ import annotations

import textwrap

import pytest

from openseeker.errors import UserError
from openseeker.llm.base import ROLES
from openseeker.llm.config import EndpointConfig, LLMConfig, resolve_llm_config


def write(tmp_path, text, name="cfg.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_default_is_all_embedded():
    cfg = resolve_llm_config()
    assert set(cfg.roles) == set(ROLES)
    assert all(ep.embedded and ep.base_url is None for ep in cfg.roles.values())
    assert cfg.needs_embedded
    assert cfg.embedded.n_ctx == 8192 and cfg.embedded.n_parallel == 4
    assert cfg.roles["judge"].temperature == 0.0  # packaged per-role defaults
    assert cfg.roles["teacher"].temperature > 0


def test_yaml_overrides_defaults_and_role_overrides_default(tmp_path):
    path = write(
        tmp_path,
        """
        llm:
          default:
            base_url: http://localhost:8000/v1/
            model: Qwen/Qwen3-8B
            concurrency: 32
          roles:
            teacher: {temperature: 0.9, max_tokens: 4096}
            judge: {base_url: https://api.example.com/v1, model: big-judge, api_key_env: JUDGE_KEY}
          cache_dir: CACHE
          embedded: {n_ctx: 4096}
        agent: {anything: goes}   # another stage's section is not ours to validate
    """,
    )
    cfg = resolve_llm_config(config=path, check_keys=False)
    teacher, judge, summarizer = cfg.roles["teacher"], cfg.roles["judge"], cfg.roles["summarizer"]
    assert teacher.base_url == "http://localhost:8000/v1" and teacher.model == "Qwen/Qwen3-8B"
    assert teacher.temperature == 0.9 and teacher.max_tokens == 4096 and teacher.concurrency == 32
    assert judge.base_url == "https://api.example.com/v1" and judge.model == "big-judge"
    assert judge.max_tokens == 512  # packaged judge default survives
    assert summarizer.base_url == "http://localhost:8000/v1" and not summarizer.embedded
    assert cfg.cache_dir == "CACHE" and cfg.embedded.n_ctx == 4096 and cfg.embedded.n_parallel == 4
    assert not cfg.needs_embedded


def test_mixed_embedded_and_remote(tmp_path):
    path = write(
        tmp_path,
        """
        llm:
          roles:
            teacher: {base_url: http://gpu:8000/v1, model: m}
    """,
    )
    cfg = resolve_llm_config(config=path)
    assert not cfg.roles["teacher"].embedded
    assert cfg.roles["judge"].embedded and cfg.needs_embedded


def test_cli_base_url_and_model_win_over_yaml(tmp_path, monkeypatch):
    path = write(
        tmp_path,
        """
        llm:
          default: {base_url: http://a:1/v1, model: from-yaml, temperature: 0.3}
          roles:
            judge: {base_url: https://api.example.com/v1, api_key_env: JUDGE_KEY}
    """,
    )
    cfg = resolve_llm_config(config=path, base_url="http://cli:9/v1", model="from-cli")
    for ep in cfg.roles.values():
        assert ep.base_url == "http://cli:9/v1" and ep.model == "from-cli" and not ep.embedded
        assert ep.api_key_env is None  # JUDGE_KEY belonged to the judge's own endpoint
    assert cfg.roles["summarizer"].temperature == 0.3  # sampling settings from YAML are kept


def test_cli_base_url_key_from_env(monkeypatch):
    monkeypatch.setenv("OPENSEEKER_API_KEY", "k")
    cfg = resolve_llm_config(base_url="http://cli:9/v1", model="m")
    assert cfg.roles["teacher"].api_key() == "k"


def test_llm_embedded_forces_embedded(tmp_path):
    path = write(tmp_path, "llm:\n  default: {base_url: http://a:1/v1, model: x, api_key_env: NOPE}\n")
    cfg = resolve_llm_config(config=path, llm="embedded")
    assert all(ep.embedded and ep.api_key_env is None for ep in cfg.roles.values())


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"llm": "embedded", "base_url": "http://x/v1"}, "conflict"),
        ({"llm": "gpt"}, "--llm must be"),
        ({"llm": "openai"}, "--llm openai needs"),
        ({"model": "m"}, "--model needs --base-url"),
    ],
)
def test_bad_flag_combinations(kwargs, message):
    with pytest.raises(UserError, match=message):
        resolve_llm_config(**kwargs)


@pytest.mark.parametrize(
    "text, message",
    [
        ("llm:\n  default: {base_url: http://a/v1, temprature: 0.5}\n", "unknown key llm.default.temprature"),
        ("llm:\n  roles:\n    teacher: {modle: x}\n", "unknown key llm.roles.teacher.modle"),
        ("llm:\n  roles:\n    oracle: {model: x}\n", "unknown key llm.roles.oracle.*teacher"),
        ("llm:\n  endpoints: {}\n", "unknown key llm.endpoints"),
        ("llm:\n  embedded: {n_gpu: 1}\n", "unknown key llm.embedded.n_gpu"),
        ("lmm:\n  default: {}\n", "unknown key <top level>.lmm"),
        ("llm:\n  default: {temperature: hot}\n", "temperature"),
        ("llm:\n  default: {concurrency: 0}\n", "concurrency"),
        ("llm: [1, 2]\n", "llm must be a mapping"),
        ("- a\n- b\n", "must be a mapping"),
        ("llm:\n  default: {base_url: 'x\n", "invalid YAML"),
    ],
)
def test_bad_yaml_is_a_clear_user_error(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(UserError, match=message) as info:
        resolve_llm_config(config=path)
    assert str(path) in str(info.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        resolve_llm_config(config=tmp_path / "nope.yaml")


def test_missing_api_key_env_is_caught_at_resolve(tmp_path, monkeypatch):
    monkeypatch.delenv("SOME_PROVIDER_KEY", raising=False)
    path = write(
        tmp_path, "llm:\n  roles:\n    judge: {base_url: https://x/v1, model: m, api_key_env: SOME_PROVIDER_KEY}\n"
    )
    with pytest.raises(UserError, match="SOME_PROVIDER_KEY is not set"):
        resolve_llm_config(config=path)
    monkeypatch.setenv("SOME_PROVIDER_KEY", "secret")
    cfg = resolve_llm_config(config=path)
    assert cfg.roles["judge"].api_key() == "secret"
    assert "secret" not in str(cfg.describe())


def test_llmconfig_rejects_unknown_roles_programmatically():
    with pytest.raises(ValueError, match="unknown role"):
        LLMConfig(roles={"wizard": EndpointConfig()})
    with pytest.raises(UserError, match="roles are"):
        LLMConfig(roles={}).role("wizard")


def test_embedded_and_base_url_conflict():
    with pytest.raises(ValueError, match="conflict"):
        EndpointConfig(base_url="http://x/v1", embedded=True)
    assert EndpointConfig(base_url="embedded").embedded


def test_shipped_example_configs_load(monkeypatch):
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    cfg = resolve_llm_config(config=root / "configs" / "vllm.yaml")
    assert cfg.roles["teacher"].base_url == "http://localhost:8000/v1"
    assert not cfg.needs_embedded


def test_doc_config_examples_resolve(tmp_path):
    """Every ```yaml `llm:` block of docs/config.md and docs/llm.md is a valid config (except the key reference)."""
    import re
    from pathlib import Path

    docs = Path(__file__).resolve().parents[2] / "docs"
    doc = "".join((docs / name).read_text(encoding="utf-8") for name in ("config.md", "llm.md"))
    blocks = [re.sub(r"^#.*\n", "", b) for b in re.findall(r"```yaml\n(.*?)```", doc, re.DOTALL)]
    blocks = [b for b in blocks if b.startswith("llm:")]
    assert len(blocks) >= 7
    resolved = 0
    for i, block in enumerate(blocks):
        if "{...}" in block:  # the annotated key reference
            continue
        path = tmp_path / f"doc{i}.yaml"
        path.write_text(block, encoding="utf-8")
        cfg = resolve_llm_config(config=path, check_keys=False)
        assert set(cfg.roles) == set(ROLES)
        resolved += 1
    assert resolved >= 6


@pytest.mark.parametrize(
    "section, where",
    [
        ("default:\n    timeout_s: -1", "llm.default.timeout_s"),
        ("roles:\n    judge:\n      max_retries: -2", "llm.roles.judge.max_retries"),
    ],
)
def test_a_bad_value_is_named_where_it_was_written(tmp_path, section, where):
    """Before: a bad llm.default.timeout_s was 7 errors at roles.<role>.timeout_s, never naming llm.default."""
    p = tmp_path / "c.yaml"
    p.write_text(f"llm:\n  {section}\n")
    with pytest.raises(UserError) as err:
        resolve_llm_config(config=p)
    msg = str(err.value)
    assert f"{where}: Input should be greater" in msg and msg.count("Input should") == 1, msg
