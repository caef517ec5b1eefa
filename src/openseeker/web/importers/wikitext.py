"""Wikitext -> plain text + article links in a few linear regex passes (no parse tree).

Why: building ``mwparserfromhell``'s node tree is ~90% of the MediaWiki importer's time (its tokenizer is C,
the tree builder is Python; profile in benchmarks/import.md). A dump import does not need the tree: it drops
templates, references, tables and files, keeps prose, and wants ``[[links]]`` with their anchors. This does
the same in passes over the string, innermost-first for what nests (templates, tables, file captions), the
way WikiExtractor-style dump cleaners work. ``tests/web/test_wikitext.py`` checks it against the
``mwparserfromhell`` rendering on the real enwiki sample (same link targets, near-identical text).

What is kept and dropped is the same as ``MediaWikiImporter._render``: templates, parser functions,
comments, ``<ref>`` and other hidden tags, tables, ``[[File:...]]``/``[[Category:...]]``/interwiki links are
dropped; ``[[Target|anchor]]`` becomes ``anchor`` (plus a link to ``Target``); ``[http://x title]`` becomes
``title``; headings become their own lines; bold/italic quotes, list markers and remaining HTML tags go.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_HIDDEN = (
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
    "table",
    "syntaxhighlight",
    "source",
    "imagemap",
    "mapframe",
    "nowiki",
    "pre",
    "includeonly",
    "poem",
    "hiero",
    "ce",
    "categorytree",
    "inputbox",
)
_TAGS = "|".join(_HIDDEN)
_HIDDEN_PAIR = re.compile(rf"<({_TAGS})\b[^>]*?(?<!/)>.*?</\1\s*>", re.DOTALL | re.IGNORECASE)
_HIDDEN_SELF = re.compile(rf"<(?:{_TAGS})\b[^>]*/>", re.IGNORECASE)
_TEMPLATE = re.compile(r"\{\{(?:(?!\{\{|\}\})[\s\S])*\}\}")
_TABLE = re.compile(r"\{\|(?:(?!\{\||\|\})[\s\S])*\|\}")
# a [[...]] with no nested [[ ]] inside: innermost first, so file captions lose their inner links first
_LINK = re.compile(r"\[\[([^\[\]|]*)(?:\|((?:[^\[\]]|\[(?!\[)[^\[\]]*\](?!\]))*))?\]\]([a-z]*)")
# [[Prefix:...]] holding at most one level of nested [[links]] (file captions): dropped whole when the prefix is
# a namespace, so the caption's links go with it (as in the full parse)
_NAMESPACED = re.compile(r"\[\[\s*([^\[\]|:]*):((?:[^\[\]]|\[(?!\[)|\](?!\])|\[\[[^\[\]]*\]\])*)\]\]")
_EXTERNAL = re.compile(r"\[(?:https?:|ftp:)?//[^\s\[\]]+(?:\s+([^\[\]]*))?\]")
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"</?[a-zA-Z][^<>]*>")
_QUOTES = re.compile(r"'{2,}")
_HEADING = re.compile(r"^(={1,6})\s*(.*?)\s*\1\s*$", re.MULTILINE)
_LIST = re.compile(r"^[*#:;]+\s*", re.MULTILINE)
_MAGIC = re.compile(r"__[A-Z]+__")
_BLANKS = re.compile(r"\n{3,}")
_SPACES = re.compile(r"[ \t]{2,}")
_EMPTY_PARENS = re.compile(r" ?\([\s,;]*\)")
_PLACEHOLDER = "\x00"


def _strip_nested(pattern: re.Pattern, text: str) -> str:
    """Remove innermost matches until none is left (templates in templates, tables in tables)."""
    while True:
        new = pattern.sub("", text)
        if new == text:
            return new
        text = new


def wikitext_to_text(wikitext: str, is_article_link: Callable[[str], bool]) -> tuple[str, list[tuple[str, str]]]:
    """``(plain text, [(link target, anchor), ...])``; targets keep their case and ``#fragment`` (the caller
    normalises them); links into other namespaces (``is_article_link`` false) are dropped with their text."""
    text = _COMMENT.sub("", wikitext)
    text = _HIDDEN_SELF.sub("", text)
    text = _HIDDEN_PAIR.sub("", text)
    text = _strip_nested(_TEMPLATE, text)
    text = _strip_nested(_TABLE, text)
    links: list[tuple[str, str]] = []

    def namespaced(m: re.Match) -> str:
        return "" if not is_article_link(m.group(1) + ":" + m.group(2)) else m.group(0)

    text = _NAMESPACED.sub(namespaced, text)

    def link(m: re.Match) -> str:
        target = m.group(1).strip()
        if not is_article_link(target):
            return ""
        anchor = m.group(2)
        anchor = target if anchor is None else anchor.strip()
        anchor += m.group(3)
        links.append((target, anchor))
        return anchor

    text = _LINK.sub(link, text)
    text = _EXTERNAL.sub(lambda m: m.group(1) or "", text)
    text = _BR.sub("\n", text)
    text = _TAG.sub("", text)
    text = _QUOTES.sub("", text)
    text = _HEADING.sub(lambda m: "\n" + m.group(2) + "\n", text)
    text = _LIST.sub("", text)
    text = _MAGIC.sub("", text)
    text = html.unescape(text)
    text = "\n".join(_SPACES.sub(" ", _EMPTY_PARENS.sub("", line)).strip() for line in text.splitlines())
    text = _BLANKS.sub("\n\n", text).strip()
    return text, links
