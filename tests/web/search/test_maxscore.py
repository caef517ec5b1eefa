"""Top k without the frequent terms' posting lists (openseeker.web.search.maxscore): the same pages as the full query,
whether the split is taken or the full query runs."""

from __future__ import annotations

import random

import pytest

from openseeker.web.search import maxscore
from openseeker.web.search.index import IndexSettings, SearchIndex


def _docs(n: int = 3000):
    rng = random.Random(3)
    words = [f"word{i}" for i in range(60)]
    for i in range(n):
        body = ["everywhere"] * rng.randint(1, 6) + rng.sample(words, 8)  # "everywhere": in every page
        if i % 150 == 0:
            body += ["needle"] * rng.randint(1, 3)  # in 20 pages (under maxscore.FREQUENT_SHARE)
        if i == 7:
            body.append("unique")
        yield f"https://ex.org/{i}", f"page {i}", " ".join(body)


@pytest.fixture(scope="module", params=[0.0, 2.0], ids=["no-title-clause", "title-boost"])
def index(request, tmp_path_factory):
    return SearchIndex.build(
        tmp_path_factory.mktemp("m") / "index",
        _docs(),
        progress=False,
        heap_mb=20,
        settings=IndexSettings(title_boost=request.param),
    )


def _full(ix: SearchIndex, terms: list[str], k: int):
    return ix._searcher.search(ix._query(terms), limit=k, count=False).hits


def _key(hits):
    return [(round(score, 4), a.segment_ord, a.doc) for score, a in hits]


@pytest.mark.parametrize(
    "query",
    [
        "everywhere needle",
        "needle everywhere word3",
        "everywhere unique",
        "everywhere",
        "needle word5",
        "needle unique",
    ],
)
@pytest.mark.parametrize("k", [1, 10, 40])
def test_same_top_k_as_the_full_query(index, query, k):
    terms = index.query_terms(query)
    assert _key(index._top(terms, k)) == _key(_full(index, terms, k))


def test_the_split_is_taken_when_it_is_provably_exact(index):
    """ "needle" pages outscore anything "everywhere" alone can give: the rare list decides the top 10; "unique"
    is in one page, so a top 10 needs pages without it and the full query runs."""
    assert index._top_without_frequent_lists(index.query_terms("everywhere needle"), 10) is not None
    assert index._top_without_frequent_lists(index.query_terms("everywhere unique"), 10) is None
    assert index._top_without_frequent_lists(index.query_terms("needle unique"), 10) is None  # nothing frequent


def test_bounds_are_above_any_single_term_score(index):
    """The bound of a term is above the score of its best page (a query of that term alone)."""
    n = len(index)
    for term in index.query_terms("everywhere needle word3 unique"):
        best = _full(index, [term], 1)[0][0]
        assert maxscore.upper_bound(index._clause_doc_freqs(term), n) > best


def test_split_rules():
    df = {"a": 500, "b": 3, "c": 5}.get
    assert maxscore.split_frequent(["a", "b", "c"], df, 600) == (["b", "c"], ["a"])
    assert maxscore.split_frequent(["b", "c"], df, 600) is None
    assert maxscore.split_frequent(["a"], df, 600) is None
