"""End-to-end QA synthesis through real HTTP (ScriptedChatServer + the llm helper's pool): accepted samples
with full provenance, every rejection path, resumption without duplicates, the CLI and the yield report."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from openseeker.cli.main import main
from openseeker.io import read_jsonl
from openseeker.llm.config import endpoint_config
from openseeker.llm.pool import LLMPool
from openseeker.records import QASample, Rejection
from openseeker.synth.qa import QAControls, synthesize_qa_async
from openseeker.synth.qa.prompts import PROMPT_VERSIONS
from openseeker.synth.qa.report import rejected_path, report_path
from openseeker.testing.chat_server import ScriptedChatServer
from openseeker.testing.qa_oracle import Oracle, tiny_world


def synth(
    oracle: Oracle,
    out: Path,
    n: int = 3,
    *,
    graph=None,
    max_candidates: int = 9,
    concurrency: int = 3,
    workers: int = 1,
    **controls,
) -> dict:
    from openseeker.executors import get_executor

    async def go():
        with ScriptedChatServer(oracle.reply) as srv:
            cfg = endpoint_config(srv.base_url, "scripted", cache=False, max_retries=0)
            async with LLMPool(cfg) as pool:
                return await synthesize_qa_async(
                    graph or tiny_world(),
                    n,
                    out,
                    pool=pool,
                    controls=QAControls(**controls),
                    seed=0,
                    concurrency=concurrency,
                    max_candidates=max_candidates,
                    progress=False,
                    llm_config=cfg,
                    executor=get_executor("local", workers=workers, progress=False, concurrency=concurrency),
                )

    return asyncio.run(go())


def test_accepted_samples_carry_full_provenance(tmp_path):
    out = tmp_path / "qa.jsonl"
    report = synth(Oracle(), out, n=3)
    rows = read_jsonl(out)
    assert len(rows) == 3 == report["accepted"]
    for row in rows:
        s = QASample.model_validate(row)
        assert s.question and s.answer and s.q_init and s.seed_url == s.subgraph["urls"][0]
        assert s.subgraph["edges"] and s.entity_graph["nodes"] and s.entity_graph["edges"]
        assert all(f["url"] in s.subgraph["urls"] for n in s.entity_graph["nodes"] for f in n["facts"])
        assert len(s.chain) >= 2 and s.obfuscation
        assert s.answer.casefold() not in s.question.casefold()
        assert all(name.casefold() not in s.question.casefold() for name in s.obfuscation)
        v = s.verification
        assert len(v["difficulty"]["attempts"]) == 2 and all(a["raw"] for a in v["difficulty"]["attempts"])
        assert v["solvability"]["correct"] and v["solvability"]["raw"]
        assert s.controls["k"] == 3 and s.difficulty in ("easy", "medium", "hard")
        assert s.usage["calls"] > 0 and s.usage["per_stage"]["extract"]["calls"] >= 2
        assert s.metadata["prompt_versions"]["generate"] == PROMPT_VERSIONS["generate"]
        assert s.metadata["models"]["generator"]["model"] == "scripted"
    saved = json.loads(report_path(out).read_text())
    assert saved["accepted"] == 3 and saved["llm"]["calls_per_accepted"] > 0
    assert saved["stages"][0]["in"] == saved["candidates"]
    assert saved["stages"][-1]["out"] == 3


@pytest.mark.parametrize(
    ("oracle", "stage", "reason"),
    [
        (Oracle(closed_book_knows=True), "difficulty", "closed_book_answerable"),
        (Oracle(solvable=False), "solvability", "unsolvable_with_subgraph"),
        (Oracle(leak_answer=True), "leak", "answer_leak"),
        (Oracle(name_answer=True), "generate", "answer_in_question"),
        (Oracle(leak_entity=True), "leak", "entity_leak"),
        (Oracle(malformed={"generate"}), "generate", "malformed_json"),
        (Oracle(short_chain=True), "generate", "chain_too_short"),
    ],
)
def test_rejection_paths_are_recorded(tmp_path, oracle, stage, reason):
    out = tmp_path / "qa.jsonl"
    report = synth(oracle, out, n=2, max_candidates=6)
    assert report["accepted"] == 0 and not read_jsonl(out)
    rejected = [Rejection.model_validate(r) for r in read_jsonl(rejected_path(out))]
    reasons = {(r.stage, r.reason) for r in rejected}
    assert (stage, reason) in reasons
    hit = next(r for r in rejected if (r.stage, r.reason) == (stage, reason))
    assert hit.detail["seed_url"] and hit.detail["usage"]["calls"] > 0
    by_stage = {s["stage"]: s for s in report["stages"]}
    assert by_stage[stage]["rejected"][reason] >= 1


def test_near_duplicates_are_dropped(tmp_path):
    out = tmp_path / "qa.jsonl"
    report = synth(Oracle(same_question=True), out, n=3, max_candidates=9, concurrency=1)
    assert report["accepted"] == 1
    dups = [r for r in read_jsonl(rejected_path(out)) if r["reason"] == "near_duplicate"]
    assert dups and dups[0]["detail"]["of"] == read_jsonl(out)[0]["id"]


def test_rerun_resumes_without_duplicates_or_retries(tmp_path):
    out = tmp_path / "qa.jsonl"
    oracle = Oracle()
    synth(oracle, out, n=2)
    first = read_jsonl(out)
    rejected_first = read_jsonl(rejected_path(out))
    assert len(first) == 2
    calls_before = sum(oracle.calls.values())
    synth(oracle, out, n=2)  # same command: nothing to do
    assert read_jsonl(out) == first and sum(oracle.calls.values()) == calls_before
    synth(oracle, out, n=4, max_candidates=9)  # more wanted: appends, keeps the first two
    rows = read_jsonl(out)
    ids = [r["id"] for r in rows]
    assert rows[:2] == first and len(ids) == len(set(ids)) == 4
    rej_ids = [r["id"] for r in read_jsonl(rejected_path(out))]
    assert len(rej_ids) == len(set(rej_ids)) and not set(rej_ids) & set(ids)
    assert {r["id"] for r in rejected_first} <= set(rej_ids)
    runs = json.loads(report_path(out).read_text())["runs"]
    assert len(runs) == 3 and runs[1]["new_accepted"] == runs[1]["new_rejected"] == 0


def test_interrupted_run_resumes(tmp_path):
    """Cancel mid-run (Ctrl-C), tear the last line as a crash would, re-run: complete, no duplicates."""
    out = tmp_path / "qa.jsonl"
    oracle = Oracle()

    async def interrupted():
        with ScriptedChatServer(oracle.reply) as srv:
            cfg = endpoint_config(srv.base_url, "scripted", cache=False, max_retries=0)
            async with LLMPool(cfg) as pool:
                task = asyncio.create_task(
                    synthesize_qa_async(
                        tiny_world(), 4, out, pool=pool, concurrency=2, max_candidates=9, progress=False
                    )
                )
                while not (out.exists() and out.read_text().count("\n") >= 1):
                    await asyncio.sleep(0.01)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task

    asyncio.run(interrupted())
    before = read_jsonl(out)
    assert 1 <= len(before) < 4
    with out.open("a") as fh:
        fh.write('{"kind": "qa", "id": "torn')  # a crash mid-write
    synth(oracle, out, n=4, concurrency=2)
    rows = read_jsonl(out)
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)) == 4 and rows[: len(before)] == before


def test_cli_qa_and_report(tmp_path, capsys):
    from openseeker.web.build import build_web

    src = tmp_path / "world.jsonl"
    g = tiny_world()
    with src.open("w") as fh:
        for p in g.pages.values():
            links = [link.dst for link in g.out_links(p.url)]
            fh.write(
                json.dumps({"url": p.url, "title": p.title, "text": p.text, "links": links, "topic": p.topic}) + "\n"
            )
    build_web(src, tmp_path / "web", progress=False)
    out = tmp_path / "qa.jsonl"
    with ScriptedChatServer(Oracle().reply) as srv:
        code = main(
            [
                "synth",
                "qa",
                "--web",
                str(tmp_path / "web"),
                "--n",
                "2",
                "--out",
                str(out),
                "--k",
                "3",
                "--base-url",
                srv.base_url,
                "--model",
                "scripted",
                "--config",
                str(_no_cache(tmp_path)),
                "--max-candidates",
                "9",
                "--no-progress",
            ]
        )
    assert code == 0
    printed = capsys.readouterr().out
    assert "accepted 2" in printed and "solvability" in printed
    assert len(read_jsonl(out)) == 2
    assert main(["synth", "report", str(out)]) == 0
    assert "accepted 2" in capsys.readouterr().out
    assert main(["synth", "report", str(tmp_path / "missing.jsonl")]) == 2
    assert (
        main(["synth", "qa", "--web", str(tmp_path / "web"), "--n", "1", "--out", str(out), "--obfuscation", "5"]) == 2
    )


def test_cli_candidates_lost_to_llm_errors_are_listed_and_fail_the_command(tmp_path, capsys):
    """Before: `synth qa` exited 0 after losing candidates to LLM errors, with no sidecar naming them."""
    from openseeker.testing.chat_server import Reply
    from openseeker.web.build import build_web

    src = tmp_path / "world.jsonl"
    g = tiny_world()
    with src.open("w") as fh:
        for p in g.pages.values():
            links = [link.dst for link in g.out_links(p.url)]
            fh.write(json.dumps({"url": p.url, "title": p.title, "text": p.text, "links": links}) + "\n")
    build_web(src, tmp_path / "web", progress=False)
    out, sidecar = tmp_path / "qa.jsonl", tmp_path / "qa.jsonl.failed.jsonl"
    oracle, calls = Oracle(), [0]

    def outage_at_start(request):
        calls[0] += 1
        return Reply(status=500) if calls[0] <= 2 else oracle.reply(request)

    with ScriptedChatServer(outage_at_start) as srv:
        args = ["synth", "qa", "--web", str(tmp_path / "web"), "--n", "9", "--out", str(out), "--k", "3",
                "--base-url", srv.base_url, "--model", "scripted", "--config", str(_no_cache(tmp_path)),
                "--max-candidates", "9", "--concurrency", "1", "--no-progress"]  # fmt: skip
        assert main(args) == 1
        captured = capsys.readouterr()
        err = " ".join(captured.err.split())
        lost = len(read_jsonl(sidecar))
        assert lost >= 1 and f"{lost} candidate(s) not finished: an endpoint kept failing" in err
        assert f"listed in {sidecar}" in err
        assert "+-" not in captured.out and f"{lost} LLM errors" in captured.out
        assert main(args) == 0  # the endpoint is back: the lost candidates are tried again
    assert not sidecar.exists()


def _no_cache(tmp_path: Path) -> Path:
    cfg = tmp_path / "llm.yaml"
    cfg.write_text(f"llm:\n  cache_dir: {tmp_path / 'cache'}\n  default:\n    cache: false\n    max_retries: 0\n")
    return cfg


def test_live_web_without_seed_urls_is_refused_clearly_before_any_llm_starts():
    """QA synthesis needs a hyperlink graph: --web live without --seed-urls gets a one-line explanation."""
    from openseeker.cli.main import main

    assert main(["synth", "qa", "--web", "live", "--n", "1", "--out", "/tmp/never-written.jsonl"]) == 2


def test_two_worker_processes_share_the_target(tmp_path):
    """--workers 2: each worker process opens its own pool on the scripted endpoint; the shards merge into one
    file with the target count, no candidate twice, every accepted sample a full QASample."""
    out = tmp_path / "qa.jsonl"
    report = synth(Oracle(), out, n=4, max_candidates=12, concurrency=2, workers=2)
    accepted, rejected = read_jsonl(out), read_jsonl(rejected_path(out))
    ids = [r["id"] for r in accepted + rejected]
    assert len(ids) == len(set(ids)) and not (tmp_path / "qa.jsonl.shards").exists()
    # each worker takes ceil(4 / 2) = 2 of the target; near-duplicates two workers accepted at the same time are
    # moved to the rejected file after the merge (which ones depends on timing), so at most 4 remain
    assert 1 <= len(accepted) <= 4
    assert report["accepted"] == len(accepted) and report["last_run"]["new_accepted"] == len(accepted)
    from openseeker.synth.qa.verify import Deduper

    seen = Deduper(threshold=QAControls().dedup)
    for row in accepted:
        QASample.model_validate(row)
        assert seen.check(row["question"]) is None  # no two accepted questions are near-duplicates
        seen.add(row["id"], row["question"])


def test_near_duplicates_accepted_by_two_workers_at_once_are_moved_to_rejected(tmp_path):
    out = tmp_path / "qa.jsonl"
    # every candidate writes the same question
    report = synth(Oracle(same_question=True), out, n=3, max_candidates=9, concurrency=1, workers=2)
    accepted = read_jsonl(out)
    assert len(accepted) == 1 == report["accepted"]  # as with one process (test_near_duplicates_are_dropped)
    dups = {r["id"]: r for r in read_jsonl(rejected_path(out)) if r["reason"] == "near_duplicate"}
    # a duplicate names what it duplicated; inside one worker that may be the worker's own accepted question, which
    # the merge then moved to rejected as a duplicate of the one kept: every chain ends at the accepted question
    for d in dups.values():
        of, seen = d["detail"]["of"], set()
        while of in dups and of not in seen:
            seen.add(of)
            of = dups[of]["detail"]["of"]
        assert of == accepted[0]["id"]


def test_dedup_across_workers_moves_later_near_duplicates_only(tmp_path):
    from openseeker.synth.qa.pipeline import _dedup_across_workers

    out = tmp_path / "qa.jsonl"
    q = "Which composer of a 1927 standard was born in the city that hosts Indiana University?"
    rows = [
        {"kind": "qa", "id": "old", "question": q},  # accepted by an earlier run: never touched
        {"kind": "qa", "id": "a", "question": "Who sang the state song of Georgia first?"},
        {"kind": "qa", "id": "b", "question": q.replace("Which", "What")},  # merged from another worker
        {"kind": "qa", "id": "c", "question": "Who sang the state song of Georgia first ?"},
    ]
    out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert _dedup_across_workers(out, {"old"}, threshold=0.6) == 2
    assert [r["id"] for r in read_jsonl(out)] == ["old", "a"]
    moved = {r["id"]: r for r in read_jsonl(rejected_path(out))}
    assert set(moved) == {"b", "c"} and moved["b"]["detail"]["of"] == "old" and moved["c"]["detail"]["of"] == "a"
    assert all(r["stage"] == "dedup" and r["detail"]["across_workers"] for r in moved.values())


def test_more_questions_per_graph_turn_a_weak_verifier_into_more_accepted(tmp_path):
    """Extraction is most of a candidate's cost: with questions_per_graph 2, a graph whose first question the
    (weak) verifier fails gets a second question, which still passes every gate; with 1 it is rejected."""
    one = synth(Oracle(solvable_every=2), tmp_path / "one.jsonl", n=4, max_candidates=4, concurrency=1)
    two = synth(
        Oracle(solvable_every=2), tmp_path / "two.jsonl", n=4, max_candidates=4, concurrency=1, questions_per_graph=2
    )

    def reasons(name):
        rows = [json.loads(x) for x in rejected_path(tmp_path / name).read_text().splitlines()]
        return [(r["stage"], r["reason"]) for r in rows]

    assert ("solvability", "unsolvable_with_subgraph") in reasons("one.jsonl")
    assert ("solvability", "unsolvable_with_subgraph") not in reasons("two.jsonl")  # each got its second question
    assert two["accepted"] > one["accepted"] >= 1
    for row in read_jsonl(tmp_path / "two.jsonl"):
        assert row["verification"]["solvability"]["correct"] is True


def test_time_budget_stops_new_candidates_and_a_rerun_goes_on(tmp_path):
    """--time-budget: no candidate starts once it is spent, those in flight finish (recorded, not lost), the report
    says the budget stopped the run, and the same command goes on with the candidates not tried yet."""
    from dataclasses import replace

    out = tmp_path / "qa.jsonl"
    oracle = Oracle()

    def slow(request):
        return replace(oracle.reply(request), delay=0.05)

    async def go(budget):
        with ScriptedChatServer(slow) as srv:
            cfg = endpoint_config(srv.base_url, "scripted", cache=False, max_retries=0)
            async with LLMPool(cfg) as pool:
                return await synthesize_qa_async(
                    tiny_world(), 9, out, pool=pool, concurrency=2, max_candidates=9, progress=False,
                    time_budget_s=budget,
                )  # fmt: skip

    report = asyncio.run(go(0.3))
    tried = len(read_jsonl(out)) + len(read_jsonl(rejected_path(out)))
    assert 1 <= tried < 9  # stopped early, and what was in flight was written
    assert report["last_run"]["stopped_by_time_budget"] is True and report["last_run"]["time_budget_s"] == 0.3
    assert any("time budget" in note for note in report["notes"])
    report = asyncio.run(go(None))  # the same output without a budget: every candidate, none twice
    ids = [r["id"] for r in read_jsonl(out) + read_jsonl(rejected_path(out))]
    assert len(ids) == len(set(ids)) == 9 or report["accepted"] == 9
    assert report["last_run"]["stopped_by_time_budget"] is False
    assert not any("time budget" in note for note in report["notes"])


def test_time_budget_must_be_positive(tmp_path):
    from openseeker.errors import UserError

    with pytest.raises(UserError, match="--time-budget"):
        asyncio.run(synthesize_qa_async(tiny_world(), 1, tmp_path / "qa.jsonl", pool=None, time_budget_s=0))


def test_time_budget_holds_in_each_worker_process(tmp_path):
    """With --workers 2 each worker starts no candidate once the budget is spent (counted from when its web and LLM
    pool are open); the report says so."""
    from dataclasses import replace

    from openseeker.executors import get_executor

    out = tmp_path / "qa.jsonl"
    oracle = Oracle()

    def slow(request):
        return replace(oracle.reply(request), delay=0.1)

    async def go():
        with ScriptedChatServer(slow) as srv:
            cfg = endpoint_config(srv.base_url, "scripted", cache=False, max_retries=0)
            async with LLMPool(cfg) as pool:
                return await synthesize_qa_async(
                    tiny_world(), 9, out, pool=pool, concurrency=1, max_candidates=9, progress=False,
                    llm_config=cfg, time_budget_s=0.6,
                    executor=get_executor("local", workers=2, progress=False, concurrency=1),
                )  # fmt: skip

    report = asyncio.run(go())
    tried = len(read_jsonl(out)) + len(read_jsonl(rejected_path(out)))
    assert 1 <= tried < 9 and report["last_run"]["stopped_by_time_budget"] is True
