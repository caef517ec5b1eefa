"""WideSearch perturbation matrix on real gold tables (shared data): every perturbation class, applied to real
tasks at test time, scores exactly what the official evaluator (ByteDance-Seed/WideSearch, run unmodified beside
ours, LLM steps by the offline stand-ins) gave on the same responses. The rules: docs/eval-widesearch.md."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import random
import re

import pytest

from openseeker.eval.loaders import load_benchmark
from openseeker.eval.widesearch import evaluate_table
from openseeker.testing.shared import requires_shared

STRUCT_TASKS = ("ws_en_002", "ws_zh_001")
NUM_TASK, PCT_TASK, URL_TASK = "ws_en_004", "ws_en_033", "ws_en_001"
DATE_TASKS = ("ws_en_012", "ws_zh_079")


def _norm(c: str) -> str:
    return c.strip().lower().replace(" ", "")


def gold_raw(item) -> tuple[list[str], list[list[str]]]:
    """The gold CSV's own strings, required columns only (what a perfect answer would write)."""
    with open(item.metadata["gold_csv"], encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    idx = {_norm(c): i for i, c in enumerate(rows[0])}
    keep = [idx[c] for c in item.metadata["evaluation"]["required"]]
    return [rows[0][i] for i in keep], [[r[i] if i < len(r) else "" for i in keep] for r in rows[1:]]


def md(header, rows, fence=True, lead=True):
    def line(cells):
        s = " | ".join(" ".join(str(c).replace("|", "/").split()) for c in cells)
        return f"| {s} |" if lead else s

    text = "\n".join([line(header), line(["---"] * len(header))] + [line(r) for r in rows])
    return "```markdown\n" + text + "\n```" if fence else text


def cols_with(item, metric):
    ev = item.metadata["evaluation"]
    return [
        c
        for c in ev["required"]
        if c not in ev["unique_columns"] and metric in ev["eval_pipeline"].get(c, {}).get("metric", [])
    ]


def edit_cols(item, metric, fn):
    header, rows = gold_raw(item)
    js = [item.metadata["evaluation"]["required"].index(c) for c in cols_with(item, metric)]
    return header, [[fn(c) if j in js else c for j, c in enumerate(r)] for r in rows]


def _num(s):
    try:
        return float(s.replace(",", ""))
    except ValueError:
        return None


def _iso(s):
    for f in ("%Y-%m-%d", "%Y/%m/%d", "%B %d, %Y", "%Y年%m月%d日"):
        try:
            return dt.datetime.strptime(s, f)
        except ValueError:
            pass
    return None


def _shift(days):
    return lambda s: (_iso(s) + dt.timedelta(days=days)).strftime("%Y-%m-%d") if _iso(s) else s


def struct_cases(item):
    h, rows = gold_raw(item)
    uniq = item.metadata["evaluation"]["unique_columns"]
    rng = random.Random(item.id)
    shuffled = rows[:]
    rng.shuffle(shuffled)
    perm = list(range(len(h)))
    rng.shuffle(perm)
    wrong_dup = [r if _norm(h[j]) in uniq else "zzz" for j, r in enumerate(rows[0])]
    return {
        "fence_markdown": md(h, rows),
        "fence_plain": "```\n" + md(h, rows, fence=False) + "\n```",
        "no_fence_prose": "Here is the table.\n\n" + md(h, rows, fence=False) + "\n\nHope this helps.",
        "prose_pipe_before": "Sources: wiki | news | blogs\n\n" + md(h, rows, fence=False),
        "no_outer_pipes": md(h, rows, lead=False),
        "indented_table": "\n".join("  " + x for x in md(h, rows, fence=False).split("\n")),
        "two_tables_draft_first": "Draft:\n" + md(h, rows[: len(rows) // 2]) + "\nFinal:\n" + md(h, rows),
        "two_tables_final_first": md(h, rows) + "\nSummary:\n" + md(h, rows[:2]),
        "drop_one_row": md(h, rows[1:]),
        "drop_half_rows": md(h, rows[: len(rows) // 2]),
        "extra_row": md(h, rows + [[f"Invented {k}" for k in range(len(h))]]),
        "dup_row": md(h, rows + [rows[0]]),
        "dup_key_wrong_values": md(h, rows + [wrong_dup]),
        "shuffle_rows": md(h, shuffled),
        "shuffle_cols": md([h[j] for j in perm], [[r[j] for j in perm] for r in rows]),
        "drop_col": md(h[:-1], [r[:-1] for r in rows]),
        "extra_col": md(h + ["Notes"], [r + ["n/a"] for r in rows]),
        "header_upper": md([x.upper() for x in h], rows),
        "header_punct": md([x + "." for x in h], rows),
        "bold_cells": md(h, [["**" + c + "**" if c else c for c in r] for r in rows]),
        "upper_cells": md(h, [[c.upper() for c in r] for r in rows]),
        "punct_dropped": md(h, [[re.sub(r"[.,'’\-()]", "", c) for c in r] for r in rows]),
        "na_dash": md(h, [["—" if c.strip() in ("NA", "N/A", "", "-") else c for c in r] for r in rows]),
        "empty_cell": md(h, [r[:-1] + [""] if i == 0 else r for i, r in enumerate(rows)]),
        "escaped_pipe": md(h, [r[:-1] + [r[-1] + " \\| x"] if i == 0 else r for i, r in enumerate(rows)]),
        "quote_start_cell": md(h, [['"' + r[0] + '" (x)'] + r[1:] if i == 0 else r for i, r in enumerate(rows)]),
        "fullwidth_punct": md(
            h, [[c.replace("(", "（").replace(")", "）").replace(",", "，") for c in r] for r in rows]
        ),
        "no_table": "I could not find the information.",
    }


def num_cases(item):
    return {
        "num_thousands": md(
            *edit_cols(
                item,
                "number_near",
                lambda s: (
                    f"{_num(s):,.0f}"
                    if _num(s) is not None and _num(s) == int(_num(s)) and abs(_num(s)) >= 1000
                    else s
                ),
            )
        ),
        "num_plus3pct": md(
            *edit_cols(item, "number_near", lambda s: f"{_num(s) * 1.03:.4f}" if _num(s) is not None else s)
        ),
        "num_plus20pct": md(
            *edit_cols(item, "number_near", lambda s: f"{_num(s) * 1.2:.4f}" if _num(s) is not None else s)
        ),
        "num_unit_suffix": md(*edit_cols(item, "number_near", lambda s: s + " million" if _num(s) is not None else s)),
        "num_currency": md(*edit_cols(item, "number_near", lambda s: "$" + s if _num(s) is not None else s)),
        "num_as_percent": md(
            *edit_cols(item, "number_near", lambda s: f"{_num(s) * 100:g}%" if _num(s) is not None else s)
        ),
        "num_na": md(*edit_cols(item, "number_near", lambda s: "NA")),
        "num_dash": md(*edit_cols(item, "number_near", lambda s: "—")),
    }


def pct_cases(item):
    def frac(s):
        return f"{float(s.rstrip('%')) / 100:g}" if re.fullmatch(r"-?[\d.]+%", s) else s

    return {
        "pct_as_fraction": md(*edit_cols(item, "number_near", frac)),
        "pct_drop_sign": md(*edit_cols(item, "number_near", lambda s: s.rstrip("%"))),
    }


def date_cases(item):
    def month_only(s):
        d = _iso(s)
        return d.strftime("%B %Y") if d else s

    return {
        "date_plus10": md(*edit_cols(item, "date_near", _shift(10))),
        "date_plus40": md(*edit_cols(item, "date_near", _shift(40))),
        "date_minus31": md(*edit_cols(item, "date_near", _shift(-31))),
        "date_month_only": md(*edit_cols(item, "date_near", month_only)),
        "date_garbage": md(*edit_cols(item, "date_near", lambda s: "unknown")),
    }


def url_cases(item):
    return {
        "url_add_www": md(*edit_cols(item, "url_match", lambda s: re.sub(r"://(?!www\.)", "://www.", s))),
        "url_drop_www": md(*edit_cols(item, "url_match", lambda s: s.replace("://www.", "://"))),
        "url_bare_domain": md(*edit_cols(item, "url_match", lambda s: re.sub(r"^https?://", "", s))),
        "url_add_path": md(*edit_cols(item, "url_match", lambda s: s.rstrip("/") + "/about/index.html?x=1")),
        "url_markdown_link": md(*edit_cols(item, "url_match", lambda s: f"[site]({s})")),
    }


def all_cases(tasks) -> dict[str, tuple[str, str]]:
    """``{"class:task": (task id, response)}``."""
    out = {}
    groups = [(t, struct_cases) for t in STRUCT_TASKS] + [
        (NUM_TASK, num_cases),
        (PCT_TASK, pct_cases),
        (URL_TASK, url_cases),
    ]
    groups += [(t, date_cases) for t in DATE_TASKS]
    for tid, fn in groups:
        for name, resp in fn(tasks[tid]).items():
            out[f"{name}:{tid}"] = (tid, resp)
    return out


# (score, item_f1, row_f1) from the official evaluator on exactly these responses
EXPECTED: dict[str, tuple[float, float, float]] = {
    "fence_markdown:ws_en_002": (1.0, 1.0, 1.0),
    "fence_plain:ws_en_002": (1.0, 1.0, 1.0),
    "no_fence_prose:ws_en_002": (1.0, 1.0, 1.0),
    "prose_pipe_before:ws_en_002": (0.0, 0.0, 0.0),
    "no_outer_pipes:ws_en_002": (1.0, 1.0, 1.0),
    "indented_table:ws_en_002": (0.0, 0.0, 0.0),
    "two_tables_draft_first:ws_en_002": (0.0, 0.666667, 0.666667),
    "two_tables_final_first:ws_en_002": (1.0, 1.0, 1.0),
    "drop_one_row:ws_en_002": (0.0, 0.986667, 0.986667),
    "drop_half_rows:ws_en_002": (0.0, 0.666667, 0.666667),
    "extra_row:ws_en_002": (0.0, 0.987013, 0.987013),
    "dup_row:ws_en_002": (1.0, 1.0, 1.0),
    "dup_key_wrong_values:ws_en_002": (1.0, 1.0, 1.0),
    "shuffle_rows:ws_en_002": (1.0, 1.0, 1.0),
    "shuffle_cols:ws_en_002": (1.0, 1.0, 1.0),
    "drop_col:ws_en_002": (0.0, 0.0, 0.0),
    "extra_col:ws_en_002": (0.0, 0.0, 0.0),
    "header_upper:ws_en_002": (1.0, 1.0, 1.0),
    "header_punct:ws_en_002": (0.0, 0.0, 0.0),
    "bold_cells:ws_en_002": (1.0, 1.0, 1.0),
    "upper_cells:ws_en_002": (1.0, 1.0, 1.0),
    "punct_dropped:ws_en_002": (0.0, 0.868421, 0.868421),
    "na_dash:ws_en_002": (1.0, 1.0, 1.0),
    "empty_cell:ws_en_002": (0.0, 0.995614, 0.973684),
    "escaped_pipe:ws_en_002": (1.0, 1.0, 1.0),
    "quote_start_cell:ws_en_002": (0.0, 0.973684, 0.973684),
    "fullwidth_punct:ws_en_002": (0.0, 0.973684, 0.973684),
    "no_table:ws_en_002": (0.0, 0.0, 0.0),
    "fence_markdown:ws_zh_001": (1.0, 1.0, 1.0),
    "fence_plain:ws_zh_001": (1.0, 1.0, 1.0),
    "no_fence_prose:ws_zh_001": (1.0, 1.0, 1.0),
    "prose_pipe_before:ws_zh_001": (0.0, 0.0, 0.0),
    "no_outer_pipes:ws_zh_001": (1.0, 1.0, 1.0),
    "indented_table:ws_zh_001": (0.0, 0.0, 0.0),
    "two_tables_draft_first:ws_zh_001": (0.0, 0.666667, 0.666667),
    "two_tables_final_first:ws_zh_001": (1.0, 1.0, 1.0),
    "drop_one_row:ws_zh_001": (0.0, 0.989899, 0.989899),
    "drop_half_rows:ws_zh_001": (0.0, 0.666667, 0.666667),
    "extra_row:ws_zh_001": (0.0, 0.990099, 0.990099),
    "dup_row:ws_zh_001": (1.0, 1.0, 1.0),
    "dup_key_wrong_values:ws_zh_001": (1.0, 1.0, 1.0),
    "shuffle_rows:ws_zh_001": (1.0, 1.0, 1.0),
    "shuffle_cols:ws_zh_001": (1.0, 1.0, 1.0),
    "drop_col:ws_zh_001": (0.0, 0.0, 0.0),
    "extra_col:ws_zh_001": (0.0, 0.0, 0.0),
    "header_upper:ws_zh_001": (1.0, 1.0, 1.0),
    "header_punct:ws_zh_001": (0.0, 0.0, 0.0),
    "bold_cells:ws_zh_001": (1.0, 1.0, 1.0),
    "upper_cells:ws_zh_001": (1.0, 1.0, 1.0),
    "punct_dropped:ws_zh_001": (0.0, 0.833333, 0.0),
    "na_dash:ws_zh_001": (1.0, 1.0, 1.0),
    "empty_cell:ws_zh_001": (0.0, 0.996667, 0.98),
    "escaped_pipe:ws_zh_001": (1.0, 1.0, 1.0),
    "quote_start_cell:ws_zh_001": (0.0, 0.996667, 0.98),
    "fullwidth_punct:ws_zh_001": (1.0, 1.0, 1.0),
    "no_table:ws_zh_001": (0.0, 0.0, 0.0),
    "num_thousands:ws_en_004": (1.0, 1.0, 1.0),
    "num_plus3pct:ws_en_004": (1.0, 1.0, 1.0),
    "num_plus20pct:ws_en_004": (0.0, 0.928571, 0.0),
    "num_unit_suffix:ws_en_004": (1.0, 1.0, 1.0),
    "num_currency:ws_en_004": (1.0, 1.0, 1.0),
    "num_as_percent:ws_en_004": (1.0, 1.0, 1.0),
    "num_na:ws_en_004": (0.0, 0.928571, 0.0),
    "num_dash:ws_en_004": (0.0, 0.928571, 0.0),
    "pct_as_fraction:ws_en_033": (1.0, 1.0, 1.0),
    "pct_drop_sign:ws_en_033": (0.0, 0.833333, 0.0),
    "url_add_www:ws_en_001": (0.0, 0.995, 0.96),
    "url_drop_www:ws_en_001": (0.0, 0.88, 0.04),
    "url_bare_domain:ws_en_001": (0.0, 0.875, 0.0),
    "url_add_path:ws_en_001": (1.0, 1.0, 1.0),
    "url_markdown_link:ws_en_001": (1.0, 1.0, 1.0),
    "date_plus10:ws_en_012": (1.0, 1.0, 1.0),
    "date_plus40:ws_en_012": (1.0, 1.0, 1.0),
    "date_minus31:ws_en_012": (1.0, 1.0, 1.0),
    "date_month_only:ws_en_012": (1.0, 1.0, 1.0),
    "date_garbage:ws_en_012": (0.0, 0.888889, 0.0),
    "date_plus10:ws_zh_079": (1.0, 1.0, 1.0),
    "date_plus40:ws_zh_079": (1.0, 1.0, 1.0),
    "date_minus31:ws_zh_079": (1.0, 1.0, 1.0),
    "date_month_only:ws_zh_079": (1.0, 1.0, 1.0),
    "date_garbage:ws_zh_079": (0.0, 0.559615, 0.0),
}


@pytest.fixture(scope="module")
def tasks():
    return {it.id: it for it in load_benchmark("widesearch")}


@requires_shared
def test_real_matrix_scores_as_the_official_evaluator(tasks):
    cases = all_cases(tasks)
    assert set(cases) == set(EXPECTED) and len(cases) >= 48
    got, diffs = {}, []
    for key, (tid, resp) in cases.items():
        it = tasks[tid]
        r = asyncio.run(evaluate_table(resp, it.metadata["gold_csv"], it.metadata["evaluation"]))
        got[key] = (r["score"], round(r["item_f1"], 6), round(r["row_f1"], 6))
        if got[key] != EXPECTED[key]:
            diffs.append((key, got[key], EXPECTED[key], r["msg"]))
    assert not diffs
