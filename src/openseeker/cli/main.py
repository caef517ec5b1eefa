"""The ``openseeker`` command: one sub-command group per pipeline stage.

Each stage owns ``openseeker/<stage>/cli.py`` with a module-level ``app`` (see ``STAGES``); this module only wires
them together and
turns our errors into one-line messages (exit 2) instead of tracebacks.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import sys
from functools import cache
from typing import Any

import typer
import typer.main
from rich.console import Console
from rich.markup import escape

from openseeker import outlock
from openseeker.errors import Interrupted, OpenSeekerError, UserError
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
        for noisy in (
            "httpx",
            "httpcore",
            "httpx2",
            "httpcore2",
            "openai",
            "urllib3",
            "trafilatura",
            "htmldate",
            "filelock",
        ):
            logging.getLogger(noisy).setLevel(logging.WARNING)

    for target in STAGES:
        app.add_typer(import_target(target))
    return app


def interrupted_line(signum: int) -> str:
    """What an interrupted command says: which signal, and for a command that was writing an output, that what
    finished is saved and the same command resumes."""
    name = "SIGTERM" if signum == signal.SIGTERM else "Ctrl-C" if signum == signal.SIGINT else f"signal {signum}"
    line = f"[yellow]interrupted[/] ({name})"
    if Interrupted.last_detail:  # a multi-worker run merged what its workers finished
        line += f": {escape(Interrupted.last_detail)}; re-run the same command to resume."
    elif outlock.locked_outputs:
        where = ", ".join(escape(o) for o in outlock.locked_outputs[:3])
        line += f": everything finished is saved in {where}; re-run the same command to resume."
    return line


def _sigterm_as_ctrl_c(signum: int, frame: Any) -> None:
    """SIGTERM stops a command the way Ctrl-C does (asyncio's own SIGINT handler cancels the run, whose cleanup
    writes what finished; in synchronous code a KeyboardInterrupt), and the exit code says SIGTERM (143)."""
    Interrupted.last = signal.SIGTERM
    on_sigint = signal.getsignal(signal.SIGINT)
    if callable(on_sigint) and on_sigint is not _sigterm_as_ctrl_c:
        on_sigint(signal.SIGINT, frame)
    else:  # SIGINT ignored (nohup, a background job): stop anyway
        raise Interrupted(signal.SIGTERM)


def escape_help_markup(command: Any) -> None:
    """Escape rich markup in every help text of the command tree, once, here.

    typer renders help with rich markup, which swallows bracketed text as unknown style tags (``--dedup`` showed
    ``pip install 'openseeker'`` for ``'openseeker[dedup]'``). No help text of ours uses markup on purpose, so
    every one is escaped rather than each string by hand."""
    if getattr(command, "rich_markup_mode", "rich") != "rich":
        return
    for attr in ("help", "short_help", "epilog"):
        if getattr(command, attr, None):
            setattr(command, attr, escape(getattr(command, attr)))
    for param in getattr(command, "params", ()):
        if getattr(param, "help", None):
            param.help = escape(param.help)
    for sub in getattr(command, "commands", {}).values():
        escape_help_markup(sub)


@cache
def click_errors() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """``(ClickException classes, Abort classes)`` of every copy of click that typer may raise from.

    typer 0.2x ships its own copy of click (``typer._click``) and older releases use click itself: an
    ``isinstance`` test against one copy misses the other's usage errors, which were then reported as internal
    errors with exit 1 (``No such option``, ``No such command``)."""
    errors: list[type[BaseException]] = []
    aborts: list[type[BaseException]] = [typer.Abort]  # typer's own class in 0.2x, click's before
    for name in ("typer._click.exceptions", "click.exceptions"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        errors.append(module.ClickException)
        if hasattr(module, "Abort"):
            aborts.append(module.Abort)
    return tuple(errors), tuple(aborts)


def main(argv: list[str] | None = None) -> int:
    """Entry point. Returns the exit code (0 ok, 1 run failure, 2 user error, 130 interrupted)."""
    command = typer.main.get_command(build_app())
    escape_help_markup(command)
    Interrupted.last, Interrupted.last_detail = None, ""
    previous_sigterm = _install(signal.SIGTERM, _sigterm_as_ctrl_c)
    try:
        return _main(command, argv)
    finally:
        if previous_sigterm is not None:
            _install(signal.SIGTERM, previous_sigterm)


def _install(sig: int, handler: Any) -> Any:
    """``signal.signal`` from the main thread; ``None`` (nothing installed) elsewhere."""
    try:
        return signal.signal(sig, handler)
    except ValueError:  # not the main thread (main() called from a thread)
        return None


def _main(command: Any, argv: list[str] | None) -> int:
    try:
        # typer answers Ctrl-C (and typer.Exit) by *returning* the exit code when not in standalone mode
        code = command.main(
            args=argv if argv is not None else sys.argv[1:], prog_name="openseeker", standalone_mode=False
        )
    except SystemExit as exc:  # typer/click --help and explicit exits
        return int(exc.code or 0)
    except KeyboardInterrupt:
        code = 130
    except UserError as exc:
        err_console.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)  # "pip install 'x[extra]'"
        return 2
    except OpenSeekerError as exc:
        err_console.print(f"[red]failed:[/] {escape(str(exc))}", highlight=False)
        return 1
    except OSError as exc:  # a file that could not be written or read (disk full, permissions): name it
        if os.environ.get("OPENSEEKER_DEBUG"):
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        err_console.print(f"[red]failed:[/] {escape(where)}{escape(exc.strerror or str(exc))}", highlight=False)
        return 1
    except Exception as exc:  # click usage errors and the like
        click_exceptions, aborts = click_errors()
        if isinstance(exc, aborts):
            code = 130
        elif isinstance(exc, click_exceptions):
            exc.show()  # usage line, the error, and click's "Did you mean ...?" where one exists
            return exc.exit_code
        else:
            if os.environ.get("OPENSEEKER_DEBUG"):
                raise
            err_console.print(
                f"[red]internal error:[/] {type(exc).__name__}: {exc} (set OPENSEEKER_DEBUG=1 for a traceback)"
            )
            return 1
    if code == 130:
        signum = Interrupted.last or signal.SIGINT
        err_console.print(interrupted_line(signum), highlight=False)
        code = 128 + signum
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
