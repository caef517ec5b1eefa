"""Benchmark loaders: a lazy registry (``"module:function"`` targets, did-you-mean errors) of loaders that read
each benchmark's original files into ``EvalItem`` records, decrypting in memory.

Example:
    >>> from openseeker.eval.loaders import load_benchmark
    >>> items = load_benchmark("xbench-2505", limit=3)          # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from openseeker.errors import UserError
from openseeker.eval.loaders.base import BenchmarkSpec, data_root, select
from openseeker.records import EvalItem
from openseeker.registry import Registry, import_target

_M = "openseeker.eval.loaders."
_SPECS = [
    BenchmarkSpec(
        "browsecomp",
        _M + "browsecomp:load_browsecomp",
        "benchmarks/browsecomp/browse_comp_test_set.csv",
        description="BrowseComp (OpenAI), CSV, SHA-256(canary)/XOR; supply the 1,266-row CSV",
        aliases=("bc",),
    ),
    BenchmarkSpec(
        "browsecomp-zh",
        _M + "browsecomp:load_browsecomp_zh",
        "benchmarks/browsecomp-zh/data/browsecomp-zh-encrypted.xlsx",
        description="BrowseComp-ZH original xlsx (289), SHA-256/XOR; a .csv path reads the revised file",
        aliases=("bczh", "browsecomp_zh"),
    ),
    BenchmarkSpec(
        "browsecomp-zh-revised",
        _M + "browsecomp:load_browsecomp_zh_revised",
        "benchmarks/browsecomp-zh/revised/data/browsecomp-zh-encrypted.csv",
        description="BrowseComp-ZH revised csv (289, 24 answers corrected)",
    ),
    BenchmarkSpec(
        "xbench-2505",
        _M + "xbench:load_xbench",
        "benchmarks/xbench/data/DeepSearch-2505.csv",
        description="xbench-DeepSearch 2505 (100), canary-bytes XOR",
        aliases=("xbench", "xbench-deepsearch"),
    ),
    BenchmarkSpec(
        "xbench-2510",
        _M + "xbench:load_xbench",
        "benchmarks/xbench/data/DeepSearch-2510.csv",
        description="xbench-DeepSearch 2510 (100), canary-bytes XOR",
    ),
    BenchmarkSpec(
        "xbench-scienceqa",
        _M + "xbench:load_xbench",
        "benchmarks/xbench/data/ScienceQA.csv",
        description="xbench ScienceQA (100), canary-bytes XOR",
    ),
    BenchmarkSpec(
        "widesearch",
        _M + "widesearch:load_widesearch",
        "benchmarks/widesearch/widesearch.jsonl",
        kind="table",
        description="WideSearch table tasks (200) + gold CSVs; item/row F1",
    ),
    BenchmarkSpec(
        "gaia",
        _M + "plain:load_gaia",
        "benchmarks/gaia/webthinker/GAIA/dev.json",
        description="GAIA text-only dev (103, WebThinker format); a metadata.jsonl path keeps rows "
        "without attachments",
        aliases=("gaia-text",),
    ),
    BenchmarkSpec(
        "hle",
        _M + "plain:load_hle",
        "benchmarks/hle/webthinker/HLE/test.json",
        description="HLE 500-question text subset (WebThinker format)",
    ),
    BenchmarkSpec(
        "frames",
        _M + "plain:load_frames",
        "benchmarks/frames/opendeepsearch/evals/datasets/frames_test_set.csv",
        description="FRAMES (824), csv or jsonl",
    ),
    BenchmarkSpec(
        "simpleqa",
        _M + "plain:load_simpleqa",
        "benchmarks/simpleqa/opendeepsearch/evals/datasets/simple_qa_test_set.csv",
        description="SimpleQA (4,326), csv",
    ),
    BenchmarkSpec(
        "webwalkerqa",
        _M + "plain:load_webwalkerqa",
        "benchmarks/webwalkerqa/webthinker/WebWalkerQA/test.json",
        description="WebWalkerQA (680, WebThinker format)",
    ),
    BenchmarkSpec(
        "fanoutqa",
        _M + "plain:load_fanoutqa",
        "benchmarks/fanoutqa/fanout-final-dev.json",
        description="FanOutQA dev (310)",
    ),
    BenchmarkSpec(
        "gisa",
        _M + "gisa:load_gisa",
        "benchmarks/gisa/encrypted_question.jsonl",
        description="GISA (373), SHA-256/XOR question + answer/<id>.csv",
    ),
    BenchmarkSpec(
        "synth",
        _M + "synth:load_synth",
        "",
        description="our synthesized QA (QASample JSONL)",
        aliases=("qa", "synth-qa"),
    ),
    BenchmarkSpec(
        "musique",
        _M + "multihop:load_musique",
        "corpora/multihop-samples/data/musique_train.json",
        kind="multihop",
        description="MuSiQue train-100 sample; its 1,890 paragraphs become the web",
    ),
    BenchmarkSpec(
        "browsecomp-plus",
        "openseeker.eval.bcp:load_browsecomp_plus",
        "benchmarks/browsecomp-plus/topics-qrels/bcp/queries.tsv",
        description="BrowseComp-Plus (830): their decrypted dataset .jsonl (answers) or queries.tsv; "
        "evidence/gold qrels; needs --web built from their corpus",
        aliases=("bcp",),
    ),
    BenchmarkSpec(
        "localcomp",
        "openseeker.eval.localcomp:load_localcomp",
        "",
        description="a frozen LocalComp benchmark directory (`eval freeze`); brings its own web",
    ),
    BenchmarkSpec(
        "hotpotqa",
        _M + "multihop:load_hotpotqa",
        "corpora/multihop-samples/data/hotpotqa_train.json",
        kind="multihop",
        description="HotpotQA train-100 sample; its paragraphs become the web",
    ),
]
BENCHMARKS: Registry[BenchmarkSpec] = Registry("benchmark", lazy=False)
for _spec in _SPECS:
    BENCHMARKS.register(_spec.name, _spec, aliases=_spec.aliases)


def register_benchmark(spec: BenchmarkSpec) -> None:
    """Add a benchmark (its loader stays lazy: ``spec.target`` is imported on first load)."""
    BENCHMARKS.register(spec.name, spec, aliases=spec.aliases)


def names() -> list[str]:
    return sorted(BENCHMARKS.names())


def get_spec(name: str) -> BenchmarkSpec:
    """The spec of ``name`` (or an alias; case-insensitive); unknown names raise ``UserError`` (did-you-mean)."""
    return BENCHMARKS.get(name.strip().lower())


def resolve_path(spec: BenchmarkSpec, path: str | Path | None) -> Path:
    if path is not None:
        return Path(path)
    if not spec.default_path:
        raise UserError(f"benchmark {spec.name!r} has no default file; pass --path")
    p = data_root() / spec.default_path
    if not p.exists():
        raise UserError(f"{p}: not found; pass --path to the {spec.name} file ({spec.description})")
    return p


def iter_benchmark(name: str, path: str | Path | None = None):
    """Stream the items of a benchmark (decrypted in memory)."""
    spec = get_spec(name)
    return import_target(spec.target)(resolve_path(spec, path))


def load_benchmark(
    name: str, path: str | Path | None = None, *, limit: int | None = None, sample: int | None = None, seed: int = 0
) -> list[EvalItem]:
    """Load a benchmark (all rows are read and checked), then apply the subset (``sample`` then ``limit``)."""
    return select(list(iter_benchmark(name, path)), limit=limit, sample=sample, seed=seed)


__all__ = [
    "BENCHMARKS",
    "BenchmarkSpec",
    "get_spec",
    "iter_benchmark",
    "load_benchmark",
    "names",
    "register_benchmark",
    "resolve_path",
    "select",
]
