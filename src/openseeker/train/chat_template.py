"""The chat template that trains ``messages.jsonl`` with TRL exactly as ``tokenized.jsonl`` is trained.

Why it exists: TRL's ``SFTTrainer`` renders a conversational dataset with the tokenizer's chat template. The
default student's template (SmolLM2) ignores ``tool_calls`` and ``reasoning_content``: six of seven assistant
turns of a typical trajectory come out empty, and ``assistant_only_loss=True`` raises because the template has
no ``{% generation %}`` markers. ``CHATML_TOOLS_TEMPLATE`` renders the HF messages of ``messages.jsonl`` into
the very text ``openseeker.train.render.render_messages`` produces (Qwen3's ChatML layout: ``<think>`` block,
visible text, one ``<tool_call>`` per call, consecutive tool results in one user turn of ``<tool_response>``
blocks), and marks each assistant body plus its ``<|im_end|>\\n`` as ``{% generation %}``, so TRL's
``assistant_only_loss`` trains the same tokens as our loss mask. ``export sft`` writes it next to the data as
``chat_template.jinja`` (pass ``SFTConfig(chat_template_path=...)``).

Tools: with ``--system student`` the system prompt already lists the tools (one tools block, as at inference) and
the export writes no ``tools`` column; otherwise TRL passes the ``tools`` column and the template appends Qwen's
tools block to the system prompt, exactly as ``render.tools_system_prompt`` does for ``tokenized.jsonl``.

``template_problems`` renders a probe conversation with a template and names what it loses; ``require_tool_aware``
turns that into a refusal that names the template that works.
"""

from __future__ import annotations

import re
from typing import Any

from openseeker.errors import UserError

TEMPLATE_FILE = "chat_template.jinja"

CHATML_TOOLS_TEMPLATE = r"""{#- openseeker ChatML-with-tools training template: the text of openseeker.train.render, byte for byte,
    with {% generation %} around each assistant body and its <|im_end|>\n (TRL assistant_only_loss). -#}
{%- if tools %}
    {#- only when the system prompt does not list the tools (export sft writes no tools column otherwise) #}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0].role == 'system' and messages[0].content %}
        {{- messages[0].content + '\n\n' }}
    {%- endif %}
    {{- "# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
    {%- for tool in tools %}
        {{- '\n' + tool | tojson }}
    {%- endfor %}
    {{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
{%- endif %}
{%- for message in messages %}
    {%- set content = message.content if message.content is string else '' %}
    {%- if loop.first and message.role == 'system' and tools %}
        {#- written above, with the tools block #}
    {%- elif message.role == 'assistant' %}
        {%- set reasoning = (message.reasoning_content if message.reasoning_content is string else '').strip() %}
        {%- set think = '<think>\n' + reasoning + '\n</think>\n\n' if reasoning else '' %}
        {%- set ns = namespace(parts=[]) %}
        {%- if content.strip() %}
            {%- set ns.parts = ns.parts + [content.strip()] %}
        {%- endif %}
        {%- for tc in message.tool_calls or [] %}
            {%- set f = tc.function if tc.function is defined else tc %}
            {%- set ns.parts = ns.parts + ['<tool_call>\n{"name": ' + f.name | tojson + ', "arguments": ' + f.arguments | tojson + '}\n</tool_call>'] %}
        {%- endfor %}
        {%- set body = think + ns.parts | join('\n') if ns.parts else think.rstrip('\n') %}
        {{- '<|im_start|>assistant\n' }}
        {%- generation %}
        {{- body + '<|im_end|>\n' }}
        {%- endgeneration %}
    {%- elif message.role == 'tool' %}
        {%- if loop.first or messages[loop.index0 - 1].role != 'tool' %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' + content + '\n</tool_response>' }}
        {%- if loop.last or messages[loop.index0 + 1].role != 'tool' %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- else %}
        {{- '<|im_start|>' + message.role + '\n' + content + '<|im_end|>\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
{%- endif %}
"""

_PROBE = [
    {"role": "system", "content": "PROBE-SYSTEM"},
    {"role": "user", "content": "PROBE-QUESTION"},
    {
        "role": "assistant",
        "content": "",
        "reasoning_content": "PROBE-REASONING",
        "tool_calls": [
            {
                "id": "c0",
                "type": "function",
                "function": {"name": "probe_tool", "arguments": {"query": "PROBE-ARGUMENT"}},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "c0", "name": "probe_tool", "content": "PROBE-OBSERVATION"},
    {"role": "assistant", "content": "<answer>PROBE-ANSWER</answer>", "reasoning_content": "PROBE-FINAL"},
]
_GENERATION_TAG = re.compile(r"\{%-?\s*generation\s*-?%\}")
_EXPECT = {
    "reasoning_content": ("PROBE-REASONING", "PROBE-FINAL"),
    "tool_calls": ("probe_tool", "PROBE-ARGUMENT"),
    "tool results": ("PROBE-OBSERVATION",),
    "content": ("PROBE-ANSWER",),
}


def template_problems(tokenizer: Any, chat_template: str | None = None, *, need_generation: bool = True) -> list[str]:
    """What a chat template loses of an exported conversation (empty list: it keeps everything we train).

    Renders a probe conversation (reasoning, a tool call, a tool result, an answer) with ``chat_template`` (default:
    the tokenizer's own) and reports each field that does not reach the text, and, with ``need_generation``, a
    template without ``{% generation %}`` markers (TRL's ``assistant_only_loss`` cannot mask with it).
    """
    template = chat_template if chat_template is not None else getattr(tokenizer, "chat_template", None)
    if not template:
        return ["the tokenizer has no chat template"]
    try:
        text = tokenizer.apply_chat_template(_PROBE, chat_template=template, tokenize=False)
    except Exception as exc:  # noqa: BLE001 - any template error is a problem to report, not a crash
        return [f"the template fails on a tool-calling conversation: {type(exc).__name__}: {exc}"]
    problems = [f"drops {field}" for field, needles in _EXPECT.items() if not all(n in text for n in needles)]
    if need_generation and not _GENERATION_TAG.search(template):
        problems.append("has no {% generation %} markers (TRL's assistant_only_loss=True raises)")
    return problems


def require_tool_aware(tokenizer: Any, chat_template: str | None = None, *, name: str = "the chat template") -> None:
    """Refuse (``UserError``) a template that would train ``messages.jsonl`` wrongly, naming one that works."""
    problems = template_problems(tokenizer, chat_template)
    if problems:
        raise UserError(
            f"{name} {'; '.join(problems)}: TRL would train empty or unmasked assistant turns on messages.jsonl. "
            f"Use the template `openseeker export sft` writes next to the data ({TEMPLATE_FILE}, "
            "openseeker.train.chat_template.CHATML_TOOLS_TEMPLATE): "
            f"SFTConfig(chat_template_path='<export dir>/{TEMPLATE_FILE}', assistant_only_loss=True, "
            "max_length=<stats.json tokens.max>)"
        )
