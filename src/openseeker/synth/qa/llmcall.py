"""One JSON-producing LLM call with schema-constrained output, bounded retries and per-stage accounting."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openseeker.errors import LLMError
from openseeker.llm.usage import UsageMeter
from openseeker.records import Usage

if TYPE_CHECKING:
    from openseeker.llm.base import LLM

log = logging.getLogger(__name__)


def _schema_format(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    try:
        from openseeker.llm.jsonout import json_schema_format
    except ImportError:  # the llm helper's module not there yet: the documented wire format
        return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}
    return json_schema_format(name, schema)


def _parse(text: str) -> Any:
    try:
        from openseeker.llm.jsonout import parse_json
    except ImportError:  # pragma: no cover - until the llm helper lands
        import json
        import re

        m = re.search(r"\{.*\}", text or "", re.S)
        if not m:
            return None
        try:
            return json.loads(m.group(0))
        except ValueError:
            return None
    return parse_json(text)


class Meter(UsageMeter):
    """LLM usage of one candidate, per stage (additive; summed into the yield report)."""

    def __init__(self) -> None:
        super().__init__()
        self.malformed = 0  # replies that were not valid JSON of the expected shape

    @property
    def stages(self) -> dict[str, Usage]:
        return self.by_key

    def add(self, stage: str, usage: Usage) -> None:
        super().add(stage, Usage(calls=usage.calls or 1, prompt_tokens=usage.prompt_tokens,
                                 completion_tokens=usage.completion_tokens, latency_s=usage.latency_s))

    def to_dict(self) -> dict[str, Any]:
        tot = self.total()
        return {
            "calls": tot.calls,
            "prompt_tokens": tot.prompt_tokens,
            "completion_tokens": tot.completion_tokens,
            "latency_s": round(tot.latency_s, 3),
            "malformed_json": self.malformed,
            "per_stage": {
                k: {"calls": v.calls, "prompt_tokens": v.prompt_tokens, "completion_tokens": v.completion_tokens,
                    "latency_s": round(v.latency_s, 2)}
                for k, v in self.stages.items()
            },
        }


@dataclass
class JsonReply:
    value: dict[str, Any] | None
    raws: list[str]
    error: str | None = None


async def ask_json(
    llm: LLM,
    messages: list[dict[str, Any]],
    *,
    schema: dict[str, Any],
    name: str,
    meter: Meter,
    stage: str,
    retries: int = 1,
    temperature: float | None = None,
    max_tokens: int | None = 256,
    seed: int | None = None,
    validate: Any = None,
) -> JsonReply:
    """Ask for one JSON object matching ``schema``; retry (with a new seed) when the reply is malformed.

    ``validate(obj) -> str | None`` may return a reason to treat a parsed object as malformed. ``LLMError`` (the
    endpoint failed after the client's own retries) propagates: the pipeline does not record such candidates as
    rejected, so a re-run retries them.
    """
    raws: list[str] = []
    error = None
    for attempt in range(retries + 1):
        completion = await llm.chat(
            messages,
            response_format=_schema_format(name, schema),
            temperature=temperature,
            max_tokens=max_tokens,
            seed=None if seed is None else seed + attempt,
        )
        meter.add(stage, completion.usage)
        text = completion.content or ""
        raws.append(text)
        obj = _parse(text)
        if not isinstance(obj, dict):
            error = "malformed_json"
        else:
            problem = _check_schema(obj, schema) or (validate(obj) if validate else None)
            if problem is None:
                return JsonReply(obj, raws)
            error = problem
        meter.malformed += 1
        log.debug("%s: attempt %d gave %s: %.200r", stage, attempt + 1, error, text)
    return JsonReply(None, raws, error)


def _check_schema(obj: dict[str, Any], schema: dict[str, Any]) -> str | None:
    """A small structural check (required keys and their JSON types) - enough to catch a model ignoring the schema."""
    types = {"string": str, "array": list, "object": dict, "integer": int, "number": (int, float), "boolean": bool}
    for key in schema.get("required", []):
        if key not in obj:
            return "malformed_json"
        want = schema.get("properties", {}).get(key, {}).get("type")
        if want and not isinstance(obj[key], types.get(want, object)):
            return "malformed_json"
    return None


__all__ = ["Meter", "JsonReply", "ask_json", "LLMError"]
