"""SFT export: trajectories -> training examples in four formats, with explicit filters and length policy.

``export_sft(traj_path, out_dir, ...)`` writes into ``out_dir``:

* ``messages.jsonl`` + ``chat_template.jinja``: ``{"id", "messages", ["tools"], "metadata"}`` in OpenAI/HF chat
  format (assistant ``reasoning_content``, visible ``content``, structured ``tool_calls`` with dict arguments,
  ``tool`` messages), for TRL's ``SFTTrainer`` with ``chat_template_path=chat_template.jinja`` and
  ``assistant_only_loss=True`` (``openseeker.train.chat_template``).
* ``sharegpt.jsonl`` + ``dataset_info.json``: LLaMA-Factory's ShareGPT format (``function_call`` /
  ``observation`` turns) for its ``qwen`` template.
* ``swift.jsonl``: ms-swift's agent format (``tool_call`` / ``tool_response`` messages) for
  ``--template chatml --agent_template hermes``.
* ``tokenized.jsonl``: ``{"id", "input_ids", "labels"}`` rendered with the student's ChatML template and our
  assistant-only loss mask (``openseeker.train.render``), what ``openseeker train sft`` consumes.
* ``rejected.jsonl``: every trajectory not exported, with the reason (never dropped silently).
* ``stats.json``: counts, filters, reasons, token-length statistics, teacher mix, the resolved configuration and
  what to pass to each trainer (``trainers``).

Each trainer reads its file into the tokens and loss mask of ``tokenized.jsonl`` (tests/train/test_trainers.py;
docs/train.md, "Comparable with"). A separate ``tools`` column is written only when the system prompt does not
already list the tools, so no trainer adds a second tools block.

Every example is the training view H^train (raw observations, summaries discarded), checked by
``openseeker.synth.traj.view``.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from openseeker.agent.prompts import system_prompt_for, text_system_prompt
from openseeker.errors import InputError, UserError
from openseeker.io import iter_jsonl, write_jsonl
from openseeker.provenance import provenance
from openseeker.records import Rejection, Trajectory
from openseeker.synth.traj.filters import Gates, apply_gates
from openseeker.synth.traj.reference import REFERENCE_TEACHER
from openseeker.synth.traj.view import ViewError, training_view
from openseeker.train.chat_template import CHATML_TOOLS_TEMPLATE, TEMPLATE_FILE, template_problems
from openseeker.train.convert import load_tokenizer
from openseeker.train.render import (
    Rendered,
    render_messages,
    split_assistant,
    think_block,
    tokenize_rendered,
    tools_system_prompt,
)

log = logging.getLogger(__name__)

FORMATS = ("messages", "sharegpt", "swift", "tokenized")
OVERLENGTH_POLICIES = ("drop", "truncate")
DATASET_NAME = "openseeker_sft"


@dataclass
class ExportConfig:
    """What ``export_sft`` does. Validated on construction.

    Attributes:
        formats: subset of ``messages``, ``sharegpt``, ``tokenized``.
        only_correct: keep only trajectories whose final answer was judged correct.
        min_tool_calls: keep only trajectories with at least this many tool calls (v2's T_min; 0 = off).
        max_tokens: token budget per example (rendered with the student's template); ``None`` = no limit.
        overlength: ``drop`` (reject over-length examples) or ``truncate`` (cut at the last assistant turn that
            fits; the cut example ends on an assistant turn in every format).
        allow_reference: export ``reference-replay`` trajectories (the offline scripted teacher). Without it, an
            input containing any is refused, so they never mix silently with LLM-teacher data.
        system: ``student`` (the agent's text-protocol system prompt, what the student sees at inference),
            ``keep`` (the teacher's own system message).
        model: the tokenizer's model (a directory or a ``.gguf``); ``None`` = the default SmolLM2 student.
        require_answer: reject trajectories that ended without a final answer.
    """

    formats: tuple[str, ...] = FORMATS
    only_correct: bool = False
    min_tool_calls: int = 0
    max_tokens: int | None = None
    overlength: str = "drop"
    allow_reference: bool = False
    system: str = "student"
    model: str | None = None
    require_answer: bool = True

    def __post_init__(self) -> None:
        self.formats = tuple(self.formats)
        bad = [f for f in self.formats if f not in FORMATS]
        if bad or not self.formats:
            raise UserError(f"unknown format(s) {bad}; choose from {', '.join(FORMATS)} or 'all'")
        if self.overlength not in OVERLENGTH_POLICIES:
            raise UserError(f"--overlength must be one of {OVERLENGTH_POLICIES}, got {self.overlength!r}")
        if self.min_tool_calls < 0:
            raise UserError("--min-tool-calls must be >= 0")
        if self.max_tokens is not None and self.max_tokens < 16:
            raise UserError("--max-tokens must be >= 16")
        if self.system not in ("student", "keep"):
            raise UserError("--system must be 'student' or 'keep'")

    @property
    def needs_tokenizer(self) -> bool:
        return "tokenized" in self.formats or self.max_tokens is not None


def teacher_of(traj: Trajectory) -> str:
    return traj.labels.teacher


def student_system_prompt(tools: list[dict[str, Any]], answer: str = "tag") -> str:
    """The system prompt the student sees at inference (the agent's text protocol; a ``boxed`` rollout's asks
    for \\boxed{} answers, as the agent did)."""
    return system_prompt_for("text", tools, None, answer) if answer == "boxed" else text_system_prompt(tools)


# --------------------------------------------------------------------------- formats


def system_lists_tools(system: str | None, tools: list[dict[str, Any]]) -> bool:
    """True when the system prompt already holds the tool list (the student's text-protocol prompt does).

    Then no format may carry a separate ``tools`` column: LLaMA-Factory, ms-swift and tool-aware chat templates
    would each add a second tools block to the system turn (and the training prompt would no longer be the one
    the student sees at inference).
    """
    if not system or not tools or "<tools>" not in system:
        return False
    names = [(t.get("function") or t).get("name", "") for t in tools]
    return all(f'"{n}"' in system for n in names)


def to_hf_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI messages -> HF chat-template messages (``reasoning_content``, visible ``content``, structured
    ``tool_calls`` with dict arguments, ``tool`` messages), split exactly as ``render.split_assistant`` splits."""
    out = []
    last = max((k for k, m in enumerate(messages) if m.get("role") == "assistant"), default=-1)
    for k, m in enumerate(messages):
        role = m.get("role")
        if role == "assistant":
            reasoning, text, calls = split_assistant(m, final=k == last)
            msg: dict[str, Any] = {"role": "assistant", "content": text}
            if reasoning:
                msg["reasoning_content"] = reasoning
            if calls:
                ids = [tc.get("id") for tc in m.get("tool_calls") or []]
                msg["tool_calls"] = [
                    {
                        "id": ids[i] if i < len(ids) and ids[i] else f"call_{i}",
                        "type": "function",
                        "function": {"name": n, "arguments": a},
                    }
                    for i, (n, a) in enumerate(calls)
                ]
            out.append(msg)
        elif role == "tool":
            out.append(
                {
                    "role": "tool",
                    "tool_call_id": m.get("tool_call_id", ""),
                    "name": m.get("name", ""),
                    "content": str(m.get("content") or ""),
                }
            )
        else:
            out.append({"role": role, "content": m.get("content") or ""})
    return out


def _call_json(calls: list[dict[str, Any]]) -> str:
    objs = [{"name": c["function"]["name"], "arguments": c["function"]["arguments"]} for c in calls]
    return json.dumps(objs[0] if len(objs) == 1 else objs, ensure_ascii=False)


def to_sharegpt(hf_messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> dict[str, Any]:
    """LLaMA-Factory ShareGPT: human/gpt/function_call/observation turns, a ``system`` and (optionally) ``tools``.

    Written for LLaMA-Factory's ``qwen`` template (``src/llamafactory/data/template.py``, ``formatter.py``,
    ``tool_utils.py``), so that its rendering is our ``tokenized.jsonl`` text byte for byte:

    * a ``function_call`` value is ``<think>\\n{r}\\n</think>\\n\\n`` (its ``thought_words``) + the call JSON (a
      list for parallel calls); its ``FunctionFormatter`` keeps the thought and writes one ``<tool_call>`` block
      per call, joined by one newline. A turn that also has visible text wraps the JSON in ``<tool_call>`` tags
      (its ``tool_call_words``, LLaMA-Factory >= 0.9.5): everything around the tags is kept as written, so the
      value is ``think + text + "\\n<tool_call>\\n[...]\\n</tool_call>"``;
    * the results of parallel calls form one ``observation`` turn (turns must alternate) whose value is
      ``o1\\n</tool_response>\\n<tool_response>\\no2``: the template wraps it into the same consecutive
      ``<tool_response>`` blocks the agent sends;
    * ``tools`` is None when the system prompt already lists the tools: no second tools block.
    """
    system = ""
    conv: list[dict[str, str]] = []
    pending_obs: list[str] = []

    def flush() -> None:
        if pending_obs:
            conv.append({"from": "observation", "value": "\n</tool_response>\n<tool_response>\n".join(pending_obs)})
            pending_obs.clear()

    for m in hf_messages:
        role = m["role"]
        if role == "tool":
            pending_obs.append(m["content"])
            continue
        flush()
        if role == "system":
            system = m["content"]
        elif role == "user":
            if conv and conv[-1]["from"] in ("human", "observation"):  # merge consecutive user-side turns
                conv[-1]["value"] += "\n\n" + m["content"]
            else:
                conv.append({"from": "human", "value": m["content"]})
        elif role == "assistant":
            think = think_block(m.get("reasoning_content", ""))
            if m.get("tool_calls"):
                value = _call_json(m["tool_calls"])
                if m["content"]:
                    value = f"{m['content']}\n<tool_call>\n{value}\n</tool_call>"
                conv.append({"from": "function_call", "value": think + value})
            else:
                conv.append({"from": "gpt", "value": (think + m["content"]) if m["content"] else think.rstrip("\n")})
    flush()
    row: dict[str, Any] = {"conversations": conv, "system": system}
    if tools is not None:
        row["tools"] = json.dumps(tools, ensure_ascii=False)
    return row


def sharegpt_dataset_info(with_tools: bool) -> dict[str, Any]:
    """LLaMA-Factory's ``dataset_info.json`` entry; ``tools`` is mapped only when the rows carry a tools column."""
    columns = {"messages": "conversations", "system": "system", **({"tools": "tools"} if with_tools else {})}
    return {
        DATASET_NAME: {
            "file_name": "sharegpt.jsonl",
            "formatting": "sharegpt",
            "columns": columns,
            "tags": {
                "role_tag": "from",
                "content_tag": "value",
                "user_tag": "human",
                "assistant_tag": "gpt",
                "observation_tag": "observation",
                "function_tag": "function_call",
                "system_tag": "system",
            },
        }
    }


def to_swift(hf_messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> dict[str, Any]:
    """ms-swift's agent format (``docs/source_en/Instruction/Agent-support.md``) for ``--agent_template hermes``.

    ms-swift keeps only ``role``/``content`` of a message (``swift/dataset/preprocessor/core.py``
    ``_check_messages``: ``reasoning_content`` would be dropped) and parses each ``tool_call`` content as bare JSON
    (``swift/agent_template/base.py`` ``_parse_tool_call``: a ``<think>`` prefix fails). So reasoning and visible
    text go into an ``assistant`` message that ends where the first ``<tool_call>`` block starts
    (``<think>\\n{r}\\n</think>\\n\\n{text}\\n``), followed by one ``tool_call`` message per call, then one
    ``tool_response`` message per result. ms-swift merges consecutive assistant pieces by concatenation and its
    ``hermes`` agent template joins calls and results with one newline (``swift/agent_template/hermes.py``),
    which is our text byte for byte.
    """
    out: list[dict[str, str]] = []
    for m in hf_messages:
        role = m["role"]
        if role == "assistant":
            think = think_block(m.get("reasoning_content", ""))
            if m.get("tool_calls"):
                lead = think + (m["content"] + "\n" if m["content"] else "")
                if lead:
                    out.append({"role": "assistant", "content": lead})
                out.extend({"role": "tool_call", "content": _call_json([c])} for c in m["tool_calls"])
            else:
                out.append(
                    {"role": "assistant", "content": (think + m["content"]) if m["content"] else think.rstrip("\n")}
                )
        elif role == "tool":
            out.append({"role": "tool_response", "content": m["content"]})
        else:
            out.append({"role": role, "content": m["content"]})
    row: dict[str, Any] = {"messages": out}
    if tools is not None:
        row["tools"] = json.dumps(tools, ensure_ascii=False)
    return row


# --------------------------------------------------------------------------- length policy


def _truncate_to_fit(
    messages: list[dict[str, Any]], tokenizer: Any, max_tokens: int, system: str | None
) -> tuple[list[dict[str, Any]], Rendered] | None:
    """The longest prefix ending on an assistant turn whose rendering fits ``max_tokens`` (None if none fits)."""
    ends = [i for i, m in enumerate(messages) if m.get("role") == "assistant"]
    for end in reversed(ends):
        prefix = messages[: end + 1]
        r = render_messages(prefix, system=system)
        if len(tokenizer(r.text, add_special_tokens=False)["input_ids"]) <= max_tokens:
            return prefix, r
    return None


def _length_stats(lengths: list[int]) -> dict[str, Any]:
    if not lengths:
        return {"count": 0}
    s = sorted(lengths)

    def pct(p: float) -> int:
        return s[min(len(s) - 1, int(round(p * (len(s) - 1))))]

    return {
        "count": len(s),
        "min": s[0],
        "mean": round(statistics.fmean(s), 1),
        "p50": pct(0.5),
        "p90": pct(0.9),
        "p99": pct(0.99),
        "max": s[-1],
        "total": sum(s),
    }


# --------------------------------------------------------------------------- what to pass to each trainer


def trainer_settings(
    token_lengths: list[int], formats: tuple[str, ...], tool_columns: int, tokenizer: Any
) -> dict[str, Any]:
    """The settings each trainer needs to read this export as we mean it (docs/train.md, "comparable with").

    The length budget is the longest example in the student's tokens (``None`` without ``tokenized``): below it,
    LLaMA-Factory (``cutoff_len``), TRL (``max_length``) and ms-swift (``max_length``) cut examples silently or
    drop them. ``chat_template_problems`` says what the tokenizer's own template would lose of ``messages.jsonl``.
    """
    budget = max(token_lengths) if token_lengths else None
    out: dict[str, Any] = {}
    if "messages" in formats:
        problems = template_problems(tokenizer) if tokenizer is not None else None
        out["trl"] = {
            "file": "messages.jsonl",
            "chat_template_path": TEMPLATE_FILE,
            "assistant_only_loss": True,
            "max_length": budget,
            "model_chat_template_problems": problems,
        }
    if "sharegpt" in formats:
        out["llamafactory"] = {
            "dataset": DATASET_NAME,
            "dataset_dir": ".",
            "template": "qwen",
            "cutoff_len": budget,
            "tools_column": tool_columns > 0,
        }
    if "swift" in formats:
        out["ms-swift"] = {
            "dataset": "swift.jsonl",
            "template": "chatml",
            "agent_template": "hermes",
            "max_length": budget,
            "loss_scale": "default",
        }
    return out


# --------------------------------------------------------------------------- main entry


@dataclass
class ExportResult:
    out_dir: Path
    exported: int = 0
    rejected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)


TOKENIZER_INSTALL_HINT = (
    "bash scripts/install.sh --train (or: pip install torch==2.13.0 && pip install 'openseeker[train]')"
)


def _tokenizer_or_degrade(cfg: ExportConfig) -> tuple[Any, ExportConfig, dict[str, str]]:
    """The student tokenizer; without the tokenizer stack (a core install, e.g. the demo's), drop the tokenized
    form and say why, unless it is the only thing asked for (or ``max_tokens`` needs it): then a ``UserError``.

    Why degrade rather than install: the default tokenizer comes from the embedded GGUF, and transformers reads a
    GGUF only with torch installed (hundreds of MB); messages + ShareGPT need none of it and are what most trainers
    (TRL, LLaMA-Factory, ms-swift) read anyway."""

    try:
        return load_tokenizer(cfg.model), cfg, {}
    except ImportError as exc:
        why = (
            f"the tokenizer stack is not installed ({exc}); the tokenized form needs transformers, gguf and "
            f"torch: {TOKENIZER_INSTALL_HINT}"
        )
        if cfg.max_tokens is not None or "tokenized" not in cfg.formats or cfg.formats == ("tokenized",):
            raise UserError(f"cannot tokenize: {why}") from None
        log.warning("tokenized form skipped: %s", why)
        kept = tuple(f for f in cfg.formats if f != "tokenized")
        return None, replace(cfg, formats=kept), {"tokenized": why}


def _teachers(trajs: list[Trajectory], traj_path: str | Path, allow_reference: bool) -> dict[str, int]:
    """Trajectories per teacher; the offline reference teacher's are refused unless ``allow_reference``."""
    teachers: dict[str, int] = {}
    for t in trajs:
        teachers[teacher_of(t)] = teachers.get(teacher_of(t), 0) + 1
    n_ref = teachers.get(REFERENCE_TEACHER, 0)
    if n_ref and not allow_reference:
        raise UserError(
            f"{traj_path}: {n_ref} of {len(trajs)} trajectories come from the offline reference teacher "
            f"(metadata.teacher={REFERENCE_TEACHER!r}); pass --allow-reference to export them "
            "(each example keeps its teacher tag)"
        )
    return teachers


def _add_all(ex: _Exporter, trajs: list[Trajectory], progress: bool) -> None:
    """Feed every trajectory to the exporter, with a transient progress bar when asked."""
    bar = None
    if progress:
        from rich.progress import Progress

        bar = Progress(transient=True)
        bar.start()
        task = bar.add_task("export", total=len(trajs))
    try:
        for t in trajs:
            if bar is not None:
                bar.advance(task)
            ex.add(t)
    finally:
        if bar is not None:
            bar.stop()


def export_sft(
    traj_path: str | Path,
    out_dir: str | Path,
    config: ExportConfig | None = None,
    *,
    tokenizer: Any = None,
    skip_bad: bool = False,
    progress: bool = False,
) -> ExportResult:
    """Export trajectories as an SFT dataset (see the module docstring for the files written).

    Args:
        traj_path: trajectories JSONL (``Trajectory`` records, e.g. from ``openseeker synth traj``).
        out_dir: output directory (files are overwritten atomically).
        config: filters, formats and length policy.
        tokenizer: a fast tokenizer to use instead of loading ``config.model`` (tests, benchmarks).
        skip_bad: skip malformed input lines (counted in the stats) instead of failing.
        progress: show a rich progress bar.
    """
    cfg = config or ExportConfig()
    t0 = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    read_stats: dict[str, int] = {}
    trajs = _read_trajectories(traj_path, skip_bad, read_stats)
    teachers = _teachers(trajs, traj_path, cfg.allow_reference)
    skipped_formats: dict[str, str] = {}
    if cfg.needs_tokenizer and tokenizer is None:
        tokenizer, cfg, skipped_formats = _tokenizer_or_degrade(cfg)

    ex = _Exporter(cfg, tokenizer)
    _add_all(ex, trajs, progress)
    rows, rejections = ex.rows, ex.rejections
    exported = len(next(iter(rows.values())))
    _write_rows(out, rows, rejections, ex.tool_columns)
    reasons: dict[str, int] = {}
    for r in rejections:
        reasons[r.reason] = reasons.get(r.reason, 0) + 1
    elapsed = time.perf_counter() - t0
    stats = {
        "input": str(traj_path),
        "read": len(trajs),
        "skipped_bad_lines": read_stats.get("skipped", 0),
        "exported": exported,
        "rejected": len(rejections),
        "rejection_reasons": reasons,
        "truncated": ex.truncated,
        "teachers": teachers,
        "correct": sum(1 for t in trajs if t.labels.correct is True),
        "tokens": _length_stats(ex.token_lengths),
        "trained_tokens": _length_stats(ex.trained_lengths),
        "straddling_tokens": ex.straddling,
        "tokenizer": getattr(tokenizer, "name_or_path", None) if tokenizer is not None else None,
        "skipped_formats": skipped_formats,
        "config": {**asdict(cfg), "formats": list(cfg.formats)},
        "trainers": trainer_settings(ex.token_lengths, cfg.formats, ex.tool_columns, tokenizer),
        "elapsed_s": round(elapsed, 3),
        "trajectories_per_s": round(len(trajs) / elapsed, 2) if elapsed > 0 else None,
    }
    stats["provenance"] = provenance()
    (out / "stats.json").write_text(json.dumps(stats, indent=2, ensure_ascii=False) + "\n")
    log.info("exported %d of %d trajectories to %s (%d rejected)", exported, len(trajs), out, len(rejections))
    return ExportResult(out_dir=out, exported=exported, rejected=len(rejections), reasons=reasons, stats=stats)


def _read_trajectories(traj_path: str | Path, skip_bad: bool, read_stats: dict[str, int]) -> list[Trajectory]:
    """The input trajectories; a line that is not one is an ``InputError`` (file and line) unless ``skip_bad``."""
    trajs: list[Trajectory] = []
    for lineno, obj in iter_jsonl(traj_path, skip_bad=skip_bad, stats=read_stats, skip_bad_option="--skip-bad"):
        if obj.get("kind") not in (None, "trajectory"):
            raise InputError(
                f"expected a trajectory record, got kind={obj.get('kind')!r}", path=str(traj_path), line=lineno
            )
        try:
            trajs.append(Trajectory.model_validate(obj))
        except ValueError as exc:
            if skip_bad:
                read_stats["skipped"] = read_stats.get("skipped", 0) + 1
                continue
            raise InputError(
                f"not a valid trajectory: {str(exc).splitlines()[0]}", path=str(traj_path), line=lineno
            ) from None
    return trajs


def _write_rows(
    out: Path, rows: dict[str, list[dict[str, Any]]], rejections: list[Rejection], tool_columns: int
) -> None:
    """One file per format (plus the chat template / LLaMA-Factory dataset_info beside them) and the rejections."""
    if "messages" in rows:
        write_jsonl(out / "messages.jsonl", rows["messages"])
        (out / TEMPLATE_FILE).write_text(CHATML_TOOLS_TEMPLATE)
    if "sharegpt" in rows:
        write_jsonl(out / "sharegpt.jsonl", rows["sharegpt"])
        (out / "dataset_info.json").write_text(json.dumps(sharegpt_dataset_info(tool_columns > 0), indent=2) + "\n")
    if "swift" in rows:
        write_jsonl(out / "swift.jsonl", rows["swift"])
    if "tokenized" in rows:
        write_jsonl(out / "tokenized.jsonl", rows["tokenized"])
    write_jsonl(out / "rejected.jsonl", rejections)


class _Exporter:
    """Turns trajectories one by one into rows of every requested format, or a ``Rejection`` with the reason;
    keeps the counters the stats report (truncations, token lengths, tools columns)."""

    def __init__(self, cfg: ExportConfig, tokenizer: Any):
        self.cfg, self.tokenizer = cfg, tokenizer
        self.rows: dict[str, list[dict[str, Any]]] = {f: [] for f in cfg.formats}
        self.rejections: list[Rejection] = []
        self.token_lengths: list[int] = []
        self.trained_lengths: list[int] = []
        self.truncated = 0
        self.straddling = 0
        self.tool_columns = 0  # examples with a separate tools column (their system prompt does not list the tools)
        self.seen: set[str] = set()
        self.gates = Gates(
            only_correct=cfg.only_correct, min_tool_calls=cfg.min_tool_calls, require_answer=cfg.require_answer
        )

    def reject(self, t: Trajectory, reason: str, **detail: Any) -> None:
        self.rejections.append(
            Rejection(id=t.id, stage="export", reason=reason, detail={"teacher": teacher_of(t), **detail})
        )

    def add(self, t: Trajectory) -> None:
        cfg = self.cfg
        if t.id in self.seen:
            self.reject(t, "duplicate-id")
            return
        self.seen.add(t.id)
        ok, reason = apply_gates(t, self.gates)
        if not ok:
            self.reject(
                t,
                reason,
                stop_reason=t.stop_reason,
                correct=t.labels.correct,
                num_tool_calls=t.num_tool_calls,
                min_tool_calls=cfg.min_tool_calls,
            )
            return
        messages = self._messages(t)
        if messages is None:
            return
        system = student_system_prompt(t.tools, t.metadata.get("answer", "tag")) if cfg.system == "student" else None
        sys_text = (
            system
            if system is not None
            else next((m.get("content") for m in messages if m.get("role") == "system"), None)
        )
        tools = None if not t.tools or system_lists_tools(sys_text, t.tools) else t.tools
        self.tool_columns += tools is not None
        # the system text every trainer ends up with: the trainers add Qwen's tools block from the tools
        # column, so the tokenized rendering adds the same block (one tools block in every format)
        render_system = system if tools is None else tools_system_prompt(sys_text, tools)
        rendered = None
        meta = {
            "teacher": teacher_of(t),
            "correct": t.labels.correct,
            "num_tool_calls": t.num_tool_calls,
            "stop_reason": t.stop_reason,
            "truncated": False,
            **{k: t.metadata[k] for k in ("qa_id", "summarize", "teacher_model") if k in t.metadata},
        }
        if cfg.max_tokens is not None:
            fitted = self._fit(t, messages, render_system, meta)
            if fitted is None:
                return
            messages, rendered = fitted
        if system is not None:
            messages = [m for m in messages if m.get("role") != "system"]
            messages.insert(0, {"role": "system", "content": system})
        self._append_rows(t, messages, tools, meta, rendered, render_system)

    def _messages(self, t: Trajectory) -> list[dict[str, Any]] | None:
        """The training view, ending on an assistant turn; None (rejected) when there is none."""
        try:
            messages = training_view(t)
        except ViewError as exc:
            self.reject(t, "bad-training-view", error=str(exc))
            return None
        if not any(m.get("role") == "assistant" for m in messages):
            self.reject(t, "no-assistant-turn")
            return None
        while messages[-1].get("role") != "assistant":  # an unanswered rollout ends on tool results: they carry
            messages = messages[:-1]  # no loss, and LLaMA-Factory skips a conversation that does not end on one
        return messages

    def _fit(
        self, t: Trajectory, messages: list[dict[str, Any]], render_system: str | None, meta: dict[str, Any]
    ) -> tuple[list[dict[str, Any]], Any] | None:
        """Apply the length policy: (messages, rendering) within ``max_tokens``; None when rejected."""
        cfg, tokenizer = self.cfg, self.tokenizer
        assert cfg.max_tokens is not None
        rendered = render_messages(messages, system=render_system)
        n = len(tokenizer(rendered.text, add_special_tokens=False)["input_ids"])
        if n <= cfg.max_tokens:
            return messages, rendered
        if cfg.overlength == "drop":
            self.reject(t, "overlength", tokens=n, max_tokens=cfg.max_tokens)
            return None
        fit = _truncate_to_fit(messages, tokenizer, cfg.max_tokens, render_system)
        if fit is None:
            self.reject(t, "overlength-untruncatable", tokens=n, max_tokens=cfg.max_tokens)
            return None
        self.truncated += 1
        meta["truncated"] = True
        meta["original_tokens"] = n
        return fit

    def _append_rows(
        self,
        t: Trajectory,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        meta: dict[str, Any],
        rendered: Any,
        render_system: str | None,
    ) -> None:
        rows = self.rows
        hf = to_hf_messages(messages)
        if "messages" in rows:
            rows["messages"].append(
                {"id": t.id, "messages": hf, **({"tools": tools} if tools else {}), "metadata": meta}
            )
        if "sharegpt" in rows:
            rows["sharegpt"].append({"id": t.id, **to_sharegpt(hf, tools), "metadata": meta})
        if "swift" in rows:
            rows["swift"].append({"id": t.id, **to_swift(hf, tools), "metadata": meta})
        if "tokenized" in rows:
            rendered = rendered or render_messages(messages, system=render_system)
            tok = tokenize_rendered(rendered, self.tokenizer)
            self.straddling += tok.straddling
            self.token_lengths.append(len(tok.input_ids))
            self.trained_lengths.append(tok.num_trained)
            rows["tokenized"].append(
                {
                    "id": t.id,
                    "input_ids": tok.input_ids,
                    "labels": tok.labels,
                    "num_tokens": len(tok.input_ids),
                    "num_trained": tok.num_trained,
                    "metadata": meta,
                }
            )
