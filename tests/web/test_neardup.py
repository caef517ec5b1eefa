"""``--dedup near``: reworded copies (a mirror's own header and footer, a few words edited) are dropped by
``web build``/``web add``, genuinely different pages of the same topic are kept; the same pages with 1 and 2
workers; an interrupted build or add resumes without duplicates (the LSH state is rebuilt)."""

from __future__ import annotations

import itertools
import json
import random
import sqlite3

import pytest

pytest.importorskip("datasketch")
pytest.importorskip("warcio")

from openseeker.cli.main import main
from openseeker.web.build import NEAR_DUPLICATE, build_web
from openseeker.web.importers import get_importer
from openseeker.web.incremental import add_to_web
from openseeker.web.neardup import NearDup, shingles

from .test_parallel import dump
from .warc_files import write_pages

HEADER = "Mirror of the free encyclopedia, hosted by wikimirror net. Home. Random page. Donate. Log in."
FOOTER = "Copyright 2024 wikimirror net. All rights reserved. Privacy. Terms of use. Back to top."


def _articles(n: int = 8) -> list[tuple[str, str]]:
    """Real text: the first ``n`` long lead paragraphs of the wiki-offline corpus (all of topic Arts: different
    pages of one topic, which must all be kept)."""
    pages = get_importer("wiki-offline")
    return [(p.title, p.text) for p in itertools.islice((p for p in pages if len(p.text.split()) >= 150), n)]


def _edit(text: str, every: int = 60) -> str:
    """A few words changed (one in ``every``): a copy-edited republication."""
    words = text.split()
    for i in range(every // 2, len(words), every):
        words[i] = "notably"
    return " ".join(words)


def _slug(title: str) -> str:
    return title.replace(" ", "_").replace("(", "").replace(")", "")


def _crawl(path, pages):
    return write_pages(path, pages, filler="")


def _near_crawl(tmp_path, name="crawl.warc.gz"):
    """8 originals linking to each other, then 4 near-duplicates of them on a mirror site (with links)."""
    arts = _articles()
    pages = []
    for i, (title, text) in enumerate(arts):
        nxt = _slug(arts[(i + 1) % len(arts)][0])
        pages.append((f"http://ex.org/{_slug(title)}", title, f"<p>{text}</p><p><a href='/{nxt}'>next</a></p>"))
    for title, text in arts[:2]:  # the same article with the mirror's header and footer
        pages.append(
            (
                f"http://mirror.net/{_slug(title)}",
                title,
                f"<p>{HEADER}</p><p>{text}</p><p>{FOOTER}</p><a href='http://ex.org/'>up</a>",
            )
        )
    for title, text in arts[2:4]:  # a few words edited
        pages.append((f"http://mirror.net/{_slug(title)}", title, f"<p>{_edit(text)}</p>"))
    return _crawl(tmp_path / name, pages), arts


def _urls(web) -> list[str]:
    con = sqlite3.connect(web / "graph.sqlite")
    try:
        return [u for (u,) in con.execute("SELECT url FROM pages ORDER BY id")]
    finally:
        con.close()


def test_detector_on_real_text():
    arts = _articles()
    nd, again = NearDup(), NearDup()
    assert [nd.seen(t) for _, t in arts] == [False] * len(arts)  # different pages of one topic: all kept
    copies = [f"{HEADER} {arts[0][1]} {FOOTER}", _edit(arts[1][1]), " ".join(arts[2][1].split()[:-10])]
    assert [nd.seen(t) for t in copies] == [True, True, True]
    # deterministic: a second detector (same seed) decides the same; the signature is the same
    assert [again.seen(t) for _, t in arts] == [False] * len(arts)
    assert (nd.signature(copies[0]) == again.signature(copies[0])).all()
    # the copies are close in the measured sense: shingle Jaccard well above the threshold
    a, b = shingles(arts[1][1]), shingles(copies[1])
    assert len(a & b) / len(a | b) > 0.7
    assert shingles("Short text.") == {b"short text"}


def test_pages_sharing_boilerplate_are_kept_below_the_threshold():
    """Stubs of one sentence plus the same 25-word licence footer (as in a Kiwix ZIM) have a shingle Jaccard of
    ~0.2-0.5 with each other: an LSH band shared by chance must not drop them (the signature check); only a stub
    whose true Jaccard with a kept one is near the threshold may be dropped."""
    footer = (
        "This article is issued from Wikipedia. The text is licensed under Creative Commons - Attribution - "
        "Sharealike. Additional terms may apply for the media files."
    )
    stubs = [" ".join(text.split()[:25]) + " " + footer for _, text in _articles(40)]
    nd, kept, dropped = NearDup(), [], []
    for stub in stubs:
        sh = shingles(stub)
        best = max((len(sh & k) / len(sh | k) for k in kept), default=0.0)
        if nd.seen(stub):
            dropped.append(round(best, 2))
        else:
            kept.append(sh)
    assert len(kept) >= 35
    assert all(j >= 0.4 for j in dropped), dropped


def test_build_drops_near_duplicates_only_when_asked(tmp_path, capsys):
    crawl, _ = _near_crawl(tmp_path)
    exact = build_web(crawl, tmp_path / "exact", progress=False)
    near = build_web(crawl, tmp_path / "near", progress=False, dedup="near")
    assert exact["import"]["imported"] == 12 and NEAR_DUPLICATE not in exact["import"]["skipped_by_reason"]
    assert near["import"]["imported"] == 8
    assert near["import"]["skipped_by_reason"][NEAR_DUPLICATE] == 4
    assert near["options"]["dedup"] == "near" and "dedup" not in exact["options"]
    assert near["import"]["near_dedup"]["threshold"] == 0.5
    assert all("mirror.net" not in u for u in _urls(tmp_path / "near"))
    assert sum("mirror.net" in u for u in _urls(tmp_path / "exact")) == 4
    # the dropped copies' links went with them: no link out of mirror.net (exact keeps 2: the "up" links)
    assert near["degree_stats"]["links"] == 8
    # web stats reports the near-duplicates apart
    assert main(["web", "stats", "--web", str(tmp_path / "near"), "--json", "--no-components"]) == 0
    d = json.loads(capsys.readouterr().out)["duplicate_rate"]
    assert d["near_duplicates"] == 4 and d["near_rate"] == round(4 / 12, 4) and d["rate"] == round(4 / 12, 4)
    assert main(["web", "stats", "--web", str(tmp_path / "near"), "--no-components"]) == 0
    assert "near-duplicates dropped 4 (33.3%" in capsys.readouterr().out
    assert main(["web", "stats", "--web", str(tmp_path / "exact"), "--json", "--no-components"]) == 0
    assert "near_duplicates" not in json.loads(capsys.readouterr().out)["duplicate_rate"]
    # the option is part of the build's fingerprint: the exact web is not silently re-deduplicated
    with pytest.raises(Exception, match="other options"):
        build_web(crawl, tmp_path / "exact", progress=False, dedup="near")


def test_same_pages_with_one_and_two_workers(tmp_path):
    crawl, _ = _near_crawl(tmp_path)
    one = build_web(crawl, tmp_path / "w1", progress=False, dedup="near")
    two = build_web(crawl, tmp_path / "w2", progress=False, dedup="near", workers=2, parts=3)
    assert two["import"]["parallel"]["parts"] == 3
    assert one["import"]["imported"] == two["import"]["imported"] == 8
    assert dump(tmp_path / "w1") == dump(tmp_path / "w2")


def test_workers_compute_the_band_keys(tmp_path, monkeypatch):
    """With 2 workers the MinHash runs in the workers (written with each page); the parent only checks it, so it
    never makes a signature."""
    crawl, _ = _near_crawl(tmp_path)
    calls = {"n": 0}
    signature = NearDup.signature

    def counted(self, text):
        calls["n"] += 1
        return signature(self, text)

    monkeypatch.setattr(NearDup, "signature", counted)
    info = build_web(crawl, tmp_path / "w2", progress=False, dedup="near", workers=2)
    assert info["import"]["skipped_by_reason"][NEAR_DUPLICATE] == 4 and calls["n"] == 0
    build_web(crawl, tmp_path / "w1", progress=False, dedup="near")
    assert calls["n"] == 12  # one worker: every page read is signed here


def test_interrupted_build_resumes_without_duplicates(tmp_path, monkeypatch):
    crawl, _ = _near_crawl(tmp_path)
    build_web(crawl, tmp_path / "ref", progress=False, dedup="near")
    seen = NearDup.seen
    calls = {"n": 0}

    def boom(self, text, signature=None):
        calls["n"] += 1
        if calls["n"] == 10:  # after 9 pages stored, 1 of them a near-duplicate check that dropped nothing yet
            raise KeyboardInterrupt
        return seen(self, text, signature)

    monkeypatch.setattr(NearDup, "seen", boom)
    with pytest.raises(KeyboardInterrupt):
        build_web(crawl, tmp_path / "web", progress=False, dedup="near", workers=2)
    monkeypatch.undo()
    info = build_web(crawl, tmp_path / "web", progress=False, dedup="near", workers=2)
    assert info["import"]["skipped_by_reason"][NEAR_DUPLICATE] == 4
    assert dump(tmp_path / "web") == dump(tmp_path / "ref")


def test_add_checks_against_the_web_and_resumes(tmp_path, monkeypatch):
    arts = _articles(10)
    base = _crawl(tmp_path / "base.warc.gz", [(f"http://ex.org/{_slug(t)}", t, f"<p>{x}</p>") for t, x in arts[:6]])
    delta_pages = [
        (f"http://mirror.net/{_slug(t)}", t, f"<p>{HEADER}</p><p>{x}</p><p>{FOOTER}</p>") for t, x in arts[:3]
    ]  # copies of pages already in the web
    delta_pages += [(f"http://ex.org/{_slug(t)}", t, f"<p>{x}</p>") for t, x in arts[6:]]  # new pages
    delta = _crawl(tmp_path / "delta.warc.gz", delta_pages)
    ref, web = tmp_path / "ref", tmp_path / "web"
    for d in (ref, web):
        build_web(base, d, progress=False, dedup="near")
    res = add_to_web(ref, delta, progress=False)  # near, as the web was built
    assert res["import"]["imported"] == 4 and res["import"]["skipped_by_reason"][NEAR_DUPLICATE] == 3
    exact_add = tmp_path / "exact-add"
    build_web(base, exact_add, progress=False, dedup="near")
    assert add_to_web(exact_add, delta, progress=False, dedup="exact")["import"]["imported"] == 7

    seen = NearDup.seen
    calls = {"n": 0}

    def boom(self, text, signature=None):
        calls["n"] += 1
        if calls["n"] == 6:  # three copies checked and dropped, two new pages stored
            raise KeyboardInterrupt
        return seen(self, text, signature)

    monkeypatch.setattr(NearDup, "seen", boom)
    with pytest.raises(KeyboardInterrupt):
        add_to_web(web, delta, progress=False)
    monkeypatch.undo()
    add_to_web(web, delta, progress=False)  # rolled back, the LSH state rebuilt from the stored pages
    assert dump(web) == dump(ref)
    assert len(_urls(web)) == 10 and all("mirror.net" not in u for u in _urls(web))


def test_table_widens_to_64_bit_codes(monkeypatch):
    """Past 2**32 codes (~171M pages at 25 bands) the table switches to uint64 slots: here from page 1,000 on."""
    from openseeker.web import neardup

    monkeypatch.setattr(neardup, "_WIDEN_AT", 1000 * 25)
    texts = _generated_texts(1500, seed=9)
    table, ref = NearDup(), NearDup(store="dict")
    assert [table.seen(t) for t in texts] == [ref.seen(t) for t in texts]
    assert table._index.slots.dtype.name == "uint64" and table._index.count == len(ref._index._first)


def test_unknown_mode_is_a_clear_error(tmp_path):
    crawl, _ = _near_crawl(tmp_path)
    with pytest.raises(Exception, match="--dedup must be one of exact, near"):
        build_web(crawl, tmp_path / "w", progress=False, dedup="fuzzy")


def _generated_texts(n: int, seed: int = 7) -> list[str]:
    """Zipf-distributed words from a small vocabulary (chance band collisions), each third text a copy of an
    earlier one with 0-15 % of its words replaced (Jaccard around the threshold on both sides), some texts shorter
    than a shingle (one shingle: equal or disjoint)."""
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(3000)]
    weights = [1 / (i + 1) for i in range(len(vocab))]
    texts: list[str] = []
    for i in range(n):
        if i % 3 == 2 and texts:
            words = rng.choice(texts).split()
            share = rng.uniform(0.0, 0.15)
            texts.append(" ".join(rng.choice(vocab) if rng.random() < share else w for w in words))
        elif i % 50 == 0:
            texts.append(" ".join(rng.choices(vocab[:20], k=rng.randint(1, 4))))
        else:
            texts.append(" ".join(rng.choices(vocab, weights, k=rng.randint(20, 120))))
    return texts


def test_compact_table_decides_as_the_dict():
    """The compact band table (keys recomputed from the kept signatures, grown twice here from its first 65,536
    slots) gives the same keep/drop decisions as the plain dict from band key to the first kept page."""
    texts = _generated_texts(4000)
    table, ref = NearDup(), NearDup(store="dict")
    sigs = [table.signature(t) for t in texts]
    got = [table.seen(t, s) for t, s in zip(texts, sigs)]
    want = [ref.seen(t, s) for t, s in zip(texts, sigs)]
    assert got == want
    assert 500 < sum(got) < 900 and table.size == ref.size == len(texts) - sum(got)
    assert table._index.bits >= 18  # the table grew (re-placing every code) during the run
    assert table._index.count == len(ref._index._first)  # one code per distinct band key
    # a detector rebuilt from the kept texts (resume/add) decides the rest of a stream as the original does
    rebuilt, again = NearDup(), NearDup(store="dict")
    kept = [t for t, dropped in zip(texts, got) if not dropped]
    assert rebuilt.add_all(kept) == again.add_all(kept) == len(kept)
    more = _generated_texts(600, seed=8) + [_edit(t, every=8) for t in kept[:200]]
    assert [rebuilt.seen(t) for t in more] == [again.seen(t) for t in more]


ZH_PAGES = [
    "长城是中国古代的军事防御工程，修筑历史可上溯到西周时期。秦灭六国统一天下后，秦始皇连接和修缮战国长城，始有万里长城之称。"
    "明朝是最后一个大规模修筑长城的朝代，今天人们所看到的长城多是此时修筑。",
    "故宫又名紫禁城，是中国明清两代的皇家宫殿，位于北京中轴线的中心。故宫以三大殿为中心，占地面积约七十二万平方米，"
    "建筑面积约十五万平方米，有大小宫殿七十多座，房屋九千余间。",
    "黄河是中国第二长河，发源于青藏高原巴颜喀拉山北麓，呈几字形流经九个省区，最后于山东省东营市垦利区注入渤海。"
    "黄河流域是中华文明的发祥地之一。",
]


def test_chinese_copies_are_caught_and_different_pages_kept():
    # Chinese has no spaces: shingles are 5-grams of characters (openseeker.text.words), not of whole sentences
    nd = NearDup()
    assert [nd.seen(t) for t in ZH_PAGES] == [False, False, False]
    mirror = "首页 | 百科 | 登录\n" + ZH_PAGES[0] + "\n版权所有 © 2024 镜像站"
    edited = ZH_PAGES[1].replace("七十多座", "七十余座").replace("九千余间", "近九千间")
    assert nd.seen(mirror) and nd.seen(edited)
    assert not nd.seen("长城是世界文化遗产，一九八七年被列入世界遗产名录，每年吸引大量游客前来参观游览。")
