"""The ``openseeker`` command: one sub-command group per pipeline stage.

Each stage owns ``openseeker/<stage>/cli.py`` with a module-level ``app`` (see ``STAGES``); this module only wires
them together and
turns our errors into one-line messages (exit 2) instead of tracebacks.
"""

from __future__ import annotations

import logging
import os
import sys

import typer
from rich.console import Console
from rich.markup import escape

from openseeker.errors import OpenSeekerError, UserError
from openseeker.registry import import_target

# The one way to add commands: a CLI module defines a module-level ``typer.Typer`` with ``@app.command``
# functions. A group names itself (``typer.Typer(name="web", ...)``); a Typer without a name adds root-level
# commands (``serve``, ``view``, ...); a stage's second module is mounted into its group by the group's module
# (``synth traj``, ``eval freeze``). Listed here as lazy ``"module:attr"`` targets, in ``--help`` order.
STAGES = (
    "openseeker.web.cli:app",
    "openseeker.llm.cli:app",
    "openseeker.agent.cli:app",
    "openseeker.synth.cli:app",
    "openseeker.train.cli:export_app",
    "openseeker.train.cli:train_app",
    "openseeker.eval.cli:app",
    "openseeker.serve.cli:app",
    "openseeker.view.cli:app",
    "openseeker.cli.demo:app",
    "openseeker.cli.env:app",
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

    for target in STAGES:
        app.add_typer(import_target(target))
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
        err_console.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)  # "pip install 'x[extra]'"
        return 2
    except OpenSeekerError as exc:
        err_console.print(f"[red]failed:[/] {escape(str(exc))}", highlight=False)
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
