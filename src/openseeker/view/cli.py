"""``openseeker view PATH...``: serve the viewer on 127.0.0.1 (prints the URL) or ``--export DIR`` a static site."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from openseeker.view.data import Catalog
from openseeker.view.export import export_site
from openseeker.view.server import ViewServer

log = logging.getLogger(__name__)


VIEW_EPILOG = """Examples:

  openseeker view runs/demo                         # everything the demo wrote; open the printed URL

  openseeker view runs/demo/qa.jsonl runs/other/eval --port 0

  openseeker view runs/demo --export site/          # static site: open site/index.html from disk, no server
"""


app = typer.Typer()  # root-level commands (openseeker.cli.main mounts it without a name)


@app.command("view", epilog=VIEW_EPILOG)
def view(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Run folders (runs/demo), QA / rejected / trajectory / SFT messages files, or eval run folders."
        ),
    ],
    port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1 (0: any free port).")] = 8765,
    host: Annotated[str, typer.Option("--host", help="Loopback only: 127.0.0.1, localhost or ::1.")] = "127.0.0.1",
    export: Annotated[
        Path | None,
        typer.Option(
            "--export", help="Write a static site into this folder instead of serving (opens from disk, no server)."
        ),
    ] = None,
    web: Annotated[
        Path | None,
        typer.Option(
            "--web", help="Local web directory for the text of cited pages (default: a web/ folder found under PATHS)."
        ),
    ] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Progress bars.")] = True,
) -> None:
    """Look at pipeline outputs in a local web page: QA samples, rejections and yield, trajectories, SFT
    data and evaluation runs."""
    import time

    from rich.console import Console

    console = Console(stderr=True)
    t0 = time.perf_counter()
    catalog = Catalog.open(list(paths), web=web)
    counts = catalog.warm(background=export is None)
    for name, n in counts.items():
        console.print(f"  {name:48s} {n:>8,d} records", highlight=False)
    for s in catalog.found.skipped:
        console.print(f"  [dim]skipped {s}[/]", highlight=False)
    console.print(f"[dim]line offsets indexed in {time.perf_counter() - t0:.1f}s[/]")
    if export is not None:
        out = export_site(catalog, export, progress=progress)
        typer.echo(f"static site written: open {Path(out['index']).resolve().as_uri()}")
        return

    server = ViewServer(catalog, host=host, port=port)
    typer.echo(f"openseeker view: {server.url}  (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        typer.echo("stopped")
    finally:
        server.close()
