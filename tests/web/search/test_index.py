"""SearchIndex: build/open round trip, ranking, snippets, robustness to user text, persistence."""

from __future__ import annotations

import json

import pytest

from openseeker.errors import UserError
from openseeker.web.search.index import META_FILE, IndexSettings, SearchIndex
from openseeker.web.search.snippets import fold, make_snippet

FILLER = (
    "The committee met on several occasions during the year to review the budget and the schedule. "
    "Members discussed routine matters, approved the minutes and adjourned without further business. "
)

DOCS = [
    ("https://ex.org/Paris", "Paris", "Paris is the capital and largest city of France, on the river Seine."),
    ("https://ex.org/Lyon", "Lyon", "Lyon is a city in France known for its cuisine and silk weaving history."),
    (
        "https://ex.org/Volcano",
        "Volcano",
        FILLER * 3
        + "A volcano erupts when magma reaches the surface; eruptions of volcanoes shape islands. "
        + FILLER * 3,
    ),
    ("https://ex.org/Tokyo", "東京", "東京は日本の首都です。Tokyo is the capital of Japan."),
    (
        "https://ex.org/Cafe",
        "Café",
        "Un café est un établissement où l'on sert des boissons. París y Bogotá en español.",
    ),
    ("https://ex.org/Empty", "Empty page", ""),
] + [(f"https://ex.org/F{i}", f"Filler {i}", FILLER) for i in range(20)]


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> SearchIndex:
    return SearchIndex.build(tmp_path_factory.mktemp("w") / "index", iter(DOCS), progress=False, heap_mb=20)


def test_round_trip_and_len(index, tmp_path):
    assert len(index) == len(DOCS)
    hits = index.search("capital of France", top_k=3)
    assert hits[0].url == "https://ex.org/Paris"
    assert hits[0].title == "Paris"
    assert hits[0].score > 0
    assert all(hits[i].score >= hits[i + 1].score for i in range(len(hits) - 1))


def test_title_boost_ranks_title_match_first(tmp_path):
    docs = [
        ("u:1", "Seine", "A river."),
        ("u:2", "Rivers", "The Seine flows through Paris. Many rivers exist. Rivers rivers rivers."),
    ]
    idx = SearchIndex.build(tmp_path / "i", docs, progress=False, heap_mb=20, settings=IndexSettings(title_boost=3.0))
    assert idx.search("seine")[0].url == "u:1"
    flat = SearchIndex.build(tmp_path / "j", docs, progress=False, heap_mb=20, settings=IndexSettings(title_boost=1.0))
    assert flat.search("seine")[0].url == "u:1"  # the title field alone already outweighs text mentions
    boosted_gap = idx.search("seine")[0].score - idx.search("seine")[1].score
    flat_gap = flat.search("seine")[0].score - flat.search("seine")[1].score
    assert boosted_gap > flat_gap


def test_snippet_is_the_window_with_query_terms(index):
    hit = index.search("volcano eruptions", top_k=1)[0]
    assert hit.url == "https://ex.org/Volcano"
    assert "volcano" in hit.snippet.lower() and "eruptions" in hit.snippet.lower()
    assert hit.snippet.startswith("...") and hit.snippet.endswith("...")  # not the lead: cut on both sides
    assert len(hit.snippet) <= 250 + 6


def test_stemming_and_accent_folding(index):
    assert index.search("volcanoes")[0].url == "https://ex.org/Volcano"
    assert index.search("cafe")[0].url == "https://ex.org/Cafe"
    assert index.search("paris bogota")[0].url in {"https://ex.org/Cafe", "https://ex.org/Paris"}
    assert "https://ex.org/Cafe" in [h.url for h in index.search("bogota")]


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   ",
        '"unbalanced quote',
        "title:Paris",
        "url:(x OR y",
        "AND OR NOT",
        "a AND (b OR",
        "*?~^+-!{}[]\\/",
        "capital:::France)))",
        "the of and",
        "x" * 10_000,
        " ".join(f"word{i}" for i in range(2000)),
        "\x00\ud7ff emoji 🎉",
        "lone surrogate \ud800 capital",
    ],
)
def test_weird_queries_do_not_raise(index, query):
    hits = index.search(query, top_k=5)
    assert isinstance(hits, list) and len(hits) <= 5


def test_operators_are_plain_words(index):
    assert index.search("title:Paris")[0].url == "https://ex.org/Paris"
    assert index.search('"capital" AND (France)')[0].url == "https://ex.org/Paris"


def test_empty_query_gives_no_hits(index):
    assert index.search("") == []
    assert index.search("capital", top_k=0) == []


def test_cjk(index):
    hits = index.search("東京", top_k=3)
    assert hits and hits[0].url == "https://ex.org/Tokyo"
    assert "東京" in hits[0].snippet
    assert index.search("首都")[0].url == "https://ex.org/Tokyo"


def test_top_k_honoured(index):
    for k in (1, 3, 7):
        assert len(index.search("committee budget", top_k=k)) == k
    assert len(index.search("committee budget", top_k=100)) == 21  # 20 fillers + the volcano page
    assert len(index.search("committee budget", top_k=10**12)) == 21


def test_search_many_matches_search(index):
    queries = ["capital", "", "silk weaving", "volcano"]
    many = index.search_many(queries, top_k=2)
    assert [[h.url for h in hs] for hs in many] == [[h.url for h in index.search(q, 2)] for q in queries]


def test_persistence_after_reopen(index):
    again = SearchIndex.open(index.directory)
    assert len(again) == len(index)
    before = [h.model_dump() for h in index.search("france city")]
    assert [h.model_dump() for h in again.search("france city")] == before
    assert again.settings == index.settings


def test_settings_persist(tmp_path):
    settings = IndexSettings(title_boost=3.0, stemmer=None, stopwords=None)
    SearchIndex.build(tmp_path / "i", DOCS[:3], progress=False, heap_mb=20, settings=settings)
    idx = SearchIndex.open(tmp_path / "i")
    assert idx.settings == settings
    assert idx.search("the", top_k=1)  # no stop words: "the" is searchable
    assert json.loads((tmp_path / "i" / META_FILE).read_text())["docs"] == 3


def test_refuses_existing_and_incomplete(tmp_path, index):
    with pytest.raises(UserError, match="already holds"):
        SearchIndex.build(index.directory, DOCS[:1], progress=False)
    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    with pytest.raises(UserError, match="not a search index"):
        SearchIndex.build(other, DOCS[:1], progress=False, overwrite=True)
    assert (other / "keep.txt").exists()
    with pytest.raises(UserError, match="no index"):
        SearchIndex.open(tmp_path / "missing")
    rebuilt = SearchIndex.build(tmp_path / "r", DOCS[:2], progress=False, heap_mb=20)
    rebuilt = SearchIndex.build(rebuilt.directory, DOCS[2:3], progress=False, heap_mb=20, overwrite=True)
    assert len(rebuilt) == 1


def test_lone_surrogates_in_documents_are_replaced(tmp_path):
    idx = SearchIndex.build(tmp_path / "i", [("u:\udc80", "Bad \ud800 title", "text \udfff here")], progress=False)
    hits = idx.search("bad title text")
    assert [h.url for h in hits] == ["u:?"] and hits[0].title == "Bad ? title"


def test_bad_document_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="document 2"):
        SearchIndex.build(tmp_path / "i", [("u", "t", "x"), ("", "t", "x")], progress=False, heap_mb=20)
    with pytest.raises(UserError, match="document 1"):
        SearchIndex.build(tmp_path / "j", ["not a tuple"], progress=False, heap_mb=20)


def test_make_snippet_picks_densest_window():
    text = "alpha " * 100 + "beta gamma beta gamma delta " + "alpha " * 100
    snip = make_snippet(text, ["beta", "gamma", "delta"], 80)
    assert "beta gamma beta gamma delta" in snip
    assert len(snip) <= 80 + 6
    assert make_snippet("short text", ["zzz"]) == "short text"
    lead = make_snippet("word " * 200, ["zzz"], 50)
    assert lead.startswith("word") and lead.endswith("...")


def test_fold_keeps_length():
    for s in ["Café Zürich Øre straße", "İstanbul", "東京"]:
        assert len(fold(s)) == len(s)
    assert fold("Bogotá") == "bogota"
