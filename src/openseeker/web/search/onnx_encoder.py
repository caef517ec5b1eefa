"""The query encoder on ONNX Runtime: the sentence-transformers model exported once, locally, to ONNX.

Why: encoding the query is almost all of a dense or hybrid search (a 10k-page faiss search is well under a
millisecond). PyTorch eager pays a per-operator overhead that dominates for one short query; ONNX Runtime runs the
same graph with fused kernels. Measured in ``benchmarks/bench_search.py`` (benchmarks/search.md): the exported
fp32 graph gives the same embeddings as sentence-transformers (cosine 1.0000) at about a third of the CPU time per
query; ``onnx-int8`` (ONNX Runtime dynamic quantization, int8 weights per channel) halves that again at a small
cost in fidelity, so it is opt-in.

The export (``torch.onnx.export`` with the dynamo exporter, then optionally
``onnxruntime.quantization.quantize_dynamic``) reads the model from disk only and is cached next to the
embeddings (``<web>/dense/encoder/``): nothing is downloaded. sentence-transformers' own ``backend="onnx"`` needs
``optimum-onnx``, which pins transformers < 4.58 (this project runs transformers 5), hence this small module.
Needs the ``dense`` extra (onnxruntime, onnx, onnxscript).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openseeker.errors import UserError
from openseeker.web.search.encoder import load_encoder, resolve_model

log = logging.getLogger(__name__)

__all__ = ["QUERY_ENCODERS", "OnnxEncoder", "export", "onnx_file", "open_encoder"]

QUERY_ENCODERS = ("torch", "onnx", "onnx-int8")
ENCODER_DIR = "encoder"
ENCODER_META = "encoder.json"
_FILES = {"onnx": "model.onnx", "onnx-int8": "model-int8.onnx"}
_EXPORT_LOCK = threading.Lock()


def check_query_encoder(name: str) -> str:
    if name not in QUERY_ENCODERS:
        raise UserError(f"unknown query encoder {name!r}; choose one of {', '.join(QUERY_ENCODERS)}")
    return name


def require_onnx() -> None:
    missing = []
    for mod, pkg in (("onnxruntime", "onnxruntime"), ("onnx", "onnx"), ("onnxscript", "onnxscript")):
        try:
            __import__(mod)
        except ImportError:
            missing.append(pkg)
    if missing:
        raise UserError(
            f"the ONNX query encoder needs the 'dense' extra ({', '.join(missing)} missing): "
            "pip install 'openseeker[dense]', or use --query-encoder torch"
        )


def onnx_file(dense_dir: str | Path, kind: str) -> Path:
    return Path(dense_dir) / ENCODER_DIR / _FILES[kind]


def export(model: str | None, dense_dir: str | Path, kind: str = "onnx") -> Path:
    """Export ``model`` (a sentence-transformers model, the packaged default when ``None``) to
    ``<dense_dir>/encoder/`` as ``kind`` (``onnx`` fp32, or ``onnx-int8``); a no-op when already there.

    The graph is the whole sentence-transformers pipeline (transformer, pooling, any dense/normalize modules) with
    dynamic batch and sequence axes; embeddings are L2-normalised after it, as ``encode`` does.
    """
    check_query_encoder(kind)
    if kind == "torch":
        raise ValueError("nothing to export for the torch encoder")
    out = onnx_file(dense_dir, kind)
    if out.exists():
        return out
    require_onnx()
    with _EXPORT_LOCK:
        if out.exists():
            return out
        out.parent.mkdir(parents=True, exist_ok=True)
        fp32 = onnx_file(dense_dir, "onnx")
        if not fp32.exists():
            _export_fp32(model, fp32)
        if kind == "onnx-int8":
            from onnxruntime.quantization import QuantType, quantize_dynamic

            tmp = out.with_name(out.name + ".tmp")
            quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
            tmp.replace(out)
    return out


def _export_fp32(model: str | None, out: Path) -> None:
    import torch

    st = load_encoder(model)
    names = _input_names(st.tokenizer)
    pooling = _pooling(st, model)
    transformer = st[0].auto_model

    class Pipeline(torch.nn.Module):
        """The transformer + sentence-transformers' pooling (mean over real tokens, or the CLS token)."""

        def __init__(self, transformer: Any):
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any = None) -> Any:
            feats = {"input_ids": input_ids, "attention_mask": attention_mask}
            if token_type_ids is not None:
                feats["token_type_ids"] = token_type_ids
            hidden = self.transformer(**feats).last_hidden_state
            if pooling == "cls":
                return hidden[:, 0]
            mask = feats["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    sample = st.tokenizer(
        ["a first example query", "a second, longer example query to pad"], padding=True, return_tensors="pt"
    )
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("seq", max=int(st.max_seq_length or 512))
    log.info("exporting %s to ONNX (once; cached in %s)", model or "the default encoder", out.parent)
    tmp = out.with_name(out.name + ".tmp")
    was_training = st.training
    st.eval()
    try:
        torch.onnx.export(
            Pipeline(transformer),
            tuple(sample[n] for n in names),
            str(tmp),
            input_names=names,
            output_names=["sentence_embedding"],
            dynamic_shapes=tuple({0: batch, 1: seq} for _ in names),
            dynamo=True,
            external_data=False,
            verbose=False,
        )
    except Exception as exc:  # the exporter's failures are many and version-specific
        log.debug("ONNX export failed", exc_info=True)
        tmp.unlink(missing_ok=True)
        raise UserError(
            f"cannot export {model or 'the default encoder'} to ONNX ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}); use --query-encoder torch"
        ) from None
    finally:
        st.train(was_training)
    tmp.replace(out)
    meta = {
        "model": model or "all-MiniLM-L6-v2",
        "path": resolve_model(model),
        "inputs": names,
        "max_length": int(st.max_seq_length or 512),
        "torch": torch.__version__,
    }
    (out.parent / ENCODER_META).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def _pooling(st: Any, model: str | None) -> str:
    """``mean`` or ``cls``: the pooling this module reproduces; other pipelines are refused with a clear error."""
    kinds = [type(m).__name__ for m in st]
    mode = getattr(st[1], "pooling_mode", None) if len(kinds) > 1 and kinds[1] == "Pooling" else None
    if kinds[0] != "Transformer" or mode not in ("mean", "cls") or any(k != "Normalize" for k in kinds[2:]):
        raise UserError(
            f"the ONNX query encoder supports Transformer + mean/CLS pooling (+ Normalize) models; "
            f"{model or 'this model'} is {' + '.join(kinds)} (pooling {mode!r}): "
            "use --query-encoder torch"
        )
    return str(mode)


def _input_names(tokenizer: Any) -> list[str]:
    have = set(getattr(tokenizer, "model_input_names", ()) or ("input_ids", "attention_mask"))
    return [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in have]


class OnnxEncoder:
    """``encode(texts)`` like sentence-transformers', on an exported graph (one ONNX Runtime thread)."""

    def __init__(self, path: str | Path, threads: int = 1):
        require_onnx()
        import onnxruntime as ort
        from transformers import AutoTokenizer

        path = Path(path)
        meta = json.loads((path.parent / ENCODER_META).read_text(encoding="utf-8"))
        self.path = path
        self.names: list[str] = list(meta["inputs"])
        self.max_length = int(meta["max_length"])
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        self.tokenizer = AutoTokenizer.from_pretrained(meta["path"])
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads  # one short query: a thread pool costs more than it saves (see encode)
        so.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])

    def encode(self, texts: Sequence[str], batch_size: int = 64, **_: Any) -> Any:
        """float32 L2-normalised embeddings (rows) of ``texts``."""
        import numpy as np

        out = []
        for i in range(0, len(texts), batch_size):
            enc = self.tokenizer(
                list(texts[i : i + batch_size]),
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="np",
            )
            vecs = self.session.run(None, {n: enc[n].astype(np.int64) for n in self.names})[0]
            out.append(vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12))
        if not out:
            dim = self.session.get_outputs()[0].shape[-1]
            return np.zeros((0, dim if isinstance(dim, int) else 0), dtype=np.float32)
        return np.ascontiguousarray(np.concatenate(out), dtype=np.float32)


_OPEN: dict[Path, OnnxEncoder] = {}


def open_encoder(model: str | None, dense_dir: str | Path, kind: str) -> OnnxEncoder:
    """The (cached) ONNX encoder of ``kind`` for a dense directory, exported first when missing."""
    path = export(model, dense_dir, kind)
    if path not in _OPEN:
        _OPEN[path] = OnnxEncoder(path)
    return _OPEN[path]
