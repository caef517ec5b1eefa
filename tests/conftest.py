"""Shared fixtures. Tests that need ../shared/data skip with a reason when it is absent.

Import the marker as ``from openseeker.testing.shared import requires_shared, SHARED_DATA``.

The whole run is loopback-only: ``pytest_configure`` installs ``openseeker.testing.netguard``, so a test that
tries to reach any other address (or resolve any other name) fails with a message saying so, instead of silently
depending on the network. ``OPENSEEKER_TEST_NETWORK=1`` turns the guard off (for debugging only).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from openseeker.testing.shared import SHARED_DATA, requires_shared  # noqa: F401  (re-exported for tests)


def pytest_configure(config):
    if os.environ.get("OPENSEEKER_TEST_NETWORK") != "1":
        from openseeker.testing import netguard

        netguard.install()


@pytest.fixture(autouse=True)
def _no_network_llm(monkeypatch):
    """Tests never reach a real remote LLM or search API: keys from the environment are removed."""
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "SERPER_API_KEY", "TAVILY_API_KEY", "JINA_API_KEY"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(autouse=True)
def _private_llm_cache(tmp_path_factory, monkeypatch):
    """No test reads or writes a developer's response cache (~/.cache/openseeker)."""
    monkeypatch.setenv("OPENSEEKER_CACHE_DIR", str(tmp_path_factory.mktemp("llm-cache")))


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"{SHARED_DATA} is absent")
    return SHARED_DATA
