"""Goal-conditioned visit: ``LLMExtractor`` reads a page for a goal and returns the paper's visit-tool text.

It implements the ``Extractor`` protocol of ``openseeker.web.tools``: ``await extractor(url, title, text, goal)
-> str | None``. The page is truncated to a budget, the extractor role answers JSON ``{rational, evidence,
summary}`` (``json_schema`` response format), a failed attempt is retried on a shorter page, and ``None`` after
the last failure lets ``VisitTool`` fall back to the truncated raw text (``chat_json`` with one prompt per
attempt; an endpoint failure counts as a failed attempt).

Example:
    >>> from openseeker.web.tools import VisitTool                       # doctest: +SKIP
    >>> visit = VisitTool(web, extractor=LLMExtractor(pool.role("extractor")))
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from openseeker.agent.prompts import EXTRACT_SCHEMA, EXTRACTOR_PROMPT
from openseeker.agent.runtime import is_embedded
from openseeker.llm.jsonout import chat_json
from openseeker.llm.usage import record_usage
from openseeker.records import Usage
from openseeker.web.format import format_visit_extracted

if TYPE_CHECKING:
    from openseeker.llm.base import LLM

log = logging.getLogger(__name__)

PAPER_PAGE_TOKENS = 95_000  # the paper truncates pages to 95k tokens before extraction


def _default_page_chars(llm: LLM) -> int:

    if is_embedded(llm):
        return 8_000  # SmolLM2-135M: 8k context, slow prompt processing on CPU
    ctx = getattr(llm, "context_tokens", None) or getattr(llm, "context_window", None)
    if not ctx:
        return 100_000
    # leave room for the prompt and the answer; ~3 chars per token
    return max(1_000, min(PAPER_PAGE_TOKENS * 4, int((int(ctx) - 1_500) * 3)))


class LLMExtractor:
    """Extract the goal-relevant part of a page with an LLM (the ``extractor`` role).

    Args:
        llm: the extractor LLM.
        max_page_chars: page text budget of the first attempt (default: from the LLM's context size, at most
            the paper's 95k tokens; 100k chars when the context size is unknown; 8k chars for the embedded model).
        retries: extra attempts after a failure, each on a page 30% shorter.
        shrink: page budget factor per retry.
        max_tokens: generation limit of the extraction (None: the role's default).
    """

    def __init__(
        self,
        llm: LLM,
        *,
        max_page_chars: int | None = None,
        retries: int = 2,
        shrink: float = 0.7,
        max_tokens: int | None = None,
    ):
        self.llm = llm
        self.max_page_chars = max_page_chars or _default_page_chars(llm)
        self.retries = max(0, retries)
        self.shrink = shrink
        self.max_tokens = max_tokens
        self.stats = {"calls": 0, "ok": 0, "failed": 0, "retries": 0}

    def _record_usage(self, usage: Usage) -> None:
        record_usage(getattr(self.llm, "role", "extractor") or "extractor", usage)

    def _messages(self, title: str, text: str, goal: str) -> Callable[[int], list[dict[str, Any]]]:
        """The prompt of each attempt: the page cut to the budget, 30% shorter on every retry."""
        budgets = [self.max_page_chars]
        for _ in range(self.retries):
            budgets.append(max(500, int(min(budgets[-1], len(text)) * self.shrink)))

        def prompt(attempt: int) -> list[dict[str, Any]]:
            budget = budgets[min(attempt, len(budgets) - 1)]
            page = text if len(text) <= budget else text[:budget] + "\n[... truncated]"
            content = f"# {title}\n\n{page}" if title else page
            return [{"role": "user", "content": EXTRACTOR_PROMPT.format(content=content, goal=goal)}]

        return prompt

    async def __call__(self, url: str, title: str, text: str, goal: str) -> str | None:
        self.stats["calls"] += 1
        kwargs: dict[str, Any] = {"max_tokens": self.max_tokens} if self.max_tokens else {}
        reply = await chat_json(
            self.llm,
            self._messages(title, text, goal),
            EXTRACT_SCHEMA,
            name="page_extract",
            retries=self.retries,
            on_llm_error="retry",
            on_completion=lambda c: self._record_usage(c.usage),
            check_schema=False,
            validate=_usable,
            **kwargs,
        )
        self.stats["retries"] += reply.attempts - 1
        if reply.value is None:
            log.info("extractor gave no usable JSON for %s (%d attempts): %s", url, reply.attempts, reply.error)
            self.stats["failed"] += 1
            return None
        self.stats["ok"] += 1
        return format_visit_extracted(url, goal, _text(reply.value.get("evidence")), _text(reply.value.get("summary")))


def _usable(obj: Any) -> str | None:
    """Why an extraction is not usable (None when it is): an object with some evidence or a summary."""
    if not isinstance(obj, dict):
        return "not a JSON object"
    return None if _text(obj.get("evidence")) or _text(obj.get("summary")) else "neither evidence nor summary"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "\n".join(_text(v) for v in value).strip()
    return str(value).strip()
