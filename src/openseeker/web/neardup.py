"""Near-duplicate pages (``web build/add --dedup near``): MinHash + LSH over word shingles (datasketch).

Exact dedup (``build._Dedup``) drops the same url and, for crawls, the same text. Crawls also hold copies that
differ a little: a mirror with its own header and footer, the same article with a few words edited, a page cut
short. Those have a high Jaccard similarity of their word 5-gram sets; MinHash estimates it from 128 hash
minima and LSH (banding) finds, among the pages kept so far, those likely above the threshold without comparing
against each of them. A page whose LSH query returns a candidate is dropped as ``near-duplicate text``.

Settings (``SHINGLE``, ``THRESHOLD``, ``NUM_PERM``, ``SEED``) were chosen by a measurement on real pages (the
Kiwix and enwiki samples and MuSiQue paragraphs; docs/web.md "Near-duplicate pages"): word 5-grams and a
Jaccard threshold of 0.5 keep every genuinely different page of the same topic (their largest pairwise Jaccard
was 0.40) and catch ~90 % of reworded copies.

Deterministic: the permutations come from ``SEED`` and the shingle hash is CRC-32, so the same page stream gives
the same decisions in every process and run. The decisions depend on the order pages arrive in, so the check
runs where that order is fixed: in the one sequential pass of ``build._import`` (the parent, after the parallel
merge), which makes 1 and N workers drop the same pages.

Memory: the LSH keeps one 8-byte key per band per page (``hashfunc`` compresses the band) plus the dict
overhead of datasketch's in-memory storage, ~1 KB a page (measured: benchmarks/bench_import.py ``neardup``).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from typing import Any

from openseeker.errors import UserError

SHINGLE = 5  # words per shingle
THRESHOLD = 0.5  # estimated Jaccard of the shingle sets above which a page is a near-duplicate
NUM_PERM = 128
SEED = 1
EXTRA = "dedup"  # the pyproject extra that installs datasketch
MODES = ("exact", "near")

_WORD = re.compile(r"\w+")


def require_datasketch() -> Any:
    """The ``datasketch`` module, or a one-line error saying which extra installs it."""
    try:
        import datasketch
    except ImportError:
        raise UserError(f"--dedup near needs the datasketch library: pip install 'openseeker[{EXTRA}]' "
                        "(or pip install datasketch)") from None
    return datasketch


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise UserError(f"--dedup must be one of {', '.join(MODES)}, got {mode!r}")
    if mode == "near":
        require_datasketch()
    return mode


def shingles(text: str, k: int = SHINGLE) -> set[bytes]:
    """Case-folded word ``k``-grams of ``text`` (punctuation ignored); a text shorter than ``k`` words is one
    shingle (so two short pages match only when their words are the same)."""
    words = _WORD.findall(text.casefold())
    return {" ".join(words[i:i + k]).encode("utf-8", "surrogatepass") for i in range(max(1, len(words) - k + 1))}


def _band_key(b: bytes) -> bytes:
    """An LSH band (r 8-byte hash values) shortened to 8 bytes: the index's memory per page."""
    return zlib.crc32(b).to_bytes(4, "little") + zlib.adler32(b).to_bytes(4, "little")


class NearDup:
    """The pages kept so far, as an LSH index; ``seen(text)`` says whether a text is a near-duplicate of one
    of them and otherwise remembers it."""

    def __init__(self, threshold: float = THRESHOLD, shingle: int = SHINGLE, num_perm: int = NUM_PERM,
                 seed: int = SEED):
        ds = require_datasketch()
        self._minhash, self.threshold, self.shingle, self.num_perm, self.seed = (
            ds.MinHash, threshold, shingle, num_perm, seed)
        self.lsh = ds.MinHashLSH(threshold=threshold, num_perm=num_perm, hashfunc=_band_key)
        self.size = 0

    def signature(self, text: str) -> Any:
        m = self._minhash(num_perm=self.num_perm, seed=self.seed, hashfunc=zlib.crc32)
        m.update_batch(list(shingles(text, self.shingle)))
        return m

    def seen(self, text: str) -> bool:
        """True when ``text`` is a near-duplicate of a page kept so far; else it is kept (remembered)."""
        sig = self.signature(text)
        if self.lsh.query(sig):
            return True
        self.lsh.insert(self.size, sig, check_duplication=False)
        self.size += 1
        return False

    def add_all(self, texts: Iterable[str]) -> int:
        """Remember pages already in a web (``web add``, or a resumed add) without checking them."""
        n = 0
        for text in texts:
            self.lsh.insert(self.size, self.signature(text), check_duplication=False)
            self.size += 1
            n += 1
        return n

    def settings(self) -> dict[str, Any]:
        """What ``web.json`` records about the detector (``import.near_dedup``)."""
        from openseeker.provenance import package_versions

        return {"method": "minhash-lsh", "shingle_words": self.shingle, "threshold": self.threshold,
                "num_perm": self.num_perm, "seed": self.seed, "bands": self.lsh.b, "rows": self.lsh.r,
                **package_versions(("datasketch",), missing=False)}
