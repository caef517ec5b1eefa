"""Judge logic with FakeLLM (pure): the grader-reply parser (anchoring, revisions, bold, Chinese fields, JSON),
EM/F1 style choice, ungraded verdicts. EM/F1 rules: test_metrics.py. HTTP paths: test_judge_http.py."""

import asyncio

import pytest

from openseeker.llm.judge import (
    NORMALIZED_VERSION,
    PROMPT_VERSION,
    answer_metric_for,
    build_judge_messages,
    extract_answer,
    judge_answer,
    parse_verdict,
)
from openseeker.testing.fakes import FakeLLM


@pytest.mark.parametrize(
    "text,expected",
    [
        # anchoring: simple-evals' un-anchored `re.search("correct: (yes|no)")` would read these two
        ("extracted_final_answer: Paris\nreasoning: differs\nincorrect: yes\n", None),
        ("The answer is correct: yes", None),
        ("is it correct: no idea", None),
        ("correct: yesterday", None),
        # case, bold, list markers
        ("CORRECT: No", False),
        ("correct: yes", True),
        ("extracted_final_answer: Paris\nreasoning: same\n**Correct:** yes\nconfidence: 80%", True),
        ("**correct**: **no**", False),
        ("- correct: no\nconfidence: 30", False),
        ("3. Correct: Yes.", True),
        # a grader that revises itself is graded by its final verdict
        ("correct: yes\n\nWait - the gold answer is Lyon, not Paris. Revised:\ncorrect: no", False),
        ("correct: no\nOn reflection the years match.\n**Final verdict**\ncorrect: yes", True),
        ('{"correct": "yes"}\nActually that is wrong.\ncorrect: no', False),
        ('correct: no\n{"extracted_final_answer": "x", "correct": "yes"}', True),
        ('{"correct": "yes"} ... corrected: {"correct": "no"}', False),
        # Chinese field names and values
        ("最终答案：巴黎\n推理：一致\n正确：是\n置信度：85", True),
        ("提取的最终答案：里昂\n正确：否", False),
        ("**正确**：**否**", False),
        ("正确: 是", True),
        ('{"最终答案": "巴黎", "正确": "是", "置信度": 90}', True),
        # JSON-shaped
        ('{"extracted_final_answer": "x", "reasoning": "r", "correct": "no", "confidence": 90}', False),
        ('```json\n{"extracted_final_answer": "x", "reasoning": "r", "correct": "yes", "confidence": 90}\n```', True),
        ('{\n  "extracted_final_answer": "x",\n  "correct": "no"\n}', False),
        ('{"correct": true}', True),
        ('{"extracted_final_answer": "x", "correct": "maybe"}', None),
        ("", None),
        ("I think so", None),
    ],
)
def test_parse_verdict(text, expected):
    parsed = parse_verdict(text)
    if expected is None:
        assert parsed is None
    else:
        assert parsed is not None and parsed["correct"] is expected


def test_parse_fields():
    p = parse_verdict("extracted_final_answer: **Paris**\nreasoning: same city\n**Correct:** yes\nconfidence: 85%")
    assert p == {"correct": True, "extracted_answer": "Paris", "confidence": 85.0, "reasoning": "same city"}
    zh = parse_verdict("最终答案：巴黎\n推理：同一城市\n正确：是\n置信度：85%")
    assert zh == {"correct": True, "extracted_answer": "巴黎", "confidence": 85.0, "reasoning": "同一城市"}
    # the revised verdict keeps the extracted answer the grader gave before revising
    rev = parse_verdict('{"extracted_final_answer": "Paris", "correct": "yes", "confidence": 70}\ncorrect: no')
    assert rev["correct"] is False and rev["extracted_answer"] == "Paris" and rev["confidence"] == 70.0


def test_answer_metric_choice():
    assert answer_metric_for("Paris") == "hotpot" and answer_metric_for(["Paris", "巴黎"]) == "cjk"
    v = asyncio.run(judge_answer("q", "U.S.", "<answer>US</answer>", None))
    assert v.correct is True and v.em and v.answer_metric == "hotpot"  # punctuation deleted, as hotpot does
    v = asyncio.run(judge_answer("q", "北京", "<answer>北 京</answer>", None))
    assert v.correct is True and v.answer_metric == "cjk"
    v = asyncio.run(judge_answer("q", "北京", "<answer>北京市</answer>", None, answer_metric="hotpot"))
    assert v.correct is False and v.f1 == 0.0  # one token each under the official rules


def test_extract_answer():
    assert extract_answer("blah <answer> Paris </answer>") == "Paris"
    assert extract_answer("Explanation: ...\nExact Answer: **Rome**\nConfidence: 50%") == "Rome"
    assert extract_answer(" just this ") == "just this"


def test_retry_then_parse_and_pinning():
    ok = '{"extracted_final_answer":"Paris","reasoning":"ok","correct":"yes","confidence":95}'
    llm = FakeLLM(["not a verdict", ok], model="judge-x")
    v = asyncio.run(judge_answer("Capital of France?", "Paris", "Exact Answer: Paris", llm))
    assert v.correct is True and v.attempts == 2 and v.method == "llm"
    assert v.judge_model == "judge-x" and v.prompt_version == PROMPT_VERSION
    _, kwargs = llm.calls[0]
    assert kwargs["temperature"] == 0.0 and kwargs["response_format"]["type"] == "json_schema"


def test_unparseable_gives_none_not_false():
    llm = FakeLLM(default="no idea")
    v = asyncio.run(judge_answer("q", "Paris", "Paris", llm, retries=2))
    assert v.correct is None and v.attempts == 3 and v.error and v.ungraded == "unparseable"
    assert v.em is True  # the offline columns are still filled


def test_verdict_in_the_reasoning_channel_only_is_not_a_verdict():
    # the judge goes through llm/jsonout.chat_json; its reasoning fallback stays off for the judge (a thought on
    # the way is not the verdict), and every retry asks the same pinned prompt
    from openseeker.llm.base import Completion

    thought = Completion(content="", reasoning="correct: yes ... wait, let me check")
    llm = FakeLLM([thought, thought])
    v = asyncio.run(judge_answer("q", "Paris", "Paris", llm, retries=1))
    assert v.correct is None and v.ungraded == "unparseable" and v.attempts == 2
    assert llm.calls[0][0] == llm.calls[1][0]


def test_normalized_fallback():
    v = asyncio.run(judge_answer("q", ["Paris", "Paris, France"], "<answer>paris</answer>", None))
    assert v.correct is True and v.method == "normalized" and v.prompt_version == NORMALIZED_VERSION
    v = asyncio.run(judge_answer("q", "Paris", "Lyon", None))
    assert v.correct is False and v.f1 == 0.0


def test_multiple_golds_in_prompt():
    msgs = build_judge_messages("q?", ["A", "B"], "resp")
    assert "A | B" in msgs[0]["content"] and "[response]: resp" in msgs[0]["content"]
