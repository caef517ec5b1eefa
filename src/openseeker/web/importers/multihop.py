"""Multi-hop QA corpora (MuSiQue, HotpotQA, 2WikiMultihopQA samples): a JSON list of ``{title, text}``
(also accepted: an object ``{title: text}`` or HotpotQA's ``{title: [sentences]}``).

The same title can repeat (several paragraphs of one article); every paragraph is kept as its own page, the
first at the title's url and the next ones at ``<url>_(2)``, ``<url>_(3)``... (``metadata.paragraph`` = 1, 2...).
These corpora have no hyperlinks: ``web build`` derives them from title mentions.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

from openseeker.records import Link, Page
from openseeker.web.importers.base import Importer, Redirect, title_url


class MultihopImporter(Importer):
    name = "multihop"
    suffixes = (".json",)
    source_help = "a multihop corpus .json (list of {title, text})"

    @staticmethod
    def _from_dict_item(key: str, value: Any) -> Any:
        if isinstance(value, str):
            return {"title": key, "text": value}
        if isinstance(value, list) and all(isinstance(x, str) for x in value):
            return {"title": key, "text": "".join(value).strip()}
        if isinstance(value, dict) and "title" not in value:
            return {"title": key, **value}
        return value

    def records(self) -> Iterator[Page | Link | Redirect]:
        try:
            with open(self.source, encoding="utf-8") as fh:
                data = json.load(fh)  # these corpora are a single JSON array (MBs, not GBs)
        except ValueError as exc:
            self.bad(f"not valid JSON: {exc}")
            return
        if isinstance(data, dict):  # {title: [sentences]} (HotpotQA), {title: text} or {id: {title, text}}
            data = [self._from_dict_item(k, v) for k, v in data.items()]
        if not isinstance(data, list):
            self.bad("expected a JSON list of {title, text} objects")
            return
        seen: Counter = Counter()
        for i, obj in enumerate(data):
            self.stats.read += 1
            if not (isinstance(obj, dict) and isinstance(obj.get("title"), str) and isinstance(obj.get("text"), str)):
                self.bad(f"item {i}: expected an object with string 'title' and 'text'")
                continue
            title = obj["title"].strip()
            if not title or not obj["text"].strip():
                self.skip("empty title or text")
                continue
            seen[title] += 1
            n = seen[title]
            url = title_url(title) + (f"_({n})" if n > 1 else "")
            meta = {k: v for k, v in obj.items() if k not in ("title", "text")}
            meta["paragraph"] = n
            yield Page(
                url=url, title=title, text=obj["text"], lang="en", source=f"multihop:{self.path.stem}", metadata=meta
            )
