"""BrowseComp (OpenAI) and BrowseComp-ZH (original xlsx, revised csv): SHA-256(canary)/XOR encrypted fields.

- BrowseComp CSV (simple-evals ``browse_comp_test_set.csv``): ``problem, answer, problem_topic, canary``;
  ``problem`` and ``answer`` encrypted, key from the row's canary.
- BrowseComp-ZH original xlsx: ``Topic, Question, Answer, canary`` (canary ``BrowseComp-ZH``), all three
  encrypted.
- BrowseComp-ZH revised csv: ``Unnamed: 0, raw_problem, raw_answer, tag, reason, answer, answer_diff, canary``,
  every column but the canary encrypted (canary ``browsecomp-zh-revised``); ``answer`` is the corrected answer.
  Item metadata keys: ``original_answer`` (the file's ``raw_answer``), ``answer_revised`` (``answer_diff``),
  ``revision_tag`` (``tag``: the kind of revision), ``revision_reason`` (``reason``); no topic column.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from openseeker.errors import InputError, UserError
from openseeker.eval.loaders.base import decrypt_fields, detect_language, read_csv_rows, require_file
from openseeker.records import EvalItem


def load_browsecomp(path: Path) -> Iterator[EvalItem]:
    require_file(path, "BrowseComp CSV: problem,answer,problem_topic,canary")
    for row_no, line, row in read_csv_rows(path):
        canary = (row.get("canary") or "").strip()
        if not canary:
            raise InputError(f"row {row_no}: no canary", path=str(path), line=line)
        plain = decrypt_fields(row, ("problem", "answer"), canary, path=path, row_no=row_no, line=line)
        yield EvalItem(
            id=f"browsecomp-{row_no - 1:04d}",
            question=plain["problem"],
            answers=[plain["answer"]],
            language="en",
            benchmark="browsecomp",
            metadata={"category": row.get("problem_topic", ""), "row": row_no},
        )


def load_browsecomp_zh(path: Path) -> Iterator[EvalItem]:
    """The original xlsx or the revised csv (dispatch on the suffix)."""
    if path.is_dir():
        for cand in (path / "data" / "browsecomp-zh-encrypted.xlsx", path / "browsecomp-zh-encrypted.xlsx"):
            if cand.exists():
                path = cand
                break
    require_file(path, "BrowseComp-ZH xlsx or revised csv")
    if path.suffix.lower() == ".csv":
        yield from _load_zh_revised(path)
    elif path.suffix.lower() in (".xlsx", ".xlsm"):
        yield from _load_zh_xlsx(path)
    else:
        raise UserError(f"{path}: BrowseComp-ZH must be the original .xlsx or the revised .csv")


def load_browsecomp_zh_revised(path: Path) -> Iterator[EvalItem]:
    if path.is_dir():
        for cand in (
            path / "revised" / "data" / "browsecomp-zh-encrypted.csv",
            path / "data" / "browsecomp-zh-encrypted.csv",
        ):
            if cand.exists():
                path = cand
                break
    yield from load_browsecomp_zh(path)


def _load_zh_xlsx(path: Path) -> Iterator[EvalItem]:
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        ws = wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
        need = {"Topic", "Question", "Answer", "canary"}
        if not need <= set(header):
            raise InputError(f"expected columns {sorted(need)}, found {header}", path=str(path), line=1)
        row_no = 0
        for values in rows:
            if values is None or all(v is None or str(v).strip() == "" for v in values):
                continue
            row_no += 1
            row = dict(zip(header, ("" if v is None else str(v) for v in values)))
            plain = decrypt_fields(
                row, ("Topic", "Question", "Answer"), row["canary"], path=path, row_no=row_no, line=row_no + 1
            )
            yield EvalItem(
                id=f"browsecomp-zh-{row_no - 1:03d}",
                question=plain["Question"],
                answers=[plain["Answer"]],
                language="zh",
                benchmark="browsecomp-zh",
                metadata={"category": plain["Topic"], "row": row_no, "version": "original"},
            )
    finally:
        wb.close()


def _load_zh_revised(path: Path) -> Iterator[EvalItem]:
    fields = ("Unnamed: 0", "raw_problem", "raw_answer", "tag", "reason", "answer", "answer_diff")
    for row_no, line, row in read_csv_rows(path):
        canary = (row.get("canary") or "").strip()
        if not canary:
            raise InputError(f"row {row_no}: no canary", path=str(path), line=line)
        plain = decrypt_fields(
            row,
            fields,
            canary,
            path=path,
            row_no=row_no,
            line=line,
            optional=("Unnamed: 0", "tag", "reason", "raw_answer", "answer_diff"),
        )
        idx = plain["Unnamed: 0"].strip() or str(row_no - 1)
        yield EvalItem(
            id=f"browsecomp-zh-r{idx.zfill(3)}",
            question=plain["raw_problem"],
            answers=[plain["answer"]],
            language=detect_language(plain["raw_problem"]) or "zh",
            benchmark="browsecomp-zh-revised",
            metadata={
                "category": "",  # the revised file has no topic column; "tag" is the revision reason
                "revision_tag": plain["tag"],
                "revision_reason": plain["reason"],
                "row": row_no,
                "version": "revised",
                "answer_revised": plain["answer_diff"].strip().lower() == "true",
                "original_answer": plain["raw_answer"],
            },
        )
