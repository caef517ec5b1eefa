"""``openseeker env``: versions and paths for bug reports."""

from __future__ import annotations

import importlib.metadata as md
import json
import platform
import sys

import typer

PACKAGES = ("openseeker", "openai", "tantivy", "xllamacpp", "pyahocorasick", "torch", "transformers", "trl", "peft")


def collect() -> dict:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            versions[name] = None
    return {"python": sys.version.split()[0], "platform": platform.platform(), "packages": versions}


app = typer.Typer()  # root-level commands (openseeker.cli.main mounts it without a name)


@app.command("env")
def env() -> None:
    """Print versions of Python and the key packages (paste this into bug reports)."""
    typer.echo(json.dumps(collect(), indent=2))
