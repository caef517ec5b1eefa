"""What the viewer's page asks for, computed from the files on disk: one ``Catalog`` of datasets, each answering
``rows`` (a filtered, searched page of list rows), ``item`` (one record, shaped for display) and ``summary``.

The same calls serve the live page (``server.py``, paged server-side) and the static export (``export.py``,
which writes their results as chunked files the page loads from disk). Rows are small (ids, a question prefix,
facets); items are read from disk by line offset only when opened, so a 10k-sample QA file or 1k long
trajectories never travel whole to the browser.

Dataset kinds and their list facets:

* ``qa``: language, difficulty, hops (chain length), selector; search over question, answer, id.
* ``rejected``: stage, reason; the summary is the yield funnel (from the ``.report.json`` when present).
* ``traj``: rows are built per page from the records (trajectory lines can be megabytes); search over the
  ids and questions read from each line's first bytes (``LineIndex`` heads).
* ``sft``: SFT ``messages.jsonl`` examples (the H^train the student trains on), lazy like ``traj``.
* ``eval``: one row per (question, run) of ``results.jsonl``; facets correct, language, category, stop
  reason; the summary is the report (accuracy + 95% CI by language / category) plus histograms.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from openseeker.errors import InputError, UserError
from openseeker.eval.report import summarize, wilson
from openseeker.sandbox.tool import parse_shell_results
from openseeker.synth.qa.report import STAGES
from openseeker.view.index import LineIndex
from openseeker.view.sources import Found, Source, discover, slug
from openseeker.web.store import WebGraph

log = logging.getLogger(__name__)

MAX_LIMIT = 500
ROW_TEXT = 240  # characters of question text in a list row
PAGE_TEXT = 20_000  # characters of a cited page shown beside a QA sample

FACETS = {
    "qa": ("language", "difficulty", "hops", "selector"),
    "rejected": ("stage", "reason"),
    "eval": ("correct", "language", "category", "stop_reason"),
    "traj": (),
    "sft": (),
}
LAZY = {"traj", "sft"}


def _cut(text: Any, n: int = ROW_TEXT) -> str:
    s = str(text or "")
    return s if len(s) <= n else s[: n - 1] + "…"


def _num(x: Any) -> int:
    try:
        return int(x or 0)
    except (TypeError, ValueError):
        return 0


# --------------------------------------------------------------------------- row builders


def qa_row(i: int, r: dict[str, Any]) -> dict[str, Any]:
    controls = r.get("controls") or {}
    sub = r.get("subgraph") or {}
    return {
        "i": i,
        "id": str(r.get("id", "")),
        "question": _cut(r.get("question")),
        "answer": _cut(r.get("answer"), 80),
        "language": str(r.get("language") or "-"),
        "difficulty": str(r.get("difficulty") or "-"),
        "hops": str(len(r.get("chain") or [])),
        "selector": str(controls.get("selector") or sub.get("selector") or "-"),
    }


def rejected_row(i: int, r: dict[str, Any]) -> dict[str, Any]:
    d = r.get("detail") or {}
    return {
        "i": i,
        "id": str(r.get("id", "")),
        "stage": str(r.get("stage") or "?"),
        "reason": str(r.get("reason") or "?"),
        "seed": _cut(d.get("seed_title") or d.get("seed_url"), 80),
        "question": _cut(d.get("question") or d.get("q_init") or ""),
    }


def traj_row(i: int, r: dict[str, Any]) -> dict[str, Any]:
    meta = r.get("metadata") or {}
    steps = r.get("steps") or []
    return {
        "i": i,
        "id": str(r.get("id", "")),
        "question": _cut(r.get("question")),
        "steps": len(steps),
        "tool_calls": _num(r.get("num_tool_calls")),
        "final_answer": _cut(r.get("final_answer"), 80),
        "stop_reason": str(r.get("stop_reason") or "-"),
        "correct": _correct(meta.get("correct")),
        "teacher": str(meta.get("teacher") or "-"),
    }


def sft_row(i: int, r: dict[str, Any]) -> dict[str, Any]:
    msgs = r.get("messages") or []
    user = next((m.get("content") for m in msgs if m.get("role") == "user"), "")
    meta = r.get("metadata") or {}
    return {
        "i": i,
        "id": str(r.get("id", "")),
        "question": _cut(user),
        "messages": len(msgs),
        "tool_calls": sum(len(m.get("tool_calls") or []) for m in msgs if m.get("role") == "assistant"),
        "correct": _correct(meta.get("correct")),
        "teacher": str(meta.get("teacher") or "-"),
    }


def eval_row(i: int, r: dict[str, Any]) -> dict[str, Any]:
    return {
        "i": i,
        "id": str(r.get("id", "")),
        "key": str(r.get("key") or f"{r.get('id')}#{r.get('run', 0)}"),
        "run": _num(r.get("run")),
        "question": _cut(r.get("question")),
        "gold": _cut(" | ".join(map(str, r.get("gold") or [])), 80),
        "answer": _cut(r.get("answer"), 80),
        "correct": _correct(r.get("correct")),
        "language": str(r.get("language") or "-"),
        "category": str(r.get("category") or "-"),
        "stop_reason": str(r.get("stop_reason") or "-"),
        "tool_calls": _num(r.get("num_tool_calls")),
        "tokens": _num((r.get("tokens") or {}).get("total")),
    }


def _correct(v: Any) -> str:
    return "yes" if v is True else ("no" if v is False else "ungraded")


ROWS = {"qa": qa_row, "rejected": rejected_row, "traj": traj_row, "sft": sft_row, "eval": eval_row}


def matches(row: dict[str, Any], filters: dict[str, str], q: str) -> bool:
    """The list filter (the static page's JavaScript applies the same rule): every facet equal, ``q`` a
    case-insensitive substring of the row's id, question, answer, gold or reason."""
    for k, v in filters.items():
        if v and str(row.get(k)) != v:
            return False
    if q:
        hay = " ".join(str(row.get(k, "")) for k in ("id", "key", "question", "answer", "gold", "reason", "seed"))
        return q.casefold() in hay.casefold()
    return True


# --------------------------------------------------------------------------- datasets


class Dataset:
    """One file (or eval folder) of the catalog, indexed by line offsets; rows cached for non-lazy kinds."""

    def __init__(self, source: Source, ds_id: str, catalog: Catalog):
        self.source, self.id, self.kind, self.catalog = source, ds_id, source.kind, catalog
        self.index = LineIndex(source.path, keep_heads=source.kind in LAZY)
        self._rows: list[dict[str, Any]] | None = None
        self._lazy_rows: dict[int, dict[str, Any]] = {}
        self._ids: dict[str, int] | None = None
        self.bad_lines: list[str] = []
        self._lock = threading.Lock()

    # -- rows
    def all_rows(self) -> list[dict[str, Any]]:
        with self._lock:
            if self._rows is None:
                build = ROWS[self.kind]
                rows = []
                for i, obj, err in self.index.iter_records():
                    if obj is None:
                        self.bad_lines.append(err)
                        rows.append(
                            {
                                "i": i,
                                "id": f"(line {self.index.linenos[i]})",
                                "question": "malformed line: " + _cut(err, 160),
                                "bad": True,
                            }
                        )
                    else:
                        rows.append(build(i, obj))
                self._rows = rows
            return self._rows

    def lazy_row(self, i: int) -> dict[str, Any]:
        if i not in self._lazy_rows:
            try:
                self._lazy_rows[i] = ROWS[self.kind](i, self.index.read(i))
            except InputError as exc:
                self._lazy_rows[i] = {
                    "i": i,
                    "id": f"(line {self.index.linenos[i]})",
                    "bad": True,
                    "question": "malformed line: " + _cut(str(exc), 160),
                }
        return self._lazy_rows[i]

    def rows(
        self, *, offset: int = 0, limit: int = 50, q: str = "", filters: dict[str, str] | None = None
    ) -> dict[str, Any]:
        limit = max(1, min(int(limit), MAX_LIMIT))
        offset = max(0, int(offset))
        filters = {k: v for k, v in (filters or {}).items() if k in FACETS[self.kind] and v}
        if self.kind in LAZY or (self._rows is None and not q and not filters and self.kind == "qa"):
            # lazy kinds always; a QA file still being indexed in the background: its first pages come straight
            # from the records by line offset, so the list shows before the whole file has been parsed
            if q:
                qf = q.casefold()
                hits = [i for i in range(len(self.index)) if qf in " ".join(self.index.head(i).values()).casefold()]
            else:
                hits = range(len(self.index))
            page = [self.lazy_row(i) for i in hits[offset : offset + limit]]
            return {"total": len(hits), "offset": offset, "rows": page}
        rows = [r for r in self.all_rows() if matches(r, filters, q)] if (q or filters) else self.all_rows()
        return {"total": len(rows), "offset": offset, "rows": rows[offset : offset + limit]}

    @property
    def indexing(self) -> bool:
        """True while the rows of a QA file are still being built in the background (facets not known yet)."""
        return self.kind == "qa" and self._rows is None and self.catalog.background

    def facets(self) -> dict[str, dict[str, int]]:
        if self.kind in LAZY or self.indexing:
            return {}
        rows = self.all_rows()
        return {
            f: dict(Counter(str(r.get(f)) for r in rows if not r.get("bad")).most_common()) for f in FACETS[self.kind]
        }

    def find(self, record_id: str) -> int | None:
        """Index of the record with ``id`` (or eval ``key``)."""
        if self._ids is None:
            ids: dict[str, int] = {}
            if self.kind in LAZY:
                for i in range(len(self.index)):
                    h = self.index.head(i)
                    ids.setdefault(h.get("id") or h.get("key") or "", i)
            else:
                for r in self.all_rows():
                    ids.setdefault(r.get("key") or r["id"], r["i"])
                    ids.setdefault(r["id"], r["i"])
            self._ids = ids
        return self._ids.get(record_id)

    # -- items
    def item(self, i: int, rec: dict[str, Any] | None = None) -> dict[str, Any]:
        """Record ``i`` shaped for display (``rec``: the record, when the caller has already parsed it)."""
        if not 0 <= i < len(self.index):
            raise LookupError(f"{self.source.name} has {len(self.index)} records; no record #{i}")
        rec = self.index.read(i) if rec is None else rec
        shape = getattr(self, f"_item_{self.kind}")
        return {"i": i, "line": self.index.linenos[i], "total": len(self.index), **shape(rec)}

    def _item_qa(self, r: dict[str, Any]) -> dict[str, Any]:
        urls = list((r.get("subgraph") or {}).get("urls") or [])
        for n in (r.get("entity_graph") or {}).get("nodes") or []:
            urls += [f.get("url") for f in n.get("facts") or [] if f.get("url")]
        return {"record": r, "pages": self.catalog.pages(list(dict.fromkeys(urls)))}

    def _item_rejected(self, r: dict[str, Any]) -> dict[str, Any]:
        return {"record": r}

    def _item_traj(self, r: dict[str, Any]) -> dict[str, Any]:
        return {"record": shape_trajectory(r)}

    def _item_sft(self, r: dict[str, Any]) -> dict[str, Any]:
        return {"record": r}

    def _item_eval(self, r: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"record": r, "trajectory": None, "traj_ds": None, "traj_i": None}
        tds = self.catalog.traj_of(self)
        key = str(r.get("key") or "")
        if tds is not None and key:
            j = tds.find(key)
            if j is not None:
                out.update(trajectory=shape_trajectory(tds.index.read(j)), traj_ds=tds.id, traj_i=j)
        return out

    # -- summaries
    def summary(self) -> dict[str, Any]:
        base = {
            "id": self.id,
            "kind": self.kind,
            "name": self.source.name,
            "path": str(self.source.path),
            "count": len(self.index),
            "facets": self.facets(),
            "bad_lines": self.bad_lines[:20],
            "indexing": self.indexing,
        }
        if self.kind == "rejected":
            base["yield"] = self._yield()
        if self.kind == "qa":
            base["yield"] = self._yield() if self.source.report else None
            rej = self.catalog.by_path(self.source.rejected) if self.source.rejected else None
            base["rejected_ds"] = rej.id if rej else None
        if self.kind == "eval":
            base.update(self._eval_summary())
        if self.kind == "traj":
            base["summary_file"] = _read_json(Path(str(self.source.path) + ".summary.json"))
        return base

    def _yield(self) -> dict[str, Any]:

        report = _read_json(self.source.report) if self.source.report else None
        reasons: Counter = Counter()
        if self.kind == "rejected":
            for r in self.all_rows():
                if not r.get("bad"):
                    reasons[(r["stage"], r["reason"])] += 1
        else:
            rej = self.catalog.by_path(self.source.rejected) if self.source.rejected else None
            if rej is not None:
                return rej._yield()
        if report and report.get("stages"):
            funnel = [{"stage": s["stage"], "in": s["in"], "out": s["out"]} for s in report["stages"]]
            accepted, candidates = report.get("accepted"), report.get("candidates")
        else:
            qa = self.catalog.by_path(self.source.qa) if self.source.qa else None
            if qa is not None:
                accepted = len(qa.index)
            elif self.source.qa is not None:  # not shown (an empty file when nothing was accepted): count it
                accepted = len(LineIndex(self.source.qa, keep_heads=False))
            else:
                accepted = None
            candidates = (accepted or 0) + sum(reasons.values())
            remaining, funnel = candidates, []
            qa_stages = any(s in STAGES for s, _ in reasons) or qa is not None
            order = (list(STAGES) if qa_stages else []) + sorted({s for s, _ in reasons} - set(STAGES))
            for s in order:
                dropped = sum(n for (st, _), n in reasons.items() if st == s)
                if dropped or (qa_stages and s in STAGES):
                    funnel.append({"stage": s, "in": remaining, "out": remaining - dropped})
                    remaining -= dropped
        return {
            "candidates": candidates,
            "accepted": accepted,
            "funnel": funnel,
            "reasons": [{"stage": s, "reason": r, "count": n} for (s, r), n in reasons.most_common()],
            "notes": (report or {}).get("notes") or [],
            "llm": (report or {}).get("llm"),
            "report": str(self.source.report) if self.source.report else None,
        }

    def _eval_summary(self) -> dict[str, Any]:

        rows = [r for r in self.all_rows() if not r.get("bad")]
        d = self.source.path.parent
        config = _read_json(d / "config.json") or {}
        records = [
            {
                "id": r["id"],
                "run": r["run"],
                "correct": {"yes": True, "no": False}.get(r["correct"]),
                "language": r["language"],
                "category": r["category"],
                "stop_reason": r["stop_reason"],
                "num_tool_calls": r["tool_calls"],
                "tokens": {"total": r["tokens"]},
            }
            for r in rows
        ]
        report = summarize(records, config) if records else {}
        by_bench: dict[str, list[bool]] = defaultdict(list)
        bench = report.get("benchmark") or "-"
        for r in rows:
            by_bench[bench].append(r["correct"] == "yes")
        per_bench = {}
        for b, v in by_bench.items():
            lo, hi = wilson(sum(v), len(v))
            per_bench[b] = {
                "n": len(v),
                "correct": sum(v),
                "accuracy": round(sum(v) / len(v), 4) if v else 0.0,
                "ci95": [round(lo, 4), round(hi, 4)],
            }
        return {
            "report": {
                k: report.get(k)
                for k in (
                    "benchmark",
                    "n_questions",
                    "runs",
                    "n_records",
                    "accuracy",
                    "ci95",
                    "ci_method",
                    "ungraded",
                    "exact_match",
                    "token_f1",
                    "by_category",
                    "by_language",
                    "stop_reasons",
                    "tool_calls",
                    "tokens",
                )
            },
            "by_benchmark": per_bench,
            "config": (report.get("config") or {}),
            "hist_tool_calls": histogram([r["tool_calls"] for r in rows]),
            "hist_tokens": histogram([r["tokens"] for r in rows]),
            "traj_ds": (self.catalog.traj_of(self).id if self.catalog.traj_of(self) else None),
        }


def histogram(values: list[int], *, bins: int = 12) -> list[dict[str, Any]]:
    """Counts per bin as ``[{lo, hi, n}]``: at most ``bins`` integer bins of equal width >= 1 (so tool-call
    counts get one bin per value when they fit)."""
    if not values:
        return []
    lo, hi = min(values), max(values)
    width = max(1, -(-(hi - lo + 1) // bins))
    edges = list(range(lo, hi + 1, width))
    counts = Counter((v - lo) // width for v in values)
    return [{"lo": e, "hi": e + width - 1, "n": counts.get(k, 0)} for k, e in enumerate(edges)]


_THINK = re.compile(r"<think>.*?</think>", re.DOTALL)
_TOOL_CALL = re.compile(r"<tool_call>.*?</tool_call>", re.DOTALL)


def code_view(call: dict[str, Any], observation: str) -> dict[str, Any]:
    """A ``code_exec`` call for reading: the command as written and its exit code, stdout and stderr unescaped
    from the ``<shell_results>`` the model read (``raw`` keeps an observation that is not one, e.g. an error)."""
    args = call.get("arguments") or {}
    cmd = args.get("cmd", args.get("command", "")) if isinstance(args, dict) else str(args)
    parsed = parse_shell_results(observation)
    if parsed is None:
        return {"cmd": str(cmd), "exit_code": None, "stdout": "", "stderr": "", "raw": observation}
    return {"cmd": str(cmd), "exit_code": parsed[0], "stdout": parsed[1], "stderr": parsed[2], "raw": None}


def shape_trajectory(r: dict[str, Any]) -> dict[str, Any]:
    """A trajectory for display: steps without their recorded contexts (which repeat the whole history at every
    step), each with its token counts and what its context held, plus the verdict from ``metadata``."""
    steps = []
    for s in r.get("steps") or []:
        usage = s.get("usage") or {}
        ctx = s.get("context") or []
        content = str(s.get("content") or "")
        visible = _TOOL_CALL.sub("", _THINK.sub("", content)).strip()
        calls, observations = s.get("tool_calls") or [], [str(o) for o in s.get("observations") or []]
        steps.append(
            {
                "index": s.get("index", len(steps)),
                "reasoning": s.get("reasoning") or "",
                "text": visible,
                "tool_calls": [
                    {"name": c.get("name"), "arguments": c.get("arguments")} for c in s.get("tool_calls") or []
                ],
                "observations": observations,
                "code": [code_view(c, o) for c, o in zip(calls, observations) if c.get("name") == "code_exec"],
                "summary": s.get("summary"),
                "prompt_tokens": _num(usage.get("prompt_tokens")),
                "completion_tokens": _num(usage.get("completion_tokens")),
                "context_messages": len(ctx),
                "context_chars": sum(len(str(m.get("content") or "")) for m in ctx),
                "llm_s": s.get("llm_s"),
                "tool_s": s.get("tool_s"),
            }
        )
    meta = dict(r.get("metadata") or {})
    msgs = r.get("messages") or []
    system = next((str(m.get("content") or "") for m in msgs if m.get("role") == "system"), "")
    return {
        "id": r.get("id"),
        "question": r.get("question"),
        "final_answer": r.get("final_answer"),
        "stop_reason": r.get("stop_reason"),
        "num_tool_calls": r.get("num_tool_calls"),
        "num_turns": r.get("num_turns"),
        "wall_s": r.get("wall_s"),
        "usage": r.get("usage") or {},
        "steps": steps,
        "system": system,
        "tools": [(t.get("function") or t).get("name") for t in r.get("tools") or []],
        "gold": meta.get("gold"),
        "correct": meta.get("correct"),
        "verdict": meta.pop("verdict", None),
        "metadata": meta,
        "has_summaries": any(s["summary"] for s in steps),
    }


def _read_json(path: Path | None) -> dict[str, Any] | None:
    if path is None or not Path(path).exists():
        return None
    try:
        obj = json.loads(Path(path).read_text(encoding="utf-8"))
        return obj if isinstance(obj, dict) else None
    except (ValueError, OSError) as exc:
        log.warning("%s: unreadable (%s)", path, exc)
        return None


# --------------------------------------------------------------------------- the catalog


class Catalog:
    """All datasets found under the viewer's paths, plus the local web (for cited page text) when there is one."""

    def __init__(self, found: Found):
        self.found = found
        self.datasets: dict[str, Dataset] = {}
        for s in found.sources:
            base = f"{s.kind}-{slug(s.name)}"[:60]
            ds_id, n = base, 2
            while ds_id in self.datasets:
                ds_id, n = f"{base}-{n}", n + 1
            self.datasets[ds_id] = Dataset(s, ds_id, self)
        self._paths = {ds.source.path.resolve(): ds for ds in self.datasets.values()}
        self._web = None
        self._web_lock = threading.Lock()
        self.background = False

    @classmethod
    def open(cls, paths: list[str | Path], web: str | Path | None = None) -> Catalog:

        return cls(discover(paths, web))

    def get(self, ds_id: str) -> Dataset:
        ds = self.datasets.get(ds_id)
        if ds is None:
            raise LookupError(f"no dataset {ds_id!r}")
        return ds

    def by_path(self, path: Path | None) -> Dataset | None:
        return self._paths.get(Path(path).resolve()) if path is not None else None

    def traj_of(self, ds: Dataset) -> Dataset | None:
        return self.by_path(ds.source.trajectories) if ds.source.trajectories else None

    def warm(self, *, background: bool = False) -> dict[str, int]:
        """Build every non-lazy row list (facets, filters, search, bad lines); returns the record counts.

        ``background=True`` builds them in a daemon thread and returns at once: the server answers meanwhile
        (QA list pages by line offset, summaries that need every row wait for it)."""
        todo = [ds for ds in self.datasets.values() if ds.kind not in LAZY]
        if background:
            self.background = True
            threading.Thread(
                target=lambda: [ds.all_rows() for ds in todo], name="openseeker-view-index", daemon=True
            ).start()
        else:
            for ds in todo:
                ds.all_rows()
        return {ds.source.name: len(ds.index) for ds in self.datasets.values()}

    def manifest(self) -> dict[str, Any]:
        return {
            "datasets": [
                {
                    "id": ds.id,
                    "kind": ds.kind,
                    "name": ds.source.name,
                    "count": len(ds.index),
                    "facets": list(FACETS[ds.kind]),
                }
                for ds in self.datasets.values()
            ],
            "skipped": self.found.skipped,
            "web": str(self.found.web) if self.found.web else None,
            "compare": [ds.id for ds in self.datasets.values() if ds.kind == "eval"],
        }

    def pages(self, urls: list[str]) -> dict[str, dict[str, str]]:
        """Title and text (cut) of each url from the local web, when the catalog has one."""
        if self.found.web is None or not urls:
            return {}

        with self._web_lock:
            if self._web is None:
                try:
                    self._web = WebGraph(self.found.web, readonly=True)
                except UserError as exc:
                    log.warning("%s", exc)
                    self.found.web = None
                    return {}
            out = {}
            for u in urls:
                p = self._web.get(u)
                if p is not None:
                    out[u] = {"title": p.title, "text": _cut(p.text, PAGE_TEXT)}
            return out

    def compare(self, a: str, b: str) -> dict[str, Any]:
        """Two eval runs side by side: accuracy of each and the questions whose verdict flipped."""
        da, db = self.get(a), self.get(b)
        if da.kind != "eval" or db.kind != "eval":
            raise UserError("compare takes two eval runs")
        ra = {r["key"]: r for r in da.all_rows() if not r.get("bad")}
        rb = {r["key"]: r for r in db.all_rows() if not r.get("bad")}
        both = [k for k in ra if k in rb]
        flips, same = [], Counter()
        for k in both:
            x, y = ra[k]["correct"], rb[k]["correct"]
            if x != y:
                flips.append(
                    {
                        "key": k,
                        "question": ra[k]["question"],
                        "gold": ra[k]["gold"],
                        "a": x,
                        "b": y,
                        "answer_a": ra[k]["answer"],
                        "answer_b": rb[k]["answer"],
                        "i_a": ra[k]["i"],
                        "i_b": rb[k]["i"],
                        "direction": f"{x}->{y}",
                    }
                )
            else:
                same[x] += 1

        def acc(rows: dict[str, dict]) -> dict[str, Any]:

            n, k = len(rows), sum(1 for r in rows.values() if r["correct"] == "yes")
            lo, hi = wilson(k, n)
            return {
                "n": n,
                "correct": k,
                "accuracy": round(k / n, 4) if n else 0.0,
                "ci95": [round(lo, 4), round(hi, 4)],
            }

        return {
            "a": {"id": a, "name": da.source.name, **acc(ra)},
            "b": {"id": b, "name": db.source.name, **acc(rb)},
            "shared": len(both),
            "only_a": len(ra) - len(both),
            "only_b": len(rb) - len(both),
            "unchanged": dict(same),
            "flips": flips,
            "gained": sum(1 for f in flips if f["b"] == "yes"),
            "lost": sum(1 for f in flips if f["a"] == "yes"),
        }

    def close(self) -> None:
        if self._web is not None:
            self._web.close()
