"""evaluate(): records, n runs, resume after an interruption, reports and plots (FakeLLM + FakeWeb, no HTTP)."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import pytest

from openseeker.errors import UserError
from openseeker.eval.run import EvalSettings, Roles, evaluate_async
from openseeker.records import EvalItem
from openseeker.testing.fake_web import FakeWeb, tiny_pages
from openseeker.testing.fakes import FakeLLM

ITEMS = [
    EvalItem(
        id="q1",
        question="Where was the designer of the Eiffel Tower born?",
        answers=["Dijon"],
        benchmark="synth",
        metadata={"category": "2hop"},
    ),
    EvalItem(
        id="q2",
        question="What is the capital of Germany?",
        answers=["Berlin"],
        benchmark="synth",
        metadata={"category": "1hop"},
    ),
    EvalItem(
        id="q3",
        question="Which city hosts the Eiffel Tower?",
        answers=["Paris"],
        language="en",
        benchmark="synth",
        metadata={"category": "1hop"},
    ),
]
YES = '{"extracted_final_answer": "x", "reasoning": "r", "correct": "yes", "confidence": 80}'
NO = '{"extracted_final_answer": "x", "reasoning": "r", "correct": "no", "confidence": 80}'


class Interrupt(BaseException):
    pass


def student_fn(fail_after: int | None = None, counter: Counter | None = None):
    counter = counter if counter is not None else Counter()

    def fn(messages, kwargs):
        counter["calls"] += 1
        if fail_after is not None and counter["calls"] > fail_after:
            raise Interrupt()
        q = next(m["content"] for m in messages if m["role"] == "user")
        return "<answer>Dijon</answer>" if "born" in q else "<answer>Paris</answer>"

    return fn, counter


def judge_fn(messages, kwargs):
    text = messages[0]["content"]
    resp = text.split("[response]:")[1].split("[correct_answer]:")[0]
    gold = text.split("[correct_answer]:")[1].split("\n")[0]
    return YES if gold.strip() in resp else NO


def run(tmp_path, *, runs=1, fail_after=None, counter=None, judge="llm", items=ITEMS):
    fn, counter = student_fn(fail_after, counter)
    roles = Roles(student=FakeLLM(fn, model="student-x"), judge=FakeLLM(judge_fn, model="judge-y"))
    settings = EvalSettings(
        benchmark="synth", path="", web="fake", runs=runs, judge=judge, agent={"concurrency": 1, "max_tool_calls": 5}
    )
    rep = asyncio.run(
        evaluate_async(
            settings, tmp_path / "out", roles=roles, progress=False, items=items, web_obj=FakeWeb(tiny_pages())
        )
    )
    return rep, counter


def lines(path):
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def test_records_report_and_plots(tmp_path):
    rep, _ = run(tmp_path, runs=2)
    out = tmp_path / "out"
    recs = lines(out / "results.jsonl")
    assert sorted(r["key"] for r in recs) == sorted(f"{q.id}#{r}" for q in ITEMS for r in range(2))
    r1 = next(r for r in recs if r["id"] == "q1")
    assert r1["correct"] is True and r1["verdict"]["judge_model"] == "judge-y" and r1["stop_reason"] == "answered"
    assert r1["trajectory"] == {"file": "trajectories.jsonl", "id": r1["key"]}
    assert {t["id"] for t in lines(out / "trajectories.jsonl")} == {r["key"] for r in recs}
    # q1 and q3 right, q2 wrong (answers Paris for Berlin) -> 2/3
    assert rep["accuracy"] == pytest.approx(2 / 3, abs=1e-3) and rep["pass@2"] == pytest.approx(2 / 3, abs=1e-3)
    assert rep["by_category"]["1hop"]["n"] == 4 and rep["by_category"]["1hop"]["correct"] == 2
    assert rep["runs"] == 2 and rep["config"]["models"]["student"] == "student-x"
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["subset"]["ids"] == ["q1", "q2", "q3"] and cfg["prompt_versions"]["judge"]
    assert cfg["versions"]["python"] and "git_hash" in cfg
    for f in ("report.json", "report.md", "plots/accuracy_by_benchmark.png", "plots/tool_calls_hist.png"):
        assert (out / f).stat().st_size > 0
    assert "Accuracy 66.7%" in (out / "report.md").read_text()


def test_judge_none_uses_normalized_match(tmp_path):
    rep, _ = run(tmp_path, judge="none")
    recs = lines(tmp_path / "out" / "results.jsonl")
    assert {r["verdict"]["method"] for r in recs} == {"normalized"}
    assert rep["accuracy"] == pytest.approx(2 / 3, abs=1e-3)
    assert rep["config"]["models"]["judge"] == "none"


def test_interrupt_and_resume(tmp_path):
    with pytest.raises(Interrupt):
        run(tmp_path, runs=2, fail_after=3)
    out = tmp_path / "out"
    partial = lines(out / "results.jsonl")
    assert 0 < len(partial) < 6
    counter = Counter()
    rep, counter = run(tmp_path, runs=2, counter=counter)
    assert counter["calls"] == 6 - len(partial)  # only the missing question-runs ran
    recs = lines(out / "results.jsonl")
    keys = [r["key"] for r in recs]
    assert len(keys) == len(set(keys)) == 6  # no duplicates, no gaps
    assert len({t["id"] for t in lines(out / "trajectories.jsonl")}) == len(lines(out / "trajectories.jsonl")) == 6
    assert rep["n_records"] == 6


def test_graded_later_from_saved_trajectory(tmp_path):
    run(tmp_path)
    out = tmp_path / "out"
    res = (out / "results.jsonl").read_text().splitlines()
    (out / "results.jsonl").write_text("\n".join(res[:-1]) + "\n")  # trajectory saved, grade lost
    rep, counter = run(tmp_path, counter=Counter())
    assert counter["calls"] == 0  # the saved trajectory is graded, the agent is not re-run
    assert len(lines(out / "results.jsonl")) == 3 and len(lines(out / "trajectories.jsonl")) == 3


def test_resume_refuses_other_judge(tmp_path):
    run(tmp_path)
    with pytest.raises(UserError, match="judge"):
        run(tmp_path, judge="none")


def test_report_compare(tmp_path):
    from openseeker.eval.report import compare, wilson

    run(tmp_path)
    lo, hi = wilson(2, 3)
    assert 0 < lo < 2 / 3 < hi < 1
    md = compare([tmp_path / "out", tmp_path / "out"], tmp_path / "cmp")
    assert md.count("| out |") == 2 and (tmp_path / "cmp" / "compare.md").exists()
    assert (tmp_path / "cmp" / "plots" / "accuracy_by_benchmark.png").exists()


def test_leakage_counts_reach_the_report(tmp_path):
    from openseeker.records import Page

    q = ITEMS[0].question
    pages = tiny_pages() + [
        Page(
            url="https://huggingface.co/datasets/x",
            title="Eiffel designer dataset",
            text="Eiffel Tower designer born " + q,
        ),
        Page(url="https://quiz.example/x", title="quiz Eiffel", text="Eiffel quiz: " + q),
    ]

    def fn(messages, kwargs):
        if len(messages) > 2:
            return "<answer>Dijon</answer>"
        return '<tool_call>{"name": "search", "arguments": {"query": ["Eiffel Tower designer born"]}}</tool_call>'

    settings = EvalSettings(
        benchmark="synth",
        path="",
        web="fake",
        leakage_guard="on",
        ngram=6,
        agent={"concurrency": 1, "max_tool_calls": 3},
    )
    rep = asyncio.run(
        evaluate_async(
            settings,
            tmp_path / "o",
            roles=Roles(student=FakeLLM(fn), judge=None),
            progress=False,
            items=ITEMS[:1],
            web_obj=FakeWeb(pages),
        )
    )
    assert rep["leakage"]["blocked_domain_hits"] == 1 and rep["leakage"]["blocked_text_hits"] == 1
    assert rep["tool_calls"]["by_tool"] == {"search": 1}
    assert "Leakage guard" in (tmp_path / "o" / "report.md").read_text()


def test_regrade_without_rerunning_the_agent(tmp_path):
    from openseeker.eval.run import regrade

    run(tmp_path)
    src = tmp_path / "out"
    cfg = json.loads((src / "config.json").read_text())
    cfg["settings"]["benchmark"], cfg["benchmark"]["path"] = "synth", str(tmp_path / "qa.jsonl")
    (src / "config.json").write_text(json.dumps(cfg))
    from openseeker.records import QASample

    (tmp_path / "qa.jsonl").write_text(
        "".join(QASample(id=i.id, question=i.question, answer=i.answers[0]).model_dump_json() + "\n" for i in ITEMS)
    )
    rep = regrade(src, tmp_path / "em", judge="none", progress=False)
    recs = lines(tmp_path / "em" / "results.jsonl")
    assert len(recs) == 3 and {r["verdict"]["method"] for r in recs} == {"normalized"}
    assert rep["accuracy"] == pytest.approx(2 / 3, abs=1e-3)
    new_cfg = json.loads((tmp_path / "em" / "config.json").read_text())
    assert new_cfg["regraded_from"] == str(src) and new_cfg["models"]["student"] == "student-x"
    assert new_cfg["models"]["judge"] == "none"
    judge = FakeLLM(default=NO, model="strict-judge")
    rep2 = regrade(src, tmp_path / "strict", roles=Roles(student=None, judge=judge), progress=False)
    assert rep2["accuracy"] == 0 and len(judge.calls) == 3
    with pytest.raises(UserError):
        regrade(src, src, judge="none")


def test_llm_error_runs_are_not_graded_and_are_retried(tmp_path):
    """A student endpoint that keeps failing must not leave 'wrong' records behind: a re-run retries them."""
    from openseeker.errors import LLMError

    down = {"on": True}

    def student(messages, kwargs):
        q = next(m["content"] for m in messages if m["role"] == "user")
        if down["on"] and "Germany" in q:
            raise LLMError("student endpoint down")
        return "<answer>Dijon</answer>" if "born" in q else "<answer>Paris</answer>"

    def once():
        roles = Roles(student=FakeLLM(student, model="student-x"), judge=FakeLLM(judge_fn, model="judge-y"))
        settings = EvalSettings(
            benchmark="synth", path="", web="fake", judge="llm", agent={"concurrency": 1, "max_tool_calls": 5}
        )
        return asyncio.run(
            evaluate_async(
                settings, tmp_path / "out", roles=roles, progress=False, items=ITEMS, web_obj=FakeWeb(tiny_pages())
            )
        )

    with pytest.raises(LLMError, match="re-run the same command"):
        once()
    results = tmp_path / "out" / "results.jsonl"
    assert sorted(r["id"] for r in lines(results)) == ["q1", "q3"]  # q2 not recorded as a wrong answer
    assert (tmp_path / "out" / "report.json").exists()  # the rest is reported
    down["on"] = False
    rep = once()
    assert sorted(r["id"] for r in lines(results)) == ["q1", "q2", "q3"] and rep["n_questions"] == 3
