"""Helpers of the executor tests: a scripted search-visit-answer endpoint, a tiny web, question files."""

from __future__ import annotations

import json
from pathlib import Path

from openseeker.testing.chat_server import Reply

EIFFEL = "https://en.wikipedia.org/wiki/Gustave_Eiffel"


def agent_responder(req: dict) -> Reply:
    """Search, visit, answer: two tool calls per question (the visit extractor answers in JSON)."""
    msgs = req["messages"]
    if req.get("response_format"):
        return Reply(content='{"rational": "r", "evidence": "born in Dijon", "summary": "Born in Dijon."}')
    if len(msgs) == 2:
        return Reply(content='<tool_call>{"name": "search", "arguments": {"query": ["Gustave Eiffel"]}}</tool_call>')
    if len(msgs) == 4:
        call = {"name": "visit", "arguments": {"url": [EIFFEL], "goal": "birth"}}
        return Reply(content=f"<tool_call>{json.dumps(call)}</tool_call>")
    return Reply(content="<answer>Dijon</answer>")


def questions(path: Path, n: int) -> Path:
    path.write_text(
        "".join(json.dumps({"id": f"q{i:03d}", "question": f"Where was Eiffel born? ({i})"}) + "\n" for i in range(n))
    )
    return path


def build_tiny_web(d: Path) -> Path:
    from openseeker.web.build import build_web

    src = d / "pages.jsonl"
    pages = [
        {
            "url": EIFFEL,
            "title": "Gustave Eiffel",
            "text": "Gustave Eiffel was a French civil engineer, born in Dijon. His company built the Eiffel Tower.",
        },
        {
            "url": "https://en.wikipedia.org/wiki/Dijon",
            "title": "Dijon",
            "text": "Dijon is a city in eastern France, famous for mustard.",
        },
    ]
    src.write_text("".join(json.dumps(p) + "\n" for p in pages))
    build_web(src, d / "web", progress=False)
    return d / "web"
