"""Shared pieces of the benchmark loaders: the loader contract, decryption with located errors, subsets."""

from __future__ import annotations

import csv
import json
import os
import random
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openseeker.errors import InputError, UserError
from openseeker.eval.crypto import DecryptError, Scheme, decrypt, looks_decrypted
from openseeker.records import EvalItem

LoadFn = Callable[[Path], Iterator[EvalItem]]


@dataclass(frozen=True)
class BenchmarkSpec:
    """A benchmark: how to load it and where its file usually is.

    Args:
        name: registry name (``--benchmark``).
        target: lazy ``"module:function"`` loader, ``function(path) -> Iterator[EvalItem]``.
        default_path: path relative to the shared data directory (``$OPENSEEKER_DATA`` or ``../shared/data``).
        kind: ``"qa"`` (short answer, judged), ``"table"`` (WideSearch table evaluation) or ``"multihop"``
            (local corpus; its paragraphs become the web).
        description: one line for ``--help`` and docs.
    """

    name: str
    target: str
    default_path: str = ""
    kind: str = "qa"
    description: str = ""
    aliases: tuple[str, ...] = field(default_factory=tuple)


_CHECKOUT_SHARED_DATA = Path(__file__).resolve().parents[5] / "shared" / "data"  # <checkout>/../shared/data


def data_root() -> Path:
    """Where the shared data (benchmarks, qrels, corpora) is looked up when no path is given: ``$OPENSEEKER_DATA``,
    else ``$OPENSEEKER_SHARED/data``, else ``../shared/data`` beside the source checkout this package runs from,
    so a default path does not depend on the current directory; an installed package without that sibling falls
    back to ``../shared/data`` from the current directory."""
    env = os.environ.get("OPENSEEKER_DATA")
    if env:
        return Path(env)
    shared = os.environ.get("OPENSEEKER_SHARED")
    if shared:
        return Path(shared) / "data"
    if _CHECKOUT_SHARED_DATA.is_dir():
        return _CHECKOUT_SHARED_DATA
    return Path.cwd().parent / "shared" / "data"


def require_file(path: Path, what: str) -> Path:
    if not path.exists():
        raise UserError(f"{path}: no such file ({what})")
    return path


def read_csv_rows(path: Path) -> Iterator[tuple[int, int, dict[str, str]]]:
    """Yield ``(row_number, line_number, row)`` (row numbers 1-based, after the header)."""
    csv.field_size_limit(sys.maxsize)
    with path.open("r", encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        row_no = 0
        while True:
            line = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise InputError(f"malformed CSV: {exc}", path=str(path), line=reader.line_num) from None
            row_no += 1
            yield row_no, line, row


def read_json(path: Path) -> Any:
    try:
        with path.open("r", encoding="utf-8") as fh:
            return json.load(fh)
    except ValueError as exc:
        raise InputError(f"not valid JSON: {exc}", path=str(path)) from None


def json_items(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(index, object)`` for each item of a JSON list whose objects must have the ``required`` keys; a located
    ``InputError`` otherwise (the shape every WebThinker-style and multi-hop question file shares)."""
    data = read_json(path)
    if not isinstance(data, list):
        raise InputError("expected a JSON list of questions", path=str(path))
    for i, obj in enumerate(data):
        if not isinstance(obj, dict) or not set(required) <= set(obj):
            keys = ", ".join(f"'{k}'" for k in required)
            raise InputError(f"item {i}: expected an object with {keys}", path=str(path))
        yield i, obj


def decrypt_fields(
    row: dict[str, Any],
    fields: Iterable[str],
    canary: str,
    *,
    scheme: Scheme = "sha256",
    path: Path,
    row_no: int,
    line: int | None = None,
    optional: Iterable[str] = (),
) -> dict[str, str]:
    """Decrypt ``fields`` of one row; any failure is an ``InputError`` naming the file, row and field."""
    out: dict[str, str] = {}
    optional = set(optional)
    where = f"row {row_no}"
    for name in fields:
        value = row.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if name in optional:
                out[name] = ""
                continue
            raise InputError(f"{where}: field '{name}' is missing or empty", path=str(path), line=line)
        try:
            out[name] = decrypt(str(value), canary, scheme)
        except DecryptError as exc:
            raise InputError(f"{where}: field '{name}': {exc}", path=str(path), line=line) from None
    if not looks_decrypted(out.values()):
        raise InputError(
            f"{where}: decrypted text is not plausible (control characters): wrong canary or corrupted row",
            path=str(path),
            line=line,
        )
    return out


def detect_language(text: str) -> str:
    """``zh`` when CJK ideographs make up a noticeable part of the text, else ``en``."""
    if not text:
        return "en"
    cjk = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf")
    return "zh" if cjk >= max(2, 0.1 * len(text.replace(" ", ""))) else "en"


def select(
    items: list[EvalItem], *, limit: int | None = None, sample: int | None = None, seed: int = 0
) -> list[EvalItem]:
    """The subset to evaluate: ``sample`` items drawn with ``random.Random(seed)`` (order kept as in the file),
    then the first ``limit``. Both are written into every report."""
    out = list(items)
    if sample is not None:
        if sample < 0:
            raise UserError("--sample must be >= 0")
        if sample < len(out):
            idx = sorted(random.Random(seed).sample(range(len(out)), sample))
            out = [out[i] for i in idx]
    if limit is not None:
        if limit < 0:
            raise UserError("--limit must be >= 0")
        out = out[:limit]
    return out
