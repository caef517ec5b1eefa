"""A line-offset index of a JSONL file: open a 1 GB file in one pass without holding it, read any record by number.

The viewer never loads a whole file into memory or into the browser. ``LineIndex`` scans the bytes once for line
starts (1 MB blocks) and keeps, per record, its byte offset, its 1-based line number and a short *head* (the first
bytes of the line): our records are written field by field in declaration order (``id`` and ``question`` come
first), so list pages and search over large trajectory files can be served from the heads without parsing
multi-megabyte lines. ``read(i)`` seeks and parses one record; a malformed line raises ``InputError`` located by
file and line, which the server turns into a message, never a 500.
"""

from __future__ import annotations

import json
import re
from array import array
from pathlib import Path
from typing import Any

from openseeker.errors import InputError

BLOCK = 1 << 20
HEAD = 1536

_STR = r'"((?:[^"\\]|\\.)*)"'
_HEAD_FIELDS = {name: re.compile(rf'"{name}"\s*:\s*{_STR}') for name in ("id", "question", "key")}


def head_fields(head: bytes) -> dict[str, str]:
    """``id`` / ``question`` / ``key`` read from the start of a JSON line (possibly cut mid-value)."""
    text = head.decode("utf-8", errors="ignore")
    out = {}
    for name, rx in _HEAD_FIELDS.items():
        m = rx.search(text)
        if m:
            try:
                out[name] = json.loads(f'"{m.group(1)}"')
            except ValueError:
                out[name] = m.group(1)
    return out


class LineIndex:
    """Offsets of the non-blank lines of ``path`` (see the module docstring)."""

    def __init__(self, path: str | Path, *, keep_heads: bool = True):
        self.path = Path(path)
        self.offsets = array("q")
        self.linenos = array("l")
        self.heads: list[bytes] = []
        self.size = 0
        self._scan(keep_heads)

    def _scan(self, keep_heads: bool) -> None:
        offsets, linenos, heads = self.offsets, self.linenos, self.heads
        pos = 0  # file offset of the start of ``buf``
        lineno = 0
        carry = b""
        with self.path.open("rb") as fh:
            while True:
                block = fh.read(BLOCK)
                if not block:
                    break
                buf = carry + block
                start = 0
                while True:
                    nl = buf.find(b"\n", start)
                    if nl < 0:
                        break
                    lineno += 1
                    if buf[start:nl].strip():
                        offsets.append(pos + start)
                        linenos.append(lineno)
                        if keep_heads:
                            heads.append(buf[start : min(nl, start + HEAD)])
                    start = nl + 1
                # keep the unfinished line; a very long line is carried whole until its newline arrives
                pos += start
                carry = buf[start:]
            if carry.strip():  # a last line without a newline
                lineno += 1
                offsets.append(pos)
                linenos.append(lineno)
                if keep_heads:
                    heads.append(carry[:HEAD])
        self.size = pos + len(carry)

    def __len__(self) -> int:
        return len(self.offsets)

    def raw(self, i: int) -> bytes:
        if not 0 <= i < len(self.offsets):
            raise IndexError(i)
        with self.path.open("rb") as fh:
            fh.seek(self.offsets[i])
            return fh.readline()

    def read(self, i: int) -> dict[str, Any]:
        """Record ``i`` (0-based), parsed; ``InputError`` (file:line) when the line is not a JSON object."""
        line = self.raw(i)
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise InputError(f"not valid JSON ({exc})", path=str(self.path), line=self.linenos[i]) from None
        if not isinstance(obj, dict):
            raise InputError("expected a JSON object", path=str(self.path), line=self.linenos[i])
        return obj

    def iter_records(self) -> Any:
        """``(i, record or None, error or None)`` for every line, streaming the file once."""
        i = 0
        with self.path.open("rb") as fh:
            for line in fh:
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                    if not isinstance(obj, dict):
                        raise ValueError("expected a JSON object")
                except ValueError as exc:
                    yield i, None, f"{self.path}:{self.linenos[i]}: {str(exc)[:200]}"
                else:
                    yield i, obj, None
                i += 1
                if i >= len(self.offsets):  # the file grew since the scan: stay consistent with the index
                    break

    def head(self, i: int) -> dict[str, str]:
        return head_fields(self.heads[i]) if self.heads else head_fields(self.raw(i)[:HEAD])
