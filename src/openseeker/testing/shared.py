"""Where the shared, externally-authored test data lives (``../shared/data`` beside the repo), and a skip marker.

The location is the one the commands use (``eval.loaders.base.data_root``: ``$OPENSEEKER_DATA``,
``$OPENSEEKER_SHARED/data``, then beside the checkout). Tests that need it skip with a reason when it is absent.
"""

from __future__ import annotations

from typing import Any

from openseeker.eval.loaders.base import data_root

SHARED_DATA = data_root()


def __getattr__(name: str) -> Any:
    """``requires_shared``, the skip marker, built on first use: this module ships in the wheel (the eval loaders
    find the shared data through it) and must import without pytest, which only the tests have."""
    if name == "requires_shared":
        import pytest

        return pytest.mark.skipif(
            not SHARED_DATA.exists(), reason=f"{SHARED_DATA} is absent (shared data not checked out beside the repo)"
        )
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
