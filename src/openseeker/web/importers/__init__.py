"""Importers: one per source format, all streaming, all behind one registry with format detection.

``detect_format(source)`` maps a SOURCE string to a format name: each importer class declares what it reads
(``suffixes`` / ``detect``, ``priority``) and its help phrase (``source_help``), so the table of formats is
``IMPORTERS`` itself (``formats_help()``, ``openseeker web build --help``). ``get_importer(source)`` returns a ready
importer. Adding a format: docs/extending.md.
"""

from __future__ import annotations

import os
from pathlib import Path

from openseeker.errors import UserError
from openseeker.registry import Registry
from openseeker.web.importers.base import Importer, ImportStats, Redirect, title_url

__all__ = [
    "IMPORTERS",
    "ImportStats",
    "Importer",
    "Redirect",
    "detect_format",
    "formats_help",
    "get_importer",
    "title_url",
]

# format name -> importer class. Each class declares the SOURCEs it reads (``suffixes``/``detect``, ``priority``)
# and its help phrase (``source_help``): adding an importer is its module plus one line here.
IMPORTERS: Registry[type[Importer]] = Registry("corpus format")
_P = "openseeker.web.importers."
IMPORTERS.register("wiki-offline", _P + "wiki_offline:WikiOfflineImporter")
IMPORTERS.register("jsonl", _P + "jsonl:JsonlImporter")
IMPORTERS.register("mediawiki", _P + "mediawiki:MediaWikiImporter")
IMPORTERS.register("zim", _P + "zim:ZimImporter")
IMPORTERS.register("html", _P + "html_dir:HtmlDirImporter")
IMPORTERS.register("multihop", _P + "multihop:MultihopImporter")
IMPORTERS.register("browsecomp-plus", _P + "browsecomp_plus:BrowseCompPlusImporter")
IMPORTERS.register("warc", _P + "warc:WarcImporter")


def formats_help() -> str:
    """The SOURCE help text, from each importer's ``source_help`` (CLI option help and error messages)."""
    phrases = [cls.source_help or f"a {name} source" for name, cls in IMPORTERS.items()]
    return ", ".join(phrases[:-1]) + ", or " + phrases[-1] if len(phrases) > 1 else "".join(phrases)


def _by_priority() -> list[tuple[str, type[Importer]]]:
    return sorted(IMPORTERS.items(), key=lambda item: -item[1].priority)  # stable: ties in registration order


def detect_format(source: str | os.PathLike) -> str:
    """The format name of a SOURCE: the first importer (by ``priority``) whose ``detect`` claims it.

    Raises ``UserError`` when none does, saying what SOURCE may be.
    """
    s = str(source)
    for name, cls in _by_priority():
        if cls.detect(s):
            return name
    p = Path(s)
    if not p.exists():
        raise UserError(f"{p}: no such file or directory (SOURCE is {formats_help()})")
    if p.is_dir():
        raise UserError(f"{p}: directory has no .html/.htm files (SOURCE is {formats_help()})")
    raise UserError(f"{p}: unknown corpus format (SOURCE is {formats_help()})")


def importer_class(fmt: str) -> type[Importer]:
    """The importer registered as ``fmt`` (did-you-mean on a typo)."""
    return IMPORTERS.get(fmt)


def get_importer(source: str | os.PathLike, *, skip_bad: bool = False, fmt: str | None = None) -> Importer:
    """A ready importer for SOURCE (format detected unless ``fmt`` is given), its SOURCE checked by the importer's
    own ``check_exists`` (a missing file, or for wiki-offline a missing package data file: a ``UserError``)."""
    importer = importer_class(fmt or detect_format(source))(source, skip_bad=skip_bad)
    importer.check_exists()
    return importer
