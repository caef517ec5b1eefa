"""Answer exact match and token F1, in two named styles.

``hotpot`` - exactly the answer metrics of HotpotQA's official ``hotpot_evaluate_v1.py`` (hotpotqa/hotpot), used
for HotpotQA and MuSiQue and, as the field's usual SQuAD-style EM, for every non-CJK benchmark:

- normalize: lowercase; *delete* ASCII punctuation (``string.punctuation``: ``1,000`` == ``1000``, ``U.S.`` ==
  ``US``, ``O'Brien`` == ``OBrien``; non-ASCII punctuation such as ``’`` or ``–`` stays); replace the words
  ``a``/``an``/``the`` by a space; collapse whitespace. Nothing else (no Unicode folding).
- EM: the normalized strings are equal (two answers that normalize to nothing are equal).
- F1: whitespace tokens; if either side normalizes to ``yes``, ``no`` or ``noanswer`` and the two differ, F1 is 0
  (``yes, it is`` vs ``yes`` scores 0, not 0.5); no shared token scores 0.

``cjk`` - ours, for Chinese/Japanese/Korean benchmarks where the official rules see a whole sentence as one
token: NFKC, lowercase, punctuation and symbols of any script turned into spaces, English articles removed,
spaces between CJK characters dropped; F1 counts each CJK character as a token.

With several gold answers (aliases) a prediction scores its best over them (SQuAD's
``metric_max_over_ground_truths``); hotpot_evaluate_v1 itself has one gold answer per question.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Iterable

from openseeker.text import CJK_CHAR, is_cjk

HOTPOT = "hotpot"
CJK = "cjk"
STYLES = (HOTPOT, CJK)
METRIC_VERSIONS = {HOTPOT: "hotpot_evaluate_v1", CJK: "cjk-em/v1"}
_CJK_LANGUAGES = ("zh", "ja", "ko")


def style_for_language(language: str | None) -> str:
    """The answer-metric style of a benchmark item's language: ``cjk`` for zh/ja/ko, else ``hotpot``."""
    lang = (language or "").lower()
    return (
        CJK
        if any(lang == c or lang.startswith(c + "-") or lang.startswith(c + "_") for c in _CJK_LANGUAGES)
        else HOTPOT
    )


def _golds(golds: str | Iterable[str]) -> list[str]:
    if isinstance(golds, str):
        return [golds]
    return [g for g in golds if g is not None]


# --------------------------------------------------------------------------- hotpot (official)

_ASCII_PUNCT = set(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def hotpot_normalize(text: str | None) -> str:
    s = (text or "").lower()
    s = "".join(ch for ch in s if ch not in _ASCII_PUNCT)
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


def hotpot_em_one(pred: str | None, gold: str) -> bool:
    return hotpot_normalize(pred) == hotpot_normalize(gold)


def hotpot_f1_one(pred: str | None, gold: str) -> tuple[float, float, float]:
    """``(f1, precision, recall)`` of one gold answer."""
    p, g = hotpot_normalize(pred), hotpot_normalize(gold)
    special = ("yes", "no", "noanswer")
    if (p in special or g in special) and p != g:
        return 0.0, 0.0, 0.0
    common = Counter(p.split()) & Counter(g.split())
    same = sum(common.values())
    if same == 0:
        return 0.0, 0.0, 0.0
    precision, recall = same / len(p.split()), same / len(g.split())
    return 2 * precision * recall / (precision + recall), precision, recall


# --------------------------------------------------------------------------- cjk (ours)


def cjk_normalize(text: str | None) -> str:
    if not text:
        return ""
    s = unicodedata.normalize("NFKC", str(text)).lower()
    s = "".join(" " if (unicodedata.category(ch).startswith(("P", "S")) or ch in _ASCII_PUNCT) else ch for ch in s)
    s = _ARTICLES.sub(" ", s)
    s = " ".join(s.split())
    return re.sub(rf"(?<={CJK_CHAR.pattern}) (?={CJK_CHAR.pattern})", "", s)  # "北 京" == "北京"


def cjk_tokens(text: str | None) -> list[str]:
    """Whitespace words of the CJK-normalized text, every CJK character a token of its own."""
    out: list[str] = []
    for word in cjk_normalize(text).split():
        buf = ""
        for ch in word:
            if is_cjk(ch):
                if buf:
                    out.append(buf)
                    buf = ""
                out.append(ch)
            else:
                buf += ch
        if buf:
            out.append(buf)
    return out


def cjk_em_one(pred: str | None, gold: str) -> bool:
    p = cjk_normalize(pred)
    return bool(p) and p == cjk_normalize(gold)


def cjk_f1_one(pred: str | None, gold: str) -> float:
    p, g = cjk_tokens(pred), cjk_tokens(gold)
    if not p or not g:
        return float(p == g and bool(p))
    same = sum((Counter(p) & Counter(g)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(g)
    return 2 * precision * recall / (precision + recall)


# --------------------------------------------------------------------------- both


def _check(style: str) -> None:
    if style not in STYLES:
        raise ValueError(f"unknown answer-metric style {style!r} (choose from {', '.join(STYLES)})")


def exact_match(pred: str | None, golds: str | Iterable[str], style: str = HOTPOT) -> bool:
    """True when the prediction equals any gold answer after the style's normalization."""
    _check(style)
    one = hotpot_em_one if style == HOTPOT else cjk_em_one
    return any(one(pred, g) for g in _golds(golds))


def token_f1(pred: str | None, golds: str | Iterable[str], style: str = HOTPOT) -> float:
    """Best token F1 over the gold answers under the style's rules."""
    _check(style)
    scores = [hotpot_f1_one(pred, g)[0] if style == HOTPOT else cjk_f1_one(pred, g) for g in _golds(golds)]
    return max(scores, default=0.0)
