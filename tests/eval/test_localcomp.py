"""LocalComp: QA synthesized over a web (the real pipeline, scripted LLM over HTTP) -> `eval freeze` -> `eval run`
on the frozen benchmark reports accuracy and evidence recall; a changed web is refused."""

from __future__ import annotations

import asyncio
import json

import pytest

from openseeker.cli.main import main
from openseeker.errors import UserError
from openseeker.eval import localcomp
from openseeker.eval.cli_offline import after_run, web_for
from openseeker.eval.loaders import load_benchmark
from openseeker.eval.qrels import load_qrels
from openseeker.eval.run import EvalSettings, Roles, evaluate_async
from openseeker.io import read_jsonl
from openseeker.llm.config import endpoint_config
from openseeker.llm.pool import LLMPool
from openseeker.synth.qa import QAControls, synthesize_qa_async
from openseeker.testing.chat_server import ScriptedChatServer
from openseeker.testing.fakes import FakeLLM
from openseeker.testing.qa_oracle import Oracle, tiny_world
from openseeker.web.build import build_web
from openseeker.web.local import LocalWeb


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("lc")
    graph = tiny_world()
    src = d / "pages.jsonl"
    src.write_text(
        "".join(json.dumps({"url": p.url, "title": p.title, "text": p.text}) + "\n" for p in graph.pages.values()),
        encoding="utf-8",
    )
    build_web(src, d / "web", progress=False)

    async def synth():
        oracle = Oracle()
        with ScriptedChatServer(oracle.reply) as srv:
            cfg = endpoint_config(srv.base_url, "scripted", cache=False, max_retries=0)
            async with LLMPool(cfg) as pool:
                return await synthesize_qa_async(
                    graph,
                    3,
                    d / "qa.jsonl",
                    pool=pool,
                    controls=QAControls(),
                    seed=0,
                    concurrency=2,
                    max_candidates=9,
                    progress=False,
                )

    assert asyncio.run(synth())["accepted"] == 3
    return d


def test_freeze_writes_questions_qrels_hash_and_protocol(world, tmp_path):
    out = tmp_path / "bench"
    assert (
        main(
            [
                "eval",
                "freeze",
                "--qa",
                str(world / "qa.jsonl"),
                "--web",
                str(world / "web"),
                "--out",
                str(out),
                "--holdout",
                "2",
                "--seed",
                "1",
            ]
        )
        == 0
    )
    meta = json.loads((out / "benchmark.json").read_text())
    assert meta["questions"] == 2 and meta["split"] == {"holdout": 2, "seed": 1, "rest": 1}
    assert meta["web"]["content_sha256"] == localcomp.web_content_hash(world / "web")
    assert meta["protocol"]["judge_prompt"] and meta["qa"]["sha256"]
    qa = {r["id"]: r for r in read_jsonl(world / "qa.jsonl")}
    held = (out / "heldout_ids.txt").read_text().split()
    assert sorted(held + (out / "rest_ids.txt").read_text().split()) == sorted(qa)
    evidence, gold = load_qrels(out / "qrel_evidence.txt"), load_qrels(out / "qrel_golds.txt")
    with LocalWeb.open(world / "web") as w:
        for qid in held:
            assert len(evidence[qid]) >= 2 and all(w.graph.get(u) for u in evidence[qid])  # a multi-hop chain
            answer_page = w.graph.get(gold[qid][0])
            assert answer_page.title.casefold() == qa[qid]["answer"].casefold()
            assert set(evidence[qid]) <= set(qa[qid]["subgraph"]["urls"])
    items = load_benchmark("localcomp", out)
    assert [i.id for i in items] == held and items[0].answers == [qa[held[0]]["answer"]]


def test_run_on_frozen_benchmark_reports_accuracy_and_evidence_recall(world, tmp_path):
    bench = tmp_path / "bench"
    localcomp.freeze(world / "qa.jsonl", world / "web", bench, copy_web=True)
    items = load_benchmark("localcomp", bench)
    evidence = load_qrels(bench / "qrel_evidence.txt")
    titles = {}
    with LocalWeb.open(world / "web") as w:
        for it in items:
            titles[it.question] = [w.graph.get(u).title for u in evidence[it.id]]
    first = items[0].question

    def student(messages, kwargs):
        q = next(m["content"] for m in messages if m["role"] == "user")
        it = next(i for i in items if i.question in q)
        searched = any(m["role"] == "tool" or "A search for" in str(m.get("content")) for m in messages[2:])
        if it.question == first and not searched:  # searches the chain's pages by title, then answers
            call = {"name": "search", "arguments": {"query": titles[it.question]}}
            return "<tool_call>" + json.dumps(call) + "</tool_call>"
        return f"<answer>{it.answers[0] if it.question == first else 'nobody'}</answer>"

    def judge(messages, kwargs):
        text = messages[0]["content"]
        resp, gold = text.split("[response]:")[1].split("[correct_answer]:")
        ok = gold.split("\n")[0].strip().casefold() in resp.casefold()
        return json.dumps(
            {"extracted_final_answer": "x", "reasoning": "r", "correct": "yes" if ok else "no", "confidence": 90}
        )

    web = web_for("localcomp", bench, None)
    assert web == str(bench / "web")
    settings = EvalSettings(
        benchmark="localcomp", path=str(bench), web=web, agent={"concurrency": 1, "max_tool_calls": 3}
    )
    with LocalWeb.open(web) as w:
        rep = asyncio.run(
            evaluate_async(
                settings,
                tmp_path / "out",
                progress=False,
                web_obj=w,
                roles=Roles(student=FakeLLM(student, model="s"), judge=FakeLLM(judge, model="j")),
            )
        )
    assert rep["accuracy"] == pytest.approx(1 / len(items), abs=1e-3)
    retrieval = after_run("localcomp", bench, web, tmp_path / "out")
    # the first question's search returns every chain page (recall 1), the others never search (recall 0)
    assert retrieval["evidence_recall"] == pytest.approx(1 / len(items))
    assert retrieval["runs"] == len(items) and retrieval["search_calls_per_query"] == pytest.approx(1 / len(items))
    saved = json.loads((tmp_path / "out" / "report.json").read_text())
    assert saved["retrieval"]["evidence_recall"] == retrieval["evidence_recall"]


def test_changed_web_is_refused(world, tmp_path):
    bench = tmp_path / "bench"
    localcomp.freeze(world / "qa.jsonl", world / "web", bench)
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"title": "Elsewhere", "text": "nothing"}) + "\n")
    build_web(other, tmp_path / "web2", progress=False)
    with pytest.raises(UserError, match="differ from the web"):
        web_for("localcomp", bench, str(tmp_path / "web2"))
    assert web_for("localcomp", bench, None) == str(world / "web")  # the recorded web, hash checked


def test_freeze_refuses_a_web_without_the_cited_pages(world, tmp_path):
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"title": "Elsewhere", "text": "nothing"}) + "\n")
    build_web(other, tmp_path / "web2", progress=False)
    with pytest.raises(UserError, match="not in .*web2"):
        localcomp.freeze(world / "qa.jsonl", tmp_path / "web2", tmp_path / "bench")
    bad = tmp_path / "qa.jsonl"
    bad.write_text(json.dumps({"id": "x", "question": "q", "answer": "a"}) + "\n")
    with pytest.raises(UserError, match="qa.jsonl:1: QA x has no verification record"):
        localcomp.freeze(bad, world / "web", tmp_path / "bench")
