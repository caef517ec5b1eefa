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


def _requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]


def _locked() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not name==version"
            pins[_canonical(name)] = version
    return pins


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_requirement_is_bounded_and_locked_inside_its_bounds():
    """A fresh machine installs constraints.txt (scripts/install.sh): every dependency we declare must be pinned
    there, at a version inside pyproject's range, and every range must have an upper bound (the newest major or
    0.x minor the tests passed on), so that `pip install openseeker` without the lock cannot pull an untested
    major release either (openai 3.x moved to httpx2 and broke the SDK transport on fresh machines)."""
    from packaging.requirements import Requirement

    locked = _locked()
    problems = []
    for text in _requirements():
        req = Requirement(text)
        if not any(spec.operator in ("<", "<=", "==", "~=") for spec in req.specifier):
            problems.append(f"{text}: no upper bound")
        version = locked.get(_canonical(req.name))
        if version is None:
            problems.append(f"{req.name}: not in constraints.txt")
        elif not req.specifier.contains(version, prereleases=True):
            problems.append(f"{req.name}: locked {version} is outside {req.specifier}")
    assert not problems, "pyproject.toml vs constraints.txt:\n" + "\n".join(problems)


def test_install_script_uses_the_lock_by_default():
    script = (ROOT / "scripts" / "install.sh").read_text(encoding="utf-8")
    assert "-c constraints.txt" in script and "--latest" in script
    assert "scripts/test.sh" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
