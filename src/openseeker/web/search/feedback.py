"""Second-hop pseudo-relevance feedback for ``hybrid`` search: the lower half of the results comes from a second
BM25 query, the question plus the most telling words of the first results.

Why: a multi-hop question names its first entity, and the fused BM25 + dense top hits find that page; the page it
leads to (the bridge entity's) shares few words with the question but many with the first hits. RM3-style
expansion terms (Lavrenko & Croft's relevance model as Anserini's RM3 uses it: words of the top feedback
documents weighted by their frequency there, here times idf) make a second query that reaches it. The first half
of the list is the fused ranking unchanged, so a top-5 look-up is what it was; ranks 6-10 (of 10) go to the
second hop. Chosen on a dev half of the MuSiQue / HotpotQA questions among 13 ideas and confirmed on the held-out
half (``python benchmarks/bench_search.py --expansion-study``; benchmarks/search.md "The second hop").

Terms shorter than 3 characters are not used, so text indexed one CJK character per token gets no second hop (the
fused ranking is returned as it is). Cost per query: the analysis of the top ``FEEDBACK_DOCS`` pages (first
``FEEDBACK_CHARS`` characters each; ``term_weights``, which ``LocalWeb`` keeps per page), a document-frequency
look-up per distinct term (remembered by the index), and one more BM25 search.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

FEEDBACK_DOCS = 3  # the fused ranking's top pages read for expansion terms
FEEDBACK_TERMS = 10  # expansion terms added to the question
FEEDBACK_CHARS = 2_000  # of each page (the start of a page is what it is about; the study's paragraphs are ~500)


def term_weights(index: Any, text: str) -> dict[str, float]:
    """tf / length of each index term of the start of ``text`` that can be an expansion term (longer than 2
    characters, not a number), in first-seen order. Depends on the page only, so a caller may keep it per page."""
    terms = index.analyze(text[:FEEDBACK_CHARS])
    n = len(terms)
    return {t: c / n for t, c in Counter(terms).items() if len(t) > 2 and not t.isdigit()}


def feedback_terms(
    index: Any,
    texts: Sequence[str],
    query: str,
    n_terms: int = FEEDBACK_TERMS,
    *,
    query_terms: Sequence[str] | None = None,
    weights: Sequence[dict[str, float]] | None = None,
) -> list[str]:
    """The ``n_terms`` index terms of ``texts`` with the highest sum over texts of tf / length x idf, leaving out
    the query's own terms (``index``: a ``SearchIndex``; its analyser drops stop words and stems).
    ``query_terms``: ``index.query_terms(query)`` and ``weights``: ``term_weights`` of each text, when the caller
    already has them (hybrid search does; ``texts`` is then not read)."""
    n_docs = max(1, len(index))
    own = set(index.query_terms(query) if query_terms is None else query_terms)
    weight: Counter[str] = Counter()
    for tw in weights if weights is not None else [term_weights(index, text) for text in texts]:
        for term, w in tw.items():
            if term not in own:
                weight[term] += w
    doc_freq = index.doc_freq
    for term in weight:
        weight[term] *= math.log(n_docs / (1 + doc_freq(term)))
    return [t for t, w in weight.most_common(n_terms) if w > 0]


def second_hop(first: Sequence[str], second: Sequence[str], top_k: int) -> list[str]:
    """The first ``ceil(top_k / 2)`` of ``first``, then ``second``, then the rest of ``first``; no repeats."""
    keep = (top_k + 1) // 2
    return list(dict.fromkeys([*first[:keep], *second, *first[keep:]]))[:top_k]
