"""Kiwix ZIM files (``libzim``): every HTML article becomes a page, its ``<a href>`` links to other
articles become hyperlinks, redirect entries become redirects.

Page urls: for Wikipedia ZIMs (``Name``/``Creator`` metadata says so) the real article url
``https://<lang>.wikipedia.org/wiki/<path>``; otherwise ``https://local/<zim name>/<path>``. Links are resolved
relative to the entry's path, so ``href="Georgia_on_My_Mind"`` in ``A/Ray_Charles`` points at
``A/Georgia_on_My_Mind``; links leaving the archive (``http://...``) are not hyperlinks of this web.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from openseeker.errors import UserError
from openseeker.records import Link, Page
from openseeker.web.importers import _html
from openseeker.web.importers.base import Importer, Redirect, title_url

ISO3 = {
    "eng": "en",
    "fra": "fr",
    "fre": "fr",
    "spa": "es",
    "deu": "de",
    "ger": "de",
    "ita": "it",
    "por": "pt",
    "zho": "zh",
    "chi": "zh",
    "rus": "ru",
    "jpn": "ja",
    "ara": "ar",
    "nld": "nl",
    "pol": "pl",
}
_FAKE_HOST = "https://zim.invalid/"


def _meta(archive: Any, key: str) -> str:
    try:
        return bytes(archive.get_metadata(key)).decode("utf-8", errors="replace")
    except (KeyError, RuntimeError):
        return ""


class ZimImporter(Importer):
    name = "zim"
    suffixes = (".zim",)
    source_help = "a Kiwix .zim file"
    supports_sharding = True

    def fingerprint(self) -> str:
        archive = self._archive()
        h = hashlib.sha256(b"zim")
        h.update(str(archive.uuid).encode())
        h.update(str(archive.filesize).encode())
        return h.hexdigest()[:24]

    def _archive(self) -> Any:
        from libzim.reader import Archive

        self.check_exists()
        try:
            return Archive(str(self.path))
        except RuntimeError as exc:
            raise UserError(f"{self.path}: not a readable ZIM file ({exc})") from None

    def _path_name(self, path: str) -> str:
        """``A/Ray_Charles`` -> ``Ray_Charles`` (the namespace is dropped in the old scheme)."""
        if not self.new_scheme and len(path) > 2 and path[1] == "/":
            return path[2:]
        return path

    def records(self) -> Iterator[Page | Link | Redirect]:
        archive = self._archive()
        self.new_scheme = archive.has_new_namespace_scheme
        lang3 = _meta(archive, "Language").split(",")[0].strip()
        lang = ISO3.get(lang3, lang3[:2] or "en")
        zim_name = _meta(archive, "Name") or self.path.stem
        is_wikipedia = "wikipedia" in (zim_name + _meta(archive, "Creator")).lower()
        base = f"https://{lang}.wikipedia.org/wiki/" if is_wikipedia else f"https://local/{zim_name}/"
        for i in range(archive.all_entry_count if hasattr(archive, "all_entry_count") else archive.entry_count):
            if not self.mine(i):  # item = entry (by id: skipping one reads nothing)
                continue
            self.seq = i
            try:
                entry = archive._get_entry_by_id(i)
            except (RuntimeError, IndexError) as exc:
                self.bad(f"entry {i}: unreadable ({exc})")
                continue
            path = entry.path
            if not self.new_scheme and not path.startswith("A/"):
                continue  # old scheme: A/ holds articles; -/ I/ M/ X/ hold assets, metadata and indexes
            if entry.is_redirect:
                try:
                    target = entry.get_redirect_entry()
                except RuntimeError:
                    self.skip("broken redirect")
                    continue
                src_name, dst_name = self._path_name(path), self._path_name(target.path)
                yield Redirect(title=unquote(src_name).replace("_", " "), target=target.title or dst_name)
                continue
            item = entry.get_item()
            if not item.mimetype.startswith("text/html"):
                continue
            self.stats.read += 1
            html = bytes(item.content).decode("utf-8", errors="replace")
            doc = _html.parse(html)
            text = _html.text_of(html, doc)
            if not text:
                self.skip("empty text")
                continue
            name = self._path_name(path)
            title = entry.title or _html.title_of(doc) or unquote(name).replace("_", " ")
            url = title_url(unquote(name), base)
            path_title = unquote(name).replace("_", " ")
            if path_title.casefold() != title.casefold():
                yield Redirect(title=path_title, target=title)
            yield Page(
                url=url,
                title=title,
                text=text,
                description=_html.description_of(doc),
                lang=lang,
                source=f"zim:{zim_name}",
                metadata={"zim_path": path},
            )
            here = _FAKE_HOST + path
            for href, anchor in _html.hrefs_of(doc):
                target = urljoin(here, href)
                if not target.startswith(_FAKE_HOST):
                    continue  # leaves the archive
                tpath = unquote(urlsplit(target).path.lstrip("/"))
                if not self.new_scheme and not tpath.startswith("A/"):
                    continue
                yield Link(src=url, dst=self._path_name(tpath).replace("_", " "), anchor=anchor)
