"""The agent's options, shared by every command that runs the agent (``agent run``, ``synth traj``, ``eval run``)
and by ``serve``'s ``--retrieval``: each help text is the field description of ``AgentSettings`` (written once).
"""

from __future__ import annotations

from typing import Annotated

import typer

from openseeker.agent.settings import AgentSettings
from openseeker.cli.options import field_help
from openseeker.sandbox.settings import BACKEND_HELP


def _agent(name: str) -> str:
    return field_help(AgentSettings, name)


MaxToolCallsOpt = Annotated[int | None, typer.Option("--max-tool-calls", min=0, help=_agent("max_tool_calls"))]
ConcurrencyOpt = Annotated[int | None, typer.Option("--concurrency", min=1, help=_agent("concurrency"))]
ProtocolOpt = Annotated[str | None, typer.Option("--protocol", help=_agent("protocol"))]
RoleOpt = Annotated[str | None, typer.Option("--role", help=_agent("role"))]
MaxTokensPerTurnOpt = Annotated[
    int | None, typer.Option("--max-tokens-per-turn", min=16, help=_agent("max_tokens_per_turn"))
]
MaxTurnsOpt = Annotated[int | None, typer.Option("--max-turns", min=1, help=_agent("max_turns"))]
ContextTokensOpt = Annotated[int | None, typer.Option("--context-tokens", min=256, help=_agent("context_tokens"))]
TemperatureOpt = Annotated[float | None, typer.Option("--temperature", help=_agent("temperature"))]
SeedOpt = Annotated[int | None, typer.Option("--seed", help=_agent("seed"))]
RetrievalOpt = Annotated[str | None, typer.Option("--retrieval", help=_agent("retrieval"))]
PresetOpt = Annotated[str | None, typer.Option("--preset", help=_agent("preset"))]
ToolsOpt = Annotated[str | None, typer.Option("--tools", help=_agent("tools"))]
AnswerOpt = Annotated[str | None, typer.Option("--answer", help=_agent("answer"))]
SandboxOpt = Annotated[
    str | None,
    typer.Option("--sandbox", help=BACKEND_HELP + " Limits: agent.sandbox in --config (docs/code-tool.md)."),
]
AllowMixedOpt = Annotated[
    bool,
    typer.Option(
        "--allow-mixed",
        help="Resume an --out started with other models or settings anyway (refused by default, naming the "
        "difference: one file would hold records made two ways).",
    ),
]
