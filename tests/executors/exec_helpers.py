"""Helpers of the executor tests: a scripted search-visit-answer endpoint, a tiny web, question files."""

from __future__ import annotations

import json
from pathlib import Path

from openseeker.testing.chat_server import Reply

EIFFEL = "https://en.wikipedia.org/wiki/Gustave_Eiffel"


def agent_responder(req: dict) -> Reply:
    """Search, visit, answer: two tool calls per question (the visit extractor answers in JSON)."""
    msgs = req["messages"]
    if req.get("response_format"):
        return Reply(content='{"rational": "r", "evidence": "born in Dijon", "summary": "Born in Dijon."}')
    if len(msgs) == 2:
        return Reply(content='<tool_call>{"name": "search", "arguments": {"query": ["Gustave Eiffel"]}}</tool_call>')
    if len(msgs) == 4:
        call = {"name": "visit", "arguments": {"url": [EIFFEL], "goal": "birth"}}
        return Reply(content=f"<tool_call>{json.dumps(call)}</tool_call>")
    return Reply(content="<answer>Dijon</answer>")


def questions(path: Path, n: int) -> Path:
    path.write_text(
        "".join(json.dumps({"id": f"q{i:03d}", "question": f"Where was Eiffel born? ({i})"}) + "\n" for i in range(n))
    )
    return path


def build_tiny_web(d: Path) -> Path:
    from openseeker.web.build import build_web

    src = d / "pages.jsonl"
    pages = [
        {
            "url": EIFFEL,
            "title": "Gustave Eiffel",
            "text": "Gustave Eiffel was a French civil engineer, born in Dijon. His company built the Eiffel Tower.",
        },
        {
            "url": "https://en.wikipedia.org/wiki/Dijon",
            "title": "Dijon",
            "text": "Dijon is a city in eastern France, famous for mustard.",
        },
    ]
    src.write_text("".join(json.dumps(p) + "\n" for p in pages))
    build_web(src, d / "web", progress=False)
    return d / "web"


class Switchboard:
    """``agent_responder`` (+ a judge that says yes) with switches, for the fault tests: ``fail`` holds question
    numbers whose answer turn gets HTTP 500, ``judge_down`` makes the judge answer 500, ``delay`` slows every call;
    ``summarizer_down`` the summarizer; ``answers`` counts the final answers served per question number, ``judged``
    the verdicts."""

    def __init__(self, delay: float = 0.0):
        import threading
        from collections import Counter

        self.delay, self.fail, self.judge_down, self.summarizer_down = delay, set(), False, False
        self.answers: Counter = Counter()
        self.judged: Counter = Counter()
        self.lock = threading.Lock()

    def __call__(self, req: dict) -> Reply:
        import re
        import time

        text = json.dumps(req["messages"])
        m = re.search(r"\((\d+)\)", text)
        n = int(m.group(1)) if m else -1
        if "[correct_answer]" in text:
            if self.judge_down:
                return Reply(status=500)
            with self.lock:
                self.judged[n] += 1
            verdict = {"extracted_final_answer": "Dijon", "reasoning": "r", "correct": "yes", "confidence": 90}
            return Reply(content=json.dumps(verdict))
        if "You compress the result of a tool call" in str(req["messages"][0].get("content")):
            return Reply(status=500) if self.summarizer_down else Reply(content="Eiffel was born in Dijon.")
        reply = agent_responder(req)
        if "<answer>" in (reply.content or ""):
            if n in self.fail:
                return Reply(status=500)
            time.sleep(self.delay)
            with self.lock:
                self.answers[n] += 1
            return reply
        reply.delay = self.delay
        return reply


def llm_config_file(path: Path, base_url: str, model: str = "m") -> Path:
    """A config whose roles all use ``base_url``, failing fast (2 retries, short backoff) on a scripted outage."""
    path.write_text(
        "llm:\n  default:\n"
        f"    base_url: {base_url}\n    model: {model}\n    max_retries: 1\n    backoff_s: 0.01\n    timeout_s: 10\n"
    )
    return path


def qa_file(path: Path, n: int) -> Path:
    """QA records whose gold answer is Dijon (``synth traj --qa``, ``eval run --benchmark synth --path``)."""
    path.write_text(
        "".join(
            json.dumps({"id": f"q{i:03d}", "question": f"Where was Eiffel born? ({i})", "answer": "Dijon"}) + "\n"
            for i in range(n)
        )
    )
    return path


def start_cli(*args: str, cwd: Path | None = None):
    """``python -m openseeker.cli.main ARGS`` in its own process group (so a test can signal the group as a
    terminal's Ctrl-C does), with SIGINT at its default (a background test run would pass it on as ignored)."""
    import os
    import signal
    import subprocess
    import sys

    env = {**os.environ, "OPENSEEKER_NO_CACHE": "1", "COLUMNS": "300", "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen(
        [sys.executable, "-m", "openseeker.cli.main", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def live_in_group(pgid: int) -> list[int]:
    """The pids of process group ``pgid`` that are alive (zombies waiting for a reaper are not)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            pids.append(int(stat.parent.name))
    return pids


def jsonl_ids(path: Path, key: str = "id") -> list[str]:
    if not path.exists():
        return []
    return [json.loads(line)[key] for line in path.read_text().splitlines() if line.strip()]
