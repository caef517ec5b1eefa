"""``EvalSettings``: everything that defines a reported number, and the one source of ``eval``'s option help.

Each field's entry under ``Attributes:`` is its help text: ``openseeker eval run`` / ``regrade`` / ``load`` /
``report`` take it from here through ``openseeker.cli.options.field_help``, the mechanism ``AgentSettings`` uses
for the agent options.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from openseeker.agent.settings import resolve_agent_settings
from openseeker.errors import UserError
from openseeker.eval.leakage import DEFAULT_BLOCKLIST, DEFAULT_NGRAM


@dataclass
class EvalSettings:
    """Everything that defines a reported number (written into config.json and the report).

    The agent itself is not configured here: ``agent`` holds its resolved ``AgentSettings`` (the ``agent:`` section
    of the config file and the agent flags, resolved exactly as for ``agent run``: the paper's 200-call budget by
    default), so the agent an evaluation measures is the agent ``agent run`` runs with the same config.

    Attributes:
        benchmark: benchmark name (see `eval list`).
        path: the benchmark file (default: under $OPENSEEKER_DATA or ../shared/data).
        web: a local web directory (from `web build`) or 'live'. Multi-hop sets (musique, hotpotqa) default to a
            web built from their own paragraphs under OUT/web.
        limit: first N questions (after --sample).
        sample: N questions drawn with --subset-seed.
        subset_seed: seed of --sample (which questions; the agent's sampling seed is --seed).
        runs: runs per question (avg@n, pass@n); run r samples with seed + r when --seed is given.
        judge: 'llm' (judge role) or 'none' (normalized exact match).
        leakage_guard: auto (on for --web live), on, off.
        blocklist: blocked hosts or host/path prefixes: the built-in list plus each --block-domain (repeatable).
        ngram: length of the question/answer n-grams the leakage guard forbids in results.
        web_config: the live-web YAML (for --web live).
        ungraded: ungraded answers (judge reply unparseable or judge down) count as 'wrong' or are 'exclude'd
            from the denominator (OpenSeeker's eval script); the report says which.
        agent: the student agent's settings (``AgentSettings`` keys; missing keys take its defaults).
    """

    benchmark: str
    path: str
    web: str
    limit: int | None = None
    sample: int | None = None
    subset_seed: int = 0
    runs: int = 1
    judge: str = "llm"  # "llm" | "none"
    leakage_guard: str = "auto"  # "auto" (on for live), "on", "off"
    blocklist: list[str] = field(default_factory=lambda: list(DEFAULT_BLOCKLIST))
    ngram: int = DEFAULT_NGRAM
    web_config: str | None = None
    ungraded: str = "wrong"  # "wrong" | "exclude" (report.summarize)
    agent: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.runs < 1:
            raise UserError("--runs must be >= 1")
        if self.judge not in ("llm", "none"):
            raise UserError("--judge must be 'llm' or 'none'")
        if self.leakage_guard not in ("auto", "on", "off"):
            raise UserError("--leakage-guard must be auto, on or off")
        if self.ungraded not in ("wrong", "exclude"):
            raise UserError("--ungraded must be 'wrong' or 'exclude'")
        self.agent = resolve_agent_settings(**{**self.agent, "role": "student"})

    @property
    def concurrency(self) -> int:
        return self.agent["concurrency"]
