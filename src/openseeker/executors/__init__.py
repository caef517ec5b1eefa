"""Executors: one contract (``base.Stage`` / ``base.Executor``) and one engine for every batch stage, run on a
backend from ``EXECUTORS`` (``local``: this process or N processes; ``ray``: Ray tasks). See docs/scale.md."""

from __future__ import annotations

from typing import Any

from openseeker.executors.base import Executor, Outcome, Stage, Stream, shard_of
from openseeker.web.live.search_backends import Registry

EXECUTORS = Registry("executor", {
    "local": "openseeker.executors.local:LocalExecutor",
    "ray": "openseeker.executors.ray:RayExecutor",
})


def get_executor(name: str = "local", *, workers: int = 1, ray_address: str | None = None, **kw: Any) -> Executor:
    """Build an executor by name: ``local`` (``workers`` processes; 1 = in-process) or ``ray``."""
    cls = EXECUTORS.get(name)
    if name == "ray":
        return cls(workers, address=ray_address, **kw)
    if ray_address:
        from openseeker.errors import UserError

        raise UserError("--ray-address needs --executor ray")
    return cls(workers, **kw)


__all__ = ["EXECUTORS", "Executor", "Outcome", "Stage", "Stream", "get_executor", "shard_of"]
