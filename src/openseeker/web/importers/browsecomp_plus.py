"""BrowseComp-Plus corpora: one record per document with ``docid``, ``text`` and ``url`` (JSONL or parquet).

That is the format of their corpus (``Tevatron/browsecomp-plus-corpus``, read in texttron/BrowseComp-Plus:
``searcher/searchers/*``, ``scripts_build_index``). Their tools and qrels name documents by ``docid``, so the
docid is kept as the page's external id (``Page.metadata["docid"]``): the index stores it, search hits carry it
(``SearchHit.docid``) and ``LocalWeb.fetch`` accepts it in place of a url.

The corpus has no titles: a page's title is the ``title:`` line of a leading front-matter block when there is
one, else the document's first non-empty line (cut at 200 characters). Urls are kept as given; a missing url
becomes ``urn:docid:<docid>``, and a url already used by an earlier document gets ``#docid=<docid>`` appended
(two docids, two pages: nothing is dropped). There are no hyperlinks; ``web build`` derives them from title
mentions unless told not to.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from openseeker.errors import UserError
from openseeker.records import Link, Page
from openseeker.web.importers.base import Importer, Redirect

FIELDS = ("docid", "text")
TITLE_MAX = 200


def title_of(text: str, docid: str) -> str:
    """A title for a document without one: its front-matter ``title:``, else its first non-empty line."""
    lines = text.lstrip().splitlines()
    if lines and lines[0].strip() == "---":
        for line in lines[1:40]:
            if line.strip() == "---":
                break
            key, _, value = line.partition(":")
            if key.strip().lower() == "title" and value.strip():
                return value.strip().strip("\"'")[:TITLE_MAX]
    for line in lines:
        s = line.strip().lstrip("#").strip()
        if s and s != "---":
            return s[:TITLE_MAX]
    return f"Document {docid}"


def looks_like_bcp_jsonl(path: str) -> bool:
    """True when the first record of a JSONL file has ``docid`` and ``text`` but no ``title``."""
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    obj = json.loads(line)
                    return isinstance(obj, dict) and "docid" in obj and "text" in obj and "title" not in obj
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    return False


class BrowseCompPlusImporter(Importer):
    """``{docid, text, url}`` records from a ``.jsonl`` / ``.jsonl.gz`` file or a ``.parquet`` file."""

    name = "browsecomp-plus"
    suffixes = (".parquet", ".jsonl")
    priority = 10  # before the plain jsonl importer: a .jsonl of {docid, text} without titles is ours
    source_help = "a BrowseComp-Plus corpus (.parquet or .jsonl of {docid, text, url})"

    @classmethod
    def detect(cls, source: str) -> bool:
        p = Path(source)
        if not p.is_file():
            return False
        name = p.name.lower()
        return name.endswith(".parquet") or (name.endswith(".jsonl") and looks_like_bcp_jsonl(source))

    def _rows(self) -> Iterator[tuple[int, Any]]:
        if self.source.endswith(".parquet"):
            try:
                import pyarrow.parquet as pq
            except ImportError as exc:
                raise UserError(f"{self.source}: reading parquet needs pyarrow (pip install pyarrow)") from exc
            try:
                pf = pq.ParquetFile(self.source)
            except Exception as exc:  # noqa: BLE001 - pyarrow raises several error types on a bad file
                self.bad(f"not a readable parquet file: {exc}")
                return
            missing = [f for f in FIELDS if f not in pf.schema_arrow.names]
            if missing:
                self.bad(f"parquet columns missing: {', '.join(missing)} (have {', '.join(pf.schema_arrow.names)})")
                return
            n = 0
            for batch in pf.iter_batches(batch_size=2_000):
                for row in batch.to_pylist():
                    n += 1
                    yield n, row
            return
        for lineno, raw in self.lines():
            line = self.decode_line(raw, lineno)
            if line is None or not line.strip():
                continue
            try:
                yield lineno, json.loads(line)
            except ValueError as exc:
                self.bad(f"malformed JSON: {exc}", line=lineno)

    def records(self) -> Iterator[Page | Link | Redirect]:
        urls: set[str] = set()
        docids: set[str] = set()
        for where, obj in self._rows():
            self.stats.read += 1
            line = where if not self.source.endswith(".parquet") else None
            row = f"row {where}: " if line is None else ""
            if not isinstance(obj, dict):
                self.bad(f"{row}expected an object with docid, text, url", line=line)
                continue
            docid, text = obj.get("docid"), obj.get("text")
            if docid is None or str(docid).strip() == "" or not isinstance(text, str):
                self.bad(f"{row}missing docid or non-string text", line=line)
                continue
            docid = str(docid).strip()
            if docid in docids:
                self.bad(f"{row}duplicate docid {docid!r}", line=line)
                continue
            docids.add(docid)
            url = str(obj.get("url") or "").strip() or f"urn:docid:{docid}"
            if url in urls:
                url = f"{url}#docid={docid}"
            urls.add(url)
            meta = {k: v for k, v in obj.items() if k not in ("docid", "text", "url")}
            meta["docid"] = docid
            yield Page(url=url, title=title_of(text, docid), text=text, source="browsecomp-plus", metadata=meta)
