"""GISA: ``encrypted_question.jsonl`` (``id, question, answer_type, question_type, topic, canary``; the question
is SHA-256(canary)/XOR encrypted, canary per row) + plaintext gold answers in ``answer/<id>.csv``.

The gold answer is kept as its CSV text (item/set/list/table); the judge sees that text. GISA's own strict
set/list/table metrics are not reimplemented (**ours**: the LLM judge, or normalized match offline)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from openseeker.errors import InputError
from openseeker.eval.loaders.base import decrypt_fields, require_file
from openseeker.io import iter_jsonl
from openseeker.records import EvalItem


def load_gisa(path: Path) -> Iterator[EvalItem]:
    if path.is_dir():
        path = path / "encrypted_question.jsonl"
    require_file(path, "GISA encrypted_question.jsonl")
    answers_dir = path.parent / "answer"
    for row_no, (line, obj) in enumerate(iter_jsonl(path, required=("id", "question", "canary")), 1):
        plain = decrypt_fields(obj, ("question",), str(obj["canary"]), path=path, row_no=row_no, line=line)
        ans_file = answers_dir / f"{obj['id']}.csv"
        if not ans_file.exists():
            raise InputError(f"row {row_no}: no gold answer file {ans_file}", path=str(path), line=line)
        gold = _read_text(ans_file)
        yield EvalItem(
            id=f"gisa-{obj['id']}",
            question=plain["question"],
            answers=[gold],
            language="en",
            benchmark="gisa",
            metadata={
                "category": obj.get("topic", ""),
                "answer_type": obj.get("answer_type", ""),
                "question_type": obj.get("question_type", ""),
                "row": row_no,
            },
        )


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(enc).strip()
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1").strip()
