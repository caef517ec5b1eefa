"""Close the loop: from a corpus to a trained agent, measured on questions it never saw (docs/loop.md).

    python benchmarks/loop.py --config benchmarks/loop.yaml            # the experiment (about 3 h on 2 cores)
    python benchmarks/loop.py --config benchmarks/loop.yaml --small    # the same plumbing in minutes
    python benchmarks/loop.py --config configs/loop-paper-scale.yaml --dry-run   # validate a plan, run nothing

Every step is an existing stage run as the command a user would type (printed before it runs): ``web build``,
``synth qa``, ``eval freeze``, ``synth traj`` (the reference teacher, and the embedded teacher with retrospective
summarization and without it for the ablation), ``export sft``, ``train sft``, ``train to-gguf`` and ``eval run``
(the base model and the trained student, same agent settings, served by the embedded server). The glue between
them is here: splitting the question sources by id into training and held-out sets (checked for overlap with the
eval leakage guard's n-gram matcher), the multi-hop sets' supporting paragraphs as evidence chains, and the
report: per model accuracy, EM/F1, answered rate, share of turns with a valid tool call, mean tool calls, context
overflows, and trained - base with a bootstrap 95 % interval over questions.

Resumable: each finished step leaves ``<out>/steps/<name>.json`` (its time and outputs) and is skipped on re-run;
the stages themselves resume inside a step. The settings come from one YAML in the config format of every other
command: its ``llm:`` and ``agent:`` sections are what the agent-running steps get (``--config``), its ``loop:``
section is this experiment (``LoopSettings``); ``small:`` overrides it for ``--small``.
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from openseeker.agent.protocol import parse_text
from openseeker.config import load_config, pydantic_problems, read_yaml
from openseeker.errors import OpenSeekerError, UserError
from openseeker.eval.leakage import DEFAULT_NGRAM, ForbiddenText
from openseeker.executors.supervise import sigterm_when_parent_dies
from openseeker.io import iter_jsonl, write_jsonl
from openseeker.metrics import exact_match, hotpot_normalize, token_f1
from openseeker.testing.shared import SHARED_DATA
from openseeker.web.importers.base import title_url

MULTIHOP_FILES = {
    "musique": ("corpora/multihop-samples/data/musique_train.json", "corpora/multihop-samples/data/musique_train_corpus.json"),
    "hotpotqa": ("corpora/multihop-samples/data/hotpotqa_train.json", "corpora/multihop-samples/data/hotpotqa_train_corpus.json"),
}  # fmt: skip


class Synth(BaseModel):
    """QA synthesized by ``synth qa`` over the embedded corpus, split into training and held-out questions."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    candidates: int = Field(200, ge=1, description="candidates tried (stops earlier at n accepted)")
    n: int = Field(40, ge=1, description="accepted samples wanted")
    heldout: float = Field(0.3, gt=0, lt=1, description="share of accepted samples frozen for evaluation")
    facts: int = 2
    attempts: int = 1
    questions_per_graph: int = 1
    concurrency: int = 8


class Multihop(BaseModel):
    """The multi-hop training sets in ../shared over their own corpora."""

    model_config = ConfigDict(extra="forbid")
    families: list[str] = ["musique", "hotpotqa"]
    train: int = Field(60, ge=0, description="questions per family for training trajectories")
    heldout: int = Field(20, ge=0, description="questions per family held out for evaluation")


class Train(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lora: bool = False
    epochs: float = 2.0
    max_steps: int = -1
    lr: float | None = None
    batch_size: int = 1
    grad_accum: int = 4
    max_tokens: int = Field(2048, description="export budget per example (student template tokens)")
    model: str | None = Field(None, description="base model (HF dir or .gguf); default: the embedded SmolLM2-135M")
    launcher: str | None = Field(
        None, description="run training through this command (e.g. accelerate launch ... -m openseeker.train)"
    )


class Evaluate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    runs: int = Field(3, ge=1, description="sampling seeds per question (run r samples with seed + r)")
    seed: int = 0
    limit: int | None = Field(None, description="questions per held-out set (None: all)")
    judge: str = "none"
    student_endpoint: dict[str, str] | None = Field(
        None,
        description="{base_url, model}: the trained student served by an OpenAI-compatible server (vLLM on the "
        "checkpoint) instead of the embedded server on its GGUF (then no GGUF is made)",
    )


class QAFile(BaseModel):
    """A QA JSONL of your own (records with an evidence chain, as ``synth qa`` writes them) over a built web;
    ``heldout`` of its questions are evaluated (``eval run --benchmark synth``), the rest trained on."""

    model_config = ConfigDict(extra="forbid")
    name: str
    path: str
    web: str
    heldout: int = 0


class LoopSettings(BaseModel):
    """The ``loop:`` section: what the experiment runs (the ``llm:``/``agent:`` sections configure the agents)."""

    model_config = ConfigDict(extra="forbid")
    out: str = "runs/loop"
    seed: int = 0
    corpus: str = "wiki-offline"
    synth: Synth = Field(default_factory=Synth)
    multihop: Multihop = Field(default_factory=Multihop)
    qa_files: list[QAFile] = Field(default_factory=list, description="QA sources of your own")
    reference_teacher: bool = Field(True, description="the offline evidence-chain replay teacher (no LLM)")
    llm_teacher: bool = True
    llm_teacher_limit: int | None = Field(None, description="questions per source the LLM teacher runs on (None: all)")
    ablation: bool = True
    ablation_min_correct: int = Field(
        10, description="correct trajectories per arm below which no ablation is trained"
    )
    train: Train = Field(default_factory=Train)
    eval: Evaluate = Field(default_factory=Evaluate)


# --------------------------------------------------------------------------- settings


def load_settings(path: Path, small: bool) -> tuple[LoopSettings, dict[str, Any]]:
    """``(loop settings, the file's other sections)``; ``small:`` merged over ``loop:`` with ``--small``."""
    data = read_yaml(path)
    loop = dict(data.pop("loop", None) or {})
    small_over = data.pop("small", None) or {}
    if small:
        loop = _merge(loop, small_over)
    try:
        settings = LoopSettings.model_validate(loop)
    except ValidationError as exc:
        raise UserError(f"{path}: invalid loop settings: {pydantic_problems(exc, 'loop')}") from None
    return settings, data


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out.get(k) or {}, v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


# --------------------------------------------------------------------------- running steps


class Loop:
    def __init__(self, settings: LoopSettings, sections: dict[str, Any], config_path: Path, dry_run: bool):
        self.s, self.dry_run = settings, dry_run
        self.out = Path(settings.out)
        self.sections = sections
        self.config_path = config_path
        self.times: dict[str, float] = {}

    def path(self, *parts: str) -> Path:
        return self.out.joinpath(*parts)

    def stage_config(
        self, model_path: str | None = None, name: str = "config.yaml", endpoint: dict[str, str] | None = None
    ) -> Path:
        """The YAML every agent-running step gets (--config): the file's own sections; for a student, its GGUF as
        the embedded model, or its server as the student role (``eval.student_endpoint``)."""
        data = json.loads(json.dumps(self.sections))
        if endpoint:
            data.setdefault("llm", {}).setdefault("roles", {})["student"] = dict(endpoint)
        elif model_path:
            data.setdefault("llm", {}).setdefault("embedded", {})["model_path"] = model_path
        path = self.path(name)
        target = Path(tempfile.mkdtemp()) / name if self.dry_run else path  # a dry run writes nothing under out
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        checked = load_config(target)  # the stages' own checks: a bad key fails here, before any step runs
        for section in data:
            checked.get(section)
        return path

    def step(self, name: str, run: Any) -> dict[str, Any]:
        """Run ``run()`` unless ``steps/<name>.json`` says it finished; record its time and outputs."""
        marker = self.path("steps", f"{name}.json")
        if marker.exists():
            done = json.loads(marker.read_text(encoding="utf-8"))
            print(f"[{name}] done before ({done['seconds']:.0f} s): skipped", flush=True)
            self.times[name] = done["seconds"]
            return done["outputs"]
        print(f"\n[{name}]", flush=True)
        t0 = time.perf_counter()
        outputs = run() or {}
        seconds = round(time.perf_counter() - t0, 1)
        self.times[name] = seconds
        if not self.dry_run:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(json.dumps({"seconds": seconds, "outputs": outputs}, indent=2), encoding="utf-8")
        print(f"[{name}] {seconds:.0f} s -> {json.dumps(outputs, default=str)[:300]}", flush=True)
        return outputs

    def cli(self, *args: Any) -> int:
        """One stage, as the command a user would type."""
        return self.run_command([sys.executable, "-m", "openseeker.cli.main", *map(str, args)], shown="openseeker")

    def run_command(self, argv: list[str], shown: str | None = None) -> int:
        words = [shown, *argv[3:]] if shown else argv
        print("$ " + " ".join(shlex.quote(str(a)) for a in words), flush=True)
        if self.dry_run:
            return 0
        # a stage never outlives the experiment (killed by a scheduler or `kill PID`): the kernel sends it SIGTERM,
        # which every stage handles like Ctrl-C (writes what finished; the re-run resumes it)
        proc = subprocess.run(argv, preexec_fn=sigterm_when_parent_dies)
        if proc.returncode != 0:
            raise OpenSeekerError(f"step failed (exit {proc.returncode}): {' '.join(map(str, words))}")
        return proc.returncode


# --------------------------------------------------------------------------- data


def multihop_qa(path: Path, family: str) -> list[dict[str, Any]]:
    """A multi-hop training file as QA records whose evidence chain is the supporting paragraphs, in hop order: the
    reference teacher searches each hop's entity (the first hop's page title, then each hop's answer, the bridge
    entity) and visits the page that supports the hop (its url in a web built from the family's corpus), then
    answers the gold answer."""
    rows = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for i, obj in enumerate(rows):
        if family == "musique":
            paragraphs = obj.get("paragraphs") or []
            hops = obj.get("question_decomposition") or []
            names, titles = [], []
            for j, hop in enumerate(hops):
                title = paragraphs[hop["paragraph_support_idx"]]["title"]
                names.append(title if j == 0 else hops[j - 1]["answer"])
                titles.append(title)
            qid, answer = f"musique-{obj['id']}", obj["answer"]
        else:
            titles = list(dict.fromkeys(sf[0] for sf in obj.get("supporting_facts") or []))
            names = list(titles)
            qid, answer = f"hotpotqa-{obj.get('_id', i)}", obj["answer"]
        nodes = [{"id": f"n{k}", "name": n, "page_url": title_url(t)} for k, (n, t) in enumerate(zip(names, titles))]
        out.append(
            {
                "kind": "qa",
                "id": qid,
                "question": obj["question"],
                "answer": answer,
                "entity_graph": {"nodes": nodes, "edges": []},
                "metadata": {"chain_path": names, "source": family},
            }
        )
    return out


def split(ids: list[str], n_heldout: int, seed: int) -> tuple[list[str], list[str]]:
    """``(train, heldout)`` ids: a seeded sample held out, the rest for training (by id, never both)."""
    rng = random.Random(seed)
    held = set(rng.sample(ids, min(n_heldout, len(ids))))
    return [i for i in ids if i not in held], [i for i in ids if i in held]


def check_no_overlap(train: list[dict[str, Any]], heldout: list[dict[str, Any]]) -> dict[str, int]:
    """No held-out id among the training ids, and no training question sharing an n-gram of a held-out
    question (the eval leakage guard's matcher: the check that keeps benchmark text out of the agent's web)."""
    train_ids = {r["id"] for r in train}
    both = sorted(train_ids & {r["id"] for r in heldout})
    if both:
        raise OpenSeekerError(f"{len(both)} held-out id(s) are also training ids (first: {both[0]})")
    guard = ForbiddenText([r["question"] for r in heldout], n=DEFAULT_NGRAM)
    hits = [r["id"] for r in train if guard.hit(r["question"])]
    if hits:
        raise OpenSeekerError(f"{len(hits)} training question(s) share a {DEFAULT_NGRAM}-gram with a held-out one")
    return {"train": len(train), "heldout": len(heldout)}


# --------------------------------------------------------------------------- the experiment


def run(loop: Loop) -> dict[str, Any]:
    s = loop.s
    print(_plan(s), flush=True)
    cfg = loop.stage_config()
    webs = loop.step("webs", lambda: _webs(loop))
    data = loop.step("data", lambda: _data(loop, webs, cfg))
    trajs = loop.step("trajectories", lambda: _trajectories(loop, data, webs, cfg))
    arms = {"main": trajs["main"]}
    if s.ablation and s.llm_teacher:
        arms.update({"ablation-summarized": trajs["llm_summarized"], "ablation-raw": trajs["llm_raw"]})
    students: dict[str, dict[str, Any]] = {}
    for arm, sources in arms.items():
        students[arm] = loop.step(f"student-{arm}", lambda arm=arm, sources=sources: _student(loop, arm, sources))
    results = {"base": loop.step("eval-base", lambda: _evaluate(loop, "base", None, data))}
    for arm, student in students.items():
        if student.get("trained"):
            results[arm] = loop.step(f"eval-{arm}", lambda arm=arm, st=student: _evaluate(loop, arm, st, data))
    report = _report(loop, data, trajs, students, results)
    return report


def _plan(s: LoopSettings) -> str:
    lines = [
        "plan:",
        f"  corpus {s.corpus}: synth qa, {s.synth.candidates} candidates at most, {s.synth.n} wanted"
        + ("" if s.synth.enabled else " (off)"),
        f"  multi-hop {', '.join(s.multihop.families)}: {s.multihop.train} train / {s.multihop.heldout} held out each",
        "  trajectories: reference teacher"
        + (", embedded teacher with H_t and raw (ablation)" if s.llm_teacher else ""),
        f"  student: SmolLM2-135M, {'LoRA' if s.train.lora else 'full'} fine-tuning, {s.train.epochs} epoch(s)",
        f"  eval: base and student(s), {s.eval.runs} seeds, judge {s.eval.judge}",
        f"  out: {s.out}",
    ]
    return "\n".join(lines)


def _webs(loop: Loop) -> dict[str, str]:
    s, webs = loop.s, {}
    if s.synth.enabled:
        webs["synth"] = str(loop.path("webs", "synth"))
        loop.cli("web", "build", "--source", s.corpus, "--out", webs["synth"])
    for fam in s.multihop.families:
        corpus = SHARED_DATA / MULTIHOP_FILES[fam][1]
        if not corpus.exists() and not loop.dry_run:
            raise UserError(
                f"{corpus} is absent: the multi-hop sets live in ../shared/data (or drop them: loop.multihop)"
            )
        webs[fam] = str(loop.path("webs", fam))
        loop.cli("web", "build", "--source", str(corpus), "--out", webs[fam])
    for extra in s.qa_files:
        webs[extra.name] = extra.web
    return webs


def _data(loop: Loop, webs: dict[str, str], cfg: Path) -> dict[str, Any]:
    """Training QA per source and the held-out evaluation sets."""
    s, d = loop.s, loop.path("data")
    out: dict[str, Any] = {"train": {}, "heldout": {}, "counts": {}}
    if loop.dry_run:
        return _planned_data(loop, webs)
    d.mkdir(parents=True, exist_ok=True)
    if s.synth.enabled:
        qa = loop.path("qa", "qa.jsonl")
        loop.cli("synth", "qa", "--web", webs["synth"], "--n", s.synth.n, "--out", qa, "--seed", s.seed,
                 "--max-candidates", s.synth.candidates, "--facts", s.synth.facts, "--attempts", s.synth.attempts, "--questions-per-graph", s.synth.questions_per_graph,
                 "--concurrency", s.synth.concurrency, "--config", cfg, "--no-progress")  # fmt: skip
        rows = [o for _, o in iter_jsonl(qa)] if qa.exists() else []
        n_held = round(len(rows) * s.synth.heldout) if len(rows) >= 2 else 0
        if n_held:
            bench = loop.path("bench", "synth")
            loop.cli("eval", "freeze", "--qa", qa, "--web", webs["synth"], "--out", bench, "--holdout", n_held,
                     "--seed", s.seed)  # fmt: skip
            rest = set((bench / "rest_ids.txt").read_text(encoding="utf-8").split())
            out["heldout"]["synth"] = {"benchmark": "localcomp", "path": str(bench), "web": webs["synth"]}
            held_rows = [r for r in rows if r["id"] not in rest]
            rows = [r for r in rows if r["id"] in rest]
            out["counts"]["synth"] = check_no_overlap(rows, held_rows)
        train = d / "synth-train.jsonl"
        write_jsonl(train, rows)
        out["train"]["synth"] = {"qa": str(train), "web": webs["synth"], "n": len(rows)}
    for fam in s.multihop.families:
        src = SHARED_DATA / MULTIHOP_FILES[fam][0]
        native = json.loads(src.read_text(encoding="utf-8"))
        records = multihop_qa(src, fam)
        train_ids, held_ids = split([r["id"] for r in records], s.multihop.heldout, s.seed)
        train_ids = train_ids[: s.multihop.train]
        by_id = {r["id"]: r for r in records}
        out["counts"][fam] = check_no_overlap([by_id[i] for i in train_ids], [by_id[i] for i in held_ids])
        write_jsonl(d / f"{fam}-train.jsonl", [by_id[i] for i in train_ids])
        held_native = [obj for obj, r in zip(native, records) if r["id"] in set(held_ids)]
        (d / f"{fam}-heldout.json").write_text(json.dumps(held_native, ensure_ascii=False), encoding="utf-8")
        out["train"][fam] = {"qa": str(d / f"{fam}-train.jsonl"), "web": webs[fam], "n": len(train_ids)}
        out["heldout"][fam] = {"benchmark": fam, "path": str(d / f"{fam}-heldout.json"), "web": webs[fam]}
    for extra in s.qa_files:
        rows = [o for _, o in iter_jsonl(extra.path)]
        by_id = {str(r["id"]): r for r in rows}
        train_ids, held_ids = split(list(by_id), extra.heldout, s.seed)
        train, held = [by_id[i] for i in train_ids], [by_id[i] for i in held_ids]
        out["counts"][extra.name] = check_no_overlap(train, held)
        write_jsonl(d / f"{extra.name}-train.jsonl", train)
        out["train"][extra.name] = {"qa": str(d / f"{extra.name}-train.jsonl"), "web": extra.web, "n": len(train)}
        if held:
            write_jsonl(d / f"{extra.name}-heldout.jsonl", held)
            path = str(d / f"{extra.name}-heldout.jsonl")
            out["heldout"][extra.name] = {"benchmark": "synth", "path": path, "web": extra.web}
    return out


def _planned_data(loop: Loop, webs: dict[str, str]) -> dict[str, Any]:
    """What ``_data`` will write, for ``--dry-run`` (sizes as planned: synthesis yield is unknown until it runs)."""
    s, d = loop.s, loop.path("data")
    out: dict[str, Any] = {"train": {}, "heldout": {}, "counts": {}}
    if s.synth.enabled:
        loop.cli("synth", "qa", "--web", webs["synth"], "--n", s.synth.n, "--out", loop.path("qa", "qa.jsonl"),
                 "--max-candidates", s.synth.candidates, "...")  # fmt: skip
        out["train"]["synth"] = {"qa": str(d / "synth-train.jsonl"), "web": webs["synth"], "n": s.synth.n}
        out["heldout"]["synth"] = {
            "benchmark": "localcomp",
            "path": str(loop.path("bench", "synth")),
            "web": webs["synth"],
        }
    for fam in s.multihop.families:
        out["train"][fam] = {"qa": str(d / f"{fam}-train.jsonl"), "web": webs[fam], "n": s.multihop.train}
        out["heldout"][fam] = {"benchmark": fam, "path": str(d / f"{fam}-heldout.json"), "web": webs[fam]}
    for extra in s.qa_files:
        out["train"][extra.name] = {"qa": str(d / f"{extra.name}-train.jsonl"), "web": extra.web, "n": 1}
        if extra.heldout:
            path = str(d / f"{extra.name}-heldout.jsonl")
            out["heldout"][extra.name] = {"benchmark": "synth", "path": path, "web": extra.web}
    return out


def _trajectories(loop: Loop, data: dict[str, Any], webs: dict[str, str], cfg: Path) -> dict[str, list[str]]:
    """Per training source: reference-teacher trajectories; with ``llm_teacher``, the embedded teacher with
    retrospective summarization (H_t) and, for the ablation, with the raw history."""
    s = loop.s
    out: dict[str, list[str]] = {"main": [], "llm_summarized": [], "llm_raw": []}
    for name, src in data.get("train", {}).items():
        if not src.get("n"):
            continue
        if s.reference_teacher:
            ref = loop.path("traj", f"{name}.reference.jsonl")
            loop.cli("synth", "traj", "--teacher", "reference", "--qa", src["qa"], "--web", src["web"], "--out", ref,
                     "--config", cfg, "--no-progress")  # fmt: skip
            out["main"].append(str(ref))
        if s.llm_teacher:
            for arm, flags in (("llm_summarized", []), ("llm_raw", ["--no-summarize"])):
                path = loop.path("traj", f"{name}.{arm}.jsonl")
                limit = ["--limit", s.llm_teacher_limit] if s.llm_teacher_limit else []
                loop.cli("synth", "traj", "--qa", src["qa"], "--web", src["web"], "--out", path, "--config", cfg,
                         "--no-progress", *limit, *flags)  # fmt: skip
                out[arm].append(str(path))
            out["main"].append(out["llm_summarized"][-1])
    return out


def _student(loop: Loop, arm: str, sources: list[str]) -> dict[str, Any]:
    """Export the arm's trajectories (reference ones, and the LLM teacher's that ended correct), train, convert."""
    s, t = loop.s, loop.s.train
    traj = loop.path("sft", arm, "trajectories.jsonl")
    rows: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    for path in sources:
        if loop.dry_run or not Path(path).exists():
            continue
        for _, obj in iter_jsonl(path):
            meta = obj.get("metadata") or {}
            teacher = str(meta.get("teacher") or "llm")
            if teacher == "llm" and meta.get("correct") is not True:
                continue  # the LLM teacher's trajectories are kept where they end correct
            rows.append(obj)
            counts[f"{Path(path).name}"] = counts.get(Path(path).name, 0) + 1
    if arm.startswith("ablation") and len(rows) < s.ablation_min_correct:
        print(f"  {arm}: {len(rows)} correct trajectories (< {s.ablation_min_correct}): not trained", flush=True)
        return {"gguf": None, "trajectories": counts, "trained": False}
    if not loop.dry_run:
        write_jsonl(traj, rows)
    sft = loop.path("sft", arm)
    loop.cli("export", "sft", "--traj", traj, "--out", sft, "--format", "tokenized,messages", "--allow-reference",
             "--max-tokens", t.max_tokens)  # fmt: skip
    student = loop.path("students", arm)
    args = ["--data", sft, "--out", student, "--epochs", t.epochs, "--max-steps", t.max_steps,
            "--batch-size", t.batch_size, "--grad-accum", t.grad_accum, "--seed", s.seed]  # fmt: skip
    if t.lora:
        args.append("--lora")
    if t.lr is not None:
        args += ["--lr", t.lr]
    if t.model:
        args += ["--model", t.model]
    if t.launcher:
        loop.run_command([*shlex.split(t.launcher), *map(str, args)])
    else:
        loop.cli("train", "sft", *args)
    if s.eval.student_endpoint:  # served from the checkpoint by the user's server: nothing to convert
        return {"gguf": None, "checkpoint": str(student / "final"), "trajectories": counts, "examples": len(rows),
                "trained": True, **_train_summary(student)}  # fmt: skip
    gguf = loop.path("students", f"{arm}.gguf")
    loop.cli("train", "to-gguf", student / "final", "--out", gguf)
    train_log = _train_summary(student)
    return {"gguf": str(gguf), "trajectories": counts, "examples": len(rows), "trained": True, **train_log}


def _train_summary(student: Path) -> dict[str, Any]:
    """What the trainer logged (``train_log.jsonl``: one line per logged step, then the run's totals) and what
    ``export sft`` counted (``stats.json``: tokens seen and tokens with loss)."""
    out: dict[str, Any] = {}
    log = student / "train_log.jsonl"
    if log.exists():
        lines = [o for _, o in iter_jsonl(log)]
        losses = [o["loss"] for o in lines if "loss" in o]
        total = next((o for o in reversed(lines) if "train_runtime" in o), {})
        out = {"steps": total.get("step"), "train_s": round(total.get("train_runtime", 0.0), 1),
               "first_loss": round(losses[0], 4) if losses else None,
               "last_loss": round(losses[-1], 4) if losses else None}  # fmt: skip
    cfg = student / "run_config.json"
    data = (json.loads(cfg.read_text(encoding="utf-8")).get("config") or {}).get("data") if cfg.exists() else None
    stats = Path(data) / "stats.json" if data else None
    if stats is not None and stats.exists():
        blob = json.loads(stats.read_text(encoding="utf-8"))
        out["tokens"] = (blob.get("tokens") or {}).get("total")
        out["trained_tokens"] = (blob.get("trained_tokens") or {}).get("total")
    return out


def _evaluate(loop: Loop, name: str, student: dict[str, Any] | None, data: dict[str, Any]) -> dict[str, Any]:
    """``eval run`` of one model on every held-out set; the same agent settings for every model."""
    e = loop.s.eval
    cfg = loop.stage_config()
    if student is not None:
        cfg = loop.stage_config(student.get("gguf"), f"config-{name}.yaml", endpoint=e.student_endpoint)
    out = {}
    for set_name, h in data.get("heldout", {}).items():
        d = loop.path("eval", name, set_name)
        args = ["eval", "run", "--benchmark", h["benchmark"], "--path", h["path"], "--web", h["web"], "--out", d,
                "--config", cfg, "--runs", e.runs, "--seed", e.seed, "--judge", e.judge,
                "--no-progress"]  # fmt: skip
        if e.limit:
            args += ["--limit", e.limit]
        loop.cli(*args)
        out[set_name] = str(d)
    return out


# --------------------------------------------------------------------------- the report


NOT_SEEN = {"", "yes", "no"}


def valid_turn(step: dict[str, Any], final_answer: bool) -> bool:
    """A turn carries a valid tool call or the final answer. A well-formed call written after the budget ran out is
    not executed (the step records no call): it is read back from the turn's text, so it still counts as valid."""
    if step.get("tool_calls") or final_answer:
        return True
    turn = parse_text(step.get("content") or "")
    return bool(turn.calls) and not turn.errors


def last_text(steps: list[dict[str, Any]]) -> str:
    """The last turn's text outside tool calls and reasoning tags (what a reader would take as its reply)."""
    return parse_text(steps[-1].get("content") or "").reasoning if steps else ""


def question_runs(eval_dir: Path) -> list[dict[str, Any]]:
    """One row per (question, run) with what the report needs, read from the eval's results and trajectories."""
    trajs = {o["id"]: o for _, o in iter_jsonl(eval_dir / "trajectories.jsonl")}
    rows = []
    for _, r in iter_jsonl(eval_dir / "results.jsonl"):
        t = trajs.get(r["key"]) or {}
        steps = t.get("steps") or []
        answered = r.get("stop_reason") == "answered"
        valid = sum(1 for i, st in enumerate(steps) if valid_turn(st, answered and i == len(steps) - 1))
        golds = r.get("gold") or []
        answer = r.get("answer") or ""
        seen = hotpot_normalize(" ".join(o for st in steps for o in st.get("observations") or []))
        rows.append(
            {
                "id": r["id"],
                "run": r.get("run", 0),
                "correct": bool(r.get("correct")),
                "em": float(exact_match(answer, golds)) if golds else 0.0,
                "f1": token_f1(answer, golds) if golds else 0.0,
                # the same F1 when a run without an answer is scored on its last turn's text: a model that never
                # learned the answer tags is not scored 0 for the tags alone
                "f1_text": token_f1(answer or last_text(steps), golds) if golds else 0.0,
                "answered": answered,
                "turns": len(steps),
                "valid_turns": valid,
                "tool_calls": r.get("num_tool_calls") or 0,
                "overflow": r.get("stop_reason") == "context_overflow",
                # the gold answer was on a page or result the agent read: a miss after that is reading, not search
                # (yes/no answers are on every page: never counted as seen)
                "gold_seen": any(f" {g} " in f" {seen} " for g in map(hotpot_normalize, golds) if g not in NOT_SEEN),
            }
        )
    return rows


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(rows) or 1
    turns = sum(r["turns"] for r in rows)
    return {
        "question_runs": len(rows),
        "questions": len({r["id"] for r in rows}),
        "accuracy": round(sum(r["correct"] for r in rows) / n, 4),
        "em": round(sum(r["em"] for r in rows) / n, 4),
        "f1": round(sum(r["f1"] for r in rows) / n, 4),
        "f1_text": round(sum(r.get("f1_text", 0.0) for r in rows) / n, 4),
        "answered_rate": round(sum(r["answered"] for r in rows) / n, 4),
        "valid_turn_share": round(sum(r["valid_turns"] for r in rows) / turns, 4) if turns else None,
        "mean_tool_calls": round(sum(r["tool_calls"] for r in rows) / n, 3),
        "context_overflows": sum(r["overflow"] for r in rows),
        "gold_seen_rate": round(sum(r.get("gold_seen", False) for r in rows) / n, 4),
    }


def bootstrap_diff(a: list[dict[str, Any]], b: list[dict[str, Any]], key: str, n: int = 2000, seed: int = 0) -> dict:
    """trained (b) - base (a) of ``key``, averaged per question over its runs, with a 95 % percentile interval from
    resampling questions (the unit that was sampled; the runs of a question are not independent)."""
    per_q: dict[str, list[list[float]]] = {}
    for side, rows in ((0, a), (1, b)):
        for r in rows:
            per_q.setdefault(r["id"], [[], []])[side].append(float(r[key]))
    qs = [q for q, (x, y) in per_q.items() if x and y]
    if not qs:
        return {"diff": None, "ci95": None, "questions": 0}
    d = [sum(per_q[q][1]) / len(per_q[q][1]) - sum(per_q[q][0]) / len(per_q[q][0]) for q in qs]
    rng = random.Random(seed)
    means = sorted(sum(rng.choice(d) for _ in d) / len(d) for _ in range(n))
    return {"diff": round(sum(d) / len(d), 4), "ci95": [round(means[int(0.025 * n)], 4), round(means[int(0.975 * n)], 4)],
            "questions": len(qs)}  # fmt: skip


def trajectory_counts(path: Path) -> dict[str, Any]:
    """How many trajectories a teacher made, how many ended correct (the judge's or the replay's label), and their
    mean tool calls: what says whether an arm had enough to train on."""
    rows = [o for _, o in iter_jsonl(path)]
    correct = sum(1 for o in rows if (o.get("metadata") or {}).get("correct") is True)
    calls = [o.get("num_tool_calls") or 0 for o in rows]
    return {"trajectories": len(rows), "correct": correct,
            "mean_tool_calls": round(sum(calls) / len(calls), 2) if calls else None}  # fmt: skip


def _report(loop: Loop, data: dict, trajs: dict, students: dict, results: dict) -> dict[str, Any]:
    if loop.dry_run:
        return {"dry_run": True, "steps": list(loop.times)}
    per_model = {}
    rows_of: dict[str, list[dict[str, Any]]] = {}
    for model, sets in results.items():
        rows = []
        for set_name, d in sets.items():
            rows += [{**r, "id": f"{set_name}/{r['id']}"} for r in question_runs(Path(d))]
        rows_of[model] = rows
        per_model[model] = summarize(rows)
        per_model[model]["per_set"] = {k: summarize(question_runs(Path(v))) for k, v in sets.items()}
    diffs = {}
    for model in rows_of:
        if model != "base":
            diffs[f"{model} - base"] = {
                k: bootstrap_diff(rows_of["base"], rows_of[model], k)
                for k in ("correct", "f1", "f1_text", "answered", "gold_seen")
            }
    files = sorted({f for paths in (trajs or {}).values() for f in paths if Path(f).exists()})
    made = {Path(f).name: trajectory_counts(Path(f)) for f in files}
    student_info = {arm: {**_train_summary(loop.path("students", arm)), **st} for arm, st in students.items()}
    report = {
        "kind": "loop_report",
        "settings": loop.s.model_dump(),
        "data": data.get("counts"),
        "trajectories": trajs,
        "trajectories_made": made,
        "students": student_info,
        "models": per_model,
        "differences": diffs,
        "seconds_per_step": loop.times,
        "total_s": round(sum(loop.times.values()), 1),
        "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    loop.path("report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    md = render(report)
    loop.path("report.md").write_text(md, encoding="utf-8")
    print("\n" + md)
    return report


def render(report: dict[str, Any]) -> str:
    cols = ("accuracy", "em", "f1", "f1_text", "answered_rate", "valid_turn_share", "mean_tool_calls", "context_overflows",
            "gold_seen_rate")  # fmt: skip
    lines = ["| model | question-runs | " + " | ".join(cols) + " |", "|---" * (len(cols) + 2) + "|"]
    for model, m in report["models"].items():
        lines.append(f"| {model} | {m['question_runs']} | " + " | ".join(str(m[c]) for c in cols) + " |")
    lines.append("")
    lines.append(
        "| difference | accuracy (95 % CI) | F1 (95 % CI) | F1 of the text (95 % CI) | answered rate (95 % CI) "
        "| gold seen (95 % CI) |"
    )
    lines.append("|---|---|---|---|---|---|")
    for name, d in report["differences"].items():
        cell = [
            f"{d[k]['diff']} {d[k]['ci95']}" for k in ("correct", "f1", "f1_text", "answered", "gold_seen") if k in d
        ]
        lines.append(f"| {name} | " + " | ".join(cell) + " |")
    lines.append("")
    lines.append(
        "| model | held-out set | question-runs | accuracy | F1 | answered rate | valid-turn share | mean tool calls |"
    )
    lines.append("|---|---|---|---|---|---|---|---|")
    for model, m in report["models"].items():
        for set_name, ps in (m.get("per_set") or {}).items():
            row = (ps["question_runs"], ps["accuracy"], ps["f1"], ps["answered_rate"], ps["valid_turn_share"],
                   ps["mean_tool_calls"])  # fmt: skip
            lines.append(f"| {model} | {set_name} | " + " | ".join(map(str, row)) + " |")
    lines.append("")
    lines.append(
        "| arm | trained | examples | trajectories kept (per file) | steps | tokens (with loss) | train s | loss |"
    )
    lines.append("|---|---|---|---|---|---|---|---|")
    for arm, st in (report.get("students") or {}).items():
        kept = ", ".join(f"{k} {v}" for k, v in (st.get("trajectories") or {}).items()) or "none"
        tokens = f"{st.get('tokens', '-')} ({st.get('trained_tokens', '-')})"
        loss = f"{st['first_loss']} -> {st['last_loss']}" if st.get("first_loss") is not None else "-"
        cells = (
            st.get("trained"),
            st.get("examples", 0),
            kept,
            st.get("steps", "-"),
            tokens,
            st.get("train_s", "-"),
            loss,
        )
        lines.append(f"| {arm} | " + " | ".join(map(str, cells)) + " |")
    lines.append("")
    lines.append("| trajectories | made | ended correct | mean tool calls |")
    lines.append("|---|---|---|---|")
    for name, c in (report.get("trajectories_made") or {}).items():
        lines.append(f"| {name} | {c['trajectories']} | {c['correct']} | {c['mean_tool_calls']} |")
    lines.append("")
    lines.append("| step | seconds |")
    lines.append("|---|---|")
    lines += [f"| {k} | {v:.0f} |" for k, v in report["seconds_per_step"].items()]
    lines.append(f"| total | {report['total_s']:.0f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=Path("benchmarks/loop.yaml"))
    ap.add_argument("--small", action="store_true", help="the small variant (the file's small: overrides)")
    ap.add_argument("--dry-run", action="store_true", help="print the plan and the commands, run nothing")
    ap.add_argument("--out", help="override loop.out")
    args = ap.parse_args(argv)
    try:
        settings, sections = load_settings(args.config, args.small)
        if args.out:
            settings.out = args.out
        loop = Loop(settings, sections, args.config, args.dry_run)
        report = run(loop)
    except (UserError, OpenSeekerError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, UserError) else 1
    except KeyboardInterrupt:
        print("interrupted: finished steps are kept; re-run the same command to resume", file=sys.stderr)
        return 130
    if args.dry_run:
        print(f"dry run: the plan above is valid ({len(loop.times)} steps)")
    return 0 if report else 1


if __name__ == "__main__":
    sys.exit(main())
