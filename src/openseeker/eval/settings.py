"""``EvalSettings``: everything that defines a reported number, and the one source of ``eval``'s option help.

Each field's entry under ``Attributes:`` is its help text: ``openseeker eval run`` / ``regrade`` / ``load`` /
``report`` take it from here through ``openseeker.cli.options.field_help``, the mechanism ``AgentSettings`` uses
for the agent options.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from openseeker.errors import UserError
from openseeker.eval import DEFAULT_MAX_TOOL_CALLS
from openseeker.eval.leakage import DEFAULT_BLOCKLIST, DEFAULT_NGRAM
from openseeker.web.base import check_retrieval


@dataclass
class EvalSettings:
    """Everything that defines a reported number (written into config.json and the report).

    Attributes:
        benchmark: benchmark name (see `eval list`).
        path: the benchmark file (default: under $OPENSEEKER_DATA or ../shared/data).
        web: a local web directory (from `web build`) or 'live'. Multi-hop sets (musique, hotpotqa) default to a
            web built from their own paragraphs under OUT/web.
        limit: first N questions (after --sample).
        sample: N questions drawn with --seed.
        seed: seed of --sample.
        runs: runs per question (avg@n, pass@n).
        judge: 'llm' (judge role) or 'none' (normalized exact match).
        concurrency: questions in flight.
        max_tool_calls: tool budget per question.
        max_turns: LLM turns per question.
        leakage_guard: auto (on for --web live), on, off.
        blocklist: blocked hosts or host/path prefixes: the built-in list plus each --block-domain (repeatable).
        ngram: length of the question/answer n-grams the leakage guard forbids in results.
        agent_options: further ``Agent`` keyword arguments (the CLI's --max-tokens-per-turn).
        web_config: the live-web YAML (for --web live).
        ungraded: ungraded answers (judge reply unparseable or judge down) count as 'wrong' or are 'exclude'd
            from the denominator (OpenSeeker's eval script); the report says which.
        retrieval: the search tool's ranking: the agent option --retrieval (its help is AgentSettings.retrieval's).
    """

    benchmark: str
    path: str
    web: str
    limit: int | None = None
    sample: int | None = None
    seed: int = 0
    runs: int = 1
    judge: str = "llm"  # "llm" | "none"
    concurrency: int = 2
    max_tool_calls: int = DEFAULT_MAX_TOOL_CALLS
    max_turns: int | None = None
    leakage_guard: str = "auto"  # "auto" (on for live), "on", "off"
    blocklist: list[str] = field(default_factory=lambda: list(DEFAULT_BLOCKLIST))
    ngram: int = DEFAULT_NGRAM
    agent_options: dict[str, Any] = field(default_factory=dict)
    web_config: str | None = None
    ungraded: str = "wrong"  # "wrong" | "exclude" (report.summarize)
    retrieval: str | None = None  # bm25 | dense | hybrid (None: the web's default)

    def __post_init__(self) -> None:
        if self.runs < 1:
            raise UserError("--runs must be >= 1")
        if self.concurrency < 1:
            raise UserError("--concurrency must be >= 1")
        if self.max_tool_calls < 0:
            raise UserError("--max-tool-calls must be >= 0")
        if self.judge not in ("llm", "none"):
            raise UserError("--judge must be 'llm' or 'none'")
        if self.leakage_guard not in ("auto", "on", "off"):
            raise UserError("--leakage-guard must be auto, on or off")
        if self.ungraded not in ("wrong", "exclude"):
            raise UserError("--ungraded must be 'wrong' or 'exclude'")
        if self.retrieval is not None:
            check_retrieval(self.retrieval)
