"""Render a trajectory's OpenAI-format messages into the student's training text, with an exact loss mask.

Format (METHOD.md section 4, ChatML as SmolLM2 and Qwen use it)::

    <|im_start|>system\\n{system}<|im_end|>\\n
    <|im_start|>user\\n{question}<|im_end|>\\n
    <|im_start|>assistant\\n<think>\\n{r1}\\n</think>\\n\\n<tool_call>\\n{"name": ..., "arguments": ...}\\n</tool_call>
        <|im_end|>\\n          (one line; wrapped here; parallel calls: one more <tool_call> block per line)
    <|im_start|>user\\n<tool_response>\\n{o1}\\n</tool_response><|im_end|>\\n
    ...
    <|im_start|>assistant\\n<think>\\n{rT}\\n</think>\\n\\n<answer>{y}</answer><|im_end|>\\n

This is byte for byte the text-protocol input the agent sends at inference (``openseeker.agent.protocol``), and
byte for byte what Qwen3's chat template writes for the same messages when every assistant turn has reasoning
(Qwen3 adds an empty ``<think>`` block to a turn without; we add none, as the agent sends none).

Loss mask (the paper only says "assistant tokens"): the trained characters are the body of every assistant turn
(reasoning, tool calls, answer) plus its closing ``<|im_end|>\\n``, so the student learns to stop; the
``<|im_start|>assistant\\n`` header and every system, user and tool-response character are masked. This is the
mask LLaMA-Factory (``qwen`` template), ms-swift (``hermes`` agent template) and TRL (``assistant_only_loss`` with
``chat_template.CHATML_TOOLS_TEMPLATE``) compute on our exports, token for token (tests/train/test_trainers.py).
The mask is computed on characters and mapped to tokens through the fast tokenizer's offsets, so it is exact
for the tokenization of the whole string (the one the model sees at inference), not an approximation built from
separately tokenized pieces.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from openseeker.agent.protocol import extract_boxed

IM_START, IM_END = "<|im_start|>", "<|im_end|>"
IGNORE_INDEX = -100

_THINK_RE = re.compile(r"^\s*<think>(.*?)</think>\s*", re.DOTALL)
_TOOL_CALL_RE = re.compile(r"<tool_call>.*?</tool_call>", re.DOTALL)
_ANSWER_RE = re.compile(r"<answer>.*?</answer>", re.DOTALL)


@dataclass
class Rendered:
    """The training text and the character spans that carry loss."""

    text: str
    trained_spans: list[tuple[int, int]] = field(default_factory=list)  # [start, end) character offsets
    num_assistant_turns: int = 0

    def trained_text(self) -> str:
        return "".join(self.text[a:b] for a, b in self.trained_spans)


def _arguments_dict(arguments: Any) -> Any:
    if isinstance(arguments, str):
        try:
            return json.loads(arguments)
        except ValueError:
            return arguments  # keep what the teacher wrote; the student learns the teacher's exact call
    return arguments


def format_tool_call(name: str, arguments: Any) -> str:
    """``<tool_call>`` block exactly as the agent's text protocol parses it."""
    payload = json.dumps({"name": name, "arguments": _arguments_dict(arguments)}, ensure_ascii=False)
    return f"<tool_call>\n{payload}\n</tool_call>"


def message_tool_calls(message: dict[str, Any]) -> list[tuple[str, Any]]:
    """``[(name, arguments)]`` of an assistant message's native ``tool_calls`` (OpenAI or HF shape)."""
    out = []
    for tc in message.get("tool_calls") or []:
        fn = tc.get("function", tc)
        out.append((fn.get("name", ""), _arguments_dict(fn.get("arguments", {}))))
    return out


def split_assistant(message: dict[str, Any], *, final: bool = True) -> tuple[str, str, list[tuple[str, Any]]]:
    """``(reasoning, visible text, calls)`` of one assistant turn, the pieces every export format is built from.

    Reasoning comes from ``reasoning_content``/``reasoning`` or a leading ``<think>`` block in the content;
    native tool calls are returned as ``(name, arguments)`` and their text-protocol copies removed from the text
    (text-protocol calls of a turn without native ``tool_calls`` stay in the text, as the teacher wrote them); a
    final turn without tags is wrapped in ``<answer>`` unless it already marks its answer with ``\\boxed{}``
    (OpenSeeker-v2's convention; ``final=False``: kept verbatim, e.g. a turn the agent answered with a "no
    action" nudge).
    """
    content = message.get("content") or ""
    if not isinstance(content, str):  # list-of-parts content
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    reasoning = message.get("reasoning_content") or message.get("reasoning") or ""
    m = _THINK_RE.match(content)
    if m:
        reasoning = (reasoning + "\n" + m.group(1)).strip() if reasoning else m.group(1).strip()
        content = content[m.end() :]
    calls = message_tool_calls(message)
    if calls:
        return reasoning.strip(), _TOOL_CALL_RE.sub("", content).strip(), calls
    text = content.strip()
    if (
        final
        and text
        and not _TOOL_CALL_RE.search(text)
        and not _ANSWER_RE.search(text)
        and extract_boxed(text) is None
    ):
        text = f"<answer>{text}</answer>"  # an untagged last turn is the answer; earlier ones stay verbatim
    return reasoning.strip(), text, calls


def think_block(reasoning: str) -> str:
    """``<think>\\n{r}\\n</think>\\n\\n`` (Qwen3's, and LLaMA-Factory's ``thought_words``), or "" without reasoning."""
    return f"<think>\n{reasoning}\n</think>\n\n" if reasoning else ""


def assistant_body(message: dict[str, Any], *, final: bool = True) -> str:
    """The text of one assistant turn in the student's format: Qwen3's layout, byte for byte.

    ``<think>\\n{r}\\n</think>\\n\\n`` when there is reasoning, then the visible text, then the calls, each on
    the line after the previous piece (one newline, as Qwen3's chat template and LLaMA-Factory's ``qwen`` tool
    format join them). A turn without reasoning has no ``<think>`` block (**ours**: Qwen3 writes an empty one).
    """
    reasoning, text, calls = split_assistant(message, final=final)
    body = "\n".join(([text] if text else []) + [format_tool_call(n, a) for n, a in calls])
    return think_block(reasoning) + body if body else think_block(reasoning).rstrip("\n")


def tool_response_block(content: Any) -> str:
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    return f"<tool_response>\n{text}\n</tool_response>"


def tools_system_prompt(system: str | None, tools: list[dict[str, Any]]) -> str:
    """``system`` followed by Qwen's tools block, as Qwen3's chat template writes it when given ``tools``.

    LLaMA-Factory (``tool_utils.QWEN_TOOL_PROMPT``) and ms-swift (``agent_template/hermes.py``) write the same
    text after a system prompt. Used for ``--system keep`` when the teacher's prompt does not list the tools (the
    teacher's server added this block from the ``tools`` parameter), so every export format has one tools block.
    """
    listing = "".join("\n" + json.dumps(t, ensure_ascii=False) for t in tools)
    block = (
        "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
        "You are provided with function signatures within <tools></tools> XML tags:\n<tools>"
        + listing
        + "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
        '<tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": '
        "<args-json-object>}\n</tool_call>"
    )
    return f"{system}\n\n{block}" if system else block


def render_messages(messages: list[dict[str, Any]], *, system: str | None = None) -> Rendered:
    """Render OpenAI-format messages (system, user, assistant with tool_calls, tool) into ChatML + loss spans.

    Consecutive ``tool`` messages (several calls in one turn) share one user turn, one ``<tool_response>`` block
    each, in order. ``system`` replaces (or, when the messages have none, supplies) the system prompt.
    """
    msgs = list(messages)
    if system is not None:
        msgs = [m for m in msgs if m.get("role") != "system"]
        msgs.insert(0, {"role": "system", "content": system})
    text_parts: list[str] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    n_assistant = 0

    def emit(s: str, trained: bool = False) -> None:
        nonlocal pos
        if trained and s:
            spans.append((pos, pos + len(s)))
        text_parts.append(s)
        pos += len(s)

    last_assistant = max((k for k, m in enumerate(msgs) if m.get("role") == "assistant"), default=-1)
    i = 0
    while i < len(msgs):
        m = msgs[i]
        role = m.get("role")
        if role == "tool":
            blocks = []
            while i < len(msgs) and msgs[i].get("role") == "tool":
                blocks.append(tool_response_block(msgs[i].get("content", "")))
                i += 1
            emit(f"{IM_START}user\n" + "\n".join(blocks) + f"{IM_END}\n")
            continue
        if role == "assistant":
            emit(f"{IM_START}assistant\n")
            # trained: the body, <|im_end|> and the newline after it, as LLaMA-Factory, ms-swift and TRL's
            # training templates all train it (one token per turn; the model stops at <|im_end|> anyway)
            emit(assistant_body(m, final=i == last_assistant) + IM_END + "\n", trained=True)
            n_assistant += 1
        elif role in ("system", "user"):
            content = m.get("content") or ""
            if not isinstance(content, str):
                content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
            emit(f"{IM_START}{role}\n{content}{IM_END}\n")
        else:
            raise ValueError(f"unknown message role {role!r}")
        i += 1
    return Rendered(text="".join(text_parts), trained_spans=spans, num_assistant_turns=n_assistant)


@dataclass
class Tokenized:
    input_ids: list[int]
    labels: list[int]
    straddling: int = 0  # tokens crossing a trained/masked boundary (masked); 0 for ChatML with special tokens

    @property
    def num_trained(self) -> int:
        return sum(1 for x in self.labels if x != IGNORE_INDEX)


def tokenize_rendered(rendered: Rendered, tokenizer: Any) -> Tokenized:
    """Tokenize the whole text once and label each token by its character span.

    A token is trained iff its characters lie entirely inside one trained span. Tokens crossing a boundary are
    masked and counted in ``straddling`` (never happens at ChatML special-token boundaries).
    """
    enc = tokenizer(rendered.text, add_special_tokens=False, return_offsets_mapping=True)
    ids = list(enc["input_ids"])
    offsets = enc["offset_mapping"]
    labels = [IGNORE_INDEX] * len(ids)
    spans = rendered.trained_spans
    straddling = 0
    j = 0
    for k, (a, b) in enumerate(offsets):
        if b <= a:  # zero-width token: cannot be attributed; leave masked
            continue
        while j < len(spans) and spans[j][1] <= a:
            j += 1
        if j < len(spans):
            s, e = spans[j]
            if s <= a and b <= e:
                labels[k] = ids[k]
            elif a < e and b > s:
                straddling += 1
    return Tokenized(input_ids=ids, labels=labels, straddling=straddling)
