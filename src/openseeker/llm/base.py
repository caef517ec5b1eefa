"""The LLM contract every stage talks to.

One async method, ``chat``. A *backend* is an endpoint speaking the OpenAI chat-completions protocol (the
embedded SmolLM2 server, vLLM, SGLang, OpenAI, ...). A *role* (teacher, summarizer, ...) is a name that the
config maps to a backend plus sampling settings; stages ask for roles, never for endpoints.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from openseeker.records import ToolCall, Usage

# Every role the pipeline uses. The config maps each to an endpoint; unknown roles are an error.
ROLES = (
    "generator",  # QA synthesis: entity extraction, question writing, obfuscation
    "verifier",  # QA synthesis: closed-book and with-subgraph answering
    "teacher",  # trajectory synthesis: the agent that solves questions
    "summarizer",  # trajectory synthesis: retrospective summaries of observations
    "extractor",  # visit tool: goal-conditioned page extraction
    "judge",  # grading answers against gold
    "student",  # the agent under evaluation (the trained model)
)


class Completion(BaseModel):
    """What one chat call returned."""

    content: str = ""
    reasoning: str = ""  # reasoning_content when the server separates it
    tool_calls: list[ToolCall] = Field(default_factory=list)  # native tool calls, if the server returned any
    finish_reason: str = "stop"
    usage: Usage = Field(default_factory=Usage)
    model: str = ""
    cached: bool = False
    raw: dict[str, Any] = Field(default_factory=dict)


@runtime_checkable
class LLM(Protocol):
    """An LLM bound to a role. Implementations must be safe to call concurrently from one event loop.

    Attributes:
        role: the role it serves (``ROLES``).
        model: the model name sent to the endpoint.
        embedded: served by the embedded small model (callers pick the ``json`` protocol, skip the LLM judge...).
        context_tokens: the context window when known (the embedded server's n_ctx), else None.
    """

    role: str
    model: str
    embedded: bool
    context_tokens: int | None

    async def chat(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        response_format: dict[str, Any] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        seed: int | None = None,
        stop: list[str] | None = None,
    ) -> Completion:
        """One chat completion. Raises ``LLMError`` after retries are exhausted; never returns fake text.

        Args:
            messages: OpenAI-format messages.
            tools: OpenAI tool schemas; backends without native tool calling ignore them (the agent also
                describes tools in the system prompt and parses the text protocol).
            response_format: ``{"type": "json_schema", "json_schema": {"name":..., "schema": {...}}}`` for
                constrained JSON output where the server supports it.
            temperature, max_tokens, seed, stop: override the role's defaults for this call.
        """
        ...
