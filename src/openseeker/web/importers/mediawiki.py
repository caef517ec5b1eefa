"""MediaWiki XML export dumps (``.xml`` or ``.xml.bz2``), streamed.

* ``xml.etree.ElementTree.iterparse``: one ``<page>`` at a time, cleared after use (bounded memory);
* only the main (article) namespace is kept; other namespaces are counted as skipped;
* ``<redirect title=...>`` pages become redirects (``get_by_title`` and link resolution follow them);
* wikitext -> plain text in linear regex passes (``wikitext.py``; templates, references, tables, files,
  categories removed), ~10x faster than building ``mwparserfromhell``'s tree, which stays available
  (``parser="mwparserfromhell"``) and is what the fast path is tested against;
* ``[[Target|anchor]]`` -> a hyperlink to ``Target`` (fragment dropped) with its anchor text; links into other
  namespaces (``File:``, ``Category:``...) and interwiki links are ignored;
* page urls: the wiki's base url from ``<siteinfo><base>`` (``https://en.wikipedia.org/wiki/``), else
  ``https://<xml:lang>.wikipedia.org/wiki/``.
"""

from __future__ import annotations

import bz2
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

from openseeker.records import Link, Page
from openseeker.web.importers.base import Importer, Redirect, title_url
from openseeker.web.importers.wikitext import wikitext_to_text

DEFAULT_NAMESPACES = {
    "media",
    "special",
    "talk",
    "user",
    "user talk",
    "wikipedia",
    "wikipedia talk",
    "wp",
    "file",
    "file talk",
    "image",
    "mediawiki",
    "template",
    "template talk",
    "help",
    "category",
    "category talk",
    "portal",
    "book",
    "draft",
    "module",
    "timedtext",
    "gadget",
    "topic",
    "wikt",
    "wiktionary",
    "wikisource",
    "wikiquote",
    "commons",
    "s",
    "q",
    "n",
    "b",
    "v",
    "d",
    "m",
    "meta",
    "species",
    "wikibooks",
    "wikinews",
    "wikiversity",
    "wikidata",
}
HIDDEN_TAGS = {
    "ref",
    "references",
    "gallery",
    "timeline",
    "math",
    "chem",
    "score",
    "graph",
    "templatedata",
    "noinclude",
    "includeonly",
    "table",
    "syntaxhighlight",
    "source",
    "imagemap",
    "mapframe",
}
_INTERWIKI = re.compile(r"^[a-z]{2,3}(-[a-z]+)*$")
_BLANKS = re.compile(r"\n{3,}")
_SPACES = re.compile(r"[ \t]{2,}")
_EMPTY_PARENS = re.compile(r" ?\([\s,;]*\)")  # what is left of "(pronunciation {{IPA}})" and the like


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _first_upper(title: str) -> str:
    t = " ".join(title.replace("_", " ").split())
    return t[:1].upper() + t[1:]


_BZ2_MAGIC = re.compile(rb"BZh[1-9]1AY&SY")  # a bz2 stream header followed by its first block's magic
_PAGE_OPEN = re.compile(rb"<page>")  # in plain XML (a literal <page> inside wikitext is escaped: &lt;page&gt;)


def _next_stream(path: Any, pos: int, limit: int | None = None, pattern: re.Pattern = _BZ2_MAGIC) -> int | None:
    """Offset of the first bz2 stream header (or ``pattern``) at or after ``pos`` (searching at most ``limit``
    bytes)."""
    chunk = 4 << 20
    with open(path, "rb") as fh:
        fh.seek(pos)
        searched, tail = 0, b""
        while limit is None or searched < limit:
            data = fh.read(chunk)
            if not data:
                return None
            buf = tail + data
            m = pattern.search(buf)
            if m:
                return pos + searched - len(tail) + m.start()
            tail = buf[-9:]
            searched += len(data)
    return None


class _Bz2Range:
    """A read-only file of the decompressed bytes of the bz2 streams in ``[lo, hi)`` (``prefix``/``suffix``
    added, ``drop`` removed), for ``ET.iterparse``. Memory: one compressed chunk and one stream's output."""

    def __init__(
        self,
        path: Any,
        lo: int,
        hi: int,
        *,
        prefix: bytes = b"",
        suffix: bytes = b"",
        drop: bytes = b"",
        compressed: bool = True,
    ):
        self.path, self.lo, self.hi, self.compressed = path, lo, hi, compressed
        self.prefix, self.suffix, self.drop = prefix, suffix, drop
        self._gen = self._chunks()
        self._buf = b""

    def _chunks(self) -> Iterator[bytes]:
        yield self.prefix
        with open(self.path, "rb") as fh:
            fh.seek(self.lo)
            left = self.hi - self.lo
            dec, fed = bz2.BZ2Decompressor(), False
            while left > 0:
                raw = fh.read(min(1 << 20, left))
                if not raw:
                    break
                left -= len(raw)
                if not self.compressed:  # a plain XML byte range
                    yield raw
                    continue
                while raw:
                    fed = True
                    out = dec.decompress(raw)
                    yield out.replace(self.drop, b"") if self.drop else out
                    if dec.eof:
                        raw = dec.unused_data
                        dec, fed = bz2.BZ2Decompressor(), False
                    else:
                        raw = b""
            if fed:  # the range ends inside a stream: the file is truncated
                raise EOFError("Compressed file ended before the end-of-stream marker was reached")
        yield self.suffix

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self._buf) < n:
            try:
                self._buf += next(self._gen)
            except StopIteration:
                break
        if n < 0:
            out, self._buf = self._buf, b""
        else:
            out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def close(self) -> None:
        self._gen.close()


class MediaWikiImporter(Importer):
    name = "mediawiki"
    suffixes = (".xml", ".xml.bz2", ".bz2")
    source_help = "a MediaWiki .xml/.xml.bz2 dump"
    supports_sharding = True

    def __init__(self, source: str, *, skip_bad: bool = False, parser: str = "fast"):
        super().__init__(source, skip_bad=skip_bad)
        if parser not in ("fast", "mwparserfromhell"):
            raise ValueError(f"unknown wikitext parser {parser!r}")
        self.parser = parser
        self.base = ""
        self.namespaces = set(DEFAULT_NAMESPACES)

    def _open(self) -> Any:
        if self.source.endswith(".bz2"):
            return bz2.open(self.source, "rb")
        return open(self.source, "rb")

    def _is_article_link(self, target: str) -> bool:
        if not target or target.startswith(":"):
            return False
        if ":" in target:
            prefix = target.split(":", 1)[0].strip().lower()
            if prefix in self.namespaces or _INTERWIKI.match(prefix):
                return False
        return True

    def wikitext_to_page(self, title: str, wikitext: str, page_id: str) -> tuple[Page, list[Link]]:
        url = title_url(title, self.base)
        links: list[Link] = []
        if self.parser == "fast":
            text, found = wikitext_to_text(wikitext, self._is_article_link)
            for target, anchor in found:
                target = target.split("#", 1)[0].strip()
                if target:  # [[#Section]] points into the same page; model_construct: trusted strings, hot loop
                    links.append(Link.model_construct(src=url, dst=_first_upper(target), anchor=anchor))
        else:
            import mwparserfromhell

            text = self._render(mwparserfromhell.parse(wikitext), url, links)
            text = "\n".join(_SPACES.sub(" ", _EMPTY_PARENS.sub("", line)).strip() for line in text.splitlines())
            text = _BLANKS.sub("\n\n", text).strip()
        page = Page(
            url=url,
            title=title,
            text=text,
            lang=self.lang,
            source="mediawiki",
            metadata={"page_id": page_id} if page_id else {},
        )
        return page, links

    def _render(self, code: Any, url: str, links: list[Link]) -> str:
        """Plain text of parsed wikitext, collecting article links on the way (one linear walk; templates,
        comments, references, tables, files and categories are dropped)."""
        from mwparserfromhell import nodes

        out: list[str] = []
        for node in code.nodes:
            if isinstance(node, nodes.Text):
                out.append(node.value)
            elif isinstance(node, nodes.Wikilink):
                target = str(node.title).strip()
                if not self._is_article_link(target):
                    continue
                anchor = self._render(node.text, url, links).strip() if node.text is not None else target
                out.append(anchor)
                target = target.split("#", 1)[0].strip()
                if target:  # [[#Section]] points into the same page
                    links.append(Link(src=url, dst=_first_upper(target), anchor=anchor))
            elif isinstance(node, nodes.Tag):
                tag = str(node.tag).lower()
                if tag in HIDDEN_TAGS:
                    continue
                if tag == "br" or (node.self_closing and node.wiki_markup):
                    out.append("\n")
                elif node.contents is not None:
                    out.append(self._render(node.contents, url, links))
            elif isinstance(node, nodes.Heading):
                out.append("\n" + self._render(node.title, url, links).strip() + "\n")
            elif isinstance(node, nodes.ExternalLink):
                if node.title is not None:
                    out.append(self._render(node.title, url, links))
            elif isinstance(node, nodes.HTMLEntity):
                out.append(node.normalize())
            # Template, Comment, Argument: dropped
        return "".join(out)

    def records(self) -> Iterator[Page | Link | Redirect]:
        self.lang = "en"
        bz = self.source.endswith(".bz2")
        split = (self._stream_range() if bz else self._xml_range()) if self.world_size > 1 else None
        if split is not None:  # this shard reads only its byte range (multistream bz2 streams, or plain XML)
            header_end, lo, hi = split
            yield from self._parse(
                _Bz2Range(self.path, 0, header_end, suffix=b"</mediawiki>", compressed=bz), ranged=False
            )
            body = _Bz2Range(
                self.path,
                lo,
                hi,
                prefix=b"<mediawiki>",
                suffix=b"</mediawiki>",
                drop=b"</mediawiki>" if bz else b"",
                compressed=bz,
            )
            yield from self._parse(body, ranged=True)
            return
        yield from self._parse(self._open(), ranged=False)

    def _xml_range(self) -> tuple[int, int, int] | None:
        """``(start of the first <page>, start, end)`` of this shard's pages in a plain XML dump: byte ranges cut
        at ``<page>`` tags, the last one ending before ``</mediawiki>``."""
        size = self.path.stat().st_size
        first = _next_stream(self.path, 0, pattern=_PAGE_OPEN)
        if first is None:
            return None
        with self.path.open("rb") as fh:
            fh.seek(max(0, size - 4096))
            tail = fh.read()
        close = tail.rfind(b"</mediawiki>")
        end = size - len(tail) + close if close >= 0 else size

        def cut(k: int) -> int:
            if k == 0:
                return first
            if k == self.world_size:
                return end
            at = _next_stream(self.path, max(first, size * k // self.world_size), pattern=_PAGE_OPEN)
            return min(at, end) if at is not None else end

        return first, cut(self.rank), cut(self.rank + 1)

    def _stream_range(self) -> tuple[int, int, int] | None:
        """``(end of the header stream, start, end)`` of this shard's bz2 streams in a multistream dump (the
        dumps' ``pages-articles-multistream`` files: a header stream, then ~100 pages per stream); ``None``
        for a single-stream file (then every shard reads the whole file and parses its share of pages)."""
        size = self.path.stat().st_size
        second = _next_stream(self.path, 4, limit=16 << 20)
        if second is None:
            return None
        lo = second if self.rank == 0 else _next_stream(self.path, max(second, size * self.rank // self.world_size))
        hi = (
            size
            if self.rank == self.world_size - 1
            else _next_stream(self.path, max(second, size * (self.rank + 1) // self.world_size))
        )
        return second, lo if lo is not None else size, hi if hi is not None else size

    def _parse(self, fh: Any, *, ranged: bool) -> Iterator[Page | Link | Redirect]:
        """Pages of an XML stream; ``ranged``: every page is this shard's (a byte range), numbered
        ``[rank, i]`` so that shards merge in file order; else pages are numbered and picked by ``mine``."""
        try:
            context = ET.iterparse(fh, events=("start", "end"))
            root = None
            page: dict[str, Any] = {}
            in_revision = False
            n_pages = 0
            try:
                for event, elem in context:
                    tag = _local(elem.tag)
                    if event == "start":
                        if root is None:
                            root = elem
                            lang = elem.get("{http://www.w3.org/XML/1998/namespace}lang")
                            if lang:
                                self.lang = lang
                        elif tag == "page":
                            page = {}
                        elif tag == "revision":
                            in_revision = True
                        continue
                    if tag == "base" and elem.text:
                        self.base = elem.text.rsplit("/", 1)[0] + "/"
                    elif tag == "namespace" and elem.text:
                        self.namespaces.add(elem.text.strip().lower())
                    elif tag == "title":
                        page["title"] = elem.text or ""
                    elif tag == "ns":
                        page["ns"] = (elem.text or "0").strip()
                    elif tag == "id" and not in_revision and "id" not in page:
                        page["id"] = (elem.text or "").strip()
                    elif tag == "redirect":
                        page["redirect"] = elem.get("title") or ""
                    elif tag == "revision":
                        in_revision = False
                    elif tag == "text" and in_revision:
                        page["text"] = elem.text or ""
                    elif tag == "page":
                        if ranged:
                            self.seq = [self.rank, n_pages]
                            yield from self._page(page)
                        elif self.mine(n_pages):  # item = <page> (the XML is read by every shard, parsed by one)
                            self.seq = n_pages
                            yield from self._page(page)
                        n_pages += 1
                        if root is not None:
                            root.clear()
            # every round-robin shard reads the whole file and meets the problem; one reports it (same counts
            # with 1 and N workers)
            except ET.ParseError as exc:
                line = exc.position[0] if getattr(exc, "position", None) else None
                if ranged or self.mine(n_pages):
                    self.bad(f"malformed XML: {exc}", line=line)
            except (EOFError, OSError) as exc:
                if ranged or self.mine(n_pages):
                    self.bad(f"truncated or corrupt file ({exc})")
        finally:
            fh.close()

    def _page(self, page: dict[str, Any]) -> Iterator[Page | Link | Redirect]:
        self.stats.read += 1
        if not self.base:
            self.base = f"https://{self.lang}.wikipedia.org/wiki/"
        title = " ".join((page.get("title") or "").split())
        if not title:
            self.bad("page without a title")
            return
        if page.get("ns", "0") != "0":
            self.skip("non-article namespace")
            return
        if page.get("redirect") is not None:
            target = page["redirect"].split("#", 1)[0].strip()
            if target:
                yield Redirect(title=title, target=target)
            self.skip("redirect")
            return
        wikitext = page.get("text") or ""
        if wikitext.lstrip().upper().startswith("#REDIRECT"):
            m = re.search(r"\[\[([^\]|#]+)", wikitext)
            if m:
                yield Redirect(title=title, target=m.group(1).strip())
            self.skip("redirect")
            return
        try:
            pg, links = self.wikitext_to_page(title, wikitext, page.get("id", ""))
        except Exception as exc:  # mwparserfromhell is robust, but never let one page kill an import
            self.bad(f"page {title!r}: cannot parse wikitext ({type(exc).__name__}: {exc})")
            return
        if not pg.text:
            self.skip("empty text")
            return
        yield pg
        yield from links
