"""Our own synthesized QA (``QASample`` JSONL from ``openseeker synth qa``) as an evaluation set."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from openseeker.errors import InputError
from openseeker.eval.loaders.base import require_file
from openseeker.io import iter_jsonl
from openseeker.records import EvalItem, QASample


def load_synth(path: Path) -> Iterator[EvalItem]:
    require_file(path, "QASample JSONL")
    for line, obj in iter_jsonl(path):
        if obj.get("kind", "qa") != "qa":  # rejections or other records in the same file
            continue
        missing = [k for k in ("id", "question", "answer") if k not in obj]
        if missing:
            raise InputError(f"QA record lacks {', '.join(missing)}", path=str(path), line=line)
        try:
            qa = QASample.model_validate(obj)
        except ValueError as exc:
            raise InputError(f"not a QASample: {exc}", path=str(path), line=line) from None
        yield EvalItem(
            id=qa.id,
            question=qa.question,
            answers=[qa.answer],
            language=qa.language,
            benchmark="synth",
            metadata={
                "category": qa.difficulty or "synth",
                "seed_url": qa.seed_url,
                "subgraph_urls": list(qa.subgraph.get("urls", [])),
            },
        )
