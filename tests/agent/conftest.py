"""Agent-test fixtures: make ``agent_helpers`` importable (pytest runs in importlib mode); a tiny local web."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def tiny_web(tmp_path):
    build = pytest.importorskip("openseeker.web.build")
    src = tmp_path / "pages.jsonl"
    pages = [
        {
            "url": "https://en.wikipedia.org/wiki/Gustave_Eiffel",
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
    out = tmp_path / "web"
    build.build_web(src, out, progress=False)
    return out
