"""The WideSearch scoring rules, case by case, on a small synthetic task (no shared data needed).

Expected ``(score, item_f1, row_f1)`` values come from the official evaluator (ByteDance-Seed/WideSearch,
``src/evaluation/evaluation.py``) run unmodified on exactly these responses, with its LLM calls answered by the
same deterministic stand-ins our offline mode uses (alignment: ``norm_str`` equality; ``llm_judge`` cells:
normalized equality or containment). Each name says which rule the case pins; docs/eval-widesearch.md explains
the rules.
"""

from __future__ import annotations

import asyncio

import pytest

from openseeker.eval.widesearch import (
    date_near,
    evaluate_table,
    extract_number,
    norm_date,
    norm_str,
    number_near,
    parse_markdown_table,
    url_hosts,
    url_match,
)

EN_GOLD = """Name,Country,Population,Founded,Website,Code,Share
Alpha City,France,"1,200,000",1999-05-10,https://www.alpha.fr/home,A-1,12.5%
Beta Town,Germany,350000,2001-01-01,http://beta.de,B.2,30%
Gamma Village,Spain,NA,2010-07-20,https://gamma.es,C 3,5%
Delta Port,Italy,42000,1985-12-31,https://www.delta.it,O'Neil,7%
Epsilon Bay,Portugal,98000,March 2003,https://epsilon.pt/x,E*5,1%
"""
EN_EVAL = {
    "unique_columns": ["name"],
    "required": ["name", "country", "population", "founded", "website", "code", "share"],
    "eval_pipeline": {
        "name": {"preprocess": ["norm_str"], "metric": ["exact_match"]},
        "country": {"preprocess": ["norm_str"], "metric": ["llm_judge"], "criterion": "same country"},
        "population": {"preprocess": ["extract_number"], "metric": ["number_near"], "criterion": 0.05},
        "founded": {"preprocess": ["norm_date"], "metric": ["date_near"]},
        "website": {"preprocess": ["norm_str"], "metric": ["url_match"]},
        "code": {"preprocess": ["norm_str"], "metric": ["exact_match"]},
        "share": {"metric": ["number_near"], "criterion": 0.1},
    },
}
ZH_GOLD = """城市,人口（万）,设立日期
北京,2185,1949年10月1日
上海,2487,1949年5月27日
广州,1882,1949年10月14日
"""
ZH_EVAL = {
    "unique_columns": ["城市"],
    "required": ["城市", "人口（万）", "设立日期"],
    "eval_pipeline": {
        "城市": {"preprocess": ["norm_str"], "metric": ["llm_judge"], "criterion": "同一城市"},
        "人口（万）": {"preprocess": ["extract_number"], "metric": ["number_near"], "criterion": 0.05},
        "设立日期": {"preprocess": ["norm_date"], "metric": ["date_near"]},
    },
}
H = ["Name", "Country", "Population", "Founded", "Website", "Code", "Share"]
R = [
    ["Alpha City", "France", "1,200,000", "1999-05-10", "https://www.alpha.fr/home", "A-1", "12.5%"],
    ["Beta Town", "Germany", "350000", "2001-01-01", "http://beta.de", "B.2", "30%"],
    ["Gamma Village", "Spain", "NA", "2010-07-20", "https://gamma.es", "C 3", "5%"],
    ["Delta Port", "Italy", "42000", "1985-12-31", "https://www.delta.it", "O'Neil", "7%"],
    ["Epsilon Bay", "Portugal", "98000", "March 2003", "https://epsilon.pt/x", "E*5", "1%"],
]
ZH = ["城市", "人口（万）", "设立日期"]
ZR = [["北京", "2185", "1949年10月1日"], ["上海", "2487", "1949年5月27日"], ["广州", "1882", "1949年10月14日"]]


def table(h, rows, lead=True):
    line = (lambda cs: "| " + " | ".join(cs) + " |") if lead else (lambda cs: " | ".join(cs))
    return "\n".join([line(h), line(["---"] * len(h))] + [line(r) for r in rows])


def fenced(h, rows):
    return "```markdown\n" + table(h, rows) + "\n```"


def edit(col, fn, rows=None, which=None):
    j = H.index(col)
    return [
        [fn(c) if k == j and (which is None or i in which) else c for k, c in enumerate(r)]
        for i, r in enumerate(rows or R)
    ]


def cases():
    c = {}
    c["gold_fenced"] = fenced(H, R)
    c["gold_unfenced_with_prose"] = "Here you go:\n\n" + table(H, R) + "\n\nSources: various."
    c["plain_fence_no_language"] = "```\n" + table(H, R) + "\n```"
    c["no_outer_pipes"] = "```markdown\n" + table(H, R, lead=False) + "\n```"
    c["indented_unfenced_table"] = "\n".join("   " + x for x in table(H, R).split("\n"))
    c["prose_pipe_before_unfenced_table"] = "Checked: site A | site B\n\n" + table(H, R)
    c["first_of_two_fenced_is_partial"] = fenced(H, R[:2]) + "\nCorrected:\n" + fenced(H, R)
    c["first_of_two_fenced_is_full"] = fenced(H, R) + "\nExcerpt:\n" + fenced(H, R[:2])
    c["no_table"] = "I could not find the data."
    c["header_only"] = fenced(H, [])
    c["row_with_extra_cell"] = fenced(H, [R[0] + ["x"]] + R[1:])
    c["dropped_row"] = fenced(H, R[1:])
    c["extra_invented_row"] = fenced(H, R + [["Zeta", "Chile", "1", "2000-01-01", "https://z.cl", "Z", "1%"]])
    c["duplicated_row"] = fenced(H, R + [R[0]])
    c["duplicate_key_second_wrong"] = fenced(
        H, R + [["Alpha City", "Peru", "1", "1900-01-01", "https://x.pe", "Q", "99%"]]
    )
    c["duplicate_key_first_wrong"] = fenced(
        H, [["Alpha City", "Peru", "1", "1900-01-01", "https://x.pe", "Q", "99%"]] + R
    )
    c["shuffled_rows"] = fenced(H, [R[3], R[0], R[4], R[2], R[1]])
    c["shuffled_columns"] = fenced(
        [H[6], H[0], H[3], H[1], H[5], H[2], H[4]], [[r[6], r[0], r[3], r[1], r[5], r[2], r[4]] for r in R]
    )
    c["dropped_column"] = fenced(H[:-1], [r[:-1] for r in R])
    c["extra_column"] = fenced(H + ["Notes"], [r + ["-"] for r in R])
    c["header_case_and_spaces"] = fenced(["NAME", "Coun try", "POPULATION", "Founded", "Web Site", "Code", "share"], R)
    c["header_punctuation"] = fenced(["Name:", "Country", "Population", "Founded", "Website", "Code", "Share"], R)
    c["key_case_and_spaces"] = fenced(H, edit("Name", lambda s: s.upper().replace(" ", "  ")))
    c["key_bold"] = fenced(H, edit("Name", lambda s: f"**{s}**"))
    c["key_punctuation"] = fenced(H, edit("Name", lambda s: s + "."))
    c["exact_bold"] = fenced(H, edit("Code", lambda s: f"**{s}**"))
    c["exact_case"] = fenced(H, edit("Code", str.lower))
    c["exact_punct_removed"] = fenced(H, edit("Code", lambda s: s.replace("-", "").replace(".", "").replace("'", "")))
    c["exact_spaces_removed"] = fenced(H, edit("Code", lambda s: s.replace(" ", "")))
    c["num_thousands_removed"] = fenced(H, edit("Population", lambda s: s.replace(",", "")))
    c["num_thousands_added"] = fenced(H, edit("Population", lambda s: f"{int(s):,}" if s.isdigit() else s))
    c["num_within_5pct"] = fenced(
        H, edit("Population", lambda s: str(int(int(s.replace(",", "")) * 1.04)) if s[0].isdigit() else s)
    )
    c["num_outside_5pct"] = fenced(
        H, edit("Population", lambda s: str(int(int(s.replace(",", "")) * 1.06)) if s[0].isdigit() else s)
    )
    c["num_with_unit_words"] = fenced(H, edit("Population", lambda s: s + " people" if s[0].isdigit() else s))
    c["num_in_millions_text"] = fenced(H, edit("Population", lambda s: "1.2 million", which={0}))
    c["num_na_as_dash"] = fenced(H, edit("Population", lambda s: "—" if s == "NA" else s))
    c["num_na_as_unknown"] = fenced(H, edit("Population", lambda s: "unknown" if s == "NA" else s))
    c["num_na_as_empty"] = fenced(H, edit("Population", lambda s: "" if s == "NA" else s))
    c["pct_as_fraction"] = fenced(H, edit("Share", lambda s: str(float(s[:-1]) / 100)))
    c["pct_sign_dropped"] = fenced(H, edit("Share", lambda s: s[:-1]))
    c["pct_with_space"] = fenced(H, edit("Share", lambda s: s[:-1] + " %"))
    c["date_plus_10_days"] = fenced(H, edit("Founded", lambda s: "1999-05-20", which={0}))
    c["date_plus_40_days"] = fenced(H, edit("Founded", lambda s: "1999-06-19", which={0}))
    c["date_long_form"] = fenced(H, edit("Founded", lambda s: "10 May 1999", which={0}))
    c["date_month_only"] = fenced(H, edit("Founded", lambda s: "May 1999", which={0}))
    c["date_unparseable_answer"] = fenced(H, edit("Founded", lambda s: "sometime", which={4}))
    c["url_www_dropped"] = fenced(H, edit("Website", lambda s: s.replace("://www.", "://")))
    c["url_www_added"] = fenced(H, edit("Website", lambda s: s.replace("://", "://www.") if "www." not in s else s))
    c["url_path_and_query_changed"] = fenced(
        H, edit("Website", lambda s: s.split("/")[0] + "//" + s.split("/")[2] + "/other?q=1")
    )
    c["url_scheme_changed"] = fenced(H, edit("Website", lambda s: s.replace("https://", "http://")))
    c["url_bare_domain"] = fenced(H, edit("Website", lambda s: s.split("//")[1]))
    c["url_markdown_link"] = fenced(H, edit("Website", lambda s: f"[home]({s})"))
    c["llm_col_variant"] = fenced(H, edit("Country", lambda s: "Republic of " + s))
    c["llm_col_wrong"] = fenced(H, edit("Country", lambda s: "Mars", which={0, 1}))
    c["escaped_pipe_in_cell"] = fenced(H, edit("Code", lambda s: s + " \\| x", which={0}))
    c["quoted_cell"] = fenced(H, edit("Country", lambda s: '"' + s + '" (EU)', which={0}))
    return c


def zh_cases():
    c = {}
    c["zh_gold"] = fenced(ZH, ZR)
    c["zh_units_and_fullwidth"] = fenced(
        ZH,
        [
            ["北京", "2185万人", "1949年10月1日"],
            ["上海", "约2,487万", "1949年5月27日"],
            ["广州", "１８８２", "1949年10月14日"],
        ],
    )
    c["zh_iso_dates"] = fenced(
        ZH, [["北京", "2185", "1949-10-01"], ["上海", "2487", "1949-05-27"], ["广州", "1882", "1949-10-14"]]
    )
    c["zh_month_only_dates"] = fenced(
        ZH, [["北京", "2185", "1949年10月"], ["上海", "2487", "1949年5月"], ["广州", "1882", "1949年10月"]]
    )
    c["zh_key_suffix"] = fenced(
        ZH,
        [
            ["北京市", "2185", "1949年10月1日"],
            ["上海市", "2487", "1949年5月27日"],
            ["广州市", "1882", "1949年10月14日"],
        ],
    )
    c["zh_fullwidth_pipes"] = "```markdown\n" + table(ZH, ZR).replace("|", "｜") + "\n```"
    c["zh_wan_vs_raw"] = fenced(
        ZH,
        [["北京", "21850000", "1949年10月1日"], ["上海", "2487", "1949年5月27日"], ["广州", "1882", "1949年10月14日"]],
    )
    return c


EXPECTED = {
    "gold_fenced": (1.0, 1.0, 1.0),
    "gold_unfenced_with_prose": (1.0, 1.0, 1.0),
    "plain_fence_no_language": (1.0, 1.0, 1.0),
    "no_outer_pipes": (1.0, 1.0, 1.0),
    "indented_unfenced_table": (0.0, 0.0, 0.0),
    "prose_pipe_before_unfenced_table": (0.0, 0.0, 0.0),
    "first_of_two_fenced_is_partial": (0.0, 0.571429, 0.571429),
    "first_of_two_fenced_is_full": (1.0, 1.0, 1.0),
    "no_table": (0.0, 0.0, 0.0),
    "header_only": (0.0, 0.0, 0.0),
    "row_with_extra_cell": (0.0, 0.0, 0.0),
    "dropped_row": (0.0, 0.888889, 0.888889),
    "extra_invented_row": (0.0, 0.909091, 0.909091),
    "duplicated_row": (1.0, 1.0, 1.0),
    "duplicate_key_second_wrong": (1.0, 1.0, 1.0),
    "duplicate_key_first_wrong": (0.0, 0.828571, 0.8),
    "shuffled_rows": (1.0, 1.0, 1.0),
    "shuffled_columns": (1.0, 1.0, 1.0),
    "dropped_column": (0.0, 0.0, 0.0),
    "extra_column": (0.0, 0.0, 0.0),
    "header_case_and_spaces": (1.0, 1.0, 1.0),
    "header_punctuation": (0.0, 0.0, 0.0),
    "key_case_and_spaces": (1.0, 1.0, 1.0),
    "key_bold": (1.0, 1.0, 1.0),
    "key_punctuation": (0.0, 0.0, 0.0),
    "exact_bold": (1.0, 1.0, 1.0),
    "exact_case": (1.0, 1.0, 1.0),
    "exact_punct_removed": (0.0, 0.914286, 0.4),
    "exact_spaces_removed": (1.0, 1.0, 1.0),
    "num_thousands_removed": (1.0, 1.0, 1.0),
    "num_thousands_added": (1.0, 1.0, 1.0),
    "num_within_5pct": (1.0, 1.0, 1.0),
    "num_outside_5pct": (0.0, 0.885714, 0.2),
    "num_with_unit_words": (1.0, 1.0, 1.0),
    "num_in_millions_text": (0.0, 0.971429, 0.8),
    "num_na_as_dash": (1.0, 1.0, 1.0),
    "num_na_as_unknown": (1.0, 1.0, 1.0),
    "num_na_as_empty": (1.0, 1.0, 1.0),
    "pct_as_fraction": (1.0, 1.0, 1.0),
    "pct_sign_dropped": (0.0, 0.857143, 0.0),
    "pct_with_space": (1.0, 1.0, 1.0),
    "date_plus_10_days": (1.0, 1.0, 1.0),
    "date_plus_40_days": (0.0, 0.971429, 0.8),
    "date_long_form": (1.0, 1.0, 1.0),
    "date_month_only": (1.0, 1.0, 1.0),
    "date_unparseable_answer": (0.0, 0.971429, 0.8),
    "url_www_dropped": (0.0, 0.942857, 0.6),
    "url_www_added": (0.0, 0.914286, 0.4),
    "url_path_and_query_changed": (1.0, 1.0, 1.0),
    "url_scheme_changed": (1.0, 1.0, 1.0),
    "url_bare_domain": (0.0, 0.857143, 0.0),
    "url_markdown_link": (0.0, 0.914286, 0.4),
    "llm_col_variant": (1.0, 1.0, 1.0),
    "llm_col_wrong": (0.0, 0.942857, 0.6),
    "escaped_pipe_in_cell": (0.0, 0.0, 0.0),
    "quoted_cell": (1.0, 1.0, 1.0),
    "zh_gold": (1.0, 1.0, 1.0),
    "zh_units_and_fullwidth": (1.0, 1.0, 1.0),
    "zh_iso_dates": (1.0, 1.0, 1.0),
    "zh_month_only_dates": (1.0, 1.0, 1.0),
    "zh_key_suffix": (0.0, 0.0, 0.0),
    "zh_fullwidth_pipes": (0.0, 0.0, 0.0),
    "zh_wan_vs_raw": (0.0, 0.888889, 0.666667),
}


ALL = {**cases(), **zh_cases()}


@pytest.fixture(scope="module")
def golds(tmp_path_factory):
    d = tmp_path_factory.mktemp("ws")
    (d / "en.csv").write_text(EN_GOLD, encoding="utf-8")
    (d / "zh.csv").write_text(ZH_GOLD, encoding="utf-8")
    return d


def test_the_matrix_is_complete():
    assert set(ALL) == set(EXPECTED) and len(EXPECTED) >= 48


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_case_scores_as_the_official_evaluator(name, golds):
    gold, ev = (golds / "zh.csv", ZH_EVAL) if name.startswith("zh_") else (golds / "en.csv", EN_EVAL)
    r = asyncio.run(evaluate_table(ALL[name], gold, ev))
    assert (r["score"], round(r["item_f1"], 6), round(r["row_f1"], 6)) == EXPECTED[name], r["msg"]
    assert r["success"] is (r["score"] == 1.0)


def test_rejections_say_why(golds):
    extra = asyncio.run(evaluate_table(ALL["extra_column"], golds / "en.csv", EN_EVAL))
    assert extra["extra_columns"] == ["notes"] and "required" in extra["msg"]
    missing = asyncio.run(evaluate_table(ALL["dropped_column"], golds / "en.csv", EN_EVAL))
    assert missing["missing_columns"] == ["share"]
    shifted = asyncio.run(evaluate_table(ALL["row_with_extra_cell"], golds / "en.csv", EN_EVAL))
    assert shifted["parsed"] is True and shifted["matched_rows"] == 0  # pandas makes the first column the index
    late = "| Name | Country |\n|---|---|\n| a | b |\n| a | b | c | d |"
    broken = asyncio.run(evaluate_table(late, golds / "en.csv", EN_EVAL))
    assert broken["parsed"] is False and "unreadable markdown table" in broken["msg"]
    assert asyncio.run(evaluate_table(None, golds / "en.csv", EN_EVAL))["msg"] == "no markdown table in the response"


def test_bad_task_definitions_name_the_file(golds):
    from openseeker.errors import InputError

    bad = {**EN_EVAL, "unique_columns": ["nickname"]}
    with pytest.raises(InputError, match="en.csv.*nickname|nickname.*en.csv"):
        asyncio.run(evaluate_table(ALL["gold_fenced"], golds / "en.csv", bad))
    bad = {**EN_EVAL, "eval_pipeline": {**EN_EVAL["eval_pipeline"], "code": {"metric": ["fuzzy"]}}}
    with pytest.raises(InputError, match="fuzzy"):
        asyncio.run(evaluate_table(ALL["gold_fenced"], golds / "en.csv", bad))
    with pytest.raises(InputError, match="gold table not found"):
        asyncio.run(evaluate_table(ALL["gold_fenced"], golds / "missing.csv", EN_EVAL))


def test_offline_llm_steps_are_reported(golds):
    r = asyncio.run(evaluate_table(ALL["gold_fenced"], golds / "en.csv", EN_EVAL))
    assert r["offline_judged_columns"] == ["country"] and r["offline_aligned"] == ["name"]
    assert r["llm_judged_columns"] == [] and r["llm_aligned"] == []


# --------------------------------------------------------------------------- single rules


def test_norm_str_deletes_only_spaces_and_asterisks():
    assert norm_str(" **U.S. Steel** ") == "u.s.steel"
    assert norm_str("O'Neil") == "o'neil"


def test_extract_number():
    assert extract_number("$1,234.5 million") == "1234.5"
    assert extract_number("about 12.5%") == "12.5%"
    assert extract_number("-.5") == "-.5"
    assert extract_number("NA") == "NULL" and extract_number("—") == "NULL"


def test_number_near():
    assert number_near("104", "100", 0.05) == 1.0 and number_near("106", "100", 0.05) == 0.0
    assert number_near("12.5%", "0.125", 0) == 1.0  # % is divided by 100
    assert number_near("12.5", "12.5%", 0.1) == 0.0
    assert number_near("NULL", "NULL", 0.05) == 1.0  # identical non-numbers match
    assert number_near("—", "NA", 0.05) == 0.0
    assert number_near("nan", "nan", 0.05) == 0.0  # float("nan") parses, and nan is never near nan


def test_dates():
    assert norm_date("May 1999") == "1999-05-01" and norm_date("10 May 1999") == "1999-05-10"
    assert norm_date("1949年10月1日") == "1949-10-01" and norm_date("not a date") == "not a date"
    assert date_near("1999-06-10", "1999-05-10") == 1.0  # 31 days
    assert date_near("1999-06-11", "1999-05-10") == 0.0
    assert date_near("unknown", "TBD") == 1.0  # two unparseable dates match, whatever they say
    assert date_near("unknown", "1999-05-10") == 0.0


def test_urls():
    assert url_hosts("see https://www.a.org/x and http://b.com") == {"www.a.org", "b.com"}
    assert url_match("https://www.a.org/x", "http://www.a.org/y?z") == 1.0
    assert url_match("https://a.org", "https://www.a.org") == 0.0  # www. is part of the host
    assert url_match("a.org", "https://a.org") == 0.0  # a bare domain holds no url
    assert url_match("a.org", "b.org") == 1.0  # ...so two url-less cells match


def test_parser_reads_cells_as_pandas_does():
    header, rows = parse_markdown_table("```markdown\n| A | B |\n|---|---|\n| 1 | NA |\n| 2 | x |\n```")
    assert header == ["a", "b"] and rows == [["1", "nan"], ["2", "x"]]
    header, rows = parse_markdown_table("| A | B |\n|---|---|\n| 1.50 | N/A |\n| 2 | |")
    assert rows == [["1.5", "nan"], ["2.0", "nan"]]  # an all-number column with a float prints floats
    assert parse_markdown_table("a | b") is None


def test_llm_steps_go_to_the_judge_role(golds):
    """Column alignment, key alignment and llm_judge columns are the judge role's (our prompts, JSON output)."""
    import json

    from openseeker.testing.fakes import FakeLLM

    def fn(messages, kwargs):
        content = messages[0]["content"]
        if content.startswith("Align two vocabularies"):
            values = json.loads(content.split("[to align]: ", 1)[1].split("\n\n[reference]", 1)[0])
            names = {"nation": "country"}
            return json.dumps(
                {
                    "pairs": [{"origin": v, "transform": names.get(v, v)} for v in values]
                    + [{"origin": "invented", "transform": "nowhere"}]
                }
            )  # ignored: not in the lists
        return json.dumps({"results": [True] * content.count("[response]:")})

    answer = fenced(["Name", "Nation", *H[2:]], R)
    offline = asyncio.run(evaluate_table(answer, golds / "en.csv", EN_EVAL))
    assert offline["score"] == 0.0 and offline["missing_columns"] == ["country"]
    r = asyncio.run(evaluate_table(answer, golds / "en.csv", EN_EVAL, FakeLLM(fn)))
    assert r["score"] == 1.0 and r["llm_aligned"] == ["<columns>", "name"] and r["offline_aligned"] == []
    assert r["llm_judged_columns"] == ["country"] and r["offline_judged_columns"] == []

    def failing(messages, kwargs):
        from openseeker.errors import LLMError

        raise LLMError("judge down")

    r = asyncio.run(evaluate_table(ALL["gold_fenced"], golds / "en.csv", EN_EVAL, FakeLLM(failing)))
    assert r["score"] == 1.0 and r["offline_judged_columns"] == ["country"] and r["offline_aligned"] == ["name"]
