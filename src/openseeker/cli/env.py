"""``openseeker env``: versions and paths for bug reports."""

from __future__ import annotations

import json

import typer

from openseeker.provenance import provenance


def collect() -> dict:
    """Python, platform and key package versions (``openseeker.provenance``, without the git commit)."""
    return provenance(git=False)


app = typer.Typer()  # root-level commands (openseeker.cli.main mounts it without a name)


@app.command("env")
def env() -> None:
    """Print versions of Python and the key packages (paste this into bug reports)."""
    typer.echo(json.dumps(collect(), indent=2))
