"""docs/extending.md is real: every file path it names exists, every Python block runs (in order, in one module
namespace) against the package, and what the blocks register then works through the ordinary entry points."""

from __future__ import annotations

import asyncio
import json
import re
import sys
import threading
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from openseeker.eval.loaders import BENCHMARKS, load_benchmark
from openseeker.web.importers import IMPORTERS, detect_format, get_importer
from openseeker.web.live import LiveWeb
from openseeker.web.live.config import BACKENDS

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "extending.md"
TEXT = DOC.read_text(encoding="utf-8")


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", TEXT, re.S)


def test_named_files_exist():
    paths = set(re.findall(r"`((?:src|tests|docs)/[\w/.-]+\.(?:py|md))`", TEXT))
    assert len(paths) > 10
    missing = sorted(p for p in paths if not (ROOT / p).exists())
    assert not missing, f"docs/extending.md names missing files: {missing}"


class _Search(BaseHTTPRequestHandler):
    """The made-up search API of the backend example, over 127.0.0.1."""

    def do_GET(self):  # noqa: N802 - http.server's name
        parts = urlsplit(self.path)
        q = parse_qs(parts.query)
        ok = parts.path == "/search" and self.headers.get("Authorization") == "Bearer k"
        body = {"results": [{"url": "https://example.org/" + q["q"][0], "title": q["q"][0], "desc": "found"}]}
        data = json.dumps(body if ok else {"error": "unauthorized"}).encode()
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def doc_module(monkeypatch):
    name = "openseeker_extending_doc"
    module = types.ModuleType(name)
    monkeypatch.setitem(sys.modules, name, module)
    yield module
    IMPORTERS.unregister("tsv")
    BACKENDS.unregister("example")
    BENCHMARKS.unregister("trivia")


def test_python_blocks_run_and_register_working_parts(doc_module, tmp_path, monkeypatch):
    code = blocks("python")
    assert len(code) == 5
    for block in code:
        exec(compile(block, str(DOC), "exec"), doc_module.__dict__)  # noqa: S102 - our own docs

    # the importer: detected by suffix, bad lines located
    src = tmp_path / "c.tsv"
    src.write_text("Paris\tCapital of France.\nbroken\n", encoding="utf-8")
    assert detect_format(src) == "tsv"
    importer = get_importer(src, skip_bad=True)
    assert [p.title for p in importer] == ["Paris"] and sum(importer.stats.skipped.values()) == 1

    # the search backend: its YAML section validates, and it searches a server speaking its API on 127.0.0.1
    [section] = blocks("yaml")
    cfg = yaml.safe_load(section)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Search)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("EXAMPLE_API_KEY", "k")
        cfg["live"]["example"]["base_url"] = f"http://127.0.0.1:{server.server_port}"
        cfg["live"]["cache"] = {"path": None}
        cfg["live"]["ssrf"] = {"allow": ["127.0.0.1"]}
        web = LiveWeb.from_config(cfg)
        assert web.config.backend_settings().safe_search is False
        [hits] = asyncio.run(web.search(["paris"], top_k=3))
        web.close()
    finally:
        server.shutdown()
    assert [(h.url, h.snippet) for h in hits] == [("https://example.org/paris", "found")]

    # the benchmark: loads by alias from a file
    data = tmp_path / "dev.json"
    data.write_text(json.dumps([{"id": 1, "question": "2+2?", "answer": "4"}]))
    assert [i.answers for i in load_benchmark("tv", data)] == [["4"]]
