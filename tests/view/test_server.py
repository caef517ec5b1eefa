"""The live server: JSON API over real HTTP on 127.0.0.1, errors as messages (never a 500), loopback only;
the CLI's export."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from openseeker.cli.main import main
from openseeker.errors import UserError
from openseeker.view.data import Catalog
from openseeker.view.server import ViewServer


def get(url: str) -> tuple[int, dict | str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            body = r.read().decode()
            return r.status, json.loads(body) if "json" in r.headers["Content-Type"] else body
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read().decode())


def test_api_over_http(run_dir):
    with ViewServer(Catalog.open([run_dir]), port=0) as srv:
        assert srv.url.startswith("http://127.0.0.1:")
        status, page = get(srv.url)
        assert status == 200 and "app.js" in page
        _, m = get(srv.url + "api/manifest")
        qa = next(d["id"] for d in m["datasets"] if d["kind"] == "qa")
        _, rows = get(srv.url + f"api/rows?ds={qa}&limit=1&f.language=en")
        assert rows["total"] >= 1 and len(rows["rows"]) == 1
        _, item = get(srv.url + f"api/item?ds={qa}&i=0")
        assert item["record"]["kind"] == "qa"
        assert get(srv.url + f"api/item?ds={qa}&i=999")[0] == 404
        status, err = get(srv.url + f"api/rows?ds={qa}&offset=abc")
        assert status == 400 and "offset must be an integer" in err["error"]
        assert get(srv.url + "api/summary?ds=nope")[0] == 404
        assert get(srv.url + "../../etc/passwd")[0] == 404
        assert get(srv.url + "static/vendor/cytoscape.min.js")[0] == 200


def test_foreign_host_header_is_refused(run_dir):
    with ViewServer(Catalog.open([run_dir / "qa.jsonl"]), port=0) as srv:
        req = urllib.request.Request(srv.url + "api/manifest", headers={"Host": "evil.example:80"})
        try:
            urllib.request.urlopen(req, timeout=10)
            raise AssertionError("expected 403")
        except urllib.error.HTTPError as exc:
            assert exc.code == 403 and "Host" in json.loads(exc.read())["error"]
        assert get(srv.url.replace("127.0.0.1", "localhost") + "api/manifest")[0] == 200


def test_loopback_only(run_dir):
    with pytest.raises(UserError, match="loopback only"):
        ViewServer(Catalog.open([run_dir / "qa.jsonl"]), host="0.0.0.0", port=0)


def test_cli_export_and_errors(run_dir, tmp_path, capsys):
    site = tmp_path / "site"
    assert main(["view", str(run_dir), "--export", str(site), "--no-progress"]) == 0
    assert "static site written" in capsys.readouterr().out
    assert (site / "index.html").exists() and (site / "data" / "manifest.js").exists()
    assert (site / "static" / "vendor" / "cytoscape.min.js").exists()
    manifest = (site / "data" / "manifest.js").read_text()
    assert manifest.startswith('OSV.put("manifest",')
    assert main(["view", str(tmp_path / "missing")]) == 2
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "f.txt").write_text("x")
    assert main(["view", str(run_dir), "--export", str(tmp_path / "other")]) == 2  # not a previous export


def test_cli_serves_and_stops_on_ctrl_c(run_dir):
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    # Ctrl-C as in a terminal: under a shell's `pytest ... &` SIGINT is ignored, and the child would inherit that
    proc = subprocess.Popen(
        [sys.executable, "-m", "openseeker.cli.main", "view", str(run_dir), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("openseeker view: http://127.0.0.1:"), line + proc.stderr.read()
        url = line.split()[2]
        status, m = get(url + "api/manifest")
        assert status == 200 and {d["kind"] for d in m["datasets"]} == {"qa", "rejected", "traj", "sft", "eval"}
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0 and "stopped" in out, err
    finally:
        if proc.poll() is None:
            proc.kill()
