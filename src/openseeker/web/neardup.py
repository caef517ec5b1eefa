"""Near-duplicate pages (``web build/add --dedup near``): MinHash + LSH over word shingles (datasketch).

Exact dedup (``build._Dedup``) drops the same url and, for crawls, the same text. Crawls also hold copies that
differ a little: a mirror with its own header and footer, the same article with a few words edited, a page cut
short. Those have a high Jaccard similarity of their word 5-gram sets; MinHash estimates it from 128 hash
minima and LSH (banding) finds, among the pages kept so far, those likely above the threshold without comparing
against each of them. A page whose candidate's signature agrees on at least the threshold share of values is
dropped as ``near-duplicate text``.

Settings (``SHINGLE``, ``THRESHOLD``, ``NUM_PERM``, ``SEED``) were chosen by a measurement on real pages (the
Kiwix and enwiki samples and MuSiQue paragraphs; benchmarks/import.md "Near-duplicate detection"): word 5-grams and a
Jaccard threshold of 0.5 kept every genuinely different page of the set (precision 1.0; pages of one topic
included) and caught 92 % of the reworded copies.

Deterministic: the permutations come from ``SEED`` and the shingle hash is CRC-32, so the same page stream gives
the same decisions in every process and run. The decisions depend on the order pages arrive in, so the check
runs where that order is fixed: in the one sequential pass of ``build._import`` (the parent, after the parallel
merge), which makes 1 and N workers drop the same pages. The costly part, the signature of a text, depends on
the text alone: parallel workers compute it and write it with the page (``KeyedPage``).

Memory: per kept page its signature (128 x 4 bytes) and a 4-byte slot per band (25 at the default threshold)
in a hash table at most half full, whose keys are recomputed from the signatures: ~0.9 KB a page at 1M pages,
~9 GB at 10M; measured in benchmarks/bench_import.py ``neardup_memory`` (benchmarks/import.md).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openseeker.errors import UserError
from openseeker.provenance import package_versions
from openseeker.records import Page
from openseeker.text import words as text_words

if TYPE_CHECKING:
    import numpy as np

SHINGLE = 5  # words per shingle
THRESHOLD = 0.5  # estimated Jaccard of the shingle sets above which a page is a near-duplicate
NUM_PERM = 128
SEED = 1
EXTRA = "dedup"  # the pyproject extra that installs datasketch
MODES = ("exact", "near")


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
        raise UserError(
            f"--dedup near needs the datasketch library: pip install 'openseeker[{EXTRA}]' (or pip install datasketch)"
        ) from None
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
    words = text_words(text.casefold())
    return {" ".join(words[i : i + k]).encode("utf-8", "surrogatepass") for i in range(max(1, len(words) - k + 1))}


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


class _Signatures:
    """The kept pages' signatures: one C-contiguous ``uint32`` array, page number -> row, so the rows of any set
    of pages are one fancy index. It grows by a quarter with ``ndarray.resize`` (``realloc``: on Linux a large
    block is moved by ``mremap``, without a copy or a transient second array)."""

    def __init__(self, width: int):
        import numpy as np

        self.rows = np.empty((1024, width), dtype=np.uint32)
        self.size = 0

    def append(self, sig: np.ndarray) -> int:
        if self.size == len(self.rows):  # no view of ``rows`` is ever held, so the in-place resize is safe
            self.rows.resize((len(self.rows) + len(self.rows) // 4, self.rows.shape[1]), refcheck=False)
        self.rows[self.size] = sig
        self.size += 1
        return self.size - 1


class _DictBands:
    """The plain reference: a dict from each band key to the first kept page with it (~2.7-3.3 KB a page with the
    signature: a 36-byte int object per key plus the dict's slots). ``NearDup(store="dict")``; the tests and
    benchmarks/bench_import.py ``neardup`` compare the table below with it."""

    def __init__(self, owner: NearDup):
        self._first: dict[int, int] = {}

    def candidates(self, keys: np.ndarray) -> list[int]:
        return [self._first[k] for k in keys.tolist() if k in self._first]

    def add(self, keys: np.ndarray, page: int) -> None:
        for k in keys.tolist():
            self._first.setdefault(k, page)


_EMPTY = 0xFFFFFFFF  # an unused slot of a uint32 table (a uint64 table, past 2**32 codes, uses 2**64 - 1)
_WIDEN_AT = _EMPTY  # codes from here on need a uint64 table
_GOLDEN = 0x9E3779B97F4A7C15  # Fibonacci hashing of a band key to its home slot


class _BandTable:
    """Band key -> the first kept page with it, the same mapping as ``_DictBands`` (the same candidates, hence
    the same decisions) in ~4 bytes a slot: an open-addressing table (linear probing, at most half full) of
    ``page * bands + band`` codes. Keys are not stored: a slot's key is recomputed from the kept signature it
    points to (``rows`` values of it), which the verification keeps in memory anyway. At 25 bands that is 200-400
    bytes a page (power-of-two table sizes) besides the 512 bytes of the signature.

    Lookups and inserts are vectorised over the page's keys: each probe reads a window of ``WINDOW`` slots per
    key, so a page's 25 keys are nearly always resolved in one round of numpy calls."""

    WINDOW = 8
    MAX_LOAD = 0.5

    def __init__(self, owner: NearDup):
        import numpy as np

        self._sigs, self._b, self._r = owner._sigs, owner.bands, owner.rows
        self._mix, self._band_ids = owner._mix, owner._band_ids
        self._cols, self._width = np.arange(self._r), owner.num_perm
        self._window = np.arange(self.WINDOW)
        self._new(16, np.uint32)
        self._last: tuple[Any, Any, Any] | None = None  # (keys, codes, slots) of the last ``candidates``

    def _new(self, bits: int, dtype: Any) -> None:
        import numpy as np

        self.bits, self.count = bits, 0
        self.empty = dtype(_EMPTY if dtype == np.uint32 else (1 << 64) - 1)
        self.slots = np.full(1 << bits, self.empty, dtype=dtype)

    def _home(self, keys: np.ndarray) -> np.ndarray:
        import numpy as np

        return ((keys * np.uint64(_GOLDEN)) >> np.uint64(64 - self.bits)).astype(np.int64)

    def _keys_of(self, codes: np.ndarray) -> np.ndarray:
        """The band keys of stored codes (1-d int64), recomputed from the kept signatures."""
        import numpy as np

        page = codes // self._b
        band = codes - page * self._b
        flat = (page * self._width + band * self._r)[:, None] + self._cols
        vals = self._sigs.rows.reshape(-1).take(flat)  # a transient view: nothing resizes the rows meanwhile
        return (vals.astype(np.uint64) * self._mix).sum(axis=1, dtype=np.uint64) ^ self._band_ids[band]

    def _find(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per key: the code stored for it (-1 when absent) and its slot (the first free slot of its probe
        sequence when absent: where it is inserted)."""
        import numpy as np

        n, mask, w = len(keys), (1 << self.bits) - 1, self.WINDOW
        pos, codes_out, slots_out = self._home(keys), np.empty(n, np.int64), np.empty(n, np.int64)
        todo = np.arange(n)
        while todo.size:
            idx = (pos[todo, None] + self._window) & mask
            raw = self.slots[idx]
            stop = raw == self.empty
            codes = np.where(stop, -1, raw.astype(np.int64))
            full = np.nonzero(~stop.reshape(-1))[0]
            if full.size:
                stop.reshape(-1)[full] = self._keys_of(codes.reshape(-1)[full]) == keys[todo[full // w]]
            hit, first = stop.any(axis=1), stop.argmax(axis=1)
            at = np.nonzero(hit)[0]
            slots_out[todo[at]] = idx[at, first[at]]
            codes_out[todo[at]] = codes[at, first[at]]
            todo = todo[~hit]
            pos[todo] += w
        return codes_out, slots_out

    def _insert(self, codes: np.ndarray, start: np.ndarray) -> None:
        """Place absent, distinct keys' codes, each probing on from its ``start`` slot; several keys reaching one
        free slot in a round: one takes it, the others probe on (as one-by-one insertion would)."""
        import numpy as np

        mask, pos, todo = (1 << self.bits) - 1, start.copy(), np.arange(len(codes))
        while todo.size:
            s = pos[todo] & mask
            free = self.slots[s] == self.empty
            taken, first = np.unique(s[free], return_index=True)
            winners = todo[free][first]
            self.slots[taken] = codes[winners]
            placed = np.zeros(len(codes), dtype=bool)
            placed[winners] = True
            todo = todo[~placed[todo]]
            pos[todo] += 1
        self.count += len(codes)

    def _grow(self, page: int) -> None:
        """Double the table (re-placing every code, its key recomputed) and widen it to uint64 codes when a code
        would no longer fit 32 bits (past ~171M pages at 25 bands)."""
        import numpy as np

        old, old_empty = self.slots, self.empty
        dtype = np.uint64 if (page + 1) * self._b >= _WIDEN_AT else self.slots.dtype.type
        self._new(self.bits + 1, dtype)
        for i in range(0, len(old), 1 << 20):
            codes = old[i : i + (1 << 20)]
            codes = codes[codes != old_empty].astype(np.int64)
            self._insert(codes.astype(dtype), self._home(self._keys_of(codes)))
        self._last = None

    def candidates(self, keys: np.ndarray) -> np.ndarray:
        codes, slots = self._find(keys)
        self._last = (keys, codes, slots)
        return codes[codes >= 0] // self._b

    def add(self, keys: np.ndarray, page: int) -> None:
        import numpy as np

        if self._last is None or self._last[0] is not keys:
            self.candidates(keys)
        _, codes, slots = self._last
        self._last = None
        # a key in two bands of one page (a 64-bit collision) is placed twice, harmlessly: both codes name this page
        absent = np.nonzero(codes < 0)[0]
        if not absent.size:
            return
        need_widen = self.slots.dtype == np.uint32 and (page + 1) * self._b >= _WIDEN_AT
        if need_widen or self.count + absent.size > self.MAX_LOAD * len(self.slots):
            self._grow(page)
            codes, slots = self._find(keys[absent])
            absent, slots = absent[codes < 0], slots[codes < 0]
        else:
            slots = slots[absent]
        new = (page * self._b + absent).astype(self.slots.dtype)
        if len(set(slots.tolist())) < len(slots):  # two keys ending at one free slot: one after the other
            self._insert(new, slots)
        else:
            self.slots[slots] = new
            self.count += len(new)


_STORES = {"table": _BandTable, "dict": _DictBands}


class NearDup:
    """The pages kept so far; ``seen(text)`` says whether a text is a near-duplicate of one of them and
    otherwise remembers it.

    datasketch makes the MinHash signatures and chooses the banding (``bands`` x ``rows`` minimising the false
    positive and negative areas for the threshold). A page sharing a band with a kept page is a candidate; it
    is a near-duplicate when the two signatures agree on at least ``threshold`` of their values (the MinHash
    estimate of their Jaccard similarity). Without that check a band shared by chance drops pages far below
    the threshold: short pages whose text is mostly the same licence footer, measured at Jaccard 0.36-0.48 on
    the Kiwix sample. Kept here rather than in datasketch's ``MinHashLSH`` (which keeps a set object per key per
    band and a key list per page, 7.5 KB a page): the signatures as rows of one uint32 array and, for each band
    key, the first kept page with it in a compact hash table (``store="table"``, ~0.9-1.1 KB a page with the
    signature) or a plain dict (``store="dict"``, the reference it is tested against, ~2.7-3.3 KB a page;
    benchmarks/bench_import.py ``neardup``)."""

    def __init__(
        self,
        threshold: float = THRESHOLD,
        shingle: int = SHINGLE,
        num_perm: int = NUM_PERM,
        seed: int = SEED,
        store: str = "table",
    ):
        import numpy as np

        ds = require_datasketch()
        self._minhash, self.threshold, self.shingle, self.num_perm, self.seed = (
            ds.MinHash,
            threshold,
            shingle,
            num_perm,
            seed,
        )
        lsh = ds.MinHashLSH(threshold=threshold, num_perm=num_perm)  # only for its choice of bands x rows
        self.bands, self.rows = lsh.b, lsh.r
        self._mix = _odd_constants(self.rows)
        self._band_ids = np.arange(self.bands, dtype=np.uint64) * np.uint64(0xD6E8FEB86659FD93)
        self._need = threshold * num_perm  # agreeing values for an estimated Jaccard >= threshold
        self._sigs = _Signatures(num_perm)
        self._index = _STORES[store](self)

    @property
    def size(self) -> int:
        """Pages kept so far."""
        return self._sigs.size

    def signature(self, text: str) -> np.ndarray:
        """The MinHash of the text's shingles: ``num_perm`` values below 2**32 (uint32); what a parallel
        import's worker writes with the page."""
        import numpy as np

        m = self._minhash(num_perm=self.num_perm, seed=self.seed, hashfunc=zlib.crc32)
        m.update_batch(list(shingles(text, self.shingle)))
        return m.hashvalues.astype(np.uint32)

    def band_keys(self, sig: np.ndarray) -> np.ndarray:
        """One 64-bit key per band (uint64): the band's ``rows`` values mixed with odd multipliers (mod 2**64)
        and the band's number, so the same values in two different bands give different keys."""
        import numpy as np

        hv = sig[: self.bands * self.rows].astype(np.uint64).reshape(self.bands, self.rows)
        return (hv * self._mix).sum(axis=1, dtype=np.uint64) ^ self._band_ids  # arrays wrap silently

    def seen(self, text: str, signature: Any = None) -> bool:
        """True when ``text`` is a near-duplicate of a page kept so far; else it is kept (remembered).
        ``signature``: ``signature(text)`` computed elsewhere (a parallel import's worker)."""
        import numpy as np

        sig = self.signature(text) if signature is None else np.asarray(signature, dtype=np.uint32)
        keys = self.band_keys(sig)
        pages = self._index.candidates(keys)
        if len(pages) and (np.count_nonzero(self._sigs.rows[pages] == sig, axis=1) >= self._need).any():
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

    def _keep(self, sig: np.ndarray, keys: np.ndarray) -> None:
        self._index.add(keys, self._sigs.append(sig))

    def settings(self) -> dict[str, Any]:
        """What ``web.json`` records about the detector (``import.near_dedup``)."""

        return {
            "method": "minhash-lsh-verified",
            "shingle_words": self.shingle,
            "threshold": self.threshold,
            "num_perm": self.num_perm,
            "seed": self.seed,
            "bands": self.bands,
            "rows": self.rows,
            **package_versions(("datasketch",), missing=False),
        }
