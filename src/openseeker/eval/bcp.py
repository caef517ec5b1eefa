"""BrowseComp-Plus compatibility: their queries/qrels/answers, run-file format, metrics and judge protocol.

Read against texttron/BrowseComp-Plus (README "Evaluation"; ``scripts_evaluation/evaluate_run.py``;
``scripts_build_index/decrypt_dataset.py``) and checked by running their evaluation script beside ours
(docs/eval-offline.md, "BrowseComp-Plus"). Nothing here is their code; the rules are restated in our words:

- **Queries** ``queries.tsv`` (``query_id<TAB>query``), **qrels** TREC files: *evidence* documents are those
  needed to answer, *gold* documents those that also contain the final answer. **Answers** are only in their
  decrypted dataset JSONL (``query_id``, ``query``, ``answer``; their ``decrypt_dataset.py`` writes it), which
  the user supplies: we never ship or log it.
- **Run files**: one JSON per query, ``{query_id, tool_call_counts, status, retrieved_docids, result}``;
  ``status == "completed"`` is success, anything else a failure (not graded, counted wrong); ``retrieved_docids``
  is the union of every docid the retriever returned to the agent; the response is the ``output`` of the last
  ``result`` item when its ``type`` is ``output_text``; reasoning and tool calls are items of their own before it.
- **Metrics**: accuracy = judged correct / all queries of the run; evidence recall = mean over queries with
  evidence qrels of |retrieved ∩ evidence| / |evidence| (gold recall likewise with gold qrels, which their script
  does not report; we add it); average tool calls per query, per tool, over all queries; calibration error =
  their RMS calibration error over the judge's extracted confidences (bins of 100 queries sorted by confidence,
  the last bin extended to the end and — as in their script — left out of the sum), only with >= 100 graded
  answers (they print 0.0 below that; we report ``None``).
- **Judge protocol** ``browsecomp-plus``: Qwen3-32B, temperature 0.7, top-p 0.8, top-k 20, 4,096 output tokens,
  thinking disabled, their grader prompt. The prompt is not copied here: it is read from the user's checkout of
  their repository and must match :data:`BCP_GRADER_SHA256`, so a number labelled with this protocol was graded
  with exactly their prompt.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openseeker.errors import InputError, UserError
from openseeker.eval.loaders.base import data_root
from openseeker.eval.qrels import load_qrels, recall, retrieved_ids
from openseeker.io import iter_jsonl
from openseeker.records import EvalItem

if TYPE_CHECKING:
    from openseeker.llm.base import LLM

QRELS_DIR = "benchmarks/browsecomp-plus/topics-qrels"
EVIDENCE_QRELS = "qrel_evidence.txt"
GOLD_QRELS = "qrel_golds.txt"
MIN_CALIBRATION = 100


# --------------------------------------------------------------------------- judge protocol


@dataclass(frozen=True)
class JudgeProtocol:
    """Everything that defines how a BrowseComp-Plus number was graded (written into every summary)."""

    name: str = "browsecomp-plus"
    model: str = "Qwen/Qwen3-32B"
    temperature: float = 0.7
    top_p: float = 0.8
    top_k: int = 20
    max_tokens: int = 4096
    enable_thinking: bool = False
    prompt_sha256: str = ""
    source: str = "texttron/BrowseComp-Plus scripts_evaluation/evaluate_run.py (GRADER_TEMPLATE)"

    def role_config(self) -> dict[str, Any]:
        """The ``judge`` role settings (llm config YAML) that reproduce the protocol on an OpenAI-compatible
        server (vLLM/SGLang) serving ``model``."""
        return {
            "model": self.model,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "extra_body": {"top_k": self.top_k, "chat_template_kwargs": {"enable_thinking": self.enable_thinking}},
        }


# SHA-256 of their GRADER_TEMPLATE after .strip() (texttron/BrowseComp-Plus at 97c637ce).
BCP_GRADER_SHA256 = "71fb29f51a56cea9fe647331d525648474195fa4816f7d05632459d572419d90"
PROTOCOLS = {"browsecomp-plus": JudgeProtocol(prompt_sha256=BCP_GRADER_SHA256)}


def get_protocol(name: str) -> JudgeProtocol:
    if name not in PROTOCOLS:
        raise UserError(f"unknown judge protocol {name!r} (known: {', '.join(PROTOCOLS)})")
    return PROTOCOLS[name]


def load_grader_template(repo: str | Path, protocol: JudgeProtocol) -> str:
    """Their grader prompt, read (never executed) from a checkout of their repository, checked by hash."""
    path = Path(repo) / "scripts_evaluation" / "evaluate_run.py"
    if not path.is_file():
        raise UserError(f"{path}: not found; point --bcp-repo at a checkout of texttron/BrowseComp-Plus")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "GRADER_TEMPLATE" for t in node.targets):
            value = node.value
            if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):  # "...".strip()
                value = value.func.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                text = value.value.strip()
                digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
                if protocol.prompt_sha256 and digest != protocol.prompt_sha256:
                    raise UserError(
                        f"{path}: GRADER_TEMPLATE has sha256 {digest[:16]}..., not the pinned "
                        f"{protocol.prompt_sha256[:16]}... of protocol {protocol.name!r}"
                    )
                return text
    raise UserError(f"{path}: no GRADER_TEMPLATE string found")


_FIELD = {
    name: [
        re.compile(rf"\*\*{name}:\*\*\s*{pat}", re.IGNORECASE),
        re.compile(rf"\*\*{name}\*\*:\s*{pat}", re.IGNORECASE),
        re.compile(rf"{name}:\s*{pat}", re.IGNORECASE),
    ]
    for name, pat in (
        ("extracted_final_answer", r"(.*?)(?=\n|$)"),
        ("correct", r"(yes|no)"),
        ("confidence", r"(\d+(?:\.\d+)?)\s*%?"),
    )
}


def parse_grade(text: str) -> dict[str, Any]:
    """The judge output's fields under their rules: bold ``**field:**``, then ``**field**:``, then plain
    ``field:`` (first match each); confidence capped at 100; no yes/no = parse error."""
    out: dict[str, Any] = {"extracted_final_answer": None, "correct": None, "confidence": None, "parse_error": False}
    for name, patterns in _FIELD.items():
        for rx in patterns:
            m = rx.search(text or "")
            if m:
                v = m.group(1).strip()
                out[name] = (
                    (v.lower() == "yes")
                    if name == "correct"
                    else (min(float(v), 100.0) if name == "confidence" else v)
                )
                break
    out["parse_error"] = out["correct"] is None
    return out


# --------------------------------------------------------------------------- queries, qrels, answers


def qrels_dir(path: Path | None = None) -> Path:

    return path if path is not None else data_root() / QRELS_DIR


def load_queries_tsv(path: str | Path) -> dict[str, str]:
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: no such queries file")
    out: dict[str, str] = {}
    with p.open(encoding="utf-8", newline="") as fh:
        for lineno, row in enumerate(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE), 1):
            if not row or not "".join(row).strip():
                continue
            if len(row) < 2 or not row[0].strip():
                raise InputError("expected 'query_id<TAB>query'", path=str(p), line=lineno)
            out[row[0].strip()] = "\t".join(row[1:]).strip()
    return out


def _docids(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [
        str(d["docid"]) if isinstance(d, dict) else str(d)
        for d in value
        if (isinstance(d, dict) and "docid" in d) or isinstance(d, (str, int))
    ]


def load_browsecomp_plus(path: Path) -> Iterator[EvalItem]:
    """Their decrypted dataset JSONL (with answers) or their ``queries.tsv`` (no answers: run-only).

    Evidence/gold docids come from the record (``evidence_docs``/``gold_docs``) when it has them, else from the
    qrels files next to the queries or in the shared data; they go to ``metadata.evidence_docids`` /
    ``metadata.gold_docids``.
    """
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such file (BrowseComp-Plus decrypted dataset .jsonl or queries .tsv)")
    qdir = path.parent.parent if path.suffix == ".tsv" else path.parent
    candidates = [qdir, path.parent, qrels_dir()]
    ev_file = next((d / EVIDENCE_QRELS for d in candidates if (d / EVIDENCE_QRELS).is_file()), None)
    gold_file = next((d / GOLD_QRELS for d in candidates if (d / GOLD_QRELS).is_file()), None)
    evidence = load_qrels(ev_file) if ev_file else {}
    gold = load_qrels(gold_file) if gold_file else {}
    if path.suffix == ".tsv":
        rows: Iterable[tuple[int, dict[str, Any]]] = (
            (i, {"query_id": q, "query": text}) for i, (q, text) in enumerate(load_queries_tsv(path).items(), 1)
        )
    else:
        rows = iter_jsonl(path, required=("query_id", "query"))
    for lineno, obj in rows:
        qid = str(obj["query_id"])
        if not isinstance(obj["query"], str) or not obj["query"].strip():
            raise InputError("'query' must be a non-empty string", path=str(path), line=lineno)
        answer = obj.get("answer")
        if answer is not None and not isinstance(answer, str):
            raise InputError("'answer' must be a string", path=str(path), line=lineno)
        ev = _docids(obj.get("evidence_docs")) or evidence.get(qid, [])
        gd = _docids(obj.get("gold_docs")) or gold.get(qid, [])
        yield EvalItem(
            id=qid,
            question=obj["query"],
            answers=[answer] if answer else [],
            benchmark="browsecomp-plus",
            metadata={"evidence_docids": ev, "gold_docids": gd, "category": "browsecomp-plus"},
        )


def load_ground_truth(path: str | Path) -> dict[str, dict[str, str]]:
    """``query_id -> {question, answer}`` from their decrypted dataset JSONL."""
    out = {}
    for item in load_browsecomp_plus(Path(path)):
        if not item.answers:
            raise UserError(
                f"{path}: query {item.id} has no answer; give the decrypted dataset JSONL "
                "(their decrypt_dataset.py output)"
            )
        out[item.id] = {"question": item.question, "answer": item.answers[0]}
    return out


# --------------------------------------------------------------------------- run files


@dataclass
class RunRecord:
    """One query of a run in their run-file format (extra keys are ignored by their script, kept by ours)."""

    query_id: str
    status: str
    retrieved_docids: list[str]
    tool_call_counts: dict[str, int]
    result: list[dict[str, Any]]
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def response(self) -> str:
        if self.result and isinstance(self.result[-1], dict) and self.result[-1].get("type") == "output_text":
            return str(self.result[-1].get("output") or "")
        return ""


def _result_item(kind: str, output: Any, tool_name: str | None = None, arguments: str | None = None) -> dict:
    return {"type": kind, "tool_name": tool_name, "arguments": arguments, "output": output}


def result_items(traj: Any) -> list[dict[str, Any]]:
    """The ``result`` list of their run files, laid out as their search-agent clients write it: per step a
    ``reasoning`` item (the step's thinking), then one ``tool_call`` item per call (name, JSON arguments, the
    observation), and last an ``output_text`` item with the final answer only (their Tongyi client, which reads
    the same ``<think>``/``<tool_call>``/``<answer>`` format as ours, keeps the text inside ``<answer>``). Their
    judge grades the last item's ``output``, so reasoning never goes there."""
    items = []
    for step in traj.steps:
        if step.reasoning.strip():
            items.append(_result_item("reasoning", step.reasoning.strip()))
        for call, observation in zip(step.tool_calls, step.observations):
            arguments = json.dumps(call.arguments, ensure_ascii=False)
            items.append(_result_item("tool_call", observation, call.name, arguments))
    if traj.final_answer is not None and traj.final_answer.strip():
        items.append(_result_item("output_text", traj.final_answer.strip()))
    return items


def run_record_from_trajectory(traj: Any, query_id: str, to_docid: Any = None) -> RunRecord:
    """Our ``Trajectory`` as their run record: docids of every search hit, tool counts, the steps as their
    ``result`` items (:func:`result_items`)."""

    ids = retrieved_ids(traj, to_docid)
    counts = Counter(call.name for step in traj.steps for call in step.tool_calls)
    answered = traj.stop_reason == "answered" and traj.final_answer is not None
    return RunRecord(
        query_id=str(query_id),
        status="completed" if answered else traj.stop_reason,
        retrieved_docids=ids["retrieved"],
        tool_call_counts=dict(counts),
        result=result_items(traj),
        metadata={"visited_docids": ids["visited"], "trajectory_id": traj.id},
    )


def write_run_dir(out: str | Path, records: Iterable[RunRecord]) -> int:
    """One ``<query_id>.json`` per record (atomic writes); returns the count."""
    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    n = 0
    for rec in records:
        tmp = d / f"{rec.query_id}.json.tmp"
        tmp.write_text(json.dumps(asdict(rec), indent=2, ensure_ascii=False), encoding="utf-8")
        tmp.replace(d / f"{rec.query_id}.json")
        n += 1
    return n


def read_run_dir(path: str | Path) -> list[RunRecord]:
    """Every ``*.json`` run file of a directory, checked (file named in the error)."""
    d = Path(path)
    if not d.is_dir():
        raise UserError(f"{d}: not a directory of run files")
    out = []
    for f in sorted(d.glob("*.json")):
        if f.name == "evaluation_summary.json":  # a summary saved into the run directory is not a run file
            continue
        try:
            obj = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"not valid JSON ({exc})", path=str(f)) from None
        if not isinstance(obj, dict) or "query_id" not in obj or "status" not in obj:
            raise InputError("a run file needs at least 'query_id' and 'status'", path=str(f))
        result = obj.get("result") or []
        if not isinstance(result, list):
            raise InputError("'result' must be a list", path=str(f))
        out.append(
            RunRecord(
                query_id=str(obj["query_id"]),
                status=str(obj["status"]),
                retrieved_docids=[str(x) for x in obj.get("retrieved_docids") or []],
                tool_call_counts={str(k): int(v) for k, v in (obj.get("tool_call_counts") or {}).items()},
                result=result,
                metadata=obj.get("metadata") or {},
            )
        )
    if not out:
        raise UserError(f"{d}: no *.json run files")
    return out


# --------------------------------------------------------------------------- metrics


def calibration_error(confidences: list[float], correct: list[bool], beta: int = MIN_CALIBRATION) -> float | None:
    """RMS calibration error in percent, computed the way their script does (see the module docstring);
    ``None`` below ``beta`` graded answers."""
    if len(confidences) != len(correct):
        raise ValueError("confidences and correct differ in length")
    n = len(confidences)
    if n < beta:
        return None
    pairs = sorted(zip((c / 100.0 for c in confidences), (float(x) for x in correct)), key=lambda p: p[0])
    bounds = [[i * beta, (i + 1) * beta] for i in range(n // beta)]
    bounds[-1][1] = n
    total = 0.0
    for lo, hi in bounds[:-1]:  # their loop stops before the last bin
        conf = [p[0] for p in pairs[lo:hi] if not math.isnan(p[0])]
        acc = [p[1] for p in pairs[lo:hi]]
        if conf:
            total += (hi - lo) / n * (sum(conf) / len(conf) - sum(acc) / len(acc)) ** 2
    return math.sqrt(total) * 100


def summarize(
    records: list[RunRecord],
    grades: Mapping[str, Mapping[str, Any]] | None,
    *,
    evidence: Mapping[str, list[str]],
    gold: Mapping[str, list[str]] | None = None,
    protocol: str | None = None,
    judge_model: str | None = None,
    llm: str | None = None,
    retriever: str | None = None,
) -> dict[str, Any]:
    """Their summary keys (``Accuracy (%)``, ``Recall (%)``, ``avg_tool_stats``, ``Calibration Error (%)``,
    ``per_query_metrics``) plus gold recall, search calls per query and the judge protocol. ``grades`` maps a
    query id to ``{correct, confidence, parse_error}`` (ungraded queries count as wrong, as in theirs); ``None``
    means nothing was judged (``--no-judge``): accuracy and correctness are ``None``, not 0, and ``notes`` says
    why, as it does for a calibration error below ``MIN_CALIBRATION`` graded answers."""
    judged = grades is not None
    grades = grades or {}
    n = len(records)
    runs = {r.query_id: r.retrieved_docids for r in records}
    ev = recall(runs, evidence)
    gd = recall(runs, gold or {})
    tools: Counter = Counter()
    for r in records:
        tools.update(r.tool_call_counts)
    correct = {r.query_id: bool((grades.get(r.query_id) or {}).get("correct")) if judged else None for r in records}
    confs, oks = [], []
    for r in records:
        g = grades.get(r.query_id) or {}
        if not g.get("parse_error", True) and g.get("correct") is not None and g.get("confidence") is not None:
            confs.append(float(g["confidence"]))
            oks.append(bool(g["correct"]))
    cal = calibration_error(confs, oks)

    accuracy = (round(100.0 * sum(correct.values()) / n, 2) if n else 0.0) if judged else None
    notes = []
    if accuracy is None:
        notes.append("Accuracy (%) is null: nothing was judged (--no-judge)")
    if cal is None:
        notes.append(
            f"Calibration Error (%) is null: {len(confs)} graded answers with a confidence, fewer than "
            f"{MIN_CALIBRATION}"
        )

    def pct(x: float | None) -> float | None:
        return None if x is None else round(100.0 * x, 2)

    return {
        "LLM": llm or "change me when submitting",
        "Accuracy (%)": accuracy,
        "Recall (%)": pct(ev["recall"]),
        "Gold Recall (%)": pct(gd["recall"]),
        "avg_tool_stats": {k: v / n for k, v in tools.items()} if n else {},
        "search_calls_per_query": tools.get("search", 0) / n if n else 0.0,
        "Calibration Error (%)": None if cal is None else round(cal, 2),
        "calibration_answers": len(confs),
        "completed": sum(r.status == "completed" for r in records),
        "queries": n,
        "judge_protocol": protocol,
        "judge_model": judge_model,
        "Retriever": retriever or "change me when submitting",
        "notes": notes,
        "per_query_metrics": [
            {"query_id": r.query_id, "correct": correct[r.query_id], "recall": pct(ev["per_query"].get(r.query_id))}
            for r in records
        ],
    }


async def grade_runs(
    records: list[RunRecord],
    truth: Mapping[str, Mapping[str, str]],
    llm: LLM | None,
    template: str,
    protocol: JudgeProtocol,
    concurrency: int = 4,
) -> dict[str, dict[str, Any]]:
    """Grade every completed, non-empty response with ``llm`` under ``protocol`` (their prompt, sampling and
    parsing); others are recorded as ungraded (``parse_error``) like theirs."""
    import asyncio

    sem = asyncio.Semaphore(max(1, concurrency))
    grades: dict[str, dict[str, Any]] = {}

    async def one(rec: RunRecord) -> None:
        gt = truth.get(rec.query_id)
        if gt is None:
            grades[rec.query_id] = {"correct": None, "parse_error": True, "error": "no ground truth"}
            return
        if rec.status != "completed" or not rec.response:
            grades[rec.query_id] = {"correct": None, "parse_error": True, "error": "incomplete response"}
            return
        prompt = template.format(question=gt["question"], response=rec.response, correct_answer=gt["answer"])
        async with sem:
            comp = await llm.chat(
                [{"role": "user", "content": prompt}], temperature=protocol.temperature, max_tokens=protocol.max_tokens
            )
        g = parse_grade(comp.content)
        g["judge_response"] = comp.content
        grades[rec.query_id] = g

    await asyncio.gather(*(one(r) for r in records))
    return grades
