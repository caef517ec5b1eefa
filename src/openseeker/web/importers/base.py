"""The importer contract: a streaming generator of pages, hyperlinks and redirects, with counts.

An importer reads one source and yields, in any interleaving, ``Page`` records, ``Link`` records (``src`` is
a page url of this source, ``dst`` a url or a title) and ``Redirect`` records. It never holds the corpus in
memory. Bad records raise ``InputError`` naming the file (and line), or, with ``skip_bad=True``, are counted in
``stats.skipped`` by reason and skipped.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openseeker.errors import InputError, UserError
from openseeker.records import Link, Page

log = logging.getLogger(__name__)

LOCAL_BASE = "https://local/wiki/"


@dataclass(slots=True)
class Redirect:
    """``title`` is another name of the page titled ``target``."""

    title: str
    target: str


@dataclass
class ImportStats:
    """Additive counters of one import."""

    read: int = 0  # records seen in the source
    pages: int = 0  # pages yielded
    links: int = 0  # hyperlinks yielded (before resolution)
    redirects: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason -> count

    def as_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "pages": self.pages,
            "links": self.links,
            "redirects": self.redirects,
            "skipped": sum(self.skipped.values()),
            "skipped_by_reason": dict(self.skipped),
        }


_URL_ESCAPES = {c: f"%{ord(c):02X}" for c in '%?#"<>\\^`{|}'}


def title_url(title: str, base: str = LOCAL_BASE) -> str:
    """A wiki-style url for a title: whitespace as ``_``; ``%``, ``?``, ``#``, ``"`` (and a few more) escaped.

    Non-ASCII letters are kept as they are (readable for a model); ``LocalWeb.fetch`` also accepts the fully
    percent-encoded form.
    """
    t = "_".join(title.strip().split())
    return base + "".join(_URL_ESCAPES.get(ch, ch) for ch in t)


class Importer:
    """Base class. Subclasses set ``name`` and implement ``records()`` (the one hook).

    Sharding (parallel import, ``openseeker.web.parallel``): the source is a sequence of *items* (a page of a
    dump, a record of an archive, a file of a folder, an entry of a ZIM, a line of a JSONL file) numbered
    0, 1, 2, ... in source order. ``records()`` numbers them, parses only those for which ``mine(i)`` is true
    (item ``i`` belongs to shard ``i % world_size``; skipping an item must be cheap, parsing is what is split)
    and sets ``self.seq = i`` before yielding an item's records. A sequential import is shard 0 of 1. Merging
    the shards' records in ``seq`` order gives the sequential import's record stream, hence the same ids.

    Args:
        source: the SOURCE string given to ``web build`` (a path, or ``wiki-offline[:lang]``).
        skip_bad: count and skip malformed records instead of raising.
    """

    name = "base"
    supports_sharding = False  # records() honours mine()/seq (see above); otherwise imported by one worker
    dedup_text = False  # drop pages whose text is the same as an earlier page's (crawls); urls always dedup
    # detection (``detect_format``): the importer says which SOURCEs it reads, so adding one is one file + one
    # registration line. ``suffixes`` are lower-case file-name endings; ``priority`` orders the claims when two
    # importers read the same suffix (a BrowseComp-Plus .jsonl before a plain .jsonl); ``source_help`` is the
    # phrase of the SOURCE help text (``web build --source``, error messages).
    suffixes: tuple[str, ...] = ()
    priority: int = 0
    source_help: str = ""

    @classmethod
    def detect(cls, source: str) -> bool:
        """Whether this importer reads SOURCE (an existing file by default, by its ``suffixes``)."""
        p = Path(source)
        return bool(cls.suffixes) and p.is_file() and p.name.lower().endswith(cls.suffixes)

    def __init__(self, source: str | os.PathLike, *, skip_bad: bool = False):
        self.source = str(source)
        self.skip_bad = skip_bad
        self.stats = ImportStats()
        self.rank, self.world_size = 0, 1
        self.seq = 0

    def shard(self, rank: int, world_size: int) -> Importer:
        """Restrict this importer to shard ``rank`` of ``world_size`` (see the class doc); returns self."""
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"bad shard {rank} of {world_size}")
        self.rank, self.world_size = rank, world_size
        return self

    def mine(self, item: int) -> bool:
        """Whether item number ``item`` (0-based, source order) belongs to this importer's shard."""
        return item % self.world_size == self.rank

    # the hook ---------------------------------------------------------------
    def records(self) -> Iterator[Page | Link | Redirect]:  # pragma: no cover - abstract
        raise NotImplementedError

    # shared helpers ----------------------------------------------------------
    @property
    def path(self) -> Path:
        return Path(self.source)

    def check_exists(self) -> None:
        """Called by ``get_importer`` for every format: SOURCE must exist. Override when SOURCE is not a path."""
        if not self.path.exists():
            raise UserError(f"{self.path}: no such file or directory")

    def bad(self, reason: str, *, path: str | None = None, line: int | None = None) -> None:
        """A malformed record: raise ``InputError`` (or count it and return when ``skip_bad``)."""
        if not self.skip_bad:
            raise InputError(f"{reason} (use --skip-bad to skip such records)", path=path or self.source, line=line)
        where = f"{path or self.source}{f':{line}' if line else ''}"
        log.warning("%s: skipped: %s", where, reason)
        self.stats.skipped[reason.split(":")[0][:60]] += 1

    def lines(self) -> Iterator[tuple[int, bytes]]:
        """``(line number, raw line)`` of a text source (``.gz`` too), not decoded: ``decode_line`` decodes each one,
        so a byte that is not UTF-8 spoils only its own line and is reported at its real number (a text-mode
        reader decodes ahead in chunks: the error surfaced lines early, and ``--skip-bad`` lost the rest)."""
        import gzip

        opener: Any = gzip.open if self.source.endswith(".gz") else open
        try:
            with opener(self.source, "rb") as fh:
                yield from enumerate(fh, 1)
        except (OSError, EOFError) as exc:  # truncated/corrupt gzip
            self.bad(f"cannot read: {exc}")

    def decode_line(self, raw: bytes, lineno: int) -> str | None:
        """The text of one line of ``lines``, or ``None`` after ``bad`` (not UTF-8)."""
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.bad(f"not valid UTF-8 ({exc.reason} at byte {exc.start + 1} of the line)", line=lineno)
            return None

    def skip(self, reason: str) -> None:
        """A record skipped by design (redirect, other namespace, empty text): counted, never an error."""
        self.stats.skipped[reason] += 1

    def __iter__(self) -> Iterator[Page | Link | Redirect]:
        for rec in self.records():
            if isinstance(rec, Page):
                self.stats.pages += 1
            elif isinstance(rec, Link):
                self.stats.links += 1
            else:
                self.stats.redirects += 1
            yield rec

    def describe(self) -> dict[str, Any]:
        """What goes into ``web.json`` and the source fingerprint."""
        return {"format": self.name, "source": self.source}

    def fingerprint_files(self) -> list[tuple[str, Path]]:
        """``(name, path)`` of the files that make up the corpus (names relative to a source directory)."""
        p = self.path
        if p.is_dir():
            return [(str(f.relative_to(p)), f) for f in sorted(f for f in p.rglob("*") if f.is_file())]
        return [(p.name, p)]

    def fingerprint(self) -> str:
        """Identity of the corpus (not of its location): format + file names, sizes and head/tail bytes."""
        h = hashlib.sha256(self.name.encode())
        for name, f in self.fingerprint_files():
            h.update(name.encode())
            size = f.stat().st_size
            h.update(str(size).encode())
            with f.open("rb") as fh:
                h.update(fh.read(1 << 20))
                if size > 2 << 20:
                    fh.seek(-(1 << 20), os.SEEK_END)
                    h.update(fh.read())
        return h.hexdigest()[:24]
