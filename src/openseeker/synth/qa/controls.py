"""The controls of QA synthesis (METHOD.md section 2, "controllable"), validated in one place."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from openseeker.errors import UserError
from openseeker.records import content_id
from openseeker.synth.qa.expand import SELECTORS


@dataclass
class QAControls:
    """Knobs of one synthesis run. Every accepted sample records the controls it was made with.

    Attributes:
        k: pages gathered around the seed (the paper's complexity/coverage knob).
        depth: hops of the expansion walk (1 = pages linked from the seed, the paper's setting; default 2 so that
            page links alone give chains of 2 edges on sparse graphs).
        selector: neighbour selection: ``random``, ``relevance`` or ``llm``.
        facts: entities (each with one fact) extracted per page.
        min_hops: edges the reasoning chain must traverse to reach the answer (at least 2).
        max_hops: longest chain considered.
        obfuscation: 0 = none, 1 = entities named in the chain, 2 = all entities + years/numbers bucketed.
        lang: language of the question (en, zh, es, fr, ...).
        topic: seed filter on the page topic (wiki-offline has e.g. "Arts", "History", "Geography").
        page_lang: seed filter on the page language (None = any).
        min_out_degree: seed filter: pages with at least this many out-links.
        attempts: closed-book attempts of the difficulty check (all must be wrong).
        min_grounding: share of a fact's key terms that must occur in its cited page.
        lead_fact: give every page entity its page's first sentence as a fact.
        max_chars: page text shown to the extractor.
        dedup: shingle-Jaccard threshold above which a question is a near-duplicate.
        retries: extra attempts when the model's JSON is malformed or fails validation.
        judge: correctness of verifier answers: ``auto`` (normalized match, else the judge role), ``llm``
            (always the judge role) or ``normalized`` (never an LLM judge).
        solvability_control: after a correct with-subgraph answer, ask a decoy question about the chain's far end;
            naming the answer again rejects the candidate (a verifier that ignores the question).
        questions_per_graph: questions written over one extracted G_entity until one passes every gate (the paper:
            1). Extraction is most of a candidate's cost, so more questions per graph is more accepted per minute
            with a weak generator; every question still goes through every check.
    """

    k: int = 3
    depth: int = 2
    selector: str = "relevance"
    facts: int = 3
    min_hops: int = 2
    max_hops: int = 3
    obfuscation: int = 1
    lang: str = "en"
    topic: str | None = None
    page_lang: str | None = None
    min_out_degree: int = 1
    attempts: int = 2
    min_grounding: float = 0.8
    lead_fact: bool = True
    max_chars: int = 1200
    dedup: float = 0.6
    retries: int = 1
    judge: str = "auto"
    solvability_control: bool = True
    questions_per_graph: int = 1

    def __post_init__(self) -> None:
        problems = []
        if self.k < 1:
            problems.append("k must be >= 1")
        if self.depth < 1:
            problems.append("depth must be >= 1")
        if self.k < self.depth:
            problems.append("k must be >= depth (each hop adds at least one page)")
        if self.facts < 1:
            problems.append("facts must be >= 1")
        if self.min_hops < 2:
            problems.append("min_hops must be >= 2 (a multi-hop question needs several edges)")
        if self.max_hops < self.min_hops:
            problems.append("max_hops must be >= min_hops")
        if self.obfuscation not in (0, 1, 2):
            problems.append("obfuscation must be 0, 1 or 2")
        if not self.lang or not self.lang.isalpha():
            problems.append(f"lang must be a language code like en or zh, got {self.lang!r}")
        if self.attempts < 1:
            problems.append("attempts must be >= 1")
        if not 0 < self.min_grounding <= 1:
            problems.append("min_grounding must be in (0, 1]")
        if not 0 < self.dedup <= 1:
            problems.append("dedup must be in (0, 1]")
        if self.judge not in ("auto", "llm", "normalized"):
            problems.append(f"judge must be auto, llm or normalized, got {self.judge!r}")
        if self.retries < 0:
            problems.append("retries must be >= 0")
        if self.questions_per_graph < 1:
            problems.append("questions_per_graph must be >= 1")
        SELECTORS.check(self.selector)  # raises with a did-you-mean
        if problems:
            raise UserError("bad QA synthesis controls: " + "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def fingerprint(self) -> str:
        """A hash of every control: candidate ids depend on it, so a run with other controls never resumes
        into (and is never mistaken for) one with these."""
        controls = self.to_dict()
        if controls["questions_per_graph"] == 1:  # the default: the ids of runs made before it existed are kept
            del controls["questions_per_graph"]
        return content_id(controls, length=8)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> QAControls:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise UserError(f"unknown QA control(s): {', '.join(unknown)}")
        return cls(**d)
