"""The fast wikitext renderer: what it keeps and drops, and parity with the mwparserfromhell rendering on the
real enwiki sample (same link targets, near-identical text)."""

from __future__ import annotations

import difflib

from openseeker.records import Link, Page
from openseeker.testing.shared import SHARED_DATA, requires_shared
from openseeker.web.importers.mediawiki import MediaWikiImporter
from openseeker.web.importers.wikitext import wikitext_to_text

WIKI = """{{Short description|A test}}{{Infobox person
| name = {{nowrap|Ray [[Charles]]}}
| born = {{birth date|1930|9|23}}
}}
'''Ray Charles''' was an [[United States|American]] [[singer]]s and [[pianist]].<ref>{{cite web|url=x}}</ref>
He recorded ''[[Georgia on My Mind]]''<ref name="a"/> in 1960.<!-- a comment [[Hidden]] -->
[[File:Ray.jpg|thumb|Ray at the [[Piano|piano]] in 1969]]
== Career ==
He founded [http://example.com a label] and moved to [[Los Angeles#History|L.A.]]; see [[#Career]].
{| class="wikitable"
| [[TableLink]] || cell
|}
* A list item about [[soul music]]&nbsp;and more.
[[Category:Singers]] [[fr:Ray Charles]]
"""


def _article(target: str) -> bool:
    return MediaWikiImporter("x.xml")._is_article_link(target)


def test_keeps_prose_and_links_drops_the_rest():
    text, links = wikitext_to_text(WIKI, _article)
    assert text.splitlines()[0] == "Ray Charles was an American singers and pianist."
    assert "He recorded Georgia on My Mind in 1960." in text
    assert "\nCareer\n" in text
    assert "He founded a label and moved to L.A.; see #Career." in text
    assert "A list item about soul music\xa0and more." in text
    for gone in (
        "Infobox",
        "cite",
        "comment",
        "Hidden",
        "thumb",
        "Ray at the",
        "TableLink",
        "cell",
        "Singers",
        "fr:",
        "{{",
        "}}",
        "[[",
        "'''",
        "<ref",
    ):
        assert gone not in text, gone
    assert links == [
        ("United States", "American"),
        ("singer", "singers"),
        ("pianist", "pianist"),
        ("Georgia on My Mind", "Georgia on My Mind"),
        ("Los Angeles#History", "L.A."),
        ("#Career", "#Career"),
        ("soul music", "soul music"),
    ]


def test_unbalanced_markup_does_not_hang_or_crash():
    for bad in (
        "{{unclosed template [[Link]] text",
        "[[unclosed link",
        "<ref>never closed",
        "{| table",
        "}} stray ]] closers {{",
        "<!-- open comment",
    ):
        text, links = wikitext_to_text(bad * 50, _article)
        assert isinstance(text, str) and isinstance(links, list)


@requires_shared
def test_parity_with_mwparserfromhell_on_the_enwiki_sample():
    path = SHARED_DATA / "corpora/enwiki-sample/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
    out = {}
    for parser in ("fast", "mwparserfromhell"):
        recs, n_pages = [], 0
        for rec in MediaWikiImporter(str(path), parser=parser):  # the first 40 articles (the full parse is slow)
            n_pages += isinstance(rec, Page)
            if n_pages > 40:
                break
            recs.append(rec)
        out[parser] = (
            {r.url: r.text for r in recs if isinstance(r, Page)},
            {(r.src, r.dst) for r in recs if isinstance(r, Link)},
        )
    (fast_pages, fast_links), (full_pages, full_links) = out["fast"], out["mwparserfromhell"]
    assert fast_pages.keys() == full_pages.keys() and len(fast_pages) == 40
    common = len(fast_links & full_links)
    # the ~1% that differ are markup mwparserfromhell does not close (a table whose bold quotes are unbalanced
    # is kept as prose; an unclosed table swallows the rest of "Alaska"): there the fast renderer is closer
    # to what MediaWiki shows
    assert common / len(full_links) > 0.98 and common / len(fast_links) > 0.98
    ratios = [
        difflib.SequenceMatcher(None, fast_pages[u], full_pages[u], autojunk=False).quick_ratio()
        for u in sorted(full_pages)[:25]
    ]
    assert sum(r > 0.97 for r in ratios) >= len(ratios) - 2  # the outliers: the unclosed markup above
