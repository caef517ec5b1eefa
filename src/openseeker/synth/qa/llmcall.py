"""QA synthesis's JSON call (``chat_json`` with the stage's settings) and its per-stage usage accounting."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from openseeker.errors import LLMError
from openseeker.llm.jsonout import MALFORMED, JsonAnswer, chat_json
from openseeker.llm.usage import UsageMeter
from openseeker.records import Usage

if TYPE_CHECKING:
    from openseeker.llm.base import LLM

log = logging.getLogger(__name__)


class Meter(UsageMeter):
    """LLM usage of one candidate, per stage (additive; summed into the yield report)."""

    def __init__(self) -> None:
        super().__init__()
        self.malformed = 0  # replies that were not valid JSON of the expected shape

    @property
    def stages(self) -> dict[str, Usage]:
        return self.by_key

    def add(self, stage: str, usage: Usage) -> None:
        super().add(
            stage,
            Usage(
                calls=usage.calls or 1,
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                latency_s=usage.latency_s,
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        tot = self.total()
        return {
            "calls": tot.calls,
            "prompt_tokens": tot.prompt_tokens,
            "completion_tokens": tot.completion_tokens,
            "latency_s": round(tot.latency_s, 3),
            "malformed_json": self.malformed,
            "per_stage": {
                k: {
                    "calls": v.calls,
                    "prompt_tokens": v.prompt_tokens,
                    "completion_tokens": v.completion_tokens,
                    "latency_s": round(v.latency_s, 2),
                }
                for k, v in self.stages.items()
            },
        }


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
    validate: Callable[[dict[str, Any]], str | None] | None = None,
) -> JsonAnswer:
    """QA synthesis's settings of ``chat_json``: one JSON object, a retry asks again with a new seed, usage and
    malformed replies land in ``meter`` under ``stage``.

    ``validate(obj) -> str | None`` may return a reason to treat a parsed object as malformed. ``LLMError`` (the
    endpoint failed after the client's own retries) propagates: the pipeline does not record such candidates as
    rejected, so a re-run retries them.
    """
    reply = await chat_json(
        llm,
        messages,
        schema,
        name=name,
        retries=retries,
        correct=False,
        on_llm_error="raise",
        validate=lambda obj: MALFORMED if not isinstance(obj, dict) else validate(obj) if validate else None,
        on_completion=lambda c: meter.add(stage, c.usage),
        temperature=temperature,
        max_tokens=max_tokens,
        seed=seed,
    )
    meter.malformed += len(reply.completions) - (reply.value is not None)
    return reply


__all__ = ["JsonAnswer", "LLMError", "Meter", "ask_json"]
