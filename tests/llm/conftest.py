"""Fixtures for the LLM client tests: a fresh cache dir, the cache enabled, fast backoff."""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

from openseeker.llm.config import endpoint_config
from openseeker.llm.pool import LLMPool

sys.path.insert(0, str(Path(__file__).parent))  # llm_helpers


@pytest.fixture(autouse=True)
def _isolated_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("OPENSEEKER_NO_CACHE", raising=False)
    monkeypatch.setenv("OPENSEEKER_CACHE_DIR", str(tmp_path / "llm-cache"))


@pytest.fixture(params=["aiohttp", "openai"])
def transport(request):
    """Every client test runs on both HTTP transports."""
    if request.param == "aiohttp" and importlib.util.find_spec("aiohttp") is None:
        pytest.skip("aiohttp is not installed (pip install aiohttp)")
    return request.param


@pytest.fixture
def make_pool(tmp_path, transport):
    """``async with make_pool(srv.base_url, **endpoint_settings) as pool`` - every role on the scripted server."""

    @contextlib.asynccontextmanager
    async def _make(base_url: str, model: str = "m", **settings: Any):
        settings.setdefault("transport", transport)
        settings.setdefault("backoff_s", 0.01)
        settings.setdefault("max_retries", 3)
        settings.setdefault("cache_dir", str(tmp_path / "cache"))
        async with LLMPool(endpoint_config(base_url, model, **settings)) as pool:
            yield pool

    return _make
