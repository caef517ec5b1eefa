"""How often does the verifier role answer the easiest question QA synthesis could ask it? (a model's floor)

Why: the demo's QA synthesis accepts 0-2 of its 40 candidates, most lost at the solvability check (the verifier,
given G_entity, must name the answer). Is that the generated questions or the verifier? This script asks the
verifier the easiest honest question there is: one sentence of the answer's own page with the answer masked as X
(a sentence naming the chain's next entity when there is one, else the page's first sentence naming the answer),
with G_entity, whose facts hold that very sentence, in the prompt. It goes through the checks ``synth qa`` runs:
solvability (``check_solvability``, with the decoy control) and difficulty (one closed-book attempt), correctness
by normalized match. A verifier that cannot answer these cannot honestly pass the harder questions a pipeline
writes; a real model should pass nearly all (point the roles at one with ``--config``).

Run: ``python benchmarks/verifier_floor.py [--seeds 40] [--web DIR] [--config FILE] [--out FILE]``
(default: the embedded model with the demo's QA settings over a wiki-offline web built in a temporary folder).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from openseeker.cli.demo import DEMO_CONFIG
from openseeker.llm.config import resolve_llm_config
from openseeker.llm.pool import LLMPool
from openseeker.synth.qa.entities import chains_to_answer, page_graph, sentences
from openseeker.synth.qa.expand import expand
from openseeker.synth.qa.llmcall import Meter
from openseeker.synth.qa.obfuscate import substitute
from openseeker.synth.qa.sampling import sample_seeds
from openseeker.synth.qa.text import contains, name_variants
from openseeker.synth.qa.verify import check_difficulty, check_solvability
from openseeker.web.local import LocalWeb


def masked_question(sentence: str, answer: str) -> str:
    """The sentence as a fill-in question: every form of the answer's name replaced by X."""
    return f'Which entity is X in this fact: "{substitute(sentence, {answer: "X"})}"?'


def pick_sentence(text: str, answer: str, neighbour: str) -> tuple[str, str] | None:
    """(sentence, kind): one naming the answer and the chain's next entity, else the first naming the answer."""
    names = name_variants(answer)
    naming = [s for s in sentences(text) if any(contains(s, v) for v in names)]
    for s in naming:
        if any(contains(s, v) for v in name_variants(neighbour)):
            return s, "names_next_entity"
    return (naming[0], "first_naming_answer") if naming else None


async def one(pool: LLMPool, graph, page, index: int) -> dict:
    rng, meter = random.Random(index), Meter()
    verifier = pool.role("verifier")
    sub = await expand(graph, page, k=3, depth=2, selector="relevance", rng=rng, meter=meter)
    row: dict = {"seed": page.title}
    g, _, _ = page_graph(sub, True)
    chains = chains_to_answer(g, 2, 3) or chains_to_answer(g, 1, 1)
    if not chains:
        return {**row, "skipped": "no_chain"}
    chain = chains[0]
    answer = g.nodes[g.answer].name
    picked = pick_sentence(sub.pages[sub.seed].text, answer, g.nodes[chain[-2]].name)
    if picked is None:
        return {**row, "skipped": "no_sentence_naming_the_answer"}
    question = masked_question(picked[0], answer)
    solv_fail, solv = await check_solvability(
        verifier, None, question, g, rng=rng, meter=meter, judge_mode="normalized", far=chain[0], control=True
    )
    diff_fail, _ = await check_difficulty(
        verifier, None, question, answer, attempts=1, rng=rng, meter=meter, judge_mode="normalized"
    )
    response = solv.get("response", "")
    return {
        **row,
        "answer": answer,
        "sentence": picked[1],
        "question": question,
        "response": response,
        "solvable": bool(solv.get("correct")),
        "control_passed": solv_fail is None,
        "closed_book_wrong": diff_fail is None,
        "accepted": solv_fail is None and diff_fail is None,
        "echoed_the_fact": bool(re.search(r"(?<!\w)X(?!\w)", response)),
    }


async def run(web: Path, n: int, config: Path) -> tuple[list[dict], dict]:
    graph = LocalWeb.open(web).graph
    seeds = sample_seeds(graph, n, seed=0)
    cfg = resolve_llm_config(config=config)
    async with LLMPool(cfg) as pool:
        sem = asyncio.Semaphore(8)

        async def bounded(i: int, p) -> dict:
            async with sem:
                return await one(pool, graph, p, i)

        rows = await asyncio.gather(*[bounded(i, p) for i, p in enumerate(seeds)])
        models = pool.describe() if hasattr(pool, "describe") else {}
    return list(rows), models.get("verifier", {})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=40, help="seed pages (default 40, the demo's candidate cap)")
    ap.add_argument("--web", type=Path, help="a web directory (default: wiki-offline built in a temp folder)")
    ap.add_argument("--config", type=Path, help="LLM config mapping the verifier role (default: the demo's)")
    ap.add_argument("--out", default="benchmarks/results/verifier_floor.json")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="verifier-floor-") as tmp:
        web = args.web
        if web is None:
            web = Path(tmp) / "web"
            cmd = [sys.executable, "-m", "openseeker.cli.main", "web", "build", "--source", "wiki-offline"]
            subprocess.run([*cmd, "--out", str(web)], check=True, capture_output=True)
        config = args.config
        if config is None:
            config = Path(tmp) / "demo.yaml"
            config.write_text(DEMO_CONFIG)
        t0 = time.perf_counter()
        rows, model = asyncio.run(run(web, args.seeds, config))
        seconds = time.perf_counter() - t0
    asked = [r for r in rows if "question" in r]
    summary = {
        "seeds": len(rows),
        "skipped": {
            k: sum(r.get("skipped") == k for r in rows) for k in {r["skipped"] for r in rows if "skipped" in r}
        },
        "questions": len(asked),
        "solvable": sum(r["solvable"] for r in asked),
        "solvable_and_control": sum(r["control_passed"] for r in asked),
        "closed_book_wrong": sum(r["closed_book_wrong"] for r in asked),
        "accepted": sum(r["accepted"] for r in asked),
        "echoed_the_fact": sum(r["echoed_the_fact"] for r in asked),
        "seconds": round(seconds, 1),
    }
    out = {
        "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "verifier": model,
        "summary": summary,
        "rows": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2, ensure_ascii=False))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
