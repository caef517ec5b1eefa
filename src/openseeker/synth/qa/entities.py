"""Stage 3, entity extraction (METHOD.md section 2, step 3): G_sub -> the entity subgraph G_entity.

The seed's central theme (its title) becomes the answer. From every page of G_sub the generator role extracts
entities related to the theme, each with a fact, under a JSON schema. Nodes are entities with their facts; edges
follow the page links and cite the page they come from:

- every page is a node (its *page entity*, named by its title);
- a hyperlink u -> v between two pages of G_sub becomes an edge between their page entities, labelled with the
  sentence of u that mentions v when there is one (**ours**);
- an entity extracted from page p hangs off p's page entity, labelled with its fact; an extracted name that is
  the title of another page of G_sub is merged into that page's node (so cross-page structure emerges).

Grounding (**ours**; the paper only says facts come from the pages): an extracted entity is kept only if its name
occurs in the page, and a fact only if at least ``min_grounding`` of its key terms (content words, numbers)
occur in the cited page text. This is a cheap lexical filter against hallucinated names, numbers and dates; it
does not check that the relation between the words is right. With ``lead_fact`` each page entity also gets the
first sentence of its page as a fact (``by="lead"``), so a chain exists even when a weak model extracts nothing.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from openseeker.records import Page
from openseeker.synth.qa import prompts
from openseeker.synth.qa.expand import Subgraph
from openseeker.synth.qa.llmcall import Meter, ask_json
from openseeker.synth.qa.text import contains, fold, grounding, key_terms, name_variants

if TYPE_CHECKING:
    from openseeker.llm.base import LLM

log = logging.getLogger(__name__)

_SENT = re.compile(r"(?<=[.!?。！？])\s+")


@dataclass
class Fact:
    text: str
    url: str
    by: str = "llm"  # "llm" (extracted), "lead" (first sentence of the page), "link" (sentence naming a link)
    grounding: float = 1.0


@dataclass
class Entity:
    id: str
    name: str
    facts: list[Fact] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)  # urls the entity was found on
    page_url: str | None = None  # set when the entity is a page of G_sub
    is_answer: bool = False


@dataclass
class EntityEdge:
    src: str
    dst: str
    relation: str
    url: str  # the page this edge is cited from
    kind: str = "link"  # "link" (page hyperlink) or "mention" (entity extracted from the src page)


@dataclass
class EntityGraph:
    answer: str  # id of the answer node
    nodes: dict[str, Entity] = field(default_factory=dict)
    edges: list[EntityEdge] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)

    def node(self, ref: str) -> Entity | None:
        """Look a node up by id or (folded) name."""
        return self.nodes.get(ref) or self.nodes.get(entity_id(ref))

    def adjacency(self) -> dict[str, dict[str, EntityEdge]]:
        adj: dict[str, dict[str, EntityEdge]] = {n: {} for n in self.nodes}
        for e in self.edges:
            adj[e.src].setdefault(e.dst, e)
            adj[e.dst].setdefault(e.src, e)
        return adj

    def edge_between(self, a: str, b: str) -> EntityEdge | None:
        return self.adjacency().get(a, {}).get(b)

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "nodes": [asdict(n) for n in self.nodes.values()],
            "edges": [asdict(e) for e in self.edges],
            "stats": self.stats,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EntityGraph:
        g = cls(answer=d["answer"], stats=dict(d.get("stats", {})))
        for n in d.get("nodes", []):
            g.nodes[n["id"]] = Entity(**{**n, "facts": [Fact(**f) for f in n.get("facts", [])]})
        g.edges = [EntityEdge(**e) for e in d.get("edges", [])]
        return g

    def render(self, rng: random.Random | None = None, max_lines: int = 40) -> str:
        """The graph as fact lines for the solvability verifier (shuffled so node order gives nothing away)."""
        lines = [f"- {n.name}: {f.text}" for n in self.nodes.values() for f in n.facts]
        lines += [
            f"- {self.nodes[e.src].name} -> {self.nodes[e.dst].name}: {e.relation}"
            for e in self.edges
            if e.kind == "link" and e.relation
        ]
        lines = list(dict.fromkeys(lines))
        if rng is not None:
            rng.shuffle(lines)
        return "\n".join(lines[:max_lines])


_ARTICLE = re.compile(r"^(the|a|an) ")


def entity_id(name: str) -> str:
    """Node id: the folded name without a leading article ("The Nuclear arms race" = "nuclear arms race")."""
    return _ARTICLE.sub("", fold(name))


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENT.split(text or "") if s.strip()]


def _sentence_naming(text: str, name: str) -> str | None:
    for s in sentences(text):
        if any(contains(s, v) for v in name_variants(name)):
            return s
    return None


EXTRACT_SCHEMA_NAME = "entities"


def extract_schema(n: int) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "entities": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "fact": {"type": "string"}},
                    "required": ["name", "fact"],
                },
                "maxItems": n,
            }
        },
        "required": ["entities"],
    }


async def extract_page(
    llm: LLM, page: Page, theme: str, *, n: int, max_chars: int, meter: Meter, retries: int = 1, seed: int = 0
) -> tuple[list[dict[str, str]], list[str], str | None]:
    """Ask the generator for up to ``n`` (name, fact) pairs from one page. Returns (items, raw replies, error)."""
    text = page.text[:max_chars]
    reply = await ask_json(
        llm,
        prompts.render("extract", title=page.title, text=text, n=n, theme=theme),
        schema=extract_schema(n),
        name=EXTRACT_SCHEMA_NAME,
        meter=meter,
        stage="extract",
        retries=retries,
        max_tokens=45 * n + 30,
        seed=seed,
    )
    items = []
    for it in (reply.value or {}).get("entities", []) or []:
        if isinstance(it, dict) and isinstance(it.get("name"), str) and isinstance(it.get("fact"), str):
            items.append({"name": it["name"].strip(), "fact": it["fact"].strip()})
    return items[:n], reply.raws, reply.error


async def build_entity_graph(
    llm: LLM,
    sub: Subgraph,
    *,
    facts: int = 4,
    max_chars: int = 1500,
    min_grounding: float = 0.8,
    lead_fact: bool = True,
    meter: Meter | None = None,
    retries: int = 1,
    seed: int = 0,
) -> tuple[EntityGraph, dict[str, Any]]:
    """Extract entities from every page of ``sub`` (concurrently) and condense them into an ``EntityGraph``.

    Returns the graph and the raw extraction log (per page: the model's raw replies and what was dropped).
    """
    meter = meter or Meter()
    theme = sub.pages[sub.seed].title
    g, page_node, title_index = page_graph(sub, lead_fact)
    stats = {"proposed": 0, "kept": 0, "name_not_in_page": 0, "ungrounded_fact": 0, "malformed_pages": 0}
    results = await asyncio.gather(
        *[
            extract_page(
                llm, sub.pages[u], theme, n=facts, max_chars=max_chars, meter=meter, retries=retries, seed=seed + i
            )
            for i, u in enumerate(sub.urls)
        ]
    )
    log_pages: dict[str, Any] = {}
    for url, (items, raws, error) in zip(sub.urls, results):
        page = sub.pages[url]
        source = f"{page.title}. {page.text[:max_chars]}"
        kept, dropped = [], []
        if error and not items:
            stats["malformed_pages"] += 1
        for it in items:
            stats["proposed"] += 1
            name, fact = it["name"], it["fact"]
            if not name or not key_terms(name) or not contains(source, name):
                stats["name_not_in_page"] += 1
                dropped.append({**it, "why": "name_not_in_page"})
                continue
            score = grounding(fact, source)
            if score < min_grounding or len(set(key_terms(fact))) < 2:
                stats["ungrounded_fact"] += 1
                dropped.append({**it, "why": "ungrounded_fact", "grounding": round(score, 2)})
                continue
            stats["kept"] += 1
            kept.append(it)
            _add_fact(g, page_node[url], title_index.get(entity_id(name), entity_id(name)), name, fact, url, score)
        log_pages[url] = {"raw": raws, "kept": kept, "dropped": dropped, "error": error}
    for node in g.nodes.values():  # one copy of each fact
        seen: set[str] = set()
        node.facts = [f for f in node.facts if not (fold(f.text) in seen or seen.add(fold(f.text)))]
    g.stats = stats
    return g, log_pages


def page_graph(sub: Subgraph, lead_fact: bool) -> tuple[EntityGraph, dict[str, str], dict[str, str]]:
    """The graph before extraction: one entity per page (its lead sentence as a fact), one edge per hyperlink.
    Returns it with url -> entity id and name-variant id -> entity id (mentions of a page title join its node)."""
    g = EntityGraph(answer=entity_id(sub.pages[sub.seed].title))
    page_node: dict[str, str] = {}
    title_index: dict[str, str] = {}
    for url in sub.urls:
        p = sub.pages[url]
        eid = entity_id(p.title)
        node = g.nodes.setdefault(eid, Entity(id=eid, name=p.title, page_url=url, is_answer=(url == sub.seed)))
        node.pages.append(url)
        page_node[url] = eid
        for v in name_variants(p.title):
            title_index.setdefault(entity_id(v), eid)
        if lead_fact and (lead := (sentences(p.text) or [""])[0]):
            node.facts.append(Fact(text=lead[:300], url=url, by="lead", grounding=1.0))
    for u, v in sub.edges:
        src, dst = page_node[u], page_node[v]
        sentence = _sentence_naming(sub.pages[u].text, sub.pages[v].title) or ""
        g.edges.append(EntityEdge(src=src, dst=dst, relation=sentence[:300], url=u, kind="link"))
    return g, page_node, title_index


def _add_fact(g: EntityGraph, home: str, eid: str, name: str, fact: str, url: str, score: float) -> None:
    """A kept fact: on the page's own entity, or on the mentioned entity with a ``mention`` edge from the page."""
    if eid == home:
        g.nodes[home].facts.append(Fact(text=fact, url=url, by="llm", grounding=round(score, 2)))
        return
    node = g.nodes.setdefault(eid, Entity(id=eid, name=name))
    if url not in node.pages:
        node.pages.append(url)
    node.facts.append(Fact(text=fact, url=url, by="llm", grounding=round(score, 2)))
    if g.edge_between(home, eid) is None:
        g.edges.append(EntityEdge(src=home, dst=eid, relation=fact[:300], url=url, kind="mention"))


# ----------------------------------------------------------------------------- chains


def chains_to_answer(g: EntityGraph, min_hops: int, max_hops: int, limit: int = 500) -> list[list[str]]:
    """Simple paths (as node-id lists ending at the answer) with min_hops..max_hops edges, shortest-first.

    A path qualifies only if its start is ``len(path)-1`` edges away from the answer by the shortest route too,
    i.e. reaching the answer from the start really needs that many edges (no shortcut edge).
    """
    adj = g.adjacency()
    dist = {g.answer: 0}
    queue = [g.answer]
    while queue:  # BFS distances from the answer
        nxt = []
        for a in queue:
            for b in adj.get(a, {}):
                if b not in dist:
                    dist[b] = dist[a] + 1
                    nxt.append(b)
        queue = nxt
    out: list[list[str]] = []

    def walk(path: list[str]) -> None:
        if len(out) >= limit:
            return
        hops = len(path) - 1
        if hops >= min_hops and dist.get(path[-1]) == hops:
            out.append(list(reversed(path)))
        if hops >= max_hops:
            return
        for b in sorted(adj.get(path[-1], {})):
            if b not in path and dist.get(b) == hops + 1:
                walk(path + [b])

    walk([g.answer])
    return out
