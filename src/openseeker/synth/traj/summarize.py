"""Retrospective summarization (METHOD.md section 3): the context hook that builds the teacher's H_t.

Before every teacher call the agent passes the full raw history to ``RetrospectiveSummarizer.__call__``, which
returns H_t: every tool observation older than the latest step's is replaced by its summary
s_i = Summarize(o_i | context), written by the ``summarizer`` role; the latest step's observations (all of them, when
the step made several calls) stay raw; the question, reasoning and tool calls are never touched.

Each summary is computed once, the first time its observation stops being the latest, and cached (keyed by the
message's position in the append-only history and a hash of its content). A failed or empty summarizer call falls
back to the observation truncated to ``fallback_chars``; the fallback is recorded (``status="fallback"``).
After the rollout, ``annotate(traj)`` writes each step's summary into ``Step.summary`` and the per-observation
records into ``traj.metadata["summaries"]``. ``Trajectory.messages`` stays raw (the agent guarantees it).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from openseeker.errors import LLMError, is_context_length_error
from openseeker.llm.usage import record_usage
from openseeker.records import Trajectory, Usage
from openseeker.synth.traj.view import SUMMARY_MARKER

if TYPE_CHECKING:
    from openseeker.llm.base import LLM

log = logging.getLogger(__name__)

PROMPT_VERSION = "summarize-v1"

SUMMARIZER_SYSTEM = (
    "You compress the result of a tool call made by a research agent. Keep every fact that could help answer the "
    "question: names, titles, dates, numbers, places, relations, and the URLs worth visiting. Drop navigation, "
    "boilerplate and anything irrelevant. Write plain text, at most {max_words} words. Do not answer the question; "
    "do not add facts that are not in the tool result."
)

SUMMARIZER_USER = """Question the agent is working on:
{question}

The agent's reasoning before the call:
{reasoning}

Tool call:
{call}

Tool result:
{observation}

Write the compressed summary of the tool result."""


def format_summary(summary: str) -> str:
    """How a summarized observation appears in H_t (the marker lets the view check catch any leak)."""
    return f"{SUMMARY_MARKER}\n{summary}"


@dataclass
class SummaryRecord:
    """One compressed observation."""

    message_index: int
    tool_call_id: str
    status: str  # "ok" | "fallback"
    summary: str
    raw_chars: int
    error: str | None = None
    latency_s: float = 0.0
    outage: bool = False  # the fallback is an endpoint failure (not an empty summary, not a too-long input)


def _key(index: int, content: str) -> str:
    return f"{index}:{hashlib.sha256(content.encode('utf-8')).hexdigest()[:16]}"


class RetrospectiveSummarizer:
    """The context hook of teacher rollouts. One instance per rollout (its cache is that rollout's summaries).

    Args:
        llm: the ``summarizer`` role.
        max_input_chars: the observation is cut to this many characters in the summarizer's prompt.
        max_tokens: generation budget of one summary.
        max_words: the length asked for in the prompt.
        fallback_chars: on summarizer failure, the observation truncated to this many characters is used.
        temperature: summarizer sampling temperature.
    """

    def __init__(
        self,
        llm: LLM,
        *,
        max_input_chars: int = 12_000,
        max_tokens: int = 384,
        max_words: int = 150,
        fallback_chars: int = 1_000,
        temperature: float | None = 0.0,
    ):
        self.llm = llm
        self.max_input_chars = max_input_chars
        self.max_tokens = max_tokens
        self.max_words = max_words
        self.fallback_chars = fallback_chars
        self.temperature = temperature
        self.cache: dict[str, SummaryRecord] = {}
        self.usage = Usage()
        self.calls = 0

    # -- the hook
    async def __call__(self, messages: list[dict[str, Any]], traj: Trajectory | None = None) -> list[dict[str, Any]]:
        """H_t from the raw history (a new list; the input messages are not modified)."""
        last_assistant = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=-1)
        older = [i for i, m in enumerate(messages) if m.get("role") == "tool" and i < last_assistant]
        question = next((str(m.get("content") or "") for m in messages if m.get("role") == "user"), "")
        todo = [i for i in older if _key(i, str(messages[i].get("content") or "")) not in self.cache]
        if todo:
            records = await asyncio.gather(*(self._summarize(messages, i, question) for i in todo))
            for i, rec in zip(todo, records):
                self.cache[_key(i, str(messages[i].get("content") or ""))] = rec
        out = []
        for i, m in enumerate(messages):
            if i in older:
                rec = self.cache[_key(i, str(m.get("content") or ""))]
                m = {**m, "content": format_summary(rec.summary)}
            out.append(m)
        return out

    async def _summarize(self, messages: list[dict[str, Any]], index: int, question: str) -> SummaryRecord:
        msg = messages[index]
        observation = str(msg.get("content") or "")
        call_id = str(msg.get("tool_call_id") or "")
        producer = next((messages[j] for j in range(index - 1, -1, -1) if messages[j].get("role") == "assistant"), {})
        call_text = ""
        for tc in producer.get("tool_calls") or []:
            if not call_id or tc.get("id") == call_id:
                fn = tc.get("function", {})
                call_text = json.dumps({"name": fn.get("name"), "arguments": fn.get("arguments")}, ensure_ascii=False)
                break
        reasoning = str(producer.get("content") or "")
        if "</think>" in reasoning:
            reasoning = reasoning.split("</think>")[0].replace("<think>", "").strip()
        obs_in = (
            observation
            if len(observation) <= self.max_input_chars
            else (observation[: self.max_input_chars] + "\n[... truncated]")
        )
        prompt = [
            {"role": "system", "content": SUMMARIZER_SYSTEM.format(max_words=self.max_words)},
            {
                "role": "user",
                "content": SUMMARIZER_USER.format(
                    question=question,
                    reasoning=reasoning or "(none)",
                    call=call_text or msg.get("name", "tool"),
                    observation=obs_in,
                ),
            },
        ]
        t0 = time.perf_counter()
        self.calls += 1
        try:
            kwargs = {"max_tokens": self.max_tokens}
            if self.temperature is not None:
                kwargs["temperature"] = self.temperature
            comp = await self.llm.chat(prompt, **kwargs)
            self.usage.add(comp.usage)
            _sink_usage(comp.usage)
            text = (comp.content or "").strip()
            if not text:
                raise ValueError("empty summary")
            return SummaryRecord(index, call_id, "ok", text, len(observation), latency_s=time.perf_counter() - t0)
        except (TypeError, AttributeError, NameError, AssertionError):
            raise
        except Exception as exc:  # LLMError, empty output: never crash the rollout
            log.warning("summarizer failed on message %d (%s); using the truncated observation", index, exc)
            cut = (
                observation
                if len(observation) <= self.fallback_chars
                else (observation[: self.fallback_chars] + " [... truncated]")
            )
            return SummaryRecord(
                index,
                call_id,
                "fallback",
                cut,
                len(observation),
                error=f"{type(exc).__name__}: {exc}",
                latency_s=time.perf_counter() - t0,
                outage=isinstance(exc, LLMError) and not is_context_length_error(exc),
            )

    # -- after the rollout
    def annotate(self, traj: Trajectory) -> Trajectory:
        """Write the summaries into ``Step.summary`` and ``traj.metadata["summaries"]`` (in place; returned)."""
        by_index = {rec.message_index: rec for rec in self.cache.values()}
        tool_idx = [i for i, m in enumerate(traj.messages) if m.get("role") == "tool"]
        k = 0
        for step in traj.steps:
            n = len(step.observations)
            idx = tool_idx[k : k + n]
            k += n
            recs = [by_index[i] for i in idx if i in by_index]
            if recs:
                step.summary = "\n\n".join(r.summary for r in recs)
        traj.metadata["summaries"] = [asdict(r) for r in sorted(by_index.values(), key=lambda r: r.message_index)]
        traj.metadata["summarizer"] = {
            "model": getattr(self.llm, "model", ""),
            "prompt_version": PROMPT_VERSION,
            "calls": self.calls,
            "fallbacks": sum(1 for r in by_index.values() if r.status == "fallback"),
            "outages": sum(1 for r in by_index.values() if r.outage),
        }
        return traj


def summarizer_outage(traj: Trajectory) -> str | None:
    """The first summarizer endpoint failure a rollout fell back from, or ``None``. Such a rollout saw truncated
    observations because of an outage, not by design: synthesis does not keep it as a result (the next run does
    it again; the calls that succeeded come from the response cache)."""
    if not (traj.metadata.get("summarizer") or {}).get("outages"):
        return None
    return next((s.get("error") for s in traj.metadata.get("summaries") or [] if s.get("outage")), "summarizer failed")


def _sink_usage(usage: Usage) -> None:
    """Count the summarizer's tokens in the running trajectory's per-role usage (the agent's usage sink)."""
    record_usage("summarizer", usage)
