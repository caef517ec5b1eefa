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
import contextlib
import contextvars
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from openseeker.agent import prompts
from openseeker.agent.protocol import (
    PROTOCOLS,
    ParsedTurn,
    ToolProtocol,
    assistant_message,
    boxed_answer_message,
    extract_boxed,
    get_protocol,
    tool_message,
)
from openseeker.errors import ContextLengthError, UserError, is_context_length_error
from openseeker.llm.base import Completion
from openseeker.llm.config import EmbeddedSettings
from openseeker.llm.usage import UsageMeter, metering
from openseeker.records import Step, StopReason, ToolCall, Trajectory, Usage, content_id

if TYPE_CHECKING:
    from openseeker.llm.base import LLM

log = logging.getLogger(__name__)

ContextHook = Callable[[list[dict[str, Any]], Trajectory], Awaitable[list[dict[str, Any]]]]

# Called after every step of a running trajectory (the turn is parsed and its tool calls have run), so a progress
# display can show turns and tool calls while a long rollout is still going. Set per task by batch runners.
step_listener: contextvars.ContextVar[Callable[[Trajectory, Step], None] | None] = contextvars.ContextVar(
    "step_listener", default=None
)

DEFAULT_CONTEXT_TOKENS = 131_072
MAX_OVERFLOW_RETRIES = 5  # endpoint "too long" replies answered by refitting the input, 10% less room each
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


def is_embedded(llm: LLM) -> bool:
    """``LLM.embedded`` (test doubles without the attribute count as remote endpoints)."""
    return bool(getattr(llm, "embedded", False))


def default_context_tokens(llm: LLM) -> int:
    """The LLM's ``context_tokens``/``context_window`` attribute, the embedded server's default n_ctx, or 131072."""
    for attr in ("context_tokens", "context_window"):
        value = getattr(llm, attr, None)
        if value:
            return int(value)
    if is_embedded(llm):
        return EmbeddedSettings().n_ctx
    return DEFAULT_CONTEXT_TOKENS


def resolve_protocol(protocol: str, llm: LLM) -> str:
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


@dataclass
class _Run:
    """The state of one rollout between turns.

    Attributes:
        forced: the reason the current turn is the final one (``max_tool_calls``, ``max_turns``,
            ``context_overflow``), or None.
        forced_fit: a budget-forced turn the endpoint found too long: its input is fitted like an overflow.
        overflow_retries: endpoint "too long" replies so far (each refit leaves 10% less room).
        max_tokens: generation limit of the next call (shrinks once the input is fitted).
    """

    traj: Trajectory
    max_tokens: int | None = None
    forced: StopReason | None = None
    forced_fit: bool = False
    overflow_retries: int = 0
    idle: int = 0
    stop: StopReason | None = None
    errors: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    llm_s: float = 0.0


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
        answer: ``tag`` (``<answer>...</answer>``) or ``boxed`` (OpenSeeker-v2: the question carries the authors'
            \\boxed{} instruction, a turn without tool calls whose text has ``\\boxed{...}`` answers, and the
            answer is the box's content).

    Tools with an ``attempt()`` async context (``code_exec``: its sandbox) get one per ``run``: opened before the
    first turn, closed when the run ends, whatever ends it.
    """

    def __init__(
        self,
        llm: LLM,
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
        answer: str = "tag",
    ):
        if answer not in ("tag", "boxed"):
            raise UserError(f"answer must be 'tag' or 'boxed', got {answer!r}")
        self.answer = answer
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
        self.tool_protocol: ToolProtocol = get_protocol(self.protocol)
        if self.protocol == "json" and (answer == "boxed" or "code_exec" in self.tools):
            raise UserError(
                "the json protocol (the embedded model's) has no code_exec and no \\boxed{} answer: use "
                "--protocol text or native with a real endpoint, or drop the v2 preset"
            )
        self.context_hook = context_hook
        self.record_context = record_context
        self.system_prompt = system_prompt or (
            prompts.system_prompt_for(self.protocol, self.schemas, today, answer)
            if answer == "boxed"
            else self.tool_protocol.system_prompt(self.schemas, today)
        )
        self.temperature = temperature
        self.tool_timeout = tool_timeout
        self.max_idle_turns = max_idle_turns
        self.seed = seed
        self.json_min_tool_calls = json_min_tool_calls
        self._schema_tokens = (
            estimate_tokens([{"content": str(self.schemas)}]) if self.tool_protocol.sends_tool_schemas else 0
        )

    # ------------------------------------------------------------------ helpers

    def _force_msg(self, reason: str) -> str:
        if self.answer == "boxed":
            return prompts.FORCE_MSGS[reason].format(
                limit=self.max_tool_calls, answer_format=prompts.BOXED_ANSWER_FORMAT
            )
        return self.tool_protocol.force_message(reason, max_tool_calls=self.max_tool_calls)

    async def _execute(self, call: ToolCall) -> str:
        tool = self.tools.get(call.name)
        if tool is None:
            names = ", ".join(self.tools) or "none"
            return f"[{call.name}] Error: unknown tool '{call.name}'. Available tools: {names}."
        try:
            return await asyncio.wait_for(tool.execute(call.arguments), self.tool_timeout)
        except TimeoutError:
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
        return self.tool_protocol.render(context)

    def _overflowing(self, sent: list[dict[str, Any]]) -> bool:
        return estimate_tokens(sent) + self._schema_tokens + self.gen_reserve > self.context_tokens

    def _forced_overflow_input(
        self, sent: list[dict[str, Any]], factor: float = 1.0, force_text: str | None = None
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

    async def run(self, question: str, *, id: str | None = None, metadata: dict[str, Any] | None = None) -> Trajectory:
        """Answer ``question``; returns the finished trajectory (never raises for run failures).

        The ReAct cycle of METHOD.md: until the run stops, decide whether this turn must be the final one
        (``_check_budgets``), build the model input (``_model_input``), ask the model (``_ask``), then either take
        its answer or run its tool calls and append the observations (``_act``).
        """
        t0 = time.perf_counter()
        run = _Run(self._new_trajectory(question, id, metadata), max_tokens=self.max_tokens_per_turn)
        # secondary LLM calls made on behalf of this rollout (the visit extractor, the summarizer) report into
        # ``sink`` (``openseeker.llm.usage.record_usage``), so that ``Trajectory.usage`` covers every role it used
        async with contextlib.AsyncExitStack() as attempt:
            for tool in self.tools.values():  # per-attempt state of a tool (code_exec's sandbox), closed at the end
                scope = getattr(tool, "attempt", None)
                if scope is not None:
                    await attempt.enter_async_context(scope())
            with metering(UsageMeter()) as sink:
                while run.stop is None:
                    self._check_budgets(run)
                    sent = await self._model_input(run)
                    if sent is None:
                        break
                    completion = await self._ask(run, sent)
                    if completion is not None:
                        await self._act(run, completion, sent)
        return self._finish(run, sink, t0)

    def _new_trajectory(self, question: str, id: str | None, metadata: dict[str, Any] | None) -> Trajectory:
        traj = Trajectory(
            id=id if id is not None else content_id(question),
            question=question,
            tools=list(self.schemas),
            metadata={
                "protocol": self.protocol,
                "model": getattr(self.llm, "model", ""),
                "role": getattr(self.llm, "role", ""),
                "max_tool_calls": self.max_tool_calls,
                "max_turns": self.max_turns,
                "context_tokens": self.context_tokens,
                "prompt_version": prompts.PROMPT_VERSION,
                **({"answer": self.answer} if self.answer != "tag" else {}),
                **(metadata or {}),
            },
        )
        asked = question
        if self.answer == "boxed" and prompts.BOX_INSTRUCTION not in question:
            asked = question + prompts.BOX_INSTRUCTION  # what the authors' evaluation asks of every question
        traj.messages = [{"role": "system", "content": self.system_prompt}, {"role": "user", "content": asked}]
        return traj

    def _force(self, run: _Run, reason: StopReason) -> None:
        """From now on the run is in its final turn (for ``reason``): the model is told to answer."""
        run.forced = reason
        run.traj.messages.append({"role": "user", "content": self._force_msg(reason)})
        if reason == "context_overflow":
            run.traj.metadata["context_overflow_at_turn"] = len(run.traj.steps)

    def _check_budgets(self, run: _Run) -> None:
        """Tool budget or turn limit used up: force the final turn (once)."""
        if run.forced is None and run.traj.num_tool_calls >= self.max_tool_calls:
            self._force(run, "max_tool_calls")
        elif run.forced is None and len(run.traj.steps) >= self.max_turns - 1:
            self._force(run, "max_turns")
        elif run.forced in ("max_tool_calls", "max_turns") and run.traj.messages[-1].get("content") != self._force_msg(
            run.forced
        ):
            run.traj.messages.append({"role": "user", "content": self._force_msg(run.forced)})

    async def _model_input(self, run: _Run) -> list[dict[str, Any]] | None:
        """What the model reads this turn, fitted to the context budget; None (and the run stops) when the
        context hook failed."""
        try:
            sent = await self._build_input(run.traj.messages, run.traj)
        except _PROGRAMMER_ERRORS:
            raise
        except Exception as exc:  # e.g. the summarizer LLM of a context hook failed after its retries
            run.errors.append(f"context_hook: {type(exc).__name__}: {exc}")
            log.warning("context hook failed (%s); stopping this rollout", exc)
            run.stop = "llm_error"
            return None
        fit = run.forced == "context_overflow" or run.forced_fit
        if run.forced != "context_overflow" and self._overflowing(sent):
            fit = True
            if run.forced is None:  # a budget-forced turn keeps its reason; its input is fitted all the same
                self._force(run, "context_overflow")
        if fit:
            assert run.forced is not None
            sent, run.max_tokens = self._forced_overflow_input(
                sent, 0.9**run.overflow_retries, self._force_msg(run.forced)
            )
        return sent

    async def _ask(self, run: _Run, sent: list[dict[str, Any]]) -> Completion | None:
        """One LLM call. On failure: None, and either a refit retry (the endpoint said the input is too long)
        or the end of the run."""
        kwargs: dict[str, Any] = {
            "temperature": self.temperature,
            "max_tokens": run.max_tokens,
            "seed": self.seed,
            **self.tool_protocol.request(
                tools=self.schemas,
                forced=run.forced is not None,
                tool_calls_made=run.traj.num_tool_calls,
                min_tool_calls=self.json_min_tool_calls,
            ),
        }
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        t_llm = time.perf_counter()
        try:
            completion = await self.llm.chat(sent, **kwargs)
        except ContextLengthError as exc:
            self._llm_failed(run, exc, time.perf_counter() - t_llm, too_long=True)
            return None
        except _PROGRAMMER_ERRORS:
            raise
        except Exception as exc:  # LLMError after retries, or a client that does not classify its errors
            self._llm_failed(run, exc, time.perf_counter() - t_llm, too_long=is_context_length_error(exc))
            return None
        run.llm_s = time.perf_counter() - t_llm
        return completion

    def _llm_failed(self, run: _Run, exc: Exception, llm_s: float, *, too_long: bool) -> None:
        msg = f"{type(exc).__name__}: {exc}"
        run.errors.append(msg)
        if too_long and run.overflow_retries < MAX_OVERFLOW_RETRIES:
            # the endpoint says the input is too long: force an answer, 10% less room each retry
            log.info("context overflow reported by the endpoint: %s", exc)
            run.overflow_retries += 1
            if run.forced is None:
                self._force(run, "context_overflow")
            elif run.forced != "context_overflow":  # a budget-forced turn too long: fit it from now on
                run.forced_fit = True
            return
        log.warning("LLM call failed (%s); stopping this rollout", msg)
        run.stop = "context_overflow" if too_long else "llm_error"
        run.traj.metadata["llm_s_failed"] = round(llm_s, 4)

    async def _act(self, run: _Run, completion: Completion, sent: list[dict[str, Any]]) -> None:
        """Record the model's turn, then: an answer ends the run; a forced turn ends it whatever it said; tool
        calls run and their observations are appended; a turn without either gets a nudge."""
        traj, messages = run.traj, run.traj.messages
        run.usage.add(completion.usage)
        content = completion.content or ""
        parsed = self.tool_protocol.parse(completion, self.schemas)
        boxed = self._boxed(parsed, content)
        step = Step(
            index=len(traj.steps),
            reasoning=parsed.reasoning,
            content=content,
            llm_s=run.llm_s,
            usage=completion.usage,
            context=sent if self.record_context else None,
        )
        traj.steps.append(step)
        traj.num_turns += 1
        if boxed is not None:
            messages.append(boxed_answer_message(self._think(completion, content), content, boxed))
            traj.final_answer = boxed
            run.stop = run.forced or "answered"
        elif parsed.answer is not None:
            messages.append(assistant_message(parsed.reasoning, [], parsed.answer))
            traj.final_answer = parsed.answer
            run.stop = run.forced or "answered"
        elif run.forced is not None:
            # the forced final turn did not give a tagged answer: keep its free text as the answer
            messages.append(assistant_message(parsed.reasoning, [], None, raw=content))
            fallback = _untagged_answer(content)
            if fallback:
                traj.final_answer = fallback
                traj.metadata["answer_untagged"] = True
            run.stop = run.forced
        elif parsed.calls:
            run.idle = 0
            await self._run_calls(parsed, step, messages, traj, step.index)
        else:
            run.idle += 1
            messages.append(assistant_message(parsed.reasoning, [], None, raw=content))
            detail = "".join(f"Error: {e}\n" for e in parsed.errors)
            messages.append({"role": "user", "content": detail + self.tool_protocol.no_action_msg})
            if run.idle >= self.max_idle_turns:
                run.stop = "no_answer"
        _notify_step(traj, step)

    def _boxed(self, parsed: ParsedTurn, content: str) -> str | None:
        """``answer="boxed"``: the final answer of a turn that calls no tool, from its last \\boxed{...} (in an
        ``<answer>`` or in the free text after the reasoning); None otherwise."""
        if self.answer != "boxed" or parsed.calls:
            return None
        if parsed.answer is not None:
            return extract_boxed(parsed.answer) or parsed.answer
        return extract_boxed(_untagged_answer(_after_think(content)) or "")

    @staticmethod
    def _think(completion: Completion, content: str) -> str:
        parts = [(completion.reasoning or "").strip()]
        if "</think>" in content:
            parts.append(content.rpartition("</think>")[0].replace("<think>", "").strip())
        return "\n\n".join(p for p in parts if p)

    def _finish(self, run: _Run, sink: UsageMeter, t0: float) -> Trajectory:
        traj = run.traj
        traj.stop_reason = run.stop or "no_answer"
        usage = {getattr(self.llm, "role", "agent") or "agent": run.usage.model_copy()}
        for role, u in sink.by_key.items():
            usage.setdefault(role, Usage()).add(u)
        traj.usage = usage
        if run.errors:
            traj.metadata["errors"] = run.errors
        traj.wall_s = time.perf_counter() - t0
        return traj

    async def _run_calls(
        self, parsed: ParsedTurn, step: Step, messages: list[dict[str, Any]], traj: Trajectory, turn: int
    ) -> None:
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


def _after_think(content: str) -> str:
    return content.rpartition("</think>")[2] if "</think>" in content else content
