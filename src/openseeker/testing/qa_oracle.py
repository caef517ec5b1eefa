"""A tiny world and a rule-based "oracle" model for testing and demonstrating QA synthesis without a real LLM.

``tiny_world()`` is a 9-page web with hyperlinks. ``Oracle`` answers every prompt of ``prompts.py`` (and the
judge's) by rules, like a competent model would; switches turn on each failure the pipeline must catch
(closed-book-answerable, unsolvable, answer leak, entity leak, duplicates, malformed JSON). Use it through
``ScriptedChatServer(oracle.reply)`` (real HTTP) or ``FakeLLM(oracle.fake)`` (in-process).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from openseeker.records import Page
from openseeker.synth.qa.memgraph import MemoryGraph
from openseeker.synth.qa.text import contains, fold, name_variants
from openseeker.testing.chat_server import Reply

W = "https://en.wikipedia.org/wiki/"

_PAGES = [
    (
        "Ray Charles",
        "Music",
        "Ray Charles was an American singer and pianist born in Albany, Georgia. "
        "His 1960 recording of Georgia on My Mind became a number one hit.",
    ),
    (
        "Georgia on My Mind",
        "Music",
        "Georgia on My Mind is a 1930 song written by Hoagy Carmichael and Stuart "
        "Gorrell. It became the official state song of Georgia in 1979.",
    ),
    (
        "Hoagy Carmichael",
        "Music",
        "Hoagy Carmichael was an American composer and pianist born in Bloomington, Indiana. He also wrote Stardust.",
    ),
    (
        "Stardust",
        "Music",
        "Stardust is a 1927 song composed by Hoagy Carmichael, one of the most recorded American songs.",
    ),
    (
        "Georgia (U.S. state)",
        "Geography",
        "Georgia is a state in the Southeastern United States. Its capital and largest city is Atlanta.",
    ),
    ("Atlanta", "Geography", "Atlanta is the capital of Georgia. It hosted the 1996 Summer Olympics."),
    (
        "Indiana",
        "Geography",
        "Indiana is a state in the Midwestern United States. Its capital is "
        "Indianapolis, and Bloomington hosts Indiana University.",
    ),
    (
        "Summer Olympics",
        "Sport",
        "The Summer Olympics are an international multi-sport event held every four "
        "years; Atlanta hosted them in 1996.",
    ),
    (
        "Marie Curie",
        "Science",
        "Marie Curie was a Polish physicist and chemist who won the Nobel Prize in "
        "Physics in 1903. She was born in Warsaw.",
    ),
]


def tiny_world() -> MemoryGraph:
    """Nine short pages whose links are their title mentions (like the wiki-offline web)."""
    pages = [
        Page(url=W + t.replace(" ", "_"), title=t, text=x, topic=topic, description=f"{topic} article")
        for t, topic, x in _PAGES
    ]
    links = []
    for p in pages:
        for q in pages:
            if p is not q and any(contains(p.text, v) for v in name_variants(q.title)):
                links.append((p.url, q.url))
    return MemoryGraph(pages, links)


def _user(messages: list[dict[str, Any]]) -> str:
    return next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")


def _schema(request: dict[str, Any]) -> dict[str, Any]:
    fmt = request.get("response_format") or {}
    return (fmt.get("json_schema") or {}).get("schema") or {}


@dataclass
class Oracle:
    """Rule-based answers to the QA-synthesis prompts. Flags switch on failures.

    Attributes:
        closed_book_knows: the closed-book verifier answers correctly (-> closed_book_answerable).
        solvable: the with-graph verifier answers correctly (False -> unsolvable_with_subgraph).
        name_answer: the generated question names the answer (-> generate: answer_in_question).
        leak_answer: the rewritten (obfuscated) question names the answer (-> leak: answer_leak).
        leak_entity: the rewritten question names a chain entity that q_init did not (-> entity_leak).
        same_question: every generated question is the same text (-> near_duplicate).
        malformed: prompt names (extract, generate, obfuscate_entity, ...) answered with broken JSON.
        short_chain: the generator cites a one-edge chain (-> chain_too_short).
        solvable_every: the with-graph verifier answers only every n-th generated question correctly (a weak
            verifier; decoy questions do not count).
    """

    closed_book_knows: bool = False
    solvable: bool = True
    leak_answer: bool = False
    name_answer: bool = False
    leak_entity: bool = False
    same_question: bool = False
    short_chain: bool = False
    solvable_every: int = 1
    malformed: set[str] = field(default_factory=set)
    answers: dict[str, str] = field(default_factory=dict)  # question -> answer, learnt while generating
    chains: dict[str, list[str]] = field(default_factory=dict)  # question -> the chain it was written for
    calls: dict[str, int] = field(default_factory=dict)

    # -- adapters
    def reply(self, request: dict[str, Any]) -> Any:

        return Reply(content=self.answer(request.get("messages", []), _schema(request)))

    def fake(self, messages: list[dict[str, Any]], kwargs: dict[str, Any]) -> str:
        fmt = kwargs.get("response_format") or {}
        return self.answer(messages, (fmt.get("json_schema") or {}).get("schema") or {})

    # -- routing
    def answer(self, messages: list[dict[str, Any]], schema: dict[str, Any]) -> str:
        text = _user(messages)
        kind = self._kind(text)
        self.calls[kind] = self.calls.get(kind, 0) + 1
        if kind in self.malformed:
            return '{"oops": [unterminated'
        return json.dumps(getattr(self, f"_{kind}")(text, schema), ensure_ascii=False)

    @staticmethod
    def _kind(text: str) -> str:
        if "[correct_answer]" in text:
            return "judge"
        if text.startswith("We are writing a puzzle"):
            return "select_hop"
        if text.startswith("Text about"):
            return "extract"
        if "Write one question" in text or "写一个答案是" in text:
            return "generate"
        if text.startswith("Facts about") or text.startswith("关于"):
            return "obfuscate_entity"
        if text.startswith("Question:") or text.startswith("问题："):
            return "obfuscate_question"
        if text.startswith("Facts:") and "Using these facts" in text:
            return "verify_with_graph"
        return "verify_closed_book"

    # -- prompt handlers
    def _select_hop(self, text: str, schema: dict) -> dict:
        n = int(re.search(r"Pick the (\d+)", text).group(1))
        return {"picks": list(range(1, n + 1))}

    def _extract(self, text: str, schema: dict) -> dict:
        m = re.match(r"Text about (.*?):\n(.*?)\n\nList", text, re.S)
        title, body = m.group(1), m.group(2)
        out = []
        for t, _, _ in _PAGES:
            if t != title and any(contains(body, v) for v in name_variants(t)):
                sent = next(s for s in re.split(r"(?<=\.)\s+", body) if any(contains(s, v) for v in name_variants(t)))
                out.append({"name": name_variants(t)[-1] if not contains(body, t) else t, "fact": sent})
        for city in ("Albany", "Warsaw", "Bloomington", "Indianapolis"):
            if city in body:
                out.append({"name": city, "fact": next(s for s in re.split(r"(?<=\.)\s+", body) if city in s)})
        out.append({"name": "Zorblax Institute", "fact": "Zorblax Institute funded the 1834 moon landing."})
        return {"entities": out}

    def _generate(self, text: str, schema: dict) -> dict:
        task = text.split("Now.", 1)[-1] if "Now." in text else text.split("现在。", 1)[-1]
        m = re.search(r"^Answer: (.*)\. Chain: (.*)\.$", task, re.M)
        m = m or re.search(r"^答案：(.*)。链：(.*)。$", task, re.M)
        answer, names = m.group(1), [x.strip() for x in m.group(2).split(" -> ")]
        chain = names[-2:] if self.short_chain else names
        far = names[0]
        if self.same_question:
            q = (
                "Which American song, state, capital, city, composer or singer born somewhere is the hidden subject "
                "of this little puzzle?"
            )
        elif self.name_answer:
            q = f"Which subject related to {far} is {answer}?"
        else:
            q = f"Which subject is connected, through one more step, to {far}?"
        self.answers[q] = answer
        self.chains[q] = names
        return {"question": q, "chain": chain}

    def _obfuscate_entity(self, text: str, schema: dict) -> dict:
        m = re.match(r"(?:Facts about|关于)(.*?)(?::|的事实：)\n(.*?)\n\n", text, re.S)
        name, facts = m.group(1).strip(), m.group(2)
        fact = facts.splitlines()[0].lstrip("- ")
        for v in name_variants(name):
            fact = re.sub(re.escape(v), "it", fact, flags=re.I)
        for t, _, _ in _PAGES:  # a good describer names no other entity either
            for v in name_variants(t):
                fact = re.sub(rf"\b{re.escape(v)}\b", "somewhere", fact)
        for city in ("Albany", "Warsaw", "Bloomington", "Indianapolis", "Indiana University"):
            fact = fact.replace(city, "a city")
        return {"description": "something where " + " ".join(fact.split()[:10])}

    def _obfuscate_question(self, text: str, schema: dict) -> dict:
        q = re.match(r"(?:Question: |问题：)(.*?)\n", text).group(1)
        mapping = re.findall(r"^- (.*?) -> (.*)$", text, re.M)
        new = q
        for name, desc in mapping:
            new = re.sub(re.escape(name), desc, new, flags=re.I)
        if self.leak_answer and q in self.answers:
            new = new.rstrip("?") + f" (hint: {self.answers[q]})?"
        if self.leak_entity and q in self.chains:  # name the chain's middle entity, which q_init did not
            new = new.rstrip("?") + f", by way of {self.chains[q][1]}?"
        if q in self.answers:
            self.answers[new] = self.answers[q]
        return {"question": new}

    def _verify_closed_book(self, text: str, schema: dict) -> dict:
        q = re.search(r"Question: (.*)\n", text).group(1)
        return {"answer": self.answers.get(q, "?") if self.closed_book_knows else "I do not know"}

    def _verify_with_graph(self, text: str, schema: dict) -> dict:
        q = re.search(r"Question: (.*)\n", text).group(1)
        if q in self.answers:
            self.calls["verified_questions"] = self.calls.get("verified_questions", 0) + 1
            if self.calls["verified_questions"] % self.solvable_every:
                return {"answer": "Zorblax"}
        return {"answer": self.answers.get(q, "?") if self.solvable else "Zorblax"}

    def _judge(self, text: str, schema: dict) -> dict:
        resp = re.search(r"\[response\]: (.*?)\n\n\[correct_answer\]", text, re.S).group(1)
        gold = re.search(r"\[correct_answer\]: (.*?)\n\n", text, re.S).group(1)
        golds = [g.strip() for g in re.split(r"\s*(?:\||;| OR |, or )\s*", gold) if g.strip()] or [gold]
        ok = any(fold(resp) == fold(g) for g in golds) or fold(resp) == fold(gold)
        return {
            "extracted_final_answer": resp,
            "reasoning": "compared",
            "correct": "yes" if ok else "no",
            "confidence": 100,
        }
