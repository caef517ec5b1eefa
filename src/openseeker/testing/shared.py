"""Where the shared, externally-authored test data lives (``../shared/data`` beside the repo), and a skip marker.

Override with ``OPENSEEKER_SHARED=/path/to/shared``. Tests that need it skip with a reason when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

_REPO = Path(__file__).resolve().parents[3]
SHARED = Path(os.environ.get("OPENSEEKER_SHARED", _REPO.parent / "shared"))
SHARED_DATA = SHARED / "data"


def __getattr__(name: str) -> Any:
    """``requires_shared``, the skip marker, built on first use: this module ships in the wheel (the eval loaders
    find the shared data through it) and must import without pytest, which only the tests have."""
    if name == "requires_shared":
        import pytest

        return pytest.mark.skipif(
            not SHARED_DATA.exists(), reason=f"{SHARED_DATA} is absent (shared data not checked out beside the repo)"
        )
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
