"""Near-duplicate pages (``web build/add --dedup near``): MinHash + LSH over word shingles (datasketch).

Exact dedup (``build._Dedup``) drops the same url and, for crawls, the same text. Crawls also hold copies that
differ a little: a mirror with its own header and footer, the same article with a few words edited, a page cut
short. Those have a high Jaccard similarity of their word 5-gram sets; MinHash estimates it from 128 hash
minima and LSH (banding) finds, among the pages kept so far, those likely above the threshold without comparing
against each of them. A page whose candidate's signature agrees on at least the threshold share of values is
dropped as ``near-duplicate text``.

Settings (``SHINGLE``, ``THRESHOLD``, ``NUM_PERM``, ``SEED``) were chosen by a measurement on real pages (the
Kiwix and enwiki samples and MuSiQue paragraphs; docs/web.md "Near-duplicate pages"): word 5-grams and a
Jaccard threshold of 0.5 kept every genuinely different page of the set (precision 1.0; pages of one topic
included) and caught 92 % of the reworded copies.

Deterministic: the permutations come from ``SEED`` and the shingle hash is CRC-32, so the same page stream gives
the same decisions in every process and run. The decisions depend on the order pages arrive in, so the check
runs where that order is fixed: in the one sequential pass of ``build._import`` (the parent, after the parallel
merge), which makes 1 and N workers drop the same pages. The costly part, the signature of a text, depends on
the text alone: parallel workers compute it and write it with the page (``KeyedPage``).

Memory: per kept page its signature (128 x 4 bytes) and an entry per band (25 at the default threshold) in a
dict; measured in benchmarks/bench_import.py ``neardup`` (docs/web.md "Near-duplicate pages").
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
    """A page of a parallel import's merged stream with its MinHash signature, computed by the worker that parsed
    it."""

    page: Page
    signature: list[int]


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


_CHUNK = 1 << 16  # kept signatures are stored in blocks of this many rows


class NearDup:
    """The pages kept so far; ``seen(text)`` says whether a text is a near-duplicate of one of them and
    otherwise remembers it.

    datasketch makes the MinHash signatures and chooses the banding (``bands`` x ``rows`` minimising the false
    positive and negative areas for the threshold). A page sharing a band with a kept page is a candidate; it
    is a near-duplicate when the two signatures agree on at least ``threshold`` of their values (the MinHash
    estimate of their Jaccard similarity). Without that check a band shared by chance drops pages far below
    the threshold: short pages whose text is mostly the same licence footer, measured at Jaccard 0.36-0.48 on
    the Kiwix sample. Kept here rather than in datasketch's ``MinHashLSH`` (which keeps a set object per key per
    band and a key list per page, 7.5 KB a page): one dict from each band key to the first kept page with it,
    and the signatures as uint32 rows of numpy blocks (benchmarks/bench_import.py ``neardup``: bytes a page)."""

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
        self._need = threshold * num_perm  # agreeing values for an estimated Jaccard >= threshold
        self._first: dict[int, int] = {}  # band key -> the first kept page with it
        self._blocks: list[np.ndarray] = []  # kept signatures, _CHUNK rows each
        self.size = 0

    def signature(self, text: str) -> np.ndarray:
        """The MinHash of the text's shingles: ``num_perm`` values below 2**32 (uint32); what a parallel
        import's worker writes with the page."""
        import numpy as np

        m = self._minhash(num_perm=self.num_perm, seed=self.seed, hashfunc=zlib.crc32)
        m.update_batch(list(shingles(text, self.shingle)))
        return m.hashvalues.astype(np.uint32)

    def band_keys(self, sig: np.ndarray) -> list[int]:
        """One 64-bit key per band: the band's ``rows`` values mixed with odd multipliers (mod 2**64) and the
        band's number, so the same values in two different bands give different keys."""
        import numpy as np

        hv = sig[: self.bands * self.rows].astype(np.uint64).reshape(self.bands, self.rows)
        with np.errstate(over="ignore"):
            keys = (hv * self._mix).sum(axis=1, dtype=np.uint64) ^ self._band_ids
        return keys.tolist()

    def seen(self, text: str, signature: Any = None) -> bool:
        """True when ``text`` is a near-duplicate of a page kept so far; else it is kept (remembered).
        ``signature``: ``signature(text)`` computed elsewhere (a parallel import's worker)."""
        import numpy as np

        sig = self.signature(text) if signature is None else np.asarray(signature, dtype=np.uint32)
        keys = self.band_keys(sig)
        for page in sorted({self._first[k] for k in keys if k in self._first}):
            if np.count_nonzero(self._blocks[page // _CHUNK][page % _CHUNK] == sig) >= self._need:
                return True
        self._keep(sig, keys)
        return False

    def add_all(self, texts: Iterable[str]) -> int:
        """Remember pages already in a web (``web add``, or a resumed add) without checking them."""
        n = 0
        for text in texts:
            sig = self.signature(text)
            self._keep(sig, self.band_keys(sig))
            n += 1
        return n

    def _keep(self, sig: np.ndarray, keys: list[int]) -> None:
        import numpy as np

        row = self.size % _CHUNK
        if row == 0:
            self._blocks.append(np.empty((_CHUNK, self.num_perm), dtype=np.uint32))
        self._blocks[-1][row] = sig
        for k in keys:
            self._first.setdefault(k, self.size)
        self.size += 1

    def settings(self) -> dict[str, Any]:
        """What ``web.json`` records about the detector (``import.near_dedup``)."""
        from openseeker.provenance import package_versions

        return {"method": "minhash-lsh-verified", "shingle_words": self.shingle, "threshold": self.threshold,
                "num_perm": self.num_perm, "seed": self.seed, "bands": self.bands, "rows": self.rows,
                **package_versions(("datasketch",), missing=False)}
