"""In-process fakes for unit tests of logic (no HTTP). The HTTP path is tested with ``ScriptedChatServer``."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from openseeker.llm.base import Completion
from openseeker.records import ToolCall, Usage

FakeResponder = Callable[[list[dict[str, Any]], dict[str, Any]], "str | Completion"]


class FakeLLM:
    """An ``LLM`` answering from a script (list of str/Completion) or a function ``fn(messages, kwargs)``.

    Every call is recorded in ``calls`` as ``(messages, kwargs)`` (messages deep-copied at call time).
    """

    def __init__(
        self,
        script: Iterable[str | Completion] | FakeResponder = (),
        *,
        role: str = "fake",
        model: str = "fake",
        default: str | None = None,
    ):
        self.role, self.model = role, model
        self.embedded, self.context_tokens = False, None
        self._fn = script if callable(script) else None
        self._queue: deque = deque([] if callable(script) else list(script))
        self._default = default
        self.calls: list[tuple[list[dict[str, Any]], dict[str, Any]]] = []

    async def chat(self, messages: list[dict[str, Any]], **kwargs: Any) -> Completion:
        import copy

        self.calls.append((copy.deepcopy(messages), kwargs))
        await asyncio.sleep(0)
        if self._queue:
            out = self._queue.popleft()
        elif self._fn is not None:
            out = self._fn(messages, kwargs)
        elif self._default is not None:
            out = self._default
        else:
            raise AssertionError(f"FakeLLM({self.role}) script exhausted after {len(self.calls) - 1} calls")
        if isinstance(out, Completion):
            return out
        prompt = sum(len(str(m.get("content") or "").split()) for m in messages)
        return Completion(
            content=out,
            model=self.model,
            usage=Usage(prompt_tokens=prompt, completion_tokens=len(out.split()), calls=1),
        )


def tool_completion(name: str, arguments: dict[str, Any], content: str = "") -> Completion:
    """A completion carrying one native tool call (for scripting FakeLLM)."""
    return Completion(
        content=content,
        tool_calls=[ToolCall(id=f"call_{name}", name=name, arguments=arguments)],
        finish_reason="tool_calls",
        usage=Usage(calls=1),
    )
