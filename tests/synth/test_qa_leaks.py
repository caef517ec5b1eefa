"""The leak check catches an answer whose distinctive words are all in the question, in every language the QA
prompts write in; generic heads (people, river, film, 人, 族...) do not count, and a question that shares only some
of the answer's distinctive words is not a leak. Built from a sample the demo once accepted: "Which indigenous
people are Māori?" -> "Māori people"."""

from __future__ import annotations

import pytest

from openseeker.synth.qa.text import distinctive_terms
from openseeker.synth.qa.verify import check_leaks

LEAKS = [
    ("en", "Which indigenous people are Māori?", "Māori people"),
    ("en", "Which river drains the Amazon basin?", "Amazon River"),
    ("en", "Which battle was fought near Hastings in 1066?", "Battle of Hastings"),
    ("en", "Which film tells the story of the Titanic?", "Titanic (1997 film)"),
    ("en", "Which people are the Maoris?", "Māori people"),  # an inflected form
    ("es", "¿Qué pueblo indígena es el maorí?", "Pueblo maorí"),
    ("fr", "Quel peuple autochtone est maori ?", "Peuple maori"),
    ("de", "Welches Volk sind die Maori?", "Maori-Volk"),
    ("zh", "哪个原住民群体是毛利？", "毛利人"),
    ("ja", "どの先住民がマオリですか？", "マオリ族"),
]
CLEAN = [
    ("en", "Which people settled New Zealand first?", "Māori people"),
    ("en", "Which city is named after an English cathedral town, York?", "New York City"),  # "new" is not in it
    ("en", "Which state's capital hosted the games?", "Georgia (U.S. state)"),
    ("es", "¿Qué pueblo llegó primero a Nueva Zelanda?", "Pueblo maorí"),
    ("zh", "哪个民族最早定居新西兰？", "毛利人"),
    ("ja", "ニュージーランドに最初に住んだ民族は？", "マオリ族"),
]


@pytest.mark.parametrize("lang,question,answer", LEAKS)
def test_all_distinctive_words_in_the_question_is_a_leak(lang, question, answer):
    fail = check_leaks(question, answer, [])
    assert fail is not None and fail.stage == "leak", (lang, question, answer)


@pytest.mark.parametrize("lang,question,answer", CLEAN)
def test_some_or_none_of_them_is_not(lang, question, answer):
    assert check_leaks(question, answer, []) is None, (lang, question, answer)


def test_generic_heads_are_not_distinctive():
    assert distinctive_terms("Māori people") == ["maori"]
    assert distinctive_terms("Amazon River") == ["amazon"]
    assert distinctive_terms("毛利人") == ["毛利"]
    assert distinctive_terms("People") == []  # nothing distinctive: no word check (the name check still applies)
