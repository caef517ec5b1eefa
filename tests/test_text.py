"""The one CJK character class (openseeker.text): each range by its first and last character, and its neighbours."""

from __future__ import annotations

import pytest

from openseeker.text import CJK_CHAR, has_cjk, is_cjk, words

RANGES = {  # block: (first, last)
    "Hiragana + Katakana": (0x3040, 0x30FF),
    "Bopomofo": (0x3100, 0x312F),
    "CJK Extension A": (0x3400, 0x4DBF),
    "CJK Unified Ideographs": (0x4E00, 0x9FFF),
    "Hangul Syllables": (0xAC00, 0xD7AF),
    "CJK Compatibility Ideographs": (0xF900, 0xFAFF),
    "Extensions B-F": (0x20000, 0x2FFFF),
}


@pytest.mark.parametrize("block", sorted(RANGES))
def test_every_range_is_cjk_at_both_ends(block):
    first, last = RANGES[block]
    for cp in (first, (first + last) // 2, last):
        assert is_cjk(chr(cp)), f"{block}: U+{cp:04X}"


@pytest.mark.parametrize(
    "cp",
    [0x303F, 0x3000, 0x3001, 0x3130, 0x33FF, 0x4DC0, 0xABFF, 0xD7B0, 0xF8FF, 0xFB00, 0xFF0C, 0x1FFFF, 0x30000, 0x1100],
)
def test_neighbours_and_punctuation_are_not(cp):
    # CJK punctuation (U+3000-303F), fullwidth comma, Hangul Jamo (what NFKD makes of syllables), the planes around
    assert not is_cjk(chr(cp)), f"U+{cp:04X}"


def test_examples():
    assert has_cjk("Eiffel 埃菲尔") and has_cjk("東京タワー") and has_cjk("서울") and has_cjk("𠀀")
    assert not has_cjk("Gustave Eiffel, né à Dijon") and not has_cjk("") and not has_cjk(None)
    assert not has_cjk("Москва") and not has_cjk("القاهرة")
    assert CJK_CHAR.findall("a北b京") == ["北", "京"]


def test_the_stages_use_this_class():
    # regression: five copies with different ranges made a character CJK in one stage and not in another
    from openseeker.synth.qa import text as qa_text
    from openseeker.web.live import search_backends
    from openseeker.web.search import snippets

    assert qa_text.has_cjk is has_cjk and search_backends.has_cjk is has_cjk and snippets.is_cjk is is_cjk
    # Extension B ideographs were CJK for live search but not for QA shingles; now for both
    assert qa_text.tokens("𠀀𠀁 Toyota") == ["𠀀", "𠀁", "toyota"]


def test_words_split_cjk_into_characters_and_nothing_else():
    assert words("长城 Great Wall, 2,000 km。東京") == ["长", "城", "Great", "Wall", "2", "000", "km", "東", "京"]
    # text without CJK: exactly the runs of word characters
    for text in ("naïve café_au-lait, 3.5 km", "", "  ,;  ", "Straße\u00a0über\tÄrger"):
        import re

        assert words(text) == re.findall(r"\w+", text)
