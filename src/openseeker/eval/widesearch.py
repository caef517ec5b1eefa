"""WideSearch table evaluation, rule for rule as the official evaluator (ByteDance-Seed/WideSearch,
``src/evaluation/evaluation.py``, ``metric_utils.py``, ``data_loader.py``), in our own code.

The rules (what a WideSearch number means; each is pinned by ``tests/eval/test_widesearch_rules.py``):

1. **Which table.** The first ```` ```markdown ```` fenced block; without one, the first run of lines that start
   with ``|`` (beginning at the first ``|`` of the response). Cells are split on every ``|`` (``\\|`` is *not* an
   escape), separator lines are skipped, and the table is read the way pandas ``read_csv(sep="|")`` reads it - so
   ``NA``/``N/A``/empty cells become ``nan``, an all-integer column prints ``7`` and an all-number column ``7.0``.
   The gold CSV is read the same way.
2. **Columns.** Names are normalized (trimmed, lowercased, spaces removed - punctuation kept). The answer's
   columns must *equal* the task's ``required`` set: a missing or an extra column scores 0. Before giving up, the
   answer's column names are aligned to the required ones (official: an LLM; here the judge role, or offline a
   normalized-equality stand-in).
3. **Rows.** Duplicate rows (same values in the task's ``unique_columns``) are dropped, first kept, on both sides.
   Key cells of ``exact_match``/``llm_judge`` unique columns are then aligned to gold key values (LLM, or the
   offline stand-in), every column of ``eval_pipeline`` is preprocessed on both sides, and rows are joined on
   exact equality of the unique columns (a many-to-many join, as ``pandas.merge``).
4. **Preprocess.** ``norm_str`` lowercases, trims and deletes spaces and ``*`` (nothing else);
   ``extract_number`` deletes commas and keeps the first number (with its ``%``), else ``NULL``; ``norm_date``
   rewrites a date ``dateparser`` understands as ``YYYY-MM-DD`` (month-only dates: day 1).
5. **Metrics.** ``exact_match``: case-insensitive equality. ``number_near``: ``|r - t| <= |t| * criterion``, a
   value with ``%`` is divided by 100; two non-numbers score 1 only when identical (two ``nan`` numbers score 0).
   ``date_near``: within 31 days; two unparseable dates score 1 whatever they say. ``url_match``: the sets of
   hosts (``urlparse().netloc``, ``www.`` kept) of the ``http(s)://`` urls in each cell are equal - so a bare
   domain holds no url and two url-less cells match. ``llm_judge``: the judge role scores the column's pairs
   under the task's criterion (offline: normalized equality or containment - ours, reported in
   ``offline_judged_columns``). Unique columns of a joined row score 1.
6. **Scores.** Row precision/recall over the deduplicated answer/gold rows (a row counts when all its cells score
   1); item precision/recall over rows x required columns; F1 of each. ``success`` when every P/R/F1 is 1, or when
   the two preprocessed tables are identical (same shape, same column order, same rows in any order, and no key
   was aligned).

Gold-as-answer: 189/200 tasks score ``success`` here and under the official evaluator (docs/eval-widesearch.md
lists the 11).
"""

from __future__ import annotations

import functools
import io
import json
import logging
import math
import re
import unicodedata
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from openseeker.errors import InputError
from openseeker.llm.base import LLM
from openseeker.llm.jsonout import chat_json
from openseeker.llm.judge import _parse_json_obj

log = logging.getLogger(__name__)

WIDESEARCH_JUDGE_VERSION = "widesearch-official/v2"

CELL_JUDGE_PROMPT = """You check cells of a table against reference values. Column: {column}.
Criterion: {criterion}

For each numbered pair decide whether the [response] value is correct with respect to the [reference] value
under the criterion. Pairs:
{pairs}

Answer with JSON: {{"results": [true/false for each pair, in order]}}"""

ALIGN_PROMPT = """Align two vocabularies by meaning (not by position). Each value of the [to align] list that \
names the same thing as a value of the [reference] list - differing only in wording, format or markdown \
decoration - maps to that reference value; identical strings always map to each other. Leave out values with no \
counterpart.

[to align]: {values}

[reference]: {reference}

Answer with JSON: {{"pairs": [{{"origin": "<value from [to align], verbatim>", "transform": "<value from \
[reference], verbatim>"}}, ...]}}"""

# --------------------------------------------------------------------------- reading tables


def norm_column(name: Any) -> str:
    """Column names as the official evaluator compares them: trimmed, lowercased, spaces removed."""
    return str(name).strip().lower().replace(" ", "")


def _cell_text(value: Any) -> str:
    """A cell as ``DataFrame.astype(str)`` prints it (pandas 2 and 3 alike): missing -> ``nan``, floats with
    ``.0``, booleans ``True``/``False``."""
    import numpy as np

    if value is None:
        return "nan"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return "nan" if math.isnan(value) else str(float(value))
    try:
        import pandas as pd

        if pd.isna(value):
            return "nan"
    except (TypeError, ValueError):
        pass
    return str(value)


def _frame_to_table(df: Any) -> tuple[list[str], list[list[str]]]:
    header = [str(c) for c in df.columns]
    rows = [[_cell_text(v) for v in row] for row in df.itertuples(index=False, name=None)]
    return header, rows


def table_text(response: str | None) -> str | None:
    """The raw text of the table the official evaluator scores: the first ```` ```markdown ```` block, else the
    first run of ``|``-lines starting at the response's first ``|`` (needs at least 4 ``|``)."""
    if not response:
        return None
    fenced = re.search(r"```markdown(.*?)```", response, re.DOTALL)
    if fenced:
        return fenced.group(1)
    if response.count("|") < 4:
        return None
    first, last = response.index("|"), response.rindex("|")
    start = max(0, response.rfind("\n", 0, first))
    end = response.find("\n", last)
    span = response[start : len(response) if end == -1 else end]
    run = re.search(r"\|[^\n]*(?:\n\|[^\n]*)*\n?", span)
    return run.group(0) if run else None


def parse_markdown_table(response: str | None) -> tuple[list[str], list[list[str]]] | None:
    """``(normalized header, rows of cell strings)`` of the scored table, ``None`` when there is none.

    Raises ``ValueError`` when pandas cannot read the table (e.g. a row with more cells than the header)."""
    raw = table_text(response)
    if raw is None:
        return None
    lines = [ln.strip() for ln in raw.strip().split("\n")]
    if not lines:
        return None
    lines[0] = lines[0].replace(" ", "").lower()
    kept = [
        "|".join(part.strip() for part in ln.split("|")) for ln in lines if "|" in ln and not set(ln) <= set("|- :")
    ]
    if not kept:
        return None
    import pandas as pd

    try:
        df = pd.read_csv(io.StringIO("\n".join(kept)), sep="|")
    except Exception as exc:  # noqa: BLE001 - pandas raises several parser errors; all mean "unreadable table"
        raise ValueError(f"unreadable markdown table: {exc}") from None
    df = df.loc[:, [not str(c).startswith("Unnamed") for c in df.columns]]
    header, rows = _frame_to_table(df)
    return [norm_column(c) for c in header], rows


def read_gold(path: str | Path, required: list[str] | None = None) -> tuple[list[str], list[list[str]]]:
    """The gold CSV as the official loader reads it: pandas defaults, normalized column names, only the
    ``required`` columns (in that order) when given."""
    p = Path(path)
    if not p.exists():
        raise InputError("gold table not found", path=str(p))
    import pandas as pd

    try:
        df = pd.read_csv(p)
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"unreadable gold CSV: {exc}", path=str(p)) from None
    df.columns = [norm_column(c) for c in df.columns]
    if required is not None:
        missing = [c for c in required if c not in df.columns]
        if missing:
            raise InputError(f"gold table lacks required columns {missing}", path=str(p))
        df = df[list(required)]
    return _frame_to_table(df)


# --------------------------------------------------------------------------- preprocess and metrics


def norm_str(value: str) -> str:
    """``norm_str``: lowercase, trim, delete spaces and ``*`` (punctuation stays)."""
    return str(value).lower().strip().replace(" ", "").replace("*", "")


_NUMBER = re.compile(r"[-+]?(?:\d*\.\d+|\d+\.?\d*)%?")


def extract_number(value: str) -> str:
    """``extract_number``: commas deleted, the first number (keeping a trailing ``%``), else ``NULL``."""
    m = _NUMBER.search(str(value).replace(",", ""))
    return m.group(0) if m else "NULL"


_ISO_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


@functools.lru_cache(maxsize=65536)
def _parse_date(value: str) -> Any:
    """``dateparser.parse`` with the official settings (cached; ISO days - what ``norm_date`` writes - are read
    directly, to the same midnight datetime dateparser returns, because dateparser takes ~20 ms a call)."""
    iso = _ISO_DAY.fullmatch(value)
    if iso:
        try:
            return datetime(*map(int, iso.groups()))
        except ValueError:
            pass
    import dateparser

    try:
        return dateparser.parse(value, settings={"PREFER_DAY_OF_MONTH": "first"})
    except Exception:  # noqa: BLE001 - dateparser raises on some inputs; unparseable is the answer
        return None


def norm_date(value: str) -> str:
    """``norm_date``: ``YYYY-MM-DD`` when ``dateparser`` reads the value (month-only: day 1), else unchanged."""
    d = _parse_date(value)
    return value if d is None else d.strftime("%Y-%m-%d")


PREPROCESS: dict[str, Callable[[str], str]] = {
    "norm_str": norm_str,
    "extract_number": extract_number,
    "norm_date": norm_date,
}


def _as_number(s: str) -> float | None:
    try:
        return float(s.replace("%", "")) / 100.0 if "%" in s else float(s)
    except (TypeError, ValueError):
        return None


def number_near(pred: str, gold: str, criterion: Any) -> float:
    p, g = _as_number(pred), _as_number(gold)
    if p is None or g is None:
        return float(p is None and g is None and pred == gold)
    return float(abs(p - g) <= abs(g) * float(criterion))


def date_near(pred: str, gold: str, days: int = 31) -> float:
    p, g = _parse_date(pred), _parse_date(gold)
    if p is None or g is None:
        return float(p is None and g is None)
    return float(abs((p - g).days) <= days)


# http(s) urls: the official character class (letters, digits, the ASCII run "$".."_", and @.&+!*\(),)
_URL = re.compile(r"https?://[A-Za-z0-9\x24-\x5f@.&+!*\\(),]+")


def url_hosts(value: str) -> set[str]:
    return {urlparse(u).netloc for u in _URL.findall(value)}


def url_match(pred: str, gold: str) -> float:
    return float(url_hosts(pred) == url_hosts(gold))


def exact_match(pred: str, gold: str) -> float:
    return float(pred.lower() == gold.lower())


def in_match(pred: str, gold: str) -> float:
    return float(pred in gold)


def offline_semantic(pred: str, gold: str) -> bool:
    """Ours, the offline stand-in for ``llm_judge``: equal after NFKC + lowercase + only letters/digits kept, or
    one value contained in the other."""

    def key(s: str) -> str:
        return "".join(ch for ch in unicodedata.normalize("NFKC", str(s)).lower() if ch.isalnum())

    p, g = key(pred), key(gold)
    if not p or not g:
        return p == g
    return p == g or (len(g) >= 2 and g in p) or (len(p) >= 2 and p in g)


def offline_align(values: list[str], reference: list[str]) -> dict[str, str]:
    """Ours, the offline stand-in for the LLM alignment: a value maps to the first reference value equal to it
    under ``norm_str``."""
    by_key: dict[str, str] = {}
    for r in reference:
        by_key.setdefault(norm_str(r), r)
    return {v: by_key[norm_str(v)] for v in values if norm_str(v) in by_key}


def cell_score(pred: str, gold: str, metric: str, criterion: Any = None) -> float:
    """One cell under a deterministic metric (``llm_judge`` here means the offline stand-in)."""
    if metric == "number_near":
        return number_near(pred, gold, criterion)
    if metric == "date_near":
        return date_near(pred, gold)
    if metric == "url_match":
        return url_match(pred, gold)
    if metric == "in_match":
        return in_match(pred, gold)
    if metric == "llm_judge":
        return float(offline_semantic(pred, gold))
    if metric == "exact_match":
        return exact_match(pred, gold)
    raise ValueError(f"unknown WideSearch metric {metric!r}")


# --------------------------------------------------------------------------- LLM steps (the judge role)


async def _judge_column(llm: LLM, column: str, criterion: str, pairs: list[tuple[str, str]]) -> list[bool] | None:
    lines = "\n".join(f"{i + 1}. [response]: {p}  [reference]: {g}" for i, (p, g) in enumerate(pairs))
    schema = {
        "type": "object",
        "properties": {"results": {"type": "array", "items": {"type": "boolean"}}},
        "required": ["results"],
    }
    msgs = [
        {
            "role": "user",
            "content": CELL_JUDGE_PROMPT.format(
                column=column, criterion=criterion or "semantic equivalence", pairs=lines
            ),
        }
    ]

    def one_per_pair(obj: Any) -> str | None:
        res = obj.get("results")
        return None if isinstance(res, list) and len(res) == len(pairs) else "not one result per pair"

    reply = await chat_json(
        llm,
        msgs,
        schema,
        name="cells",
        retries=1,
        parse=_parse_json_obj,
        check_schema=False,
        use_reasoning=False,
        correct=False,
        validate=one_per_pair,
        temperature=0.0,
        max_tokens=64 + 8 * len(pairs),
    )
    if reply.value is None:  # unparseable twice, or the endpoint failed (chat_json logged it)
        return None
    return [r is True or str(r).strip().lower() in ("true", "yes", "1") for r in reply.value["results"]]


async def _align_llm(llm: LLM, values: list[str], reference: list[str]) -> dict[str, str] | None:
    """The judge role aligns ``values`` to ``reference`` (the official evaluator's LLM alignment step)."""
    schema = {
        "type": "object",
        "properties": {
            "pairs": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"origin": {"type": "string"}, "transform": {"type": "string"}},
                    "required": ["origin", "transform"],
                },
            }
        },
        "required": ["pairs"],
    }
    prompt = ALIGN_PROMPT.format(
        values=json.dumps(values, ensure_ascii=False), reference=json.dumps(reference, ensure_ascii=False)
    )

    reply = await chat_json(
        llm,
        [{"role": "user", "content": prompt}],
        schema,
        name="alignment",
        retries=0,
        parse=_parse_json_obj,
        check_schema=False,
        use_reasoning=False,
        validate=lambda obj: None if isinstance(obj.get("pairs"), list) else "no pairs",
        temperature=0.0,
        max_tokens=256 + 32 * len(values),
    )
    if reply.value is None:  # chat_json logged an endpoint failure
        return None
    pairs = reply.value["pairs"]
    vals, refs = set(values), set(reference)
    out: dict[str, str] = {}
    for p in pairs:
        if isinstance(p, dict) and p.get("origin") in vals and p.get("transform") in refs:
            out[str(p["origin"])] = str(p["transform"])
    return out


# --------------------------------------------------------------------------- table score


async def _off_loop(fn: Callable[[], Any]) -> Any:
    """Run a CPU-bound step (dateparser takes ~20-100 ms a call) in a worker thread, so an
    ``eval run`` scoring a big table does not stall the other questions' agents on the event loop."""
    import asyncio

    return await asyncio.to_thread(fn)


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r > 1e-9 else 0.0


def _dedupe(rows: list[list[str]], key_idx: list[int]) -> list[list[str]]:
    seen: set[tuple[str, ...]] = set()
    out = []
    for r in rows:
        k = tuple(r[i] for i in key_idx)
        if k not in seen:
            seen.add(k)
            out.append(r)
    return out


def _empty_result(gold_rows: int) -> dict[str, Any]:
    return {
        "score": 0.0,
        "success": False,
        "item_f1": 0.0,
        "item_precision": 0.0,
        "item_recall": 0.0,
        "row_f1": 0.0,
        "row_precision": 0.0,
        "row_recall": 0.0,
        "gold_rows": gold_rows,
        "pred_rows": 0,
        "matched_rows": 0,
        "parsed": False,
        "missing_columns": [],
        "extra_columns": [],
        "llm_judged_columns": [],
        "offline_judged_columns": [],
        "llm_aligned": [],
        "offline_aligned": [],
        "msg": "",
        "judge_version": WIDESEARCH_JUDGE_VERSION,
    }


def _read_evaluation(
    evaluation: dict[str, Any] | str, gold_path: str | Path
) -> tuple[list[str], list[str], dict[str, dict[str, Any]]]:
    """A task's ``(required, unique_columns, eval_pipeline)``; unique columns must be required ones."""
    ev = evaluation if isinstance(evaluation, dict) else json.loads(evaluation)
    required: list[str] = list(ev["required"])
    unique: list[str] = list(ev["unique_columns"])
    if not set(unique) <= set(required):
        raise InputError(
            f"unique_columns {sorted(set(unique) - set(required))} are not required columns", path=str(gold_path)
        )
    return required, unique, ev["eval_pipeline"]


def _answer_table(response: str | None, result: dict[str, Any]) -> tuple[list[str], list[list[str]]] | None:
    """The answer's markdown table ``(header, rows)``, or ``None`` with the reason in ``result["msg"]``."""
    try:
        parsed = parse_markdown_table(response)
    except ValueError as exc:
        result["msg"] = str(exc)
        return None
    if parsed is None:
        result["msg"] = "no markdown table in the response"
    return parsed


def _in_order(header: list[str], rows: list[list[str]], required: list[str]) -> list[list[str]]:
    """``rows`` with their cells in the order of ``required`` (a column named twice: its last one)."""
    cols = {c: [r[i] for r in rows] for i, c in enumerate(header)}
    return [[cols[c][i] for c in required] for i in range(len(rows))]


def _join(pr: list[list[str]], gr: list[list[str]], key_pos: list[int]) -> list[tuple[int, int]]:
    """``(gold row, answer row)`` pairs whose unique-column cells are equal (many-to-many)."""
    by_key: dict[tuple[str, ...], list[int]] = {}
    for i, r in enumerate(pr):
        by_key.setdefault(tuple(r[j] for j in key_pos), []).append(i)
    return [(gi, pi) for gi, g in enumerate(gr) for pi in by_key.get(tuple(g[j] for j in key_pos), [])]


async def evaluate_table(
    response: str | None, gold_path: str | Path, evaluation: dict[str, Any] | str, llm: LLM | None = None
) -> dict[str, Any]:
    """Score one WideSearch answer under the official rules (module docstring).

    Args:
        response: the agent's final answer (markdown table somewhere inside).
        gold_path: the task's gold CSV.
        evaluation: the task's ``evaluation`` (dict or JSON string: unique_columns, required, eval_pipeline).
        llm: the judge role for the official evaluator's LLM steps (column/key alignment, ``llm_judge``
            columns); ``None`` uses the deterministic offline stand-ins (reported in the result).

    Returns:
        ``score`` (1.0 = whole table right, = ``success``), row/item precision, recall and F1, the counts behind
        them, which columns were LLM-judged or judged offline, which alignments used the LLM, and ``msg`` (why
        the score is 0 when the table was rejected).
    """
    required, unique, pipeline = _read_evaluation(evaluation, gold_path)
    g_header, g_rows = read_gold(gold_path, required)
    result = _empty_result(len(g_rows))
    parsed = _answer_table(response, result)
    if parsed is None:
        return result
    p_header, p_rows = parsed
    result["parsed"], result["pred_rows"] = True, len(p_rows)

    # 2. columns must equal the required set (after alignment)
    p_header = await _align_columns(llm, p_header, required, result)
    if set(p_header) != set(required) or len(p_header) != len(set(p_header)):
        result["msg"] = f"answer columns {p_header} != required columns {required}"
        return result
    # work on columns in the required order; keep the answer's own order for the identical-table check
    key_pos = [required.index(c) for c in unique]
    pr = _dedupe(_in_order(p_header, p_rows, required), key_pos)
    gr = _dedupe(_in_order(g_header, g_rows, required), key_pos)

    # 3. align key cells of exact_match / llm_judge unique columns to the gold keys
    aligned_keys = await _align_keys(llm, pr, gr, required, unique, pipeline, result)
    # 4. preprocess every pipeline column on both sides
    msg = await _preprocess(pr, gr, required, pipeline, gold_path)
    if msg:
        result["msg"] = msg
        return result

    # 6 (part). identical tables (same shape and column order, rows in any order, no key alignment)
    identical = (
        not aligned_keys
        and len(pr) == len(gr)
        and p_header == required
        and sorted(map(tuple, pr)) == sorted(map(tuple, gr))
    )

    # 3 (join). many-to-many join on exact unique-column equality
    pairs = _join(pr, gr, key_pos)
    result["matched_rows"] = len(pairs)

    # 5. cell scores: one list per (column, metric)
    columns_scores = await _cell_scores(llm, pr, gr, pairs, required, unique, pipeline, result, gold_path)
    if columns_scores is None:
        return result
    _final_scores(columns_scores, len(pairs), len(pr), len(gr), len(required), identical, result)
    return result


async def _align_columns(
    llm: LLM | None, p_header: list[str], required: list[str], result: dict[str, Any]
) -> list[str]:
    """The answer's header mapped onto the required column names (the LLM, else the offline stand-in)."""
    if set(p_header) != set(required):
        cmap = await _align_llm(llm, p_header, required) if llm is not None else None
        if cmap is None:
            cmap = offline_align(p_header, required)
            result["offline_aligned"].append("<columns>")
        else:
            result["llm_aligned"].append("<columns>")
        p_header = [cmap.get(c, c) for c in p_header]
    result["missing_columns"] = [c for c in required if c not in p_header]
    result["extra_columns"] = [c for c in p_header if c not in required]
    return p_header


async def _align_keys(
    llm: LLM | None,
    pr: list[list[str]],
    gr: list[list[str]],
    required: list[str],
    unique: list[str],
    pipeline: dict[str, dict[str, Any]],
    result: dict[str, Any],
) -> bool:
    """Rewrite the answer's key cells (unique columns judged by exact_match / llm_judge) to the gold keys they
    mean, in place. True when any key column was aligned."""
    aligned_keys = False
    for c in unique:
        metrics = (pipeline.get(c) or {}).get("metric", [])
        if pipeline.get(c) is None or not ("llm_judge" in metrics or "exact_match" in metrics):
            continue
        aligned_keys = True
        j = required.index(c)
        values, reference = [r[j] for r in pr], [r[j] for r in gr]
        kmap = await _align_llm(llm, values, reference) if llm is not None else None
        if kmap is None:
            kmap = offline_align(values, reference)
            result["offline_aligned"].append(c)
        else:
            result["llm_aligned"].append(c)
        for r in pr:
            r[j] = kmap.get(r[j], r[j])
    return aligned_keys


async def _preprocess(
    pr: list[list[str]],
    gr: list[list[str]],
    required: list[str],
    pipeline: dict[str, dict[str, Any]],
    gold_path: str | Path,
) -> str | None:
    """Apply each pipeline column's preprocessors to both tables in place; a message when the pipeline names a
    column that is not required."""
    for c, item in pipeline.items():
        if c not in required:
            return f"eval_pipeline column {c!r} is not a required column"
        j = required.index(c)
        for name in item.get("preprocess", []):
            if name not in PREPROCESS:
                raise InputError(f"unknown WideSearch preprocess {name!r} for column {c!r}", path=str(gold_path))
            fn = PREPROCESS[name]
            values = await _off_loop(lambda fn=fn, j=j: [fn(r[j]) for r in pr + gr])  # dateparser is slow
            for r, v in zip(pr + gr, values, strict=True):
                r[j] = v
    return None


async def _cell_scores(
    llm: LLM | None,
    pr: list[list[str]],
    gr: list[list[str]],
    pairs: list[tuple[int, int]],
    required: list[str],
    unique: list[str],
    pipeline: dict[str, dict[str, Any]],
    result: dict[str, Any],
    gold_path: str | Path,
) -> list[list[float]] | None:
    """One score list per (column, metric) over the matched row pairs; None (and ``result["msg"]``) when a
    required column has no pipeline entry."""
    columns_scores: list[list[float]] = []
    for c in required:
        if c in unique:
            columns_scores.append([1.0] * len(pairs))
            continue
        if c not in pipeline:
            result["msg"] = f"column {c!r} has no eval_pipeline entry"
            return None
        j = required.index(c)
        item = pipeline[c]
        crit = item.get("criterion")
        cells = [(pr[pi][j], gr[gi][j]) for gi, pi in pairs]
        for metric in item.get("metric", []):
            if metric == "llm_judge":
                verdicts = await _judge_column(llm, c, str(crit or ""), cells) if llm is not None and cells else None
                if verdicts is not None:
                    result["llm_judged_columns"].append(c)
                    columns_scores.append([float(v) for v in verdicts])
                    continue
                if cells:
                    result["offline_judged_columns"].append(c)
            try:
                columns_scores.append(
                    await _off_loop(lambda m=metric, cl=cells, cr=crit: [cell_score(p, g, m, cr) for p, g in cl])
                )
            except (ValueError, TypeError) as exc:
                raise InputError(f"column {c!r}: {exc}", path=str(gold_path)) from None
    return columns_scores


def _final_scores(
    columns_scores: list[list[float]],
    n_pairs: int,
    n_pred: int,
    n_gold: int,
    n_cols: int,
    identical: bool,
    result: dict[str, Any],
) -> None:
    """Row and item precision / recall / F1 and the success flag, into ``result``."""
    tp_row = sum(min(col[k] for col in columns_scores) for k in range(n_pairs)) if columns_scores else 0.0
    tp_item = sum(sum(col) for col in columns_scores)
    rp = tp_row / n_pred if n_pred else 0.0
    rr = tp_row / n_gold if n_gold else 0.0
    ip = tp_item / (n_pred * n_cols) if n_pred else 0.0
    ir = tp_item / (n_gold * n_cols) if n_gold else 0.0
    rf, itf = _f1(rp, rr), _f1(ip, ir)
    perfect = rp == rr == rf == ip == ir == itf == 1.0
    success = perfect or identical
    result.update(
        row_precision=rp,
        row_recall=rr,
        row_f1=rf,
        item_precision=ip,
        item_recall=ir,
        item_f1=itf,
        success=success,
        score=1.0 if success else 0.0,
        pred_rows=n_pred,
        gold_rows=n_gold,
    )


def table_to_markdown(header: list[str], rows: list[list[str]]) -> str:
    """Render a table as a fenced markdown block (answers in tests and examples). Line breaks in cells become spaces
    and ``|`` is escaped as ``\\|`` - which the official parser still splits on (see rule 1)."""

    def esc(c: str) -> str:
        return " ".join(str(c).replace("|", "\\|").splitlines())

    lines = ["| " + " | ".join(esc(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "```markdown\n" + "\n".join(lines) + "\n```"
