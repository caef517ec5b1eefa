"""Plaintext QA benchmarks: GAIA (text-only), HLE (text subset), WebWalkerQA, FRAMES, SimpleQA, FanOutQA.

Formats read (the files in ``../shared/data/benchmarks``):

- WebThinker JSON (a list of objects with ``Question`` and ``answer``): GAIA ``dev.json`` (103 text-only),
  HLE ``test.json`` (500; ``answer_type``, ``category``), WebWalkerQA ``test.json`` (680; ``lang``, ``type``,
  ``difficulty_level``, ``domain``).
- GAIA original ``metadata.jsonl`` (``task_id, Question, Level, Final answer, file_name``): rows with an
  attached file are skipped (text-only subset).
- FRAMES: ``frames_test_set.csv`` (``question, true_answer, reasoning_types, wiki_links``) or a JSONL with
  ``id, question, answer``.
- SimpleQA: ``simple_qa_test_set.csv`` (``metadata, problem|question, answer|true_answer``).
- FanOutQA dev JSON (``id, question, answer`` where answer may be a str, list or dict, ``categories``).
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from openseeker.errors import InputError, UserError
from openseeker.eval.loaders.base import detect_language, json_items, read_csv_rows, require_file
from openseeker.io import iter_jsonl
from openseeker.records import EvalItem


def _webthinker(path: Path, bench: str, meta_keys: tuple[str, ...], category_key: str | None) -> Iterator[EvalItem]:
    require_file(path, f"{bench} JSON (WebThinker format: list of {{Question, answer}})")
    for i, obj in json_items(path, ("Question", "answer")):
        meta = {k: obj[k] for k in meta_keys if k in obj}
        if category_key and category_key in obj:
            meta["category"] = str(obj[category_key])
        qid = str(obj.get("task_id") or obj.get("id") or i)
        lang = obj.get("lang") or detect_language(obj["Question"])
        yield EvalItem(
            id=f"{bench}-{qid}",
            question=str(obj["Question"]),
            answers=[str(obj["answer"])],
            language=lang,
            benchmark=bench,
            metadata=meta,
        )


def load_gaia(path: Path) -> Iterator[EvalItem]:
    if path.suffix == ".jsonl":  # the original GAIA validation metadata: keep questions without attachments
        require_file(path, "GAIA metadata.jsonl")
        for line, obj in iter_jsonl(path, required=("task_id", "Question", "Final answer")):
            if obj.get("file_name"):
                continue
            yield EvalItem(
                id=f"gaia-{obj['task_id']}",
                question=obj["Question"],
                answers=[str(obj["Final answer"])],
                language="en",
                benchmark="gaia",
                metadata={"category": f"level {obj.get('Level', '?')}", "line": line},
            )
        return
    for item in _webthinker(path, "gaia", ("Level",), None):
        item.metadata["category"] = f"level {item.metadata.get('Level', '?')}"
        yield item


def load_hle(path: Path) -> Iterator[EvalItem]:
    yield from _webthinker(path, "hle", ("answer_type", "raw_subject"), "category")


def load_webwalkerqa(path: Path) -> Iterator[EvalItem]:
    yield from _webthinker(path, "webwalkerqa", ("type", "difficulty_level", "domain", "root_url"), "type")


def load_frames(path: Path) -> Iterator[EvalItem]:
    require_file(path, "FRAMES csv (question,true_answer,...) or jsonl (id,question,answer)")
    if path.suffix == ".jsonl":
        for n, (line, obj) in enumerate(iter_jsonl(path, required=("question", "answer"))):
            yield EvalItem(
                id=f"frames-{n:04d}",
                question=obj["question"],
                answers=[str(obj["answer"])],
                language="en",
                benchmark="frames",
                metadata={"line": line, "source_id": obj.get("id")},
            )
        return
    if path.suffix != ".csv":
        raise UserError(
            f"{path}: FRAMES must be the .csv (question,true_answer) or a .jsonl (the .tsv has no answers)"
        )
    for row_no, line, row in read_csv_rows(path):
        if not row.get("question") or row.get("true_answer") is None:
            raise InputError(f"row {row_no}: needs 'question' and 'true_answer'", path=str(path), line=line)
        links = [v for k, v in row.items() if k and k.startswith("wikipedia_link") and v]
        yield EvalItem(
            id=f"frames-{row_no - 1:04d}",
            question=row["question"],
            answers=[row["true_answer"]],
            language="en",
            benchmark="frames",
            metadata={"category": row.get("reasoning_types", ""), "wiki_links": links, "row": row_no},
        )


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None


def load_simpleqa(path: Path) -> Iterator[EvalItem]:
    require_file(path, "SimpleQA csv (metadata,problem,answer)")
    for row_no, line, row in read_csv_rows(path):
        q = row.get("problem") or row.get("question")
        a = row.get("answer") if row.get("answer") is not None else row.get("true_answer")
        if not q or a is None:
            raise InputError(
                f"row {row_no}: needs 'problem'/'question' and 'answer'/'true_answer'", path=str(path), line=line
            )
        meta = _literal(row.get("metadata") or "") or {}
        yield EvalItem(
            id=f"simpleqa-{row_no - 1:04d}",
            question=q,
            answers=[a],
            language="en",
            benchmark="simpleqa",
            metadata={
                "category": meta.get("topic", "") if isinstance(meta, dict) else "",
                "answer_type": meta.get("answer_type", "") if isinstance(meta, dict) else "",
                "row": row_no,
            },
        )


def _render_answer(answer: Any) -> str:
    if isinstance(answer, dict):
        return "; ".join(f"{k}: {_render_answer(v)}" for k, v in answer.items())
    if isinstance(answer, list):
        return ", ".join(_render_answer(v) for v in answer)
    return str(answer)


def load_fanoutqa(path: Path) -> Iterator[EvalItem]:
    require_file(path, "FanOutQA dev JSON")
    for i, obj in json_items(path, ("question", "answer")):
        cats = obj.get("categories") or []
        yield EvalItem(
            id=f"fanoutqa-{obj.get('id', i)}",
            question=obj["question"],
            answers=[_render_answer(obj["answer"])],
            language="en",
            benchmark="fanoutqa",
            metadata={
                "category": cats[0] if cats else "",
                "answer_json": json.dumps(obj["answer"], ensure_ascii=False),
            },
        )
