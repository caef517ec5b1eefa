"""EM / F1 under the official HotpotQA rules (hotpotqa/hotpot ``hotpot_evaluate_v1.py``) and our CJK style.

Expected ``(EM, F1)`` values come from running hotpot_evaluate_v1's ``exact_match_score`` / ``f1_score``
unmodified on these pairs (62 pairs, 0 disagreements with ``openseeker.metrics``); docs/eval.md.
"""

from __future__ import annotations

import pytest

from openseeker.metrics import (
    cjk_normalize,
    exact_match,
    hotpot_f1_one,
    hotpot_normalize,
    style_for_language,
    token_f1,
)

# (prediction, gold, official EM, official F1)
HOTPOT_PAIRS = [
    # punctuation is deleted, not turned into spaces
    ("1,000", "1000", 1, 1.0),
    ("U.S.", "US", 1, 1.0),
    ("O'Brien", "OBrien", 1, 1.0),
    ("A.B.C. Corp", "ABC Corp", 1, 1.0),
    ("co-operate", "cooperate", 1, 1.0),
    ("Dr. Who?", "dr who", 1, 1.0),
    ("I.B.M", "IBM", 1, 1.0),
    ("St. Louis", "St Louis", 1, 1.0),
    ("Mary's", "Marys", 1, 1.0),
    ("rock & roll", "rock roll", 1, 1.0),
    ("C++", "C", 1, 1.0),
    ("3.14", "314", 1, 1.0),
    ("$5", "5", 1, 1.0),
    ("50%", "50", 1, 1.0),
    ("-7", "7", 1, 1.0),
    ("(born 1950)", "1950", 0, 2 / 3),
    ("YES!", "yes", 1, 1.0),
    # ...but only ASCII punctuation
    ("O’Brien", "OBrien", 0, 0.0),
    ("“Hello”", "Hello", 0, 0.0),
    ("1–2", "12", 0, 0.0),
    ("Saint-Étienne", "Saint Étienne", 0, 0.0),
    ("Saint-Étienne", "SaintÉtienne", 1, 1.0),
    # yes / no / noanswer: F1 is 0 unless the normalized strings are equal
    ("yes, it is", "yes", 0, 0.0),
    ("Yes", "yes", 1, 1.0),
    ("yes.", "Yes", 1, 1.0),
    ("no", "yes", 0, 0.0),
    ("No, never", "no", 0, 0.0),
    ("noanswer", "no answer", 0, 0.0),
    ("no answer", "noanswer", 0, 0.0),
    ("noanswer", "noanswer", 1, 1.0),
    ("yes and no", "yes", 0, 0.0),
    ("no", "noanswer", 0, 0.0),
    # articles are words a/an/the only
    ("The Eiffel Tower", "Eiffel Tower", 1, 1.0),
    ("an apple", "apple", 1, 1.0),
    ("A", "a", 1, 0.0),
    ("the", "", 1, 0.0),
    ("The Who", "Who", 1, 1.0),
    ("Theater", "the ater", 0, 0.0),
    ("the the the", "a an", 1, 0.0),
    # tokens
    ("Paris, France", "Paris", 0, 2 / 3),
    ("Paris France", "France Paris", 0, 1.0),
    ("New York City", "new york", 0, 0.8),
    ("Barack Obama", "Obama", 0, 2 / 3),
    ("Apple Inc.", "Apple", 0, 2 / 3),
    ("12th", "12", 0, 0.0),
    ("  spaced   out ", "spaced out", 1, 1.0),
    ("tab\tseparated", "tab separated", 1, 1.0),
    ("3.5 million", "3,500,000", 0, 0.0),
    ("1990s", "the 1990's", 1, 1.0),
    ("1 000", "1000", 0, 0.0),
    ("", "", 1, 0.0),
    ("", "x", 0, 0.0),
    ("x", "", 0, 0.0),
    # unicode: lowercased, never folded
    ("Beyoncé", "Beyonce", 0, 0.0),
    ("Gödel", "GÖDEL", 1, 1.0),
    ("naïve café", "naive cafe", 0, 0.0),
    ("ΑΘΗΝΑ", "αθηνα", 1, 1.0),
    ("ß", "ss", 0, 0.0),
    ("Ｐａｒｉｓ", "Paris", 0, 0.0),
    ("北京", "北京", 1, 1.0),
    ("北京，中国", "北京中国", 0, 0.0),
    ("北京市", "北京", 0, 0.0),
]


def test_enough_pairs():
    assert len(HOTPOT_PAIRS) >= 42


@pytest.mark.parametrize("pred,gold,em,f1", HOTPOT_PAIRS)
def test_hotpot_rules(pred, gold, em, f1):
    assert exact_match(pred, gold, "hotpot") is bool(em)
    assert token_f1(pred, gold, "hotpot") == pytest.approx(f1)


def test_hotpot_details():
    assert hotpot_normalize("The  Eiffel-Tower!") == "eiffeltower"
    assert hotpot_f1_one("Paris France", "Paris") == pytest.approx((2 / 3, 0.5, 1.0))
    assert token_f1("x", ["y", "x"]) == 1.0 and exact_match("x", ["y", "X."])  # best over aliases


def test_cjk_style_is_separate():
    assert cjk_normalize("The  Eiffel-Tower!") == "eiffel tower"
    assert cjk_normalize("北 京，中国") == "北京中国"
    assert exact_match("北京，中国", "北京中国", "cjk") and not exact_match("北京，中国", "北京中国", "hotpot")
    assert not exact_match("", ["paris"], "cjk")
    assert token_f1("北京市", "北京", "cjk") == pytest.approx(0.8)  # character-level for CJK
    assert token_f1("上海", "北京", "cjk") == 0.0
    assert exact_match("Ｐａｒｉｓ", "Paris", "cjk")  # NFKC
    with pytest.raises(ValueError):
        exact_match("a", "a", "squad")


def test_style_for_language():
    assert style_for_language("zh") == "cjk" and style_for_language("zh-CN") == "cjk"
    assert style_for_language("en") == "hotpot" and style_for_language(None) == "hotpot"
