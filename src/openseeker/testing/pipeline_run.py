"""``make_pipeline_run(out)``: a small run folder laid out like ``runs/demo/``, written by the real pipeline stages.

Every file is produced by the project's own code — QA synthesis (``synthesize_qa_async``) against the rule-based
``Oracle`` over real HTTP, trajectory synthesis (the LLM teacher with retrospective summaries, over real HTTP, and
the reference replay), the SFT export and two evaluation runs — with test doubles only where an external model
would answer. It takes a few seconds and needs no network, so the viewer's tests, its benchmark and its
documentation screenshots all look at real pipeline outputs.

Layout (a subset of what ``openseeker demo`` writes)::

    out/web/                                          the pages as a local web (SQLite graph + search index)
    out/qa.jsonl (+ .rejected.jsonl, .report.json)   accepted samples, rejections of several kinds, yield report
    out/trajectories.teacher.jsonl                    LLM-teacher rollouts (summaries, step contexts, verdicts)
    out/trajectories.reference.jsonl                  reference-replay rollouts
    out/sft/                                          messages.jsonl, sharegpt.jsonl, rejected.jsonl, stats.json
    out/eval/, out/eval-b/                            two eval runs of the same questions (different students)
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from openseeker.eval.run import EvalSettings, Roles, evaluate_async
from openseeker.io import read_jsonl, write_jsonl
from openseeker.llm.config import endpoint_config
from openseeker.llm.pool import LLMPool
from openseeker.records import EvalItem
from openseeker.synth.qa import QAControls, synthesize_qa_async
from openseeker.synth.traj.pipeline import synthesize_trajectories
from openseeker.testing.chat_server import Reply, ScriptedChatServer
from openseeker.testing.fakes import FakeLLM
from openseeker.testing.qa_oracle import Oracle, tiny_world
from openseeker.train.export import ExportConfig, export_sft
from openseeker.web.build import build_web
from openseeker.web.local import LocalWeb


def _arun(coro: Any) -> Any:
    """``asyncio.run``, in a worker thread when this thread already runs an event loop (a notebook, Playwright's
    sync API in the same test session)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _synth_qa(out: Path) -> None:

    # one well-behaved run (accepted samples) then runs whose oracle fails at one stage each: a real funnel
    plan: list[tuple[Oracle, int, int, dict[str, Any]]] = [
        (Oracle(), 0, 4, {}),
        (Oracle(closed_book_knows=True), 1, 3, {}),
        (Oracle(solvable=False), 2, 3, {}),
        (Oracle(leak_answer=True), 3, 2, {}),
        (Oracle(short_chain=True), 4, 2, {}),
        (Oracle(malformed={"generate"}), 5, 2, {}),
        (Oracle(), 6, 2, {"min_hops": 6, "max_hops": 6}),
    ]

    async def go() -> None:
        for oracle, seed, n, controls in plan:
            with ScriptedChatServer(oracle.reply) as srv:
                cfg = endpoint_config(srv.base_url, "scripted-model", cache=False, max_retries=0)
                async with LLMPool(cfg) as pool:
                    await synthesize_qa_async(
                        tiny_world(),
                        n if seed == 0 else 99,
                        out,
                        pool=pool,
                        controls=QAControls(**controls),
                        seed=seed,
                        concurrency=2,
                        progress=False,
                        # a failing oracle never reaches n: it stops after its candidates
                        max_candidates=9 if seed == 0 else n,
                    )

    _arun(go())


def _teacher(request: dict[str, Any]) -> Any:
    """The scripted teacher: search, visit the first hit, answer with the last word of what it read."""

    msgs = request["messages"]
    if str(msgs[0].get("content", "")).startswith("You compress"):
        user = str(msgs[-1].get("content", ""))
        return Reply(content="Summary: " + " ".join(user.split()[-24:]))
    n_obs = sum(str(m.get("content", "")).count("<tool_response>") for m in msgs if m.get("role") == "user")
    question = next(str(m["content"]) for m in msgs if m.get("role") == "user")

    def call(name: str, **args: Any) -> str:
        return "<tool_call>" + json.dumps({"name": name, "arguments": args}) + "</tool_call>"

    if n_obs == 0:
        words = [w for w in question.replace("?", "").split() if len(w) > 4][:3]
        return Reply(
            content="<think>I should search for the described entities first.</think>"
            + call("search", query=[" ".join(words) or question])
        )
    if n_obs == 1:
        last = str(msgs[-1].get("content", ""))
        url = next(
            (tok for tok in last.split() if tok.startswith("https://")), "https://en.wikipedia.org/wiki/Atlanta"
        )
        return Reply(
            content="<think>The first result looks relevant; read it.</think>"
            + call("visit", url=[url.strip("()[],.")], goal="find the connected entity")
        )
    if n_obs == 2:
        return Reply(
            content="<think>Check one more page to be sure.</think>" + call("search", query=["capital city Georgia"])
        )
    return Reply(content="<think>The pages point to one city.</think><answer>Atlanta</answer>")


def _build_web(out: Path) -> Path:
    """The QA world's pages as a real local web (``build_web``: SQLite graph + tantivy index), like the demo's."""
    import tempfile

    web = out / "web"
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "pages.jsonl"
        write_jsonl(src, list(tiny_world().pages.values()))
        build_web(src, web, progress=False)
    return web


def _world_web(web: Path) -> Any:

    return LocalWeb.open(web)


def _synth_traj(qa: Path, out: Path, web: Path) -> tuple[Path, Path]:

    teacher, reference = out / "trajectories.teacher.jsonl", out / "trajectories.reference.jsonl"
    with ScriptedChatServer(_teacher) as srv:
        cfg = endpoint_config(srv.base_url, "scripted-model", cache=False, max_retries=0, timeout_s=10)
        _arun(
            synthesize_trajectories(
                qa,
                _world_web(web),
                teacher,
                teacher="llm",
                llm_config=cfg,
                judge=False,
                progress=False,
                settings={"extract": False, "protocol": "text", "concurrency": 1},
            )
        )
    _arun(synthesize_trajectories(qa, _world_web(web), reference, teacher="reference", progress=False))
    return teacher, reference


def _export(reference: Path, out: Path) -> None:

    export_sft(reference, out / "sft", ExportConfig(formats=("messages", "sharegpt"), allow_reference=True))


def _evaluate(qa: Path, out: Path, web: Path) -> None:

    items = [
        EvalItem(
            id=r["id"],
            question=r["question"],
            answers=[r["answer"]],
            language=r.get("language", "en"),
            benchmark="synth",
            metadata={"category": r.get("difficulty", "")},
        )
        for r in read_jsonl(qa)
    ]
    answers = {i.question: i.answers[0] for i in items}

    def student(guess_first: bool):
        def fn(messages: list[dict[str, Any]], kwargs: dict[str, Any]) -> str:
            q = next(str(m["content"]) for m in messages if m.get("role") == "user")
            n_obs = sum(1 for m in messages if m.get("role") == "tool") + sum(
                str(m.get("content", "")).count("<tool_response>") for m in messages[2:] if m.get("role") == "user"
            )
            if n_obs < 1 + len(q) % 3:  # a varying number of searches per question
                words = [w for w in q.replace("?", "").replace('"', "").split() if len(w) > 3]
                query = " ".join(words[n_obs : n_obs + 3]) or "Atlanta"
                return (
                    '<think>Search for part of the question.</think><tool_call>{"name": "search", '
                    '"arguments": {"query": ["' + query + '"]}}</tool_call>'
                )
            right = (len(q) % 2 == 0) == guess_first
            gold = answers.get(q, "?")
            return "<think>Answer from what I read.</think><answer>" + (gold if right else "Atlanta") + "</answer>"

        return fn

    for name, guess_first in (("eval", True), ("eval-b", False)):
        settings = EvalSettings(
            benchmark="synth", path="", web="fake", runs=1, judge="none", agent={"concurrency": 1, "max_tool_calls": 4}
        )
        roles = Roles(student=FakeLLM(student(guess_first), model=f"student-{name}"))
        _arun(evaluate_async(settings, out / name, roles=roles, progress=False, items=items, web_obj=_world_web(web)))


def make_pipeline_run(out: str | Path) -> dict[str, str]:
    """Write a small run folder into ``out`` (see the module docstring); returns the paths written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    qa = out / "qa.jsonl"
    web = _build_web(out)
    _synth_qa(qa)
    teacher, reference = _synth_traj(qa, out, web)
    _export(reference, out)
    _evaluate(qa, out, web)
    return {
        "web": str(web),
        "qa": str(qa),
        "teacher": str(teacher),
        "reference": str(reference),
        "sft": str(out / "sft"),
        "eval": str(out / "eval"),
        "eval_b": str(out / "eval-b"),
    }
