"""Prompts of the agent: one system prompt per protocol, the forcing messages, the extractor prompt.

The text-protocol prompt follows the format of the released OpenSeeker / Tongyi-DeepResearch models
(METHOD.md section 4): tools listed inside ``<tools>``, calls as ``<tool_call>{"name":..., "arguments":...}
</tool_call>``, the final answer in ``<answer>``. The JSON-protocol prompt is short on purpose: it is written for
very small models (the embedded SmolLM2-135M) that can only act through constrained JSON output.
"""

from __future__ import annotations

import json
from typing import Any

PROMPT_VERSION = "agent-v2"  # v2: json prompt with concrete examples (SmolLM2 copied v1's placeholders)

TEXT_SYSTEM = """You are a deep research assistant. Your core function is to conduct thorough, multi-source \
investigations into any topic. You must handle both broad, open-domain inquiries and queries within specialized \
academic fields. For every request, synthesize information from credible, diverse sources to deliver a \
comprehensive, accurate, and objective response. When you have gathered sufficient information and are ready to \
provide the definitive response, you must enclose the entire final answer within <answer></answer> tags.

# Tools

You may call one or more functions to assist with the user query.

You are provided with function signatures within <tools></tools> XML tags:
<tools>
{tools}
</tools>

For each function call, return a json object with function name and arguments within <tool_call></tool_call> \
XML tags:
<tool_call>
{{"name": <function-name>, "arguments": <args-json-object>}}
</tool_call>
Think inside <think></think> before acting. Tool results come back inside <tool_response></tool_response>."""

NATIVE_SYSTEM = """You are a deep research assistant. Investigate the user's question thoroughly with the search \
and visit tools, checking facts across several sources. When you have gathered sufficient information and are \
ready to provide the definitive response, you must enclose the entire final answer within <answer></answer> tags."""

JSON_SYSTEM = """You answer questions by searching an encyclopedia. Reply with ONE JSON object per turn, one of:
{"think": "I need the author of Hamlet.", "action": "search", "query": ["Hamlet author"]}
{"think": "This page should say it.", "action": "visit", "url": ["https://en.wikipedia.org/wiki/Hamlet"], \
"goal": "who wrote Hamlet"}
{"think": "The page says William Shakespeare.", "action": "answer", "answer": "William Shakespeare"}
Search with key words from the question, visit a url from the results, then answer with a short name, date or \
number."""

# OpenSeeker-v2's answer convention (``answer: boxed``): the authors' evaluation appends this instruction to every
# question (verbatim, two backslashes included, so their models read what they were evaluated with), and the
# answer is the content of the last \boxed{...} of the final turn.
BOX_INSTRUCTION = (
    "\n\nYou should follow the format instruction in the request strictly and wrap the final answer in \\\\boxed{}."
)
TAG_ANSWER_SENTENCE = "you must enclose the entire final answer within <answer></answer> tags."
BOXED_ANSWER_SENTENCE = "write it directly, without calling a tool, and wrap the final answer in \\boxed{}."

# How each protocol asks for the final answer; the forcing messages below end with one of them.
TEXT_ANSWER_FORMAT = "in <answer></answer> tags"
BOXED_ANSWER_FORMAT = "wrapped in \\boxed{}"
JSON_ANSWER_FORMAT = 'as {"action": "answer", "answer": "..."}'

# Forcing messages (one final turn, no more tools), keyed by the stop reason they lead to. Placeholders:
# ``{limit}`` the tool budget, ``{answer_format}`` the protocol's answer format.
FORCE_MSGS = {
    "max_tool_calls": (
        "You have used too many tools ({limit} tool calls, the limit is {limit}). You must not call any more "
        "tools. Give your final answer now, based on what you have found, {answer_format}."
    ),
    "context_overflow": (
        "You have reached the maximum context length. You must not call any more tools. "
        "Give your final answer now, based on what you have found, {answer_format}."
    ),
    "max_turns": (
        "This is your last turn. You must not call any more tools. "
        "Give your final answer now, based on what you have found, {answer_format}."
    ),
}
NO_ACTION_MSG = (
    "Your reply contained neither a tool call nor a final answer. Call a tool with "
    '<tool_call>{"name": ..., "arguments": ...}</tool_call>, or give the final answer in <answer></answer> tags.'
)
JSON_NO_ACTION_MSG = (
    'Your reply was not a valid action. Reply with one JSON object whose "action" is "search", "visit" or "answer".'
)


def text_system_prompt(tools: list[dict[str, Any]], today: str | None = None) -> str:
    """The text-protocol system prompt, tool schemas one JSON object per line."""
    listing = "\n".join(json.dumps(t, ensure_ascii=False) for t in tools)
    prompt = TEXT_SYSTEM.format(tools=listing)
    return prompt + (f"\n\nCurrent date: {today}" if today else "")


def system_prompt_for(
    protocol: str, tools: list[dict[str, Any]], today: str | None = None, answer: str = "tag"
) -> str:
    """The system prompt of ``protocol``; ``answer="boxed"`` asks for \\boxed{} instead of <answer> tags."""
    if protocol == "json":
        return JSON_SYSTEM + (f"\nCurrent date: {today}" if today else "")
    if protocol == "native":
        prompt = NATIVE_SYSTEM + (f"\n\nCurrent date: {today}" if today else "")
    else:
        prompt = text_system_prompt(tools, today)
    return prompt.replace(TAG_ANSWER_SENTENCE, BOXED_ANSWER_SENTENCE) if answer == "boxed" else prompt


# --------------------------------------------------------------------------- goal-conditioned visit

EXTRACTOR_PROMPT = """Please process the following webpage content and user goal to extract relevant information:

## **Webpage Content**
{content}

## **User Goal**
{goal}

## **Task Guidelines**
1. **Content Scanning for Rational**: Locate the **specific sections/data** directly related to the user's goal \
within the webpage content.
2. **Key Extraction for Evidence**: Identify and extract the **most relevant information** from the content; \
never miss any important information; output the **full original context** of the content as far as possible.
3. **Summary Output for Summary**: Organize into a concise paragraph with logical flow, prioritizing clarity and \
judging the contribution of the information to the goal.

**Final Output Format: a JSON object with "rational", "evidence", "summary" fields**"""

EXTRACT_SCHEMA = {
    "type": "object",
    "properties": {
        "rational": {"type": "string"},
        "evidence": {"type": "string"},
        "summary": {"type": "string"},
    },
    "required": ["rational", "evidence", "summary"],
}
