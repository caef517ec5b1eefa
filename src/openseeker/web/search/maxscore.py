"""Exact top-k BM25 without reading the long posting lists of frequent query terms (a MaxScore-style split).

Why: tantivy has block-max WAND, but the Python binding's ``Searcher.search`` always collects through a
``MultiCollector``, which scores every posting of every query term. At 10M pages a query's cost became linear in
the document frequency of its terms (measured: a term in every page 70 ms, one in 47k pages 0.44 ms;
benchmarks/webscale.md, "Readers at 1M and 10M").

How: a term's BM25 contribution to any page is below ``(1 + k1) * idf * boost`` (tantivy's BM25 with k1 = 1.2).
Split the query into *frequent* terms (in at least ``FREQUENT_SHARE`` of the pages) and the others (*rare*), and
ask tantivy for ``MUST(any rare term) + SHOULD(each frequent term)``: the same BM25 sum for every page holding a
rare term, computed by walking the short rare lists and seeking in the frequent ones. A page without any rare term
scores at most the sum of the frequent terms' bounds; when the k-th score found is above that sum, no such page can
enter the top k, and the answer is the full query's (same pages, same scores up to float rounding). Otherwise
(fewer than k hits, or a threshold under the bound) the full query runs: nothing is ever approximated.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

K1 = 1.2  # tantivy's BM25 k1
FREQUENT_SHARE = 0.01  # a term in at least this share of the pages is "frequent" (measured: 0.5-3% all similar)
SAFETY = 1.02  # bounds 2% high: tantivy counts idf over max_doc, which deleted documents could make larger


def idf(doc_freq: int, n_docs: int) -> float:
    """tantivy's BM25 idf."""
    return math.log(1.0 + (n_docs - doc_freq + 0.5) / (doc_freq + 0.5))


def upper_bound(doc_freqs: Sequence[tuple[int, float]], n_docs: int) -> float:
    """The most one query term can add to a page's score: ``doc_freqs`` is ``(doc freq, boost)`` of each of its
    clauses (the body, and the title when it has a clause of its own)."""
    return SAFETY * (1.0 + K1) * sum(boost * idf(df, n_docs) for df, boost in doc_freqs if df > 0)


def split_frequent(
    terms: Sequence[str], doc_freq: Callable[[str], int], n_docs: int, share: float = FREQUENT_SHARE
) -> tuple[list[str], list[str]] | None:
    """``(rare, frequent)`` terms of a query, or ``None`` when the split cannot help (no frequent term, or no
    rare one)."""
    frequent = [t for t in terms if doc_freq(t) >= share * n_docs]
    rare = [t for t in terms if t not in frequent]
    return (rare, frequent) if frequent and rare else None
