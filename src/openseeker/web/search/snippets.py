"""Query-relevant snippets: the window of a page's text with the most query-term hits.

Pure Python, no tantivy: the index hands us the analysed query terms (lowercased, accent-folded, stemmed) and
we find where they occur in the raw text. A text word matches a term when its folded lowercase form starts with
the term (so the stem ``citi`` matches ``cities`` and ``citizens``, the stem ``run`` matches ``running``);
terms shorter than three characters must match a whole word. CJK terms (single characters in our analyser)
match anywhere. The window is chosen by (number of distinct terms in it, number of hits), then snapped to word
boundaries and marked with ``...`` where text was cut.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from openseeker.text import is_cjk

__all__ = ["fold", "make_snippet"]


@lru_cache(maxsize=1)
def _fold_table() -> dict[int, str]:
    """A length-preserving accent-folding table (one char in, one char out) for Latin-script letters."""
    table: dict[int, str] = {}
    for cp in range(0x00C0, 0x0250):
        ch = chr(cp)
        base = unicodedata.normalize("NFKD", ch)[:1]
        if base and base != ch and base.isascii() and base.isalpha():
            table[cp] = base
    # A few letters without a decomposition that the tantivy ascii-folding filter still maps.
    extra = {"ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ł": "l", "Ł": "L", "ß": "s", "æ": "a", "Æ": "A"}
    for ch, base in extra.items():
        table[ord(ch)] = base
    return table


@lru_cache(maxsize=1)
def _foldable() -> re.Pattern[str]:
    """Any character the folding table maps: without one, folding is plain lowercasing."""
    return re.compile("[" + "".join(re.escape(chr(cp)) for cp in sorted(_fold_table())) + "]")


def fold(text: str) -> str:
    """Lowercase and accent-fold ``text`` keeping its length, so offsets stay valid."""
    if _foldable().search(text) is None:  # nothing to fold (most pages): skip the per-character table look-up
        return text.lower()
    out = text.translate(_fold_table()).lower()
    return out if len(out) == len(text) else text.lower()  # rare length-changing lowercase (e.g. 'İ'): skip folding


@lru_cache(maxsize=256)
def _term_pattern(terms: tuple[str, ...]) -> re.Pattern[str] | None:
    """One regex for all query ``terms``, made once per query (a search makes a snippet for each of its hits).

    At one position the alternatives are tried longest term first; each is a named group ``t<i>``. A CJK term
    matches anywhere, any other only at a word start (a term shorter than 3 characters as a whole word, a longer
    one as a word prefix). Every alternative starts with its term's first character as a plain literal and checks
    the word start after it (``(?<!\\w[\\s\\S])`` one character on is ``(?<!\\w)`` before it): the regex
    engine then jumps straight to the positions holding a possible first character instead of trying every
    alternative at every position (several times faster on a page; the same matches).
    """
    parts = []
    for t in sorted(set(terms), key=len, reverse=True):
        if not t:
            continue
        first, rest = re.escape(t[0]), re.escape(t[1:])
        name = f"t{len(parts)}"
        if is_cjk(t):
            parts.append(f"{first}(?P<{name}>{rest})")
        elif len(t) < 3:
            parts.append(f"{first}(?<!\\w[\\s\\S])(?P<{name}>{rest}(?!\\w))")
        else:
            parts.append(f"{first}(?<!\\w[\\s\\S])(?P<{name}>{rest}\\w*)")
    if not parts:
        return None
    return re.compile("|".join(parts))


def _hits(text: str, terms: list[str]) -> list[tuple[int, int, str]]:
    """(start, end, term) of every occurrence of a query term in ``text``."""
    pattern = _term_pattern(tuple(terms))
    if pattern is None:
        return []
    folded = fold(text)
    return [(m.start(), m.end(), m.lastgroup or "") for m in pattern.finditer(folded)]


def _snap_start(text: str, pos: int) -> int:
    if pos <= 0:
        return 0
    # Prefer a sentence start within 60 chars before pos, else the next word start.
    window = text[max(0, pos - 60) : pos]
    cut = max(window.rfind(". "), window.rfind("? "), window.rfind("! "))
    if cut >= 0:
        return max(0, pos - 60) + cut + 2
    while pos > 0 and not text[pos - 1].isspace():
        pos -= 1
    return pos


def _snap_end(text: str, pos: int) -> int:
    if pos >= len(text):
        return len(text)
    while pos > 0 and not text[pos - 1].isspace() and pos < len(text) and not text[pos].isspace():
        pos -= 1
    return pos


def make_snippet(text: str, terms: list[str], max_chars: int = 250) -> str:
    """The ~``max_chars`` window of ``text`` that covers the most distinct query ``terms`` (then most hits).

    Falls back to the lead of the text when no term occurs in it (e.g. the page matched on its title only).
    Whitespace is collapsed; ``...`` marks a cut at either end.
    """
    text = " ".join(text.split())
    if len(text) <= max_chars:
        return text
    hits = _hits(text, terms)
    best_start = 0
    if hits:
        best = (-1, -1)
        j = 0
        counts: dict[str, int] = {}
        for i in range(len(hits)):  # window = hits[i..j) all starting within max_chars of hits[i]
            while j < len(hits) and hits[j][1] - hits[i][0] <= max_chars:
                counts[hits[j][2]] = counts.get(hits[j][2], 0) + 1
                j += 1
            key = (len(counts), j - i)
            if key > best:
                best = key
                span_end = hits[j - 1][1] if j > i else hits[i][1]
                slack = max(0, max_chars - (span_end - hits[i][0]))
                best_start = max(0, hits[i][0] - min(slack // 2, 60))
            if i < j:
                term = hits[i][2]
                counts[term] -= 1
                if not counts[term]:
                    del counts[term]
    start = _snap_start(text, best_start)
    end = min(len(text), start + max_chars)
    if end < len(text):
        end = _snap_end(text, end) or end
    if end - start < max_chars // 2:  # pathological (very long token): cut hard
        end = min(len(text), start + max_chars)
    out = text[start:end].strip()
    if start > 0:
        out = "..." + out
    if end < len(text):
        out = out.rstrip(" ,;:") + "..."
    return out
