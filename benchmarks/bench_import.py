"""Import benchmark: throughput of every importer per worker, the choices behind them, and 1 -> 2 workers.

Measured side by side in one run (CPU seconds of this process, so that the figures hold on a loaded machine;
the scaling section is wall-clock, with the load average printed next to it):

- ``extract``: main text of the Kiwix sample's 129 Wikipedia HTML pages: trafilatura (the HTML-folder/ZIM
  importers' extractor) vs the WARC importer's resiliparse + lxml-links + language pipeline;
- ``mediawiki``: the fast regex renderer vs mwparserfromhell on the enwiki sample (bz2 and plain XML), and the
  share of bz2 decompression;
- ``importers``: pages/s and input MB/s per worker of every importer (records iterated, nothing stored);
- ``scaling``: ``build_web`` with 1 and 2 workers (parse phase and whole import) on a synthetic crawl;
- ``neardup``: ``--dedup near`` (openseeker.web.neardup): precision/recall of the detector on real pages and
  reworded copies of them (a grid of shingle sizes and thresholds), its cost (import pages/s with and without,
  the detector alone in pages per CPU-second) and the LSH memory per page;
- ``neardup_memory``: the near-dup detector's state per kept page (RSS, tracemalloc) and check speed at 100k and
  1M synthetic pages, its compact band table against a plain dict, with the projection to 10M pages.

Usage:
    python benchmarks/bench_import.py                      # everything (needs ../shared/data), ~3-5 min
    python benchmarks/bench_import.py --only extract,mediawiki --out /tmp/x.json
    python benchmarks/bench_import.py --only neardup --out benchmarks/results/import_neardup.json   # ~2 min
    python benchmarks/bench_import.py --only neardup_memory --out benchmarks/results/import_neardup_memory.json
"""

from __future__ import annotations

import argparse
import bz2
import io
import json
import os
import platform
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("OPENSEEKER_SHARED", ROOT.parent / "shared")) / "data" / "corpora"
ZIM = SHARED / "kiwix-raycharles" / "zimfile.zim"
ENWIKI = SHARED / "enwiki-sample" / "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"


def cpu(fn, *args):
    t = time.process_time()
    out = fn(*args)
    return time.process_time() - t, out


def zim_html() -> list[tuple[str, bytes]]:
    from libzim.reader import Archive

    a = Archive(str(ZIM))
    out = []
    for i in range(a.all_entry_count):
        e = a._get_entry_by_id(i)
        if not e.is_redirect and e.get_item().mimetype.startswith("text/html"):
            out.append((e.path.split("/")[-1], bytes(e.get_item().content)))
    return out


def write_warc(path: Path, html: list[tuple[str, bytes]], copies: int) -> int:
    """``copies`` distinct pages per Kiwix page (a marker paragraph keeps the text dedup from dropping them)."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    n = 0
    with path.open("wb") as fh:
        w = WARCWriter(fh, gzip=True)
        for c in range(copies):
            for name, body in html:
                body = body.replace(b"<body", f"<p>copy {c} of {name}</p><body".encode(), 1)
                hd = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
                url = f"https://site{c}.example.org/wiki/{name}"
                w.write_record(w.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=hd))
                n += 1
    return n


def bench_extract(html) -> dict:
    from openseeker.web.importers import _html
    from openseeker.web.importers.warc import html_page

    docs = [(f"https://en.wikipedia.org/wiki/{n}", b.decode("utf-8", "replace")) for n, b in html]
    mb = sum(len(b) for _, b in html) / 1e6
    t_traf, _ = cpu(lambda: [(_html.text_of(h, _html.parse(h)), _html.hrefs_of(_html.parse(h))) for _, h in docs])
    t_res, pages = cpu(lambda: [html_page(u, h) for u, h in docs])
    return {
        "pages": len(docs),
        "mb": round(mb, 2),
        "trafilatura_pages_per_cpu_s": round(len(docs) / t_traf, 1),
        "resiliparse_pages_per_cpu_s": round(len(docs) / t_res, 1),
        "speedup": round(t_traf / t_res, 2),
        "resiliparse_mean_chars": int(sum(len(p.text) for p, _ in pages if p) / len(pages)),
    }


def bench_mediawiki(tmp: Path) -> dict:
    from openseeker.web.importers.mediawiki import MediaWikiImporter

    plain = tmp / "enwiki.xml"
    plain.write_bytes(bz2.decompress(ENWIKI.read_bytes()))
    out = {"compressed_mb": round(ENWIKI.stat().st_size / 1e6, 2), "xml_mb": round(plain.stat().st_size / 1e6, 2)}
    t_bz2, _ = cpu(lambda: bz2.decompress(ENWIKI.read_bytes()))
    out["bz2_decompress_cpu_s"] = round(t_bz2, 3)
    for src, tag in ((ENWIKI, "bz2"), (plain, "xml")):
        for parser in ("fast", "mwparserfromhell"):
            imp = MediaWikiImporter(str(src), parser=parser)
            t, _ = cpu(lambda imp=imp: sum(1 for _ in imp))
            out[f"{tag}_{parser}_pages_per_cpu_s"] = round(imp.stats.pages / t, 1)
            out[f"{tag}_{parser}_xml_mb_per_cpu_s"] = round(out["xml_mb"] / t, 2)
            out[f"{tag}_{parser}_cpu_s"] = round(t, 3)
        out[f"{tag}_speedup"] = round(out[f"{tag}_mwparserfromhell_cpu_s"] / out[f"{tag}_fast_cpu_s"], 2)
    return out


def bench_importers(tmp: Path, html) -> dict:
    from openseeker.web.importers import get_importer

    site = tmp / "site"
    site.mkdir(exist_ok=True)
    for name, body in html:
        (site / f"{name}.html").write_bytes(body)
    rng = random.Random(7)
    words = [w for _, b in html[:20] for w in b.decode("utf-8", "replace").split() if w.isalpha()]
    jsonl = tmp / "synthetic.jsonl"
    with jsonl.open("w") as fh:
        for i in range(20_000):
            fh.write(
                json.dumps(
                    {
                        "title": f"Page {i}",
                        "text": " ".join(rng.choices(words, k=120)),
                        "links": [f"Page {rng.randrange(20_000)}" for _ in range(8)],
                    }
                )
                + "\n"
            )
    warc = tmp / "crawl.warc.gz"
    write_warc(warc, html, 3)
    sources = {"mediawiki (bz2)": ENWIKI, "warc": warc, "zim": ZIM, "html": site, "jsonl": jsonl}
    out = {}
    for name, src in sources.items():
        size = sum(f.stat().st_size for f in src.rglob("*")) if src.is_dir() else src.stat().st_size
        imp = get_importer(src)
        t, _ = cpu(lambda imp=imp: sum(1 for _ in imp))
        out[name] = {
            "pages": imp.stats.pages,
            "links": imp.stats.links,
            "input_mb": round(size / 1e6, 2),
            "pages_per_cpu_s": round(imp.stats.pages / t, 1),
            "mb_per_cpu_s": round(size / 1e6 / t, 2),
        }
    return out


def bench_scaling(tmp: Path, html, copies: int, files: int = 1) -> dict:
    """``build_web`` with 1 and 2 workers on a crawl of ``files`` WARC files (1: one file, records split
    round-robin; more: shards take whole files), wall clock and CPU side by side."""
    from openseeker.web.build import build_web

    if files == 1:
        warc = tmp / "scale.warc.gz"
        n = write_warc(warc, html, copies)
        size = warc.stat().st_size
    else:
        warc = tmp / f"scale-{files}-files"
        warc.mkdir(exist_ok=True)
        n = sum(write_warc(warc / f"part-{i}.warc.gz", html, max(1, copies // files)) for i in range(files))
        size = sum(f.stat().st_size for f in warc.iterdir())
    out = {"pages": n, "files": files, "input_mb": round(size / 1e6, 2)}
    from openseeker.web.importers import get_importer

    imp = get_importer(warc)
    out["sequential_parse_cpu_s"] = round(cpu(lambda: sum(1 for _ in imp))[0], 2)
    for workers in (1, 2):
        web = tmp / f"web{workers}"
        shutil.rmtree(web, ignore_errors=True)
        load = os.getloadavg()[0]
        c0 = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
        t = time.perf_counter()
        info = build_web(warc, web, progress=False, workers=workers)
        wall = time.perf_counter() - t
        child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - c0
        out[f"workers_{workers}"] = {
            "wall_s": round(wall, 2),
            "import_s": info["timings_s"]["import"],
            "parse_s": info["import"].get("parallel", {}).get("parse_s"),
            "worker_cpu_s": round(child, 2),
            "pages": info["import"]["imported"],
            "load_avg_1m_before": round(load, 2),
        }
        if workers > 1:
            out[f"workers_{workers}"]["part_cpu_s"] = info["import"]["parallel"]["part_cpu_s"]
    out["wall_import_speedup"] = round(out["workers_1"]["import_s"] / out["workers_2"]["import_s"], 2)
    if out["workers_2"]["parse_s"]:
        # the parse phase alone (the merge into one SQLite file is serial by design)
        out["wall_parse_speedup"] = round(out["sequential_parse_cpu_s"] / out["workers_2"]["parse_s"], 2)
    # what 2 idle cores would give: the sequential parse CPU over the slowest part's (the machine is shared,
    # so wall-clock here measures the other tenants as much as us)
    out["parse_cpu_critical_path_speedup"] = round(
        out["sequential_parse_cpu_s"] / max(out["workers_2"]["part_cpu_s"]), 2
    )
    return out


def write_multistream(path: Path, per_stream: int = 10) -> int:
    """The enwiki sample laid out like a ``pages-articles-multistream`` dump (header stream, then streams of
    ``per_stream`` pages)."""
    import re

    xml = bz2.decompress(ENWIKI.read_bytes()).decode()
    head, rest = xml.split("</siteinfo>", 1)
    pages = re.findall(r"<page>.*?</page>", rest, flags=re.DOTALL)
    streams = [bz2.compress((head + "</siteinfo>\n").encode())]
    streams += [bz2.compress("".join(pages[i : i + per_stream]).encode()) for i in range(0, len(pages), per_stream)]
    streams.append(bz2.compress(b"</mediawiki>\n"))
    path.write_bytes(b"".join(streams))
    return len(pages)


def parse_cpu_split(source: Path) -> dict:
    """Parse CPU of ``source``: one process vs each of 2 shards, and the critical-path speedup (sequential CPU
    over the slowest shard's)."""
    from openseeker.web.importers import get_importer

    imp = get_importer(source)
    seq, _ = cpu(lambda: sum(1 for _ in imp))
    parts = []
    for rank in range(2):
        shard = get_importer(source).shard(rank, 2)
        parts.append(round(cpu(lambda shard=shard: sum(1 for _ in shard))[0], 3))
    return {
        "sequential_parse_cpu_s": round(seq, 3),
        "part_cpu_s": parts,
        "parse_cpu_critical_path_speedup": round(seq / max(parts), 2),
    }


def bench_scaling_warc_files(tmp: Path, html, copies: int) -> dict:
    """Parse CPU of a crawl in 4 files: one process vs the slowest of 2 shards (shards take whole files)."""
    d = tmp / "crawl4"
    d.mkdir(exist_ok=True)
    n = sum(write_warc(d / f"part-{i}.warc.gz", html, max(1, copies // 4)) for i in range(4))
    return {"pages": n, "files": 4, **parse_cpu_split(d)}


def bench_scaling_mediawiki(tmp: Path) -> dict:
    """Parse CPU of the multistream enwiki sample: one process vs the slowest of 2 shards (byte ranges)."""
    src = tmp / "enwiki-multistream.xml.bz2"
    n = write_multistream(src)
    return {"pages_in_dump": n, "input_mb": round(src.stat().st_size / 1e6, 2), **parse_cpu_split(src)}


NEAR_HEADERS = (
    "Skip to main content Home News Sport Weather Contact us Subscribe Sign in",
    "Menu Search About Archive Tags RSS Login Register Share on Facebook Share on Twitter Email Print",
    "You are reading the mirror copy hosted by wikimirror net Please donate to keep this site online",
)
NEAR_FOOTERS = (
    "This page was last edited on 3 March 2021 Privacy policy About Disclaimers Contact Mobile view",
    "Copyright 2024 All rights reserved Terms of use Privacy Cookies Sitemap Back to top",
    "We use cookies to improve your experience By continuing you agree to our cookie policy Accept",
)


def near_dup_set(seed: int = 0) -> tuple[list[tuple[str, str]], list[tuple[str, int, str]]]:
    """Real pages (Kiwix sample, enwiki sample, MuSiQue paragraphs; >= 40 words) and, for about half of them, a
    reworded copy: ``headfoot`` (a mirror's header and footer), ``edit`` (one word in 50 replaced, deleted or
    inserted), ``both``, ``trunc`` (the first 85 %). Many originals share a topic (the Kiwix sample is all
    Ray Charles: albums, songs, people), the hard negatives."""
    from openseeker.web.importers import get_importer

    orig = []
    for src in (ZIM, ENWIKI):
        orig += [(p.title, p.text) for p in get_importer(str(src)) if hasattr(p, "text") and len(p.text.split()) >= 50]
    musique = json.loads((SHARED / "multihop-samples" / "data" / "musique_train_corpus.json").read_text())
    orig += [(d["title"], d["text"]) for d in musique[:400] if len(d["text"].split()) >= 40]
    rng = random.Random(seed)

    def edit(words: list[str]) -> list[str]:
        w = list(words)
        for _ in range(max(3, len(w) // 50)):
            i, op = rng.randrange(len(w)), rng.random()
            if op < 0.4:
                w[i] = rng.choice(["the", "a", "new", "old", "large", "early", "famous", "later"])
            elif op < 0.7:
                del w[i]
            else:
                w.insert(i, rng.choice(["also", "very", "then", "reportedly", "notably"]))
        return w

    variants = []
    for i, (_, text) in enumerate(orig):
        if rng.random() < 0.5:
            continue
        kind, words = rng.choice(["headfoot", "edit", "both", "trunc"]), text.split()
        if kind == "headfoot":
            v = f"{rng.choice(NEAR_HEADERS)} {text} {rng.choice(NEAR_FOOTERS)}"
        elif kind == "edit":
            v = " ".join(edit(words))
        elif kind == "both":
            v = f"{rng.choice(NEAR_HEADERS)} {' '.join(edit(words))} {rng.choice(NEAR_FOOTERS)}"
        else:
            v = " ".join(words[: int(len(words) * 0.85)])
        variants.append((kind, i, v))
    return orig, variants


def near_dup_quality(orig, variants, shingle: int, threshold: float) -> dict:
    """Originals first, then the copies, through one detector. A copy dropped is a true positive; an original
    dropped as a copy of an earlier original is a true positive when both have the same title (the same article
    in the ZIM and in the dump), else a false positive."""
    from openseeker.web.neardup import NearDup

    nd, titles, fp, same, fps = NearDup(threshold=threshold, shingle=shingle), set(), 0, 0, []
    for title, text in orig:
        if nd.seen(text):
            same, fp = (same + 1, fp) if title in titles else (same, fp + 1)
            fps += [] if title in titles else [title]
        titles.add(title)
    missed: dict[str, int] = {}
    tp = 0
    for kind, _, text in variants:
        if nd.seen(text):
            tp += 1
        else:
            missed[kind] = missed.get(kind, 0) + 1
    return {
        "precision": round((tp + same) / (tp + same + fp), 4) if tp + same + fp else 1.0,
        "recall": round(tp / len(variants), 4),
        "copies_dropped": tp,
        "same_article_across_sources": same,
        "false_positives": fp,
        "false_positive_titles": fps[:5],
        "missed_by_kind": missed,
    }


def bench_neardup(tmp: Path, html, copies: int) -> dict:
    """Quality (P/R grid on real text), cost (import with and without ``--dedup near``; the detector alone) and
    the LSH memory per page."""

    from openseeker.web.build import build_web
    from openseeker.web.neardup import SHINGLE, THRESHOLD, NearDup

    orig, variants = near_dup_set()
    out: dict = {
        "set": {
            "originals": len(orig),
            "copies": len(variants),
            "copies_by_kind": {k: sum(v[0] == k for v in variants) for k in ("headfoot", "edit", "both", "trunc")},
            "mean_words": round(sum(len(t.split()) for _, t in orig) / len(orig)),
        },
        "chosen": {"shingle_words": SHINGLE, "threshold": THRESHOLD},
        "quality": {},
    }
    for k in (3, 5, 7):
        for th in (0.4, 0.5, 0.6, 0.7):
            out["quality"][f"shingle{k}_threshold{th}"] = near_dup_quality(orig, variants, k, th)
    texts = [t for _, t in orig] + [t for *_, t in variants]
    nd, t = NearDup(), time.process_time()
    for text in texts:
        nd.seen(text)
    out["detector_pages_per_cpu_s"] = round(len(texts) / (time.process_time() - t))
    from html import escape

    real = [
        (
            f"page{i}",
            f"<html><head><title>{escape(t)}</title></head><body><article><p>{escape(x)}</p>"
            "</article></body></html>".encode(),
        )
        for i, (t, x) in enumerate(orig)
    ]
    # "mirrors": Kiwix pages x copies, the copies differ by one marker line (near-duplicates: most are dropped);
    # "distinct": the real pages above, once each (a few same-article pairs): both modes keep almost all
    for crawl, pages, n_copies in (("mirrors", html, copies), ("distinct", real, 1)):
        warc = tmp / f"neardup-{crawl}.warc.gz"
        n = write_warc(warc, pages, n_copies)
        res = out[f"crawl_{crawl}"] = {"pages": n}
        for mode, workers in (("exact", 1), ("near", 1), ("exact", 2), ("near", 2)):
            key = mode if workers == 1 else f"{mode}_2_workers"  # 2 workers: the band keys are made in them
            web = tmp / f"web-{crawl}-{key}"
            shutil.rmtree(web, ignore_errors=True)
            c0 = time.process_time()
            info = build_web(warc, web, progress=False, dedup=mode, workers=workers)
            cpu_s = time.process_time() - c0
            res[key] = {
                "import_s": info["timings_s"]["import"],
                "build_s": info["build_seconds"],
                "parent_cpu_s": round(cpu_s, 2),
                "pages_kept": info["import"]["imported"],
                "pages_read_per_s_import": round(n / info["timings_s"]["import"]),
            }
        res["near_over_exact_parent_cpu"] = round(res["near"]["parent_cpu_s"] / res["exact"]["parent_cpu_s"], 2)
        res["near_over_exact_import_wall"] = round(res["near"]["import_s"] / res["exact"]["import_s"], 2)
        res["near_over_exact_import_wall_2_workers"] = round(
            res["near_2_workers"]["import_s"] / res["exact_2_workers"]["import_s"], 2
        )
    out["state"] = bench_neardup_memory(tmp, sizes=(20_000,))  # --only neardup_memory: 100k and 1M pages
    return out


def _zipf_texts(n: int, seed: int = 0) -> list[str]:
    """``n`` cheap synthetic pages: 50-300 words drawn from a Zipf law over 50,000 words; each fourth page a copy
    of an earlier one with 0-15 % of its words replaced (about half of them near-duplicates at 0.5)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    texts: list[str] = []
    for i in range(n):
        if i % 4 == 3:
            words = texts[int(rng.integers(0, i))].split()
            swap = rng.random(len(words)) < rng.uniform(0, 0.15)
            texts.append(" ".join(f"x{rng.integers(50_000)}" if c else w for w, c in zip(words, swap)))
        else:
            ids = np.minimum(rng.zipf(1.3, int(rng.integers(50, 300))), 50_000)
            texts.append(" ".join(f"w{j}" for j in ids))
    return texts


def _random_signatures(n: int, seed: int = 0):
    """``n`` MinHash-like signatures without texts (uniform uint32 values, as MinHash minima are), each fourth a
    copy of an earlier one with 20-80 % of its values redrawn: the detector's input at 1M pages in seconds."""
    import numpy as np

    rng = np.random.default_rng(seed)
    sigs = rng.integers(0, 2**32, size=(n, 128), dtype=np.uint32)
    for i in range(3, n, 4):
        sigs[i] = np.where(rng.random(128) < rng.uniform(0.2, 0.8), sigs[i], sigs[rng.integers(0, i)])
    return sigs


def _rss(field: str = "VmRSS") -> int:
    """This process's resident bytes now (``VmHWM``: at its peak; unlike ``ru_maxrss`` it is not inherited from
    the process that spawned this one)."""
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) * 1024 for line in fh if line.startswith(field + ":"))


def _neardup_run(store: str, path: str, traced: bool) -> dict:
    """In a fresh process: one detector over the signatures saved at ``path`` (the parent's check, as with
    ``--workers``): CPU time, RSS growth (and peak: a table doubling holds both tables) or, ``traced``, the bytes
    tracemalloc counts."""
    import tracemalloc

    import numpy as np

    sys.path.insert(0, str(ROOT / "src"))
    from openseeker.web.neardup import NearDup

    sigs = np.load(path)
    nd = NearDup(store=store)
    r0, t = _rss(), time.process_time()
    if traced:
        tracemalloc.start()
    dropped = sum(nd.seen("", sig) for sig in sigs)
    res = {"pages": len(sigs), "kept": nd.size, "dropped": dropped}
    if traced:
        res["traced_bytes_per_kept_page"] = round(tracemalloc.get_traced_memory()[0] / nd.size)
        tracemalloc.stop()
        return res
    cpu_s = time.process_time() - t
    peak = _rss("VmHWM")
    res.update(
        {
            "check_pages_per_cpu_s": round(len(sigs) / cpu_s),
            "rss_bytes_per_kept_page": round((_rss() - r0) / nd.size),
            "peak_rss_growth_mb": round((peak - r0) / 2**20),
        }
    )
    return res


def bench_neardup_memory(tmp: Path, sizes=(100_000, 1_000_000)) -> dict:
    """The detector's state per kept page and its speed, the compact band table against the plain dict side by
    side in one run, each in a fresh process: 100k Zipf texts (real MinHash signatures, made once here, timed)
    and random signatures at each size; with the projection to 10M pages."""
    import multiprocessing

    import numpy as np

    from openseeker.web.neardup import NearDup

    texts = _zipf_texts(sizes[0])
    nd, t = NearDup(), time.process_time()
    sigs = np.stack([nd.signature(x) for x in texts])
    sig_s = (time.process_time() - t) / len(texts)
    inputs = {f"zipf_texts_{len(texts)}": sigs}
    inputs.update({f"random_signatures_{n}": _random_signatures(n) for n in sizes})
    out: dict = {
        "signature_pages_per_cpu_s": round(1 / sig_s),
        "mean_words": round(sum(len(x.split()) for x in texts) / len(texts)),
    }
    ctx = multiprocessing.get_context("spawn")
    for name, arr in inputs.items():
        path = tmp / f"{name}.npy"
        np.save(path, arr)
        res = out[name] = {}
        for store in ("dict", "table"):
            with ctx.Pool(1) as pool:
                res[store] = pool.apply(_neardup_run, (store, str(path), False))
                if arr is sigs:
                    res[store].update(pool.apply(_neardup_run, (store, str(path), True)))
                    res[store]["detector_pages_per_cpu_s"] = round(
                        1 / (sig_s + 1 / res[store]["check_pages_per_cpu_s"])
                    )
            print(name, store, res[store], flush=True)
        d, c = res["dict"], res["table"]
        assert d["dropped"] == c["dropped"], "the table and the dict decided differently"
        res["rss_dict_over_table"] = round(d["rss_bytes_per_kept_page"] / c["rss_bytes_per_kept_page"], 2)
        res["check_table_over_dict_speed"] = round(c["check_pages_per_cpu_s"] / d["check_pages_per_cpu_s"], 2)
        path.unlink()
    big = out[f"random_signatures_{max(sizes)}"]
    out["projection_10M_gb"] = {
        s: round(big[s]["rss_bytes_per_kept_page"] * 10_000_000 / 1e9, 1) for s in ("dict", "table")
    }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="extract,mediawiki,importers,scaling,scaling_mediawiki,scaling_warc_files")
    ap.add_argument("--copies", type=int, default=8, help="Kiwix pages x copies in the scaling crawl")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "import.json")
    args = ap.parse_args()
    if not ZIM.exists() or not ENWIKI.exists():
        sys.exit(f"needs the shared corpora under {SHARED}")
    sys.path.insert(0, str(ROOT / "src"))
    only = set(args.only.split(","))
    html = zim_html()
    res: dict = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_avg_1m": round(os.getloadavg()[0], 2),
        }
    }
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for name, fn in (
            ("extract", lambda: bench_extract(html)),
            ("mediawiki", lambda: bench_mediawiki(tmp)),
            ("importers", lambda: bench_importers(tmp, html)),
            ("scaling", lambda: bench_scaling(tmp, html, args.copies)),
            ("scaling_files", lambda: bench_scaling(tmp, html, args.copies, files=4)),
            ("scaling_mediawiki", lambda: bench_scaling_mediawiki(tmp)),
            ("scaling_warc_files", lambda: bench_scaling_warc_files(tmp, html, args.copies)),
            ("neardup", lambda: bench_neardup(tmp, html, args.copies)),
            ("neardup_memory", lambda: bench_neardup_memory(tmp)),
        ):
            if name in only:
                res[name] = fn()
                print(name, json.dumps(res[name], indent=1), flush=True)
    # sections not run this time keep their figures from the file (--only used to overwrite them); "measured"
    # says when and on what load each section was last run
    previous = json.loads(args.out.read_text()) if args.out.exists() else {}
    measured = {
        **previous.get("measured", {}),
        **{
            name: {**res["machine"], "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
            for name in res
            if name != "machine"
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({**previous, **res, "measured": measured}, indent=2))
    print("wrote", args.out)


if __name__ == "__main__":
    main()
