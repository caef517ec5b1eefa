import json

import pytest

from openseeker.errors import InputError, UserError
from openseeker.io import ResumableWriter, iter_jsonl, read_jsonl, write_jsonl


def test_iter_jsonl_reports_file_and_line(tmp_path):
    p = tmp_path / "in.jsonl"
    p.write_text('{"id": 1}\n\n{"id": 2\n{"id": 3}\n')
    with pytest.raises(InputError) as exc:
        list(iter_jsonl(p))
    assert exc.value.line == 3 and str(p) in str(exc.value)


def test_iter_jsonl_skip_bad_counts(tmp_path):
    p = tmp_path / "in.jsonl"
    p.write_text('{"id": 1}\n[1, 2]\nnot json\n{"x": 1}\n{"id": 4}\n')
    stats = {}
    rows = [o for _, o in iter_jsonl(p, skip_bad=True, required=["id"], stats=stats)]
    assert [r["id"] for r in rows] == [1, 4]
    assert stats == {"read": 2, "skipped": 3}


def test_missing_file_is_user_error(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        read_jsonl(tmp_path / "nope.jsonl")


def test_required_field_missing(tmp_path):
    p = tmp_path / "in.jsonl"
    p.write_text('{"title": "a"}\n')
    with pytest.raises(InputError, match="missing required field"):
        read_jsonl(p, required=["title", "text"])


def test_resumable_writer_resumes_and_repairs_torn_line(tmp_path):
    p = tmp_path / "out.jsonl"
    with ResumableWriter(p) as w:
        for i in range(3):
            w.write({"id": f"q{i}", "v": i})
    with p.open("a") as fh:  # a crash mid-write leaves a torn last line
        fh.write('{"id": "q3", "v"')
    w = ResumableWriter(p)
    assert w.done == {"q0", "q1", "q2"} and w.repaired == 1
    for i in range(5):
        if f"q{i}" not in w.done:
            w.write({"id": f"q{i}", "v": i})
    w.close()
    ids = [json.loads(line)["id"] for line in p.read_text().splitlines()]
    assert ids == ["q0", "q1", "q2", "q3", "q4"]


def test_resumable_writer_refuses_corruption_in_the_middle(tmp_path):
    p = tmp_path / "out.jsonl"
    p.write_text('{"id": "a"}\ngarbage\n{"id": "b"}\n')
    with pytest.raises(InputError) as exc:
        ResumableWriter(p)
    assert exc.value.line == 2


def test_write_jsonl_roundtrip_models(tmp_path):
    from openseeker.records import EvalItem

    p = tmp_path / "x.jsonl"
    n = write_jsonl(p, [EvalItem(id="1", question="q", answers=["a"]), {"id": "2"}])
    assert n == 2
    rows = read_jsonl(p)
    assert rows[0]["kind"] == "eval_item" and rows[0]["schema_version"] == 1 and rows[1] == {"id": "2"}


@pytest.mark.parametrize("bad_line", [5, 300])
def test_a_byte_that_is_not_utf8_is_reported_on_its_own_line(tmp_path, bad_line):
    """A text-mode reader decodes ahead in chunks: the error surfaced at line 1 (for a byte on line 5) or 220 (for
    line 300)."""
    p = tmp_path / "q.jsonl"
    lines = [json.dumps({"id": i, "question": f"question {i}"}).encode() for i in range(400)]
    lines[bad_line - 1] = lines[bad_line - 1].replace(b"question", b"que\xffstion")
    p.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(InputError) as exc:
        list(iter_jsonl(p))
    assert exc.value.line == bad_line and "not valid UTF-8" in str(exc.value)
    assert "--skip-bad" not in str(exc.value)  # only the commands that have the option name it
    stats = {}
    ids = [o["id"] for _, o in iter_jsonl(p, skip_bad=True, stats=stats)]
    assert ids == [i for i in range(400) if i != bad_line - 1] and stats == {"read": 399, "skipped": 1}
    with pytest.raises(InputError, match="use --skip-bad to skip such lines"):
        list(iter_jsonl(p, skip_bad_option="--skip-bad"))


def test_a_write_that_fails_is_undone_and_names_the_file(tmp_path):
    """A full disk (RLIMIT_FSIZE: the same short write and error as a full filesystem, without mounting one)."""
    import resource
    import signal

    from openseeker.errors import OutputError

    p = tmp_path / "out.jsonl"
    with ResumableWriter(p) as w:
        w.write_many([{"id": f"q{i}", "pad": "x" * 100} for i in range(3)])
    size = p.stat().st_size
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of the signal
    resource.setrlimit(resource.RLIMIT_FSIZE, (size + 150, hard))
    try:
        w = ResumableWriter(p)
        with pytest.raises(OutputError) as exc:
            w.write_many([{"id": f"r{i}", "pad": "x" * 100} for i in range(3)])
        w.close()
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert str(p) in str(exc.value) and "cannot write" in str(exc.value)
    assert p.stat().st_size == size  # no torn line left: the batch was cut off again
    assert ResumableWriter(p).done == {"q0", "q1", "q2"}
