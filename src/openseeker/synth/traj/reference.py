"""The offline reference teacher: replay a QA record's evidence chain as REAL tool calls against a web.

No LLM is involved. For each entity along the record's reasoning chain (far end first) the replay searches for the
entity's name and visits the page the chain cites for it, with the real ``search`` / ``visit`` tools over the
given web; then it answers with the gold answer. The reasoning text is templated. The result is a well-formed
trajectory in the agent's canonical message format, useful as a test oracle and for the offline demo (the embedded
135M teacher rarely solves anything).

Its records say so: ``metadata.teacher == "reference-replay"``; ``openseeker export sft`` refuses to export them
unless ``--allow-reference`` is given, so they never mix silently with LLM-teacher data; ``openseeker synth traj``
refuses to append them to a file holding LLM-teacher trajectories (and vice versa).
"""

from __future__ import annotations

import json
import time
from typing import Any

from openseeker.agent import prompts
from openseeker.agent.protocol import assistant_message, tool_message
from openseeker.records import QASample, Step, ToolCall, Trajectory

REFERENCE_TEACHER = "reference-replay"


def chain_entities(qa: QASample) -> list[dict[str, Any]]:
    """The chain's entities, far end first, each ``{"name", "url", "description"}`` (url: the cited page)."""
    eg = qa.entity_graph or {}
    nodes = {n.get("name"): n for n in eg.get("nodes", []) if isinstance(n, dict)}
    by_id = {n.get("id"): n for n in eg.get("nodes", []) if isinstance(n, dict)}
    names: list[str] = list(qa.metadata.get("chain_path") or [])
    if not names:
        for edge in qa.chain:
            if isinstance(edge, (list, tuple)) and len(edge) >= 2:
                for name in edge[:2]:
                    if isinstance(name, str) and name not in names:
                        names.append(name)
    edge_url: dict[str, str] = {}
    for e in eg.get("edges", []):
        src = by_id.get(e.get("src"), {}).get("name")
        if src and e.get("url"):
            edge_url.setdefault(src, e["url"])
    out = []
    for name in names:
        node = nodes.get(name, {})
        url = node.get("page_url") or edge_url.get(name)
        if not url:
            facts = node.get("facts") or []
            url = next((f.get("url") for f in facts if isinstance(f, dict) and f.get("url")), None)
        out.append({"name": name, "url": url, "description": qa.obfuscation.get(name, "")})
    if not out and qa.seed_url:  # no chain recorded: at least read the seed page
        out.append({"name": qa.answer, "url": qa.seed_url, "description": ""})
    return out


async def reference_rollout(qa: QASample, tools: list[Any], *, max_tool_calls: int = 200) -> Trajectory:
    """Replay ``qa``'s chain with the real tools; the final answer is the gold answer."""

    t0 = time.perf_counter()
    by_name = {t.name: t for t in tools}
    schemas = [t.schema for t in tools]
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": prompts.text_system_prompt(schemas)},
        {"role": "user", "content": qa.question},
    ]
    traj = Trajectory(
        id=qa.id,
        question=qa.question,
        tools=schemas,
        metadata={
            "teacher": REFERENCE_TEACHER,
            "teacher_model": None,
            "summarize": False,
            "qa_id": qa.id,
            "protocol": "text",
            "prompt_version": prompts.PROMPT_VERSION,
        },
    )
    traj.messages = messages  # assigned after construction: validation would copy the list
    plan: list[tuple[str, ToolCall]] = []
    for ent in chain_entities(qa):
        clue = (
            f" The question describes {ent['description']!r}; this may be {ent['name']}." if ent["description"] else ""
        )
        plan.append(
            (
                f"I need facts about {ent['name']} to follow the chain in the question.{clue} Let me search for it.",
                ToolCall(name="search", arguments={"query": [ent["name"]]}),
            )
        )
        if ent["url"]:
            plan.append(
                (
                    f"The page on {ent['name']} should state the facts the question relies on. Let me read it.",
                    ToolCall(
                        name="visit",
                        arguments={
                            "url": [ent["url"]],
                            "goal": f"Facts about {ent['name']} relevant to: {qa.question[:300]}",
                        },
                    ),
                )
            )
    found_in_search: list[bool] = []
    last_search = ""
    for i, (reasoning, call) in enumerate(plan[:max_tool_calls]):
        call.id = f"call_{i}_0"
        tool = by_name.get(call.name)
        t_tool = time.perf_counter()
        obs = await tool.execute(call.arguments) if tool else f"[{call.name}] Error: unknown tool '{call.name}'."
        if call.name == "search":
            last_search = obs
        else:
            found_in_search.append(call.arguments["url"][0] in last_search)
        step = Step(
            index=i,
            reasoning=reasoning,
            content="",
            tool_calls=[call],
            observations=[obs],
            tool_s=time.perf_counter() - t_tool,
        )
        traj.steps.append(step)
        messages.append(assistant_message(reasoning, [call], None))
        step.content = messages[-1]["content"]
        messages.append(tool_message(call, obs))
        traj.num_tool_calls += 1
        traj.num_turns += 1
    final_reasoning = "Following the chain through the pages I read, the answer is " + qa.answer + "."
    final = assistant_message(final_reasoning, [], qa.answer)
    messages.append(final)
    traj.steps.append(Step(index=len(traj.steps), reasoning=final_reasoning, content=final["content"]))
    traj.num_turns += 1
    traj.final_answer = qa.answer
    traj.stop_reason = "answered"
    traj.metadata["replay"] = {
        "planned_calls": len(plan),
        "executed_calls": traj.num_tool_calls,
        "visits_found_in_search": sum(found_in_search),
        "visits": len(found_in_search),
        "chain": json.loads(json.dumps(qa.chain, default=str)),
    }
    traj.wall_s = time.perf_counter() - t0
    return traj
