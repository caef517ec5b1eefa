"""The trajectory-synthesis pipeline: reference replay with real tool calls, the LLM teacher end to end over
HTTP, labelling, resumability (no duplicates), and one teacher kind per file."""

from __future__ import annotations

import asyncio
import contextlib
import json

import pytest

from openseeker.errors import InputError, UserError
from openseeker.io import read_jsonl, write_jsonl
from openseeker.llm.config import endpoint_config
from openseeker.records import QASample, Trajectory
from openseeker.synth.traj.pipeline import load_qa, synthesize_trajectories
from openseeker.synth.traj.reference import chain_entities, reference_rollout
from openseeker.synth.traj.view import training_view
from openseeker.testing.chat_server import Reply, ScriptedChatServer
from openseeker.testing.fake_web import FakeWeb, tiny_pages
from openseeker.web.tools import SearchTool, VisitTool

W = "https://en.wikipedia.org/wiki/"


def qa(i: int = 0, answer: str = "Dijon") -> QASample:
    return QASample(
        id=f"q{i}",
        question=f"Where was the designer of a Paris landmark born? ({i})",
        answer=answer,
        seed_url=W + "Dijon",
        chain=[["Eiffel Tower", "Gustave Eiffel"], ["Gustave Eiffel", "Dijon"]],
        entity_graph={
            "answer": "dijon",
            "nodes": [
                {"id": "eiffel tower", "name": "Eiffel Tower", "page_url": W + "Eiffel_Tower", "facts": []},
                {"id": "gustave eiffel", "name": "Gustave Eiffel", "page_url": W + "Gustave_Eiffel", "facts": []},
                {"id": "dijon", "name": "Dijon", "page_url": W + "Dijon", "facts": [], "is_answer": True},
            ],
            "edges": [],
        },
        obfuscation={"Eiffel Tower": "a wrought-iron tower"},
        metadata={"chain_path": ["Eiffel Tower", "Gustave Eiffel", "Dijon"]},
    )


def test_reference_replay_makes_real_tool_calls():
    web = FakeWeb(tiny_pages())
    tools = [SearchTool(web), VisitTool(web)]
    ents = chain_entities(qa())
    assert [e["name"] for e in ents] == ["Eiffel Tower", "Gustave Eiffel", "Dijon"]
    assert ents[0]["description"] == "a wrought-iron tower"
    traj = asyncio.run(reference_rollout(qa(), tools))
    assert traj.metadata["teacher"] == "reference-replay" and traj.final_answer == "Dijon"
    assert traj.num_tool_calls == 6 and [c.name for s in traj.steps for c in s.tool_calls] == ["search", "visit"] * 3
    assert web.fetches == [W + "Eiffel_Tower", W + "Gustave_Eiffel", W + "Dijon"]
    assert web.searches == [["Eiffel Tower"], ["Gustave Eiffel"], ["Dijon"]]
    # the observations are what the real tools return, and the record is a valid, raw training view
    direct = {t.name: t for t in [SearchTool(web), VisitTool(web)]}
    for s in traj.steps[:-1]:
        assert s.observations == [asyncio.run(direct[s.tool_calls[0].name].execute(s.tool_calls[0].arguments))]
    assert "born in Dijon" in traj.steps[3].observations[0]
    view = training_view(traj)
    assert view[-1]["content"].endswith("<answer>Dijon</answer>")
    assert traj.metadata["replay"]["visits_found_in_search"] == 3
    Trajectory.model_validate_json(traj.model_dump_json())


def test_reference_pipeline_resumes_without_duplicates(tmp_path):
    qa_path = tmp_path / "qa.jsonl"
    write_jsonl(qa_path, [qa(i) for i in range(5)])
    out = tmp_path / "ref.jsonl"
    web = FakeWeb(tiny_pages())
    s1 = asyncio.run(synthesize_trajectories(qa_path, web, out, teacher="reference", progress=False, limit=2))
    assert s1["done"] == 2
    with out.open("a") as fh:  # an interrupted write: a torn last line
        fh.write('{"id": "q4", "kind": "traj')
    s2 = asyncio.run(synthesize_trajectories(qa_path, web, out, teacher="reference", progress=False))
    ids = [r["id"] for r in read_jsonl(out)]
    assert sorted(ids) == [f"q{i}" for i in range(5)] and len(ids) == len(set(ids))
    assert s2["skipped"] == 2 and s2["done"] == 3
    assert s2["file"]["correct"] == 5 and s2["file"]["teachers"] == {"reference-replay": 5}
    # an LLM teacher may not append to a reference file
    with pytest.raises(UserError, match="another teacher"):
        asyncio.run(synthesize_trajectories(qa_path, web, out, teacher="llm", llm_config=None, progress=False))


def teacher_and_summarizer(req):
    msgs = req["messages"]
    if msgs[0]["content"].startswith("You compress"):
        return Reply(content="compressed")
    if "You are grading an answer" in json.dumps(msgs):  # the judge: says "yes" for Dijon, "no" otherwise
        prompt = "\n".join(m["content"] for m in msgs)
        ok = "Dijon" in prompt.split("[response]:", 1)[1].split("[correct_answer]:", 1)[0]
        return Reply(
            content=json.dumps(
                {
                    "extracted_final_answer": "Dijon" if ok else "Lyon",
                    "reasoning": "r",
                    "correct": "yes" if ok else "no",
                    "confidence": 90,
                }
            )
        )
    n_obs = sum(m["content"].count("<tool_response>") for m in msgs if m["role"] == "user")
    call = lambda name, **a: "<tool_call>" + json.dumps({"name": name, "arguments": a}) + "</tool_call>"  # noqa: E731
    if n_obs == 0:
        return Reply(content="<think>search</think>" + call("search", query=["Gustave Eiffel"]))
    if n_obs == 1:
        return Reply(content="<think>read</think>" + call("visit", url=[W + "Gustave_Eiffel"], goal="birthplace"))
    if "(1)" in msgs[1]["content"]:
        return Reply(content="<think>guess</think><answer>Lyon</answer>")
    return Reply(content="<think>found</think><answer>Dijon</answer>")


def test_llm_teacher_pipeline_over_http(tmp_path):
    qa_path = tmp_path / "qa.jsonl"
    write_jsonl(qa_path, [qa(0), qa(1)])
    out = tmp_path / "traj.jsonl"
    with ScriptedChatServer(teacher_and_summarizer) as srv:
        cfg = endpoint_config(srv.base_url, "scripted", cache=False, max_retries=0, timeout_s=10)
        summary = asyncio.run(
            synthesize_trajectories(
                qa_path,
                FakeWeb(tiny_pages()),
                out,
                teacher="llm",
                llm_config=cfg,
                judge=False,
                progress=False,
                settings={"extract": False, "protocol": "text", "concurrency": 2},
            )
        )
    rows = {r["id"]: Trajectory.model_validate(r) for r in read_jsonl(out)}
    assert summary["done"] == 2 and set(rows) == {"q0", "q1"}
    q0, q1 = rows["q0"], rows["q1"]
    assert q0.metadata["correct"] is True and q1.metadata["correct"] is False
    assert q0.metadata["verdict"]["method"] == "normalized" and q0.metadata["gold"] == "Dijon"
    assert q0.metadata["teacher"] == "llm" and q0.metadata["summarize"] is True
    assert q0.num_tool_calls == 2 and q0.stop_reason == "answered"
    # step 2's context has the first observation summarized and the second raw; the record keeps both raw
    ctx = "\n".join(m["content"] for m in q0.steps[2].context)
    assert "compressed" in ctx and q0.steps[1].observations[0] in ctx
    assert q0.steps[0].observations[0] not in ctx and q0.steps[0].summary == "compressed"
    assert [m["content"] for m in training_view(q0) if m["role"] == "tool"] == [
        o for s in q0.steps for o in s.observations
    ]
    assert summary["file"]["summaries"] == 2 and summary["file"]["correct"] == 1


def test_load_qa_errors_are_located(tmp_path):
    p = tmp_path / "qa.jsonl"
    p.write_text(qa(0).model_dump_json() + "\n" + qa(0).model_dump_json() + "\n")
    with pytest.raises(InputError, match=r"qa.jsonl:2: duplicate id"):
        load_qa(p)
    p.write_text('{"id": "x", "question": "q"}\n')
    with pytest.raises(InputError, match="answer"):
        load_qa(p)


def test_cli_synth_traj_reference(tmp_path, monkeypatch):
    import openseeker.agent.batch as batch
    from openseeker.cli.main import main

    qa_path = tmp_path / "qa.jsonl"
    write_jsonl(qa_path, [qa(0)])

    @contextlib.asynccontextmanager
    async def fake_open_web(source, config=None):
        yield FakeWeb(tiny_pages())

    monkeypatch.setattr(batch, "open_web", fake_open_web)  # every worker opens its web there
    rc = main(
        [
            "synth",
            "traj",
            "--web",
            str(tmp_path),
            "--qa",
            str(qa_path),
            "--out",
            str(tmp_path / "t.jsonl"),
            "--teacher",
            "reference",
            "--no-progress",
        ]
    )
    assert rc == 0 and len(read_jsonl(tmp_path / "t.jsonl")) == 1
    assert (
        main(
            [
                "synth",
                "traj",
                "--web",
                str(tmp_path),
                "--qa",
                str(qa_path),
                "--out",
                str(tmp_path / "u.jsonl"),
                "--teacher",
                "oracle",
            ]
        )
        == 2
    )


def test_llm_judge_labels_over_http(tmp_path):
    qa_path = tmp_path / "qa.jsonl"
    write_jsonl(qa_path, [qa(0), qa(1)])
    out = tmp_path / "traj.jsonl"
    with ScriptedChatServer(teacher_and_summarizer) as srv:
        cfg = endpoint_config(srv.base_url, "scripted", cache=False, max_retries=0, timeout_s=10)
        asyncio.run(
            synthesize_trajectories(
                qa_path,
                FakeWeb(tiny_pages()),
                out,
                teacher="llm",
                llm_config=cfg,
                judge=True,
                progress=False,
                settings={"extract": False, "protocol": "text", "concurrency": 1},
            )
        )
        judged = [r for r in srv.requests if "You are grading an answer" in json.dumps(r["messages"])]
    rows = {r["id"]: r for r in read_jsonl(out)}
    assert len(judged) == 2
    assert rows["q0"]["metadata"]["verdict"]["method"] == "llm" and rows["q0"]["metadata"]["correct"] is True
    assert rows["q1"]["metadata"]["correct"] is False and rows["q1"]["metadata"]["exact_match"] is False


class _InterruptingWeb(FakeWeb):
    """Raises KeyboardInterrupt (a Ctrl-C) on the n-th fetch."""

    def __init__(self, pages, at: int):
        super().__init__(pages)
        self.at = at

    async def fetch(self, url):
        if len(self.fetches) + 1 == self.at:
            self.fetches.append(url)
            raise KeyboardInterrupt
        return await super().fetch(url)


def test_interrupt_and_rerun_no_duplicates_no_gaps(tmp_path):
    qa_path = tmp_path / "qa.jsonl"
    write_jsonl(qa_path, [qa(i) for i in range(4)])
    out = tmp_path / "ref.jsonl"
    with pytest.raises(KeyboardInterrupt):  # 3 fetches per rollout: the 8th is inside the third rollout
        asyncio.run(
            synthesize_trajectories(
                qa_path,
                _InterruptingWeb(tiny_pages(), at=8),
                out,
                teacher="reference",
                progress=False,
                settings={"concurrency": 1},
            )
        )
    assert [r["id"] for r in read_jsonl(out)] == ["q0", "q1"]
    s = asyncio.run(
        synthesize_trajectories(
            qa_path, FakeWeb(tiny_pages()), out, teacher="reference", progress=False, settings={"concurrency": 1}
        )
    )
    assert s["skipped"] == 2 and s["done"] == 2
    assert [r["id"] for r in read_jsonl(out)] == ["q0", "q1", "q2", "q3"]


def test_reference_pipeline_on_two_worker_processes_matches_one(tmp_path):
    from openseeker.executors import get_executor

    qa_path = tmp_path / "qa.jsonl"
    write_jsonl(qa_path, [qa(i) for i in range(8)])
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    web = FakeWeb(tiny_pages())  # picklable: each worker process gets its own copy
    s1 = asyncio.run(synthesize_trajectories(qa_path, web, one, teacher="reference", progress=False))
    s2 = asyncio.run(
        synthesize_trajectories(
            qa_path,
            web,
            two,
            teacher="reference",
            progress=False,
            executor=get_executor("local", workers=2, progress=False),
        )
    )
    assert s1["done"] == s2["done"] == 8 and s2["workers"] == 2
    assert s2["file"]["correct"] == 8 and s2["file"]["teachers"] == {"reference-replay": 8}
    r2 = read_jsonl(two)
    assert [r["id"] for r in r2] == [f"q{i}" for i in range(8)]  # merged in input order

    def answers(rows):
        return sorted((r["id"], r["final_answer"], r["num_tool_calls"]) for r in rows)

    assert answers(read_jsonl(one)) == answers(r2)


def test_synth_traj_retrieval_on_a_web_without_dense_index_fails_in_one_line(tmp_path, capsys):
    from openseeker.cli.main import main
    from openseeker.web.build import build_web

    src = tmp_path / "c.jsonl"
    write_jsonl(src, [{"url": p.url, "title": p.title, "text": p.text} for p in tiny_pages()])
    build_web(src, tmp_path / "web", progress=False, derive_links=False)
    qa_path = tmp_path / "qa.jsonl"
    write_jsonl(qa_path, [qa(0)])
    rc = main(
        [
            "synth",
            "traj",
            "--web",
            str(tmp_path / "web"),
            "--qa",
            str(qa_path),
            "--out",
            str(tmp_path / "t.jsonl"),
            "--teacher",
            "reference",
            "--no-progress",
            "--retrieval",
            "hybrid",
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "openseeker web embed" in err and "Traceback" not in err
    assert not (tmp_path / "t.jsonl").exists()
