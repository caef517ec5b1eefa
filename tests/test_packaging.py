"""Packaging and doc-link hygiene: what pyproject.toml packages exists, and the files AGENTS.md / README.md
point at exist (AGENTS.md once pointed at a docs/footguns.md that did not)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_data_pattern_matches_a_file():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    package_data = data["tool"]["setuptools"]["package-data"]
    for package, patterns in package_data.items():
        base = ROOT / "src" / package.replace(".", "/")
        for pattern in patterns:
            assert list(base.glob(pattern)), f"pyproject packages {package}/{pattern}, which matches no file"


def test_docs_named_in_agents_and_readme_exist():
    for name in ("AGENTS.md", "README.md"):
        text = (ROOT / name).read_text(encoding="utf-8")
        missing = []
        for path in set(re.findall(r"\b((?:docs|scripts|benchmarks|configs)/[\w./-]+\.(?:md|sh|py|yaml))", text)):
            if not (ROOT / path).exists():
                missing.append(path)
        for doc in set(re.findall(r"(?<![/\w-])([\w-]+\.md)\b", text)):  # bare names, e.g. "config.md; footguns.md"
            if not any((ROOT / d / doc).exists() for d in (".", "docs")):
                missing.append(doc)
        assert not missing, f"{name} points at missing files: {sorted(missing)}"
