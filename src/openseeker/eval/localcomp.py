"""LocalComp: freeze a verified QA file + the web it was made from into an offline benchmark others can rerun.

``freeze`` writes a directory::

    benchmark.json      name, counts, the QA file's sha256, the web's path and content hash (+ web.json fingerprint),
                        the protocol (agent prompt / judge prompt / eval versions, tool formats), the split
    questions.jsonl     EvalItem records (question, answers, evidence/gold/subgraph urls in metadata)
    qrel_evidence.txt   TREC qrels: the pages of each question's reasoning chain (the pages its edges are
                        cited from and the chain entities' own pages)
    qrel_golds.txt      TREC qrels: the answer's page
    qrel_subgraph.txt   TREC qrels: every page of the question's sampled subgraph (broader than the chain)
    heldout_ids.txt / rest_ids.txt   with ``holdout``: which QA ids the benchmark holds and which stay for training
    web/                with ``copy_web``: a copy of the web directory (graph, index, dense index if any)

``eval run --benchmark localcomp --path DIR`` loads the questions, opens the frozen web (the copy, or the recorded
path after checking its content hash: a changed web is refused), runs and judges as usual, and adds evidence and
gold recall of the pages the agent's searches returned (``qrels_report``).
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from openseeker.agent import prompts
from openseeker.errors import InputError, UserError
from openseeker.eval.qrels import load_qrels, recall, retrieved_ids, write_qrels
from openseeker.eval.run import EVAL_VERSION
from openseeker.io import iter_jsonl
from openseeker.llm import judge as judge_mod
from openseeker.records import EvalItem, QASample, Trajectory
from openseeker.web.local import LocalWeb
from openseeker.web.store import WebGraph

FORMAT = "localcomp/v1"
META = "benchmark.json"
QUESTIONS = "questions.jsonl"
EVIDENCE, GOLD, SUBGRAPH = "qrel_evidence.txt", "qrel_golds.txt", "qrel_subgraph.txt"
WEB_COPY = "web"


def web_content_hash(web_dir: str | Path) -> str:
    """sha256 over every page's (url, title, text) in id order: the identity of what the agent can read."""

    h = hashlib.sha256()
    with WebGraph(Path(web_dir) / "graph.sqlite", readonly=True) as g:
        for _id, url, title, text in g.iter_rows("id, url, title, text"):
            for part in (url, title, text):
                b = part.encode("utf-8", "replace")
                h.update(len(b).to_bytes(8, "little"))
                h.update(b)
    return h.hexdigest()


def _qrel_id(url: str) -> str:
    """A url as a qrels id (TREC ids cannot hold whitespace)."""
    return quote(url, safe=":/?&=#%_-.~()!*',;@$+[]") if any(c.isspace() for c in url) else url


def chain_pages(qa: QASample) -> list[str]:
    """Pages of the reasoning chain: each chain edge's citing page and the chain entities' own pages."""
    eg = qa.entity_graph or {}
    nodes = {n.get("id"): n for n in eg.get("nodes", []) if isinstance(n, dict)}
    by_name = {str(n.get("name", "")).casefold(): n for n in nodes.values()}

    def node(ref: Any) -> dict | None:
        return nodes.get(ref) or by_name.get(str(ref).casefold())

    pages: dict[str, None] = {}
    edges = [e for e in eg.get("edges", []) if isinstance(e, dict)]
    for link in qa.chain or []:
        if not (isinstance(link, (list, tuple)) and len(link) == 2):
            continue
        a, b = node(link[0]), node(link[1])
        for n in (a, b):
            if n and n.get("page_url"):
                pages.setdefault(n["page_url"], None)
        if a and b:
            for e in edges:
                if {e.get("src"), e.get("dst")} == {a.get("id"), b.get("id")} and e.get("url"):
                    pages.setdefault(e["url"], None)
                    break
    return list(pages)


def answer_page(qa: QASample) -> str | None:
    eg = qa.entity_graph or {}
    for n in eg.get("nodes", []):
        if isinstance(n, dict) and (n.get("id") == eg.get("answer") or n.get("is_answer")):
            return n.get("page_url") or (n.get("pages") or [None])[0]
    return None


def _read_qa(path: Path, allow_unverified: bool) -> list[QASample]:

    if not path.is_file():
        raise UserError(f"{path}: no such QA file")
    out = []
    for line, obj in iter_jsonl(path):
        if obj.get("kind", "qa") != "qa":
            continue
        try:
            qa = QASample.model_validate(obj)
        except ValueError as exc:
            raise InputError(f"not a QASample: {str(exc).splitlines()[0]}", path=str(path), line=line) from None
        if not qa.verification and not allow_unverified:
            raise InputError(
                f"QA {qa.id} has no verification record; freeze verified QA (from `openseeker synth "
                "qa`) or pass --allow-unverified",
                path=str(path),
                line=line,
            )
        out.append(qa)
    if not out:
        raise UserError(f"{path}: no QA records")
    return out


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _protocol() -> dict[str, Any]:

    out = {
        "judge_prompt": judge_mod.PROMPT_VERSION,
        "eval": EVAL_VERSION,
        "tools": "search(queries) -> format_search blocks; visit(url, goal)",
    }

    out["agent_prompt"] = prompts.PROMPT_VERSION
    return out


def freeze(
    qa_path: str | Path,
    web_dir: str | Path,
    out: str | Path,
    *,
    name: str | None = None,
    holdout: int | None = None,
    seed: int = 0,
    copy_web: bool = False,
    allow_unverified: bool = False,
) -> dict[str, Any]:
    """Freeze ``qa_path`` (QASample JSONL) over ``web_dir`` into benchmark directory ``out``; returns its meta.

    ``holdout``: keep only that many questions drawn with ``seed`` (the rest's ids go to ``rest_ids.txt``: train
    on those, evaluate on the frozen ones). Pages referenced by the QA that the web lacks are an error (the web is
    not the one the QA came from).
    """
    qa_path, web_dir, out = Path(qa_path), Path(web_dir), Path(out)

    samples = _read_qa(qa_path, allow_unverified)
    rest: list[str] = []
    if holdout is not None:
        if not 0 < holdout <= len(samples):
            raise UserError(f"--holdout must be between 1 and {len(samples)}, got {holdout}")
        picked = set(random.Random(seed).sample(range(len(samples)), holdout))
        rest = [s.id for i, s in enumerate(samples) if i not in picked]
        samples = [s for i, s in enumerate(samples) if i in picked]
    if out.exists() and any(out.iterdir()):
        if not (out / META).exists():
            raise UserError(f"{out}: exists, is not empty and is not a LocalComp benchmark; choose another --out")
        shutil.rmtree(out)  # re-freezing replaces a previous freeze entirely (no mix of two versions)
    out.mkdir(parents=True, exist_ok=True)
    items, evidence, gold, subgraph = [], {}, {}, {}
    with LocalWeb.open(web_dir) as web:
        for qa in samples:
            ev = chain_pages(qa) or [qa.seed_url]
            ans = answer_page(qa)
            sub = [u for u in (qa.subgraph or {}).get("urls", []) if isinstance(u, str)]
            missing = [u for u in dict.fromkeys(ev + sub + ([ans] if ans else [])) if web.graph.get(u) is None]
            if missing:
                raise UserError(
                    f"QA {qa.id}: {len(missing)} page(s) it cites are not in {web_dir} (e.g. "
                    f"{missing[0]}); freeze it with the web it was synthesized from"
                )
            evidence[qa.id] = [_qrel_id(u) for u in ev]
            gold[qa.id] = [_qrel_id(ans)] if ans else []
            subgraph[qa.id] = [_qrel_id(u) for u in sub]
            items.append(
                EvalItem(
                    id=qa.id,
                    question=qa.question,
                    answers=[qa.answer],
                    language=qa.language,
                    benchmark="localcomp",
                    metadata={
                        "category": qa.difficulty or "localcomp",
                        "evidence_urls": ev,
                        "gold_urls": [ans] if ans else [],
                        "subgraph_urls": sub,
                    },
                )
            )
        info = dict(web.info)
    write_qrels(out / EVIDENCE, evidence)
    write_qrels(out / GOLD, {k: v for k, v in gold.items() if v})
    write_qrels(out / SUBGRAPH, {k: v for k, v in subgraph.items() if v})
    (out / QUESTIONS).write_text("".join(it.to_json() + "\n" for it in items), encoding="utf-8")
    if holdout is not None:
        (out / "heldout_ids.txt").write_text("".join(f"{it.id}\n" for it in items), encoding="utf-8")
        (out / "rest_ids.txt").write_text("".join(f"{i}\n" for i in rest), encoding="utf-8")
    if copy_web:
        shutil.copytree(web_dir, out / WEB_COPY, ignore=shutil.ignore_patterns("*.tmp", "*-wal", "*-shm"))
    meta = {
        "kind": "localcomp",
        "format": FORMAT,
        "name": name or out.name,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "questions": len(items),
        "with_gold_page": sum(1 for v in gold.values() if v),
        "qa": {"path": str(qa_path.resolve()), "sha256": _sha256_file(qa_path)},
        "web": {
            "path": str(web_dir.resolve()),
            "copied": copy_web,
            "content_sha256": web_content_hash(web_dir),
            "fingerprint": info.get("fingerprint"),
            "source": info.get("source"),
            "pages": (info.get("degree_stats") or {}).get("pages"),
            "retrieval": info.get("retrieval", "bm25"),
        },
        "protocol": _protocol(),
        "split": {"holdout": holdout, "seed": seed, "rest": len(rest)} if holdout is not None else None,
        "qrels": {"evidence": EVIDENCE, "gold": GOLD, "subgraph": SUBGRAPH},
    }
    (out / META).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return meta


# --------------------------------------------------------------------------- using a frozen benchmark


def _bench_dir(path: str | Path) -> Path:
    p = Path(path)
    d = p.parent if p.is_file() else p
    if not (d / META).is_file():
        raise UserError(f"{p}: not a LocalComp benchmark (no {META}); make one with `openseeker eval freeze`")
    return d


def read_meta(path: str | Path) -> dict[str, Any]:
    d = _bench_dir(path)
    meta = json.loads((d / META).read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT:
        raise UserError(f"{d / META}: format {meta.get('format')!r} is not {FORMAT!r}")
    return meta


def load_localcomp(path: Path) -> Iterator[EvalItem]:
    """The questions of a frozen benchmark (directory or its questions.jsonl)."""

    d = _bench_dir(path)
    for line, obj in iter_jsonl(d / QUESTIONS):
        try:
            yield EvalItem.model_validate(obj)
        except ValueError as exc:
            raise InputError(
                f"not an EvalItem: {str(exc).splitlines()[0]}", path=str(d / QUESTIONS), line=line
            ) from None


def frozen_web(path: str | Path, *, verify: bool = True) -> Path:
    """The web directory of a frozen benchmark (its copy, else the recorded path, content hash checked)."""
    d = _bench_dir(path)
    meta = read_meta(d)
    web = d / WEB_COPY if (d / WEB_COPY).is_dir() else Path(meta["web"]["path"])
    if not (web / "graph.sqlite").exists():
        raise UserError(f"{d}: its web {web} is missing; pass --web to a copy of it (the content hash is checked)")
    if verify:
        check_web(d, web)
    return web


def check_web(bench: str | Path, web: str | Path) -> None:
    meta = read_meta(bench)
    got = web_content_hash(web)
    if got != meta["web"]["content_sha256"]:
        raise UserError(
            f"{web}: its pages differ from the web {bench} was frozen with (content sha256 "
            f"{got[:12]}... != {meta['web']['content_sha256'][:12]}...); results would not be comparable"
        )


def qrels_report(
    out_dir: str | Path,
    evidence: dict[str, list[str]],
    gold: dict[str, list[str]],
    to_id: Any = None,
    extra: dict[str, dict[str, list[str]]] | None = None,
) -> dict[str, Any]:
    """Evidence / gold recall of the documents each (question, run) of an eval output directory retrieved by
    search, and of the documents it visited; written into ``report.json`` under ``"retrieval"``."""

    out = Path(out_dir)
    tpath = out / "trajectories.jsonl"
    if not tpath.exists():
        raise UserError(f"{out}: no trajectories.jsonl (run `openseeker eval run` first)")
    searched, visited = {}, {}
    search_calls = 0
    for _line, obj in iter_jsonl(tpath):
        traj = Trajectory.model_validate(obj)
        key = traj.id
        ids = retrieved_ids(traj, to_id)
        searched[key], visited[key] = ids["retrieved"], ids["visited"]
        search_calls += sum(c.name == "search" for st in traj.steps for c in st.tool_calls)

    def per_key(qrels: dict[str, list[str]]) -> dict[str, list[str]]:
        return {k: qrels.get(k.split("#", 1)[0], []) for k in searched}

    report: dict[str, Any] = {"runs": len(searched)}
    for name, qrels in (("evidence", evidence), ("gold", gold), *((extra or {}).items())):
        q = per_key(qrels)
        s, v = recall(searched, q), recall({k: list(dict.fromkeys(searched[k] + visited[k])) for k in searched}, q)
        report[f"{name}_recall"] = s["recall"]
        report[f"{name}_recall_with_visits"] = v["recall"]
        report[f"{name}_queries"] = s["queries"]
    report["search_calls_per_query"] = search_calls / len(searched) if searched else None
    (out / "retrieval.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    rpath = out / "report.json"
    if rpath.exists():
        rep = json.loads(rpath.read_text(encoding="utf-8"))
        rep["retrieval"] = report
        rpath.write_text(json.dumps(rep, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return report


def localcomp_qrels(path: str | Path) -> tuple[dict[str, list[str]], dict[str, list[str]], dict[str, list[str]]]:
    d = _bench_dir(path)
    gold = load_qrels(d / GOLD) if (d / GOLD).stat().st_size else {}
    sub = load_qrels(d / SUBGRAPH) if (d / SUBGRAPH).stat().st_size else {}
    return load_qrels(d / EVIDENCE), gold, sub
