"""WideSearch: ``widesearch.jsonl`` (``instance_id, query, evaluation, language``; ``evaluation`` is a JSON
string with ``unique_columns``, ``required`` and ``eval_pipeline``) + gold tables ``widesearch_gold/<id>.csv``.
Plaintext. Scored by ``openseeker.eval.widesearch`` (table evaluation), not by the QA judge."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from openseeker.errors import InputError
from openseeker.eval.loaders.base import require_file
from openseeker.io import iter_jsonl
from openseeker.records import EvalItem


def load_widesearch(path: Path) -> Iterator[EvalItem]:
    if path.is_dir():
        path = path / "widesearch.jsonl"
    require_file(path, "WideSearch widesearch.jsonl")
    gold_dir = path.parent / "widesearch_gold"
    for line, obj in iter_jsonl(path, required=("instance_id", "query", "evaluation")):
        ev = obj["evaluation"]
        if isinstance(ev, str):
            try:
                ev = json.loads(ev)
            except ValueError as exc:
                raise InputError(
                    f"task {obj['instance_id']}: 'evaluation' is not JSON ({exc})", path=str(path), line=line
                ) from None
        missing = [k for k in ("unique_columns", "required", "eval_pipeline") if k not in ev]
        if missing:
            raise InputError(f"task {obj['instance_id']}: 'evaluation' lacks {missing}", path=str(path), line=line)
        gold = gold_dir / f"{obj['instance_id']}.csv"
        yield EvalItem(
            id=str(obj["instance_id"]),
            question=obj["query"],
            answers=[],
            language=obj.get("language", "en"),
            benchmark="widesearch",
            metadata={"category": obj.get("language", "en"), "evaluation": ev, "gold_csv": str(gold), "task": "table"},
        )
