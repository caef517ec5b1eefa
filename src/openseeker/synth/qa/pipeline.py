"""``synthesize_qa``: the whole QA synthesis of METHOD.md section 2, resumable and concurrent.

One *candidate* = one seed page taken through every stage:

    seed -> expand (G_sub) -> extract (G_entity) -> generate (q_init + chain) -> obfuscate (q)
         -> leak -> dedup -> difficulty (closed-book) -> solvability (with G_entity) -> accepted QASample

A candidate stops at its first failed stage and is written to ``<out>.rejected.jsonl`` as a ``Rejection``
(stage, reason, detail with the LLM usage spent on it). Candidate ids are content hashes of (seed, index, seed
url, controls), so re-running the same command skips every candidate already accepted or rejected and appends
only new ones: no duplicates, no retries of rejected candidates. A candidate interrupted mid-way, or failed by
an endpoint error (``LLMError``), is not written and is retried on the next run.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from openseeker.errors import LLMError, UserError
from openseeker.executors.base import SHARD_DIR_SUFFIX, Outcome, Stage, Stream
from openseeker.executors.engine import read_keys
from openseeker.executors.local import LocalExecutor
from openseeker.io import ResumableWriter, iter_jsonl, read_jsonl, write_jsonl
from openseeker.llm.config import resolve_llm_config
from openseeker.llm.pool import LLMPool
from openseeker.outlock import hold_output
from openseeker.records import QASample, Rejection, content_id
from openseeker.synth.qa import prompts
from openseeker.synth.qa.controls import QAControls
from openseeker.synth.qa.entities import EntityGraph, build_entity_graph, chains_to_answer
from openseeker.synth.qa.expand import expand
from openseeker.synth.qa.generate import Generated, StageFailure, generate_question
from openseeker.synth.qa.live import crawl_live
from openseeker.synth.qa.llmcall import Meter
from openseeker.synth.qa.obfuscate import obfuscate
from openseeker.synth.qa.report import build_report, rejected_path, report_path, write_report
from openseeker.synth.qa.sampling import GraphLike, sample_seeds
from openseeker.synth.qa.verify import Deduper, check_difficulty, check_leaks, check_solvability, difficulty_label
from openseeker.web.local import LocalWeb
from openseeker.web.open import open_web

if TYPE_CHECKING:
    from openseeker.llm.base import LLM
    from openseeker.llm.config import LLMConfig
    from openseeker.llm.pool import LLMPool

# What QA synthesis reads: an opened graph (a LocalWeb, or the in-memory crawl of --seed-urls) or a web directory.
GraphSource: TypeAlias = "GraphLike | str | os.PathLike[str]"

log = logging.getLogger(__name__)

MAX_CONSECUTIVE_LLM_ERRORS = 5


def effective_judge_mode(mode: str, models: dict[str, Any]) -> str:
    """``auto`` with the embedded SmolLM2-135M as judge means ``normalized`` (**ours**): measured, that judge
    answers "correct" to unrelated answers, which would reject every question as closed-book answerable and
    accept unsolvable ones. An explicit ``llm`` is respected."""
    judge = models.get("judge") or {}
    embedded = judge.get("base_url") == "embedded" or "smollm2-135m" in str(judge.get("model", "")).lower()
    if mode == "auto" and embedded:
        return "normalized"
    return mode


def candidate_id(seed: int, index: int, seed_url: str, controls: QAControls) -> str:
    return "qa-" + content_id("qa", seed, index, seed_url, controls.fingerprint())


@dataclass
class _Run:
    graph: GraphLike
    controls: QAControls
    generator: LLM
    verifier: LLM
    judge: LLM | None
    seed: int
    models: dict[str, Any]
    deduper: Deduper
    judge_mode: str = "auto"
    accepted: int = 0
    llm_errors: int = 0
    consecutive_errors: int = 0
    new_accepted: int = 0
    new_rejected: int = 0
    last_error: str = ""
    rejections: dict[str, int] = field(default_factory=dict)
    worker_usage: dict[str, Any] = field(default_factory=dict)
    stopped_by_time_budget: bool = False  # no new candidate started once the time budget was spent


def leak_names(eg: Any, gen: Generated, mapping: dict[str, str], strength: int) -> list[str]:
    """Names that must not appear in the final question: the obfuscated ones, the chain's entities (strength
    >= 1; a rewrite must not re-introduce them) and every entity of G_entity (strength 2)."""
    if strength <= 0:
        return []
    names = list(mapping)
    ids = list(gen.chain_ids) if strength == 1 else list(eg.nodes)
    names += [eg.nodes[i].name for i in ids if i in eg.nodes and i != eg.answer]
    return list(dict.fromkeys(names))


def _reject(cid: str, fail: StageFailure, meter: Meter, seed_url: str, extra: dict[str, Any]) -> Rejection:
    return Rejection(
        id=cid,
        stage=fail.stage,
        reason=fail.reason,
        detail={"seed_url": seed_url, **extra, **fail.detail, "usage": meter.to_dict()},
    )


async def _ask_and_verify(
    run: _Run, eg: EntityGraph, rng: random.Random, meter: Meter, sub: Any, extra: dict[str, Any]
) -> tuple[Generated, Any, dict[str, Any], dict[str, Any]] | StageFailure:
    """One question over ``eg`` through generation, obfuscation and every gate: ``(gen, ob, difficulty,
    solvability)`` when it passes, else the ``StageFailure`` that stopped it (``extra`` records the question)."""
    c = run.controls
    gen = await generate_question(
        run.generator, eg, min_hops=c.min_hops, max_hops=c.max_hops, lang=c.lang, rng=rng, meter=meter,
        retries=c.retries,
    )  # fmt: skip
    if isinstance(gen, StageFailure):
        return gen
    extra.update(q_init=gen.q_init, chain=gen.chain)
    corpus_desc = {u: p.description for u, p in sub.pages.items() if p.description}
    ob = await obfuscate(
        run.generator, eg, gen, strength=c.obfuscation, lang=c.lang, rng=rng, meter=meter, retries=c.retries,
        corpus_descriptions=corpus_desc,
    )  # fmt: skip
    if isinstance(ob, StageFailure):
        return ob
    extra.update(question=ob.question, obfuscation=ob.mapping)
    answer = eg.nodes[eg.answer].name
    fail = check_leaks(ob.question, answer, leak_names(eg, gen, ob.mapping, c.obfuscation))
    if fail is None:
        fail = run.deduper.check(ob.question)
    if fail is not None:
        return fail
    fail, difficulty = await check_difficulty(
        run.verifier, run.judge, ob.question, answer, attempts=c.attempts, rng=rng, meter=meter,
        judge_mode=run.judge_mode,
    )  # fmt: skip
    if fail is not None:
        return fail
    fail, solvability = await check_solvability(
        run.verifier, run.judge, ob.question, eg, rng=rng, meter=meter, judge_mode=run.judge_mode,
        far=gen.chain_ids[0], control=c.solvability_control,
    )  # fmt: skip
    if fail is not None:
        return fail
    fail = run.deduper.check(ob.question)  # again: a concurrent candidate may have been accepted meanwhile
    if fail is not None:
        return fail
    return gen, ob, difficulty, solvability


async def run_candidate(run: _Run, index: int, seed_page: Any) -> QASample | Rejection:
    """Take one seed through every stage. Raises ``LLMError`` only for endpoint failures."""
    c = run.controls
    cid = candidate_id(run.seed, index, seed_page.url, c)
    rng = random.Random(cid)
    meter = Meter()
    extra: dict[str, Any] = {"index": index, "seed_title": seed_page.title}

    sub = await expand(
        run.graph, seed_page, k=c.k, depth=c.depth, selector=c.selector, rng=rng, llm=run.generator, meter=meter
    )
    extra["subgraph"] = sub.to_dict()
    if len(sub.urls) < 2:
        return _reject(cid, StageFailure("expand", "no_neighbours", {}), meter, seed_page.url, extra)

    eg, extraction = await build_entity_graph(
        run.generator,
        sub,
        facts=c.facts,
        max_chars=c.max_chars,
        min_grounding=c.min_grounding,
        lead_fact=c.lead_fact,
        meter=meter,
        retries=c.retries,
        seed=rng.randrange(1 << 30),
    )
    extra["extraction_stats"] = eg.stats
    if not chains_to_answer(eg, c.min_hops, c.max_hops, limit=1):
        fail = StageFailure(
            "extract",
            "no_chain",
            {"min_hops": c.min_hops, "nodes": len(eg.nodes), "edges": len(eg.edges), "extraction": extraction},
        )
        return _reject(cid, fail, meter, seed_page.url, extra)

    # the question stages, up to ``questions_per_graph`` times over the same G_entity (extraction is most of a
    # candidate's cost): the first question that passes every gate is the candidate's, else its last rejection
    fail: StageFailure | None = None
    for attempt in range(c.questions_per_graph):
        result = await _ask_and_verify(run, eg, rng, meter, sub, extra)
        if not isinstance(result, StageFailure):
            gen, ob, difficulty, solvability = result
            break
        fail = result
        extra.setdefault("question_attempts", []).append(
            {"attempt": attempt, "stage": fail.stage, "reason": fail.reason}
        )
    else:
        assert fail is not None
        return _reject(cid, fail, meter, seed_page.url, extra)
    run.deduper.add(cid, ob.question)  # no await since the last dedup check: atomic within the event loop

    checks = {
        "leak": "passed",
        "dedup": "passed",
        "difficulty": difficulty,
        "solvability": solvability,
        "judge_mode": run.judge_mode,
    }
    return _accepted(run, cid, index, seed_page, sub, eg, extraction, gen, ob, checks, meter)


def _accepted(
    run: _Run,
    cid: str,
    index: int,
    seed_page: Any,
    sub: Any,
    eg: EntityGraph,
    extraction: Any,
    gen: Generated,
    ob: Any,
    checks: dict[str, Any],
    meter: Meter,
) -> QASample:
    """The QA record of a candidate that passed every check, with its full provenance (METHOD.md section 2)."""
    c = run.controls
    strength = c.obfuscation if ob.mapping else 0  # nothing obfuscated: no obfuscation credit
    label = difficulty_label(
        chain_len=len(gen.chain),
        k=c.k,
        depth=c.depth,
        strength=strength,
        closed_book_f1=[a["f1"] for a in checks["difficulty"]["attempts"]],
    )
    return QASample(
        id=cid,
        question=ob.question,
        answer=eg.nodes[eg.answer].name,
        language=c.lang,
        seed_url=seed_page.url,
        subgraph=sub.to_dict(),
        entity_graph=eg.to_dict(),
        chain=gen.chain,
        q_init=gen.q_init,
        obfuscation=ob.mapping,
        verification=checks,
        controls={**c.to_dict(), "seed": run.seed, "index": index},
        difficulty=label["label"],
        usage=meter.to_dict(),
        metadata={
            "difficulty": label,
            "chain_path": [eg.nodes[n].name for n in gen.chain_ids],
            "generate_raw": gen.raw,
            "obfuscation_detail": ob.detail,
            "extraction": extraction,
            "prompt_versions": {name: prompts.prompt_version(name, c.lang) for name in prompts.PROMPT_VERSIONS},
            "models": run.models,
        },
    )


def _open_graph(web: GraphSource) -> tuple[GraphLike, Any]:
    if hasattr(web, "out_links") and hasattr(web, "sample"):
        return web, None
    if str(web) == "live":
        raise UserError(
            "QA synthesis over --web live needs seed urls: pass --seed-urls FILE (their links are "
            "crawled into an in-memory graph), or crawl the pages into a local web first"
        )
    path = Path(web)
    if not path.exists():
        raise UserError(f"{path}: no such web directory (build one with `openseeker web build`)")

    local = LocalWeb.open(path)
    return local.graph, local


def _role(pool: LLMPool, name: str) -> Any:
    try:
        return pool.role(name)
    except Exception as exc:  # noqa: BLE001 - a pool without a judge role: normalized match decides
        if name == "judge":
            log.warning("no judge role (%s): correctness by normalized-string match", exc)
            return None
        raise


def _describe(pool: LLMPool) -> dict[str, Any]:
    describe = getattr(pool, "describe", None)
    if callable(describe):
        try:
            return {r: v for r, v in describe().items() if r in ("generator", "verifier", "judge")}
        except Exception as exc:  # noqa: BLE001
            log.debug("pool.describe() failed: %s", exc)
    return {r: getattr(_role(pool, r), "model", "") for r in ("generator", "verifier", "judge") if _role(pool, r)}


async def synthesize_qa_async(
    web: GraphSource,
    n: int,
    out: str | Path,
    *,
    pool: LLMPool,
    controls: QAControls | None = None,
    seed: int = 0,
    concurrency: int = 4,
    max_candidates: int | None = None,
    progress: bool = True,
    executor: Any = None,
    llm_config: LLMConfig | None = None,
    time_budget_s: float | None = None,
) -> dict[str, Any]:
    """Async core of :func:`synthesize_qa` (same arguments; ``pool`` is required and already open).

    With an ``executor`` of several workers (``openseeker.executors``) each worker opens ``web`` and an LLM pool
    from ``llm_config`` and takes an equal share of the remaining target; see ``QAStage``.
    """
    if executor is not None and executor.workers > 1 and llm_config is None:
        raise UserError("several QA workers need the LLM config (each worker opens its own pool)")
    controls = controls or QAControls()
    if n < 1:
        raise UserError("--n must be >= 1")
    if concurrency < 1:
        raise UserError("--concurrency must be >= 1")
    if time_budget_s is not None and time_budget_s <= 0:
        raise UserError("--time-budget must be > 0 seconds")
    max_candidates = max_candidates or max(10, 3 * n)
    out = Path(out)
    with hold_output(out):
        graph, closer = _open_graph(web)
        t0 = time.monotonic()
        try:
            with ResumableWriter(out) as acc_w, ResumableWriter(rejected_path(out)) as rej_w:
                deduper = Deduper(threshold=controls.dedup)
                if out.exists():
                    for _, obj in iter_jsonl(out, skip_bad=True):
                        if obj.get("kind") == "qa":
                            deduper.add(str(obj.get("id")), obj.get("question", ""))
                run = new_run(graph, pool, controls, seed, deduper, accepted=len(acc_w.done))
                if run.judge_mode != controls.judge:
                    log.warning(
                        "the judge role is the embedded SmolLM2-135M, which calls nearly any answer correct: "
                        "correctness is decided by normalized-string match (--judge llm to override)"
                    )
                if run.accepted >= n:
                    log.info("%s already holds %d accepted samples (>= %d): nothing to do", out, run.accepted, n)
                    # candidates lost to LLM errors earlier are not needed any more: none is still failing
                    out.with_name(out.name + ".failed.jsonl").unlink(missing_ok=True)
                else:
                    seeds = sample_seeds(
                        graph,
                        max_candidates,
                        seed=seed,
                        topic=controls.topic,
                        lang=controls.page_lang,
                        min_out_degree=controls.min_out_degree,
                    )
                    recipe = None
                    if executor is not None and executor.workers > 1:
                        recipe = {"web": web, "llm_config": llm_config, "controls": controls, "seed": seed}
                    await _run_all(
                        run, seeds, n, max_candidates, concurrency, acc_w, rej_w, progress, executor, recipe,
                        time_budget_s,
                    )  # fmt: skip
        finally:
            if closer is not None and hasattr(closer, "close"):
                closer.close()
        usage = {}
        if hasattr(pool, "usage"):
            try:
                usage = {r: u.model_dump() if hasattr(u, "model_dump") else u for r, u in pool.usage().items()}
            except Exception:  # noqa: BLE001
                usage = {}
        last_run = {
            "n": n,
            "seed": seed,
            "concurrency": concurrency,
            "max_candidates": max_candidates,
            "time_budget_s": time_budget_s,
            "stopped_by_time_budget": run.stopped_by_time_budget,
            "controls": controls.to_dict(),
            "judge_mode": run.judge_mode,
            "models": run.models,
            "wall_s": round(time.monotonic() - t0, 1),
            "new_accepted": run.new_accepted,
            "new_rejected": run.new_rejected,
            "llm_errors": run.llm_errors,
            "last_llm_error": run.last_error,
            "pool_usage": run.worker_usage or usage,
        }
        report = build_report(out, last_run=last_run)
        write_report(out, report)
        log.info("yield report: %s", report_path(out))
        return report


def new_run(graph: GraphLike, pool: Any, controls: QAControls, seed: int, deduper: Deduper, accepted: int) -> _Run:
    """One worker's ``_Run`` over an open graph and LLM pool (the parent's, or a worker's own)."""
    models = _describe(pool)
    return _Run(
        graph=graph,
        controls=controls,
        generator=_role(pool, "generator"),
        verifier=_role(pool, "verifier"),
        judge=_role(pool, "judge"),
        seed=seed,
        models=models,
        deduper=deduper,
        accepted=accepted,
        judge_mode=effective_judge_mode(controls.judge, models),
    )


class QAStage(Stage):
    """QA synthesis candidates on the executor: each seed through ``run_candidate``, accepted samples to ``out``
    and rejections to ``<out>.rejected.jsonl`` (both mark a candidate done); stops at ``n`` accepted.

    In-process the stage is given the parent's ``run``; for several workers it holds the recipe (``web``,
    ``llm_config``, ``controls``, ``seed``) and ``open()`` builds each worker's run, whose near-duplicate filter
    starts from every accepted question already written (the final file and every shard)."""

    name = "synth qa"

    def __init__(
        self,
        run: _Run | None,
        out: Path,
        n: int,
        *,
        web: GraphSource | None = None,
        llm_config: LLMConfig | None = None,
        controls: QAControls | None = None,
        seed: int = 0,
        time_budget_s: float | None = None,
    ):
        self.run, self.out, self.n = run, Path(out), n
        self.web, self.llm_config, self.controls, self.seed = web, llm_config, controls, seed
        self.start_accepted = run.accepted if run is not None else 0
        self.pool: LLMPool | None = None
        self.time_budget_s = time_budget_s
        self.deadline: float | None = None  # set when the stage opens, in the process that runs it
        self.out_of_time = False

    def __getstate__(self) -> dict[str, Any]:  # to worker processes: the recipe, not the parent's open run
        return {**self.__dict__, "run": None, "pool": None}

    def _start_clock(self) -> None:
        """The time budget counts from when candidates can start (after a worker's web and LLM pool are open)."""
        if self.time_budget_s is not None:
            self.deadline = time.monotonic() + self.time_budget_s

    @asynccontextmanager
    async def open(self) -> AsyncIterator[QAStage]:
        if self.run is not None:
            self._start_clock()
            yield self
            return
        graph, closer = _open_graph(self.web)
        try:
            async with LLMPool(self.llm_config) as pool:
                deduper = Deduper(threshold=self.controls.dedup)
                shards = self.out.with_name(self.out.name + SHARD_DIR_SUFFIX)
                _seed_deduper(deduper, [self.out, *sorted(shards.glob("accepted-*.jsonl"))])
                ready = self.ready_copy()
                ready.run, ready.pool, ready.start_accepted = (
                    new_run(graph, pool, self.controls, self.seed, deduper, 0),
                    pool,
                    0,
                )
                ready._start_clock()
                yield ready
        finally:
            if closer is not None and hasattr(closer, "close"):
                closer.close()

    def worker_stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = {"stopped_by_time_budget": 1} if self.out_of_time else {}
        return {**stats, "usage": self.pool.usage_by_role()} if self.pool is not None else stats

    @property
    def streams(self) -> dict[str, Stream]:
        return {"accepted": Stream(self.out), "rejected": Stream(rejected_path(self.out))}

    def should_stop(self) -> bool:
        """Enough accepted, or the time budget spent (no new candidate starts; those in flight finish)."""
        if self.run.accepted >= self.n:
            return True
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.out_of_time = True
        return self.out_of_time

    async def process(self, entry: dict[str, Any]) -> Outcome:
        run = self.run
        if run.accepted >= self.n:
            return Outcome()
        try:
            result = await run_candidate(run, entry["index"], entry["page"])
        except LLMError as exc:
            run.llm_errors += 1
            run.consecutive_errors += 1
            run.last_error = str(exc)
            log.warning("candidate %d: LLM error (%s); not recorded, a re-run retries it", entry["index"], exc)
            if run.consecutive_errors >= MAX_CONSECUTIVE_LLM_ERRORS:
                raise LLMError(f"{run.consecutive_errors} LLM failures in a row; last: {exc}") from None
            failed = {"id": entry["id"], "index": entry["index"], "seed_url": entry["page"].url, "error": str(exc)}
            return Outcome(failed=failed, error=f"candidate {entry['index']}: {exc}", stats={"llm_errors": 1})
        run.consecutive_errors = 0
        if isinstance(result, QASample):
            if run.accepted >= self.n:  # a concurrent candidate reached the target first: not written
                return Outcome()
            run.accepted += 1
            run.new_accepted += 1
            return Outcome(records={"accepted": [result]}, stats={"accepted": 1})
        run.new_rejected += 1
        key = f"{result.stage}:{result.reason}"
        run.rejections[key] = run.rejections.get(key, 0) + 1
        return Outcome(records={"rejected": [result]}, stats={"rejected": 1, "rejections": {key: 1}})

    def progress_text(self, stats: dict[str, Any]) -> str:
        text = f"accepted {self.start_accepted + stats.get('accepted', 0)}/{self.n}"
        rejections = stats.get("rejections") or {}
        if rejections:
            top = max(rejections, key=rejections.get)
            text += f", top rejection {top} ({rejections[top]})"
        return text


def _seed_deduper(deduper: Deduper, paths: list[Path]) -> None:
    for path in paths:
        if path.exists():
            for _, obj in iter_jsonl(path, skip_bad=True):
                if obj.get("kind") == "qa":
                    deduper.add(str(obj.get("id")), obj.get("question", ""))


async def _run_all(
    run: _Run,
    seeds: list,
    n: int,
    max_candidates: int,
    concurrency: int,
    acc_w: ResumableWriter,
    rej_w: ResumableWriter,
    progress: bool,
    executor: Any = None,
    recipe: dict[str, Any] | None = None,
    time_budget_s: float | None = None,
) -> None:

    done_ids = acc_w.done | rej_w.done
    todo = []
    for i in range(max_candidates):
        page = seeds[i % len(seeds)]
        cid = candidate_id(run.seed, i, page.url, run.controls)
        if cid not in done_ids:
            todo.append({"id": cid, "index": i, "page": page})
    if recipe is None:
        stage = QAStage(run, acc_w.path, n, time_budget_s=time_budget_s)
        await (executor or LocalExecutor(1, concurrency=concurrency, progress=progress)).arun(stage, todo)
        run.stopped_by_time_budget = stage.out_of_time
        return
    # several workers: each takes an equal share of what is missing (the total may overshoot n by < workers, or
    # fall short when a worker runs out of candidates); its near-duplicate filter starts from every accepted
    # question on disk, so only questions accepted concurrently by two workers can slip through as near-duplicates
    workers = executor.workers
    quota = -(-(n - run.accepted) // workers)
    stage = QAStage(None, acc_w.path, quota, **recipe, time_budget_s=time_budget_s)
    before, before_rejected = set(acc_w.done), set(rej_w.done)
    summary = await executor.arun(stage, todo)
    st = summary["stats"]
    dropped = _dedup_across_workers(acc_w.path, before, run.controls.dedup)
    if dropped:
        key = "dedup:near_duplicate"
        st.setdefault("rejections", {})[key] = st.get("rejections", {}).get(key, 0) + dropped
    # counted from the files (what the merge wrote, after the dedup), not from the ranks' counters
    run.new_accepted = len(read_keys(acc_w.path, "id") - before)
    run.new_rejected = len(read_keys(rejected_path(acc_w.path), "id") - before_rejected)
    run.llm_errors = summary.get("failed", 0)
    run.last_error = summary.get("failed_first_error") or run.last_error
    run.rejections.update(st.get("rejections") or {})
    run.accepted += run.new_accepted
    run.worker_usage = st.get("usage") or {}
    run.stopped_by_time_budget = bool(st.get("stopped_by_time_budget"))


def _dedup_across_workers(out: Path, before: set[str], threshold: float) -> int:
    """After a multi-worker merge: a question accepted by one worker while another accepted a near-duplicate is
    moved, in merge (input) order, from ``out`` to the rejected sidecar as ``dedup:near_duplicate``; records that
    were accepted before this run are never touched. Returns how many were moved."""

    rows = read_jsonl(out) if out.exists() else []
    deduper = Deduper(threshold=threshold)
    keep, moved = [], []
    for row in rows:
        qid, question = str(row.get("id")), row.get("question", "")
        fail = deduper.check(question) if qid not in before else None
        if fail is not None:
            moved.append(
                Rejection(
                    id=qid,
                    stage=fail.stage,
                    reason=fail.reason,
                    detail={
                        "seed_url": row.get("seed_url"),
                        **fail.detail,
                        "across_workers": True,
                        "question": question,
                        "usage": row.get("usage") or {},
                    },
                )
            )
            continue
        deduper.add(qid, question)
        keep.append(row)
    if moved:
        with ResumableWriter(rejected_path(out)) as rej:  # rejected first: a crash in between leaves no gap
            rej.write_many(moved)
        write_jsonl(out, keep)  # atomic (tmp + rename)
        log.info(
            "%d question(s) accepted by two workers at once were near-duplicates: moved to %s",
            len(moved),
            rejected_path(out),
        )
    return len(moved)


def synthesize_qa(
    web_dir: Any,
    n: int,
    out: str | Path,
    *,
    controls: QAControls | None = None,
    pool: LLMPool | None = None,
    config: Path | None = None,
    llm: str | None = None,
    base_url: str | None = None,
    model: str | None = None,
    seed: int = 0,
    concurrency: int = 4,
    max_candidates: int | None = None,
    progress: bool = True,
    seed_urls: list[str] | None = None,
    web_config: Any = None,
    crawl_fanout: int = 8,
    executor: Any = None,
    time_budget_s: float | None = None,
    **control_overrides: Any,
) -> dict[str, Any]:
    """Synthesize ``n`` verified QA samples from the web graph at ``web_dir`` into ``out`` (resumable JSONL).

    Args:
        web_dir: a local web directory (``openseeker web build``), an object with the ``GraphLike`` methods, or
            ``"live"``: then ``seed_urls`` are fetched with the live web (``web_config``) and their links followed
            (``depth`` hops, ``crawl_fanout`` links per page) into an in-memory graph (``synth.qa.live``).
        n: target number of accepted samples (counting those already in ``out``).
        out: output JSONL of ``QASample``; ``<out>.rejected.jsonl`` and ``<out>.report.json`` are written beside.
        controls: a ``QAControls``; keyword overrides (``k=4, lang="zh"``, ...) are applied on top of it.
        pool: an open ``LLMPool`` (or anything with ``role(name)``); when None one is opened from
            ``config``/``llm``/``base_url``/``model`` (the embedded model by default).
        seed: seed of the seed sampling and of every candidate's random choices.
        concurrency: candidates in flight at once (LLM calls are further bounded by the pool).
        max_candidates: candidates to try at most (default ``max(10, 3 * n)``).
        time_budget_s: start no new candidate after this many seconds (those in flight finish, so the step ends
            up to one candidate's time later); ``None``: no limit. The report says when it stopped the run.
        progress: show a rich progress bar.
        executor: an ``openseeker.executors.Executor``; with several workers each opens the web and its own LLM
            pool (``--workers``/``--executor ray``); default: this process.

    Returns:
        The yield report (also written to ``<out>.report.json``).
    """
    if control_overrides:
        base = (controls or QAControls()).to_dict()
        controls = QAControls.from_dict({**base, **control_overrides})

    async def main() -> dict[str, Any]:
        if pool is not None:
            return await synthesize_qa_async(
                web_dir,
                n,
                out,
                pool=pool,
                controls=controls,
                seed=seed,
                concurrency=concurrency,
                max_candidates=max_candidates,
                progress=progress,
                time_budget_s=time_budget_s,
            )

        cfg = resolve_llm_config(config=config, llm=llm, base_url=base_url, model=model)
        graph = web_dir
        if str(web_dir) == "live":
            async with open_web("live", config=web_config) as live:
                graph, _ = await crawl_live(
                    live,
                    list(seed_urls or []),
                    depth=(controls or QAControls()).depth,
                    fanout=crawl_fanout,
                    concurrency=max(concurrency, 4),
                )
        elif not hasattr(web_dir, "out_links"):
            _open_graph(web_dir)[1].close()  # a bad --web fails here, before an LLM server is started
        async with LLMPool(cfg) as opened:
            return await synthesize_qa_async(
                graph,
                n,
                out,
                pool=opened,
                controls=controls,
                seed=seed,
                concurrency=concurrency,
                max_candidates=max_candidates,
                progress=progress,
                executor=executor,
                llm_config=cfg,
                time_budget_s=time_budget_s,
            )

    return asyncio.run(main())
