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


# The heads of names that say what kind of thing an answer is, not which one: "Māori people", "Amazon River",
# "Titanic (film)". An answer's other content words are its distinctive ones (``distinctive_terms``). The
# languages the QA prompts write in (prompts.LANG_INSTRUCTIONS); CJK heads are matched as suffixes.
GENERIC_HEADS = frozenset(
    """people peoples person tribe nation river rivers lake sea ocean bay island islands mountain mountains mount
    range valley desert city town village county district province state region country kingdom empire republic
    capital film movie album song single band group series season episode novel book poem play opera game
    language languages dialect family dynasty house clan party university college school academy institute
    company corporation museum church cathedral temple station airport bridge street road park war battle
    treaty award prize team club league
    peuple peuples fleuve rivière lac mer île ville village pays région royaume empire montagne film chanson
    langue famille guerre bataille université église
    pueblo pueblos río lago mar isla ciudad pueblo país región reino imperio montaña película canción novela
    lengua idioma familia guerra batalla universidad iglesia
    volk fluss stadt dorf reich berg lied sprache familie krieg schlacht universität kirche""".split()
)
CJK_HEADS = (
    "人", "族", "民族", "河", "江", "湖", "海", "岛", "山", "山脉", "市", "县", "省", "州", "国", "王国", "帝国", "城",
    "镇", "村", "语", "电影", "专辑", "歌曲", "乐队", "小说", "大学", "学院", "公司", "王朝", "家族", "战争", "战役",
    "寺", "教堂", "站", "机场", "桥", "奖",
    "川", "県", "町", "語", "映画", "島", "戦争", "会社", "アルバム",
)  # fmt: skip


def distinctive_terms(answer: str) -> list[str]:
    """The answer's content words that name *it* (``key_terms`` minus ``GENERIC_HEADS``): for a CJK answer, the
    answer itself with a generic head cut off its end ("毛利人" -> "毛利")."""
    if has_cjk(answer):
        core = fold(answer).replace(" ", "")
        for head in sorted(CJK_HEADS, key=len, reverse=True):
            if core.endswith(head) and len(core) - len(head) >= 2:
                core = core[: -len(head)]
                break
        return [core] if len(core) >= 2 else []
    return [t for t in dict.fromkeys(key_terms(answer)) if t not in GENERIC_HEADS]


def words_leak(question: str, answer: str) -> list[str] | None:
    """The answer's distinctive terms when *every* one of them occurs in the question (a word of 5+ letters also
    by its first five, for inflections: "Māori" / "Maoris"); None otherwise. "Which indigenous people are Māori?"
    with the answer "Māori people" gives ["maori"]: the name's only distinctive word is in the question."""
    terms = distinctive_terms(answer)
    if not terms:
        return None
    if has_cjk(answer):
        q = fold(question).replace(" ", "")
        return terms if all(t in q for t in terms) else None
    q_tokens = set(tokens(question))
    stems = {t[:5] for t in q_tokens if len(t) >= 5}
    hit = all(t in q_tokens or (len(t) >= 5 and t[:5] in stems) for t in terms)
    return terms if hit else None


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
