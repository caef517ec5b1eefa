"""Stage 2, topological expansion (METHOD.md section 2, step 2): G_sub = the seed + k pages around it.

The paper takes "k pages linked from v_seed" and does not say how they are chosen. **Ours**: a walk of depth
``d`` over out-links (d=1 is the paper's setting), where at each hop a pluggable *neighbour selector* picks
which candidates to keep:

- ``random``: uniform among the out-neighbours (reproducible from the candidate's seed);
- ``relevance``: lexical relevance to the seed (key-term overlap, idf-weighted over the candidates);
- ``llm``: the generator role picks from candidate titles (DeepDive-style LLM-chosen hops); on a malformed
  reply it falls back to ``relevance`` and says so in the subgraph record.

The subgraph keeps the pages gathered (seed first), the hop at which each was reached, the traversal edges
and every hyperlink among its pages (the induced edges, which the entity graph follows).
"""

from __future__ import annotations

import logging
import math
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from openseeker.errors import UserError
from openseeker.records import Page
from openseeker.registry import Registry
from openseeker.synth.qa import prompts
from openseeker.synth.qa.llmcall import Meter, ask_json
from openseeker.synth.qa.sampling import GraphLike, resolve
from openseeker.synth.qa.text import key_terms

if TYPE_CHECKING:
    from openseeker.llm.base import LLM

log = logging.getLogger(__name__)

MAX_CANDIDATES = 200  # out-links considered per hop (sampled reproducibly when a page has more)
LLM_CANDIDATES = 12  # candidate titles shown to the llm selector (pre-ranked by relevance)


@dataclass
class Candidate:
    parent: str  # url of the page whose link leads here
    page: Page


@dataclass
class SelectContext:
    seed: Page
    rng: random.Random
    llm: LLM | None = None
    meter: Meter | None = None
    notes: list[str] = field(default_factory=list)


class Selector(Protocol):
    name: str

    async def select(self, ctx: SelectContext, candidates: list[Candidate], n: int) -> list[Candidate]: ...


class RandomSelector:
    name = "random"

    async def select(self, ctx: SelectContext, candidates: list[Candidate], n: int) -> list[Candidate]:
        return ctx.rng.sample(candidates, min(n, len(candidates)))


def relevance_scores(seed: Page, candidates: list[Candidate]) -> list[float]:
    """Idf-weighted key-term overlap of each candidate (title + text) with the seed (title + text)."""
    seed_terms = set(key_terms(f"{seed.title} {seed.title} {seed.text}"))
    title_terms = set(key_terms(seed.title))
    docs = [set(key_terms(f"{c.page.title} {c.page.text[:2000]}")) for c in candidates]
    df = Counter(t for d in docs for t in d)
    n = len(docs) or 1
    scores = []
    for d in docs:
        overlap = d & seed_terms
        s = sum(math.log(1 + n / df[t]) for t in sorted(overlap))
        s += 2.0 * len(d & title_terms)  # the candidate talks about the seed's theme
        scores.append(s / math.sqrt(len(d) + 1))
    return scores


class RelevanceSelector:
    name = "relevance"

    async def select(self, ctx: SelectContext, candidates: list[Candidate], n: int) -> list[Candidate]:
        scores = relevance_scores(ctx.seed, candidates)
        order = sorted(range(len(candidates)), key=lambda i: (-scores[i], candidates[i].page.url))
        return [candidates[i] for i in order[:n]]


class LLMSelector:
    name = "llm"

    async def select(self, ctx: SelectContext, candidates: list[Candidate], n: int) -> list[Candidate]:
        if ctx.llm is None:
            raise UserError("the 'llm' neighbour selector needs a generator LLM")
        shortlist = await RelevanceSelector().select(ctx, candidates, LLM_CANDIDATES)
        shortlist = sorted(shortlist, key=lambda c: c.page.url)
        ctx.rng.shuffle(shortlist)  # the model must not just take the relevance order
        lines = "\n".join(
            f"{i}. {c.page.title}" + (f" - {c.page.description}" if c.page.description else "")
            for i, c in enumerate(shortlist, 1)
        )
        schema = {
            "type": "object",
            "properties": {
                "picks": {
                    "type": "array",
                    "items": {"type": "integer", "enum": list(range(1, len(shortlist) + 1))},
                    "minItems": 1,
                    "maxItems": n,
                }
            },
            "required": ["picks"],
        }
        reply = await ask_json(
            ctx.llm,
            prompts.render("select_hop", theme=ctx.seed.title, n=n, candidates=lines),
            schema=schema,
            name="select_hop",
            meter=ctx.meter or Meter(),
            stage="expand",
            max_tokens=64,
            seed=ctx.rng.randrange(1 << 30),
        )
        picked: list[Candidate] = []
        for i in (reply.value or {}).get("picks", []):
            if isinstance(i, int) and 1 <= i <= len(shortlist) and shortlist[i - 1] not in picked:
                picked.append(shortlist[i - 1])
        if not picked:
            ctx.notes.append(f"llm selector: {reply.error or 'no valid pick'}; fell back to relevance")
            return await RelevanceSelector().select(ctx, candidates, n)
        if len(picked) < n:  # top up with the most relevant remaining ones
            rest = [c for c in await RelevanceSelector().select(ctx, candidates, len(candidates)) if c not in picked]
            picked += rest[: n - len(picked)]
        return picked[:n]


SELECTORS: Registry[type[Selector]] = Registry("neighbour selector")
SELECTORS.register("random", RandomSelector)
SELECTORS.register("relevance", RelevanceSelector)
SELECTORS.register("llm", LLMSelector)


def get_selector(name: str) -> Selector:
    """The neighbour selector registered under ``name`` (did-you-mean on a typo)."""
    return SELECTORS.get(name)()


@dataclass
class Subgraph:
    seed: str
    urls: list[str]
    pages: dict[str, Page]
    hops: dict[str, int]
    tree: list[tuple[str, str]]  # traversal edges (parent -> child)
    edges: list[tuple[str, str]]  # every hyperlink among the subgraph's pages
    selector: str = ""
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "urls": self.urls,
            "titles": [self.pages[u].title for u in self.urls],
            "hops": self.hops,
            "tree": [list(e) for e in self.tree],
            "edges": [list(e) for e in self.edges],
            "selector": self.selector,
            "notes": self.notes,
        }


def _neighbours(graph: GraphLike, page: Page, rng: random.Random, exclude: set[str]) -> list[Candidate]:
    links = graph.out_links(page.url)
    if len(links) > MAX_CANDIDATES:
        links = rng.sample(links, MAX_CANDIDATES)
    out, seen = [], set()
    for link in links:
        target = resolve(graph, link.dst)
        if target is None or target.url in exclude or target.url in seen or not target.text.strip():
            continue
        seen.add(target.url)
        out.append(Candidate(parent=page.url, page=target))
    return out


async def expand(
    graph: GraphLike,
    seed: Page,
    *,
    k: int,
    depth: int = 1,
    selector: str | Selector = "relevance",
    rng: random.Random | None = None,
    llm: LLM | None = None,
    meter: Meter | None = None,
) -> Subgraph:
    """Gather up to ``k`` pages around ``seed`` by following out-links for at most ``depth`` hops.

    Each hop h takes ceil(remaining / hops left) pages from the out-neighbours of the previous hop's pages,
    so depth 1 is the paper's "k pages linked from the seed" and larger depths make longer chains possible.
    """
    rng = rng or random.Random(0)
    sel = get_selector(selector) if isinstance(selector, str) else selector
    ctx = SelectContext(seed=seed, rng=rng, llm=llm, meter=meter)
    urls, pages, hops = [seed.url], {seed.url: seed}, {seed.url: 0}
    tree: list[tuple[str, str]] = []
    frontier = [seed]
    for hop in range(1, depth + 1):
        remaining = k - (len(urls) - 1)
        if remaining <= 0 or not frontier:
            break
        want = math.ceil(remaining / (depth - hop + 1))
        cands: list[Candidate] = []
        seen = set(urls)
        for page in frontier:
            for c in _neighbours(graph, page, rng, seen):
                seen.add(c.page.url)
                cands.append(c)
        if not cands:
            break
        chosen = await sel.select(ctx, cands, want)
        frontier = []
        for c in chosen:
            urls.append(c.page.url)
            pages[c.page.url] = c.page
            hops[c.page.url] = hop
            tree.append((c.parent, c.page.url))
            frontier.append(c.page)
    members = set(urls)
    by_title = {pages[u].title: u for u in urls}
    edges: list[tuple[str, str]] = []
    for u in urls:
        for link in graph.out_links(u):
            dst = link.dst if link.dst in members else by_title.get(link.dst)
            if dst in members and dst != u and (u, dst) not in edges:
                edges.append((u, dst))
    return Subgraph(
        seed=seed.url, urls=urls, pages=pages, hops=hops, tree=tree, edges=edges, selector=sel.name, notes=ctx.notes
    )
