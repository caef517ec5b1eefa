"""Which pipeline outputs a path holds: QA files (+ rejected sidecar + yield report), trajectory files, SFT
exports, eval run folders, or a run folder (``runs/demo/``) holding several of them.

A file is recognized by its first record's ``kind`` (every record carries one, see ``records.py``), not by its
name, so renamed outputs still open; directories are recognized by their layout (``results.jsonl`` +
``config.json`` is an eval run, ``graph.sqlite`` a local web). Anything else under a run folder is listed as
skipped with the reason, never an error; a path given explicitly that holds nothing we know is a ``UserError``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from openseeker.errors import UserError
from openseeker.synth.qa.report import rejected_path, report_path

SKIP_DIRS = {"index", "plots", "__pycache__", ".git", "student", "checkpoints"}
MAX_DEPTH = 4


@dataclass
class Source:
    """One dataset the viewer shows. ``kind``: qa, rejected, traj, sft, eval."""

    kind: str
    path: Path
    name: str
    report: Path | None = None  # qa / rejected: the yield report
    rejected: Path | None = None  # qa: the rejected sidecar
    qa: Path | None = None  # rejected: the accepted file it belongs to
    trajectories: Path | None = None  # eval: its trajectories.jsonl


@dataclass
class Found:
    sources: list[Source] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    web: Path | None = None


def first_record(path: Path) -> dict | None:
    """The first non-blank line of a JSONL file as a dict; None if empty; ``{}`` if it is not a JSON object."""
    with path.open("rb") as fh:
        for line in fh:
            if not line.strip():
                continue
            if len(line) > 64 << 20:
                return {}
            try:
                obj = json.loads(line)
            except ValueError:
                return {}
            return obj if isinstance(obj, dict) else {}
    return None


def sidecars(qa: Path) -> tuple[Path, Path]:

    return rejected_path(qa), report_path(qa)


def _owner_of_sidecar(path: Path) -> Path | None:
    """``x.rejected.jsonl`` -> ``x.jsonl`` (the QA file a rejected sidecar belongs to)."""
    if path.name.endswith(".rejected.jsonl"):
        return path.with_name(path.name[: -len(".rejected.jsonl")] + ".jsonl")
    return None


def is_eval_dir(d: Path) -> bool:
    return (d / "results.jsonl").is_file() and (d / "config.json").is_file()


def is_web_dir(d: Path) -> bool:
    return (d / "graph.sqlite").is_file()


def classify_file(path: Path, root: Path, found: Found, seen: set[Path], explicit: bool) -> None:
    name = _display(path, root)
    if explicit and path.name.endswith(".report.json"):  # a yield report stands for the QA file it reports on
        owner = path.with_name(path.name[: -len(".report.json")] + ".jsonl")
        if owner.exists():
            classify_file(owner, root, found, seen, explicit=True)
            return
    if path.suffix != ".jsonl":
        if explicit:
            raise UserError(f"{path}: not a JSONL pipeline output (give a .jsonl file or a run/eval folder)")
        return
    rec = first_record(path)
    if rec is None:
        if explicit:
            raise UserError(f"{path}: empty file, nothing to show")
        found.skipped.append(f"{name}: empty")
        return
    kind = rec.get("kind")
    if kind == "qa":
        rejected, report = sidecars(path)
        found.sources.append(
            Source(
                "qa",
                path,
                name,
                report=report if report.exists() else None,
                rejected=rejected if rejected.exists() and first_record(rejected) else None,
            )
        )
        seen.add(path.resolve())
        if rejected.exists():
            if first_record(rejected):
                found.sources.append(
                    Source(
                        "rejected",
                        rejected,
                        _display(rejected, root),
                        qa=path,
                        report=report if report.exists() else None,
                    )
                )
            seen.add(rejected.resolve())
    elif kind == "rejection":
        owner = _owner_of_sidecar(path)
        if owner is not None and owner.resolve() in seen:
            return
        report = sidecars(owner)[1] if owner is not None else None
        found.sources.append(
            Source(
                "rejected",
                path,
                name,
                qa=owner if owner and owner.exists() else None,
                report=report if report is not None and report.exists() else None,
            )
        )
    elif kind == "trajectory":
        found.sources.append(Source("traj", path, name))
    elif kind == "eval_result":
        _add_eval(path.parent, root, found, seen)
    elif kind is None and isinstance(rec.get("messages"), list):
        found.sources.append(Source("sft", path, name))
    elif kind is None and ("conversations" in rec or "input_ids" in rec):
        found.skipped.append(
            f"{name}: {'ShareGPT' if 'conversations' in rec else 'tokenized'} copy of the SFT "
            "export (its messages.jsonl is shown)"
        )
        if explicit:
            raise UserError(
                f"{path}: a {'ShareGPT' if 'conversations' in rec else 'tokenized'} SFT file; open "
                "messages.jsonl of the same export instead"
            )
    else:
        msg = f"not a pipeline output the viewer knows (first record kind={kind!r})"
        if explicit:
            raise UserError(
                f"{path}:1: {msg}; expected QA samples, rejections, trajectories, SFT messages or eval results"
            )
        found.skipped.append(f"{name}: {msg}")


def _add_eval(d: Path, root: Path, found: Found, seen: set[Path]) -> None:
    if d.resolve() in seen:
        return
    seen.add(d.resolve())
    traj = d / "trajectories.jsonl"
    seen.add(traj.resolve())
    seen.add((d / "results.jsonl").resolve())
    found.sources.append(
        Source(
            "eval",
            d / "results.jsonl",
            _display(d, root) or d.name,
            report=d / "report.json" if (d / "report.json").exists() else None,
            trajectories=traj if traj.exists() and first_record(traj) else None,
        )
    )
    if traj.exists() and first_record(traj):
        found.sources.append(Source("traj", traj, _display(traj, root)))


def _display(path: Path, root: Path) -> str:
    try:
        rel = path.resolve().relative_to(root.resolve())
        return str(rel) if str(rel) != "." else path.name
    except ValueError:
        return str(path)


def _walk(d: Path, root: Path, found: Found, seen: set[Path], depth: int) -> None:
    if is_eval_dir(d):
        _add_eval(d, root, found, seen)
        return
    if is_web_dir(d):
        if found.web is None:
            found.web = d
        return
    if depth > MAX_DEPTH:
        return
    entries = sorted(d.iterdir(), key=lambda p: (p.is_dir(), p.name))
    for p in entries:
        if p.is_file() and p.suffix == ".jsonl" and p.resolve() not in seen and not p.name.endswith(".tmp"):
            classify_file(p, root, found, seen, explicit=False)
    for p in entries:
        if p.is_dir() and p.name not in SKIP_DIRS and not p.name.startswith("."):
            _walk(p, root, found, seen, depth + 1)


def discover(paths: list[str | Path], web: str | Path | None = None) -> Found:
    """Every dataset under ``paths`` (files or folders); ``UserError`` for a path that holds nothing we show."""
    if not paths:
        raise UserError("give at least one path: a run folder (runs/demo), a QA/trajectory/SFT file or an eval folder")
    found = Found()
    seen: set[Path] = set()
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise UserError(f"{p}: no such file or directory")
        before = len(found.sources)
        if p.is_dir():
            _walk(p, p, found, seen, 0)
        elif p.resolve() not in seen:
            classify_file(p, p.parent, found, seen, explicit=True)
        if len(found.sources) == before and not (p.is_file() and p.resolve() in seen):
            why = "; skipped: " + "; ".join(found.skipped[-5:]) if found.skipped else ""
            raise UserError(
                f"{p}: no pipeline output found (QA samples, rejections, trajectories, SFT messages, eval runs){why}"
            )
    if web is not None:
        w = Path(web)
        if not is_web_dir(w):
            raise UserError(f"{w}: not a local web directory (no graph.sqlite; build one with `openseeker web build`)")
        found.web = w
    _unique_names(found.sources)
    return found


def _unique_names(sources: list[Source]) -> None:
    seen: dict[str, int] = {}
    for s in sources:
        n = seen.get(s.name, 0)
        seen[s.name] = n + 1
        if n:
            s.name = f"{s.name} ({n + 1})"


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "data"
