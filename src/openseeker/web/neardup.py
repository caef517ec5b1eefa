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
merge), which makes 1 and N workers drop the same pages. The costly part, the band keys of a text, depends on
the text alone: parallel workers compute it and write it with the page (``KeyedPage``).

Memory: one 64-bit key per band (25 bands at the default threshold) per kept page in a Python set, ~1.7 KB a
page (measured: benchmarks/bench_import.py ``neardup``): ~19 GB at 10M pages, so near-dedup of a web that size
needs most of a 24 GB machine; exact dedup alone costs ~200 bytes a page.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openseeker.errors import UserError
from openseeker.records import Page

if TYPE_CHECKING:
    import numpy as np

SHINGLE = 5  # words per shingle
THRESHOLD = 0.5  # estimated Jaccard of the shingle sets above which a page is a near-duplicate
NUM_PERM = 128
SEED = 1
EXTRA = "dedup"  # the pyproject extra that installs datasketch
MODES = ("exact", "near")

_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class KeyedPage:
    """A page of a parallel import's merged stream with its band keys, computed by the worker that parsed it."""

    page: Page
    band_keys: list[int]


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


def _odd_constants(n: int) -> np.ndarray:
    """``n`` fixed odd 64-bit multipliers (SplitMix64 of 1..n): plain integer arithmetic, so the band keys are
    the same with every numpy version."""
    import numpy as np

    out, mask = [], (1 << 64) - 1
    for i in range(1, n + 1):
        z = (i * 0x9E3779B97F4A7C15) & mask
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        out.append((z ^ (z >> 31)) | 1)
    return np.array(out, dtype=np.uint64)


class NearDup:
    """The pages kept so far, as LSH band keys; ``seen(text)`` says whether a text is a near-duplicate of one
    of them (shares a band) and otherwise remembers it.

    datasketch makes the MinHash signatures and chooses the banding (``bands`` x ``rows`` minimising the false
    positive and negative areas for the threshold); the band keys are kept here in one Python set of 64-bit
    ints rather than in datasketch's ``MinHashLSH``, which keeps a set object per key per band and a key list
    per page: measured 7.5 KB a page against ~1.7 KB here (benchmarks/bench_import.py ``neardup``). A kept page
    is never looked up by key, so the band keys are all that is needed."""

    def __init__(self, threshold: float = THRESHOLD, shingle: int = SHINGLE, num_perm: int = NUM_PERM,
                 seed: int = SEED):
        import numpy as np

        ds = require_datasketch()
        self._minhash, self.threshold, self.shingle, self.num_perm, self.seed = (
            ds.MinHash, threshold, shingle, num_perm, seed)
        lsh = ds.MinHashLSH(threshold=threshold, num_perm=num_perm)  # only for its choice of bands x rows
        self.bands, self.rows = lsh.b, lsh.r
        self._mix = _odd_constants(self.rows)
        self._band_ids = np.arange(self.bands, dtype=np.uint64) * np.uint64(0xD6E8FEB86659FD93)
        self._keys: set[int] = set()
        self.size = 0

    def signature(self, text: str) -> Any:
        m = self._minhash(num_perm=self.num_perm, seed=self.seed, hashfunc=zlib.crc32)
        m.update_batch(list(shingles(text, self.shingle)))
        return m

    def band_keys(self, text: str) -> list[int]:
        """One 64-bit key per band: the band's ``rows`` hash values mixed with odd multipliers (mod 2**64) and
        the band's number, so equal bands of different bands never collide by construction."""
        import numpy as np

        hv = self.signature(text).hashvalues[: self.bands * self.rows].reshape(self.bands, self.rows)
        with np.errstate(over="ignore"):
            keys = (hv * self._mix).sum(axis=1, dtype=np.uint64) ^ self._band_ids
        return keys.tolist()

    def seen(self, text: str, band_keys: list[int] | None = None) -> bool:
        """True when ``text`` is a near-duplicate of a page kept so far; else it is kept (remembered).
        ``band_keys``: ``band_keys(text)`` computed elsewhere (a parallel import's worker)."""
        keys = self.band_keys(text) if band_keys is None else band_keys
        if any(k in self._keys for k in keys):
            return True
        self._keys.update(keys)
        self.size += 1
        return False

    def add_all(self, texts: Iterable[str]) -> int:
        """Remember pages already in a web (``web add``, or a resumed add) without checking them."""
        n = 0
        for text in texts:
            self._keys.update(self.band_keys(text))
            self.size += 1
            n += 1
        return n

    def settings(self) -> dict[str, Any]:
        """What ``web.json`` records about the detector (``import.near_dedup``)."""
        from openseeker.provenance import package_versions

        return {"method": "minhash-lsh", "shingle_words": self.shingle, "threshold": self.threshold,
                "num_perm": self.num_perm, "seed": self.seed, "bands": self.bands, "rows": self.rows,
                **package_versions(("datasketch",), missing=False)}
