"""Typed records that flow between stages as JSONL.

Every record carries ``kind`` and ``schema_version`` so a file can be identified on its own. Stages may add
fields to ``metadata``; anything the next stage relies on is a typed field here.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer

SCHEMA_VERSION = 1


def content_id(*parts: Any, length: int = 16) -> str:
    """A stable id from content: sha256 over the JSON of ``parts``, hex-truncated."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:length]


class Record(BaseModel):
    """Base of every JSONL record: unknown keys are kept (forward compatibility), never silently dropped."""

    model_config = ConfigDict(extra="allow")
    schema_version: int = SCHEMA_VERSION

    def to_json(self) -> str:
        return self.model_dump_json(exclude_none=False)


# --------------------------------------------------------------------------- web


class Page(Record):
    """One page of a web (local corpus or fetched live)."""

    kind: Literal["page"] = "page"
    url: str
    title: str
    text: str
    description: str = ""
    lang: str = "en"
    topic: str = ""
    source: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)


class Link(Record):
    """A hyperlink. ``dst`` is a url, or a title to be resolved against the store (importers may give either)."""

    kind: Literal["link"] = "link"
    src: str
    dst: str
    anchor: str = ""


class SearchHit(Record):
    """One search result, the structured form of a line of the ``search`` tool's text block."""

    kind: Literal["search_hit"] = "search_hit"
    url: str
    docid: str | None = None
    """The page's external document id where its corpus has one (e.g. BrowseComp-Plus ``docid``); tools that
    speak a docid-based protocol show it, and a local web's ``fetch`` accepts it in place of the url."""
    title: str
    snippet: str = ""
    score: float = 0.0
    date: str | None = None
    source: str | None = None


# --------------------------------------------------------------------------- llm


class Usage(Record):
    """Tokens, calls and LLM seconds of some calls (one completion, a role, a stage); ``add`` sums them.
    ``openseeker.llm.usage.UsageMeter`` keeps one per role or stage."""

    kind: Literal["usage"] = "usage"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0
    latency_s: float = 0.0

    def add(self, other: Usage) -> Usage:
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.calls += other.calls
        self.latency_s += other.latency_s
        return self

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


# --------------------------------------------------------------------------- synth


class QASample(Record):
    """A synthesized question with full provenance (METHOD.md section 2)."""

    kind: Literal["qa"] = "qa"
    id: str
    question: str
    answer: str
    language: str = "en"
    seed_url: str = ""
    subgraph: dict[str, Any] = Field(default_factory=dict)  # {"urls": [...], "edges": [[src, dst], ...]}
    entity_graph: dict[str, Any] = Field(default_factory=dict)  # {"nodes": [...], "edges": [...]} with citations
    chain: list[Any] = Field(default_factory=list)  # the edges the reasoning chain uses
    q_init: str = ""
    obfuscation: dict[str, str] = Field(default_factory=dict)  # entity -> vague description
    verification: dict[str, Any] = Field(default_factory=dict)
    controls: dict[str, Any] = Field(default_factory=dict)
    difficulty: str = ""
    usage: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)


class Rejection(Record):
    """A candidate dropped by a stage, with the stage and the reason (never dropped silently)."""

    kind: Literal["rejection"] = "rejection"
    id: str
    stage: str
    reason: str
    detail: dict[str, Any] = Field(default_factory=dict)


# --------------------------------------------------------------------------- agent


class ToolCall(Record):
    kind: Literal["tool_call"] = "tool_call"
    id: str = ""
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class Step(Record):
    """One agent step: what the model saw and said, what the tool returned, timings and usage."""

    kind: Literal["step"] = "step"
    index: int
    reasoning: str = ""
    content: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    observations: list[str] = Field(default_factory=list)
    summary: str | None = None  # retrospective summary of this step's observation (trajectory synthesis)
    context: list[dict[str, Any]] | None = None  # the exact input messages (recorded by trajectory synthesis)
    llm_s: float = 0.0
    tool_s: float = 0.0
    usage: Usage = Field(default_factory=Usage)


TRAJECTORY_USAGE_KEYS = {"prompt_tokens", "completion_tokens", "calls", "latency_s"}

StopReason = Literal[
    "answered", "max_tool_calls", "max_turns", "context_overflow", "llm_error", "no_answer", "interrupted"
]


class Question(Record):
    """What the agent is asked: one line of ``openseeker agent run``'s input (``id`` optional there).

    ``metadata`` holds the line's other keys (e.g. a gold ``answer``); the agent batch keeps them in
    ``Trajectory.metadata["item"]``. ``from_item`` reads such a line; the questions file keeps its flat shape.
    """

    kind: Literal["question"] = "question"
    id: str
    question: str
    metadata: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Question:
        """A flat ``{id, question, ...}`` line (already checked); the id as a string, the other keys as metadata."""
        extra = {k: v for k, v in item.items() if k not in ("id", "question")}
        return cls(id=str(item["id"]), question=item["question"], metadata=extra)


class TrajectoryLabels(BaseModel):
    """The labels trajectory synthesis writes and the SFT export reads (``Trajectory.labels``).

    They live in ``Trajectory.metadata`` under these same keys, so files stay as they are; this is the one
    place that names them. ``teacher``: ``llm`` or ``reference-replay``; ``correct``: the judge's grade (None:
    ungraded); ``verdict``: the judge's full verdict (``openseeker.llm.judge.Verdict`` dump).
    """

    teacher: str = "llm"
    correct: bool | None = None
    verdict: dict[str, Any] | None = None

    @classmethod
    def of(cls, metadata: dict[str, Any]) -> TrajectoryLabels:
        correct = metadata.get("correct")
        verdict = metadata.get("verdict")
        return cls(
            teacher=str(metadata.get("teacher") or "llm"),
            correct=correct if isinstance(correct, bool) else None,
            verdict=verdict if isinstance(verdict, dict) else None,
        )


class Trajectory(Record):
    """A finished agent run: OpenAI-format ``messages`` + ``tools`` (trainable as-is) plus metadata."""

    kind: Literal["trajectory"] = "trajectory"
    id: str
    question: str
    messages: list[dict[str, Any]] = Field(default_factory=list)
    tools: list[dict[str, Any]] = Field(default_factory=list)
    steps: list[Step] = Field(default_factory=list)
    final_answer: str | None = None
    stop_reason: StopReason = "no_answer"
    num_tool_calls: int = 0
    num_turns: int = 0
    usage: dict[str, Usage] = Field(default_factory=dict)
    """Per role (the agent's, plus the roles that worked for it: extractor, summarizer): tokens, calls, seconds."""
    wall_s: float = 0.0
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_serializer("usage")
    def _usage_as_written(self, usage: dict[str, Usage]) -> dict[str, dict[str, Any]]:
        # the per-role objects on disk have always been these four keys (no kind/schema_version): files stay as
        # they are, and older files read back into ``Usage`` unchanged
        return {role: u.model_dump(include=TRAJECTORY_USAGE_KEYS) for role, u in usage.items()}

    @property
    def labels(self) -> TrajectoryLabels:
        """The synthesis labels (teacher, correct, verdict), typed; see ``TrajectoryLabels``."""
        return TrajectoryLabels.of(self.metadata)


# --------------------------------------------------------------------------- eval


class EvalItem(Record):
    """One benchmark question in a common shape."""

    kind: Literal["eval_item"] = "eval_item"
    id: str
    question: str
    answers: list[str] = Field(default_factory=list)
    language: str = "en"
    benchmark: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)


class EvalResult(Record):
    """One graded (question, run) of ``openseeker eval run`` (``results.jsonl``). ``verdict`` is the judge's
    verdict (None for WideSearch tables, graded by ``widesearch``); ``score`` 0/1 (table: item F1), None when
    ungraded. ``as_row`` gives the JSON object written to disk (``kind`` first, ``widesearch`` only for tables).
    """

    kind: Literal["eval_result"] = "eval_result"
    key: str
    id: str
    run: int
    benchmark: str = ""
    language: str = "en"
    category: str = ""
    question: str
    gold: list[str] = Field(default_factory=list)
    answer: str = ""
    stop_reason: str = "no_answer"
    num_tool_calls: int = 0
    num_turns: int = 0
    tool_calls: dict[str, int] = Field(default_factory=dict)
    tokens: dict[str, int] = Field(default_factory=dict)
    wall_s: float = 0.0
    trajectory: dict[str, Any] = Field(default_factory=dict)
    leakage: dict[str, Any] | None = None
    error: str | None = None
    widesearch: dict[str, Any] | None = None
    verdict: dict[str, Any] | None = None
    correct: bool | None = None
    score: float | None = None

    def as_row(self) -> dict[str, Any]:
        row = self.model_dump(exclude={"widesearch"} if self.widesearch is None else None)
        return {"kind": row.pop("kind"), "schema_version": row.pop("schema_version"), **row}
