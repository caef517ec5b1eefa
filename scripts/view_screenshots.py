"""Regenerate the screenshots of docs/view.md: a small run made by the real pipeline stages
(``openseeker.testing.pipeline_run``), shown by ``openseeker view`` in headless Chromium, saved as small PNGs.

    python scripts/view_screenshots.py            # writes docs/img/view-*.png (needs chromium + playwright)
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "img"

PAGES = [  # (file name, route, clip height)
    ("view-qa-sample", "#/ds/{qa}/0", 1120),
    ("view-yield", "#/ds/{rejected}", 640),
    ("view-rejection", "#/ds/{rejected}?f.reason=answer_leak", 900),
    ("view-trajectory", "#/ds/{traj}/0?view=teacher", 760),
    ("view-eval", "#/ds/{eval}", 700),
    ("view-compare", "#/compare/{eval}/{eval_b}", 420),
]


def main() -> None:
    from PIL import Image
    from playwright.sync_api import sync_playwright

    from openseeker.testing.pipeline_run import make_pipeline_run
    from openseeker.view.data import Catalog
    from openseeker.view.server import ViewServer

    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        sys.exit("needs Debian's chromium (apt-get install chromium)")
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "demo"
        make_pipeline_run(run)
        cat = Catalog.open([run])
        ids = {
            "qa": "qa-qa-jsonl",
            "rejected": "rejected-qa-rejected-jsonl",
            "traj": "traj-trajectories-teacher-jsonl",
            "eval": "eval-eval",
            "eval_b": "eval-eval-b",
        }
        assert all(v in cat.datasets for v in ids.values()), list(cat.datasets)
        with ViewServer(cat, port=0) as srv, sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=exe,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
            )
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            for name, route, height in PAGES:
                page.goto(srv.url + route.format(**ids))
                page.wait_for_function("document.body.dataset.ready === '1'")
                if name == "view-qa-sample":
                    page.click("[data-testid=cite] >> nth=0")
                if name == "view-rejection":  # the first example of the reason, one click away
                    page.click("[data-testid=row] >> nth=0")
                    page.wait_for_function("document.body.dataset.ready === '1'")
                page.wait_for_timeout(400)
                raw = Path(tmp) / f"{name}.png"
                page.screenshot(path=str(raw), full_page=True)
                img = Image.open(raw).convert("RGB")
                img = img.crop((0, 0, img.width, min(height, img.height)))
                img = img.resize((img.width * 3 // 4, img.height * 3 // 4), Image.LANCZOS)
                img.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(OUT / f"{name}.png", optimize=True)
                print(OUT / f"{name}.png", (OUT / f"{name}.png").stat().st_size // 1024, "KB")
            browser.close()


if __name__ == "__main__":
    main()
