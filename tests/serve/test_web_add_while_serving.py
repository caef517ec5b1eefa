"""A running `openseeker serve` sees a `web add` made meanwhile (issue 24, item 10): before, the added pages were
visible to /visit (SQLite) but never to /search until a restart (the tantivy searcher was a fixed snapshot)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import httpx
from serve_helpers import free_port, small_web

from openseeker.cli.main import main


def test_search_finds_pages_added_while_serving(tmp_path):
    web_dir, port = small_web(tmp_path), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "openseeker.cli.main", "serve", "--web", str(web_dir), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    watchdog = threading.Timer(120, proc.kill)
    watchdog.start()
    try:
        for line in proc.stderr:
            if f"http://127.0.0.1:{port}" in line:
                break
        base = f"http://127.0.0.1:{port}"

        def search() -> list[str]:
            r = httpx.post(f"{base}/search", json={"query": ["zebra crossing"], "top_k": 5}, timeout=10)
            assert r.status_code == 200
            return [h["url"] for h in r.json()["hits"][0]]

        assert "https://example.org/wiki/Zebra" not in search()
        added = tmp_path / "more.jsonl"
        page = {"title": "Zebra", "url": "https://example.org/wiki/Zebra", "text": "A zebra crossing is striped."}
        added.write_text(json.dumps(page) + "\n")
        assert main(["web", "add", "--web", str(web_dir), "--source", str(added), "--no-progress"]) == 0
        visit = httpx.post(f"{base}/visit", json={"url": ["https://example.org/wiki/Zebra"]}, timeout=10)
        assert "striped" in visit.text
        deadline = time.monotonic() + 10
        while "https://example.org/wiki/Zebra" not in search():
            assert time.monotonic() < deadline, "serve never saw the added page in /search"
            time.sleep(0.2)
    finally:
        watchdog.cancel()
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
