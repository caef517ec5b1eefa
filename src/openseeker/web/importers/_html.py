"""HTML helpers shared by the ZIM and HTML-directory importers: main text (trafilatura, lxml fallback),
title, description, and ``<a href>`` links with anchors."""

from __future__ import annotations

import logging
import re

log = logging.getLogger(__name__)

_BLANKS = re.compile(r"\n{3,}")
_DROP = ("script", "style", "noscript", "template", "svg", "head")


def parse(html: str | bytes):
    import lxml.html

    if isinstance(html, bytes):
        html = html.decode("utf-8", errors="replace")
    if not html.strip():
        return None
    try:
        return lxml.html.document_fromstring(html)
    except Exception:  # lxml raises ParserError / ValueError on empty or odd input
        return None


def title_of(doc) -> str:
    if doc is None:
        return ""
    for xp in ("//title", "//h1"):
        found = doc.xpath(xp)
        if found:
            t = " ".join(found[0].text_content().split())
            if t:
                return t
    return ""


def description_of(doc) -> str:
    if doc is None:
        return ""
    found = doc.xpath("//meta[@name='description']/@content")
    return " ".join(found[0].split()) if found else ""


def text_of(html: str, doc=None) -> str:
    """Main text: trafilatura (boilerplate removed), else the whole body's text with lxml."""
    text = None
    try:
        import trafilatura

        text = trafilatura.extract(
            html, include_comments=False, include_tables=False, favor_recall=True, deduplicate=False
        )
    except Exception as exc:  # trafilatura is best-effort
        log.debug("trafilatura failed: %s", exc)
    if not text and doc is not None:
        text = body_text(doc)
    return _BLANKS.sub("\n\n", (text or "").strip())


def body_text(doc) -> str:
    """The whole body's text (scripts, styles and the like removed; modifies ``doc``)."""
    body = doc.find("body") if doc.find("body") is not None else doc
    for el in body.iter(*_DROP):
        el.drop_tree()
    return "\n".join(" ".join(line.split()) for line in body.text_content().splitlines())


def hrefs_of(doc) -> list[tuple[str, str]]:
    """``(href, anchor text)`` of every ``<a href>`` in document order."""
    if doc is None:
        return []
    out = []
    for a in doc.iter("a"):
        href = (a.get("href") or "").strip()
        if href and not href.startswith(("javascript:", "mailto:", "#", "data:")):
            out.append((href, " ".join(a.text_content().split())))
    return out
