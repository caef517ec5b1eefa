"""``openseeker web ...``: build a local web, inspect it, search it, visit its pages.

Each command is a thin wrapper over a public function: ``build_web``, ``WebGraph.degree_stats``,
``Web.search``, ``Web.fetch`` + ``format_visit_raw`` (what ``VisitTool`` shows). ``search`` and ``visit`` take
``--web live`` with ``--web-config`` (or the ``live:`` section of ``--config``) like every other stage.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer

from openseeker.cli.options import ConfigOpt, ExecutorOpt, RayAddressOpt, WebConfigOpt
from openseeker.errors import ToolError, UserError
from openseeker.io import iter_jsonl
from openseeker.web.base import RETRIEVAL_HELP, ensure_retrieval, search_with
from openseeker.web.build import build_web
from openseeker.web.format import format_search, format_visit_raw
from openseeker.web.importers import formats_help
from openseeker.web.incremental import add_to_web
from openseeker.web.local import LocalWeb
from openseeker.web.open import open_web_from_flags
from openseeker.web.report import web_report
from openseeker.web.search.dense import embed_web

app = typer.Typer(
    name="web",
    help="The local web: build it from a corpus, then inspect, search and visit it.",
    no_args_is_help=True,
)

RetrievalOpt = Annotated[str | None, typer.Option("--retrieval", help=RETRIEVAL_HELP)]
WebDirOpt = Annotated[Path, typer.Option("--web", help="A web directory made by `openseeker web build`.")]
# search and visit also read the live web (to check a live config and its SSRF guard before a long run)
ReadWebOpt = Annotated[
    str,
    typer.Option(
        "--web",
        help="A web directory made by `openseeker web build`, or 'live' (with --web-config, see docs/live-web.md).",
    ),
]

BUILD_EPILOG = """Examples:

  openseeker web build --source wiki-offline --out webs/wiki

  openseeker web build --source wiki-offline:fr --out webs/wiki-fr

  openseeker web build --source corpus.jsonl --out webs/mine --skip-bad

  openseeker web build --source enwiki-pages-articles.xml.bz2 --out webs/enwiki --workers 2

  openseeker web build --source 'crawl/*.warc.gz' --out webs/crawl --workers 8 --skip-bad

  openseeker web build --source crawl/ --out webs/crawl --executor ray --ray-address auto --workers 64

  openseeker web build --source browsecomp_plus_corpus.parquet --out webs/bcp --no-derive-links
"""


@app.command("build", epilog=BUILD_EPILOG)
def build_cmd(
    source: Annotated[
        str,
        typer.Option(
            "--source",
            help=f"{formats_help()}; the format is detected (quote a glob).",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="The web directory to write.")],
    skip_bad: Annotated[bool, typer.Option("--skip-bad", help="Skip and count malformed records.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace a web of another corpus in --out.")] = False,
    derive_links: Annotated[
        bool | None,
        typer.Option(
            "--derive-links/--no-derive-links",
            help="Add links from title mentions (default: only when the source has no hyperlinks).",
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="Import only the first N pages.")] = None,
    keep_unresolved: Annotated[
        bool,
        typer.Option(
            "--keep-unresolved",
            help="Keep links whose target is not in the web, so that `web add` links old pages to added ones.",
        ),
    ] = False,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bars.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the build stats (web.json) as JSON.")] = False,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            help="Parse the source with N workers (the graph is the same as with 1; an interrupted run resumes).",
        ),
    ] = 1,
    parts: Annotated[
        int | None, typer.Option("--parts", min=1, help="Shards of the source (default: one per worker).")
    ] = None,
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = None,
    dedup: Annotated[
        str,
        typer.Option(
            "--dedup",
            help="exact: drop the same url (crawls: also the same text); "
            "near: also near-duplicate text (MinHash + LSH; pip install "
            "'openseeker[dedup]').",
        ),
    ] = "exact",
) -> None:
    """Import a corpus into a web graph and build its search index."""

    info = build_web(
        source,
        out,
        skip_bad=skip_bad,
        force=force,
        progress=not no_progress,
        derive_links=derive_links,
        limit=limit,
        workers=workers,
        parts=parts,
        executor=executor,
        ray_address=ray_address,
        keep_unresolved=keep_unresolved,
        dedup=dedup,
    )
    if as_json:
        typer.echo(json.dumps(info, indent=2, ensure_ascii=False))
        return
    if info.get("up_to_date"):
        typer.echo(
            f"{out} is up to date (built from {info['source']} at {info.get('built_at')}); use --force to rebuild."
        )
        return
    imp, deg = info["import"], info["degree_stats"]
    typer.echo(f"built {out} from {info['source']} ({info['format']}) in {info['build_seconds']:.1f}s")
    skipped = f" ({', '.join(f'{k}: {v}' for k, v in imp['skipped_by_reason'].items())})" if imp["skipped"] else ""
    typer.echo(f"  records read {imp['read']}, pages {imp['imported']}, skipped {imp['skipped']}{skipped}")
    if imp.get("parallel"):
        par = imp["parallel"]
        typer.echo(
            f"  parsed in {par['parts']} parts by {par['workers']} {par['executor']} workers in "
            f"{par.get('parse_s', 0):.1f}s"
        )
    _echo_degrees(deg)
    if info["index"].get("status") != "built":
        typer.echo(f"  search index: NOT built ({info['index'].get('reason', '')})")


def _echo_degrees(deg: dict) -> None:
    typer.echo(
        f"  pages {deg['pages']}, links {deg['links']}, out-degree mean {deg['mean_out_degree']:.2f} "
        f"median {deg['median_out_degree']:g} max {deg['max_out_degree']}, "
        f"pages with no out-links {deg['pages_no_out_links']}"
    )


@app.command("add")
def add_cmd(
    web: WebDirOpt,
    source: Annotated[str, typer.Option("--source", help="The corpus to add (any `web build` SOURCE).")],
    skip_bad: Annotated[bool, typer.Option("--skip-bad", help="Skip and count malformed records.")] = False,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Parse the source with N workers.")] = 1,
    parts: Annotated[int | None, typer.Option("--parts", min=1, help="Shards of the source.")] = None,
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = None,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bars.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print what was added as JSON.")] = False,
    dedup: Annotated[
        str | None,
        typer.Option(
            "--dedup",
            help="exact | near (default: as the web was built); near also drops pages close to a page of the web.",
        ),
    ] = None,
) -> None:
    """Add a corpus (a new WARC, a dump delta) to a built web without rebuilding it (docs/web.md)."""

    res = add_to_web(
        web,
        source,
        skip_bad=skip_bad,
        progress=not no_progress,
        workers=workers,
        parts=parts,
        executor=executor,
        ray_address=ray_address,
        dedup=dedup,
    )
    if as_json:
        typer.echo(json.dumps(res, indent=2, ensure_ascii=False))
    elif res["up_to_date"]:
        typer.echo(f"{source} is already in {web}")
    else:
        imp = res["import"]
        typer.echo(
            f"added {imp['imported']} pages from {source} to {web} in {res['seconds']:.1f}s "
            f"(skipped {imp['skipped']}); links added {res['links']['links_added']}, "
            f"unresolved {res['links']['unresolved']}"
        )


@app.command("stats")
def stats_cmd(
    web: WebDirOpt,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="Write the degree distribution (log-log CCDF of in- and out-degree) to this PNG."),
    ] = None,
    components: Annotated[
        bool,
        typer.Option(
            "--components/--no-components", help="Compute the largest connected component (reads every link)."
        ),
    ] = True,
) -> None:
    """Pages, languages, links, degrees, pages with out-links, largest component, duplicate rate."""

    if str(web) == "live":
        raise UserError(
            "web stats describes a local web graph; the live web has none (check a live config with "
            "`openseeker web search --web live --web-config FILE QUERY`)"
        )

    with LocalWeb.open(web) as lw:
        rep = web_report(lw.graph, lw.info, components=components, plot=plot)
        topics = lw.graph.topics()
        out = {
            "web": str(web),
            "source": lw.info.get("source") or lw.graph.get_meta("source"),
            **rep,
            "topics": topics,
        }
    if as_json:
        typer.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    deg = rep
    typer.echo(f"{web} (source: {out['source']})")
    _echo_degrees(deg)
    typer.echo(
        f"  pages with out-links {rep['fraction_with_out_links']:.1%}, with no in-links "
        f"{deg['pages_no_in_links']}, isolated {deg['isolated_pages']}, max in-degree {deg['max_in_degree']}"
    )
    typer.echo("  out-degree histogram: " + ", ".join(f"{k}: {v}" for k, v in deg["histogram"].items()))
    typer.echo("  languages: " + ", ".join(f"{k}: {v}" for k, v in rep["languages"].items()))
    if "components" in rep:
        c = rep["components"]
        typer.echo(
            f"  largest connected component {c['largest']} pages ({c['largest_fraction']:.1%}), "
            f"{c['components']} components"
        )
    d = rep["duplicate_rate"]
    typer.echo(
        f"  duplicates dropped at import {sum(d['duplicates'].values())} ({d['rate']:.1%})"
        + (f": {', '.join(f'{k} {v}' for k, v in d['duplicates'].items())}" if d["duplicates"] else "")
    )
    if "near_dedup" in d:
        nd = d["near_dedup"]
        typer.echo(
            f"  near-duplicates dropped {d['near_duplicates']} ({d['near_rate']:.1%}; MinHash-LSH over "
            f"{nd['shingle_words']}-word shingles, Jaccard >= {nd['threshold']})"
        )
    if len(topics) > 1:
        typer.echo("  topics: " + ", ".join(f"{k or '(none)'}: {v}" for k, v in list(topics.items())[:12]))
    if plot is not None:
        typer.echo(f"  degree plot: {rep['degree_plot']}")


@app.command("search")
def search_cmd(
    web: ReadWebOpt,
    query: Annotated[list[str] | None, typer.Argument(help="Query text (several words = one query).")] = None,
    queries: Annotated[
        Path | None, typer.Option("--queries", help="JSONL file with a `query` field per line (a batch).")
    ] = None,
    top_k: Annotated[int, typer.Option("--top-k", min=1, max=100, help="Results per query.")] = 10,
    retrieval: RetrievalOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON list of {url,title,score,snippet} per query, one per line.")
    ] = False,
    web_config: WebConfigOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Search the web (a local one or `live`): the agent's `search` tool block, or JSON."""

    qs: list[str] = []
    if query:
        qs.append(" ".join(query))
    if queries is not None:
        for lineno, obj in iter_jsonl(queries, required=("query",)):
            if not isinstance(obj["query"], str) or not obj["query"].strip():
                raise UserError(f"{queries}:{lineno}: 'query' must be a non-empty string")
            qs.append(obj["query"])
    if not qs or not any(q.strip() for q in qs):
        raise UserError("give a QUERY or --queries FILE")

    async def search(w):
        await ensure_retrieval(w, retrieval)
        return await search_with(w, qs, top_k, retrieval)

    results = _on_web(web, web_config, config, search)
    if as_json:
        for hits in results:
            typer.echo(
                json.dumps(
                    [
                        {
                            "url": h.url,
                            **({"docid": h.docid} if h.docid else {}),
                            "title": h.title,
                            "score": round(h.score, 4),
                            "snippet": h.snippet,
                        }
                        for h in hits
                    ],
                    ensure_ascii=False,
                )
            )
        return
    typer.echo(format_search(qs, results))


@app.command("visit")
def visit_cmd(
    web: ReadWebOpt,
    url: Annotated[str, typer.Argument(help="A page url (or a variant of it, or a page title).")],
    max_chars: Annotated[int, typer.Option("--max-chars", min=1, help="Truncate the page text.")] = 20_000,
    web_config: WebConfigOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Print a page the way the agent's `visit` tool shows it (without goal-conditioned extraction).

    On the live web the fetch goes through the SSRF guard: a refused address is an error naming the reason."""

    page = _on_web(web, web_config, config, lambda w: w.fetch(url))
    if page is None:
        raise UserError(f"{url}: no such page in {web}")
    typer.echo(format_visit_raw(page.url, page.title, page.text, max_chars))


def _on_web(web: str, web_config: Path | None, config: Path | None, call):
    """Open ``--web`` (a directory or ``live`` with its config), run one async ``call(web)``, close the web.

    A ``ToolError`` (a live backend failing, a refused address) becomes a one-line ``UserError``."""

    async def run():
        async with open_web_from_flags(web, web_config, config) as the_web:  # closed inside this event loop
            return await call(the_web)

    try:
        return asyncio.run(run())
    except ToolError as exc:
        raise UserError(f"{web}: {exc}") from None


@app.command(
    "embed",
    epilog="Examples:\n\n  openseeker web embed webs/wiki --default hybrid\n\n"
    "  openseeker web embed webs/mine --model /models/bge-small-en --batch-size 128\n",
)
def embed_cmd(
    web: Annotated[Path, typer.Argument(help="A web directory made by `openseeker web build`.")],
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="A sentence-transformers model directory (default: the packaged all-MiniLM-L6-v2, offline).",
        ),
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Documents per encoder batch.")] = 64,
    default: Annotated[
        str | None, typer.Option("--default", help="Make bm25 | dense | hybrid this web's default retrieval.")
    ] = None,
    query_encoder: Annotated[
        str,
        typer.Option(
            "--query-encoder",
            help="What encodes search queries: onnx-int8 (default: the model "
            "exported to ONNX here, once, with int8 weights: a fifth of torch's CPU time, recall "
            "within 0.5 point, docs/search.md), onnx (the same export in fp32: identical embeddings, "
            "a third of the CPU time) or torch (sentence-transformers).",
        ),
    ] = "onnx-int8",
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bar.")] = False,
) -> None:
    """Embed every page for dense and hybrid search (resumable: re-run to continue an interrupted run)."""

    meta = embed_web(
        web, model=model, batch_size=batch_size, default=default, progress=not no_progress, query_encoder=query_encoder
    )
    assert meta is not None
    typer.echo(
        f"embedded {meta['docs']} pages of {web} with {meta['model']} (dim {meta['dim']}, "
        f"{meta['index']}, {meta['embedded_this_run']} embedded this run, {meta['build_seconds']:.1f}s; "
        f"queries: {meta['query_encoder']})"
    )
