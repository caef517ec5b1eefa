"""``eval run --retrieval``: the search tool of every question ranks as asked (through the leakage guard too), the
choice is kept in config.json, and a web that cannot rank that way is refused before any question runs."""

from __future__ import annotations

import asyncio
import json

import pytest

pytest.importorskip("faiss")

from openseeker.errors import UserError
from openseeker.eval.run import EvalSettings, Roles, evaluate_async
from openseeker.records import EvalItem
from openseeker.testing.dense_web import build_dense_web
from openseeker.testing.fake_web import FakeWeb, tiny_pages
from openseeker.testing.fakes import FakeLLM
from openseeker.web.local import LocalWeb

QUERY = "tallest peak on the planet or a piano"  # BM25: Piano only; dense: Mount Everest first
ITEM = EvalItem(id="q1", question="What is the tallest peak?", answers=["Mount Everest"], benchmark="synth")


def student(messages, kwargs):
    if len(messages) > 2:
        return "<answer>Mount Everest</answer>"
    return '<tool_call>{"name": "search", "arguments": {"query": ["' + QUERY + '"]}}</tool_call>'


def settings(retrieval=None, **kw):
    agent = {"concurrency": 1, "max_tool_calls": 3, "retrieval": retrieval}
    return EvalSettings(benchmark="synth", path="", web="local", judge="none", agent=agent, **kw)


def test_eval_run_searches_with_the_chosen_retrieval(tmp_path):
    web_dir = build_dense_web(tmp_path / "w")
    observations = {}
    for mode in ("hybrid", None):
        out = tmp_path / f"out-{mode}"
        with LocalWeb.open(web_dir) as web:
            asyncio.run(
                evaluate_async(
                    settings(retrieval=mode, leakage_guard="on"),
                    out,
                    roles=Roles(student=FakeLLM(student), judge=None),
                    progress=False,
                    items=[ITEM],
                    web_obj=web,
                )
            )
        (traj,) = [json.loads(x) for x in (out / "trajectories.jsonl").read_text().splitlines()]
        observations[mode] = traj["steps"][0]["observations"][0]
        assert json.loads((out / "config.json").read_text())["settings"]["agent"]["retrieval"] == mode
    assert "[Mount Everest](" in observations["hybrid"] and "[Piano](" in observations["hybrid"]
    assert "[Mount Everest](" not in observations[None]  # the web's default: bm25


def test_eval_run_refuses_a_retrieval_the_web_cannot_do(tmp_path):
    with pytest.raises(UserError, match="ranks with its own search engine"):
        asyncio.run(
            evaluate_async(
                settings(retrieval="dense"),
                tmp_path / "o",
                roles=Roles(student=FakeLLM(student), judge=None),
                progress=False,
                items=[ITEM],
                web_obj=FakeWeb(tiny_pages()),
            )
        )
    assert not (tmp_path / "o" / "results.jsonl").exists()
    with pytest.raises(UserError, match="retrieval: Input should be 'bm25', 'dense' or 'hybrid'"):
        settings(retrieval="semantic")
