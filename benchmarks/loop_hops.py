"""Where a model's multi-hop search stops: for each MuSiQue question-run of a loop evaluation, how many hops of the
gold chain (the supporting paragraphs in the order of the question's decomposition) its visits reached in order,
how many distinct pages it read, and whether its answer was a bridge entity (an intermediate hop's answer).

Run: ``python benchmarks/loop_hops.py OUT/eval/MODEL/musique OUT/data/musique-heldout.json`` (docs/loop.md)
"""

from __future__ import annotations

import argparse
import collections
import json
from pathlib import Path

from openseeker.io import iter_jsonl
from openseeker.metrics import hotpot_normalize as norm


def hops(eval_dir: Path, heldout: Path) -> dict[str, int]:
    questions = {q["id"]: q for q in json.loads(heldout.read_text(encoding="utf-8"))}
    out: collections.Counter[str] = collections.Counter()
    for _, t in iter_jsonl(eval_dir / "trajectories.jsonl"):
        q = questions.get(t["id"].split("#")[0].removeprefix("musique-"))
        if q is None:
            continue
        steps = q.get("question_decomposition") or []
        chain = [q["paragraphs"][d["paragraph_support_idx"]]["title"] for d in steps]
        visited = [u.rsplit("/", 1)[-1].replace("_", " ") for s in t["steps"] for c in s["tool_calls"]
                   if c["name"] == "visit" for u in c["arguments"].get("url") or []]  # fmt: skip
        read = {norm(v) for v in visited}
        reached = next((i for i, title in enumerate(chain) if norm(title) not in read), len(chain))
        out[f"{len(chain)}-hop questions, first {reached} hop(s) reached"] += 1
        out[f"distinct pages read: {len(read)}"] += 1
        answer = norm(t.get("final_answer") or "")
        out["answered a bridge entity"] += bool(answer) and answer in {norm(d.get("answer") or "") for d in steps[:-1]}
        out["question-runs"] += 1
    return dict(sorted(out.items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("eval_dir", type=Path)
    ap.add_argument("heldout", type=Path)
    args = ap.parse_args()
    for k, v in hops(args.eval_dir, args.heldout).items():
        print(f"{v:4d}  {k}")


if __name__ == "__main__":
    main()
