"""Importers: one per source format, all streaming, all behind one registry with format detection.

``detect_format(source)`` maps a SOURCE string to a format name; ``get_importer(source)`` returns a ready
importer. Formats:

=================  ===========================================================  ==========================
format             SOURCE                                                       module
=================  ===========================================================  ==========================
``wiki-offline``   ``wiki-offline`` / ``wiki-offline:es`` / ``wiki-offline:fr``  ``wiki_offline``
``jsonl``          ``*.jsonl`` (one ``{title, text, ...}`` per line)             ``jsonl``
``mediawiki``      ``*.xml`` / ``*.xml.bz2`` / ``*.bz2`` (MediaWiki export)       ``mediawiki``
``zim``            ``*.zim`` (Kiwix)                                             ``zim``
``html``           a directory of ``*.html`` / ``*.htm`` files                   ``html_dir``
``multihop``       ``*.json``: a list of ``{title, text}``                       ``multihop``
``browsecomp-plus`` ``*.parquet``, or ``*.jsonl`` of ``{docid, text, url}``      ``browsecomp_plus``
``warc``           ``*.warc[.gz]`` / ``*.wet[.gz]``, a directory or a glob of them  ``warc``
=================  ===========================================================  ==========================
"""

from __future__ import annotations

import difflib
import importlib
import os
from pathlib import Path

from openseeker.errors import UserError
from openseeker.web.importers.base import ImportStats, Importer, Redirect, title_url
from openseeker.web.importers.warc import expand_source, is_warc_name

__all__ = ["IMPORTERS", "ImportStats", "Importer", "Redirect", "detect_format", "get_importer", "title_url"]

IMPORTERS: dict[str, str] = {
    "wiki-offline": "openseeker.web.importers.wiki_offline:WikiOfflineImporter",
    "jsonl": "openseeker.web.importers.jsonl:JsonlImporter",
    "mediawiki": "openseeker.web.importers.mediawiki:MediaWikiImporter",
    "zim": "openseeker.web.importers.zim:ZimImporter",
    "html": "openseeker.web.importers.html_dir:HtmlDirImporter",
    "multihop": "openseeker.web.importers.multihop:MultihopImporter",
    "browsecomp-plus": "openseeker.web.importers.browsecomp_plus:BrowseCompPlusImporter",
    "warc": "openseeker.web.importers.warc:WarcImporter",
}

FORMATS_HELP = (
    "wiki-offline[:en|es|fr], a .jsonl file, a MediaWiki .xml/.xml.bz2 dump, a Kiwix .zim file, "
    "a directory of .html files, a multihop corpus .json (list of {title, text}), a BrowseComp-Plus corpus "
    "(.parquet or .jsonl of {docid, text, url}), or WARC/WET crawl archives (.warc, .warc.gz, .wet.gz: a file, "
    "a directory or a glob)"
)


def detect_format(source: str | os.PathLike) -> str:
    """The format name of a SOURCE (see the module table). Raises ``UserError`` when it cannot tell."""
    s = str(source)
    if s == "wiki-offline" or s.startswith("wiki-offline:"):
        return "wiki-offline"
    p = Path(s)
    if not p.exists() and any(c in s for c in "*?["):
        files = expand_source(s)
        if all(is_warc_name(f.name) for f in files):
            return "warc"
        raise UserError(f"{s}: a glob is only supported for WARC files; it matched {files[0].name}")
    if not p.exists():
        raise UserError(f"{p}: no such file or directory (SOURCE is {FORMATS_HELP})")
    if p.is_dir():
        if any(is_warc_name(f.name) for f in p.rglob("*") if f.is_file()):
            return "warc"
        if any(f.suffix.lower() in (".html", ".htm") for f in p.rglob("*") if f.is_file()):
            return "html"
        raise UserError(f"{p}: directory has no .html/.htm files (SOURCE is {FORMATS_HELP})")
    name = p.name.lower()
    if name.endswith(".parquet"):
        return "browsecomp-plus"
    if is_warc_name(name):
        return "warc"
    if name.endswith(".jsonl") or name.endswith(".jsonl.gz"):
        from openseeker.web.importers.browsecomp_plus import looks_like_bcp_jsonl

        return "browsecomp-plus" if name.endswith(".jsonl") and looks_like_bcp_jsonl(s) else "jsonl"
    if name.endswith(".xml") or name.endswith(".xml.bz2") or name.endswith(".bz2"):
        return "mediawiki"
    if name.endswith(".zim"):
        return "zim"
    if name.endswith(".json"):
        return "multihop"
    raise UserError(f"{p}: unknown corpus format (SOURCE is {FORMATS_HELP})")


def importer_class(fmt: str) -> type[Importer]:
    if fmt not in IMPORTERS:
        close = difflib.get_close_matches(fmt, IMPORTERS, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise UserError(f"unknown corpus format '{fmt}'{hint} (known: {', '.join(IMPORTERS)})")
    module, cls = IMPORTERS[fmt].split(":")
    return getattr(importlib.import_module(module), cls)


def get_importer(source: str | os.PathLike, *, skip_bad: bool = False, fmt: str | None = None) -> Importer:
    """A ready importer for SOURCE (format detected unless ``fmt`` is given)."""
    fmt = fmt or detect_format(source)
    importer = importer_class(fmt)(source, skip_bad=skip_bad)
    if fmt != "wiki-offline":
        importer.check_exists()
    return importer
