"""The tool-call protocols: parse what the model said, render the canonical history, render the model's input.

Three protocols, one canonical record:

* ``native``: the endpoint returns OpenAI ``tool_calls``; the history is sent as-is (``tool`` messages).
* ``text`` (METHOD.md section 4): ``<think>...</think>`` optional, one or more ``<tool_call>{"name": ...,
  "arguments": ...}</tool_call>``, final answer in ``<answer>...</answer>``. Tool results are sent back as a user
  turn of ``<tool_response>...</tool_response>`` blocks (the released OpenSeeker model's chat format).
* ``json``: constrained output for weak models: each turn is ONE JSON object ``{"think", "action":
  "search"|"visit"|"answer", "query", "url", "goal", "answer"}`` forced by a ``json_schema`` response format.

Whatever the protocol, ``Trajectory.messages`` holds canonical OpenAI messages: the assistant turn's ``content``
is ``<think>reasoning</think>`` + one ``<tool_call>`` per call (or ``<answer>``), AND ``tool_calls`` carries the
parsed calls; each result is a ``tool`` message (``tool_call_id``, ``name``, raw observation).

Native tool calls win whenever the completion has them, whatever the configured protocol.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from openseeker.agent import prompts
from openseeker.llm.jsonout import json_objects, json_schema_format, parse_json
from openseeker.records import ToolCall

PROTOCOLS = ("auto", "text", "native", "json")

# Names weak or foreign-trained models use for our tools.
TOOL_ALIASES = {
    "run_command": "code_exec",
    "execute_command": "code_exec",
    "shell": "code_exec",
    "bash": "code_exec",
    "web_search": "search",
    "google_search": "search",
    "search_web": "search",
    "websearch": "search",
    "google": "search",
    "bing_search": "search",
    "query": "search",
    "browse": "visit",
    "open": "visit",
    "fetch": "visit",
    "open_url": "visit",
    "visit_page": "visit",
    "read": "visit",
    "open_page": "visit",
    "browse_page": "visit",
    "read_page": "visit",
}
# First parameter of each tool: where a bare string / list argument goes.
DEFAULT_FIRST_PARAM = {"search": "query", "visit": "url", "code_exec": "cmd"}

_THINK_OPEN, _THINK_CLOSE = "<think>", "</think>"
_TOOL_BLOCK = re.compile(r"<tool_call>(.*?)(?=</tool_call>|<tool_call>|\Z)", re.S)
_TOOL_TAGS = re.compile(r"<tool_call>.*?(?:</tool_call>|(?=<tool_call>)|\Z)", re.S)
_ANSWER = re.compile(r"<answer>(.*?)(?:</answer>|\Z)", re.S)
_FUNCTION_TAG = re.compile(r"<function=([\w.-]+)>(.*?)(?:</function>|\Z)", re.S)  # Llama-3.1 style calls


@dataclass
class ParsedTurn:
    """What one model turn amounts to.

    Attributes:
        reasoning: the model's reasoning (``<think>`` text, ``reasoning_content`` and free text outside tags).
        calls: the tool calls, in order (names normalized; arguments always a dict).
        answer: the final answer, or ``None``.
        errors: messages for the model about calls that could not be understood (sent back as observations).
        native: the calls came from native ``tool_calls``.
    """

    reasoning: str = ""
    calls: list[ToolCall] = field(default_factory=list)
    answer: str | None = None
    errors: list[str] = field(default_factory=list)
    native: bool = False

    @property
    def acted(self) -> bool:
        return bool(self.calls) or self.answer is not None


# --------------------------------------------------------------------------- call normalization


def normalize_call(obj: Any, *, first_param: dict[str, str] | None = None) -> tuple[str, dict[str, Any]] | str:
    """Turn a loosely shaped call object into ``(name, arguments)``, or return an error message.

    Accepts ``{"name", "arguments"}`` (arguments a dict or a JSON string), ``{"function": {...}}``,
    ``parameters``/``args``/``input`` for ``arguments``, and the flat form ``{"name": "search", "query": [...]}``.
    A bare string or list as arguments goes to the tool's first parameter.
    """
    first_param = {**DEFAULT_FIRST_PARAM, **(first_param or {})}
    if not isinstance(obj, dict):
        return f"a tool call must be a JSON object, got {type(obj).__name__}"
    if isinstance(obj.get("function"), dict):
        obj = obj["function"]
    name = obj.get("name", obj.get("tool", obj.get("tool_name")))
    if not isinstance(name, str) or not name.strip():
        return 'the tool call has no "name"'
    name = name.strip()
    name = TOOL_ALIASES.get(name.lower(), name)
    args: Any = None
    for key in ("arguments", "parameters", "args", "input"):
        if key in obj:
            args = obj[key]
            break
    else:
        args = {k: v for k, v in obj.items() if k not in ("name", "tool", "tool_name", "type", "id")}
    if isinstance(args, str):
        parsed = parse_json(args) if args.strip()[:1] in "{[" else None
        args = parsed if parsed is not None else args
    if args is None:
        args = {}
    if not isinstance(args, dict):  # a bare string or list: the tool's first parameter
        param = first_param.get(name)
        if param is None:
            return f"the arguments of '{name}' must be a JSON object"
        args = {param: args}
    return name, args


def _first_params(tools: list[dict[str, Any]] | None) -> dict[str, str]:
    out = {}
    for t in tools or []:
        fn = t.get("function", t)
        params = fn.get("parameters", {})
        req = params.get("required") or list(params.get("properties", {}))
        if fn.get("name") and req:
            out[fn["name"]] = req[0]
    return out


# --------------------------------------------------------------------------- parsing


def _split_think(content: str) -> tuple[str, str]:
    """``(reasoning, body)``: reasoning inside ``<think>``; a lone ``</think>`` closes a prompt-opened think."""
    if _THINK_CLOSE in content:
        before, _, after = content.rpartition(_THINK_CLOSE)
        return before.replace(_THINK_OPEN, "").strip(), after
    if _THINK_OPEN in content:  # unclosed (truncated) think: the reasoning runs until the first action tag
        before, _, rest = content.partition(_THINK_OPEN)
        cut = min([i for i in (rest.find("<tool_call>"), rest.find("<answer>")) if i >= 0], default=len(rest))
        return rest[:cut].strip(), before + rest[cut:]
    return "", content


def _bare_json_calls(text: str) -> list[Any]:
    """JSON objects in free text that look like tool calls (``name`` + arguments, or ``function``)."""
    found: list[Any] = []
    for _, _, obj in json_objects(text):
        if isinstance(obj.get("tool_calls"), list):  # OpenAI-shaped JSON in text
            found.extend(obj["tool_calls"])
        elif isinstance(obj.get("function"), dict) or (
            "name" in obj and any(k in obj for k in ("arguments", "parameters", "args"))
        ):
            found.append(obj)
    return found


def parse_text(content: str, *, reasoning: str = "", tools: list[dict[str, Any]] | None = None) -> ParsedTurn:
    """Parse a text-protocol turn. Never raises; what cannot be understood becomes ``errors``."""
    content = content or ""
    think, body = _split_think(content)
    turn = ParsedTurn()
    first_param = _first_params(tools)

    m = _ANSWER.search(body)
    if m:
        turn.answer = m.group(1).strip()
    blocks = _TOOL_BLOCK.findall(body)
    if not blocks and turn.answer is None and body is not content:  # calls written inside <think>
        blocks = _TOOL_BLOCK.findall(content)
        think = _TOOL_TAGS.sub("", think).strip()
    objs: list[Any] = []
    for block in blocks:
        obj = parse_json(block.strip())
        if obj is None:
            snippet = block.strip()[:200]
            turn.errors.append(f"could not parse the JSON inside <tool_call>: {snippet!r}")
            continue
        objs.extend(obj if isinstance(obj, list) else [obj])
    fn_tags = _FUNCTION_TAG.findall(body) if not blocks and turn.answer is None else []
    for name, args in fn_tags:
        objs.append({"name": name, "arguments": args.strip() or "{}"})
    if not blocks and not fn_tags and turn.answer is None:
        objs = _bare_json_calls(body)
        if not objs and body.strip()[:1] in ("{", "`"):
            obj = parse_json(body)
            if isinstance(obj, dict) and ("name" in obj or "function" in obj):
                objs = [obj]
    for obj in objs:
        norm = normalize_call(obj, first_param=first_param)
        if isinstance(norm, str):
            turn.errors.append(norm)
        else:
            turn.calls.append(ToolCall(name=norm[0], arguments=norm[1]))

    free = _TOOL_TAGS.sub("", body)
    free = _FUNCTION_TAG.sub("", free)
    free = _ANSWER.sub("", free)
    if not blocks and objs:  # bare JSON calls: drop them from the free text
        free = ""
    parts = [p for p in (reasoning.strip(), think, free.strip()) if p]
    turn.reasoning = "\n\n".join(parts)
    if turn.answer is not None:
        turn.calls, turn.errors = [], []  # an answer ends the run; calls written beside it are ignored
    return turn


def parse_native(
    content: str, calls: list[ToolCall], *, reasoning: str = "", tools: list[dict[str, Any]] | None = None
) -> ParsedTurn:
    """Native ``tool_calls`` (plus whatever text came with them)."""
    text = parse_text(content, reasoning=reasoning, tools=tools)
    turn = ParsedTurn(reasoning=text.reasoning, native=True)
    first_param = _first_params(tools)
    for call in calls:
        args: Any = call.arguments
        if isinstance(args, dict) and len(args) == 1 and next(iter(args)) in ("_raw", "__raw__", "raw"):
            args = next(iter(args.values()))  # the client could not decode the arguments string
        norm = normalize_call({"name": call.name, "arguments": args}, first_param=first_param)
        if isinstance(norm, str):
            turn.errors.append(norm)
        else:
            turn.calls.append(ToolCall(id=call.id, name=norm[0], arguments=norm[1]))
    if not turn.calls and text.answer is not None:
        turn.answer = text.answer
    return turn


# --------------------------------------------------------------------------- JSON (constrained) protocol

_THINK_FIELD = {"type": "string", "maxLength": 160}


JSON_ACTIONS = ("search", "visit", "answer")


def json_step_schema(
    *, answer_only: bool = False, allow_answer: bool = True, actions: tuple[str, ...] | None = None
) -> dict[str, Any]:
    """The per-turn schema of the ``json`` protocol: one branch per action, each requiring its own fields.

    Args:
        answer_only: the forced final turn: only the answer branch.
        allow_answer: False before the required tool calls, so a weak model cannot answer from memory.
        actions: the allowed actions explicitly (overrides the two flags), e.g. ``("search",)`` on the first
            turn, when there are no search results to visit yet.
    """
    if actions is None:
        actions = ("answer",) if answer_only else tuple(a for a in JSON_ACTIONS if allow_answer or a != "answer")
    branches = {
        "search": {
            "type": "object",
            "properties": {
                "think": _THINK_FIELD,
                "action": {"type": "string", "enum": ["search"]},
                "query": {
                    "type": "array",
                    "items": {"type": "string", "minLength": 1, "maxLength": 100},
                    "minItems": 1,
                    "maxItems": 3,
                },
            },
            "required": ["think", "action", "query"],
        },
        "visit": {
            "type": "object",
            "properties": {
                "think": _THINK_FIELD,
                "action": {"type": "string", "enum": ["visit"]},
                "url": {
                    "type": "array",
                    "items": {"type": "string", "minLength": 1, "maxLength": 300},
                    "minItems": 1,
                    "maxItems": 2,
                },
                "goal": {"type": "string", "maxLength": 300},
            },
            "required": ["think", "action", "url", "goal"],
        },
        "answer": {
            "type": "object",
            "properties": {
                "think": _THINK_FIELD,
                "action": {"type": "string", "enum": ["answer"]},
                "answer": {"type": "string", "minLength": 1, "maxLength": 300},
            },
            "required": ["think", "action", "answer"],
        },
    }
    chosen = [branches[a] for a in actions]
    return chosen[0] if len(chosen) == 1 else {"anyOf": chosen}


def json_response_format(
    *, answer_only: bool = False, allow_answer: bool = True, actions: tuple[str, ...] | None = None
) -> dict[str, Any]:
    schema = json_step_schema(answer_only=answer_only, allow_answer=allow_answer, actions=actions)
    if actions is not None:
        name = "agent_" + "_".join(actions)
    else:
        name = "agent_answer" if answer_only else ("agent_step" if allow_answer else "agent_act")
    return json_schema_format(name, schema)


def _str_list(v: Any) -> list[str]:
    if isinstance(v, str):
        return [v] if v.strip() else []
    if isinstance(v, list):
        return [str(x) for x in v if str(x).strip()]
    return []


def parse_json_action(content: str, *, reasoning: str = "") -> ParsedTurn:
    """Parse a ``json``-protocol turn; falls back to the text protocol when the reply is not a JSON action."""
    obj = parse_json(content or "")
    if not isinstance(obj, dict) or "action" not in obj:
        turn = parse_text(content or "", reasoning=reasoning)
        if not turn.acted and not turn.errors:
            turn.errors.append(f"the reply is not a JSON action: {(content or '')[:200]!r}")
        return turn
    think = str(obj.get("think") or "").strip()
    turn = ParsedTurn(reasoning="\n\n".join(p for p in (reasoning.strip(), think) if p))
    action = str(obj.get("action") or "").strip().lower()
    action = TOOL_ALIASES.get(action, action)
    if action == "answer":
        ans = obj.get("answer")
        ans = "" if ans is None else (ans if isinstance(ans, str) else json.dumps(ans, ensure_ascii=False))
        if ans.strip():
            turn.answer = ans.strip()
        else:
            turn.errors.append('action "answer" needs a non-empty "answer"')
    elif action == "search":
        q = _str_list(obj.get("query"))
        if q:
            turn.calls.append(ToolCall(name="search", arguments={"query": q}))
        else:
            turn.errors.append('action "search" needs "query": ["search words"]')
    elif action == "visit":
        u = _str_list(obj.get("url"))
        if u:
            turn.calls.append(ToolCall(name="visit", arguments={"url": u, "goal": str(obj.get("goal") or "")}))
        else:
            turn.errors.append('action "visit" needs "url": ["a url from the search results"]')
    else:
        turn.errors.append(f'unknown action {action!r}: use "search", "visit" or "answer"')
    return turn


# --------------------------------------------------------------------------- \\boxed{} answers (OpenSeeker-v2)

_BOXED = re.compile(r"\\+boxed\s*\{")


def extract_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{...}`` in ``text`` (nested braces kept, one or two backslashes), or None
    when there is none or it is never closed."""
    starts = [m.end() for m in _BOXED.finditer(text or "")]
    for start in reversed(starts):
        depth = 1
        for i in range(start, len(text)):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            if depth == 0:
                return text[start:i].strip()
    return None


def boxed_answer_message(reasoning: str, content: str, answer: str) -> dict[str, Any]:
    """The canonical final turn of a ``boxed`` run: the reasoning in ``<think>``, then the model's own answer text
    (tags removed), which always holds ``\\boxed{answer}`` (what a v2 student is trained to write)."""
    body = _ANSWER.sub(lambda m: m.group(1), _split_think(content)[1])
    body = _TOOL_TAGS.sub("", body).strip()
    if extract_boxed(body) is None:
        body = f"\\boxed{{{answer}}}"
    think = f"<think>\n{reasoning}\n</think>\n\n" if reasoning else ""
    return {"role": "assistant", "content": think + body}


# --------------------------------------------------------------------------- canonical rendering


def render_call(call: ToolCall) -> str:
    return (
        "<tool_call>\n"
        + json.dumps({"name": call.name, "arguments": call.arguments}, ensure_ascii=False)
        + "\n</tool_call>"
    )


def assistant_message(
    reasoning: str, calls: list[ToolCall], answer: str | None, raw: str | None = None
) -> dict[str, Any]:
    """The canonical assistant message. ``raw`` is kept as content when the turn had no action at all."""
    # Qwen3's layout (what the student is trained on, openseeker.train.render): a blank line after </think>,
    # one newline between parallel calls
    body = "\n".join([render_call(c) for c in calls] + ([f"<answer>{answer}</answer>"] if answer is not None else []))
    think = f"<think>\n{reasoning}\n</think>" if reasoning else ""
    msg: dict[str, Any] = {
        "role": "assistant",
        "content": "\n\n".join(p for p in (think, body) if p)
        if (calls or answer is not None)
        else (raw if raw is not None else think),
    }
    if calls:
        msg["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": json.dumps(c.arguments, ensure_ascii=False)},
            }
            for c in calls
        ]
    return msg


def tool_message(call: ToolCall, observation: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call.id, "name": call.name, "content": observation}


# --------------------------------------------------------------------------- model input per protocol


def render_input(messages: list[dict[str, Any]], protocol: str) -> list[dict[str, Any]]:
    """Turn canonical messages into what the model of ``protocol`` expects to read."""
    out: list[dict[str, Any]] = []
    if protocol == "native":
        for m in messages:
            if m.get("role") == "assistant" and m.get("tool_calls"):
                m = {**m, "content": _TOOL_TAGS.sub("", m.get("content") or "").strip()}
            out.append(m)
        return out
    pending: list[str] = []

    def flush() -> None:
        if pending:
            out.append({"role": "user", "content": "\n".join(pending)})
            pending.clear()

    for m in messages:
        role = m.get("role")
        if role == "tool":
            if protocol == "json":
                pending.append(f"Result of {m.get('name', 'tool')}:\n{m.get('content', '')}")
            else:
                pending.append(f"<tool_response>\n{m.get('content', '')}\n</tool_response>")
            continue
        flush()
        if role == "assistant":
            content = m.get("content") or ""
            if protocol == "json":
                content = _as_json_action(content)
            out.append({"role": "assistant", "content": content})
        else:
            out.append({k: v for k, v in m.items() if k in ("role", "content", "name")})
    flush()
    return out


@functools.lru_cache(maxsize=8192)  # re-rendered every turn: keep the whole-history render O(n), not O(n) parses
def _as_json_action(content: str) -> str:
    turn = parse_text(content)
    obj: dict[str, Any] = {"think": turn.reasoning}
    if turn.answer is not None:
        obj.update(action="answer", answer=turn.answer)
    elif turn.calls:
        c = turn.calls[0]
        if c.name == "visit":
            obj.update(action="visit", url=_str_list(c.arguments.get("url")), goal=str(c.arguments.get("goal", "")))
        else:
            obj.update(action=c.name, query=_str_list(c.arguments.get("query")))
    else:
        return content
    return json.dumps(obj, ensure_ascii=False)


# --------------------------------------------------------------------------- protocol objects


class ToolProtocol:
    """Everything that differs between tool-call protocols, in one place: the system prompt, how a completion is
    parsed, how the canonical history is rendered for the model, what each request adds (native tool schemas, a
    JSON response format) and how the forced final turn asks for the answer. The agent loop only calls these.

    Native ``tool_calls`` in a completion win whatever the protocol (``parse``).
    """

    name = ""
    answer_format = prompts.TEXT_ANSWER_FORMAT
    no_action_msg = prompts.NO_ACTION_MSG
    sends_tool_schemas = False  # the tool schemas travel with every request (and count against the context)

    def system_prompt(self, tools: list[dict[str, Any]], today: str | None = None) -> str:
        return prompts.system_prompt_for(self.name, tools, today)

    def parse(self, completion: Any, tools: list[dict[str, Any]]) -> ParsedTurn:
        """One completion (``content``, ``reasoning``, ``tool_calls``) as a ``ParsedTurn``."""
        content, reasoning = completion.content or "", completion.reasoning or ""
        if completion.tool_calls:
            return parse_native(content, completion.tool_calls, reasoning=reasoning, tools=tools)
        return self.parse_content(content, reasoning=reasoning, tools=tools)

    def parse_content(self, content: str, *, reasoning: str, tools: list[dict[str, Any]]) -> ParsedTurn:
        return parse_text(content, reasoning=reasoning, tools=tools)

    def render(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return render_input(messages, self.name)

    def request(
        self, *, tools: list[dict[str, Any]], forced: bool, tool_calls_made: int, min_tool_calls: int
    ) -> dict[str, Any]:
        """Extra ``chat`` arguments for this turn (``forced``: the final turn, where no tool may be called)."""
        return {}

    def force_message(self, reason: str, *, max_tool_calls: int) -> str:
        """The order to answer now, for stop reason ``max_tool_calls``, ``max_turns`` or ``context_overflow``."""
        return prompts.FORCE_MSGS[reason].format(limit=max_tool_calls, answer_format=self.answer_format)


class TextProtocol(ToolProtocol):
    """``<tool_call>`` / ``<answer>`` tags in plain text (METHOD.md section 4)."""

    name = "text"


class NativeProtocol(ToolProtocol):
    """OpenAI ``tool_calls``: the schemas go with every non-final request."""

    name = "native"
    sends_tool_schemas = True

    def request(
        self, *, tools: list[dict[str, Any]], forced: bool, tool_calls_made: int, min_tool_calls: int
    ) -> dict[str, Any]:
        return {} if forced else {"tools": tools}


class JsonProtocol(ToolProtocol):
    """One constrained JSON action per turn, for weak models. The schema narrows with the state of the run: the
    first turn may only search (nothing to visit yet), an answer needs ``min_tool_calls`` calls first, and the
    forced final turn may only answer."""

    name = "json"
    answer_format = prompts.JSON_ANSWER_FORMAT
    no_action_msg = prompts.JSON_NO_ACTION_MSG

    def parse_content(self, content: str, *, reasoning: str, tools: list[dict[str, Any]]) -> ParsedTurn:
        return parse_json_action(content, reasoning=reasoning)

    def request(
        self, *, tools: list[dict[str, Any]], forced: bool, tool_calls_made: int, min_tool_calls: int
    ) -> dict[str, Any]:
        return {
            "response_format": json_response_format(
                answer_only=forced,
                allow_answer=forced or tool_calls_made >= min_tool_calls,
                actions=("search",) if not forced and not tool_calls_made else None,
            )
        }


PROTOCOL_OBJECTS: dict[str, ToolProtocol] = {p.name: p for p in (TextProtocol(), NativeProtocol(), JsonProtocol())}


def get_protocol(name: str) -> ToolProtocol:
    """The protocol object for a resolved name (``text``, ``native``, ``json``)."""
    return PROTOCOL_OBJECTS[name]
