"""Title-mention link derivation: word boundaries, longest match, trivial titles, self-links, case rules."""

from __future__ import annotations

from openseeker.records import Page
from openseeker.web.importers.links import TitleMatcher, derive_title_links, trivial_reason
from openseeker.web.store import WebGraph


def _titles(*titles):
    return TitleMatcher(iter(enumerate(titles, 1)))


def test_trivial_titles():
    assert trivial_reason("0") == "no letters"
    assert trivial_reason("1066") == "no letters"
    assert trivial_reason("Qi") == "too short"
    assert trivial_reason("The") == "stop word"
    assert trivial_reason("China") is None
    m = _titles("0", "1", "The", "China")
    assert m.find("In 1 year 0 of The things China did") == [(4, "China")]
    assert m.trivial == {"no letters": 2, "stop word": 1}


def test_word_boundaries_and_longest_match():
    m = _titles("Iran", "Rome", "Roman Empire", "Empire", "Classical music")
    found = m.find("Iranian art. The Roman Empire ruled Rome; CLASSICAL  music spread to Iran.")
    assert found == [(3, "Roman Empire"), (2, "Rome"), (5, "CLASSICAL music"), (1, "Iran")]


def test_single_word_titles_are_case_sensitive_and_not_part_of_longer_names():
    m = _titles("Time", "Rain", "Europe", "DNA")
    assert m.find("at that time the rain fell on dna") == []
    assert m.find("No: Douglas Rain and Western Europe, but DNA and Europe. Time flies.") == [
        (4, "DNA"),
        (3, "Europe"),
        (1, "Time"),
    ]  # sentence-initial capitals do match


def test_qualified_titles_match_their_base_when_multiword():
    m = _titles("Gone with the Wind (film)", "Western (genre)")
    assert m.find("She loved Gone with the Wind. Western art.") == [(1, "Gone with the Wind")]


def test_derive_links_no_self_links(tmp_path):
    g = WebGraph(tmp_path)
    pages = [
        ("China", "China is a country in Asia. China borders India."),
        ("India", "India is in Asia, next to China."),
        ("Asia", "Asia is a continent."),
        ("1", "1 is a number, as in Asia."),
    ]
    with g.writer() as w:
        for t, text in pages:
            w.add_page(Page(url=f"https://x/{t}", title=t, text=text))
    stats = derive_title_links(g)
    g.compute_degrees()
    assert {(lk.src, lk.dst) for p in g.iter_pages() for lk in g.out_links(p.url)} == {
        ("https://x/China", "https://x/Asia"),
        ("https://x/China", "https://x/India"),
        ("https://x/India", "https://x/Asia"),
        ("https://x/India", "https://x/China"),
        ("https://x/1", "https://x/Asia"),
    }
    assert stats["self_mentions_skipped"] == 4 and stats["links_added"] == 5
    assert stats["titles_trivial"] == {"no letters": 1}
    assert g.degree_stats()["pages_no_out_links"] == 1
