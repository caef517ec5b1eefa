"""Batch runner: concurrency, resume after an exception, a cancel or a SIGINT, duplicate-id errors."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from agent_helpers import call, check_well_formed, tools

from openseeker.agent.batch import load_questions, run_batch
from openseeker.agent.runtime import Agent
from openseeker.errors import InputError, UserError
from openseeker.records import Question, Trajectory
from openseeker.testing.fakes import FakeLLM

ROOT = Path(__file__).resolve().parents[2]


def items(n: int) -> list[dict]:
    return [{"id": f"q{i:03d}", "question": f"question number {i} about Paris", "answer": "Paris"} for i in range(n)]


def scripted(messages, kw):
    return "<answer>Paris</answer>" if len(messages) > 2 else call("search", query=[messages[1]["content"]])


def read_ids(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text().splitlines() if line.strip()]


def test_batch_runs_all_with_bounded_concurrency(tmp_path):
    in_flight = {"now": 0, "max": 0}

    class Counting(FakeLLM):
        async def chat(self, messages, **kw):
            in_flight["now"] += 1
            in_flight["max"] = max(in_flight["max"], in_flight["now"])
            await asyncio.sleep(0.01)
            in_flight["now"] -= 1
            return await super().chat(messages, **kw)

    out = tmp_path / "out.jsonl"
    summary = asyncio.run(
        run_batch(items(20), out, agent=Agent(Counting(scripted), tools()), concurrency=4, progress=False)
    )
    assert in_flight["max"] == 4
    assert sorted(read_ids(out)) == [f"q{i:03d}" for i in range(20)]
    assert summary["done"] == 20 and summary["skipped"] == 0 and summary["stop_reasons"] == {"answered": 20}
    assert summary["tool_calls"] == 20 and summary["tokens"]["prompt"] > 0
    trajs = [Trajectory.model_validate_json(line) for line in out.read_text().splitlines()]
    for t in trajs:
        check_well_formed(t)
        assert t.metadata["item"] == {"answer": "Paris"}
    saved = json.loads((tmp_path / "out.jsonl.summary.json").read_text())
    assert saved["summary"]["done"] == 20 and "versions" in saved


def test_resume_after_exception_midway_has_no_duplicates_and_no_gaps(tmp_path):
    out = tmp_path / "out.jsonl"
    finished = {"n": 0}

    class Crashing(Agent):
        async def run(self, question, **kw):
            traj = await super().run(question, **kw)
            finished["n"] += 1
            if finished["n"] == 7:
                raise RuntimeError("simulated crash")
            return traj

    with pytest.raises(RuntimeError):
        asyncio.run(
            run_batch(items(25), out, agent=Crashing(FakeLLM(scripted), tools()), concurrency=3, progress=False)
        )
    first = read_ids(out)
    assert 3 <= len(first) < 25 and len(set(first)) == len(first)
    summary = asyncio.run(
        run_batch(items(25), out, agent=Agent(FakeLLM(scripted), tools()), concurrency=3, progress=False)
    )
    ids = read_ids(out)
    assert summary["skipped"] == len(first) and summary["done"] == 25 - len(first)
    assert len(ids) == len(set(ids)) == 25 and sorted(ids) == [f"q{i:03d}" for i in range(25)]


def test_cancel_midway_then_resume(tmp_path):
    out = tmp_path / "out.jsonl"

    async def slow(messages, kw):  # noqa: ARG001
        return scripted(messages, kw)

    class Slow(FakeLLM):
        async def chat(self, messages, **kw):
            await asyncio.sleep(0.02)
            return await super().chat(messages, **kw)

    async def cancel_after(k: int):
        task = asyncio.create_task(
            run_batch(items(30), out, agent=Agent(Slow(scripted), tools()), concurrency=4, progress=False)
        )
        while not out.exists() or len(read_ids(out)) < k:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_after(5))
    first = read_ids(out)
    assert 5 <= len(first) < 30
    asyncio.run(run_batch(items(30), out, agent=Agent(Slow(scripted), tools()), concurrency=4, progress=False))
    ids = read_ids(out)
    assert len(ids) == len(set(ids)) == 30


SCRIPT = textwrap.dedent("""
    import asyncio, json, sys
    sys.path.insert(0, {helpers!r})
    from agent_helpers import call, tools
    from openseeker.agent.batch import load_questions, run_batch
    from openseeker.agent.runtime import Agent
    from openseeker.testing.fakes import FakeLLM

    class Slow(FakeLLM):
        async def chat(self, messages, **kw):
            await asyncio.sleep(0.05)
            return await super().chat(messages, **kw)

    def scripted(messages, kw):
        return "<answer>x</answer>" if len(messages) > 2 else call("search", query=["Paris"])

    items = load_questions(sys.argv[1])
    try:
        s = asyncio.run(run_batch(items, sys.argv[2], agent=Agent(Slow(scripted), tools()), concurrency=4,
                                  progress=False))
    except KeyboardInterrupt:
        print("INTERRUPTED", flush=True)
        sys.exit(130)
    print(json.dumps(s))
""")


def default_sigint() -> None:
    """Ctrl-C as in a terminal: a test run started in the background by a shell (``pytest ... &``) ignores SIGINT,
    and a child inherits an ignored signal, so without this the child would never see the interrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_sigint_kill_midway_then_rerun_completes(tmp_path):
    qfile = tmp_path / "q.jsonl"
    n = 60
    qfile.write_text("".join(json.dumps(it) + "\n" for it in items(n)))
    out = tmp_path / "out.jsonl"
    script = tmp_path / "run.py"
    script.write_text(SCRIPT.format(helpers=str(Path(__file__).parent)))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(qfile), str(out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
    )
    deadline = time.time() + 60
    while time.time() < deadline and (not out.exists() or len(read_ids(out)) < 8):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    first = read_ids(out)
    assert 8 <= len(first) < n, "killed midway"
    proc = subprocess.run(
        [sys.executable, str(script), str(qfile), str(out)], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["skipped"] == len(first) and summary["done"] == n - len(first)
    ids = read_ids(out)
    assert len(ids) == len(set(ids)) == n and set(ids) == {it["id"] for it in items(n)}


def test_duplicate_ids_are_a_clear_error(tmp_path):
    with pytest.raises(UserError, match="duplicate id 'q000'"):
        asyncio.run(
            run_batch(
                items(3) + items(2), tmp_path / "o.jsonl", agent=Agent(FakeLLM(scripted), tools()), progress=False
            )
        )
    qfile = tmp_path / "q.jsonl"
    qfile.write_text('{"id": "a", "question": "x"}\n{"id": "b", "question": "y"}\n{"id": "a", "question": "z"}\n')
    with pytest.raises(InputError) as err:
        load_questions(qfile)
    assert err.value.line == 3 and "first on line 1" in str(err.value)
    qfile.write_text('{"id": "a"}\n')
    with pytest.raises(InputError, match="question"):
        load_questions(qfile)


def test_empty_todo_is_fine(tmp_path):
    out = tmp_path / "o.jsonl"
    asyncio.run(run_batch(items(2), out, agent=Agent(FakeLLM(scripted), tools()), progress=False))
    summary = asyncio.run(run_batch(items(2), out, agent=Agent(FakeLLM(scripted), tools()), progress=False))
    assert summary["done"] == 0 and summary["skipped"] == 2 and len(read_ids(out)) == 2


def test_group_commit_writer_round_trips(tmp_path):
    from openseeker.io import ResumableWriter

    path = tmp_path / "w.jsonl"
    with ResumableWriter(path) as w:
        assert w.write_many([Trajectory(id="a", question="x"), {"id": "b", "question": "y"}]) == 2
        assert w.write_many([]) == 0
        assert w.done == {"a", "b"}
    with path.open("a") as fh:
        fh.write('{"id": "c", "question": "torn')  # a crash mid-batch
    w = ResumableWriter(path)
    assert w.done == {"a", "b"} and w.repaired == 1
    w.close()


def test_each_item_runs_in_its_own_cache_rollout_scope(tmp_path):
    from openseeker.llm.cache import current_rollout

    seen = {}

    class Scoped(FakeLLM):
        async def chat(self, messages, **kw):
            seen.setdefault(messages[1]["content"], set()).add(current_rollout())
            return await super().chat(messages, **kw)

    same = [{"id": "a", "question": "same question"}, {"id": "b", "question": "other"}]
    asyncio.run(run_batch(same, tmp_path / "o.jsonl", agent=Agent(Scoped(scripted), tools()), progress=False))
    assert seen == {"same question": {"a"}, "other": {"b"}}


def test_llm_error_rollouts_are_not_final_and_are_retried(tmp_path):
    """An endpoint that is down must not turn questions into saved 'llm_error' results: a re-run retries them."""
    from openseeker.agent.batch import failed_path, raise_if_failed
    from openseeker.errors import LLMError

    out = tmp_path / "traj.jsonl"
    down = {"on": True}

    def flaky(messages, kw):
        if down["on"] and "number 1 " in messages[1]["content"]:
            raise LLMError("endpoint down")
        return scripted(messages, kw)

    summary = asyncio.run(run_batch(items(3), out, agent=Agent(FakeLLM(flaky), tools()), progress=False))
    assert summary["failed"] == 1 and summary["failed_ids"] == ["q001"] and summary["done"] == 2
    assert sorted(read_ids(out)) == ["q000", "q002"]
    assert json.loads(failed_path(out).read_text().splitlines()[0])["stop_reason"] == "llm_error"
    with pytest.raises(LLMError, match="re-run the same command"):
        raise_if_failed(summary)

    down["on"] = False
    summary = asyncio.run(run_batch(items(3), out, agent=Agent(FakeLLM(flaky), tools()), progress=False))
    assert summary["failed"] == 0 and summary["done"] == 1 and summary["skipped"] == 2
    assert sorted(read_ids(out)) == ["q000", "q001", "q002"]
    raise_if_failed(summary)  # nothing failed: no error


def test_questions_are_records_from_the_file_to_the_agent(tmp_path):
    # load_questions gives Question records (other keys in .metadata); the batch hands them to make_agent and
    # keeps the metadata in the trajectory, exactly as the flat dicts did; the file's shape is unchanged
    qfile = tmp_path / "q.jsonl"
    qfile.write_text(
        '{"id": 7, "question": "capital of France?", "answer": "Paris", "kind": "qa"}\n'
        '{"id": "b", "question": "capital of Italy?"}\n'
    )
    qs = load_questions(qfile)
    assert all(isinstance(q, Question) for q in qs)
    assert qs[0].id == "7" and qs[0].metadata == {"answer": "Paris", "kind": "qa"} and qs[1].metadata == {}
    seen = []

    def make_agent(q):
        seen.append(q)
        return Agent(FakeLLM(scripted), tools())

    out = tmp_path / "o.jsonl"
    asyncio.run(run_batch(qs, out, make_agent=make_agent, progress=False))
    assert sorted(q.id for q in seen) == ["7", "b"] and all(isinstance(q, Question) for q in seen)
    by_id = {t.id: t for t in (Trajectory.model_validate_json(line) for line in out.read_text().splitlines())}
    assert by_id["7"].metadata["item"] == {"answer": "Paris", "kind": "qa"} and "item" not in by_id["b"].metadata
    with pytest.raises(UserError, match="duplicate id 'b'"):
        asyncio.run(
            run_batch(
                [*qs, Question(id="b", question="again?")],
                tmp_path / "o2.jsonl",
                make_agent=make_agent,
                progress=False,
            )
        )
    with pytest.raises(InputError, match="non-empty"):
        asyncio.run(
            run_batch([Question(id="c", question="  ")], tmp_path / "o3.jsonl", make_agent=make_agent, progress=False)
        )
