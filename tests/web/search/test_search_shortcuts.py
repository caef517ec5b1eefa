"""The shortcuts hybrid search takes must not change what it returns: the url-only BM25 ranking, query terms
analysed once, remembered term weights / urls / pages, and the snippet pattern that jumps to candidate positions
(each checked here against the plain definition; ``benchmarks/bench_search.py --ab main`` checks whole rankings)."""

from __future__ import annotations

import json
import random
import re

import pytest

from openseeker.text import is_cjk
from openseeker.web.build import build_web
from openseeker.web.search import snippets
from openseeker.web.search.feedback import feedback_terms, term_weights
from openseeker.web.search.index import MAX_QUERY_TERMS, SearchIndex


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    d = tmp_path_factory.mktemp("shortcuts")
    rng = random.Random(3)
    words = "river city engineer desert mountain Dijon Zürich café naïve 1889 tower bridge music piano".split()
    rows = [
        {"title": f"{rng.choice(words)} {i}", "text": " ".join(rng.choice(words) for _ in range(rng.randint(5, 80)))}
        for i in range(60)
    ]
    src = d / "c.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    build_web(src, d / "web", progress=False, derive_links=False)
    return SearchIndex.open(d / "web" / "index")


QUERIES = [
    "river city",
    "the engineer of the tower",
    "café in Zürich",
    "piano music 1889",
    "zzz",
    "",
    "mountain desert bridge river music",
]


def test_ranked_urls_is_the_ranking_of_search(index):
    for q in QUERIES:
        for k in (1, 5, 50):
            want = [(h.url, h.score) for h in index.search(q, k, snippets=False)]
            assert index.ranked_urls(index.query_terms(q), k) == want
            assert index.ranked_urls(index.query_terms(q), k) == want  # the remembered urls give the same


def test_query_terms_with_extra_is_the_terms_of_the_joined_text(index):
    for a in QUERIES:
        for b in QUERIES:
            assert index.query_terms(b, extra=index.query_terms(a)) == index.query_terms(f"{a} {b}")
    long_a = " ".join(f"word{i}" for i in range(MAX_QUERY_TERMS + 5))
    assert index.query_terms("river", extra=index.query_terms(long_a)) == index.query_terms(f"{long_a} river")
    assert len(index.query_terms("river", extra=index.query_terms(long_a))) == MAX_QUERY_TERMS


def test_remembered_doc_freq_and_urls_follow_added_pages(index, tmp_path):
    import shutil

    d = tmp_path / "index"
    shutil.copytree(index.directory, d)
    idx = SearchIndex.open(d)
    assert idx.doc_freq("xylophon") == 0 and not idx.ranked_urls(["xylophon"], 5)
    idx.add([("https://x/new", "Xylophone", "a xylophone")])
    assert idx.doc_freq("xylophon") == 1
    assert idx.ranked_urls(["xylophon"], 5)[0][0] == "https://x/new"


def test_feedback_terms_from_weights_equal_those_from_texts(index):
    texts = ["river city engineer Dijon Dijon 1889", "tower bridge music piano Zürich", "", "café café naïve river"]
    for q in QUERIES:
        want = feedback_terms(index, texts, q)
        got = feedback_terms(
            index, [], q, query_terms=index.query_terms(q), weights=[term_weights(index, t) for t in texts]
        )
        assert got == want


def _plain_pattern(terms: list[str]) -> re.Pattern[str] | None:
    """The definition: one alternative per term, longest first, each checking the word start itself."""
    parts = []
    for t in sorted(set(terms), key=len, reverse=True):
        if not t:
            continue
        esc = re.escape(t)
        if is_cjk(t):
            parts.append(f"(?P<t{len(parts)}>{esc})")
        elif len(t) < 3:
            parts.append(f"(?P<t{len(parts)}>(?<!\\w){esc}(?!\\w))")
        else:
            parts.append(f"(?P<t{len(parts)}>(?<!\\w){esc}\\w*)")
    return re.compile("|".join(parts)) if parts else None


def test_snippet_pattern_finds_what_the_plain_alternation_finds():
    rng = random.Random(7)
    words = (
        "café Zürich naïve ab a 1 2020 东京 東京都 大学 İstanbul straße ÆON résumé x y data-set o'neil über "
        "中文abc abab a.b lorem ipsum\n dolor ørsted Łódź mycafé restr doloremque 東京lorem xab 1a a1 _ab"
    ).split(" ")
    termpool = [
        "东",
        "京",
        "大",
        "ab",
        "a",
        "1",
        "caf",
        "zur",
        "lorem",
        "str",
        "x",
        "a.b",
        "ors",
        "lodz",
        "2020",
        "naiv",
        "istanbul",
        "ipsum",
        "do",
    ]
    for _ in range(2000):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(0, 120)))
        terms = rng.sample(termpool, rng.randint(0, 6)) + [""] * rng.randint(0, 1)
        folded = snippets.fold(text)
        plain = _plain_pattern(terms)
        want = [(m.start(), m.end()) for m in plain.finditer(folded)] if plain else []
        got = snippets._hits(text, terms)
        assert [(s, e) for s, e, _t in got] == want, (text, terms)
        # the same term gets the same name, different terms different names
        names = {}
        for (_s, _e, name), m in zip(got, plain.finditer(folded) if plain else []):
            assert names.setdefault(name, m.lastgroup) == m.lastgroup


def test_fold_without_foldable_letters_is_lowercase():
    def plain(text: str) -> str:  # the definition: the table, then lowercase, unless that changes the length
        out = text.translate(snippets._fold_table()).lower()
        return out if len(out) == len(text) else text.lower()

    for text in ("Plain ASCII – with a dash", "Café ÆON Łódź", "İstanbul", "ΑΘΗΝΑ", "東京 Straße", ""):
        assert snippets.fold(text) == plain(text)
    assert snippets.fold("Plain – Dash") == "plain – dash"
    assert snippets.fold("Café ÆON Łódź") == "cafe aon lodz"
