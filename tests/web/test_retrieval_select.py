"""Retrieval chosen per tool call: ``SearchTool(retrieval=...)`` on a local web embedded with the packaged MiniLM
(offline), and the one-line errors for a web that cannot rank that way (no dense index, a live web)."""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("faiss")

from openseeker.errors import UserError
from openseeker.testing.dense_web import build_dense_web
from openseeker.testing.fake_web import FakeWeb, tiny_pages
from openseeker.web.base import ensure_retrieval
from openseeker.web.local import FUSION_DEPTH, LocalWeb
from openseeker.web.open import connect_web, ensure_web_retrieval
from openseeker.web.search.dense import rrf
from openseeker.web.tools import SearchTool

# BM25 finds only Piano (the one shared word); MiniLM ranks Mount Everest first (no shared word)
QUERY = "tallest peak on the planet or a piano"


@pytest.fixture(scope="module")
def dense_web(tmp_path_factory):
    return build_dense_web(tmp_path_factory.mktemp("select"))  # default retrieval stays bm25


@pytest.fixture(scope="module")
def bm25_web(tmp_path_factory):
    return build_dense_web(tmp_path_factory.mktemp("bm25only"), embed=False)


def titles(text: str, names: list[str]) -> list[str]:
    """The page titles of a search tool block, in the order they appear."""
    return sorted((n for n in names if f"[{n}](" in text), key=lambda n: text.index(f"[{n}]("))


def test_search_tool_hybrid_returns_the_fused_ranking(dense_web):
    with LocalWeb.open(dense_web) as web:
        assert web.retrieval == "bm25"
        lex = [h.url for h in web.search_sync([QUERY], FUSION_DEPTH, retrieval="bm25")[0]]
        den = [h.url for h in web.search_sync([QUERY], FUSION_DEPTH, retrieval="dense")[0]]
        fused = [u for u, _s in rrf([lex, den], top_k=4)]
        title = {p.url: p.title for p in web.graph.iter_pages()}
        names = list(title.values())

        hybrid = asyncio.run(SearchTool(web, top_k=4, retrieval="hybrid").execute({"query": [QUERY]}))
        default = asyncio.run(SearchTool(web, top_k=4).execute({"query": [QUERY]}))
        structured = asyncio.run(SearchTool(web, top_k=4, retrieval="hybrid").search([QUERY]))[0]
    assert titles(hybrid, names) == [title[h.url] for h in structured] and len(structured) == 4
    # the upper half is the reciprocal-rank fusion: BM25's only hit and dense's first hit, in an order neither
    # list has on its own; the lower half comes from the second hop (web.feedback)
    assert [h.url for h in structured[:2]] == fused[:2] and fused[:2] not in (lex[:2], den[:2])
    assert {title[u] for u in fused[:2]} == {"Piano", "Mount Everest"}
    assert titles(default, names) == ["Piano"]  # the web's default (bm25) when no retrieval is asked for


def test_unknown_retrieval_is_refused():
    with pytest.raises(UserError, match="unknown retrieval 'semantic'"):
        SearchTool(FakeWeb(tiny_pages()), retrieval="semantic")


def test_web_without_dense_index_names_web_embed(bm25_web):
    with LocalWeb.open(bm25_web) as web:
        with pytest.raises(UserError, match=r"no dense index; run `openseeker web embed") as exc:
            asyncio.run(ensure_retrieval(web, "hybrid"))
        assert "\n" not in str(exc.value)
        asyncio.run(ensure_retrieval(web, "bm25"))  # always fine
    with pytest.raises(UserError, match="openseeker web embed"):
        asyncio.run(ensure_web_retrieval(str(bm25_web), "dense"))


def test_a_web_with_its_own_search_engine_refuses_a_retrieval(tmp_path):
    with pytest.raises(UserError, match="ranks with its own search engine"):
        asyncio.run(ensure_retrieval(FakeWeb(tiny_pages()), "dense"))
    with pytest.raises(UserError, match="ranks with its own search engine"):
        asyncio.run(ensure_web_retrieval("live", "hybrid"))
    with pytest.raises(UserError, match="local web directory"):
        connect_web("live", retrieval="dense")
    asyncio.run(ensure_retrieval(FakeWeb(tiny_pages()), None))  # no retrieval asked for: any web
