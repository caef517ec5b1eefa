"""`--web live` where a local web is accepted: `openseeker agent run --web live` end to end over HTTP fakes
(Serper-shaped search API, a website, an OpenAI-compatible LLM endpoint), config from $OPENSEEKER_LIVE_CONFIG."""

from __future__ import annotations

import json

from openseeker.cli.main import main
from openseeker.testing.chat_server import Reply, ScriptedChatServer
from openseeker.testing.fake_search_apis import FakeSearchAPI, FakeSite, Route

PAGE = (
    "<html><head><title>Gustave Eiffel</title></head><body><article><p>Gustave Eiffel was a French civil "
    "engineer, born in Dijon in 1832. His company designed and built the Eiffel Tower.</p>"
    "<p>He also worked on the Statue of Liberty's internal structure and on many railway bridges.</p>"
    "</article></body></html>"
)


def tool_call(name: str, **arguments) -> str:
    return f"<tool_call>{json.dumps({'name': name, 'arguments': arguments})}</tool_call>"


def test_agent_run_on_the_live_web(tmp_path, monkeypatch):
    with FakeSite({"/wiki/Gustave_Eiffel": Route(PAGE)}) as site:
        url = site.url("/wiki/Gustave_Eiffel")
        corpus = [{"title": "Gustave Eiffel - Wikipedia", "url": url, "snippet": "French civil engineer (1832-1923)."}]
        with FakeSearchAPI("serper", key="k-123", corpus=corpus) as api:
            cfg = tmp_path / "live.yaml"
            cfg.write_text(
                json.dumps(
                    {
                        "backend": "serper",
                        "serper": {"base_url": api.base_url},
                        "cache": {"path": str(tmp_path / "cache.sqlite")},
                        "ssrf": {"allow": ["127.0.0.1"]},
                    }
                )
            )
            monkeypatch.setenv("OPENSEEKER_LIVE_CONFIG", str(cfg))
            monkeypatch.setenv("SERPER_API_KEY", "k-123")
            script = [
                Reply(content="<think>look it up</think>" + tool_call("search", query=["Gustave Eiffel"])),
                Reply(content="<think>open it</think>" + tool_call("visit", url=[url], goal="birthplace")),
                Reply(content="<think>done</think><answer>Dijon</answer>"),
            ]
            with ScriptedChatServer(script) as llm:
                out = tmp_path / "t.jsonl"
                code = main(
                    [
                        "agent",
                        "run",
                        "--web",
                        "live",
                        "--question",
                        "Where was Gustave Eiffel born?",
                        "--out",
                        str(out),
                        "--base-url",
                        llm.base_url,
                        "--model",
                        "scripted",
                        "--protocol",
                        "text",
                        "--no-extract",
                        "--no-progress",
                    ]
                )
    assert code == 0
    traj = json.loads(out.read_text().splitlines()[0])
    assert traj["stop_reason"] == "answered" and traj["final_answer"] == "Dijon"
    search_obs, visit_obs = traj["steps"][0]["observations"][0], traj["steps"][1]["observations"][0]
    assert f"1. [Gustave Eiffel - Wikipedia]({url})" in search_obs
    assert "born in Dijon in 1832" in visit_obs
    assert len(api.requests) == 1 and api.requests[0]["headers"]["x-api-key"] == "k-123"
