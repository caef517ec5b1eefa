"""Goal-conditioned visit: ``LLMExtractor`` reads a page for a goal and returns the paper's visit-tool text.

It implements the ``Extractor`` protocol of ``openseeker.web.tools``: ``await extractor(url, title, text, goal)
-> str | None``. The page is truncated to a budget, the extractor role answers JSON ``{rational, evidence,
summary}`` (``json_schema`` response format), a failed attempt is retried on a shorter page, and ``None`` after
the last failure lets ``VisitTool`` fall back to the truncated raw text. It never raises.

Example:
    >>> from openseeker.web.tools import VisitTool                       # doctest: +SKIP
    >>> visit = VisitTool(web, extractor=LLMExtractor(pool.role("extractor")))
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from openseeker.agent.prompts import EXTRACT_SCHEMA, EXTRACTOR_PROMPT
from openseeker.agent.protocol import json_schema_format, parse_json
from openseeker.llm.usage import record_usage
from openseeker.records import Usage
from openseeker.web.format import format_visit_extracted

if TYPE_CHECKING:
    from openseeker.llm.base import LLM

log = logging.getLogger(__name__)

PAPER_PAGE_TOKENS = 95_000  # the paper truncates pages to 95k tokens before extraction


def _default_page_chars(llm: LLM) -> int:
    from openseeker.agent.runtime import is_embedded

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

    def __init__(self, llm: LLM, *, max_page_chars: int | None = None, retries: int = 2, shrink: float = 0.7,
                 max_tokens: int | None = None):
        self.llm = llm
        self.max_page_chars = max_page_chars or _default_page_chars(llm)
        self.retries = max(0, retries)
        self.shrink = shrink
        self.max_tokens = max_tokens
        self.stats = {"calls": 0, "ok": 0, "failed": 0, "retries": 0}

    def _record_usage(self, usage: Usage) -> None:
        record_usage(getattr(self.llm, "role", "extractor") or "extractor", usage)

    async def __call__(self, url: str, title: str, text: str, goal: str) -> str | None:
        self.stats["calls"] += 1
        budget = self.max_page_chars
        for attempt in range(self.retries + 1):
            if attempt:
                self.stats["retries"] += 1
                budget = max(500, int(min(budget, len(text)) * self.shrink))
            page = text if len(text) <= budget else text[:budget] + "\n[... truncated]"
            content = f"# {title}\n\n{page}" if title else page
            messages = [{"role": "user", "content": EXTRACTOR_PROMPT.format(content=content, goal=goal)}]
            kwargs: dict[str, Any] = {"response_format": json_schema_format("page_extract", EXTRACT_SCHEMA)}
            if self.max_tokens:
                kwargs["max_tokens"] = self.max_tokens
            try:
                comp = await self.llm.chat(messages, **kwargs)
            except (TypeError, AttributeError, NameError):
                raise
            except Exception as exc:  # LLMError and friends: retry shorter, then give up (raw-text fallback)
                log.info("extractor failed on %s (attempt %d): %s", url, attempt + 1, exc)
                continue
            self._record_usage(comp.usage)
            obj = parse_json(comp.content or "")
            if not isinstance(obj, dict):
                log.info("extractor returned no JSON for %s (attempt %d)", url, attempt + 1)
                continue
            evidence = _text(obj.get("evidence"))
            summary = _text(obj.get("summary"))
            if not evidence and not summary:
                continue
            self.stats["ok"] += 1
            return format_visit_extracted(url, goal, evidence, summary)
        self.stats["failed"] += 1
        return None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "\n".join(_text(v) for v in value).strip()
    return str(value).strip()
