"""JSONL corpora: one object per line with ``title`` and ``text`` (required); optional ``url`` (derived from
the title when absent), ``description``, ``links`` (urls or titles, or ``{"url"|"title", "anchor"}`` objects),
``lang``, ``topic``; other keys go to ``metadata``."""

from __future__ import annotations

import json
from collections.abc import Iterator

from openseeker.records import Link, Page
from openseeker.web.importers.base import Importer, Redirect, title_url

KNOWN = {
    "title",
    "text",
    "url",
    "description",
    "links",
    "lang",
    "topic",
    "source",
    "metadata",
    "kind",
    "schema_version",
}


class JsonlImporter(Importer):
    name = "jsonl"
    suffixes = (".jsonl", ".jsonl.gz")
    source_help = "a .jsonl file"
    supports_sharding = True

    def records(self) -> Iterator[Page | Link | Redirect]:
        for lineno, raw in self.lines():
            if not self.mine(lineno - 1):  # item = line (decoding and JSON parsing are what is split)
                continue
            self.seq = lineno - 1
            line = self.decode_line(raw, lineno)
            if line is None:
                continue
            if not line.strip():
                continue
            self.stats.read += 1
            try:
                obj = json.loads(line)
            except ValueError as exc:
                self.bad(f"malformed JSON: {exc}", line=lineno)
                continue
            if not isinstance(obj, dict):
                self.bad(f"expected a JSON object, got {type(obj).__name__}", line=lineno)
                continue
            missing = [k for k in ("title", "text") if not isinstance(obj.get(k), str)]
            if missing:
                self.bad(f"missing or non-string field(s): {', '.join(missing)}", line=lineno)
                continue
            title = obj["title"].strip()
            if not title:
                self.bad("empty title", line=lineno)
                continue
            url = obj.get("url") or title_url(title)
            links = obj.get("links") or []
            if not isinstance(links, list):
                self.bad("'links' must be a list", line=lineno)
                continue
            meta = dict(obj.get("metadata") or {}) if isinstance(obj.get("metadata"), dict) else {}
            meta.update({k: v for k, v in obj.items() if k not in KNOWN})
            yield Page(
                url=str(url),
                title=title,
                text=obj["text"],
                description=str(obj.get("description") or ""),
                lang=str(obj.get("lang") or "en"),
                topic=str(obj.get("topic") or ""),
                source=str(obj.get("source") or "jsonl"),
                metadata=meta,
            )
            for item in links:
                if isinstance(item, str):
                    yield Link(src=str(url), dst=item)
                elif isinstance(item, dict) and (item.get("url") or item.get("title")):
                    yield Link(
                        src=str(url),
                        dst=str(item.get("url") or item.get("title")),
                        anchor=str(item.get("anchor") or ""),
                    )
