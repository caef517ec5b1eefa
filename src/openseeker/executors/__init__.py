"""Executors: one contract (``base.Stage`` / ``base.Executor``) and one engine for every batch stage, run on a
backend from ``EXECUTORS`` (``local``: this process or N processes; ``ray``: Ray tasks). See docs/scale.md."""

from __future__ import annotations

from typing import Any

from openseeker.errors import UserError
from openseeker.executors.base import Executor, Outcome, Stage, Stream, shard_of
from openseeker.registry import Registry

EXECUTORS: Registry[type[Executor]] = Registry("executor")
EXECUTORS.register("local", "openseeker.executors.local:LocalExecutor")
EXECUTORS.register("ray", "openseeker.executors.ray:RayExecutor")


def get_executor(
    name: str = "local",
    *,
    workers: int | None = None,
    ray_address: str | None = None,
    rank: int | None = None,
    **kw: Any,
) -> Executor:
    """Build an executor by name: ``local`` (``workers`` processes, default 1 = in-process; ``rank``: only that
    rank, in this process, as one task of a job array) or ``ray`` (default 2 workers)."""

    cls: Any = EXECUTORS.get(name)  # each backend's own keyword arguments below
    if workers is None:
        workers = 2 if name == "ray" else 1
    if name == "ray":
        if rank is not None:
            raise UserError("--rank runs one rank of a job array with --executor local")
        return cls(workers, address=ray_address, **kw)
    if ray_address:
        raise UserError("--ray-address needs --executor ray")
    return cls(workers, rank=rank, **kw)


__all__ = ["EXECUTORS", "Executor", "Outcome", "Stage", "Stream", "get_executor", "shard_of"]
