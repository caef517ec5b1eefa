"""The tool set of an agent: the one place that turns tool names (``agent.tools``) into tool objects.

Every command that runs the agent (``agent run``, ``synth traj``, ``eval run``) builds its tools here, so a new
tool is one registration in ``TOOLS`` and one name in the settings, not a flag threaded through each command.
``check_tools`` runs at the start of a command: a tool that cannot work here (``code_exec`` without a sandbox)
is refused then, in one line, not on the first call of the first rollout.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from openseeker.errors import UserError
from openseeker.registry import Registry
from openseeker.sandbox.base import open_backend
from openseeker.sandbox.tool import CodeExecTool
from openseeker.web.tools import SearchTool, VisitTool

if TYPE_CHECKING:
    from openseeker.web.base import Web
    from openseeker.web.tools import Extractor

DEFAULT_TOOLS = ("search", "visit")


@dataclass
class ToolContext:
    """What the tool builders need: the web (search, visit), the visit extractor, the agent settings."""

    web: Web | None
    extractor: Extractor | None = None
    settings: dict[str, Any] = field(default_factory=dict)


def _web(ctx: ToolContext) -> Web:
    if ctx.web is None:
        raise UserError("the search and visit tools need a web (--web)")
    return ctx.web


def _search(ctx: ToolContext) -> Any:
    s = ctx.settings
    return SearchTool(_web(ctx), top_k=s.get("search_top_k") or 10, retrieval=s.get("retrieval"))


def _visit(ctx: ToolContext) -> Any:
    return VisitTool(_web(ctx), extractor=ctx.extractor, max_chars=ctx.settings.get("visit_max_chars") or 20_000)


def _code_exec(ctx: ToolContext) -> Any:
    return code_exec_tool(json.dumps(ctx.settings.get("sandbox") or {}, sort_keys=True))


@lru_cache(maxsize=8)
def code_exec_tool(sandbox_json: str) -> Any:
    """One ``CodeExecTool`` per process and sandbox configuration: the tool holds no attempt state (each attempt's
    sandbox lives in a context variable), so every agent of this process can share it."""

    return CodeExecTool(open_backend(json.loads(sandbox_json)))


# name -> builder(ToolContext) -> tool
TOOLS: Registry[Any] = Registry("tool")
TOOLS.register("search", _search)
TOOLS.register("visit", _visit)
TOOLS.register("code_exec", _code_exec, aliases=("code", "shell", "bash"))


def build_tools(names: list[str] | tuple[str, ...], ctx: ToolContext) -> list[Any]:
    """The tools named, in order (each name checked against ``TOOLS``)."""
    return [TOOLS.get(name)(ctx) for name in names]


def check_tools(settings: dict[str, Any]) -> None:
    """Refuse now what could not work later: unknown names, ``code_exec`` without a working sandbox, or with the
    ``json`` protocol (its constrained actions are search, visit and answer only)."""
    names = [TOOLS.canonical(n) for n in settings.get("tools") or DEFAULT_TOOLS]
    if "code_exec" in names:
        if settings.get("protocol") == "json":
            raise UserError("code_exec needs the text or native protocol (the json protocol cannot call it)")
        code_exec_tool(json.dumps(settings.get("sandbox") or {}, sort_keys=True))
