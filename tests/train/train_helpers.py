"""Helpers of the train tests: canonical trajectories as the agent records them (importable: see conftest)."""

from __future__ import annotations

import json

from openseeker.records import Step, ToolCall, Trajectory

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "search",
            "description": "Web search.",
            "parameters": {"type": "object", "properties": {"query": {"type": "array"}}},
        },
    },
    {
        "type": "function",
        "function": {
            "name": "visit",
            "description": "Visit pages.",
            "parameters": {"type": "object", "properties": {"url": {"type": "array"}}},
        },
    },
]


def make_trajectory(
    tid: str = "t1",
    *,
    correct: bool | None = True,
    teacher: str = "llm",
    n_calls: int = 2,
    answer: str | None = "Paris",
    obs_words: int = 5,
) -> Trajectory:
    """A canonical rollout: n search/visit calls with distinct raw observations, then an answer."""
    msgs = [
        {"role": "system", "content": "You are the teacher."},
        {"role": "user", "content": f"Question {tid}: which city?"},
    ]
    steps = []
    for i in range(n_calls):
        call = ToolCall(id=f"c{i}", name="search", arguments={"query": [f"query {i}"]})
        obs = f"RAW-OBS-{tid}-{i} " + " ".join(f"w{i}_{k}" for k in range(obs_words))
        content = (
            f"<think>\nreason {i}\n</think>\n\n<tool_call>\n"
            + json.dumps({"name": "search", "arguments": {"query": [f"query {i}"]}})
            + "\n</tool_call>"
        )
        msgs.append(
            {
                "role": "assistant",
                "content": content,
                "tool_calls": [
                    {
                        "id": f"c{i}",
                        "type": "function",
                        "function": {"name": "search", "arguments": json.dumps(call.arguments)},
                    }
                ],
            }
        )
        msgs.append({"role": "tool", "tool_call_id": f"c{i}", "name": "search", "content": obs})
        steps.append(
            Step(index=i, reasoning=f"reason {i}", tool_calls=[call], observations=[obs], summary=f"SUMMARY-{tid}-{i}")
        )
    if answer is not None:
        final = f"<think>\nfinal reasoning\n</think>\n\n<answer>{answer}</answer>"
        msgs.append({"role": "assistant", "content": final})
        steps.append(Step(index=n_calls, reasoning="final reasoning", content=f"<answer>{answer}</answer>"))
    return Trajectory(
        id=tid,
        question=f"Question {tid}: which city?",
        messages=msgs,
        tools=TOOLS,
        steps=steps,
        final_answer=answer,
        stop_reason="answered" if answer else "max_tool_calls",
        num_tool_calls=n_calls,
        num_turns=len(steps),
        metadata={"teacher": teacher, "correct": correct, "qa_id": tid},
    )


def make_rich_trajectory(tid: str = "rich") -> Trajectory:
    """A native-protocol rollout with every shape an assistant turn can take: reasoning + visible text + two
    parallel calls; reasoning + one call; a call without reasoning; then a reasoned answer."""
    calls = [
        ToolCall(id="p0", name="search", arguments={"query": ["capital of France"]}),
        ToolCall(id="p1", name="visit", arguments={"url": ["https://fr.example/paris"], "goal": "capital"}),
        ToolCall(id="s2", name="search", arguments={"query": ["Paris population"]}),
        ToolCall(id="s3", name="visit", arguments={"url": ["https://fr.example/pop"], "goal": "population"}),
    ]
    obs = [f"RAW-OBS-{tid}-{i} " + " ".join(f"o{i}_{k}" for k in range(4)) for i in range(4)]

    def native(c: ToolCall) -> dict:
        return {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}

    def tool(c: ToolCall, o: str) -> dict:
        return {"role": "tool", "tool_call_id": c.id, "name": c.name, "content": o}

    msgs = [
        {"role": "system", "content": "You are the teacher."},
        {"role": "user", "content": f"Question {tid}: which city, and how many people?"},
        {
            "role": "assistant",
            "content": "Let me look this up in two places.",
            "reasoning_content": "Two sources at once.",
            "tool_calls": [native(calls[0]), native(calls[1])],
        },
        tool(calls[0], obs[0]),
        tool(calls[1], obs[1]),
        {
            "role": "assistant",
            "content": "",
            "reasoning_content": "Now the population.",
            "tool_calls": [native(calls[2])],
        },
        tool(calls[2], obs[2]),
        {"role": "assistant", "content": None, "tool_calls": [native(calls[3])]},
        tool(calls[3], obs[3]),
        {
            "role": "assistant",
            "content": "<answer>Paris, 2.1 million</answer>",
            "reasoning_content": "Both facts found.",
        },
    ]
    steps = [
        Step(index=0, reasoning="Two sources at once.", tool_calls=calls[:2], observations=obs[:2]),
        Step(index=1, reasoning="Now the population.", tool_calls=[calls[2]], observations=[obs[2]]),
        Step(index=2, tool_calls=[calls[3]], observations=[obs[3]]),
        Step(index=3, reasoning="Both facts found.", content="<answer>Paris, 2.1 million</answer>"),
    ]
    return Trajectory(
        id=tid,
        question=msgs[1]["content"],
        messages=msgs,
        tools=TOOLS,
        steps=steps,
        final_answer="Paris, 2.1 million",
        stop_reason="answered",
        num_tool_calls=4,
        num_turns=4,
        metadata={"teacher": "llm", "correct": True, "qa_id": tid},
    )


def make_code_trajectory(tid: str = "code") -> Trajectory:
    """An OpenSeeker-v2 rollout as the agent records it: a search, two ``code_exec`` calls (a file written, then a
    Python heredoc run on it; quotes, ``<``, ``&`` and newlines in both the command and its escaped output), then
    the answer in ``\\boxed{}`` (preset v2), built with the agent's own canonical renderers."""
    from openseeker.agent.prompts import BOX_INSTRUCTION
    from openseeker.agent.protocol import assistant_message, boxed_answer_message, tool_message
    from openseeker.sandbox.tool import CODE_EXEC_SCHEMA, format_shell_results

    calls = [
        ToolCall(id="k0", name="search", arguments={"query": ["side lengths of the triangle"]}),
        ToolCall(
            id="k1", name="code_exec", arguments={"cmd": "printf '3\\n4\\n5\\n' > sides.txt && wc -l < sides.txt"}
        ),
        ToolCall(
            id="k2",
            name="code_exec",
            arguments={
                "cmd": "python - <<'PY'\nxs = [int(x) for x in open('sides.txt')]\n"
                'print(f"sum of squares <&> {sum(x * x for x in xs)}")\nPY'
            },
        ),
    ]
    obs = [
        f"RAW-OBS-{tid}-0 the sides are listed in sides.txt",
        format_shell_results(0, "3\n", ""),
        format_shell_results(0, "sum of squares <&> 50\n", ""),
    ]
    question = f"Question {tid}: what is the sum of the squares of the sides?"
    msgs = [
        {"role": "system", "content": "You are the teacher."},
        {"role": "user", "content": question + BOX_INSTRUCTION},
    ]
    steps = []
    for i, (call, o) in enumerate(zip(calls, obs)):
        msgs.append(assistant_message(f"step {i}", [call], None))
        msgs.append(tool_message(call, o))
        steps.append(Step(index=i, reasoning=f"step {i}", tool_calls=[call], observations=[o]))
    content = "<think>\nThe sandbox printed 50.\n</think>\n\nThe sum of the squares is \\boxed{50}."
    msgs.append(boxed_answer_message("The sandbox printed 50.", content, "50"))
    steps.append(Step(index=3, reasoning="The sandbox printed 50.", content=content))
    return Trajectory(
        id=tid,
        question=question,
        messages=msgs,
        tools=[*TOOLS, CODE_EXEC_SCHEMA],
        steps=steps,
        final_answer="50",
        stop_reason="answered",
        num_tool_calls=3,
        num_turns=4,
        metadata={"teacher": "llm", "correct": True, "qa_id": tid, "answer": "boxed"},
    )
