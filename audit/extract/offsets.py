"""Character offsets of decoded text -> byte offsets of the seed file, and content-derived ids."""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from itertools import accumulate

from audit.records import Span


class ByteMap:
    """Maps character offsets of a seed's decoded text to byte offsets in the seed's bytes."""

    __slots__ = ("_cum", "_shift")

    # not a dataclass: __init__ builds the cumulative table once per seed

    def __init__(self, text: str, encoding: str) -> None:
        bom = {"utf-8-sig": 3, "utf-16": 2, "utf-32": 4}.get(encoding, 0)
        self._shift = bom
        enc = "utf-8" if encoding == "utf-8-sig" else encoding
        # ASCII and single-byte encodings: one character is one byte
        if text.isascii() or len(text.encode(enc, "surrogatepass")) == len(text):
            self._cum: list[int] | None = None
        else:
            self._cum = [0, *accumulate(len(ch.encode(enc, "surrogatepass")) for ch in text)]

    def byte(self, char_offset: int) -> int:
        """Byte offset of a character offset."""
        base = char_offset if self._cum is None else self._cum[char_offset]
        return base + self._shift

    def span(self, start: int, end: int) -> Span:
        """Byte span of the character range [start, end)."""
        return Span(start=self.byte(start), end=self.byte(end))

    def char(self, byte_offset: int) -> int:
        """Character offset of a byte offset that starts a character."""
        pos = byte_offset - self._shift
        return pos if self._cum is None else bisect_right(self._cum, pos) - 1


def make_id(prefix: str, *parts: object) -> str:
    """A stable id from content: prefix plus 16 hex digits of the sha256 of the parts."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8")).hexdigest()
    return f"{prefix}-{digest[:16]}"
