"""Options shared by every LLM-using command, so ``--llm/--base-url/--model/--config`` mean the same everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

LLMOpt = Annotated[
    Optional[str],
    typer.Option("--llm", help="'embedded' (SmolLM2-135M served locally by xllamacpp; the default when no "
                 "endpoint is configured) or 'openai' to use --base-url/--model/--config."),
]
BaseUrlOpt = Annotated[
    Optional[str], typer.Option("--base-url", help="OpenAI-compatible endpoint for ALL roles, e.g. http://host:8000/v1")
]
ModelOpt = Annotated[Optional[str], typer.Option("--model", help="Model name for ALL roles at --base-url.")]
ConfigOpt = Annotated[
    Optional[Path], typer.Option("--config", help="YAML config mapping roles to endpoints (see docs/config.md).")
]
WebOpt = Annotated[
    str, typer.Option("--web", help="A local web directory (from `web build`), 'live', or http://host:port (an "
                      "`openseeker serve` server; several comma-separated).")
]
WebConfigOpt = Annotated[
    Optional[Path],
    typer.Option("--web-config", help="Live-web YAML for --web live (backend, key env vars, cache; see "
                 "docs/live-web.md). Default: the `live:` section of --config, else $OPENSEEKER_LIVE_CONFIG."),
]
WorkersOpt = Annotated[
    Optional[int],
    typer.Option("--workers", min=1, help="Worker processes (ranks); each runs --concurrency items in flight, "
                 "writes its own shard, and the shards are merged in input order at the end (docs/scale.md)."),
]
ExecutorOpt = Annotated[
    str, typer.Option("--executor", help="local (this machine: --workers processes) or ray (Ray tasks; needs "
                      "the ray extra).")
]
RayAddressOpt = Annotated[
    Optional[str], typer.Option("--ray-address", help="A running Ray cluster (host:6379, ray://host:10001, auto); "
                                "default: start a local one.")
]
RankOpt = Annotated[
    Optional[int], typer.Option("--rank", min=0, help="Run only this rank of --workers, in this process (one task "
                                "of a Slurm job array: --rank $SLURM_ARRAY_TASK_ID); the same command without "
                                "--rank then finishes what is missing and merges.")
]
