"""The ReAct agent: ``await Agent(llm, tools).run(question) -> Trajectory``.

Loop: build the model input from the raw history (``context_hook``), render it for the protocol, call the LLM,
parse the turn, run the tool calls concurrently, append the assistant turn and the raw observations. Stops on an
answer, or after one forced final turn when the tool budget, the turn limit or the context budget runs out, or on
an LLM failure. ``run`` never raises for model, tool or endpoint failures: they are recorded in the trajectory.

Stop reasons: ``answered``, ``max_tool_calls``, ``max_turns``, ``context_overflow``, ``llm_error``, ``no_answer``
(the model kept replying without acting).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from openseeker.agent import prompts
from openseeker.agent.protocol import (
    PROTOCOLS,
    ParsedTurn,
    assistant_message,
    json_response_format,
    parse_json_action,
    parse_native,
    parse_text,
    render_input,
    tool_message,
)
from openseeker.errors import UserError
from openseeker.records import Step, ToolCall, Trajectory, Usage, content_id

log = logging.getLogger(__name__)

ContextHook = Callable[[list[dict[str, Any]], Trajectory], Awaitable[list[dict[str, Any]]]]

# Secondary LLM calls made on behalf of the running trajectory (the visit extractor) add their usage here,
# keyed by role, so that ``Trajectory.usage`` covers every role a rollout used.
usage_sink: contextvars.ContextVar[dict[str, Usage] | None] = contextvars.ContextVar("usage_sink", default=None)
# Called after every step of a running trajectory (the turn is parsed and its tool calls have run), so a progress
# display can show turns and tool calls while a long rollout is still going. Set per task by batch runners.
step_listener: contextvars.ContextVar[Callable[[Trajectory, Step], None] | None] = contextvars.ContextVar(
    "step_listener", default=None)

DEFAULT_CONTEXT_TOKENS = 131_072
_CONTEXT_ERR = re.compile(r"context.{0,20}(length|window|limit)|maximum context|too many tokens|too long|"
                          r"context_length_exceeded|exceeds? the (model|available)", re.I)
_PROGRAMMER_ERRORS = (TypeError, AttributeError, NameError, AssertionError, ImportError)


def estimate_tokens(messages: list[dict[str, Any]]) -> int:
    """Cheap token estimate: UTF-8 bytes / 3.5 (about chars/3.5 for English, ~1 token per CJK character)."""
    total = 0
    for m in messages:
        c = m.get("content")
        if isinstance(c, str):
            total += len(c.encode("utf-8"))
        elif c:
            total += len(str(c).encode("utf-8"))
        if m.get("tool_calls"):
            total += sum(len(tc["function"]["arguments"]) + 20 for tc in m["tool_calls"])
        total += 16  # role and template overhead
    return int(total / 3.5)


def is_embedded(llm: Any) -> bool:
    return bool(getattr(llm, "embedded", False) or getattr(getattr(llm, "endpoint", None), "embedded", False))


def default_context_tokens(llm: Any) -> int:
    """The LLM's ``context_tokens``/``context_window`` attribute, the embedded server's default n_ctx, or 131072."""
    for attr in ("context_tokens", "context_window"):
        value = getattr(llm, attr, None)
        if value:
            return int(value)
    if is_embedded(llm):
        from openseeker.llm.config import EmbeddedSettings

        return EmbeddedSettings().n_ctx
    return DEFAULT_CONTEXT_TOKENS


def resolve_protocol(protocol: str, llm: Any) -> str:
    """``auto``: ``json`` for the embedded small model, ``text`` for real endpoints."""
    if protocol not in PROTOCOLS:
        raise UserError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")
    if protocol != "auto":
        return protocol
    if is_embedded(llm):
        return "json"
    if "smollm" in str(getattr(llm, "model", "")).lower():
        return "json"
    return "text"


class Agent:
    """A ReAct search agent over a list of tools.

    Args:
        llm: any ``LLM`` (one role, usually ``student`` or ``teacher``).
        tools: ``Tool`` objects (name, OpenAI schema, ``async execute(arguments) -> str``).
        max_tool_calls: tool budget per question (paper: 200). When it is used up the model is told it has used
            too many tools and gets one final turn to answer (stop reason ``max_tool_calls``).
        max_turns: LLM turns per question; the last one is a forced answer (``max_turns``).
            Default: ``max_tool_calls + 20``.
        context_tokens: context budget (estimated). On overflow the latest observation is replaced, in the model
            input only, by an order to answer, generation length shrinks by 10% and one final turn is forced
            (``context_overflow``). Default: the LLM's ``context_tokens``/``context_window`` attribute or 131072.
        max_tokens_per_turn: generation limit per turn (None: the role's default); also the room the context
            budget reserves for generation (default reserve: min(4096, context/8)).
            For the embedded model the default context is the embedded server's n_ctx (8192).
        protocol: ``auto`` (``json`` for the embedded model, else ``text``), ``text``, ``native`` or ``json``.
        context_hook: ``async (messages, trajectory) -> messages`` building the model input from the full raw
            history before EVERY LLM call (trajectory synthesis uses it for retrospective summaries).
            ``Trajectory.messages`` always keeps the raw history.
        record_context: store the exact messages sent in each ``Step.context``.
        system_prompt: replaces the protocol's system prompt (tool list is not added for you).
        temperature: sampling temperature per call (None: role default).
        tool_timeout: seconds per tool execution before it is reported as timed out.
        max_idle_turns: consecutive turns without a call or an answer before giving up (``no_answer``).
        today: a date string for the system prompt ("Current date: ..."); None omits it (reproducibility).
        seed: sampling seed sent with every call (None: not sent).
        json_min_tool_calls: ``json`` protocol only: tool calls required before the schema allows an answer
            (weak models otherwise answer from memory on the first turn). Forced turns always allow it. The
            first turn of a ``json`` rollout may only search (there is nothing to visit yet).
    """

    def __init__(
        self,
        llm: Any,
        tools: list[Any],
        *,
        max_tool_calls: int = 200,
        max_turns: int | None = None,
        context_tokens: int | None = None,
        max_tokens_per_turn: int | None = None,
        protocol: str = "auto",
        context_hook: ContextHook | None = None,
        record_context: bool = False,
        system_prompt: str | None = None,
        temperature: float | None = None,
        tool_timeout: float = 600.0,
        max_idle_turns: int = 3,
        today: str | None = None,
        seed: int | None = None,
        json_min_tool_calls: int = 1,
    ):
        if max_tool_calls < 0:
            raise UserError("max_tool_calls must be >= 0")
        self.llm = llm
        self.tools = {t.name: t for t in tools}
        if len(self.tools) != len(tools):
            raise UserError("two tools share a name")
        self.schemas = [t.schema for t in tools]
        self.max_tool_calls = max_tool_calls
        self.max_turns = max_turns if max_turns is not None else max_tool_calls + 20
        if self.max_turns < 1:
            raise UserError("max_turns must be >= 1")
        self.context_tokens = int(context_tokens or default_context_tokens(llm))
        self.max_tokens_per_turn = max_tokens_per_turn
        self.gen_reserve = max_tokens_per_turn or min(4096, self.context_tokens // 8)
        self.protocol = resolve_protocol(protocol, llm)
        self.context_hook = context_hook
        self.record_context = record_context
        self.system_prompt = system_prompt or prompts.system_prompt_for(self.protocol, self.schemas, today)
        self.temperature = temperature
        self.tool_timeout = tool_timeout
        self.max_idle_turns = max_idle_turns
        self.seed = seed
        self.json_min_tool_calls = json_min_tool_calls
        self._schema_tokens = estimate_tokens([{"content": str(self.schemas)}]) if self.protocol == "native" else 0

    # ------------------------------------------------------------------ helpers

    def _force_msg(self, reason: str) -> str:
        msg = {
            "max_tool_calls": prompts.TOOL_BUDGET_MSG.format(n=self.max_tool_calls, limit=self.max_tool_calls),
            "max_turns": prompts.TURN_MSG,
            "context_overflow": prompts.CONTEXT_MSG,
        }[reason]
        if self.protocol == "json":
            msg = msg.replace("in <answer></answer> tags", 'as {"action": "answer", "answer": "..."}')
        return msg

    def _parse(self, comp: Any) -> ParsedTurn:
        if comp.tool_calls:
            return parse_native(comp.content or "", comp.tool_calls, reasoning=comp.reasoning or "",
                                tools=self.schemas)
        if self.protocol == "json":
            return parse_json_action(comp.content or "", reasoning=comp.reasoning or "")
        return parse_text(comp.content or "", reasoning=comp.reasoning or "", tools=self.schemas)

    async def _execute(self, call: ToolCall) -> str:
        tool = self.tools.get(call.name)
        if tool is None:
            names = ", ".join(self.tools) or "none"
            return f"[{call.name}] Error: unknown tool '{call.name}'. Available tools: {names}."
        try:
            return await asyncio.wait_for(tool.execute(call.arguments), self.tool_timeout)
        except asyncio.TimeoutError:
            return f"[{call.name}] Error: the tool timed out after {self.tool_timeout:g}s. Try again or another call."
        except _PROGRAMMER_ERRORS:
            raise
        except Exception as exc:  # tools should not raise; this is the last guard
            log.warning("tool %s raised: %s", call.name, exc)
            return f"[{call.name}] Error: {type(exc).__name__}: {exc}"

    async def _build_input(self, messages: list[dict[str, Any]], traj: Trajectory) -> list[dict[str, Any]]:
        context = messages
        if self.context_hook is not None:
            context = await self.context_hook([dict(m) for m in messages], traj)
        return render_input(context, self.protocol)

    def _overflowing(self, sent: list[dict[str, Any]]) -> bool:
        return estimate_tokens(sent) + self._schema_tokens + self.gen_reserve > self.context_tokens

    def _forced_overflow_input(self, sent: list[dict[str, Any]], factor: float = 1.0, force_text: str | None = None
                               ) -> tuple[list[dict[str, Any]], int]:
        """Model input for the forced answer: the latest observation turn is replaced by the order to answer;
        older messages are truncated (longest first) if it still does not fit; ``factor`` < 1 shrinks the room
        after the endpoint rejected a previous attempt. Returns (input, max_tokens): 90% of the room left."""
        sent = [dict(m) for m in sent]
        force = {"role": "user", "content": force_text or self._force_msg("context_overflow")}
        if sent and sent[-1].get("role") in ("user", "tool") and len(sent) > 2:
            while sent and sent[-1].get("role") in ("user", "tool") and len(sent) > 2:
                sent.pop()
        sent.append(force)
        if sent[-2:-1] and sent[-2].get("role") == "assistant" and sent[-2].get("tool_calls"):
            sent[-2] = {k: v for k, v in sent[-2].items() if k != "tool_calls"}  # no dangling native calls
        room = int(self.context_tokens * factor) - self._schema_tokens
        for _ in range(64):
            if estimate_tokens(sent) + 256 <= room:
                break
            # never the system prompt or the question (0, 1), nor the order to answer (last)
            idx = max(range(2, len(sent) - 1), key=lambda i: len(str(sent[i].get("content") or "")), default=None)
            if idx is None:
                break
            c = str(sent[idx].get("content") or "")
            if len(c) < 200:
                break
            sent[idx] = {**sent[idx], "content": c[: len(c) // 2] + "\n[... truncated to fit the context]"}
        left = room - estimate_tokens(sent)
        base = min(self.gen_reserve, max(left, 64))
        return sent, max(32, int(base * 0.9 * factor))

    # ------------------------------------------------------------------ the loop

    async def run(self, question: str, *, id: str | None = None, metadata: dict[str, Any] | None = None
                  ) -> Trajectory:
        """Answer ``question``; returns the finished trajectory (never raises for run failures)."""
        t0 = time.perf_counter()
        traj = Trajectory(
            id=id if id is not None else content_id(question),
            question=question,
            tools=list(self.schemas),
            metadata={
                "protocol": self.protocol, "model": getattr(self.llm, "model", ""),
                "role": getattr(self.llm, "role", ""), "max_tool_calls": self.max_tool_calls,
                "max_turns": self.max_turns, "context_tokens": self.context_tokens,
                "prompt_version": prompts.PROMPT_VERSION, **(metadata or {}),
            },
        )
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": self.system_prompt},
            {"role": "user", "content": question},
        ]
        traj.messages = messages
        agent_usage = Usage()
        sink: dict[str, Usage] = {}
        token = usage_sink.set(sink)
        forced: str | None = None
        stop: str | None = None
        errors: list[str] = []
        idle = 0
        overflow_retries = 0
        forced_fit = False
        max_tokens = self.max_tokens_per_turn
        try:
            while stop is None:
                turn = len(traj.steps)
                if forced is None and traj.num_tool_calls >= self.max_tool_calls:
                    forced = "max_tool_calls"
                elif forced is None and turn >= self.max_turns - 1:
                    forced = "max_turns"
                if forced in ("max_tool_calls", "max_turns") and messages[-1].get("content") != self._force_msg(
                        forced):
                    messages.append({"role": "user", "content": self._force_msg(forced)})
                try:
                    sent = await self._build_input(messages, traj)
                except _PROGRAMMER_ERRORS:
                    raise
                except Exception as exc:  # e.g. the summarizer LLM of a context hook failed after its retries
                    errors.append(f"context_hook: {type(exc).__name__}: {exc}")
                    log.warning("context hook failed (%s); stopping this rollout", exc)
                    stop = "llm_error"
                    break
                fit = forced == "context_overflow" or forced_fit
                if forced != "context_overflow" and self._overflowing(sent):
                    fit = True
                    if forced is None:  # a budget-forced turn keeps its reason; its input is fitted all the same
                        forced = "context_overflow"
                        messages.append({"role": "user", "content": self._force_msg("context_overflow")})
                        traj.metadata["context_overflow_at_turn"] = turn
                if fit:
                    sent, max_tokens = self._forced_overflow_input(sent, 0.9 ** overflow_retries,
                                                                   self._force_msg(forced))
                kwargs: dict[str, Any] = {"temperature": self.temperature, "max_tokens": max_tokens, "seed": self.seed}
                if self.protocol == "native" and forced is None:
                    kwargs["tools"] = self.schemas
                if self.protocol == "json":
                    kwargs["response_format"] = json_response_format(
                        answer_only=forced is not None,
                        allow_answer=traj.num_tool_calls >= self.json_min_tool_calls or forced is not None,
                        # nothing to visit before a first search: the first action is a search
                        actions=("search",) if forced is None and not traj.num_tool_calls else None)
                kwargs = {k: v for k, v in kwargs.items() if v is not None}

                t_llm = time.perf_counter()
                try:
                    comp = await self.llm.chat(sent, **kwargs)
                except _PROGRAMMER_ERRORS:
                    raise
                except Exception as exc:
                    llm_s = time.perf_counter() - t_llm
                    msg = f"{type(exc).__name__}: {exc}"
                    errors.append(msg)
                    too_long = type(exc).__name__ == "ContextLengthError" or bool(_CONTEXT_ERR.search(str(exc)))
                    if too_long and overflow_retries < 5:
                        # the endpoint says the input is too long: force an answer, 10% less room each retry
                        log.info("context overflow reported by the endpoint: %s", exc)
                        overflow_retries += 1
                        if forced is None:
                            forced = "context_overflow"
                            messages.append({"role": "user", "content": self._force_msg("context_overflow")})
                            traj.metadata["context_overflow_at_turn"] = turn
                        elif forced != "context_overflow":  # a budget-forced turn too long: fit it from now on
                            forced_fit = True
                        continue
                    log.warning("LLM call failed (%s); stopping this rollout", msg)
                    stop = "context_overflow" if too_long else "llm_error"
                    traj.metadata["llm_s_failed"] = round(llm_s, 4)
                    break
                llm_s = time.perf_counter() - t_llm
                agent_usage.add(comp.usage)
                parsed = self._parse(comp)
                step = Step(index=turn, reasoning=parsed.reasoning, content=comp.content or "", llm_s=llm_s,
                            usage=comp.usage, context=sent if self.record_context else None)
                traj.steps.append(step)
                traj.num_turns += 1

                if parsed.answer is not None:
                    messages.append(assistant_message(parsed.reasoning, [], parsed.answer))
                    traj.final_answer = parsed.answer
                    stop = forced or "answered"
                elif forced is not None:
                    # the forced final turn did not give a tagged answer: keep its free text as the answer
                    messages.append(assistant_message(parsed.reasoning, [], None, raw=comp.content or ""))
                    fallback = _untagged_answer(comp.content or "")
                    if fallback:
                        traj.final_answer = fallback
                        traj.metadata["answer_untagged"] = True
                    stop = forced
                elif parsed.calls:
                    idle = 0
                    await self._run_calls(parsed, step, messages, traj, turn)
                else:
                    idle += 1
                    messages.append(assistant_message(parsed.reasoning, [], None, raw=comp.content or ""))
                    nudge = prompts.JSON_NO_ACTION_MSG if self.protocol == "json" else prompts.NO_ACTION_MSG
                    detail = "".join(f"Error: {e}\n" for e in parsed.errors)
                    messages.append({"role": "user", "content": detail + nudge})
                    if idle >= self.max_idle_turns:
                        stop = "no_answer"
                _notify_step(traj, step)
        finally:
            usage_sink.reset(token)
        traj.stop_reason = stop or "no_answer"
        usage = {getattr(self.llm, "role", "agent") or "agent": agent_usage}
        for role, u in sink.items():
            usage.setdefault(role, Usage()).add(u)
        traj.usage = {role: u.model_dump(include={"prompt_tokens", "completion_tokens", "calls", "latency_s"})
                      for role, u in usage.items()}
        if errors:
            traj.metadata["errors"] = errors
        traj.wall_s = time.perf_counter() - t0
        return traj

    async def _run_calls(self, parsed: ParsedTurn, step: Step, messages: list[dict[str, Any]], traj: Trajectory,
                         turn: int) -> None:
        calls = parsed.calls
        for i, call in enumerate(calls):
            if not call.id:
                call.id = f"call_{turn}_{i}"
        left = max(self.max_tool_calls - traj.num_tool_calls, 0)
        run, skipped = calls[:left], calls[left:]
        t_tool = time.perf_counter()
        observations = list(await asyncio.gather(*(self._execute(c) for c in run)))
        step.tool_s = time.perf_counter() - t_tool
        observations += [
            f"[{c.name}] Error: not executed: the tool budget ({self.max_tool_calls} calls) is used up."
            for c in skipped
        ]
        step.tool_calls = list(calls)
        step.observations = observations
        messages.append(assistant_message(parsed.reasoning, calls, None))
        messages.extend(tool_message(c, o) for c, o in zip(calls, observations))
        if parsed.errors:
            messages.append({"role": "user", "content": "".join(f"Error: {e}\n" for e in parsed.errors).strip()})
        traj.num_tool_calls += len(run)


def _notify_step(traj: Trajectory, step: Step) -> None:
    listener = step_listener.get()
    if listener is None:
        return
    try:
        listener(traj, step)
    except Exception as exc:  # a display must never break a rollout
        log.debug("step listener failed: %s", exc)


_TAGS = re.compile(r"<think>.*?</think>|<tool_call>.*?(?:</tool_call>|\Z)|</?answer>|<think>.*", re.S)


def _untagged_answer(content: str) -> str | None:
    text = _TAGS.sub("", content).strip()
    return text or None
