"""The ``openseeker`` command: one sub-command group per pipeline stage.

Each stage owns ``openseeker/<stage>/cli.py`` with ``register(app)``; this module only wires them together and
turns our errors into one-line messages (exit 2) instead of tracebacks.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys

import typer
from rich.console import Console

from openseeker.errors import OpenSeekerError, UserError

STAGES = (
    "openseeker.web.cli",
    "openseeker.llm.cli",
    "openseeker.agent.cli",
    "openseeker.synth.cli",
    "openseeker.train.cli",
    "openseeker.eval.cli",
    "openseeker.serve.cli",
    "openseeker.view.cli",
    "openseeker.cli.demo",
    "openseeker.cli.env",
)

err_console = Console(stderr=True, soft_wrap=True)  # one-line errors stay one line


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="openseeker",
        help="Open, end-to-end deep-search agents: web graph -> QA synthesis -> trajectories -> SFT -> evaluation.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )

    @app.callback()
    def _root(
        verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="Warnings and errors only."),
    ) -> None:
        level = logging.DEBUG if verbose else (logging.WARNING if quiet else logging.INFO)
        from rich.logging import RichHandler

        logging.basicConfig(
            level=level, format="%(message)s", handlers=[RichHandler(console=err_console, show_path=False)], force=True
        )
        for noisy in ("httpx", "httpcore", "httpx2", "httpcore2", "openai", "urllib3", "trafilatura", "htmldate", "filelock"):
            logging.getLogger(noisy).setLevel(logging.WARNING)

    for module_name in STAGES:
        module = importlib.import_module(module_name)
        module.register(app)
    return app


def main(argv: list[str] | None = None) -> int:
    """Entry point. Returns the exit code (0 ok, 1 run failure, 2 user error, 130 interrupted)."""
    app = build_app()
    try:
        app(args=argv if argv is not None else sys.argv[1:], standalone_mode=False)
    except SystemExit as exc:  # typer/click --help and explicit exits
        return int(exc.code or 0)
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]: everything written so far is kept; re-run the same command to resume.")
        return 130
    except UserError as exc:
        err_console.print(f"[red]error:[/] {exc}", highlight=False)
        return 2
    except OpenSeekerError as exc:
        err_console.print(f"[red]failed:[/] {exc}", highlight=False)
        return 1
    except Exception as exc:  # click usage errors and the like
        import click

        if isinstance(exc, click.exceptions.Abort):
            err_console.print("[yellow]aborted[/]")
            return 130
        if isinstance(exc, click.ClickException):
            exc.show()
            return exc.exit_code
        if os.environ.get("OPENSEEKER_DEBUG"):
            raise
        err_console.print(f"[red]internal error:[/] {type(exc).__name__}: {exc} (set OPENSEEKER_DEBUG=1 for a traceback)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
