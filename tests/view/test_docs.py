"""The Python example of docs/view.md runs as written."""

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "view.md"


def test_doc_python_example_runs(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert blocks, "docs/view.md lost its Python example"
    monkeypatch.chdir(tmp_path)
    exec(compile(blocks[0], str(DOC), "exec"), {"__name__": "__doc_example__"})  # noqa: S102
    assert (tmp_path / "site" / "index.html").exists() and (tmp_path / "runs" / "small" / "qa.jsonl").exists()
