"""``web add``: add a corpus (a new WARC, a dump delta, more HTML) to a complete web without rebuilding it.

What happens:

* the new source is imported (in parallel with ``workers``) after the web's last page: new pages get the next
  ids, pages whose url is already in the web are skipped (``duplicate url``: an add never replaces a page);
  its hyperlinks are resolved against the whole web (new -> old and new -> new);
* old -> new links: only when the web was built with ``keep_unresolved`` (``web build --keep-unresolved``):
  then the links that had no target are kept and resolved again now. Without it, old pages do not link to the
  added ones (their unresolved links were dropped at build time);
* degrees are recomputed (SQL, all pages); the new pages are added to the search index (``SearchIndex.add``:
  by url, so never twice); ``web.json`` lists every added source.

Resume: the add is recorded in the graph's ``meta`` (``pending_add``: the source's fingerprint, the last page
id and staged-link row before it). Re-running the same ``web add`` after a kill first removes what the
interrupted run stored (pages after that id, their links and staged links) and imports again: the import is
deterministic, so pages get the same ids and no page or link is duplicated. Adding the same source twice is a
no-op ("already added").
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from openseeker.errors import UserError
from openseeker.outlock import hold_output
from openseeker.web.build import GRAPH_FILE, INDEX_DIR, INFO_FILE, _progress, import_source, write_info
from openseeker.web.importers import get_importer
from openseeker.web.neardup import NearDup, check_mode
from openseeker.web.parallel import PARTS_DIR
from openseeker.web.search.index import SearchIndex
from openseeker.web.store import WebGraph

log = logging.getLogger(__name__)


def _rollback(graph: WebGraph, pending: dict[str, Any]) -> None:
    """Remove what an interrupted add stored (pages after ``max_id``, their out-links and staged links)."""
    graph.execute("BEGIN")
    graph.execute("DELETE FROM links WHERE src_id > ?", (pending["max_id"],))
    graph.execute("DELETE FROM pages WHERE id > ?", (pending["max_id"],))
    graph.execute("COMMIT")
    graph.drop_staged_after(pending["max_raw"])


def _pages_after(graph: WebGraph, last: int, batch: int = 2_000):
    """``(url, title, text, docid)`` of the pages with id > ``last``, in id order (keyset pagination)."""
    while True:
        rows = graph.execute(
            "SELECT id, url, title, text, json_extract(metadata, '$.docid') FROM pages "
            "WHERE id > ? ORDER BY id LIMIT ?",
            (last, batch),
        ).fetchall()
        if not rows:
            return
        for _id, url, title, text, docid in rows:
            yield url, title, text, docid or ""
        last = rows[-1][0]


def _near_index(graph: WebGraph, dedup: str | None, meta: dict[str, Any]) -> Any:
    """``--dedup near``: an LSH index of the pages already in the web (built again from the stored pages on
    every add, so a resumed add, after its rollback, sees exactly the pages before it); ``None`` for exact."""

    if check_mode(dedup or (meta.get("options") or {}).get("dedup") or "exact") != "near":
        return None
    near = NearDup()
    n = near.add_all(text for _url, _title, text, _docid in _pages_after(graph, 0))
    log.info("near-duplicate index of the web's %d pages built", n)
    return near


def add_to_web(
    web: str | Path,
    source: str | Path,
    *,
    skip_bad: bool = False,
    progress: bool = True,
    workers: int = 1,
    parts: int | None = None,
    executor: str = "local",
    ray_address: str | None = None,
    dedup: str | None = None,
) -> dict[str, Any]:
    """Add SOURCE's pages to the complete web in directory WEB; returns what was added (also in ``web.json``).
    ``dedup``: ``exact`` or ``near`` (``web build --dedup``); ``None`` = as the web was built."""
    with hold_output(Path(web), what=f"the web {web}"):
        out = Path(web)
        if not (out / GRAPH_FILE).exists() or not (out / INFO_FILE).exists():
            raise UserError(f"{out}: not a web directory (build one with `openseeker web build`)")
        importer = get_importer(source, skip_bad=skip_bad)
        fp = importer.fingerprint()
        t0 = time.perf_counter()
        with WebGraph(out / GRAPH_FILE) as graph, _progress(progress) as prog:
            meta = graph.meta()
            added = list(meta.get("added", []))
            if meta.get("corpus_fingerprint") == fp or any(a["fingerprint"] == fp for a in added):
                log.info("%s: %s is already in this web", out, source)
                return {"source": str(source), "up_to_date": True}
            pending = meta.get("pending_add")
            if pending and pending["fingerprint"] != fp:
                raise UserError(f"{out}: an earlier `web add` of {pending['source']} was interrupted; re-run it first")
            if meta.get("status") != "complete" and not pending:
                raise UserError(
                    f"{out}: the web is not complete (status {meta.get('status')}); finish `web build` first"
                )
            if pending:
                log.info("%s: resuming the interrupted add of %s", out, source)
                _rollback(graph, pending)
            else:
                max_id = graph.execute("SELECT coalesce(max(id), 0) FROM pages").fetchone()[0]
                max_raw = graph.staged_links()
                pending = {"fingerprint": fp, "source": str(source), "max_id": max_id, "max_raw": max_raw}
                graph.set_meta("pending_add", pending)
            graph.set_meta("status", "adding")

            def known(url: str) -> bool:
                return graph.get_id(url) is not None

            stats = import_source(
                graph,
                importer,
                out=out,
                fingerprint=f"add-{fp}",
                prog=prog,
                workers=workers,
                parts=parts,
                executor=executor,
                ray_address=ray_address,
                progress=progress,
                known=known,
                near=_near_index(graph, dedup, meta),
            )
            links = graph.resolve_links(bool(meta.get("keep_unresolved")))
            graph.compute_degrees()

            index = SearchIndex.open(out / INDEX_DIR)
            indexed = index.add(_pages_after(graph, pending["max_id"]))
            entry = {
                "source": str(source),
                "format": importer.name,
                "fingerprint": fp,
                "import": stats,
                "links": links,
                "indexed": indexed,
                "seconds": round(time.perf_counter() - t0, 2),
                "added_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            added.append(entry)
            graph.set_meta("added", added)
            graph.execute("DELETE FROM meta WHERE key = 'pending_add'")
            graph.set_meta("status", "complete")
            info = json.loads((out / INFO_FILE).read_text(encoding="utf-8"))
            info["added"] = added
            info["degree_stats"] = graph.degree_stats()
            info["index"]["docs"] = len(index)
            graph.checkpoint()
        write_info(out, info)
        shutil.rmtree(out / PARTS_DIR, ignore_errors=True)
        return {**entry, "up_to_date": False}
