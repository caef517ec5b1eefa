"""A tiny local web embedded with the packaged all-MiniLM-L6-v2 (offline), for dense / hybrid retrieval tests.

Eight pages whose wording leaves room between lexical and semantic matches ("tallest peak on the planet" shares no
word with the Mount Everest page). Needs the 'dense' extra; callers skip without it
(``pytest.importorskip("faiss")``).
"""

from __future__ import annotations

import json
from pathlib import Path

from openseeker.web.build import build_web
from openseeker.web.search.dense import embed_web

PAGES = [
    ("Sahara", "The Sahara is the largest hot desert in the world, covering most of North Africa."),
    ("Gobi Desert", "The Gobi is a large cold desert and grassland region in Mongolia and northern China."),
    ("Amazon rainforest", "The Amazon is a moist broadleaf tropical rainforest in the Amazon basin of South America."),
    ("Violin", "The violin is a wooden string instrument played with a bow; it is the smallest of its family."),
    ("Piano", "The piano is a keyboard instrument whose strings are struck by hammers."),
    ("Mount Everest", "Mount Everest is Earth's highest mountain above sea level, in the Himalayas."),
    ("Pacific Ocean", "The Pacific Ocean is the largest and deepest of Earth's five oceanic divisions."),
    ("Honey bee", "Honey bees are eusocial flying insects known for building wax nests and making honey."),
]


def build_dense_web(directory: str | Path, *, embed: bool = True, default: str | None = None) -> Path:
    """Build ``PAGES`` into ``directory/web`` (BM25) and, with ``embed``, its dense index (``web embed``;
    ``default`` becomes the web's default retrieval). Returns the web directory."""

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    src = d / "c.jsonl"
    src.write_text("".join(json.dumps({"title": t, "text": x}) + "\n" for t, x in PAGES), encoding="utf-8")
    build_web(src, d / "web", progress=False, derive_links=False)
    if embed:
        embed_web(d / "web", progress=False, default=default)
    return d / "web"
