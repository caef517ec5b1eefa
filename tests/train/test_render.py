"""The ChatML rendering and the loss mask, checked token by token on the student's real tokenizer."""

from __future__ import annotations

from train_helpers import make_trajectory

from openseeker.train.render import IGNORE_INDEX, assistant_body, render_messages, tokenize_rendered


def test_assistant_body_native_calls_match_agent_canonical_text():
    from openseeker.agent.protocol import assistant_message
    from openseeker.records import ToolCall

    call = ToolCall(id="c0", name="search", arguments={"query": ["x"]})
    canonical = assistant_message("think hard", [call], None)
    assert assistant_body(canonical) == canonical["content"]
    # native-only message (no tags in content, reasoning in a separate field) renders the same text
    native = {
        "role": "assistant",
        "content": "",
        "reasoning_content": "think hard",
        "tool_calls": canonical["tool_calls"],
    }
    assert assistant_body(native) == canonical["content"]
    final = assistant_message("sure", [], "Paris")
    assert assistant_body(final) == final["content"]
    assert assistant_body({"role": "assistant", "content": "Paris"}) == "<answer>Paris</answer>"


def test_render_matches_the_tokenizer_chat_template_for_plain_turns(student_tokenizer):
    msgs = [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "Q"},
        {"role": "assistant", "content": "<answer>A</answer>"},
    ]
    ours = render_messages(msgs).text
    theirs = student_tokenizer.apply_chat_template(msgs, tokenize=False)
    assert ours == theirs


def test_tool_turns_become_user_turns_with_tool_response_blocks():
    t = make_trajectory(n_calls=1)
    r = render_messages(t.messages)
    obs = t.steps[0].observations[0]
    assert f"<|im_start|>user\n<tool_response>\n{obs}\n</tool_response><|im_end|>\n" in r.text
    assert r.num_assistant_turns == 2


def test_loss_mask_token_by_token(student_tokenizer):
    tok = student_tokenizer
    t = make_trajectory(n_calls=2)
    r = render_messages(t.messages)
    enc = tokenize_rendered(r, tok)
    assert enc.straddling == 0
    assert len(enc.input_ids) == len(enc.labels)
    assert enc.input_ids == tok(r.text, add_special_tokens=False)["input_ids"]
    offsets = tok(r.text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]

    # classify every character by the turn it belongs to, independently of the renderer's spans
    role_of_char = [None] * len(r.text)
    pos = 0
    while True:
        start = r.text.find("<|im_start|>", pos)
        if start < 0:
            break
        end = r.text.find("<|im_end|>", start) + len("<|im_end|>")
        header_end = r.text.find("\n", start) + 1
        role = r.text[start + len("<|im_start|>") : header_end - 1]
        if role == "assistant":  # the newline after an assistant <|im_end|> is part of the turn (trainers train it)
            end += 1
        for i in range(start, header_end):
            role_of_char[i] = "header"
        for i in range(header_end, end):
            role_of_char[i] = role
        pos = end
    trained_roles = set()
    for k, (a, b) in enumerate(offsets):
        roles = {role_of_char[i] for i in range(a, b)}
        trained = enc.labels[k] != IGNORE_INDEX
        if trained:
            assert enc.labels[k] == enc.input_ids[k]
            trained_roles |= roles
            assert roles == {"assistant"}, f"token {k} {r.text[a:b]!r} is trained but belongs to {roles}"
        elif roles == {"assistant"}:
            raise AssertionError(f"assistant token {k} {r.text[a:b]!r} is not trained")
    assert trained_roles == {"assistant"}
    # no tool-response or user text is trained; every assistant body (with its <|im_end|>) is
    trained_text = tok.decode([i for i, lab in zip(enc.input_ids, enc.labels) if lab != IGNORE_INDEX])
    for o in (o for s in t.steps for o in s.observations):
        assert o not in trained_text
    assert t.question not in trained_text and "<tool_response>" not in trained_text
    bodies = [assistant_body(m) + "<|im_end|>\n" for m in t.messages if m["role"] == "assistant"]
    assert trained_text == "".join(bodies)


def test_training_text_is_what_the_agent_sends_at_inference(student_tokenizer):
    """Train/inference consistency: our rendering == the chat template over the agent's text-protocol input."""
    from openseeker.agent.protocol import render_input

    t = make_trajectory(n_calls=3)
    sent = render_input(t.messages, "text")
    assert render_messages(t.messages).text == student_tokenizer.apply_chat_template(sent, tokenize=False)


def test_untagged_turns_are_answers_only_at_the_end():
    msgs = [
        {"role": "user", "content": "Q"},
        {"role": "assistant", "content": "hmm"},
        {"role": "user", "content": "Call a tool or answer."},
        {"role": "assistant", "content": "Paris"},
    ]
    r = render_messages(msgs)
    assert "<|im_start|>assistant\nhmm<|im_end|>" in r.text
    assert "<|im_start|>assistant\n<answer>Paris</answer><|im_end|>" in r.text
