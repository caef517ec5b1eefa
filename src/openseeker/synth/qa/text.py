"""Small text utilities shared by the stages: normalization, key terms, grounding, containment, shingles."""

from __future__ import annotations

import re
import unicodedata

from openseeker.text import has_cjk

STOPWORDS = frozenset(
    """a an the and or but of in on at to for from by with as is are was were be been being it its this that these
    those which who whom whose what when where why how not no also into than then there their they he she his her
    him them we our you your i me my one has have had do does did can could would should may might will shall
    about after before between during over under such other more most some any all each both only very so if
    first second known called including following statement statements true false correct best possible
    question answer""".split()
)

_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def fold(text: str) -> str:
    """Case-fold and strip accents (NFKD), keep letters/digits/CJK, collapse whitespace."""
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return " ".join(_WORD.findall(text))


def tokens(text: str) -> list[str]:
    """Word tokens of folded text; CJK runs are split into single characters."""
    out: list[str] = []
    for w in fold(text).split():
        if has_cjk(w):
            out.extend(ch for ch in w)
        else:
            out.append(w)
    return out


def key_terms(text: str) -> list[str]:
    """Content words: no stopwords, at least 3 characters (numbers and CJK characters always count)."""
    return [t for t in tokens(text) if t.isdigit() or has_cjk(t) or (len(t) >= 3 and t not in STOPWORDS)]


def grounding(claim: str, source: str) -> float:
    """Fraction of the claim's key terms that occur in the source text (1.0 = every key term is there).

    A cheap hallucination filter, not entailment: it catches invented names, numbers and dates, not a wrong
    relation between words that do occur in the source.
    """
    terms = set(key_terms(claim))
    if not terms:
        return 0.0
    src = set(tokens(source))
    # prefix match for inflections ("composed" vs "composer"), on terms of 5+ characters
    stems = {t[:5] for t in src if len(t) >= 5}
    hit = sum(1 for t in terms if t in src or (len(t) >= 5 and t[:5] in stems))
    return hit / len(terms)


def contains(haystack: str, needle: str) -> bool:
    """Whole-word containment after folding (substring containment for CJK)."""
    h, n = fold(haystack), fold(needle)
    if not n:
        return False
    if has_cjk(n):
        return n.replace(" ", "") in h.replace(" ", "")
    return f" {n} " in f" {h} "


def name_variants(name: str) -> list[str]:
    """A name and its short forms: without a trailing parenthetical and before the first comma.

    "Georgia (U.S. state)" -> ["Georgia (U.S. state)", "Georgia"]; "Paris, Texas" -> ["Paris, Texas", "Paris"]
    (a leak of the short form still gives the answer away).
    """
    out = [name.strip()]
    base = re.sub(r"\s*\([^)]*\)\s*$", "", name).strip()
    if base and base not in out:
        out.append(base)
    head = base.split(",")[0].strip()
    if head and head not in out and len(head) >= 3:
        out.append(head)
    return out


def shingles(text: str, n: int = 3) -> set[str]:
    """Word n-gram shingles (character n-grams for CJK text)."""
    toks = tokens(text)
    if len(toks) < n:
        return {" ".join(toks)} if toks else set()
    return {" ".join(toks[i : i + n]) for i in range(len(toks) - n + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)
