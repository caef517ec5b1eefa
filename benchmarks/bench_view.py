"""Time to first render of ``openseeker view`` on big files, against loading the whole file into the browser.

Inputs (made once in ``--workdir``): a small run written by the real pipeline stages
(``openseeker.testing.pipeline_run``), grown to ``--qa`` QA samples (10k: its accepted samples repeated with new
ids, languages, difficulties and selectors) and ``--traj`` trajectories of ``--steps`` steps each (1k x 200: the
LLM teacher's real steps — reasoning, tool calls, raw observations, summaries, usage — repeated; ``messages``
carries the raw history as the real records do; per-step ``context`` copies are left out, see docs/view.md).

Measured in headless Chromium (Playwright, the system ``chromium``), each ``--repeats`` times, median reported:

* ``view``: ``openseeker view FILES --port P`` started as a subprocess -> URL printed (line offsets indexed;
  ``index_s``) -> the page shows the first 50 rows of the QA list (``qa_list_s``; ``qa_list_page_only_s`` from
  the URL) -> the filters appear once the background index of every row is built (``qa_filters_ready_s``).
  Then, in the same server, a new tab opens the 200-step trajectory page (``trajectory_s``: navigation -> the
  first 40 step cards rendered; the rest render as they scroll into view).
* ``static``: the ``--export`` site opened as ``file://`` -> QA list rendered; -> a 200-step trajectory rendered.
* ``whole_file`` (the obvious alternative): a page served by ``python -m http.server`` that fetches the JSONL
  file whole, parses every line and renders the same first 50 rows / the same trajectory's steps.

Usage:
    python benchmarks/bench_view.py                        # 10k QA, 1k x 200-step trajectories
    python benchmarks/bench_view.py --qa 2000 --traj 100   # quicker
    python benchmarks/bench_view.py --out benchmarks/results/view.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

NAIVE_HTML = """<!doctype html><meta charset="utf-8"><body><div id="out"></div><script>
const p = new URLSearchParams(location.search);
fetch(p.get("file")).then(r => r.text()).then(t => {
  const rows = t.split("\\n").filter(x => x.trim()).map(x => JSON.parse(x));
  const out = document.getElementById("out");
  if (p.get("i") === null) {
    const tb = document.createElement("table");
    rows.slice(0, 50).forEach(r => { const tr = tb.insertRow(); tr.insertCell().textContent = r.question;
      tr.insertCell().textContent = r.answer; tr.insertCell().textContent = r.language; });
    out.appendChild(tb);
  } else {
    const t = rows[+p.get("i")];
    t.steps.slice(0, 40).forEach(s => { const d = document.createElement("div"); d.className = "step";
      d.textContent = s.reasoning + " " + JSON.stringify(s.tool_calls) + " " + s.observations.join(" "); out.appendChild(d); });
  }
  document.body.dataset.ready = "1";
});
</script>"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_inputs(workdir: Path, n_qa: int, n_traj: int, n_steps: int) -> tuple[Path, Path]:
    from openseeker.testing.pipeline_run import make_pipeline_run

    run = workdir / "run"
    if not (run / "qa.jsonl").exists():
        make_pipeline_run(run)
    qa_out, traj_out = workdir / f"qa-{n_qa}.jsonl", workdir / f"traj-{n_traj}x{n_steps}.jsonl"
    rng = random.Random(0)
    if not qa_out.exists():
        base = [json.loads(x) for x in (run / "qa.jsonl").read_text().splitlines() if x.strip()]
        with qa_out.open("w", encoding="utf-8") as fh:
            for i in range(n_qa):
                r = dict(base[i % len(base)])
                r["id"] = f"qa-bench-{i:06d}"
                r["question"] = f"[{i}] " + r["question"]
                r["language"] = rng.choice(["en", "en", "en", "zh"])
                r["difficulty"] = rng.choice(["easy", "medium", "hard"])
                r["controls"] = {**r.get("controls", {}), "selector": rng.choice(["relevance", "random", "llm"])}
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    if not traj_out.exists():
        base = [json.loads(x) for x in (run / "trajectories.teacher.jsonl").read_text().splitlines() if x.strip()]
        steps = [dict(s, context=None) for t in base for s in t["steps"] if s["tool_calls"]]
        with traj_out.open("w", encoding="utf-8") as fh:
            for i in range(n_traj):
                t = dict(base[i % len(base)])
                t["id"] = f"traj-bench-{i:05d}"
                t["steps"] = [dict(steps[k % len(steps)], index=k) for k in range(n_steps - 1)]
                t["steps"].append(dict(base[0]["steps"][-1], index=n_steps - 1, context=None))
                msgs = t["messages"][:2]
                for s in t["steps"][:-1]:
                    msgs.append({"role": "assistant", "content": s["content"]})
                    msgs += [{"role": "tool", "content": o} for o in s["observations"]]
                t["messages"] = msgs
                t["num_tool_calls"] = n_steps - 1
                fh.write(json.dumps(t, ensure_ascii=False) + "\n")
    return qa_out, traj_out


def wait_ready(page, timeout_ms: int = 300_000) -> None:
    page.wait_for_function("document.body.dataset.ready === '1'", timeout=timeout_ms)


def open_timed(ctx, url: str, selector: str, at_least: int) -> tuple[float, float, object]:
    """A new tab: (start, time when ``at_least`` elements matching ``selector`` are rendered, the page)."""
    page = ctx.new_page()
    t0 = time.perf_counter()
    page.goto(url)
    wait_ready(page)
    n = page.locator(selector).count()
    assert n >= at_least, (url, n)
    return t0, time.perf_counter(), page


def bench_view(ctx, qa: Path, traj: Path, traj_index: int) -> dict[str, float]:
    import urllib.request

    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "openseeker.cli.main", "view", str(qa), str(traj), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        line = proc.stdout.readline()
        assert "http://127.0.0.1" in line, line
        t_url = time.perf_counter()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/manifest", timeout=30) as r:
            ids = {d["kind"]: d["id"] for d in json.load(r)["datasets"]}
        _, t_list, page = open_timed(ctx, f"http://127.0.0.1:{port}/#/ds/{ids['qa']}", "[data-testid=row]", 50)
        page.wait_for_selector("[data-testid=filter-language]", timeout=300_000)  # background index done
        t_filters = time.perf_counter()
        page.close()
        t1, t_traj, page = open_timed(
            ctx, f"http://127.0.0.1:{port}/#/ds/{ids['traj']}/{traj_index}", "[data-testid=step]", 40
        )
        page.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    return {
        "index_s": round(t_url - t0, 3),
        "qa_list_s": round(t_list - t0, 3),
        "qa_list_page_only_s": round(t_list - t_url, 3),
        "qa_filters_ready_s": round(t_filters - t0, 3),
        "trajectory_s": round(t_traj - t1, 3),
    }


def bench_static(ctx, site: Path, qa_id: str, traj_id: str, traj_index: int) -> dict[str, float]:
    url = (site / "index.html").resolve().as_uri()
    t0, t_list, page = open_timed(ctx, f"{url}#/ds/{qa_id}", "[data-testid=row]", 50)
    page.close()
    t1, t_traj, page = open_timed(ctx, f"{url}#/ds/{traj_id}/{traj_index}", "[data-testid=step]", 40)
    page.close()
    return {"qa_list_s": round(t_list - t0, 3), "trajectory_s": round(t_traj - t1, 3)}


def bench_whole_file(ctx, workdir: Path, qa: Path, traj: Path, traj_index: int) -> dict[str, float]:
    (workdir / "naive.html").write_text(NAIVE_HTML, encoding="utf-8")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:  # until the server accepts connections
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        base = f"http://127.0.0.1:{port}/naive.html"
        t0, t_list, page = open_timed(ctx, f"{base}?file={qa.name}", "tr", 50)
        page.close()
        t1, t_traj, page = open_timed(ctx, f"{base}?file={traj.name}&i={traj_index}", ".step", 40)
        page.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    return {"qa_list_s": round(t_list - t0, 3), "trajectory_s": round(t_traj - t1, 3)}


def median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: round(statistics.median(r[k] for r in runs), 3) for k in runs[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/openseeker-bench-view"))
    ap.add_argument("--qa", type=int, default=10_000)
    ap.add_argument("--traj", type=int, default=1_000)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    exe = shutil.which(os.environ.get("OPENSEEKER_CHROMIUM") or "chromium") or shutil.which("chromium-browser")
    if exe is None:
        sys.exit("no chromium binary: apt-get install chromium (or set OPENSEEKER_CHROMIUM)")
    args.workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    qa, traj = make_inputs(args.workdir, args.qa, args.traj, args.steps)
    print(
        f"inputs: {qa} ({qa.stat().st_size / 1e6:.0f} MB), {traj} ({traj.stat().st_size / 1e6:.0f} MB) "
        f"[{time.perf_counter() - t0:.0f}s]",
        flush=True,
    )
    traj_index = args.traj // 2  # a trajectory in the middle of the file

    from openseeker.view.data import Catalog
    from openseeker.view.export import export_site

    site = args.workdir / "site"
    t0 = time.perf_counter()
    cat = Catalog.open([qa, traj])
    export_site(cat, site, progress=False)
    export_s = time.perf_counter() - t0
    ids = {d.kind: d.id for d in cat.datasets.values()}
    print(f"static export: {export_s:.1f}s", flush=True)

    results: dict[str, list[dict[str, float]]] = {"view": [], "static": [], "whole_file": []}
    import tempfile

    with tempfile.TemporaryDirectory() as profile, sync_playwright() as p:
        for _ in range(args.repeats):
            for name in results:  # a fresh browser per measurement: no cache carried over
                ctx = p.chromium.launch_persistent_context(
                    tempfile.mkdtemp(dir=profile),
                    executable_path=exe,
                    headless=True,
                    args=[
                        "--no-sandbox",
                        "--disable-gpu",
                        "--disable-background-networking",
                        "--no-first-run",
                        "--allow-file-access-from-files",
                    ],
                )
                try:
                    if name == "view":
                        r = bench_view(ctx, qa, traj, traj_index)
                    elif name == "static":
                        r = bench_static(ctx, site, ids["qa"], ids["traj"], traj_index)
                    else:
                        r = bench_whole_file(ctx, args.workdir, qa, traj, traj_index)
                finally:
                    ctx.close()
                results[name].append(r)
                print(name, r, flush=True)
    med = {k: median(v) for k, v in results.items()}
    report = {
        "inputs": {
            "qa": args.qa,
            "qa_mb": round(qa.stat().st_size / 1e6, 1),
            "traj": args.traj,
            "steps": args.steps,
            "traj_mb": round(traj.stat().st_size / 1e6, 1),
        },
        "median": med,
        "runs": results,
        "static_export_s": round(export_s, 1),
        "repeats": args.repeats,
        "ratio_whole_file_over_view": {
            "qa_list": round(med["whole_file"]["qa_list_s"] / med["view"]["qa_list_s"], 2),
            "qa_list_page_only": round(med["whole_file"]["qa_list_s"] / med["view"]["qa_list_page_only_s"], 2),
            "trajectory": round(med["whole_file"]["trajectory_s"] / med["view"]["trajectory_s"], 2),
            "trajectory_static": round(med["whole_file"]["trajectory_s"] / med["static"]["trajectory_s"], 2),
        },
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
    }
    print(json.dumps(report["median"], indent=1), json.dumps(report["ratio_whole_file_over_view"]))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
