"""The house rules about imports, read from the code's own import statements (issue 23):

- no import circles between modules (counting imports inside functions, which is how circles used to hide);
- the tree reads as the pipeline: no module imports one of a later stage (``LAYERS``), and library code never
  imports CLI code;
- imports inside functions only for modules that are heavy to import: an optional or slow third-party package
  (``HEAVY``), or one of our modules that imports one at its top. Everything else is imported at the top, where a
  reader looks for it.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from functools import cache
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

# Third-party packages imported lazily: the optional extras (train, dense, dedup, ray, dev, code) and the core
# dependencies that take 50 ms or more to import (measured on the 2-core machine: openai 750 ms, mcp 600 ms,
# matplotlib and pandas 500 ms, fastapi 240 ms, aiohttp 200 ms, numpy and httpx 120 ms, ...).
HEAVY = frozenset(
    "torch transformers trl peft accelerate datasets gguf sentencepiece faiss sentence_transformers onnxruntime "
    "onnx onnxscript tantivy ray xllamacpp playwright datasketch libzim mwparserfromhell trafilatura courlan "
    "matplotlib pandas numpy scipy fastapi uvicorn starlette mcp openai aiohttp httpx pypdf openpyxl dateparser "
    "pyarrow bm25s e2b e2b_code_interpreter ahocorasick fastwarc resiliparse warcio ddgs".split()
)

# The pipeline's order (AGENTS.md): a module may import its own stage and earlier ones only. Modules not listed
# belong to the shared core (records, io, config, registry, errors, executors, ...), which imports no stage.
LAYERS = ("web", "llm", "agent", "synth", "train", "eval", "serve", "view", "cli")
TOP = ("testing",)  # test doubles and fixtures may use any stage


def _modules() -> dict[str, Path]:
    out = {}
    for path in (SRC / "openseeker").rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _known(name: str) -> str:
    while name not in MODULES and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, base] if base else package)
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]


@cache
def _imports() -> list[tuple[str, str, int, bool]]:
    """``(module, imported, line, inside_a_function)`` for every import that runs (``TYPE_CHECKING`` excluded)."""
    found = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        type_only = {
            id(n)
            for block in ast.walk(tree)
            if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
            for n in ast.walk(block)
        }

        todo: list[tuple[ast.AST, bool]] = [(tree, False)]
        while todo:
            node, in_function = todo.pop()
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.Import, ast.ImportFrom)) and id(child) not in type_only:
                    for target in _targets(child, module, path.name == "__init__.py"):
                        found.append((module, target, child.lineno, in_function))
                todo.append((child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))))
    return found


def _internal() -> list[tuple[str, str, int, bool]]:
    return [(m, _known(t), line, f) for m, t, line, f in _imports() if t.startswith("openseeker") and _known(t) != m]


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if len(parts) < 2:
        return None
    if parts[1] in TOP:
        return len(LAYERS)
    if module == SHARED_OPTIONS:
        return -1
    return LAYERS.index(parts[1]) if parts[1] in LAYERS else -1


SHARED_OPTIONS = "openseeker.cli.options"  # the options every stage's CLI shares: below the stages


def _is_cli(module: str) -> bool:
    name = module.rsplit(".", 1)[-1]
    return module.startswith("openseeker.cli.") or name in ("cli", "options", "__main__") or name.startswith("cli_")


def _cycles() -> list[list[str]]:
    graph = defaultdict(set)
    for m, t, _line, _f in _internal():
        graph[m].add(t)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def strong(v: str) -> None:  # Tarjan
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(MODULES):
        if v not in index:
            strong(v)
    return found


def test_no_import_circles():
    assert _cycles() == []


def test_no_module_imports_a_later_stage_or_cli_code():
    wrong = set()
    for module, target, line, _f in _internal():
        mine, theirs = _layer(module), _layer(target)
        if mine is None or theirs is None or mine == len(LAYERS):
            continue
        if theirs > mine:
            wrong.add(f"{MODULES[module].relative_to(SRC)}:{line} imports {target}, of a later stage")
        elif _is_cli(target) and not _is_cli(module):
            wrong.add(f"{MODULES[module].relative_to(SRC)}:{line} imports {target}: library code imports CLI code")
    assert sorted(wrong) == [], "\n".join(sorted(wrong))


def _top_level_third_party(module: str) -> set[str]:
    return {
        t.split(".")[0] for m, t, _line, f in _imports() if m == module and not f and not t.startswith("openseeker")
    }


@cache
def _heavy(module: str) -> bool:
    """Does importing ``module`` import a HEAVY package (through its top-level imports, transitively)?"""
    seen, todo = set(), [module]
    while todo:
        m = todo.pop()
        if m in seen or m not in MODULES:
            continue
        seen.add(m)
        if _top_level_third_party(m) & HEAVY:
            return True
        todo.extend(t for mm, t, _line, f in _internal() if mm == m and not f)
        todo.append(m.rsplit(".", 1)[0])  # importing a.b.c runs a.b's __init__ first
    return False


def test_function_level_imports_only_for_heavy_modules():
    light = [
        f"{MODULES[m].relative_to(SRC)}:{line} imports {t} inside a function"
        for m, t, line, in_function in _internal()
        if in_function and not _heavy(t)
    ]
    assert light == [], "\n".join(light)


def test_the_package_imports_without_pytest():
    """``openseeker.testing`` ships in the wheel (its doubles serve benchmarks and users' own tests): none of its
    modules may need pytest at import (``testing/shared.py`` did)."""
    import subprocess
    import sys

    names = sorted(m for m in MODULES if m.startswith("openseeker.testing"))
    code = (
        "import importlib, sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('pytest', '_pytest'):\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
