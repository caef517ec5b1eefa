"""Stages 5-6, entity and question obfuscation (METHOD.md section 2, steps 5-6).

Entity obfuscation maps each concrete entity e to a vague but true description phi(e), written by the generator
from e's facts only; a description is rejected if it names the entity (or the answer) or if fewer than
``DESC_GROUNDING`` of its key terms occur in e's facts (**ours**: the same lexical grounding as extraction).
When the model fails, a page entity falls back to its corpus description (e.g. Wikipedia's short description)
if that does not name it (``by="corpus"``); otherwise the candidate is rejected.

Question obfuscation rewrites q_init with the descriptions (same chain, same answer). If the rewrite still
names an obfuscated entity, names left over are substituted mechanically (``method="llm+substitution"``).

Strength (**ours**): 0 = no obfuscation (q = q_init); 1 = the entities of the chain named in q_init;
2 = every entity of G_entity named in q_init, plus years bucketed into decades and numbers rounded.
"""

from __future__ import annotations

import logging
import random
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from openseeker.synth.qa import prompts
from openseeker.synth.qa.entities import Entity, EntityGraph
from openseeker.synth.qa.generate import Generated, StageFailure, question_problem
from openseeker.synth.qa.llmcall import Meter, ask_json
from openseeker.synth.qa.text import contains, grounding, name_variants, tokens

if TYPE_CHECKING:
    from openseeker.llm.base import LLM

log = logging.getLogger(__name__)

DESC_GROUNDING = 0.5
DESC_MAX_WORDS = 25

_YEAR = re.compile(r"(?<![\d.,])(1[0-9]{3}|20[0-9]{2})(?![\d]|[.,]\d)(年)?")
_NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d{2,})(?:\.\d+)?(?![\w]|[.,]\d)")


def bucket_year(year: int, lang: str = "en") -> str:
    decade = year // 10 * 10
    if lang == "zh":
        return f"{decade}年代"
    part = "early" if year % 10 <= 3 else ("mid" if year % 10 <= 6 else "late")
    return f"the {part} {decade}s"


def bucket_numbers(text: str, lang: str = "en") -> str:
    """Years -> "the late 1960s" (zh: "1960年代"); other numbers >= 10 -> "about" + one significant figure."""
    text = _YEAR.sub(lambda m: bucket_year(int(m.group(1)), lang), text)

    def num(m: re.Match) -> str:
        value = int(m.group(1).replace(",", ""))
        if value < 10:
            return m.group(0)
        mag = 10 ** (len(str(value)) - 1)
        rounded = int(value / mag + 0.5) * mag
        return f"约{rounded}" if lang == "zh" else f"about {rounded:,}"

    return _NUMBER.sub(num, text)


def _names_in(text: str, entity: Entity) -> list[str]:
    return [v for v in name_variants(entity.name) if contains(text, v)]


@dataclass
class Obfuscated:
    question: str
    mapping: dict[str, str] = field(default_factory=dict)  # entity name -> description
    detail: dict[str, Any] = field(default_factory=dict)


def entities_to_obfuscate(g: EntityGraph, gen: Generated, strength: int) -> list[Entity]:
    if strength <= 0:
        return []
    chain_ids = list(gen.chain_ids)  # ordered: far end first (deterministic descriptions and checks)
    for a, b in gen.chain:
        for name in (a, b):
            node = g.node(name)
            if node is not None and node.id not in chain_ids:
                chain_ids.append(node.id)
    pool = list(g.nodes.values()) if strength >= 2 else [g.nodes[i] for i in chain_ids if i in g.nodes]
    return [e for e in pool if not e.is_answer and _names_in(gen.q_init, e)]


async def describe_entity(
    llm: LLM,
    e: Entity,
    answer: Entity,
    *,
    lang: str,
    rng: random.Random,
    meter: Meter,
    retries: int,
    strength: int,
    corpus_description: str = "",
    forbidden: list[Entity] = (),
) -> tuple[str | None, dict[str, Any]]:
    facts_text = "\n".join(f"- {f.text}" for f in e.facts[:4])
    source = " ".join(f.text for f in e.facts) + " " + e.name

    def check(obj: dict[str, Any]) -> str | None:
        d = obj.get("description")
        if not isinstance(d, str) or not d.strip():
            return "empty_description"
        if _names_in(d, e):
            return "description_names_entity"
        if _names_in(d, answer):
            return "description_names_answer"
        if any(_names_in(d, other) for other in forbidden if other.id != e.id):
            return "description_names_other_entity"
        if len(tokens(d)) > DESC_MAX_WORDS * (3 if lang == "zh" else 1):
            return "description_too_long"
        if lang == "en" and grounding(d, source) < DESC_GROUNDING:
            return "description_ungrounded"
        return None

    reply = await ask_json(
        llm,
        prompts.render("obfuscate_entity", lang, name=e.name, facts=facts_text or "-"),
        schema={"type": "object", "properties": {"description": {"type": "string"}}, "required": ["description"]},
        name="description",
        meter=meter,
        stage="obfuscate",
        retries=retries,
        max_tokens=60,
        seed=rng.randrange(1 << 30),
        validate=check,
    )
    if reply.value is not None:
        desc = reply.value["description"].strip().rstrip(".")
        by = "llm"
    else:
        desc, by = None, None
        corpus = corpus_description.strip()
        if corpus and not any(_names_in(corpus, x) for x in (e, answer, *forbidden)):
            desc, by = corpus, "corpus"
    if desc and strength >= 2:
        desc = bucket_numbers(desc, lang)
    return desc, {"by": by, "raw": reply.raws, "error": reply.error}


def substitute(question: str, mapping: dict[str, str]) -> str:
    """Replace every (variant of a) name by its description, longest names first, whole words, any case."""
    pairs = sorted(((v, d) for name, d in mapping.items() for v in name_variants(name)), key=lambda p: -len(p[0]))
    for variant, desc in pairs:
        pattern = re.compile(rf"(?<!\w){re.escape(variant)}(?!\w)", re.IGNORECASE)
        question = pattern.sub(lambda _m, d=desc: d, question)
    return question


async def obfuscate(
    llm: LLM,
    g: EntityGraph,
    gen: Generated,
    *,
    strength: int,
    lang: str,
    rng: random.Random,
    meter: Meter,
    retries: int = 1,
    corpus_descriptions: dict[str, str] | None = None,
) -> Obfuscated | StageFailure:
    """Describe the entities vaguely, then rewrite q_init with the descriptions."""
    if strength <= 0:
        return Obfuscated(question=gen.q_init, detail={"strength": 0, "method": "none"})
    answer = g.nodes[g.answer]
    targets = entities_to_obfuscate(g, gen, strength)
    hidden = list(gen.chain_ids) if strength == 1 else list(g.nodes)  # names no description may contain
    forbidden = [g.nodes[i] for i in hidden if i in g.nodes and i != g.answer]
    mapping: dict[str, str] = {}
    per_entity: dict[str, Any] = {}
    for e in targets:
        corpus = (corpus_descriptions or {}).get(e.page_url or "", "")
        desc, info = await describe_entity(
            llm,
            e,
            answer,
            lang=lang,
            rng=rng,
            meter=meter,
            retries=retries,
            strength=strength,
            corpus_description=corpus,
            forbidden=forbidden,
        )
        per_entity[e.name] = {"description": desc, **info}
        if desc is None:
            return StageFailure(
                "obfuscate",
                "entity_obfuscation_failed",
                {"entity": e.name, "error": info["error"], "raw": info["raw"]},
            )
        mapping[e.name] = desc
    if not mapping:
        question, method, raws = gen.q_init, "nothing_to_obfuscate", []
    else:

        def check(obj: dict[str, Any]) -> str | None:
            q = obj.get("question")
            if not isinstance(q, str):
                return "malformed_json"
            return question_problem(q, lang)

        listing = "\n".join(f"- {name} -> {desc}" for name, desc in mapping.items())
        reply = await ask_json(
            llm,
            prompts.render("obfuscate_question", lang, question=gen.q_init, mapping=listing),
            schema={"type": "object", "properties": {"question": {"type": "string"}}, "required": ["question"]},
            name="question",
            meter=meter,
            stage="obfuscate",
            retries=retries,
            max_tokens=200,
            seed=rng.randrange(1 << 30),
            validate=check,
        )
        raws = reply.raws
        if reply.value is not None:
            question, method = reply.value["question"].strip(), "llm"
            leftover = [n for n in mapping if _names_in(question, g.node(n) or Entity(id=n, name=n))]
            if leftover:
                question, method = substitute(question, {n: mapping[n] for n in leftover}), "llm+substitution"
        else:
            question, method = substitute(gen.q_init, mapping), "substitution"
    if strength >= 2:
        question = bucket_numbers(question, lang)
    return Obfuscated(
        question=question,
        mapping=mapping,
        detail={"strength": strength, "method": method, "entities": per_entity, "rewrite_raw": raws},
    )
