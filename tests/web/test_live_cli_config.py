"""The live web from the command line (issue 10, section 4), over real HTTP on 127.0.0.1: a Serper-shaped fake
search API, a fake site and a scripted LLM endpoint.

- `web search` / `web visit` take `--web live` with `--web-config` (or the `live:` section of `--config`), and a
  refused address is a one-line error naming the reason;
- ONE config file with both `llm:` and `live:` sections works for `agent run`, `synth traj` and `eval run`
  (`--web live --config x.yaml`); the LLM loader used to reject it (`unknown key <top level>.live`);
- unknown keys are still errors naming the file and the key, at the top level and inside `live:`.
"""

from __future__ import annotations

import json

import pytest
import yaml

from openseeker.cli.main import main
from openseeker.testing.chat_server import Reply, ScriptedChatServer
from openseeker.testing.fake_search_apis import FakeSearchAPI, FakeSite, Route

PAGE = (
    "<html><head><title>Gustave Eiffel</title></head><body><article><p>Gustave Eiffel was a French civil "
    "engineer, born in Dijon in 1832. His company designed and built the Eiffel Tower.</p>"
    "<p>He also worked on the Statue of Liberty's internal structure and on many railway bridges.</p>"
    "</article></body></html>"
)
QUESTION = "Where was Gustave Eiffel born?"


@pytest.fixture
def live(tmp_path, monkeypatch):
    """(site, api, live section) with the fakes running; SERPER_API_KEY set for the fake's key."""
    with FakeSite({"/wiki/Gustave_Eiffel": Route(PAGE)}) as site:
        url = site.url("/wiki/Gustave_Eiffel")
        corpus = [{"title": "Gustave Eiffel - Wikipedia", "url": url, "snippet": "French civil engineer (1832-1923)."}]
        with FakeSearchAPI("serper", key="k-123", corpus=corpus) as api:
            monkeypatch.setenv("SERPER_API_KEY", "k-123")
            monkeypatch.delenv("OPENSEEKER_LIVE_CONFIG", raising=False)
            section = {
                "backend": "serper",
                "serper": {"base_url": api.base_url},
                "cache": {"path": str(tmp_path / "live-cache.sqlite")},
                "ssrf": {"allow": ["127.0.0.1"]},
            }
            yield site, api, section


def _write(path, data) -> str:
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return str(path)


def _err(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" not in err
    return " ".join(err.split())


# ----------------------------------------------------------------------------- web search / visit


@pytest.mark.parametrize("flag", ["--web-config", "--config"])
def test_web_search_and_visit_live(live, tmp_path, capsys, flag):
    site, api, section = live
    # --web-config takes the live config itself; --config takes the main YAML with a live: section
    cfg = _write(tmp_path / "c.yaml", section if flag == "--web-config" else {"live": section})
    assert main(["web", "search", "--web", "live", flag, cfg, "--top-k", "3", "Gustave", "Eiffel"]) == 0
    out = capsys.readouterr().out
    assert f"[Gustave Eiffel - Wikipedia]({site.url('/wiki/Gustave_Eiffel')})" in out
    assert api.requests and api.requests[0]["headers"]["x-api-key"] == "k-123"

    assert main(["web", "search", "--web", "live", flag, cfg, "--json", "Eiffel"]) == 0
    hits = json.loads(capsys.readouterr().out.splitlines()[0])
    assert hits[0]["url"] == site.url("/wiki/Gustave_Eiffel")

    assert main(["web", "visit", "--web", "live", flag, cfg, site.url("/wiki/Gustave_Eiffel")]) == 0
    assert "born in Dijon in 1832" in capsys.readouterr().out
    assert any(r["path"] == "/wiki/Gustave_Eiffel" for r in site.requests)


def test_web_visit_live_refused_address_is_a_clear_error(live, tmp_path, capsys):
    _, _, section = live
    cfg = _write(tmp_path / "live.yaml", section)
    assert main(["web", "visit", "--web", "live", "--web-config", cfg, "http://10.0.0.1/admin"]) == 2
    err = _err(capsys)
    assert "private-network address" in err and "10.0.0.1" in err


def test_web_live_without_config_says_what_to_pass(monkeypatch, capsys):
    monkeypatch.delenv("OPENSEEKER_LIVE_CONFIG", raising=False)
    assert main(["web", "search", "--web", "live", "anything"]) == 2
    assert "--web-config FILE" in _err(capsys)
    assert main(["web", "stats", "--web", "live"]) == 2
    assert "local web graph" in _err(capsys)


def test_web_config_with_a_local_web_is_refused(tmp_path, capsys):
    cfg = _write(tmp_path / "live.yaml", {"backend": "ddgs"})
    assert main(["web", "search", "--web", str(tmp_path), "--web-config", cfg, "q"]) == 2
    assert "only used with --web live" in _err(capsys)


# ----------------------------------------------------------------------------- one file: llm: + live:


def _responder(url: str):
    def respond(request):
        messages = request["messages"]
        system = messages[0]["content"] if messages and messages[0]["role"] == "system" else ""
        fmt = request.get("response_format") or {}
        if "compress the result of a tool call" in system:  # the summarizer (trajectory synthesis)
            return Reply(content="Gustave Eiffel: French engineer born in Dijon in 1832.")
        if fmt:  # the visit extractor
            return Reply(content=json.dumps({"rational": "r", "evidence": "born in Dijon", "summary": "Dijon"}))
        seen = json.dumps(messages)
        if "born in Dijon" in seen or "Dijon" in seen and "visit" in seen:
            return Reply(content="<think>done</think><answer>Dijon</answer>")
        if url in seen:
            return Reply(
                content='<think>open it</think><tool_call>{"name": "visit", "arguments": {"url": ["'
                + url
                + '"], "goal": "birthplace"}}</tool_call>'
            )
        return Reply(
            content='<think>search</think><tool_call>{"name": "search", "arguments": {"query": '
            '["Gustave Eiffel"]}}</tool_call>'
        )

    return respond


@pytest.fixture
def one_file(live, tmp_path):
    """A scripted LLM endpoint and ONE YAML holding both its `llm:` roles and the `live:` section."""
    site, api, section = live
    url = site.url("/wiki/Gustave_Eiffel")
    with ScriptedChatServer(_responder(url)) as srv:
        cfg = _write(
            tmp_path / "openseeker.yaml",
            {
                "llm": {"default": {"base_url": srv.base_url, "model": "scripted"}},
                "live": section,
                "agent": {"protocol": "text"},
            },
        )
        yield cfg, site, api, srv


def test_agent_run_with_llm_and_live_in_one_config(one_file, tmp_path, capsys):
    cfg, site, api, srv = one_file
    out = tmp_path / "t.jsonl"
    assert (
        main(
            [
                "agent",
                "run",
                "--web",
                "live",
                "--config",
                cfg,
                "--question",
                QUESTION,
                "--out",
                str(out),
                "--no-progress",
            ]
        )
        == 0
    ), _err(capsys)
    traj = json.loads(out.read_text().splitlines()[0])
    assert traj["final_answer"] == "Dijon" and traj["num_tool_calls"] == 2
    assert api.requests and any(r["path"] == "/wiki/Gustave_Eiffel" for r in site.requests)
    assert srv.requests  # the roles came from the same file


def test_synth_traj_with_llm_and_live_in_one_config(one_file, tmp_path, capsys):
    cfg, site, api, srv = one_file
    qa = tmp_path / "qa.jsonl"
    qa.write_text(json.dumps({"id": "q1", "question": QUESTION, "answer": "Dijon"}) + "\n")
    out = tmp_path / "traj.jsonl"
    assert (
        main(
            [
                "synth",
                "traj",
                "--web",
                "live",
                "--config",
                cfg,
                "--qa",
                str(qa),
                "--out",
                str(out),
                "--no-judge",
                "--no-progress",
            ]
        )
        == 0
    ), _err(capsys)
    traj = json.loads(out.read_text().splitlines()[0])
    assert traj["metadata"]["correct"] is True and traj["num_tool_calls"] == 2
    assert any(r["path"] == "/wiki/Gustave_Eiffel" for r in site.requests)


def test_eval_run_with_llm_and_live_in_one_config(one_file, tmp_path, capsys):
    cfg, site, api, srv = one_file
    qa = tmp_path / "qa.jsonl"
    qa.write_text(json.dumps({"id": "q1", "question": QUESTION, "answer": "Dijon"}) + "\n")
    out = tmp_path / "eval"
    assert (
        main(
            [
                "eval",
                "run",
                "--benchmark",
                "synth",
                "--path",
                str(qa),
                "--web",
                "live",
                "--config",
                cfg,
                "--out",
                str(out),
                "--judge",
                "none",
                "--no-progress",
            ]
        )
        == 0
    ), _err(capsys)
    rec = json.loads((out / "results.jsonl").read_text().splitlines()[0])
    assert rec["num_tool_calls"] >= 1 and api.requests


def test_unknown_keys_still_name_file_and_key(live, tmp_path, capsys):
    _, _, section = live
    typo_top = _write(tmp_path / "top.yaml", {"llm": {}, "live": section, "liev": {}})
    assert (
        main(
            [
                "agent",
                "run",
                "--web",
                "live",
                "--config",
                typo_top,
                "--question",
                QUESTION,
                "--out",
                str(tmp_path / "t.jsonl"),
                "--no-progress",
            ]
        )
        == 2
    )
    err = _err(capsys)
    assert "top.yaml" in err and "<top level>.liev" in err

    typo_live = _write(tmp_path / "inner.yaml", {"live": {**section, "fetch": {"max_byte": 10}}})
    assert main(["web", "search", "--web", "live", "--config", typo_live, "q"]) == 2
    err = _err(capsys)
    assert "inner.yaml" in err and "fetch.max_byte" in err
