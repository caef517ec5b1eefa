"""BrowseComp-Plus compatibility: qrels, evidence/gold recall from a run against hand-made qrels, run files,
their calibration error and grade parsing rules (checked against their evaluate_run.py, see docs/eval-offline.md),
queries/answers loaders, the pinned judge protocol."""

from __future__ import annotations

import asyncio
import json

import pytest

from openseeker.errors import InputError, UserError
from openseeker.eval import bcp
from openseeker.eval.qrels import load_qrels, recall, retrieved_ids
from openseeker.llm.base import Completion
from openseeker.records import Step, ToolCall, Trajectory
from openseeker.testing.shared import SHARED_DATA, requires_shared

EVIDENCE = "1 Q0 10 1\n1 Q0 11 1\n1 Q0 12 1\n1 Q0 13 1\n2 Q0 20 1\n2 Q0 21 0\n3 Q0 30 1\n"
GOLD = "1 Q0 12 1\n2 Q0 20 1\n"


def run_file(qid, docids, status="completed", output="Exact Answer: x\nConfidence: 90%", tools=None):
    return {
        "query_id": qid,
        "status": status,
        "retrieved_docids": docids,
        "tool_call_counts": tools if tools is not None else {"search": 3},
        "result": [{"type": "reasoning", "output": "..."}, {"type": "output_text", "output": output}],
    }


@pytest.fixture
def qrels(tmp_path):
    (tmp_path / "qrel_evidence.txt").write_text(EVIDENCE)
    (tmp_path / "qrel_golds.txt").write_text(GOLD)
    return load_qrels(tmp_path / "qrel_evidence.txt"), load_qrels(tmp_path / "qrel_golds.txt")


def test_load_qrels_keeps_relevant_only_and_locates_errors(tmp_path, qrels):
    evidence, gold = qrels
    assert evidence == {"1": ["10", "11", "12", "13"], "2": ["20"], "3": ["30"]} and gold["1"] == ["12"]
    (tmp_path / "bad.txt").write_text("1 Q0 10 1\n1 Q0 11\n")
    with pytest.raises(InputError, match=r"bad.txt:2: expected 4 fields"):
        load_qrels(tmp_path / "bad.txt")


def test_evidence_and_gold_recall_from_a_run(tmp_path, qrels):
    evidence, gold = qrels
    runs = tmp_path / "runs"
    bcp.write_run_dir(
        runs,
        [
            bcp.RunRecord(**run_file("1", ["10", "12", "99"])),
            bcp.RunRecord(**run_file("2", [], status="max_tokens")),
            bcp.RunRecord(**run_file("4", ["40"], tools={"search": 1, "get_document": 2})),
        ],
    )
    records = bcp.read_run_dir(runs)
    assert [r.query_id for r in records] == ["1", "2", "4"] and records[0].response.startswith("Exact Answer")
    grades = {
        "1": {"correct": True, "confidence": 90.0, "parse_error": False},
        "2": {"correct": None, "parse_error": True},
        "4": {"correct": False, "confidence": 20.0, "parse_error": False},
    }
    s = bcp.summarize(records, grades, evidence=evidence, gold=gold, protocol="browsecomp-plus")
    # query 1: 2 of 4 evidence docs; query 2: 0 of 1; query 4 has no qrels and does not count
    assert s["Recall (%)"] == 25.0 and s["Gold Recall (%)"] == 50.0
    assert s["Accuracy (%)"] == pytest.approx(33.33) and s["completed"] == 2
    assert s["avg_tool_stats"] == {"search": pytest.approx(7 / 3), "get_document": pytest.approx(2 / 3)}
    assert s["search_calls_per_query"] == pytest.approx(7 / 3)
    assert s["Calibration Error (%)"] is None and s["calibration_answers"] == 2  # < 100 graded answers
    assert s["per_query_metrics"][0] == {"query_id": "1", "correct": True, "recall": 50.0}


def test_recall_of_a_query_without_qrels_is_not_counted():
    r = recall({"a": ["1"], "b": ["2"]}, {"a": ["1", "3"]})
    assert r["recall"] == 0.5 and r["queries"] == 1


def test_calibration_error_matches_their_binning():
    # 250 answers -> bins [0,100) and [100,250); their loop skips the last bin: only the first one counts.
    conf = [10.0] * 100 + [90.0] * 150
    ok = [i < 30 for i in range(100)] + [True] * 150
    # first bin: mean confidence 0.10, accuracy 0.30 -> weight 100/250, squared gap 0.04
    assert bcp.calibration_error(conf, ok) == pytest.approx((100 / 250 * 0.04) ** 0.5 * 100)
    assert bcp.calibration_error(conf[:150], ok[:150]) == 0.0  # one (last) bin only: 0, as theirs prints
    assert bcp.calibration_error([50.0] * 99, [True] * 99) is None


def test_parse_grade_follows_their_field_rules():
    g = bcp.parse_grade("**extracted_final_answer:** Paris\n**reasoning:** r\n**correct:** Yes\n**confidence:** 150%")
    assert g == {"extracted_final_answer": "Paris", "correct": True, "confidence": 100.0, "parse_error": False}
    g = bcp.parse_grade("extracted_final_answer: None\ncorrect: no\nconfidence: 35")
    assert g["correct"] is False and g["confidence"] == 35.0
    assert bcp.parse_grade("I think it is right")["parse_error"] is True


def test_trajectory_to_run_record_maps_urls_to_docids():
    obs = (
        "A search for 'x' found 2 results:\n\n## Web Results\n1. [Sahara](https://ex.org/sahara)\nsnip\n"
        "2. [Gobi](urn:docid:11)\nsnip"
    )
    traj = Trajectory(
        id="q7#0",
        question="?",
        final_answer="Sahara",
        stop_reason="answered",
        messages=[{"role": "assistant", "content": "Exact Answer: Sahara"}],
        steps=[
            Step(index=0, tool_calls=[ToolCall(name="search", arguments={"query": ["x"]})], observations=[obs]),
            Step(
                index=1,
                tool_calls=[ToolCall(name="visit", arguments={"url": ["urn:docid:11"], "goal": "g"})],
                observations=["page"],
            ),
        ],
    )
    ids = retrieved_ids(traj, {"https://ex.org/sahara": "10", "urn:docid:11": "11"}.get)
    assert ids == {"retrieved": ["10", "11"], "visited": ["11"]}
    rec = bcp.run_record_from_trajectory(traj, "7", {"https://ex.org/sahara": "10", "urn:docid:11": "11"}.get)
    assert rec.status == "completed" and rec.retrieved_docids == ["10", "11"]
    assert rec.tool_call_counts == {"search": 1, "visit": 1} and rec.response == "Sahara"
    unfinished = traj.model_copy(update={"stop_reason": "max_tool_calls", "final_answer": None})
    assert bcp.run_record_from_trajectory(unfinished, "7").status == "max_tool_calls"


def test_run_files_lay_out_the_steps_as_their_clients_do(tmp_path):
    """Their search-agent clients (search_agent/*_client.py at 97c637ce) write ``result`` as items with the keys
    type / tool_name / arguments / output: a ``reasoning`` item per assistant turn that thought, a ``tool_call``
    item per call (arguments as a JSON string, output = what the tool returned), and finally an ``output_text``
    item; their evaluate_run.py grades only the last item's output when its type is output_text. So our reasoning
    must be a reasoning item, never part of the graded text (a real agent run over HTTP, text protocol)."""
    from openseeker.agent.runtime import Agent
    from openseeker.llm.client import OpenAIChatLLM
    from openseeker.llm.config import EndpointConfig
    from openseeker.testing.chat_server import Reply, ScriptedChatServer
    from openseeker.testing.fake_web import FakeWeb, tiny_pages
    from openseeker.web.tools import SearchTool, VisitTool

    def call(name, **arguments):
        return "<tool_call>" + json.dumps({"name": name, "arguments": arguments}) + "</tool_call>"

    eiffel = "https://en.wikipedia.org/wiki/Gustave_Eiffel"
    script = [
        Reply(content="<think>Find the designer.</think>" + call("search", query=["Eiffel Tower designer"])),
        Reply(content="<think>Open his page.</think>" + call("visit", url=[eiffel], goal="birthplace")),
        Reply(content="<think>He was born in Dijon.</think>\n<answer>Dijon</answer>"),
    ]
    web = FakeWeb(tiny_pages())

    async def go():
        llm = OpenAIChatLLM("student", EndpointConfig(base_url=srv.base_url, model="scripted", cache=False))
        try:
            return await Agent(llm, [SearchTool(web), VisitTool(web)]).run("Where was he born?", id="q9#0")
        finally:
            await llm.aclose()

    with ScriptedChatServer(script) as srv:
        traj = asyncio.run(go())
    assert traj.stop_reason == "answered"
    rec = bcp.run_record_from_trajectory(traj, "9", {p.url: str(i) for i, p in enumerate(tiny_pages())}.get)
    bcp.write_run_dir(tmp_path, [rec])
    result = json.loads((tmp_path / "9.json").read_text())["result"]
    assert all(set(item) == {"type", "tool_name", "arguments", "output"} for item in result)
    assert [item["type"] for item in result] == [
        "reasoning",
        "tool_call",
        "reasoning",
        "tool_call",
        "reasoning",
        "output_text",
    ]
    assert [item["output"] for item in result if item["type"] == "reasoning"] == [
        "Find the designer.",
        "Open his page.",
        "He was born in Dijon.",
    ]
    calls = [item for item in result if item["type"] == "tool_call"]
    assert [c["tool_name"] for c in calls] == ["search", "visit"]
    assert json.loads(calls[1]["arguments"]) == {"url": [eiffel], "goal": "birthplace"}
    assert calls[0]["output"] == traj.steps[0].observations[0] and "Gustave Eiffel" in calls[0]["output"]
    graded = result[-1]
    assert graded == {"type": "output_text", "tool_name": None, "arguments": None, "output": "Dijon"}
    assert bcp.read_run_dir(tmp_path)[0].response == "Dijon"


def test_read_run_dir_errors_name_the_file(tmp_path):
    (tmp_path / "5.json").write_text("{not json")
    with pytest.raises(InputError, match="5.json"):
        bcp.read_run_dir(tmp_path)
    (tmp_path / "5.json").write_text(json.dumps({"query_id": "5"}))
    with pytest.raises(InputError, match="needs at least 'query_id' and 'status'"):
        bcp.read_run_dir(tmp_path)


def test_loader_reads_decrypted_jsonl_and_queries_tsv(tmp_path):
    (tmp_path / "qrel_evidence.txt").write_text(EVIDENCE)
    (tmp_path / "qrel_golds.txt").write_text(GOLD)
    data = tmp_path / "decrypted.jsonl"
    data.write_text(
        json.dumps({"query_id": 1, "query": "Q one?", "answer": "A1", "gold_docs": [{"docid": "12", "text": "..."}]})
        + "\n"
        + json.dumps({"query_id": "2", "query": "Q two?", "answer": "A2"})
        + "\n"
    )
    items = list(bcp.load_browsecomp_plus(data))
    assert [i.id for i in items] == ["1", "2"] and items[0].answers == ["A1"]
    assert items[0].metadata["evidence_docids"] == ["10", "11", "12", "13"]  # from the qrels beside it
    assert items[0].metadata["gold_docids"] == ["12"] and items[1].metadata["gold_docids"] == ["20"]
    assert bcp.load_ground_truth(data)["2"] == {"question": "Q two?", "answer": "A2"}
    tsv = tmp_path / "bcp" / "queries.tsv"
    tsv.parent.mkdir()
    tsv.write_text("1\tQ one?\n2\tQ two?\n")
    items = list(bcp.load_browsecomp_plus(tsv))
    assert items[1].question == "Q two?" and items[1].answers == [] and items[1].metadata["evidence_docids"] == ["20"]
    with pytest.raises(UserError, match="has no answer"):
        bcp.load_ground_truth(tsv)


def test_judge_protocol_is_pinned(tmp_path):
    proto = bcp.get_protocol("browsecomp-plus")
    cfg = proto.role_config()
    assert cfg["model"] == "Qwen/Qwen3-32B" and cfg["temperature"] == 0.7 and cfg["top_p"] == 0.8
    assert cfg["extra_body"] == {"top_k": 20, "chat_template_kwargs": {"enable_thinking": False}}
    with pytest.raises(UserError, match="unknown judge protocol"):
        bcp.get_protocol("mine")
    fake = tmp_path / "scripts_evaluation"
    fake.mkdir()
    (fake / "evaluate_run.py").write_text(
        'GRADER_TEMPLATE = """\nJudge {question} {response} {correct_answer}\n""".strip()\n'
    )
    with pytest.raises(UserError, match="not the pinned"):
        bcp.load_grader_template(tmp_path, proto)
    tmpl = bcp.load_grader_template(tmp_path, bcp.JudgeProtocol(prompt_sha256=""))
    assert tmpl == "Judge {question} {response} {correct_answer}"


def test_grade_runs_grades_completed_answers_only():
    class Judge:
        model = "Qwen/Qwen3-32B"

        def __init__(self):
            self.prompts = []

        async def chat(self, messages, **kw):
            self.prompts.append((messages[0]["content"], kw))
            return Completion(content="extracted_final_answer: x\ncorrect: yes\nconfidence: 70")

    recs = [bcp.RunRecord(**run_file("1", [])), bcp.RunRecord(**run_file("2", [], status="incomplete"))]
    truth = {"1": {"question": "Q?", "answer": "A"}, "2": {"question": "Q2?", "answer": "B"}}
    judge = Judge()
    grades = asyncio.run(
        bcp.grade_runs(
            recs, truth, judge, "q={question} r={response} a={correct_answer}", bcp.get_protocol("browsecomp-plus")
        )
    )
    assert grades["1"]["correct"] is True and grades["1"]["confidence"] == 70.0
    assert grades["2"]["parse_error"] is True and len(judge.prompts) == 1
    prompt, kw = judge.prompts[0]
    assert prompt.startswith("q=Q? r=Exact Answer: x") and kw == {"temperature": 0.7, "max_tokens": 4096}


@requires_shared
def test_their_published_queries_and_qrels_load():
    tsv = SHARED_DATA / "benchmarks/browsecomp-plus/topics-qrels/bcp/queries.tsv"
    items = list(bcp.load_browsecomp_plus(tsv))
    assert len(items) == 830 and len({i.id for i in items}) == 830
    assert all(i.metadata["evidence_docids"] for i in items)  # every query has evidence (their script needs it)
    assert sum(bool(i.metadata["gold_docids"]) for i in items) > 800


def test_cli_bcp_no_judge_writes_their_summary(tmp_path, capsys):
    from openseeker.cli.main import main

    (tmp_path / "q").mkdir()
    (tmp_path / "q" / "qrel_evidence.txt").write_text(EVIDENCE)
    (tmp_path / "q" / "qrel_golds.txt").write_text(GOLD)
    bcp.write_run_dir(
        tmp_path / "runs", [bcp.RunRecord(**run_file("1", ["10", "11"])), bcp.RunRecord(**run_file("2", ["20"]))]
    )
    assert main(["eval", "bcp", str(tmp_path / "runs"), "--qrels-dir", str(tmp_path / "q"), "--no-judge"]) == 0
    summary = json.loads((tmp_path / "runs_eval" / "evaluation_summary.json").read_text())
    assert summary["Recall (%)"] == 75.0 and summary["Gold Recall (%)"] == 50.0 and summary["judge_protocol"] is None
    # nothing was judged: no accuracy (not 0.0), no per-query verdict, and a note saying why
    assert summary["Accuracy (%)"] is None and [q["correct"] for q in summary["per_query_metrics"]] == [None, None]
    assert any("nothing was judged" in note for note in summary["notes"])
    assert main(["eval", "bcp", str(tmp_path / "runs"), "--qrels-dir", str(tmp_path / "q")]) == 2  # needs answers
    assert "--ground-truth" in capsys.readouterr().err


@requires_shared
def test_cli_bcp_finds_the_shared_qrels_from_any_directory(tmp_path, monkeypatch):
    """Without --qrels-dir the qrels come from the shared data beside the checkout, wherever the command runs."""
    from openseeker.cli.main import main

    monkeypatch.delenv("OPENSEEKER_DATA", raising=False)
    monkeypatch.delenv("OPENSEEKER_SHARED", raising=False)
    evidence = load_qrels(SHARED_DATA / "benchmarks/browsecomp-plus/topics-qrels/qrel_evidence.txt")
    qid, docids = next(iter(evidence.items()))
    bcp.write_run_dir(tmp_path / "runs", [bcp.RunRecord(**run_file(qid, docids))])
    elsewhere = tmp_path / "deep" / "elsewhere"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    assert main(["eval", "bcp", str(tmp_path / "runs"), "--no-judge"]) == 0
    summary = json.loads((tmp_path / "runs_eval" / "evaluation_summary.json").read_text())
    assert summary["Recall (%)"] == 100.0
