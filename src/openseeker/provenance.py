"""Where an output came from: Python, platform, package versions and the git commit of the code.

One place for what every stage writes next to its outputs (export stats, training runs, eval results, batch
summaries) and what ``openseeker env`` prints for bug reports, so a figure can always be traced to the code and
libraries that made it.

Example:
    >>> info = provenance(["openseeker"])
    >>> sorted(info)
    ['git', 'packages', 'platform', 'python']
"""

from __future__ import annotations

import platform
import subprocess
import sys
from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

# What ``openseeker env`` and the training outputs report.
KEY_PACKAGES = (
    "openseeker",
    "openai",
    "tantivy",
    "xllamacpp",
    "pyahocorasick",
    "torch",
    "transformers",
    "trl",
    "peft",
)


def package_versions(packages: Iterable[str], *, missing: bool = True) -> dict[str, str | None]:
    """Installed version of each package; a missing one maps to None (``missing=True``) or is left out."""
    out: dict[str, str | None] = {}
    for name in packages:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            if missing:
                out[name] = None
    return out


def git_hash() -> str | None:
    """The commit of the checkout the package runs from (None outside a git checkout or without git)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return (out.stdout.strip() or None) if out.returncode == 0 else None


def provenance(packages: Iterable[str] = KEY_PACKAGES, *, git: bool = True) -> dict[str, Any]:
    """``{"python", "platform", "packages": {name: version | None}, "git"}`` (``git`` only when asked)."""
    info: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(packages),
    }
    if git:
        info["git"] = git_hash()
    return info
