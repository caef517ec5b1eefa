"""Text helpers every stage shares: which characters are CJK.

Chinese and Japanese are written without spaces between words, so the stages treat each CJK character as a word
of its own (snippet terms, QA shingles and key terms, EM/F1 in the judge) and switch a live search backend to a
Chinese locale when a query contains CJK text. One character class serves all of them, so a character counts
as CJK in every stage or in none.

The one deliberate exception is the search index's tokenizer (``web/search/index.py``, a tantivy regex): it splits Han
and kana per character but keeps Hangul words whole (Korean separates words with spaces), and changing it would
change every index already built.

Example:
    >>> has_cjk("Eiffel 埃菲尔"), is_cjk("北"), is_cjk("e")
    (True, True, False)
"""

from __future__ import annotations

import re

# The ranges, one per line of the class below (Unicode blocks):
#   3040-30FF   Hiragana, Katakana
#   3100-312F   Bopomofo
#   3400-4DBF   CJK Unified Ideographs Extension A
#   4E00-9FFF   CJK Unified Ideographs
#   AC00-D7AF   Hangul Syllables
#   F900-FAFF   CJK Compatibility Ideographs
#   20000-2FFFF Supplementary and Tertiary Ideographic Planes (Extensions B-F, Compatibility Supplement)
# Punctuation (CJK Symbols and Punctuation 3000-303F, fullwidth forms) is not CJK text: it separates words.
CJK_CLASS = "\u3040-\u30ff\u3100-\u312f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002ffff"
CJK_CHAR = re.compile(f"[{CJK_CLASS}]")


def has_cjk(text: str | None) -> bool:
    """True when ``text`` contains a Chinese, Japanese or Korean character."""
    return bool(text) and CJK_CHAR.search(text) is not None


def is_cjk(text: str) -> bool:
    """True when ``text`` starts with a CJK character (a single character, or a token's first one)."""
    return CJK_CHAR.match(text) is not None


_WORD_OR_CJK = re.compile(f"[{CJK_CLASS}]|(?:(?![{CJK_CLASS}])\\w)+")


def words(text: str) -> list[str]:
    """The words of ``text`` (runs of word characters), each CJK character a word of its own: Chinese and
    Japanese have no spaces, so a whole sentence would otherwise be one word."""
    return _WORD_OR_CJK.findall(text)
