"""The second hop of hybrid search (``web.feedback``): expansion terms from the first results, and the merge that
keeps the fused upper half."""

from __future__ import annotations

from openseeker.web.build import build_web
from openseeker.web.search.feedback import feedback_terms, second_hop
from openseeker.web.search.index import SearchIndex


def test_second_hop_keeps_the_upper_half_and_never_repeats():
    assert second_hop(["a", "b", "c", "d"], ["c", "x", "a", "y"], 4) == ["a", "b", "c", "x"]
    assert second_hop(["a", "b", "c"], ["x", "y"], 5) == ["a", "b", "c", "x", "y"]
    assert second_hop(["a", "b"], [], 2) == ["a", "b"]
    assert second_hop(["a", "b", "c", "d", "e"], ["z"], 5)[:3] == ["a", "b", "c"]


def test_feedback_terms_are_telling_index_terms_of_the_pages(tmp_path):
    import json

    rows = [
        {"title": "Gustave Eiffel", "text": "Gustave Eiffel was a civil engineer born in Dijon. Dijon Dijon."},
        {"title": "Dijon", "text": "Dijon is a city in Burgundy, France, known for mustard."},
    ]
    rows += [{"title": f"Filler {i}", "text": f"A city in France with an engineer, number {i}."} for i in range(20)]
    src = tmp_path / "c.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    build_web(src, tmp_path / "web", progress=False, derive_links=False)
    index = SearchIndex.open(tmp_path / "web" / "index")
    terms = feedback_terms(
        index,
        ["Gustave Eiffel\nGustave Eiffel was a civil engineer born in Dijon. Dijon."],
        "Where was the engineer Gustave Eiffel born?",
    )
    assert terms[0] == "dijon"  # frequent in the page, rare in the web, not in the question
    assert not {"gustav", "eiffel", "engin", "born", "the", "was"} & set(terms)  # the question's own, stop words
    assert "citi" not in terms  # absent from the page
    assert feedback_terms(index, [], "anything") == []
