"""Relevance judgements (qrels) and the retrieval metrics computed from an agent's run against them.

Shared by BrowseComp-Plus (``eval.bcp``: qrels of docids) and LocalComp (``eval.localcomp``: qrels of page urls).

- ``load_qrels``: TREC qrels (``qid Q0 docid rel``, whitespace-separated; relevance > 0 counts), with the file
  and line of a malformed row in the error.
- ``retrieved_ids``: the documents a trajectory *retrieved*: every url shown in a ``search`` result (the
  BrowseComp-Plus definition of ``retrieved_docids``: the union of all documents ever returned by the retriever),
  plus, separately, the urls the agent visited. ``to_id`` maps a url to the id the qrels use (a docid).
- ``recall``: |retrieved ∩ relevant| / |relevant| per query, averaged over the queries that have relevant
  documents (BrowseComp-Plus ``evaluate_run.py``: queries without qrels do not count).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from openseeker.errors import InputError, UserError

# One search hit line of the agent's search tool block (web.format.format_search_block): "3. [title](url)".
_HIT_LINE = re.compile(r"^\d+\. \[.*\]\((\S+?)\)\s*$", re.MULTILINE)


def load_qrels(path: str | Path) -> dict[str, list[str]]:
    """``qid -> [docid, ...]`` (file order, relevance > 0) from a TREC qrels file."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: no such qrels file")
    out: dict[str, list[str]] = {}
    with p.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) != 4:
                raise InputError(
                    f"expected 4 fields 'qid Q0 docid relevance', got {len(parts)}", path=str(p), line=lineno
                )
            qid, _q0, docid, rel = parts
            try:
                relevant = float(rel) > 0
            except ValueError:
                raise InputError(f"relevance {rel!r} is not a number", path=str(p), line=lineno) from None
            ids = out.setdefault(qid, [])
            if relevant and docid not in ids:
                ids.append(docid)
    return out


def write_qrels(path: str | Path, qrels: Mapping[str, Iterable[str]]) -> None:
    """Write ``qid -> ids`` as TREC qrels (relevance 1). Ids must not contain whitespace."""
    lines = []
    for qid, ids in qrels.items():
        for d in ids:
            if not d or any(c.isspace() for c in d) or any(c.isspace() for c in qid):
                raise UserError(f"qrels ids cannot contain whitespace: {qid!r} {d!r}")
            lines.append(f"{qid} Q0 {d} 1")
    Path(path).write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")


def searched_urls(traj: Any) -> list[str]:
    """Urls shown in the trajectory's ``search`` results, in first-seen order."""
    seen: dict[str, None] = {}
    for step in getattr(traj, "steps", []) or []:
        names = [c.name for c in step.tool_calls]
        for name, obs in zip(names, step.observations):
            if name == "search" and isinstance(obs, str):
                for url in _HIT_LINE.findall(obs):
                    seen.setdefault(url, None)
    return list(seen)


def visited_urls(traj: Any) -> list[str]:
    """Urls the agent asked the ``visit`` tool for, in first-seen order."""
    seen: dict[str, None] = {}
    for step in getattr(traj, "steps", []) or []:
        for call in step.tool_calls:
            if call.name != "visit":
                continue
            url = call.arguments.get("url")
            for u in url if isinstance(url, list) else [url]:
                if isinstance(u, str) and u.strip():
                    seen.setdefault(u.strip(), None)
    return list(seen)


def retrieved_ids(traj: Any, to_id: Callable[[str], str | None] | None = None) -> dict[str, list[str]]:
    """``{"retrieved": ids shown by search, "visited": ids visited}``, urls mapped through ``to_id``
    (urls it maps to ``None`` are kept as urls)."""

    def mapped(urls: list[str]) -> list[str]:
        out: dict[str, None] = {}
        for u in urls:
            out.setdefault((to_id(u) if to_id else None) or u, None)
        return list(out)

    return {"retrieved": mapped(searched_urls(traj)), "visited": mapped(visited_urls(traj))}


def query_recall(retrieved: Iterable[str], relevant: Iterable[str]) -> float | None:
    rel = set(relevant)
    if not rel:
        return None
    return len(set(retrieved) & rel) / len(rel)


def recall(runs: Mapping[str, Iterable[str]], qrels: Mapping[str, Iterable[str]]) -> dict[str, Any]:
    """Mean per-query recall over the run's queries that have qrels; ``None`` when no query has any."""
    per_query = {}
    for qid, ids in runs.items():
        r = query_recall(ids, qrels.get(str(qid), ()))
        if r is not None:
            per_query[str(qid)] = r
    mean = sum(per_query.values()) / len(per_query) if per_query else None
    return {"recall": mean, "queries": len(per_query), "per_query": per_query}
