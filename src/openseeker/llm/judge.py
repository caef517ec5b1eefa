"""Grading an answer against gold: a BrowseComp-style LLM judge, with normalized exact match / token F1.

``judge_answer`` asks the ``judge`` role (temperature 0, JSON-schema constrained output) for the extracted final
answer, a yes/no correctness call and a confidence. An unparseable verdict is retried; if it stays unparseable
(or the endpoint is down) the verdict is ``correct=None`` (ungraded), never a silent 0. Without an LLM the
verdict is normalized exact match. EM and token F1 are always computed as extra columns.

Every ``Verdict`` carries the judge model and ``PROMPT_VERSION``, so numbers from different judges or prompt
revisions are never mixed up silently (judges differ by several points on the same answers).
"""

from __future__ import annotations

import logging
import re
from typing import Any, Literal

from pydantic import BaseModel, Field

from openseeker import metrics
from openseeker.llm.base import LLM
from openseeker.llm.jsonout import chat_json, json_objects, json_schema_format, parse_json
from openseeker.text import has_cjk

log = logging.getLogger(__name__)

# Bump whenever GRADER_PROMPT, the schema or the parsing rules change: it is written into every Verdict.
PROMPT_VERSION = "browsecomp-grader/v1"
NORMALIZED_VERSION = "normalized-em/v1"  # prompt_version of verdicts graded without an LLM

# The rubric follows the BrowseComp grader of openai/simple-evals (browsecomp_eval.py, GRADER_TEMPLATE,
# itself adapted from the HLE judge): extract the final answer, judge it ONLY against the gold answer, answer
# yes/no, report the response's own confidence. Wording here is ours; the four output fields and their meaning
# are the rubric's. We ask for JSON (constrained by a schema) instead of free text; the free-text field names are
# kept so the regex fallback also parses graders that ignore the schema.
GRADER_PROMPT = """You are grading an answer. Decide whether the [response] to the [question] is correct, judged \
only against the precise and unambiguous [correct_answer].

[question]: {question}

[response]: {response}

[correct_answer]: {correct_answer}

Report four fields:
extracted_final_answer: the final exact answer taken from the [response]; 'None' if it gives no exact final answer.
reasoning: why the extracted_final_answer is or is not correct with respect to [correct_answer], looking only at \
meaningful differences between the two. Do not solve the question yourself, do not comment on background, do not \
argue for an answer other than [correct_answer].
correct: 'yes' if extracted_final_answer matches [correct_answer], or is within a small margin of error for a \
numerical answer; 'no' otherwise (any inconsistency, ambiguity, non-equivalence, or a wrong answer).
confidence: the confidence score between 0 and 100 stated in the [response]; 100 if it states none.

Answer with a JSON object: {{"extracted_final_answer": "...", "reasoning": "...", "correct": "yes" or "no", \
"confidence": <number>}}"""

VERDICT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "extracted_final_answer": {"type": "string"},
        "reasoning": {"type": "string"},
        "correct": {"type": "string", "enum": ["yes", "no"]},
        "confidence": {"type": "number"},
    },
    "required": ["extracted_final_answer", "reasoning", "correct", "confidence"],
    "additionalProperties": False,
}


class Verdict(BaseModel):
    """The grade of one response. ``correct is None`` means ungraded (judge unparseable or unreachable)."""

    correct: bool | None = None
    extracted_answer: str | None = None
    confidence: float | None = None
    reasoning: str = ""
    method: Literal["llm", "normalized"] = "normalized"
    raw: str = ""  # the judge's raw output (last attempt), or the error
    judge_model: str = ""
    prompt_version: str = PROMPT_VERSION
    em: bool = False
    f1: float = 0.0
    answer_metric: str = metrics.HOTPOT  # the EM/F1 style (openseeker.metrics): "hotpot" or "cjk"
    attempts: int = 0
    error: str | None = None
    ungraded: Literal["unparseable", "judge_error"] | None = None  # why ``correct is None``
    metadata: dict[str, Any] = Field(default_factory=dict)


# --------------------------------------------------------------------------- EM / F1 (openseeker.metrics)


def _golds(golds: str | list[str] | tuple[str, ...]) -> list[str]:
    if isinstance(golds, str):
        return [golds]
    return [g for g in golds if g is not None]


def answer_metric_for(golds: str | list[str]) -> str:
    """The EM/F1 style when the caller names none: ``cjk`` when a gold answer contains CJK text, else the
    official ``hotpot`` rules."""
    return metrics.CJK if any(has_cjk(g) for g in _golds(golds)) else metrics.HOTPOT


# --------------------------------------------------------------------------- answer extraction (no LLM)

_ANSWER_TAG = re.compile(r"<answer>(.*?)(?:</answer>|$)", re.S | re.I)
_EXACT_ANSWER = re.compile(r"^[\s*_#>\-]*exact\s+answer[*_\s]*[:：][*_\s]*(.+?)\s*$", re.I | re.M)
_FINAL_ANSWER = re.compile(r"^[\s*_#>\-]*final\s+answer[*_\s]*[:：][*_\s]*(.+?)\s*$", re.I | re.M)


def extract_answer(response: str | None) -> str:
    """The short answer inside a response: ``<answer>..</answer>``, else an "Exact Answer:" / "Final Answer:"
    line, else the whole response (stripped)."""
    if not response:
        return ""
    m = _ANSWER_TAG.findall(response)
    if m and m[-1].strip():
        return m[-1].strip()
    for rx in (_EXACT_ANSWER, _FINAL_ANSWER):
        hits = rx.findall(response)
        if hits:
            return hits[-1].strip().strip("*_").strip()
    return response.strip()


# --------------------------------------------------------------------------- parsing the judge's output
#
# A grader reply may be JSON (what we ask for), the rubric's free-text fields ("correct: yes"), markdown around
# them ("**Correct:** **yes**"), Chinese field names ("正确：是", "最终答案：..."), or a reply that revises itself
# ("correct: yes ... on reflection ... correct: no"). The verdict is the LAST correctness field in the reply, JSON
# or free text. Free-text keys are anchored at a line start (only list/quote/markdown decoration before them), so
# "incorrect: yes" or "is it correct: no" inside prose never count.

_LEAD = r"^[ \t>*_#\-+\d.)\"'`]*"  # line start, then decoration only
_SEP = r"[ \t*_\"'`]*[:：][ \t*_\"'`]*"
_KEYS = {
    "correct": r"(?:correct|正确|是否正确|判断|判定)",
    "extracted": r"(?:extracted_final_answer|extracted final answer|extracted_answer|提取的最终答案|最终答案)",
    "confidence": r"(?:confidence|置信度)",
    "reasoning": r"(?:reasoning|推理|理由)",
}
_YES = ("yes", "true", "correct", "是", "正确", "对")
_NO = ("no", "false", "incorrect", "否", "错误", "不正确", "错")
_CORRECT_RX = re.compile(
    _LEAD + _KEYS["correct"] + _SEP + r"(yes|no|true|false|是|否|正确|错误|不正确|对|错)" + r"(?![A-Za-z])",
    re.I | re.M,
)
_FIELD_RX = {
    k: re.compile(_LEAD + v + _SEP + r"(.*?)[ \t*_]*$", re.I | re.M) for k, v in _KEYS.items() if k != "correct"
}


def _parse_json_obj(text: str) -> dict[str, Any] | None:
    """The first JSON object in ``text`` (fences and prose around it allowed; else the LLM layer's repairing
    parser, for single quotes, trailing commas or truncation), else ``None``."""
    objs = json_objects(text)
    if objs:
        return objs[0][2]
    obj = parse_json(text)
    return obj if isinstance(obj, dict) else None


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        v = value.strip().strip("*_'\"`.。！!").strip().lower()
        if v in _YES:
            return True
        if v in _NO:
            return False
    return None


def _as_conf(value: Any) -> float | None:
    try:
        c = float(str(value).strip().rstrip("%％").strip())
    except (TypeError, ValueError):
        return None
    return c if 0 <= c <= 100 else None


def _json_field(obj: dict[str, Any], key: str) -> Any:
    rx = re.compile(r"^" + _KEYS[key] + r"$", re.I)
    for k, v in obj.items():
        if rx.match(str(k).strip()):
            return v
    return None


def _last_before(rx: re.Pattern[str], text: str, pos: int) -> str | None:
    hits = [m for m in rx.finditer(text) if m.start() <= pos]
    return hits[-1].group(1).strip().strip("*_") if hits else None


def parse_verdict(text: str) -> dict[str, Any] | None:
    """Parse a grader reply into ``{"correct", "extracted_answer", "confidence", "reasoning"}``; ``None`` when
    it holds no yes/no call. The last correctness field wins (JSON object or anchored free-text line)."""
    if not text or not text.strip():
        return None
    candidates: list[tuple[int, dict[str, Any]]] = []
    spans = []
    for start, end, obj in json_objects(text):
        spans.append((start, end))
        correct = _as_bool(_json_field(obj, "correct"))
        if correct is not None:
            extracted = _json_field(obj, "extracted")
            candidates.append(
                (
                    end,
                    {
                        "correct": correct,
                        "extracted_answer": None if extracted is None else str(extracted),
                        "confidence": _as_conf(_json_field(obj, "confidence")),
                        "reasoning": str(_json_field(obj, "reasoning") or ""),
                    },
                )
            )
    for m in _CORRECT_RX.finditer(text):
        if any(start <= m.start() < end for start, end in spans):
            continue  # a pretty-printed JSON object also matches line by line; it was read as JSON
        conf = _last_before(_FIELD_RX["confidence"], text, len(text))
        candidates.append(
            (
                m.end(),
                {
                    "correct": _as_bool(m.group(1)),
                    "extracted_answer": _last_before(_FIELD_RX["extracted"], text, m.start()),
                    "confidence": _as_conf(conf) if conf is not None else None,
                    "reasoning": _last_before(_FIELD_RX["reasoning"], text, m.start()) or "",
                },
            )
        )
    if not candidates:
        return None
    candidates.sort(key=lambda c: c[0])
    verdict = dict(candidates[-1][1])
    for key in ("extracted_answer", "confidence", "reasoning"):  # fields the final verdict did not restate
        if not verdict[key]:
            verdict[key] = next((c[key] for _, c in reversed(candidates) if c[key]), verdict[key])
    return verdict


# --------------------------------------------------------------------------- the judge


def format_gold(gold: str | list[str]) -> str:
    golds = _golds(gold)
    if len(golds) == 1:
        return golds[0]
    return " | ".join(golds) + "   (any one of these alternatives is correct)"


def build_judge_messages(question: str, gold: str | list[str], response: str) -> list[dict[str, Any]]:
    """The judge's input (a pure function, so the exact prompt can be tested and reported)."""
    prompt = GRADER_PROMPT.format(question=question, response=response, correct_answer=format_gold(gold))
    return [{"role": "user", "content": prompt}]


def judge_response_format() -> dict[str, Any]:
    return json_schema_format("verdict", VERDICT_SCHEMA)


async def judge_answer(
    question: str,
    gold: str | list[str],
    response: str | None,
    llm: LLM | None,
    *,
    retries: int = 2,
    max_tokens: int = 1024,
    answer_metric: str | None = None,
) -> Verdict:
    """Grade ``response`` against ``gold``.

    Args:
        question: the benchmark question.
        gold: the gold answer, or alternatives (any one counts).
        response: the agent's final answer (full text; the judge extracts the answer itself).
        llm: the judge role; ``None`` grades by normalized exact match of the extracted answer.
        retries: extra attempts when the judge's output cannot be parsed.
        max_tokens: judge output budget.
        answer_metric: EM/F1 style, ``"hotpot"`` (hotpot_evaluate_v1) or ``"cjk"``; ``None`` picks ``cjk`` when a
            gold answer contains CJK text (``answer_metric_for``).

    Returns:
        A ``Verdict``; ``correct`` is ``None`` when the judge stayed unparseable or unreachable. Never raises
        for judge failures.
    """
    response = response or ""
    short = extract_answer(response)
    style = answer_metric or answer_metric_for(gold)
    em, f1 = metrics.exact_match(short, gold, style), metrics.token_f1(short, gold, style)
    if llm is None:
        return Verdict(
            correct=em,
            extracted_answer=short or None,
            reasoning=f"exact match ({style})",
            method="normalized",
            judge_model="none",
            prompt_version=NORMALIZED_VERSION,
            em=em,
            f1=f1,
            answer_metric=style,
        )
    model = getattr(llm, "model", "") or ""
    if not response.strip():
        return Verdict(
            correct=False,
            extracted_answer=None,
            reasoning="empty response (no final answer)",
            method="llm",
            judge_model=model,
            em=False,
            f1=0.0,
            answer_metric=style,
        )
    reply = await chat_json(
        llm,
        build_judge_messages(question, gold, response),
        VERDICT_SCHEMA,
        name="verdict",
        retries=retries,
        parse=parse_verdict,
        check_schema=False,
        use_reasoning=False,
        correct=False,
        temperature=0.0,
        max_tokens=max_tokens,
    )
    attempts = reply.attempts
    if reply.failure is not None:
        error = f"judge call failed: {reply.failure}"
        return Verdict(
            correct=None,
            method="llm",
            raw=str(reply.failure),
            judge_model=model,
            em=em,
            f1=f1,
            extracted_answer=short or None,
            attempts=attempts,
            error=error,
            ungraded="judge_error",
            answer_metric=style,
        )
    last = reply.completions[-1]
    raw, model = last.content or "", getattr(llm, "model", "") or last.model or model
    if reply.value is not None:  # parse_verdict's keys: correct, extracted_answer, confidence, reasoning
        return Verdict(
            **reply.value,
            method="llm",
            raw=raw,
            judge_model=model,
            em=em,
            f1=f1,
            attempts=attempts,
            answer_metric=style,
        )
    error = f"judge output unparseable after {attempts} attempts"
    return Verdict(
        correct=None,
        method="llm",
        raw=raw,
        judge_model=model,
        em=em,
        f1=f1,
        extracted_answer=short or None,
        attempts=attempts,
        error=error,
        ungraded="unparseable",
        answer_metric=style,
    )
