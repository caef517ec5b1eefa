"""Leakage guard: domain blocklist and forbidden-text n-grams, with counts."""

from __future__ import annotations

import asyncio

from openseeker.eval.leakage import DomainBlocklist, ForbiddenText, GuardedWeb
from openseeker.records import Page
from openseeker.testing.fake_web import FakeWeb
from openseeker.web.tools import VisitTool

Q = (
    "An engineer born in a city famous for mustard designed a wrought iron lattice tower completed in the late "
    "nineteenth century; where was he born?"
)


def test_blocklist_rules():
    bl = DomainBlocklist()
    assert bl.blocked("https://huggingface.co/datasets/x")
    assert bl.blocked("https://datasets-server.huggingface.co/rows")  # subdomain
    assert bl.blocked("https://raw.githubusercontent.com/openai/simple-evals/main/browsecomp_eval.py")
    assert not bl.blocked("https://github.com/openai/other-repo")
    assert not bl.blocked("https://nothuggingface.co/")
    assert not bl.blocked("https://en.wikipedia.org/wiki/Dijon")
    assert DomainBlocklist(["example.org/private"]).blocked("http://www.example.org/private/a")


def test_forbidden_text_ngrams():
    ft = ForbiddenText([Q, "Dijon"], n=8)
    assert ft.hit("Quiz: " + Q[:120])
    assert not ft.hit("Dijon is a city in eastern France famous for mustard.")  # short answer not forbidden
    zh = ForbiddenText(["在某个知名的葡萄酒产区中的某个地区存在一个只产某种葡萄酒的地区"], n=10)
    assert zh.hit("转载：知名的葡萄酒产区中的某个地区存在")


def test_guarded_web_counts():
    pages = [
        Page(url="https://huggingface.co/datasets/bench", title="bench", text="mustard tower engineer " + Q),
        Page(url="https://quiz.example/copy", title="copy", text="Q: " + Q),
        Page(url="https://en.wikipedia.org/wiki/Dijon", title="Dijon", text="Dijon, city famous for mustard."),
    ]
    web = GuardedWeb(FakeWeb(pages), question=Q, answers=["Dijon"], n=8)
    hits = asyncio.run(web.search(["mustard tower engineer"]))[0]
    assert [h.url for h in hits] == ["https://en.wikipedia.org/wiki/Dijon"]
    assert web.stats.blocked_domain_hits == 1
    visit = VisitTool(web)
    out = asyncio.run(
        visit.execute(
            {
                "url": [
                    "https://huggingface.co/datasets/bench",
                    "https://quiz.example/copy",
                    "https://en.wikipedia.org/wiki/Dijon",
                ],
                "goal": "birthplace",
            }
        )
    )
    assert "blocked" in out and "mustard" in out
    assert web.stats.blocked_domain_fetches == 1 and web.stats.blocked_text_fetches == 1
    assert web.stats.total() >= 3
