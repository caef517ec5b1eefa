"""``Registry[T]``: the one name -> thing table behind every pluggable part (importers, search backends,
benchmarks, neighbour selectors).

Why one: each registry used to carry its own did-you-mean code and its own lazy-import code, and a fix landed in
one shape and not the others. A target is either the object itself or a lazy ``"module:attr"`` string imported on
first use (so registering a backend never imports its dependencies). Unknown names are a ``UserError`` with a
did-you-mean hint (lm-eval ``api/registry.py`` is the model; STYLE rule 8).

Example:
    >>> from openseeker.registry import Registry
    >>> COLOURS = Registry[str]("colour")
    >>> COLOURS.register("red", "#f00", aliases=("rouge",))
    >>> COLOURS.get("rouge")
    '#f00'
"""

from __future__ import annotations

import difflib
import importlib
import threading
from collections.abc import Iterator
from typing import Any, Generic, TypeVar

from openseeker.errors import UserError

T = TypeVar("T")

__all__ = ["Registry", "import_target"]


def import_target(target: str) -> Any:
    """The object named by a lazy ``"module:attr"`` (``attr`` may be dotted) target."""
    module, sep, attr = target.partition(":")
    if not sep or not attr:
        raise ValueError(f"lazy target {target!r} is not 'module:attr'")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


class Registry(Generic[T]):
    """Names (plus aliases) -> objects or lazy ``"module:attr"`` targets, in registration order.

    Args:
        kind: what a name names, for messages (``"search backend"`` -> ``unknown search backend 'x'``).
        lazy: string targets are ``"module:attr"`` import paths (``False`` when T itself is a string).
    """

    def __init__(self, kind: str, *, lazy: bool = True):
        self.kind, self.lazy = kind, lazy
        self._targets: dict[str, T | str] = {}
        self._aliases: dict[str, str] = {}
        self._lock = threading.Lock()

    def register(self, name: str, target: T | str, *, aliases: tuple[str, ...] = ()) -> None:
        """Add ``name`` (a re-registration replaces the target: tests swap implementations this way)."""
        with self._lock:
            self._targets[name] = target
            for alias in aliases:
                self._aliases[alias] = name

    def unregister(self, name: str) -> None:
        with self._lock:
            self._targets.pop(name, None)
            self._aliases = {a: n for a, n in self._aliases.items() if n != name}

    def names(self) -> list[str]:
        """Registered names in registration order (aliases excluded)."""
        return list(self._targets)

    def __contains__(self, name: object) -> bool:
        return name in self._targets or name in self._aliases

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._targets)

    def canonical(self, name: str) -> str:
        """The registered name of ``name`` or of its alias; ``UserError`` with a did-you-mean hint otherwise."""
        if name in self._targets:
            return name
        if name in self._aliases:
            return self._aliases[name]
        close = difflib.get_close_matches(str(name), [*self._targets, *self._aliases], n=3, cutoff=0.6)
        suggestions = list(dict.fromkeys(self._aliases.get(c, c) for c in close))
        hint = f" Did you mean {', '.join(map(repr, suggestions))}?" if suggestions else ""
        raise UserError(f"unknown {self.kind} {str(name)!r}.{hint} Known: {', '.join(self.names())}")

    def check(self, name: str) -> None:
        self.canonical(name)

    def get(self, name: str) -> T:
        """The object registered under ``name`` (imported on first use when lazy)."""
        key = self.canonical(name)
        target = self._targets[key]
        if self.lazy and isinstance(target, str):
            obj = import_target(target)
            with self._lock:
                self._targets[key] = obj
            return obj
        return target  # type: ignore[return-value]

    def items(self) -> Iterator[tuple[str, T]]:
        """``(name, object)`` pairs in registration order (imports every lazy target)."""
        for name in self.names():
            yield name, self.get(name)
