"""Options shared by the stages' commands, so ``--llm/--base-url/--model/--config/--web/--workers`` mean the same
everywhere; and ``field_help``, which makes a settings class's field docs the one source of an option's help.

Below every stage: it imports none (the agent's options, whose help comes from ``AgentSettings``, are
``openseeker.agent.options``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

LLMOpt = Annotated[
    str | None,
    typer.Option(
        "--llm",
        help="'embedded' (SmolLM2-135M served locally by xllamacpp; the default when no "
        "endpoint is configured) or 'openai' to use --base-url/--model/--config.",
    ),
]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option("--base-url", help="OpenAI-compatible endpoint for ALL roles, e.g. http://host:8000/v1"),
]
ModelOpt = Annotated[str | None, typer.Option("--model", help="Model name for ALL roles at --base-url.")]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="YAML config mapping roles to endpoints (see docs/config.md).")
]
WebOpt = Annotated[
    str,
    typer.Option(
        "--web",
        help="A local web directory (from `web build`), 'live', or http://host:port (an "
        "`openseeker serve` server; several comma-separated).",
    ),
]
WebConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--web-config",
        help="Live-web YAML for --web live (backend, key env vars, cache; see "
        "docs/live-web.md). Default: the `live:` section of --config, else $OPENSEEKER_LIVE_CONFIG.",
    ),
]
WorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--workers",
        min=1,
        help="Worker processes (ranks); each runs --concurrency items in flight, "
        "writes its own shard, and the shards are merged in input order at the end (docs/scale.md).",
    ),
]
ExecutorOpt = Annotated[
    str,
    typer.Option(
        "--executor", help="local (this machine: --workers processes) or ray (Ray tasks; needs the ray extra)."
    ),
]
RayAddressOpt = Annotated[
    str | None,
    typer.Option(
        "--ray-address", help="A running Ray cluster (host:6379, ray://host:10001, auto); default: start a local one."
    ),
]
RankOpt = Annotated[
    int | None,
    typer.Option(
        "--rank",
        min=0,
        help="Run only this rank of --workers, in this process (one task "
        "of a Slurm job array: --rank $SLURM_ARRAY_TASK_ID); the same command without "
        "--rank then finishes what is missing and merges.",
    ),
]


# --- agent settings: the help text is the field description of ``AgentSettings`` (written once) ----------------
def field_help(model: type, name: str) -> str:
    """The documentation of field ``name``: the one source of an option's help text.

    A pydantic model's ``Field(description=...)``, or for a dataclass its docstring entry under ``Attributes:``
    / ``Args:`` (Google style: ``name: text`` with indented continuation lines; ``a, b: text`` documents both).
    """
    fields = getattr(model, "model_fields", None)
    if fields is not None:
        return fields[name].description or ""
    import inspect
    import re

    entries: dict[str, str] = {}
    current: list[str] = []
    for line in inspect.cleandoc(model.__doc__ or "").splitlines():
        m = re.match(r"^    ([\w, ]+): (.*)$", line)
        if m:
            current = [n.strip() for n in m.group(1).split(",")]
            for n in current:
                entries[n] = m.group(2).strip()
        elif line.startswith("        ") and current:
            for n in current:
                entries[n] += " " + line.strip()
        else:
            current = []
    if name not in entries:
        raise KeyError(f"{model.__name__}.{name} is not documented in its docstring")
    text = entries[name].replace("``", "")
    return text[:1].upper() + text[1:]
