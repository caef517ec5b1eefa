"""Dense and hybrid retrieval end to end on the packaged all-MiniLM-L6-v2 (offline), resumable embedding, RRF,
per-web and per-call retrieval selection, and the clear error when the 'dense' extra is missing."""

from __future__ import annotations

import builtins
import json
import shutil

import pytest

from openseeker.errors import UserError
from openseeker.testing.dense_web import PAGES, build_dense_web
from openseeker.web.build import build_web
from openseeker.web.local import LocalWeb
from openseeker.web.search import dense as dense_mod
from openseeker.web.search import encoder
from openseeker.web.search.dense import DenseIndex, rrf


@pytest.fixture(scope="module")
def web_dir(tmp_path_factory):
    web = build_dense_web(tmp_path_factory.mktemp("dense"), default="hybrid")
    meta = json.loads((web / "dense" / "dense.json").read_text(encoding="utf-8"))
    assert meta["docs"] == len(PAGES) and meta["dim"] == 384 and meta["model"] == "all-MiniLM-L6-v2"
    return web


def test_dense_finds_paraphrases_bm25_cannot(web_dir):
    with LocalWeb.open(web_dir) as w:
        assert w.retrieval == "hybrid"  # the web's default, set by `web embed --default hybrid`
        q = "tallest peak on the planet"  # no word in common with the Everest page
        assert (
            w.search_sync([q], 3, retrieval="bm25")[0] == []
            or w.search_sync([q], 3, retrieval="bm25")[0][0].title != "Mount Everest"
        )
        dense = w.search_sync([q], 3, retrieval="dense")[0]
        assert dense[0].title == "Mount Everest" and dense[0].url.endswith("Mount_Everest")
        assert dense[0].score > dense[1].score
        hybrid = w.search_sync([q], 3)[0]
        assert hybrid[0].title == "Mount Everest" and hybrid[0].snippet


def test_hybrid_keeps_exact_lexical_matches(web_dir):
    with LocalWeb.open(web_dir, retrieval="hybrid") as w:
        hits = w.search_sync(["hammers strike strings", "insects that make honey"], 2)
        assert hits[0][0].title == "Piano" and hits[1][0].title == "Honey bee"
        assert len(hits[0]) == 2


def test_hybrid_gives_the_same_hits_with_pages_and_weights_remembered(web_dir):
    queries = ["hammers strike strings", "insects that make honey", "highest mountain on earth", "piano honey"]
    with LocalWeb.open(web_dir, retrieval="hybrid") as fresh:
        first = [fresh.search_sync([q], 5)[0] for q in queries]
        assert fresh._pages and fresh._weights  # remembered between searches
        again = [fresh.search_sync([q], 5)[0] for q in reversed(queries)][::-1]
    assert again == first
    for q, hits in zip(queries, first):  # each in a web opened just for it: nothing remembered
        with LocalWeb.open(web_dir, retrieval="hybrid") as w:
            assert w.search_sync([q], 5)[0] == hits


def test_retrieval_is_validated(web_dir):
    with pytest.raises(UserError, match="unknown retrieval 'semantic'"):
        LocalWeb.open(web_dir, retrieval="semantic")


def test_web_without_dense_index_says_how_to_make_one(tmp_path):
    src = tmp_path / "c.jsonl"
    src.write_text(json.dumps({"title": "A", "text": "alpha"}) + "\n", encoding="utf-8")
    build_web(src, tmp_path / "web", progress=False)
    with pytest.raises(UserError, match="web embed"):
        LocalWeb.open(tmp_path / "web", retrieval="dense")


def test_rrf_fuses_by_reciprocal_rank():
    fused = rrf([["a", "b", "c"], ["c", "a", "d"]], k=60)
    assert [k for k, _ in fused] == ["a", "c", "b", "d"]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)
    assert rrf([["x"], ["y"]], top_k=1) == [("x", pytest.approx(1 / 61))]  # ties: first ranking first


def test_interrupted_embedding_resumes_without_redoing_chunks(tmp_path):
    docs = [(f"u:{i}", t, x) for i, (t, x) in enumerate(PAGES)]
    d = tmp_path / "dense"
    assert DenseIndex.build(d, iter(docs), chunk_size=3, progress=False, max_chunks=2) is None  # stopped
    assert sorted(p.name for p in d.glob("chunk-*.npy")) == ["chunk-000000.npy", "chunk-000001.npy"]
    with pytest.raises(UserError, match="incomplete embedding run"):
        DenseIndex.open(d)
    (d / "chunk-000002.npy.tmp").write_bytes(b"torn write of a killed run")  # never read
    idx = DenseIndex.build(d, iter(docs), chunk_size=3, progress=False)
    assert idx.meta["embedded_this_run"] == 2 and len(idx) == len(PAGES)  # only the last chunk was embedded
    assert idx.keys == [k for k, _t, _x in docs]
    fresh = DenseIndex.build(tmp_path / "fresh", iter(docs), chunk_size=3, progress=False)
    q = ["a keyboard instrument"]
    assert [h.key for h in idx.search(q, 3)[0]] == [h.key for h in fresh.search(q, 3)[0]]
    # another corpus or model in the same directory is refused, never mixed
    with pytest.raises(UserError, match="another corpus or model"):
        DenseIndex.build(d, iter(docs), chunk_size=3, progress=False, fingerprint="other")
    with pytest.raises(UserError, match="corpus order changed"):
        DenseIndex.build(d, iter(list(reversed(docs))), chunk_size=3, progress=False)


def test_missing_extra_names_it(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *a, **kw):
        if name.startswith("faiss"):
            raise ImportError("No module named 'faiss'")
        return real_import(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(UserError, match=r"'dense' extra \(faiss-cpu missing\): pip install 'openseeker\[dense\]'"):
        encoder.require()


def test_unknown_model_is_a_clear_error(tmp_path):
    with pytest.raises(UserError, match="cannot load embedding model"):
        encoder.load_encoder(str(tmp_path / "no-such-model"))


def test_cli_embed_and_search_per_call(web_dir, capsys):
    from openseeker.cli.main import main

    assert main(["web", "embed", str(web_dir), "--no-progress", "--query-encoder", "torch"]) == 0  # all reused
    assert "0 embedded this run" in capsys.readouterr().out
    assert (
        main(
            [
                "web",
                "search",
                "--web",
                str(web_dir),
                "--retrieval",
                "dense",
                "--json",
                "--top-k",
                "1",
                "tallest",
                "peak",
                "on",
                "the",
                "planet",
            ]
        )
        == 0
    )
    hits = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert hits[0]["title"] == "Mount Everest"
    assert main(["web", "search", "--web", str(web_dir), "--retrieval", "fuzzy", "x"]) == 2


def test_onnx_query_encoder_exported_offline_matches_torch(web_dir, tmp_path, capsys):
    """`web embed` (default --query-encoder onnx-int8) exports the packaged model into <web>/dense/encoder,
    offline; the ONNX fp32 graph ranks and scores like sentence-transformers; int8 is close."""
    import numpy as np

    from openseeker.cli.main import main
    from openseeker.web.search.onnx_encoder import OnnxEncoder, check_query_encoder

    web = tmp_path / "web"
    shutil.copytree(web_dir, web)
    shutil.rmtree(web / "dense" / "encoder", ignore_errors=True)
    assert main(["web", "embed", str(web), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "0 embedded this run" in out and "queries: onnx-int8" in out
    assert json.loads((web / "dense" / "dense.json").read_text())["query_encoder"] == "onnx-int8"
    assert (web / "dense" / "encoder" / "model-int8.onnx").exists()
    queries = ["tallest peak on the planet", "hammers strike strings", "insects that make honey", "x"]
    torch_idx = DenseIndex.open(web / "dense", query_encoder="torch")
    onnx_idx = DenseIndex.open(web / "dense", query_encoder="onnx")
    assert isinstance(onnx_idx.model, OnnxEncoder)
    a, b = dense_mod.encode(onnx_idx.model, queries), dense_mod.encode(torch_idx.model, queries)
    assert a.shape == b.shape == (4, 384) and np.allclose((a * b).sum(1), 1.0, atol=1e-4)
    for t, o in zip(torch_idx.search(queries, 5), onnx_idx.search(queries, 5)):
        assert [h.key for h in t] == [h.key for h in o]
        assert [h.score for h in t] == pytest.approx([h.score for h in o], abs=1e-4)
    with LocalWeb.open(web) as w:
        assert w.search_sync(["tallest peak on the planet"], 1, retrieval="dense")[0][0].title == "Mount Everest"
    int8 = DenseIndex.open(web / "dense")  # dense.json names the encoder `web embed` chose
    assert int8.query_encoder == "onnx-int8" and isinstance(int8.model, OnnxEncoder)
    assert int8.search(["tallest peak on the planet"], 1)[0][0].key.endswith("Mount_Everest")
    assert (web / "dense" / "encoder" / "model-int8.onnx").exists()
    assert (dense_mod.encode(int8.model, queries) * b).sum(1).min() > 0.95  # close, not exact
    with pytest.raises(UserError, match="unknown query encoder 'tf'"):
        check_query_encoder("tf")
