"""A directory of saved HTML pages (``*.html``/``*.htm``, searched recursively).

Each file is a page at ``https://local/<relative/path.html>`` (its ``<link rel="canonical">`` is kept in
``metadata.canonical``); the text is the main content found by trafilatura (lxml fallback); the title is
``<title>``, else the first ``<h1>``, else the file name. ``<a href>`` links are resolved relative to the
page's url, so relative links between the files of the directory become hyperlinks of the web.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urljoin

from openseeker.records import Link, Page
from openseeker.web.importers import _html
from openseeker.web.importers.base import Importer, Redirect

BASE = "https://local/"


class HtmlDirImporter(Importer):
    name = "html"
    supports_sharding = True
    suffixes = (".html", ".htm")
    source_help = "a directory of .html files"

    @classmethod
    def detect(cls, source: str) -> bool:
        p = Path(source)
        return p.is_dir() and any(f.suffix.lower() in cls.suffixes for f in p.rglob("*") if f.is_file())

    def records(self) -> Iterator[Page | Link | Redirect]:
        root = self.path
        files = sorted(f for f in root.rglob("*") if f.is_file() and f.suffix.lower() in (".html", ".htm"))
        for i, f in enumerate(files):
            if not self.mine(i):  # item = file
                continue
            self.seq = i
            self.stats.read += 1
            rel = f.relative_to(root).as_posix()
            try:
                raw = f.read_bytes()
            except OSError as exc:
                self.bad(f"cannot read ({exc})", path=str(f))
                continue
            html = raw.decode("utf-8", errors="replace")
            doc = _html.parse(html)
            if doc is None:
                self.bad("not HTML", path=str(f))
                continue
            text = _html.text_of(html, doc)
            if not text:
                self.skip("empty text")
                continue
            url = BASE + quote(rel)
            meta = {"file": rel}
            canonical = doc.xpath("//link[@rel='canonical']/@href")
            if canonical:
                meta["canonical"] = canonical[0]
            title = _html.title_of(doc) or f.stem.replace("_", " ")
            yield Page(
                url=url,
                title=title,
                text=text,
                description=_html.description_of(doc),
                lang=(doc.get("lang") or "en").split("-")[0],
                source="html",
                metadata=meta,
            )
            for href, anchor in _html.hrefs_of(doc):
                target = urljoin(url, href).split("#", 1)[0]
                if target.startswith(("http://", "https://")) and target != url:
                    yield Link(src=url, dst=target, anchor=anchor)
