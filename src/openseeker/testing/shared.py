"""Where the shared, externally-authored test data lives (``../shared/data`` beside the repo), and a skip marker.

The location is the one the commands use (``eval.loaders.base.data_root``: ``$OPENSEEKER_DATA``,
``$OPENSEEKER_SHARED/data``, then beside the checkout). Tests that need it skip with a reason when it is absent.
"""

from __future__ import annotations

import pytest

from openseeker.eval.loaders.base import data_root

SHARED_DATA = data_root()

requires_shared = pytest.mark.skipif(
    not SHARED_DATA.exists(), reason=f"{SHARED_DATA} is absent (shared data not checked out beside the repo)"
)
