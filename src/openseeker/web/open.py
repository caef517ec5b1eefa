"""``open_web(source)``: the one way stages get a ``Web`` — a local web directory, ``live``, or a remote server.

``async with open_web(source) as web:`` opens it and closes it (``Web.aclose``) on the way out. ``source`` may be an
already opened ``Web``: it is passed through and left open, because whoever opened it owns it. So a stage's
``open()`` reads the same whether it was given a path (each worker opens its own) or a live object (in-process).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from openseeker.errors import UserError
from openseeker.web.base import Web, WebSource, check_retrieval, ensure_retrieval, own_ranking_error
from openseeker.web.local import LocalWeb
from openseeker.web.remote import RemoteWeb, is_remote_spec


@asynccontextmanager
async def open_web(source: WebSource, *, config: Any = None, retrieval: str | None = None) -> AsyncIterator[Web]:
    """The ``Web`` of ``source``, closed on exit if it was opened here (see the module docstring).

    Args: as ``connect_web``; ``source`` may also be an opened ``Web`` (passed through, not closed).
    """
    if not isinstance(source, (str, os.PathLike)):
        yield source
        return
    web = connect_web(source, config=config, retrieval=retrieval)
    try:
        yield web
    finally:
        await web.aclose()


def connect_web(spec: str | Path, *, config: Any = None, retrieval: str | None = None) -> Web:
    """Open a web; the caller closes it (``await web.aclose()``). Prefer ``async with open_web(...)``.

    Args:
        spec: a directory made by ``openseeker web build``, ``"live"``, or ``http://host:port`` (an ``openseeker
            serve`` server, or several comma-separated: ``openseeker.web.remote``).
        config: for ``live``: the live-web config (backends, keys, cache); see ``openseeker.web.live``.
        retrieval: the default ranking of a local web's search (bm25 / dense / hybrid; default: its own).
    """

    if retrieval is not None:
        check_retrieval(retrieval)
        if is_remote_spec(str(spec)) or str(spec) == "live":
            raise UserError(
                f"--retrieval sets the default ranking of a local web directory, not of {spec}"
                + (
                    ""
                    if str(spec) == "live"
                    else " (an agent's `retrieval` setting is sent to a server with each search)"
                )
            )
    if is_remote_spec(str(spec)):
        return RemoteWeb(str(spec))
    if str(spec) == "live":
        from openseeker.web.live import LiveWeb

        return LiveWeb.from_config(config)
    path = Path(spec)
    if not path.exists():
        raise UserError(
            f"{path}: no such web directory (build one with `openseeker web build --source ... --out {path}`)"
        )

    return LocalWeb.open(path, retrieval=retrieval)


async def ensure_web_retrieval(web: WebSource, retrieval: str | None, *, config: Any = None) -> None:
    """Before any agent starts: a one-line ``UserError`` unless ``web`` (a spec or an opened ``Web``) can rank
    with ``retrieval`` (see ``openseeker.web.base.ensure_retrieval``). A spec is opened for the check and closed."""
    if retrieval is None:
        return
    check_retrieval(retrieval)
    if isinstance(web, (str, os.PathLike)) and str(web) == "live":
        raise own_ranking_error(retrieval, "the live web")
    async with open_web(web, config=config) as opened:
        await ensure_retrieval(opened, retrieval)


def open_web_from_flags(
    web: str | Path,
    web_config: str | Path | None = None,
    config: str | Path | None = None,
    retrieval: str | None = None,
) -> Any:
    """``open_web`` (an async context manager) for the command-line flags every stage shares: ``--web DIR|live``, ``--web-config FILE`` and
    ``--config FILE`` (whose ``live:`` section is used when there is no ``--web-config``; see
    ``openseeker.web.live.config.live_config_source``). ``--web-config`` with a local web is a ``UserError``;
    ``--retrieval`` is the default ranking of a local web."""
    return open_web(web, config=live_config_from_flags(web, web_config, config), retrieval=retrieval)


def live_config_from_flags(
    web: str | Path, web_config: str | Path | None = None, config: str | Path | None = None
) -> Path | None:
    """The live web's config file from the flags ``--web``, ``--web-config`` and ``--config`` (``None`` for a
    local web, or when neither flag names one; see ``openseeker.web.live.config.live_config_source``), for the
    stages that open their web later (in each worker) rather than here."""
    if str(web) != "live":
        if web_config is not None:
            raise UserError("--web-config is only used with --web live")
        return None
    from openseeker.web.live.config import live_config_source

    return live_config_source(web_config, config)
