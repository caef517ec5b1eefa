"""Verification (METHOD.md section 2, "dual-criteria verification") plus our extra gates.

Order (cheap first, **ours**): leak check -> near-duplicate check -> difficulty (closed-book) -> solvability
(with G_entity). Every failed gate returns a ``StageFailure`` that the pipeline writes as a ``Rejection``.

- Difficulty (paper): the verifier role answers q closed-book ``attempts`` times (different seeds); the sample is
  kept only if every attempt is wrong.
- Solvability (paper): the verifier, given G_entity (facts in shuffled order), must answer correctly. Control
  (**ours**): asked a decoy question about the chain's far end, it must not name the answer again.
- Correctness: the judge role via ``openseeker.llm.judge.judge_answer``; when no judge is available or its
  verdict is unparseable, a normalized-string match (the offline fallback). Both verdicts are recorded.
- Leaks (**ours**): neither the answer nor any obfuscated entity name (or their short forms) may appear in q, nor
  every distinctive word of the answer (its content words but generic heads such as people, river, film).
- Near-duplicates (**ours**): word-3-gram (CJK: character-3-gram) shingle Jaccard against accepted questions.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from openseeker.llm.judge import judge_answer
from openseeker.synth.qa import prompts
from openseeker.synth.qa.entities import EntityGraph
from openseeker.synth.qa.generate import StageFailure
from openseeker.synth.qa.llmcall import Meter, ask_json
from openseeker.synth.qa.obfuscate import substitute
from openseeker.synth.qa.text import contains, fold, jaccard, name_variants, shingles, tokens, words_leak

if TYPE_CHECKING:
    from openseeker.llm.base import LLM

log = logging.getLogger(__name__)

ANSWER_SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string", "maxLength": 80}},
    "required": ["answer"],
}


# ----------------------------------------------------------------------------- leaks and duplicates


def check_leaks(question: str, answer: str, names: list[str]) -> StageFailure | None:
    """The answer or an obfuscated entity's name (or a short form of either) appearing in the question, or every
    distinctive word of the answer appearing in it ("Which indigenous people are Māori?" -> "Māori people")."""
    for v in name_variants(answer):
        if contains(question, v):
            return StageFailure("leak", "answer_leak", {"leaked": v})
    words = words_leak(question, answer)
    if words:
        return StageFailure("leak", "answer_words_leak", {"leaked": words})
    for name in names:
        for v in name_variants(name):
            if contains(question, v):
                return StageFailure("leak", "entity_leak", {"entity": name, "leaked": v})
    return None


@dataclass
class Deduper:
    """Near-duplicate detection by shingle Jaccard against the questions accepted so far."""

    threshold: float = 0.6
    items: list[tuple[str, set[str]]] = field(default_factory=list)

    def match(self, question: str) -> tuple[str, float] | None:
        sh = shingles(question)
        best: tuple[str, float] | None = None
        for qid, other in self.items:
            score = jaccard(sh, other)
            if score >= self.threshold and (best is None or score > best[1]):
                best = (qid, score)
        return best

    def add(self, qid: str, question: str) -> None:
        self.items.append((qid, shingles(question)))

    def check(self, question: str) -> StageFailure | None:
        hit = self.match(question)
        if hit is None:
            return None
        return StageFailure("dedup", "near_duplicate", {"of": hit[0], "jaccard": round(hit[1], 3)})


# ----------------------------------------------------------------------------- correctness


def normalized_match(response: str, golds: list[str]) -> bool:
    """Offline fallback: the normalized response equals a gold form, or is a short answer containing one."""
    r = fold(response)
    if not r:
        return False
    for g in golds:
        gf = fold(g)
        if not gf:
            continue
        if r == gf:
            return True
        if contains(r, gf) and len(tokens(r)) <= len(tokens(gf)) + 3:
            return True
    return False


def token_f1(response: str, gold: str) -> float:
    a, b = tokens(response), tokens(gold)
    if not a or not b:
        return 0.0
    common = sum(min(a.count(t), b.count(t)) for t in set(a))
    if common == 0:
        return 0.0
    p, r = common / len(a), common / len(b)
    return 2 * p * r / (p + r)


class _MeteredLLM:
    """Counts the judge's calls into the candidate's meter (``judge_answer`` owns the call itself)."""

    def __init__(self, llm: LLM, meter: Meter, stage: str):
        self._llm, self._meter, self._stage = llm, meter, stage
        self.role = getattr(llm, "role", "judge")
        self.model = getattr(llm, "model", "")
        self.embedded = bool(getattr(llm, "embedded", False))
        self.context_tokens = getattr(llm, "context_tokens", None)

    async def chat(self, messages: list[dict[str, Any]], **kwargs: Any) -> Any:
        c = await self._llm.chat(messages, **kwargs)
        self._meter.add(self._stage, c.usage)
        return c


JUDGE_MODES = ("auto", "llm", "normalized")


async def judge(
    question: str, answer: str, response: str, judge_llm: LLM | None, meter: Meter, stage: str, mode: str = "auto"
) -> dict[str, Any]:
    """Is ``response`` a correct answer?

    ``mode``: ``llm`` - the judge role decides, normalized match only when it gives no verdict; ``auto`` (default)
    - a normalized match counts as correct without a judge call (it cannot be a false positive), anything else
    goes to the judge; ``normalized`` - never call the judge.
    """
    golds = name_variants(answer)
    norm = normalized_match(response, golds)
    out: dict[str, Any] = {"response": response, "normalized_match": norm}
    if not response.strip():
        return {**out, "correct": False, "method": "empty"}
    if mode == "auto" and norm:
        return {**out, "correct": True, "method": "normalized"}
    verdict = None
    if judge_llm is not None and mode != "normalized":
        try:
            verdict = await judge_answer(question, golds, response, _MeteredLLM(judge_llm, meter, stage))
        except Exception as exc:  # noqa: BLE001 - a judge failure must not crash the run: fall back, say so
            log.warning("judge failed (%s); using normalized match", exc)
            out["judge_error"] = f"{type(exc).__name__}: {exc}"
    if verdict is not None and verdict.correct is not None:
        dump = verdict.model_dump()
        return {**out, "correct": bool(verdict.correct), "method": dump.get("method", "llm"), "verdict": dump}
    return {**out, "correct": norm, "method": "normalized"}


# ----------------------------------------------------------------------------- the two criteria


async def _ask_answer(
    llm: LLM, messages: list[dict[str, Any]], meter: Meter, stage: str, seed: int, temperature: float | None
) -> tuple[str, list[str]]:
    reply = await ask_json(
        llm,
        messages,
        schema=ANSWER_SCHEMA,
        name="answer",
        meter=meter,
        stage=stage,
        retries=1,
        max_tokens=48,
        seed=seed,
        temperature=temperature,
    )
    ans = (reply.value or {}).get("answer", "")
    return (ans.strip() if isinstance(ans, str) else ""), reply.raws


async def check_difficulty(
    verifier: LLM,
    judge_llm: LLM | None,
    question: str,
    answer: str,
    *,
    attempts: int,
    rng: random.Random,
    meter: Meter,
    temperature: float | None = 0.7,
    judge_mode: str = "auto",
) -> tuple[StageFailure | None, dict[str, Any]]:
    """Closed-book: keep only if every one of ``attempts`` answers is wrong."""
    runs = []
    for _ in range(attempts):
        msgs = prompts.render("verify_closed_book", question=question)
        resp, raws = await _ask_answer(verifier, msgs, meter, "difficulty", rng.randrange(1 << 30), temperature)
        verdict = await judge(question, answer, resp, judge_llm, meter, "difficulty", judge_mode)
        runs.append({**verdict, "raw": raws, "f1": round(token_f1(resp, answer), 3)})
        if verdict["correct"]:
            detail = {"attempts": runs}
            return StageFailure("difficulty", "closed_book_answerable", detail), detail
    return None, {"attempts": runs}


async def check_solvability(
    verifier: LLM,
    judge_llm: LLM | None,
    question: str,
    g: EntityGraph,
    *,
    rng: random.Random,
    meter: Meter,
    judge_mode: str = "auto",
    far: str | None = None,
    control: bool = True,
) -> tuple[StageFailure | None, dict[str, Any]]:
    """With G_entity in the prompt the verifier must answer correctly; with ``control``, it must also not name the
    answer when asked a decoy question about the chain's far end ``far`` (see ``decoy_question``)."""
    answer = g.nodes[g.answer].name
    msgs = prompts.render("verify_with_graph", question=question, graph=g.render(rng))
    resp, raws = await _ask_answer(verifier, msgs, meter, "solvability", rng.randrange(1 << 30), 0.0)
    verdict = await judge(question, answer, resp, judge_llm, meter, "solvability", judge_mode)
    detail = {**verdict, "raw": raws}
    if not verdict["correct"]:
        return StageFailure("solvability", "unsolvable_with_subgraph", detail), detail
    if control:
        decoy = decoy_question(g, far)
        if decoy is None:
            detail["control"] = {"skipped": "no fact of the chain's far end usable as a decoy"}
            return None, detail
        dq, dgold = decoy
        msgs = prompts.render("verify_with_graph", question=dq, graph=g.render(rng))
        dresp, draws = await _ask_answer(verifier, msgs, meter, "solvability", rng.randrange(1 << 30), 0.0)
        detail["control"] = {
            "question": dq,
            "gold": dgold,
            "response": dresp,
            "raw": draws,
            "answered_the_answer": normalized_match(dresp, name_variants(answer)),
        }
        if detail["control"]["answered_the_answer"]:
            return StageFailure("solvability", "verifier_ignores_question", detail), detail
    return None, detail


def decoy_question(g: EntityGraph, far: str | None) -> tuple[str, str] | None:
    """A control question about the chain's far end, answerable from G_entity, whose answer is NOT the answer.

    **Ours**: a verifier that names the answer whatever it is asked (the answer is the most prominent entity of
    G_entity by construction) passes the solvability check by chance; asked this decoy, it names the answer
    again and the candidate is rejected (``verifier_ignores_question``).
    """
    if far is None or far not in g.nodes or far == g.answer:
        return None
    node, answer = g.nodes[far], g.nodes[g.answer]
    for fact in node.facts:
        text = fact.text
        if any(contains(text, v) for v in name_variants(answer.name)):
            continue
        masked = substitute(text, {node.name: "X"})
        if masked != text and len(tokens(masked)) >= 4:
            return f'Which entity is X in this fact: "{masked}"?', node.name
    return None


# ----------------------------------------------------------------------------- curriculum label


def difficulty_label(*, chain_len: int, k: int, depth: int, strength: int, closed_book_f1: list[float]) -> dict:
    """A curriculum label (**ours**): more chain edges, a wider/deeper subgraph, stronger obfuscation and
    closed-book answers far from the gold (low token F1) all make a question harder.
    """
    margin = 1 - max(closed_book_f1 or [0.0])
    parts = {
        "chain": max(0, chain_len - 1),
        "width": 1 if k >= 5 else 0,
        "depth": max(0, depth - 1),
        "obfuscation": strength,
        "closed_book_margin": round(margin, 2),
    }
    score = parts["chain"] + parts["width"] + parts["depth"] + parts["obfuscation"] + margin
    label = "easy" if score < 2.5 else ("medium" if score < 4 else "hard")
    return {"label": label, "score": round(score, 2), "parts": parts}
