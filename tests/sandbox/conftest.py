"""Sandbox fixtures: the real bwrap backend, with small limits so the attacks end quickly.

Every test that needs bwrap skips, saying why, where bwrap cannot run (not installed, no user namespaces).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from openseeker.errors import UserError
from openseeker.sandbox.bwrap import BwrapBackend
from openseeker.sandbox.settings import SandboxSettings

sys.path.insert(0, str(Path(__file__).parent))  # sandbox_helpers (pytest runs in importlib mode)

LIMITS = dict(timeout_s=4, cpu_s=3, memory_mb=1024, processes=64, file_mb=10, output_mb=8)


@pytest.fixture
def limits() -> SandboxSettings:
    return SandboxSettings(backend="bwrap", **LIMITS)


@pytest.fixture
def bwrap_backend(limits) -> BwrapBackend:
    backend = BwrapBackend(limits)
    try:
        backend.check()
    except UserError as exc:
        pytest.skip(f"bwrap cannot run here: {exc}")
    return backend
