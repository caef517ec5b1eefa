"""SFT export: every format, filters and rejections with reasons, the length policy, teacher mixing."""

from __future__ import annotations

import json

import pytest
from train_helpers import make_trajectory

from openseeker.errors import InputError, UserError
from openseeker.io import read_jsonl, write_jsonl
from openseeker.train.export import ExportConfig, export_sft
from openseeker.train.render import IGNORE_INDEX


@pytest.fixture
def trajs(tmp_path):
    rows = [
        make_trajectory("ok1", n_calls=2),
        make_trajectory("ok2", n_calls=3),
        make_trajectory("wrong", n_calls=2, correct=False),
        make_trajectory("few", n_calls=1),
        make_trajectory("noans", n_calls=2, answer=None),
        make_trajectory("long", n_calls=3, obs_words=400),
    ]
    path = tmp_path / "traj.jsonl"
    write_jsonl(path, rows)
    return path, rows


def test_all_formats_and_filters(trajs, tmp_path, student_tokenizer):
    path, rows = trajs
    out = tmp_path / "sft"
    cfg = ExportConfig(only_correct=True, min_tool_calls=2)
    res = export_sft(path, out, cfg, tokenizer=student_tokenizer)
    assert sorted(p.name for p in out.iterdir()) == [
        "chat_template.jinja",
        "dataset_info.json",
        "messages.jsonl",
        "rejected.jsonl",
        "sharegpt.jsonl",
        "stats.json",
        "swift.jsonl",
        "tokenized.jsonl",
    ]
    assert res.exported == 3
    rejected = {r["id"]: r["reason"] for r in read_jsonl(out / "rejected.jsonl")}
    assert rejected == {"wrong": "not-correct", "few": "too-few-tool-calls", "noans": "no-final-answer"}
    stats = json.loads((out / "stats.json").read_text())
    assert stats["rejection_reasons"] == {"not-correct": 1, "too-few-tool-calls": 1, "no-final-answer": 1}
    assert stats["read"] == 6 and stats["exported"] == 3 and stats["tokens"]["count"] == 3

    msgs = read_jsonl(out / "messages.jsonl")
    ok1 = next(m for m in msgs if m["id"] == "ok1")
    roles = [m["role"] for m in ok1["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "assistant", "tool", "assistant"]
    a0 = ok1["messages"][2]
    assert a0["reasoning_content"] == "reason 0" and a0["content"] == ""
    assert a0["tool_calls"][0]["function"] == {"name": "search", "arguments": {"query": ["query 0"]}}
    assert ok1["messages"][3]["content"] == rows[0].steps[0].observations[0]
    # the student system prompt lists the tools: no second tools block from a tools column, in any format
    assert ok1["messages"][-1]["content"] == "<answer>Paris</answer>" and "tools" not in ok1
    assert "SUMMARY" not in json.dumps(msgs)  # summaries are discarded (H^train)

    share = read_jsonl(out / "sharegpt.jsonl")[0]
    froms = [c["from"] for c in share["conversations"]]
    assert froms == ["human", "function_call", "observation", "function_call", "observation", "gpt"]
    call = json.loads(share["conversations"][1]["value"].split("</think>\n\n", 1)[1])
    assert call == {"name": "search", "arguments": {"query": ["query 0"]}}
    assert "tools" not in share and share["system"].count("# Tools") == 1
    info = json.loads((out / "dataset_info.json").read_text())
    assert info["openseeker_sft"]["formatting"] == "sharegpt" and "tools" not in info["openseeker_sft"]["columns"]
    assert stats["trainers"]["llamafactory"]["cutoff_len"] == stats["tokens"]["max"]
    assert stats["trainers"]["trl"]["model_chat_template_problems"]  # SmolLM2's own template drops tool calls

    tok = read_jsonl(out / "tokenized.jsonl")
    for row in tok:
        assert len(row["input_ids"]) == len(row["labels"]) == row["num_tokens"]
        assert row["num_trained"] == sum(1 for x in row["labels"] if x != IGNORE_INDEX) > 0


def test_overlength_drop_and_truncate(trajs, tmp_path, student_tokenizer):
    path, _ = trajs
    res = export_sft(path, tmp_path / "drop", ExportConfig(max_tokens=900), tokenizer=student_tokenizer)
    assert res.reasons.get("overlength") == 1
    rej = next(r for r in read_jsonl(tmp_path / "drop" / "rejected.jsonl") if r["id"] == "long")
    assert rej["detail"]["tokens"] > 900
    res = export_sft(
        path, tmp_path / "cut", ExportConfig(max_tokens=900, overlength="truncate"), tokenizer=student_tokenizer
    )
    assert "overlength" not in res.reasons and res.stats["truncated"] == 1
    long = next(r for r in read_jsonl(tmp_path / "cut" / "tokenized.jsonl") if r["id"] == "long")
    assert long["num_tokens"] <= 900 and long["metadata"]["truncated"]
    m = next(r for r in read_jsonl(tmp_path / "cut" / "messages.jsonl") if r["id"] == "long")
    assert m["messages"][-1]["role"] == "assistant"  # cut on an assistant turn, the same in every format


def test_reference_teacher_never_mixes_silently(tmp_path):
    path = tmp_path / "mixed.jsonl"
    write_jsonl(path, [make_trajectory("a"), make_trajectory("b", teacher="reference-replay")])
    with pytest.raises(UserError, match="allow-reference"):
        export_sft(path, tmp_path / "o", ExportConfig(formats=("messages",)))
    res = export_sft(path, tmp_path / "o", ExportConfig(formats=("messages",), allow_reference=True))
    assert res.exported == 2 and res.stats["teachers"] == {"llm": 1, "reference-replay": 1}
    teachers = {r["id"]: r["metadata"]["teacher"] for r in read_jsonl(tmp_path / "o" / "messages.jsonl")}
    assert teachers == {"a": "llm", "b": "reference-replay"}


def test_summary_leak_is_rejected_not_exported(tmp_path):
    t = make_trajectory("leaky")
    t.messages[3]["content"] = t.steps[0].summary  # a summary where the raw observation belongs
    path = tmp_path / "t.jsonl"
    write_jsonl(path, [t])
    res = export_sft(path, tmp_path / "o", ExportConfig(formats=("messages",)))
    assert res.exported == 0 and res.reasons == {"bad-training-view": 1}


def test_bad_input_is_located(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(make_trajectory("a").model_dump_json() + "\n{not json\n")
    with pytest.raises(InputError, match=r"bad.jsonl:2"):
        export_sft(path, tmp_path / "o", ExportConfig(formats=("messages",)))
    res = export_sft(path, tmp_path / "o", ExportConfig(formats=("messages",)), skip_bad=True)
    assert res.exported == 1 and res.stats["skipped_bad_lines"] == 1
    with pytest.raises(UserError, match="unknown format"):
        ExportConfig(formats=("parquet",))


def test_cli_export_messages_only(trajs, tmp_path):
    from openseeker.cli.main import main

    path, _ = trajs
    rc = main(
        [
            "export",
            "sft",
            "--traj",
            str(path),
            "--out",
            str(tmp_path / "c"),
            "--format",
            "messages,sharegpt",
            "--min-tool-calls",
            "3",
        ]
    )
    assert rc == 0
    assert (tmp_path / "c" / "messages.jsonl").exists() and not (tmp_path / "c" / "tokenized.jsonl").exists()
    assert {r["id"] for r in read_jsonl(tmp_path / "c" / "messages.jsonl")} == {"ok2", "long"}
    assert main(["export", "sft", "--traj", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "d")]) == 2


def test_without_the_tokenizer_stack_export_degrades_clearly(trajs, tmp_path, monkeypatch, capsys):
    """A core install (the demo's) has no transformers: `--format all` writes messages + ShareGPT and says why the
    tokenized form was skipped; asking for the tokenized form alone is a one-line error naming the install."""
    import sys

    from openseeker.cli.main import main

    path, _ = trajs
    monkeypatch.setitem(sys.modules, "transformers", None)  # `import transformers` raises ImportError
    monkeypatch.setenv("OPENSEEKER_MODEL_CACHE", str(tmp_path / "models"))
    out = tmp_path / "sft"
    assert main(["export", "sft", "--traj", str(path), "--out", str(out), "--format", "all"]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "(messages, sharegpt, swift)" in printed and "skipped the tokenized form" in printed
    assert "scripts/install.sh --train" in printed
    assert sorted(p.name for p in out.iterdir()) == [
        "chat_template.jinja",
        "dataset_info.json",
        "messages.jsonl",
        "rejected.jsonl",
        "sharegpt.jsonl",
        "stats.json",
        "swift.jsonl",
    ]
    stats = json.loads((out / "stats.json").read_text())
    assert "tokenized" in stats["skipped_formats"] and stats["config"]["formats"] == ["messages", "sharegpt", "swift"]

    for args in (["--format", "tokenized"], ["--format", "all", "--max-tokens", "100"]):
        assert main(["export", "sft", "--traj", str(path), "--out", str(tmp_path / "x"), *args]) == 2
        err = " ".join(capsys.readouterr().err.split())
        assert "cannot tokenize" in err and "install.sh --train" in err and "Traceback" not in err
