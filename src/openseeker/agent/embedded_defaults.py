"""Reduced agent defaults for a role served by the embedded model, so an agent command takes minutes, not hours.

The paper's budgets (200 tool calls, a 131k context, 1k-2k tokens per turn, a summarizer call per step over 12k
characters) are right for a real teacher on a GPU server. On the embedded SmolLM2-135M on two CPU cores the same
defaults made one ``synth traj`` rollout run for 25 minutes. So when the role that plays the agent is embedded,
every agent setting the user did NOT give (no flag, no key in the ``agent:`` section of ``--config``) takes the
value below, and the command prints one line naming them and how to override each. Given values always win.

Example:
    >>> s, changed = apply_embedded_defaults(settings, given={"max_tool_calls"}, embedded=True)  # doctest: +SKIP
    >>> print(describe_reduced(changed))                                                      # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

# agent setting -> (embedded default, the flag that overrides it; every key also works in the `agent:` section)
EMBEDDED_AGENT_DEFAULTS: dict[str, tuple[Any, str]] = {
    "max_tool_calls": (4, "--max-tool-calls"),
    "max_turns": (6, "--max-turns"),
    "max_tokens_per_turn": (256, "--max-tokens-per-turn"),
    "context_tokens": (4096, "--context-tokens"),
    "search_top_k": (5, "agent.search_top_k"),
    "visit_max_chars": (4000, "agent.visit_max_chars"),
    "extract_page_chars": (3000, "agent.extract_page_chars"),
    "extract_max_tokens": (256, "agent.extract_max_tokens"),
}

# RetrospectiveSummarizer options when the summarizer role is embedded (trajectory synthesis): a shorter input
# and a shorter summary (the full-size defaults are 12,000 characters in, 384 tokens / 150 words out).
EMBEDDED_SUMMARIZER_DEFAULTS: dict[str, int] = {"max_input_chars": 2000, "max_tokens": 128, "max_words": 60}


def apply_embedded_defaults(
    settings: dict[str, Any], given: set[str] | frozenset[str], embedded: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(settings with the embedded defaults for the keys not in given, {key: value} of what changed)``."""
    if not embedded:
        return settings, {}
    changed = {
        key: value
        for key, (value, _flag) in EMBEDDED_AGENT_DEFAULTS.items()
        if key not in given and settings.get(key) != value
    }
    return {**settings, **changed}, changed


def describe_reduced(changed: dict[str, Any], summarizer: dict[str, Any] | None = None) -> str:
    """The one line the CLI prints: what was reduced, and how to override it."""
    parts = [f"{key} {value} ({EMBEDDED_AGENT_DEFAULTS[key][1]})" for key, value in changed.items()]
    if summarizer:
        parts.append(
            "summarizer input "
            + str(summarizer["max_input_chars"])
            + " chars / "
            + str(summarizer["max_tokens"])
            + " tokens"
        )
    return (
        "embedded model: reduced defaults so this takes minutes, not hours: "
        + ", ".join(parts)
        + ". Override with the flag, or the `agent:` section of --config; a real endpoint "
        "(--base-url/--config) keeps the paper's budgets."
    )
