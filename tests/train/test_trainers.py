"""Export round trips: each trainer's reading of our export, written from its documented rules, must give the
tokens and the loss mask of ``tokenized.jsonl``.

The rules are re-stated here in our own code (never imported from the trainers, which are not dependencies):

* LLaMA-Factory, ``template: qwen`` (hiyouga/LLaMA-Factory ``src/llamafactory/data/converter.py``,
  ``template.py``, ``formatter.py``, ``tool_utils.py``, ``processor/supervised.py``);
* ms-swift, ``--template chatml --agent_template hermes`` (modelscope/ms-swift
  ``docs/source_en/Instruction/Agent-support.md``, ``swift/dataset/preprocessor/core.py``,
  ``swift/template/base.py``, ``swift/agent_template/hermes.py``);
* TRL, ``SFTTrainer(assistant_only_loss=True, chat_template_path=chat_template.jinja)``: transformers'
  ``apply_chat_template(..., return_assistant_tokens_mask=True)`` with the ``tools`` column, as
  ``trl/trainer/sft_trainer.py`` calls it.

Each example covers the trained spans (reasoning, visible text, single and parallel tool calls, answer) and the
masked spans (system, user, tool results, assistant headers); the ``code`` example (OpenSeeker-v2: ``code_exec``
calls with heredocs, escaped ``<shell_results>`` observations, a ``\\boxed{}`` answer) goes through every one.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from train_helpers import make_code_trajectory, make_rich_trajectory, make_trajectory

from openseeker.errors import UserError
from openseeker.io import read_jsonl, write_jsonl
from openseeker.train.chat_template import CHATML_TOOLS_TEMPLATE, require_tool_aware, template_problems
from openseeker.train.export import ExportConfig, export_sft
from openseeker.train.render import IGNORE_INDEX

IM_END = "<|im_end|>"


@pytest.fixture(scope="module", params=["student", "keep"])
def export(request, tmp_path_factory, student_tokenizer):
    """One export per system-prompt policy: ``student`` lists the tools in the system prompt, ``keep`` does not."""
    d = tmp_path_factory.mktemp(f"sft-{request.param}")
    rows = [make_trajectory("seq", n_calls=3), make_rich_trajectory("rich"), make_code_trajectory("code")]
    write_jsonl(d / "traj.jsonl", rows)
    export_sft(d / "traj.jsonl", d / "out", ExportConfig(system=request.param), tokenizer=student_tokenizer)
    ours = {r["id"]: r for r in read_jsonl(d / "out" / "tokenized.jsonl")}
    assert set(ours) == {"seq", "rich", "code"}
    return request.param, d / "out", ours


def _encode_pieces(tokenizer, pieces: list[tuple[str, bool]]) -> tuple[list[int], list[int]]:
    """Tokenize each (text, trained) piece on its own, as both trainers do, and label it."""
    ids: list[int] = []
    labels: list[int] = []
    for text, trained in pieces:
        if not text:
            continue
        piece = tokenizer.encode(text, add_special_tokens=False)
        ids += piece
        labels += piece if trained else [IGNORE_INDEX] * len(piece)
    return ids, labels


def _assert_same(tokenizer, ids, labels, ours, who):
    assert tokenizer.decode(ids) == tokenizer.decode(ours["input_ids"]), f"{who}: different text"
    assert ids == ours["input_ids"], f"{who}: different tokens"
    theirs_trained = tokenizer.decode([i for i, lab in zip(ids, labels) if lab != IGNORE_INDEX])
    ours_trained = tokenizer.decode([i for i, lab in zip(ids, ours["labels"]) if lab != IGNORE_INDEX])
    assert theirs_trained == ours_trained, f"{who}: different trained text"
    assert labels == ours["labels"], f"{who}: different loss mask"


def _check_spans(tokenizer, ours, traj) -> None:
    """Trained: reasoning, visible text, calls, answer. Masked: system, question, every raw observation."""
    trained = tokenizer.decode([i for i, lab in zip(ours["input_ids"], ours["labels"]) if lab != IGNORE_INDEX])
    masked = tokenizer.decode([i for i, lab in zip(ours["input_ids"], ours["labels"]) if lab == IGNORE_INDEX])
    for step in traj.steps:
        if step.reasoning:
            assert f"<think>\n{step.reasoning}\n</think>" in trained
        for call in step.tool_calls:
            assert json.dumps({"name": call.name, "arguments": call.arguments}) in trained
        for obs in step.observations:
            assert obs in masked and obs not in trained
    assert traj.question in masked and traj.question not in trained
    assert "<tool_response>" not in trained and "<|im_start|>" not in trained and "# Tools" not in trained
    assert trained.count(IM_END) == len([m for m in traj.messages if m["role"] == "assistant"])


# --------------------------------------------------------------------------- LLaMA-Factory


_LF_SLOTS = {  # template "qwen": format_user / format_observation / format_assistant / format_function / system
    "user": "<|im_start|>user\n{}<|im_end|>\n<|im_start|>assistant\n",
    "observation": "<|im_start|>user\n<tool_response>\n{}\n</tool_response><|im_end|>\n<|im_start|>assistant\n",
    "assistant": "{}<|im_end|>\n",
    "system": "<|im_start|>system\n{}<|im_end|>\n",
}
_LF_TOOL_PROMPT = (  # tool_utils.QWEN_TOOL_PROMPT
    "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>{}\n</tools>\n\n"
    "For each function call, return a json object with function name and arguments within "
    '<tool_call></tool_call> XML tags:\n<tool_call>\n{{"name": <function-name>, "arguments": '
    "<args-json-object>}}\n</tool_call>"
)
_THOUGHT = re.compile(r"<think>\n(.*?)\n</think>\n\n", re.DOTALL)  # default thought_words
_LF_TOOL_CALL = re.compile(r"<tool_call>(.*?)</tool_call>", re.DOTALL)  # default tool_call_words


def _lf_function(value: str) -> str:
    """FunctionFormatter: a <tool_call>-wrapped JSON keeps everything around it; else thought + bare JSON."""
    m = _LF_TOOL_CALL.search(value)
    if m:
        prefix, payload = value.replace(m.group(0), ""), m.group(1)
    else:
        t = _THOUGHT.search(value)
        prefix, payload = (t.group(0), value.replace(t.group(0), "")) if t else ("", value)
    calls = json.loads(payload)  # a function_call value that is not JSON is an error there ("Invalid JSON format")
    calls = calls if isinstance(calls, list) else [calls]
    blocks = [json.dumps({"name": c["name"], "arguments": c["arguments"]}, ensure_ascii=False) for c in calls]
    return prefix + "\n".join(f"<tool_call>\n{b}\n</tool_call>" for b in blocks)


def llamafactory_encode(row: dict, info: dict, tokenizer) -> tuple[list[int], list[int]]:
    cols, tags = info["columns"], info["tags"]
    system = row[cols["system"]]
    tools = row[cols["tools"]] if "tools" in cols else ""
    turns = row[cols["messages"]]
    odd, even = (tags["user_tag"], tags["observation_tag"]), (tags["assistant_tag"], tags["function_tag"])
    for k, turn in enumerate(turns):  # the converter skips examples whose turns do not alternate
        assert turn[tags["role_tag"]] in (odd, even)[k % 2], f"turn {k} breaks LLaMA-Factory's alternation"
    assert len(turns) % 2 == 0
    pieces: list[tuple[str, bool]] = []
    for k, turn in enumerate(turns):
        role, value = turn[tags["role_tag"]], turn[tags["content_tag"]]
        text = ""
        if k == 0 and (system or tools):
            tool_text = (
                _LF_TOOL_PROMPT.format("".join("\n" + json.dumps(t, ensure_ascii=False) for t in json.loads(tools)))
                if tools
                else ""
            )
            text = _LF_SLOTS["system"].format(system + tool_text)
        if role == tags["user_tag"]:
            text += _LF_SLOTS["user"].format(value)
        elif role == tags["observation_tag"]:
            text += _LF_SLOTS["observation"].format(value)
        elif role == tags["assistant_tag"]:
            text += _LF_SLOTS["assistant"].format(value)
        else:
            text += _LF_SLOTS["assistant"].format(_lf_function(value))
        pieces.append((text, k % 2 == 1))  # supervised processor: prompts -100, responses trained
    return _encode_pieces(tokenizer, pieces)


def test_llamafactory_reads_sharegpt_as_our_tokens_and_mask(export, student_tokenizer):
    policy, out, ours = export
    info = json.loads((out / "dataset_info.json").read_text())["openseeker_sft"]
    rows = {r["id"]: r for r in read_jsonl(out / "sharegpt.jsonl")}
    for rid, row in rows.items():
        ids, labels = llamafactory_encode(row, info, student_tokenizer)
        _assert_same(student_tokenizer, ids, labels, ours[rid], f"LLaMA-Factory {rid}")
        assert student_tokenizer.decode(ids).count("# Tools") == 1  # one tools block, never two
    # --system keep: the teacher's prompt has no tool list, so the tools column is mapped, LLaMA-Factory adds its
    # Qwen tools block, and our tokenized rendering adds the same block
    assert ("tools" in info["columns"]) == (policy == "keep")
    rich = {c["from"]: c["value"] for c in rows["rich"]["conversations"] if "Let me look" in c["value"]}
    assert list(rich) == ["function_call"]  # the visible text of a calling turn is kept


def test_spans_trained_and_masked(export, student_tokenizer):
    _, _, ours = export
    _check_spans(student_tokenizer, ours["seq"], make_trajectory("seq", n_calls=3))
    rich = make_rich_trajectory("rich")
    _check_spans(student_tokenizer, ours["rich"], rich)
    _check_spans(student_tokenizer, ours["code"], make_code_trajectory("code"))
    code_trained = student_tokenizer.decode(
        [i for i, lab in zip(ours["code"]["input_ids"], ours["code"]["labels"]) if lab != IGNORE_INDEX]
    )
    assert "python - <<'PY'\\nxs = [int(x) for x in open('sides.txt')]" in code_trained  # the call, trained
    assert code_trained.endswith("The sum of the squares is \\boxed{50}.<|im_end|>\n")  # the v2 answer
    trained = student_tokenizer.decode(
        [i for i, lab in zip(ours["rich"]["input_ids"], ours["rich"]["labels"]) if lab != IGNORE_INDEX]
    )
    assert "Let me look this up in two places.\n<tool_call>" in trained
    assert "</tool_call>\n<tool_call>" in trained and "</tool_call>\n\n<tool_call>" not in trained  # Qwen3: one \n


# --------------------------------------------------------------------------- ms-swift


def swift_encode(row: dict, tokenizer) -> tuple[list[int], list[int]]:
    """chatml template + hermes agent template, default loss scale (every assistant round trained)."""
    messages = [{"role": m["role"], "content": m["content"]} for m in row["messages"]]  # _check_messages
    for m in messages:
        assert m["role"] in {"system", "user", "tool_call", "tool_response", "tool", "assistant"}
        assert m["content"] is not None
    # _preprocess_tool_call: a run of tool_call messages becomes one assistant message of <tool_call> blocks
    merged: list[dict] = []
    for m in messages:
        if m["role"] == "tool_call":
            call = json.loads(m["content"])  # _parse_tool_call: bare JSON with name and arguments
            block = (
                "<tool_call>\n"
                + json.dumps({"name": call["name"], "arguments": call["arguments"]}, ensure_ascii=False)
                + "\n</tool_call>"
            )
            if merged and merged[-1].get("calls"):
                merged[-1]["content"] += "\n" + block
            else:
                merged.append({"role": "assistant", "content": block, "calls": True})
        else:
            merged.append({"role": "tool" if m["role"] == "tool_response" else m["role"], "content": m["content"]})
    # _swift_prepare_inputs: consecutive assistant pieces concatenate; tool results after an assistant turn become
    # the next query, one <tool_response> block per result joined by one newline
    rounds: list[dict] = []
    for m in merged:
        if rounds and rounds[-1]["role"] == m["role"] == "assistant":
            rounds[-1]["content"] += m["content"]
        elif rounds and rounds[-1]["role"] == m["role"] == "tool":
            rounds[-1]["content"] += "\n" + f"<tool_response>\n{m['content']}\n</tool_response>"
        elif m["role"] == "tool":
            rounds.append({"role": "tool", "content": f"<tool_response>\n{m['content']}\n</tool_response>"})
        else:
            rounds.append({"role": m["role"], "content": m["content"]})
    pieces: list[tuple[str, bool]] = []
    system = rounds.pop(0)["content"] if rounds[0]["role"] == "system" else ""
    if row.get("tools"):  # hermes _format_tools: the system prompt, a blank line, Qwen's tools block
        descs = "\n".join(json.dumps(t, ensure_ascii=False) for t in json.loads(row["tools"]))
        system = (
            f"{system}\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
            "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
            f"{descs}\n</tools>\n\nFor each function call, return a json object with function name and "
            'arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, '
            '"arguments": <args-json-object>}\n</tool_call>'
        )
    if system:
        pieces.append((f"<|im_start|>system\n{system}<|im_end|>\n", False))
    for m in rounds:
        if m["role"] == "assistant":
            pieces += [(m["content"], True), ("<|im_end|>\n", True)]  # response + chat_sep are trained
        else:
            pieces.append((f"<|im_start|>user\n{m['content']}<|im_end|>\n<|im_start|>assistant\n", False))
    return _encode_pieces(tokenizer, pieces)


def test_swift_reads_its_export_as_our_tokens_and_mask(export, student_tokenizer):
    policy, out, ours = export
    rows = {r["id"]: r for r in read_jsonl(out / "swift.jsonl")}
    for rid, row in rows.items():
        assert ("tools" in row) == (policy == "keep")
        ids, labels = swift_encode(row, student_tokenizer)
        _assert_same(student_tokenizer, ids, labels, ours[rid], f"ms-swift {rid}")
    calls = [m for r in rows.values() for m in r["messages"] if m["role"] == "tool_call"]
    assert len(calls) == 10 and all(set(json.loads(c["content"])) == {"name", "arguments"} for c in calls)
    # nothing ms-swift would drop: every message is role + content, reasoning lives in the content
    assert all(set(m) == {"role", "content"} for r in rows.values() for m in r["messages"])
    assert any(
        m["content"].startswith("<think>\nTwo sources at once.\n</think>\n\nLet me look")
        for m in rows["rich"]["messages"]
    )


# --------------------------------------------------------------------------- TRL


def test_trl_template_renders_our_tokens_and_mask(export, student_tokenizer):
    policy, out, ours = export
    template = (out / "chat_template.jinja").read_text()
    assert template == CHATML_TOOLS_TEMPLATE and template_problems(student_tokenizer, template) == []
    for row in read_jsonl(out / "messages.jsonl"):
        tools = row.get("tools")
        assert (tools is None) == (policy == "student")
        enc = student_tokenizer.apply_chat_template(
            row["messages"], tools=tools, chat_template=template, return_assistant_tokens_mask=True, return_dict=True
        )
        labels = [i if m else IGNORE_INDEX for i, m in zip(enc["input_ids"], enc["assistant_masks"])]
        _assert_same(student_tokenizer, enc["input_ids"], labels, ours[row["id"]], f"TRL {row['id']}")


def test_a_template_that_drops_tool_calls_is_refused(student_tokenizer):
    problems = template_problems(student_tokenizer)  # SmolLM2's own template
    assert "drops tool_calls" in problems and "drops reasoning_content" in problems
    with pytest.raises(UserError, match=r"chat_template\.jinja"):
        require_tool_aware(student_tokenizer, name="SmolLM2's chat template")
    require_tool_aware(student_tokenizer, CHATML_TOOLS_TEMPLATE)


def _trl_qwen3_template() -> str:
    """Qwen3's original chat template as TRL ships it for identity checks (trl/chat_templates/qwen3.jinja)."""
    import importlib.util

    spec = importlib.util.find_spec("trl")
    path = Path(spec.origin).parent / "chat_templates" / "qwen3.jinja" if spec and spec.origin else None
    if path is None or not path.exists():
        pytest.skip("this TRL version does not ship Qwen3's chat template")
    return path.read_text()


def test_byte_for_byte_qwen3_chatml(student_tokenizer, tmp_path):
    """With the student system prompt, our text is what Qwen3's own template writes for the same messages,
    parallel calls, visible text and a call turn without reasoning included. (Qwen3 writes an empty ``<think>``
    block into a *final* turn without reasoning, and Qwen3 training templates into every such turn; we write
    none: docs/train.md.)"""
    qwen3 = _trl_qwen3_template()
    write_jsonl(tmp_path / "t.jsonl", [make_trajectory("seq", n_calls=3), make_rich_trajectory("rich")])
    export_sft(tmp_path / "t.jsonl", tmp_path / "o", ExportConfig(formats=("messages",)))
    for row in read_jsonl(tmp_path / "o" / "messages.jsonl"):
        theirs = student_tokenizer.apply_chat_template(row["messages"], chat_template=qwen3, tokenize=False)
        ours = student_tokenizer.apply_chat_template(
            row["messages"], chat_template=CHATML_TOOLS_TEMPLATE, tokenize=False
        )
        assert theirs == ours, row["id"]


def test_unanswered_rollouts_end_on_an_assistant_turn_in_every_format(tmp_path, student_tokenizer):
    """A rollout stopped at the tool-call budget ends on tool results; LLaMA-Factory would skip it (odd turn count),
    so every format ends on the last assistant turn (the cut results carried no loss anyway)."""
    write_jsonl(tmp_path / "t.jsonl", [make_trajectory("noans", n_calls=2, answer=None)])
    export_sft(tmp_path / "t.jsonl", tmp_path / "o", ExportConfig(require_answer=False), tokenizer=student_tokenizer)
    share = read_jsonl(tmp_path / "o" / "sharegpt.jsonl")[0]
    assert [c["from"] for c in share["conversations"]] == ["human", "function_call", "observation", "function_call"]
    info = json.loads((tmp_path / "o" / "dataset_info.json").read_text())["openseeker_sft"]
    ids, labels = llamafactory_encode(share, info, student_tokenizer)
    _assert_same(student_tokenizer, ids, labels, read_jsonl(tmp_path / "o" / "tokenized.jsonl")[0], "LLaMA-Factory")
    assert read_jsonl(tmp_path / "o" / "swift.jsonl")[0]["messages"][-1]["role"] == "tool_call"
    assert read_jsonl(tmp_path / "o" / "messages.jsonl")[0]["messages"][-1]["role"] == "assistant"
