"""``AgentSettings``: the agent's knobs, the ``agent:`` section of the config file, and the source of their help.

Each field's description is its one help text: the ``agent run`` / ``synth traj`` options take it from here
(``openseeker.cli.options.field_help``). Precedence is the one rule of ``openseeker.config.layered``:
CLI values that were given > the file's ``agent:`` section > these defaults.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from openseeker.agent.embedded_defaults import apply_embedded_defaults
from openseeker.agent.toolset import TOOLS
from openseeker.config import layered, load_config, pydantic_problems
from openseeker.errors import UserError
from openseeker.sandbox.settings import SandboxSettings
from openseeker.web.base import RETRIEVAL_HELP

if TYPE_CHECKING:
    from openseeker.llm.config import LLMConfig

# Named bundles of settings: the OpenSeeker model generation they reproduce. A preset sets defaults only: the
# file's agent: section and the flags still win over it (defaults < preset < file < CLI).
PRESETS: dict[str, dict[str, Any]] = {
    "v1": {"tools": ["search", "visit"], "answer": "tag"},
    # OpenSeeker-v2: a third tool, code_exec, and the answer wrapped in \boxed{} (the authors' eval instruction)
    "v2": {"tools": ["search", "visit", "code_exec"], "answer": "boxed"},
}


class AgentSettings(BaseModel):
    """Settings of an agent run (``agent run``, ``synth traj``, ``eval run``)."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["student", "teacher"] = Field(
        "student", description="LLM role playing the agent: student (default) or teacher."
    )
    protocol: Literal["auto", "text", "native", "json"] = Field(
        "auto", description="auto (json for the embedded model, text otherwise), text, native, json."
    )
    max_tool_calls: int = Field(
        200, ge=0, description="Tool budget per question (default 200, as in the paper; 4 on the embedded model)."
    )
    max_turns: int | None = Field(
        None, ge=1, description="LLM turns per question (default tool budget + 20; 6 on the embedded model)."
    )
    context_tokens: int | None = Field(
        None,
        ge=256,
        description="Context budget (tokens, estimated; default: the model's; 4096 on the embedded model).",
    )
    max_tokens_per_turn: int | None = Field(
        None,
        ge=1,
        description="Generation limit per LLM turn (default: the role's max_tokens; 256 on the embedded model).",
    )
    concurrency: int = Field(8, ge=1, description="Questions in flight (default 8).")
    extract: bool = Field(True, description="Goal-conditioned visit with the extractor role; false = raw page text.")
    visit_max_chars: int = Field(20_000, ge=1, description="Raw-text visit budget (and the extractor's fallback).")
    search_top_k: int = Field(10, ge=1, description="Results per query shown by the search tool.")
    retrieval: Literal["bm25", "dense", "hybrid"] | None = Field(None, description=RETRIEVAL_HELP)
    extract_page_chars: int | None = Field(
        None, ge=1, description="Page budget of the extractor (default: from its context)."
    )
    extract_max_tokens: int | None = Field(
        None, ge=1, description="Generation limit of one extraction (default: the extractor role's max_tokens)."
    )
    temperature: float | None = Field(None, description="Agent sampling temperature.")
    tool_timeout: float = Field(600.0, gt=0, description="Seconds a tool call may take.")
    seed: int | None = Field(None, description="Sampling seed sent with every agent call.")
    preset: Literal["v1", "v2"] | None = Field(
        None,
        description="v1: search + visit, answer in <answer> tags. v2 (OpenSeeker-v2): search + visit + code_exec, "
        "answer in \\boxed{}. Sets defaults of tools and answer; explicit values win.",
    )
    tools: list[str] = Field(
        ["search", "visit"],
        description="Tools the agent may call, comma-separated: search, visit, code_exec (a shell in a sandbox "
        "per attempt; see docs/code-tool.md).",
    )
    answer: Literal["tag", "boxed"] = Field(
        "tag", description="How the final answer is marked: tag (<answer>...</answer>) or boxed (\\boxed{...})."
    )
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings, description="The code_exec sandbox.")

    @field_validator("tools", mode="before")
    @classmethod
    def _tool_names(cls, value: Any) -> list[str]:
        names = [t.strip() for t in value.split(",")] if isinstance(value, str) else list(value or [])
        names = [TOOLS.canonical(str(n)) for n in names if str(n).strip()]
        if not names:
            raise ValueError("give at least one tool (search, visit, code_exec)")
        return list(dict.fromkeys(names))


AGENT_SETTINGS: dict[str, Any] = AgentSettings().model_dump()  # the defaults, by name


ANSWER_FREE_KEYS = ("concurrency",)  # settings that do not change an answer: resuming with others is fine


def answer_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """The resolved settings that can change an answer (what a resumed run must not change silently)."""
    return {k: v for k, v in settings.items() if k not in ANSWER_FREE_KEYS}


def validate_agent_section(section: Any, source: str) -> AgentSettings:
    """The ``agent:`` section of the config file (``openseeker.config.SECTIONS``)."""
    if not isinstance(section, dict):
        raise UserError(f"{source}: agent must be a mapping, got {type(section).__name__}")
    try:
        return AgentSettings.model_validate(section)
    except ValidationError as exc:
        raise UserError(f"{source}: invalid agent settings: {pydantic_problems(exc, 'agent')}") from None


def agent_section(config: str | os.PathLike | None) -> dict[str, Any]:
    """The ``agent:`` section of a config file as written (``{}`` without one), checked: what the file sets."""
    return load_config(None if config is None else Path(config)).section("agent")


def resolve_agent_settings(config: str | os.PathLike | None = None, **cli: Any) -> dict[str, Any]:
    """Defaults < the preset's values < the ``agent:`` section of the YAML config < CLI values that were given (not
    None). A string ``sandbox`` (the ``--sandbox`` flag) names the backend; the file's other sandbox keys stay."""
    unknown = sorted(set(cli) - set(AgentSettings.model_fields))
    if unknown:
        raise UserError(f"unknown agent setting(s): {', '.join(unknown)}")
    file_section = agent_section(config)
    preset = cli.get("preset") or file_section.get("preset")
    if preset is not None and preset not in PRESETS:
        raise UserError(f"unknown agent preset {preset!r}; choose one of {', '.join(PRESETS)}")
    if isinstance(cli.get("sandbox"), str):
        cli = {**cli, "sandbox": {**(file_section.get("sandbox") or {}), "backend": cli["sandbox"]}}
    merged = layered({**AGENT_SETTINGS, **(PRESETS[preset] if preset else {})}, file_section, cli)
    try:
        return AgentSettings.model_validate(merged).model_dump()
    except ValidationError as exc:
        raise UserError(f"invalid agent settings: {pydantic_problems(exc)}") from None


def resolve_run_settings(
    config: str | os.PathLike | None, llm_config: LLMConfig, cli: dict[str, Any], *, role: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The agent settings of a run, resolved one way for every command that runs the agent (``agent run``,
    ``synth traj``, ``eval run``): defaults < the ``agent:`` section < the flags that were given; then, when the
    role playing the agent is the embedded model, its reduced budgets for what neither set
    (``openseeker.agent.embedded_defaults``). ``role`` fixes the role (``teacher`` for trajectory synthesis,
    ``student`` for evaluation). Returns ``(settings, reduced)``; ``reduced`` is what the embedded defaults changed.
    """
    cli = {**cli, "role": role} if role is not None else dict(cli)
    given = set(agent_section(config)) | {k for k, v in cli.items() if v is not None}
    settings = resolve_agent_settings(config, **cli)
    return apply_embedded_defaults(settings, given, llm_config.role(settings["role"]).embedded)
