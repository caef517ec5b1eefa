"""Stage 4, question generation (METHOD.md section 2, step 4): q_init from G_entity, answer = the theme.

Hard constraint of the paper: reaching the answer must require traversing several edges of G_entity. **Ours**:
we enumerate chains (simple paths ending at the answer, with no shortcut edge) of ``min_hops``..``max_hops``
edges, pick one reproducibly (the shortest first, then those with most LLM-extracted facts), and show the
generator the facts along it. The generator returns the question *and the chain of edges it used*; the edge
strings are constrained by the JSON schema to edges that exist (an enum), and the returned chain is validated:
it must be connected, reach the answer, and its far end must be at least ``min_hops`` edges from the answer.
The chain is stated as a path of entity names (constrained to an enum of the graph's names near the proposed
path); edge lists (``"A -> B"``) are accepted too.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from openseeker.synth.qa import prompts
from openseeker.synth.qa.entities import EntityGraph, chains_to_answer, entity_id
from openseeker.synth.qa.llmcall import Meter, ask_json
from openseeker.synth.qa.text import contains, has_cjk, jaccard, key_terms, name_variants, shingles, tokens

if TYPE_CHECKING:
    from openseeker.llm.base import LLM

log = logging.getLogger(__name__)

ARROW = " -> "
MAX_ENUM_NAMES = 16


@dataclass
class Generated:
    q_init: str
    chain: list[list[str]]  # edges as [from_name, to_name], from the far end towards the answer
    chain_ids: list[str]  # node ids of the proposed path (far end first, answer last)
    raw: list[str] = field(default_factory=list)


@dataclass
class StageFailure:
    """Why a stage rejected a candidate (becomes a ``Rejection`` record)."""

    stage: str
    reason: str
    detail: dict[str, Any] = field(default_factory=dict)


def pick_chain(g: EntityGraph, *, min_hops: int, max_hops: int, rng: random.Random) -> list[str] | None:
    paths = chains_to_answer(g, min_hops, max_hops)
    if not paths:
        return None

    def score(p: list[str]) -> tuple[int, int]:  # the shortest qualifying chains first (min_hops is the knob)
        llm_facts = sum(1 for n in p[:-1] for f in g.nodes[n].facts if f.by == "llm")
        return (-len(p), llm_facts)

    paths.sort(key=score, reverse=True)
    best = score(paths[0])
    top = [p for p in paths if score(p) == best]
    return rng.choice(top)


def _edge_str(g: EntityGraph, a: str, b: str) -> str:
    return f"{g.nodes[a].name}{ARROW}{g.nodes[b].name}"


def parse_edge(g: EntityGraph, item: Any) -> tuple[str, str] | None:
    if isinstance(item, str) and "->" in item:
        a, _, b = item.partition("->")
    elif isinstance(item, (list, tuple)) and len(item) == 2 and all(isinstance(x, str) for x in item):
        a, b = item
    elif isinstance(item, dict) and isinstance(item.get("from"), str) and isinstance(item.get("to"), str):
        a, b = item["from"], item["to"]
    else:
        return None
    na, nb = g.node(a.strip()), g.node(b.strip())
    if na is None or nb is None:
        return None
    return na.id, nb.id


def chain_edges(g: EntityGraph, chain: Any) -> tuple[str | None, list[tuple[str, str]]]:
    """The edges a stated chain uses. A chain is a path of entity names (``["Atlanta", "Georgia", "Ray
    Charles"]``) or a list of edges (``["Atlanta -> Georgia", ...]`` or pairs)."""
    if not isinstance(chain, list) or not chain:
        return "chain_missing", []
    if all(isinstance(x, str) and "->" not in x for x in chain):  # a path of names
        nodes = [g.node(x.strip()) for x in chain]
        if any(n is None for n in nodes):
            return "chain_unknown_edge", []
        ids = [n.id for n in nodes]
        if len(set(ids)) != len(ids):
            return "chain_not_connected", []
        return None, list(zip(ids, ids[1:]))
    edges = []
    for item in chain:
        e = parse_edge(g, item)
        if e is None:
            return "chain_unknown_edge", edges
        edges.append(e)
    return None, edges


def validate_chain(g: EntityGraph, chain: Any, min_hops: int) -> tuple[str | None, list[tuple[str, str]]]:
    """Check a generator-stated chain against G_entity. Returns (reason or None, the edges as id pairs)."""
    reason, raw = chain_edges(g, chain)
    if reason:
        return reason, raw
    if not raw:
        return "chain_missing", []
    adj = g.adjacency()
    edges: list[tuple[str, str]] = []
    for e in raw:
        if e[1] not in adj.get(e[0], {}):
            return "chain_unknown_edge", edges
        if e not in edges and (e[1], e[0]) not in edges:
            edges.append(e)
    nodes = {n for e in edges for n in e}
    if g.answer not in nodes:
        return "chain_misses_answer", edges
    # connectivity and depth inside the chain's own edges
    cadj: dict[str, set[str]] = {n: set() for n in nodes}
    for a, b in edges:
        cadj[a].add(b)
        cadj[b].add(a)
    dist, frontier = {g.answer: 0}, [g.answer]
    while frontier:
        nxt = []
        for a in frontier:
            for b in cadj[a]:
                if b not in dist:
                    dist[b] = dist[a] + 1
                    nxt.append(b)
        frontier = nxt
    if len(dist) != len(nodes):
        return "chain_not_connected", edges
    if max(dist.values()) < min_hops:
        return "chain_too_short", edges
    return None, edges


def chain_nodes(g: EntityGraph, edges: list[tuple[str, str]]) -> list[str]:
    """The chain's nodes, farthest from the answer first (the answer last)."""
    cadj: dict[str, set[str]] = {}
    for a, b in edges:
        cadj.setdefault(a, set()).add(b)
        cadj.setdefault(b, set()).add(a)
    dist, frontier = {g.answer: 0}, [g.answer]
    while frontier:
        nxt = []
        for a in frontier:
            for b in sorted(cadj.get(a, ())):
                if b not in dist:
                    dist[b] = dist[a] + 1
                    nxt.append(b)
        frontier = nxt
    return sorted(dist, key=lambda n: (-dist[n], n))


def chain_schema(g: EntityGraph, path: list[str], rng: random.Random) -> dict[str, Any]:
    """JSON schema of the stated chain: a path of names whose i-th name is one of the entities exactly
    ``hops - i`` edges from the answer, ending at the answer (**ours**: the grammar enforces the chain's shape,
    the model still chooses the entities, and ``validate_chain`` still checks that consecutive ones are linked).
    """
    adj = g.adjacency()
    dist, frontier = {g.answer: 0}, [g.answer]
    while frontier:
        nxt = []
        for a in frontier:
            for b in sorted(adj.get(a, {})):
                if b not in dist:
                    dist[b] = dist[a] + 1
                    nxt.append(b)
        frontier = nxt
    hops = len(path) - 1
    slots = []
    for i, node in enumerate(path):
        level = sorted(n for n, d in dist.items() if d == hops - i and n != node)
        rng.shuffle(level)
        names = [g.nodes[node].name] + [g.nodes[n].name for n in level[: MAX_ENUM_NAMES - 1]]
        names = sorted(dict.fromkeys(names))
        slots.append({"type": "string", "enum": names})
    return {"type": "array", "prefixItems": slots, "minItems": len(slots), "maxItems": len(slots)}


def _facts_block(g: EntityGraph, path: list[str], per_node: int = 2) -> str:
    lines = []
    for a, b in zip(path, path[1:]):
        e = g.edge_between(a, b)
        if e is not None and e.relation:
            lines.append(f"- {e.relation}")
    for n in path:
        node = g.nodes[n]
        facts = sorted(node.facts, key=lambda f: f.by != "llm")[:per_node]
        lines += [f"- {node.name}: {f.text}" if not f.text.startswith(node.name) else f"- {f.text}" for f in facts]
    return "\n".join(dict.fromkeys(lines))


CJK_LANGS = ("zh", "ja", "ko")


def question_problem(q: str, lang: str | None = None) -> str | None:
    """Cheap shape checks of a generated question (a weak model often echoes the chain or writes a statement)."""
    q = q.strip()
    if lang is not None and (lang in CJK_LANGS) != has_cjk(q):
        return "wrong_language"
    if (len(q) < 8) if has_cjk(q) else (len(tokens(q)) < 4):
        return "empty_question"
    if "->" in q:
        return "question_echoes_chain"
    if "?" not in q and "？" not in q:
        return "not_a_question"
    if any(jaccard(shingles(q), shingles(ex)) >= 0.5 for ex in prompts.EXAMPLE_QUESTIONS):
        return "copied_example"
    return None


async def generate_question(
    llm: LLM,
    g: EntityGraph,
    *,
    min_hops: int = 2,
    max_hops: int = 3,
    lang: str = "en",
    rng: random.Random,
    meter: Meter,
    retries: int = 1,
) -> Generated | StageFailure:
    """Write q_init for the answer ``g.answer`` along a chain of at least ``min_hops`` edges."""
    path = pick_chain(g, min_hops=min_hops, max_hops=max(max_hops, min_hops), rng=rng)
    if path is None:
        return StageFailure(
            "generate", "no_chain", {"min_hops": min_hops, "nodes": len(g.nodes), "edges": len(g.edges)}
        )
    answer = g.nodes[g.answer].name
    schema = {
        "type": "object",
        "properties": {"question": {"type": "string"}, "chain": chain_schema(g, path, rng)},
        "required": ["question", "chain"],
    }

    def check(obj: dict[str, Any]) -> str | None:
        if not isinstance(obj.get("question"), str):
            return "malformed_json"
        problem = question_problem(obj["question"], lang)
        if problem:
            return problem
        if any(contains(obj["question"], v) for v in name_variants(answer)):
            return "answer_in_question"
        same_script = has_cjk(obj["question"]) == has_cjk(facts)  # a zh question on English facts: no check
        if same_script and not set(key_terms(obj["question"])) & chain_terms:  # **ours**: generic = useless
            return "question_not_grounded"
        reason, _ = validate_chain(g, obj.get("chain"), min_hops)
        return reason

    facts = _facts_block(g, path)
    chain_terms = set(key_terms(facts)) - set(key_terms(answer))
    messages = prompts.render(
        "generate",
        lang,
        facts=facts,
        answer=answer,
        chain=ARROW.join(g.nodes[n].name for n in path),
    )
    reply = await ask_json(
        llm,
        messages,
        schema=schema,
        name="question",
        meter=meter,
        stage="generate",
        retries=retries,
        max_tokens=200,
        seed=rng.randrange(1 << 30),
        validate=check,
    )
    if reply.value is None:
        return StageFailure(
            "generate",
            reply.error or "malformed_json",
            {"raw": reply.raws, "proposed_chain": [g.nodes[n].name for n in path]},
        )
    _, edges = validate_chain(g, reply.value["chain"], min_hops)
    chain = [[g.nodes[a].name, g.nodes[b].name] for a, b in edges]
    return Generated(
        q_init=reply.value["question"].strip(), chain=chain, chain_ids=chain_nodes(g, edges), raw=reply.raws
    )


__all__ = ["Generated", "StageFailure", "generate_question", "validate_chain", "pick_chain", "entity_id"]
