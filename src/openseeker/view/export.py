"""``openseeker view --export DIR``: the viewer as a static site that opens from disk (``file://``), no server.

Browsers refuse ``fetch()`` of ``file://`` URLs, so data travels as small JavaScript files that call
``OSV.put(key, data)`` when the page adds them as ``<script>`` tags. Each dataset is written as its summary,
its list rows in chunks of ``ROW_CHUNK`` and its items (the same shapes the live API returns) in chunks of
``ITEM_CHUNK`` records, so opening the list of a 10k-sample file loads rows, and opening a sample loads one chunk.
Filtering and search run in the page over the rows with the same rule as the server (``data.matches``).
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

from openseeker.errors import UserError
from openseeker.view.data import LAZY, ROWS, Catalog
from openseeker.view.server import static_dir

log = logging.getLogger(__name__)

ROW_CHUNK = 2000
ITEM_CHUNK = {"qa": 10, "rejected": 25, "traj": 4, "sft": 10, "eval": 10}


def _js(key: str, obj: Any) -> str:
    blob = json.dumps(obj, ensure_ascii=False, default=str, separators=(",", ":"))
    blob = blob.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return f"OSV.put({json.dumps(key)},{blob});\n"


def _write(root: Path, key: str, obj: Any) -> None:
    p = root / "data" / (key + ".js")
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(_js(key, obj), encoding="utf-8")


def export_site(catalog: Catalog, out: str | Path, *, progress: bool = True) -> dict[str, Any]:
    """Write the static site into ``out`` (created; refuses a non-empty folder that is not a previous export)."""
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not (out / "data" / "manifest.js").exists():
        raise UserError(f"{out}: exists and is not a viewer export; give an empty or new folder")
    if (out / "data").exists():
        shutil.rmtree(out / "data")
    out.mkdir(parents=True, exist_ok=True)
    src = static_dir()
    for name in ("app.js", "app.css"):
        (out / "static").mkdir(exist_ok=True)
        (out / "static" / name).write_bytes(src.joinpath(name).read_bytes())
    (out / "static" / "vendor").mkdir(exist_ok=True)
    for f in src.joinpath("vendor").iterdir():
        if f.is_file():
            (out / "static" / "vendor" / f.name).write_bytes(f.read_bytes())
    html = src.joinpath("index.html").read_text(encoding="utf-8")
    html = html.replace("<!--OSV_MODE-->", "<script>window.OSV_STATIC = true;</script>")
    (out / "index.html").write_text(html, encoding="utf-8")

    from rich.progress import Progress

    manifest = catalog.manifest()
    counts = {}
    with Progress(disable=not progress, transient=True) as bar:
        for entry in manifest["datasets"]:
            ds = catalog.get(entry["id"])
            task = bar.add_task(f"export {ds.source.name}", total=len(ds.index))
            lazy_rows: list[dict[str, Any]] = []
            size = ITEM_CHUNK[ds.kind]
            chunk: list[Any] = []
            for i, rec, err in ds.index.iter_records():  # one pass, one parse per record
                if rec is None:  # a malformed line: the page shows the message for that record
                    chunk.append({"i": i, "error": err})
                    lazy_rows.append(
                        {
                            "i": i,
                            "id": f"(line {ds.index.linenos[i]})",
                            "bad": True,
                            "question": "malformed line: " + err[:160],
                        }
                    )
                else:
                    chunk.append(ds.item(i, rec))
                    if ds.kind in LAZY:
                        lazy_rows.append(ROWS[ds.kind](i, rec))
                if len(chunk) == size or i == len(ds.index) - 1:
                    _write(out, f"{ds.id}/items-{i // size}", chunk)
                    chunk = []
                bar.advance(task)
            rows = lazy_rows if ds.kind in LAZY else ds.all_rows()
            for k in range(0, max(len(rows), 1), ROW_CHUNK):
                _write(out, f"{ds.id}/rows-{k // ROW_CHUNK}", rows[k : k + ROW_CHUNK])
            _write(out, f"{ds.id}/summary", ds.summary())
            entry.update(row_chunks=-(-len(rows) // ROW_CHUNK), row_chunk=ROW_CHUNK, item_chunk=size)
            counts[ds.source.name] = len(ds.index)
    ids = manifest["compare"]
    for a in ids:
        for b in ids:
            if a != b:
                _write(out, f"compare/{a}__{b}", catalog.compare(a, b))
    _write(out, "manifest", manifest)
    return {"out": str(out), "index": str(out / "index.html"), "datasets": counts}
