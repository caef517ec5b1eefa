"""Fixtures of the viewer's tests: a run folder written by the real pipeline stages, and headless Chromium."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory) -> Path:
    from openseeker.testing.pipeline_run import make_pipeline_run

    out = tmp_path_factory.mktemp("view") / "run"
    make_pipeline_run(out)
    return out


def chromium_path() -> str | None:
    for cand in (os.environ.get("OPENSEEKER_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if cand and shutil.which(cand):
            return shutil.which(cand)
    return None


def browser_unavailable(reason: str) -> None:
    """Skip - or fail where the browser is required: ``scripts/test.sh`` (the README's test command, which
    installs chromium) sets ``OPENSEEKER_REQUIRE_BROWSER=1``, so the browser tests cannot silently skip on a fresh
    machine (they once did, on every one, while their message said the install did it)."""
    if os.environ.get("OPENSEEKER_REQUIRE_BROWSER") == "1":
        pytest.fail(f"the browser tests are required here (OPENSEEKER_REQUIRE_BROWSER=1) but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium driven by Playwright through the system binary (no browser download).

    Module-scoped on purpose: Playwright's sync API keeps an event loop running in the main thread while it is
    open, which would break ``asyncio.run`` in every test collected after it."""
    exe = chromium_path()
    if exe is None:
        browser_unavailable(
            "there is no chromium binary (install Debian's `chromium`: scripts/install.sh --dev does it as root)"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        browser_unavailable("the playwright package is missing (pip install playwright; scripts/install.sh --dev)")
    import tempfile

    with tempfile.TemporaryDirectory(prefix="osv-chrome-") as profile, sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            profile,
            executable_path=exe,
            headless=True,
            viewport={"width": 1300, "height": 900},
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
        )
        yield ctx
        ctx.close()


@pytest.fixture(scope="session")
def shots(tmp_path_factory) -> Path:
    """Where screenshots go: $OPENSEEKER_VIEW_SHOTS, else a folder under pytest's tmp dir (printed at the end)."""
    d = Path(os.environ.get("OPENSEEKER_VIEW_SHOTS") or tmp_path_factory.mktemp("view-screenshots"))
    d.mkdir(parents=True, exist_ok=True)
    return d
