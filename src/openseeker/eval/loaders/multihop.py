"""Local-corpus multi-hop sets (MuSiQue, HotpotQA samples in the HippoRAG format) whose paragraphs become the web.

- MuSiQue ``musique_*.json``: list of ``{id, question, answer, answer_aliases, paragraphs: [{title,
  paragraph_text, is_supporting}], question_decomposition, answerable}``; corpus ``musique_*_corpus.json``:
  list of ``{title, text}``.
- HotpotQA ``hotpotqa_*.json``: list of ``{_id, question, answer, type, level, context: [[title, [sent...]]],
  supporting_facts}``; corpus ``hotpotqa_*_corpus.json``: ``{title: [sentences]}``.

``multihop_pages`` turns the corpus (or, without a corpus file, every question's paragraphs) into ``Page``s:
one page per title (paragraphs sharing a title are joined), url ``https://en.wikipedia.org/wiki/<Title>``.
The whole file's paragraphs are used whatever the subset, so distractors do not depend on ``--limit``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from openseeker.eval.loaders.base import json_items, read_json, require_file
from openseeker.records import EvalItem, Page


def _resolve(path: Path, family: str) -> Path:
    if path.is_dir():
        for cand in sorted(path.glob(f"{family}_*.json")):
            if not cand.stem.endswith("_corpus"):
                return cand
        data = path / "data"
        if data.is_dir():
            return _resolve(data, family)
    return require_file(path, f"{family} questions JSON")


def page_url(title: str) -> str:
    return "https://en.wikipedia.org/wiki/" + quote(title.replace(" ", "_"), safe="_()',-.")


def load_musique(path: Path) -> Iterator[EvalItem]:
    path = _resolve(path, "musique")
    for _, obj in json_items(path, ("id", "question", "answer")):
        answers = [obj["answer"], *[a for a in obj.get("answer_aliases", []) if a != obj["answer"]]]
        support = [p["title"] for p in obj.get("paragraphs", []) if p.get("is_supporting")]
        yield EvalItem(
            id=f"musique-{obj['id']}",
            question=obj["question"],
            answers=answers,
            language="en",
            benchmark="musique",
            metadata={"category": str(obj["id"]).split("__")[0], "supporting_urls": [page_url(t) for t in support]},
        )


def load_hotpotqa(path: Path) -> Iterator[EvalItem]:
    path = _resolve(path, "hotpotqa")
    for i, obj in json_items(path, ("question", "answer")):
        support = sorted({sf[0] for sf in obj.get("supporting_facts", []) if sf})
        yield EvalItem(
            id=f"hotpotqa-{obj.get('_id', obj.get('id', i))}",
            question=obj["question"],
            answers=[obj["answer"]],
            language="en",
            benchmark="hotpotqa",
            metadata={
                "category": f"{obj.get('type', '')}/{obj.get('level', '')}",
                "supporting_urls": [page_url(t) for t in support],
            },
        )


def multihop_pages(path: Path, family: str) -> list[Page]:
    """The web of a multi-hop file: its corpus file's paragraphs (or its questions' paragraphs)."""
    qpath = _resolve(path, family)
    corpus = qpath.with_name(qpath.stem + "_corpus.json")
    by_title: dict[str, list[str]] = {}

    def add(title: str, text: str) -> None:
        texts = by_title.setdefault(title, [])
        if text and text not in texts:
            texts.append(text)

    if corpus.exists():
        data = read_json(corpus)
        if isinstance(data, dict):  # HotpotQA: {title: [sentences]}
            for title, sents in data.items():
                add(str(title), "".join(sents) if isinstance(sents, list) else str(sents))
        else:
            for obj in data:
                add(str(obj["title"]), str(obj.get("text", "")))
    else:
        for obj in read_json(qpath):
            for p in obj.get("paragraphs", []):
                add(p["title"], p.get("paragraph_text", p.get("text", "")))
            for title, sents in obj.get("context", []):
                add(title, "".join(sents))
    return [
        Page(url=page_url(title), title=title, text="\n\n".join(texts), source=f"{family}:{qpath.name}")
        for title, texts in by_title.items()
    ]
