"""Labelling and quality gates of trajectories.

``label(traj, qa, judge_llm)`` judges the final answer against the QA record's gold answer (the ``judge`` role via
``openseeker.llm.judge.judge_answer``; normalized match when no judge is given or it cannot grade) and records
the verdict, the tool-call count and the stop reason in ``traj.metadata``. Synthesis never drops a trajectory:
the gates below are applied at export (``openseeker export sft``), where each rejection is written out with its
reason. The paper applies no heuristic filter (v1) and a minimum of T_min ~ 30 tool calls (v2); both are options.

Gates return ``(keep, reason)`` (STYLE 7).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from openseeker.llm.judge import judge_answer
from openseeker.records import QASample, Trajectory

if TYPE_CHECKING:
    from openseeker.llm.base import LLM

log = logging.getLogger(__name__)


async def label(traj: Trajectory, qa: QASample, judge_llm: LLM | None) -> Trajectory:
    """Judge ``traj.final_answer`` against ``qa.answer``; write ``verdict``/``correct``/counts into metadata
    (the labels are read back through ``Trajectory.labels``)."""

    golds = [qa.answer] + [a for a in (qa.metadata.get("aliases") or []) if isinstance(a, str)]
    try:
        verdict = await judge_answer(qa.question, golds if len(golds) > 1 else qa.answer, traj.final_answer, judge_llm)
        v = verdict.model_dump(exclude={"raw"})
        v["raw"] = (verdict.raw or "")[:2000]
        correct = verdict.correct
    except (TypeError, AttributeError, NameError):
        raise
    except Exception as exc:  # a judge failure must not lose the rollout: record it, leave it ungraded
        log.warning("judge failed on %s: %s", traj.id, exc)
        v, correct = {"correct": None, "error": f"{type(exc).__name__}: {exc}"}, None
    traj.metadata.update(
        {
            "gold": qa.answer,
            "verdict": v,
            "correct": correct,
            "exact_match": v.get("em"),  # always computed: a cross-check of the LLM judge
            "token_f1": v.get("f1"),
            "tool_calls": traj.num_tool_calls,
            "stop_reason": traj.stop_reason,
        }
    )
    return traj


def judge_outage(traj: Trajectory) -> str | None:
    """Why the judge could not grade ``traj`` when its endpoint failed (``None`` when it graded it, or its reply was
    merely unparseable): an outage is not a label; synthesis keeps the rollout aside and labels it on the next run."""
    verdict = traj.metadata.get("verdict") or {}
    if traj.metadata.get("correct") is not None:
        return None
    if verdict.get("ungraded") == "judge_error" or (verdict.get("error") and not verdict.get("ungraded")):
        return str(verdict.get("error") or "judge call failed")
    return None


@dataclass
class Gates:
    """Optional filters (all off by default: the paper's v1 keeps every trajectory)."""

    only_correct: bool = False
    min_tool_calls: int = 0
    require_answer: bool = True


def gate_answer(traj: Trajectory, gates: Gates) -> tuple[bool, str]:
    if gates.require_answer and not (traj.final_answer or "").strip():
        return False, "no-final-answer"
    return True, ""


def gate_correct(traj: Trajectory, gates: Gates) -> tuple[bool, str]:
    if gates.only_correct and traj.labels.correct is not True:
        return False, "not-correct"
    return True, ""


def gate_tool_calls(traj: Trajectory, gates: Gates) -> tuple[bool, str]:
    if traj.num_tool_calls < gates.min_tool_calls:
        return False, "too-few-tool-calls"
    return True, ""


GATES = (gate_answer, gate_correct, gate_tool_calls)


def apply_gates(traj: Trajectory, gates: Gates) -> tuple[bool, str]:
    """The first failing gate's reason, or ``(True, "")``."""
    for gate in GATES:
        ok, reason = gate(traj, gates)
        if not ok:
            return False, reason
    return True, ""
