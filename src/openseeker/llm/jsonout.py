"""Structured output from weak models: a JSON-schema ``response_format`` plus a forgiving parser.

``chat_json`` asks with a schema (constrained decoding where the server supports it, e.g. the embedded llama.cpp
server and vLLM), parses the text robustly, checks the schema's required keys and retries; it returns ``None``
instead of raising when the model keeps failing, so callers can record a rejection and move on. It is the one
JSON call of the package: QA synthesis (``synth/qa/llmcall.ask_json``), the goal-conditioned visit
(``agent/extract``) and the judge all go through it, with hooks for what differs (validation, usage accounting,
retry prompts, what an endpoint failure does).

``parse_json`` finds the JSON value in a reply (think blocks, code fences, prose around it, truncated output)
and leaves the repairs of the value itself (trailing commas, single quotes, unquoted keys, Python literals) to
the maintained ``json-repair`` library.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import json_repair

from openseeker.errors import LLMError
from openseeker.llm.base import LLM, Completion

log = logging.getLogger(__name__)

_FENCE_RE = re.compile(r"```(?:json|JSON|javascript|js)?\s*\n?(.*?)(?:```|$)", re.DOTALL)
_THINK_RE = re.compile(r"<think>.*?(?:</think>|$)", re.DOTALL | re.IGNORECASE)


def json_schema_format(name: str, schema: dict[str, Any], *, strict: bool = False) -> dict[str, Any]:
    """The OpenAI ``response_format`` payload for a JSON schema.

    Args:
        name: schema name (letters, digits, ``_`` and ``-``; other characters are replaced).
        schema: a JSON schema (usually ``{"type": "object", "properties": ..., "required": [...]}``).
        strict: OpenAI's ``strict`` mode. Off by default: OpenAI then rejects schemas unless every property is
            required and ``additionalProperties`` is false, which our schemas do not promise. llama.cpp, vLLM and
            SGLang enforce the schema by constrained decoding either way.
    """
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64] or "output"
    return {"type": "json_schema", "json_schema": {"name": safe, "schema": schema, "strict": strict}}


def _scan(text: str, start: int) -> tuple[int, list[str]]:
    """Scan a JSON-ish value from ``text[start]`` (``{`` or ``[``). Returns (end index or -1, open stack)."""
    stack: list[str] = []
    quote: str | None = None
    escape = False
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            if escape:
                escape = False
            elif ch == "\\":
                escape = True
            elif ch == quote:
                quote = None
            continue
        if ch in "\"'":
            quote = ch
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]":
            if stack and stack[-1] == ch:
                stack.pop()
                if not stack:
                    return i + 1, []
            else:
                return -1, []  # mismatched: not a JSON value from this start
    if quote:
        stack.append(quote)  # marker: we ended inside a string
    return -1, stack  # truncated: the text ended inside the value


def _try_load(candidate: str, opener: str) -> tuple[bool, Any]:
    """Parse one candidate: the standard parser first, then ``json_repair`` (trailing commas, single quotes,
    unquoted keys, Python literals, comments). A repair that changes the kind of value (``{not json}`` read as a
    list) does not count: that text was not JSON."""
    try:
        return True, json.loads(candidate, strict=False)  # strict=False: raw newlines inside strings
    except ValueError:
        pass
    try:
        value = json_repair.loads(candidate)
    except Exception:  # noqa: BLE001 - a repair-library bug means "not parseable", never a crash
        return False, None
    if isinstance(value, dict if opener == "{" else list):
        return True, value
    return False, None


def _close_truncated(text: str, start: int, stack: list[str]) -> str:
    """Close a truncated value: end an open string, drop a dangling comma/colon/key, close the brackets."""
    body = text[start:]
    closers = list(stack)
    if closers and closers[-1] in "\"'":
        body += closers.pop()
    body = re.sub(r"[,:]\s*$", "", body.rstrip())
    if closers and closers[-1] == "}":  # inside an object: a trailing string after { or , is a key without value
        body = re.sub(r'([{,])\s*"(?:[^"\\]|\\.)*"\s*$', r"\1", body)
        body = re.sub(r",\s*$", "", body)
    return body + "".join(reversed(closers))


def parse_json(text: str | None) -> Any | None:
    """Best-effort JSON from model output; None if hopeless.

    Strips ``<think>`` blocks and code fences, takes the first balanced JSON object or array, tolerates trailing
    commas, single quotes, unquoted keys and Python literals, and closes brackets of truncated output.
    """
    if not text:
        return None
    text = _THINK_RE.sub("", text)
    candidates: list[str] = [m.group(1) for m in _FENCE_RE.finditer(text) if m.group(1).strip()]
    candidates.append(text)
    for chunk in candidates:
        stripped = chunk.strip()
        if stripped[:1] in "{[":
            try:  # the whole chunk is plain JSON: the common case
                return json.loads(stripped, strict=False)
            except ValueError:
                pass
        for match in re.finditer(r"[{\[]", chunk):
            start = match.start()
            end, stack = _scan(chunk, start)
            if end > 0:
                ok, value = _try_load(chunk[start:end], chunk[start])
            elif stack and chunk[start + 1 :].strip():  # truncated: all after ``start`` is inside it; close it
                ok, value = _try_load(_close_truncated(chunk, start, stack), chunk[start])
            else:
                continue
            if ok:
                return value
    return None


def json_objects(text: str) -> list[tuple[int, int, dict[str, Any]]]:
    """Every top-level, well-formed JSON object in ``text`` as ``(start, end, object)``, in order (no repairs).

    For replies that may hold several objects where position matters: tool calls written as bare JSON in prose
    (``agent/protocol``), the last of several verdicts (``llm/judge``). ``parse_json`` is for one value.
    """
    out: list[tuple[int, int, dict[str, Any]]] = []
    dec = json.JSONDecoder()
    i = text.find("{")
    while i != -1:
        try:
            obj, end = dec.raw_decode(text, i)
        except ValueError:
            i = text.find("{", i + 1)
            continue
        out.append((i, end, obj))  # raw_decode from "{" gives a dict
        i = text.find("{", end)
    return out


_JSON_TYPES: dict[str, Any] = {
    "string": str,
    "array": list,
    "object": dict,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
}


def missing_keys(value: Any, schema: dict[str, Any]) -> list[str]:
    """Required top-level keys of ``schema`` that ``value`` lacks or holds with the wrong JSON type (or why it does
    not match at all) - enough to catch a model ignoring the schema."""
    expected = schema.get("type")
    if expected == "object":
        if not isinstance(value, dict):
            return ["<not an object>"]
        props = schema.get("properties", {})
        return [
            k
            for k in schema.get("required", [])
            if value.get(k) is None or not isinstance(value[k], _JSON_TYPES.get(props.get(k, {}).get("type"), object))
        ]
    if expected == "array" and not isinstance(value, list):
        return ["<not an array>"]
    return []


MALFORMED = "malformed_json"  # the error code of an answer that never parsed or never matched the schema


@dataclass
class JsonAnswer:
    """The outcome of ``chat_json``. Unpacks as ``(value, completions)``.

    ``value`` is ``None`` when no attempt gave usable JSON; ``error`` then says why (``malformed_json``, the
    ``validate`` hook's reason, or the LLM error); ``attempts`` counts the calls made, failed calls included.
    """

    value: Any | None
    completions: list[Completion] = field(default_factory=list)
    error: str | None = None
    attempts: int = 0
    failure: LLMError | None = None  # the endpoint's error, when an LLM call failed

    def __iter__(self) -> Iterator[Any]:
        return iter((self.value, self.completions))

    @property
    def raws(self) -> list[str]:
        """The raw text of every answer, in order (for rejection records)."""
        return [c.content or "" for c in self.completions]


def _read_answer(
    completion: Completion,
    schema: dict[str, Any],
    *,
    parse: Callable[[str], Any],
    use_reasoning: bool,
    check_schema: bool,
    validate: Callable[[Any], str | None] | None,
) -> tuple[Any, str | None, str | None]:
    """``(value, reason, problem)``: ``problem`` is ``None`` for a usable answer, else what to tell the model (not
    JSON, lacking keys, or the ``validate`` hook's ``reason``)."""
    value = parse(completion.content or "")
    if value is None and use_reasoning and completion.reasoning:
        value = parse(completion.reasoning)
    missing = ["<not JSON>"] if value is None else missing_keys(value, schema) if check_schema else []
    reason = None if missing else (validate(value) if validate else None)
    if not missing and reason is None:
        return value, None, None
    problem = reason or (
        "the answer is not valid JSON" if value is None else f"the JSON lacks required keys: {', '.join(missing)}"
    )
    return value, reason, problem


def _correction(
    messages: list[dict[str, Any]], completion: Completion, problem: str, schema: dict[str, Any]
) -> list[dict[str, Any]]:
    """The prompt again, then the failed answer and a request to correct it."""
    return list(messages) + [
        {"role": "assistant", "content": completion.content or ""},
        {
            "role": "user",
            "content": f"That was not usable: {problem}. Reply with only one JSON object "
            f"matching this schema: {json.dumps(schema)}",
        },
    ]


async def chat_json(
    llm: LLM,
    messages: list[dict[str, Any]] | Callable[[int], list[dict[str, Any]]],
    schema: dict[str, Any],
    *,
    retries: int = 2,
    name: str = "output",
    validate: Callable[[Any], str | None] | None = None,
    parse: Callable[[str], Any] = parse_json,
    check_schema: bool = True,
    use_reasoning: bool = True,
    correct: bool = True,
    on_llm_error: Literal["stop", "raise", "retry"] = "stop",
    on_completion: Callable[[Completion], None] | None = None,
    **kwargs: Any,
) -> JsonAnswer:
    """Ask for JSON matching ``schema``; parse, validate, retry. The one JSON-from-an-LLM call of the package.

    Args:
        llm: any ``LLM``.
        messages: the prompt, or ``attempt -> prompt`` when a retry asks differently (a shorter page).
        schema: the JSON schema (sent as ``response_format``; its top-level ``required`` keys and their types are
            checked).
        retries: extra attempts after the first.
        name: schema name in the ``response_format`` payload.
        validate: ``value -> reason | None``; a reason makes the attempt fail (and becomes ``error``).
        parse: text -> value (``parse_json``; the judge adds its free-text fallback).
        check_schema: check the required keys and their types (``missing_keys``); off where ``validate`` is more
            forgiving than the schema (the extractor takes a list for a string and needs only one of two keys).
        use_reasoning: parse the reasoning channel when the answer itself gives nothing (off for the judge, whose
            verdict must be its answer, not a thought on the way).
        correct: a retry appends the failed answer and a correction request (True), or asks the same prompt
            again (False; with ``seed``, each attempt uses ``seed + attempt``).
        on_llm_error: what an ``LLMError`` does: ``stop`` (return ``None`` with the error), ``raise`` (propagate,
            so a resumable caller retries the item on the next run), ``retry`` (count it as a failed attempt).
        on_completion: called with every completion as it arrives (usage accounting).
        **kwargs: passed to ``llm.chat`` (temperature, max_tokens, seed, ...).

    Returns:
        A ``JsonAnswer``: ``value, completions = await chat_json(...)``. Never raises on bad output.
    """
    fmt = json_schema_format(name, schema)
    answer = JsonAnswer(None)
    seed = kwargs.pop("seed", None)
    convo = messages(0) if callable(messages) else list(messages)
    for attempt in range(retries + 1):
        answer.attempts = attempt + 1
        if seed is not None:
            kwargs["seed"] = seed + attempt
        try:
            completion = await llm.chat(convo, response_format=fmt, **kwargs)
        except LLMError as exc:
            log.warning("chat_json(%s): LLM call failed: %s", getattr(llm, "role", "?"), exc)
            answer.error, answer.failure = f"LLM call failed: {exc}", exc
            if on_llm_error == "raise":
                raise
            if on_llm_error == "stop":
                return answer
            convo = messages(attempt + 1) if callable(messages) else list(messages)
            continue
        answer.completions.append(completion)
        if on_completion is not None:
            on_completion(completion)
        value, reason, problem = _read_answer(
            completion, schema, parse=parse, use_reasoning=use_reasoning, check_schema=check_schema, validate=validate
        )
        if problem is None:
            answer.value, answer.error = value, None
            return answer
        answer.error = reason or MALFORMED
        log.debug(
            "chat_json(%s) attempt %d: %s: %.200r", getattr(llm, "role", "?"), attempt + 1, problem, completion.content
        )
        if callable(messages):
            convo = messages(attempt + 1)
        elif correct:
            convo = _correction(messages, completion, problem, schema)
    return answer
