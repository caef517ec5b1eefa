"""LLM-teacher rollouts: the agent (teacher role) with the retrospective-summarization context hook.

``teacher_rollout`` runs one question: ``Agent(teacher, tools, context_hook=RetrospectiveSummarizer(summarizer),
record_context=True)``. Each ``Step`` then records the teacher's exact input (``Step.context``, H_t rendered for
the protocol), its output (``reasoning``, ``content``, ``tool_calls``), the raw observations and the summary
(``Step.summary``). With ``summarize=False`` (the ablation) no hook is installed: the teacher sees the raw history.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from openseeker.agent.runtime import Agent
from openseeker.records import QASample, Trajectory
from openseeker.synth.traj.summarize import RetrospectiveSummarizer

if TYPE_CHECKING:
    from openseeker.llm.base import LLM

log = logging.getLogger(__name__)

LLM_TEACHER = "llm"


async def teacher_rollout(
    qa: QASample,
    teacher: LLM,
    tools: list[Any],
    *,
    summarizer: LLM | None = None,
    summarize: bool = True,
    agent_kwargs: dict[str, Any] | None = None,
    summarizer_kwargs: dict[str, Any] | None = None,
) -> Trajectory:
    """One teacher rollout on ``qa.question`` (never raises for model/tool failures: they are in the record).

    Args:
        qa: the QA record (its id becomes the trajectory id).
        teacher: the ``teacher`` role LLM.
        tools: the agent's tools (search + visit over a web).
        summarizer: the ``summarizer`` role LLM (required when ``summarize``).
        summarize: retrospective summarization on (the method) or off (ablation: identity context).
        agent_kwargs: extra ``Agent`` arguments (max_tool_calls, protocol, context_tokens, ...).
        summarizer_kwargs: extra ``RetrospectiveSummarizer`` arguments.
    """

    hook = None
    if summarize:
        if summarizer is None:
            raise ValueError("summarize=True needs a summarizer LLM")
        hook = RetrospectiveSummarizer(summarizer, **(summarizer_kwargs or {}))
    agent = Agent(teacher, tools, context_hook=hook, record_context=True, **(agent_kwargs or {}))
    traj = await agent.run(
        qa.question,
        id=qa.id,
        metadata={
            "teacher": LLM_TEACHER,
            "teacher_model": getattr(teacher, "model", ""),
            "summarize": summarize,
            "qa_id": qa.id,
        },
    )
    if hook is not None:
        hook.annotate(traj)
    return traj
