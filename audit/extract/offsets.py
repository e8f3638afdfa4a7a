"""Character offsets of decoded text -> byte offsets of the seed file, and content-derived ids."""

from __future__ import annotations

import codecs
import hashlib
import itertools
import re
from bisect import bisect_left
from collections.abc import Iterable

import numpy as np

from audit.records import Span


class ByteMap:
    """Maps character offsets of a seed's decoded text to byte offsets in the seed's bytes."""

    __slots__ = ("_extra", "_positions", "_shift")

    # not a dataclass: __init__ builds the table of multi-byte characters once per text

    def __init__(self, text: str, encoding: str, bom: int = 0) -> None:
        self._shift = 3 if encoding == "utf-8-sig" else bom
        enc = "utf-8" if encoding == "utf-8-sig" else encoding
        self._positions: list[int] = []
        self._extra: list[int] = [0]
        unit = len("a".encode(enc))
        if unit > 1:  # UTF-16/32: every character moves offsets; table them all
            for i, ch in enumerate(text):
                self._positions.append(i)
                self._extra.append(self._extra[-1] + len(ch.encode(enc, "surrogatepass")) - 1)
            return
        # only characters that take more than one byte move offsets; news text has few of them
        if text.isascii():
            return
        if codecs.lookup(enc).name == "utf-8":
            self._positions, self._extra = _utf8_table(text)
            return
        for m in _NON_ASCII.finditer(text):
            width = len(m.group().encode(enc, "surrogatepass"))
            if width > 1:
                self._positions.append(m.start())
                self._extra.append(self._extra[-1] + width - 1)

    def byte(self, char_offset: int) -> int:
        """Byte offset of a character offset."""
        return char_offset + self._extra[bisect_left(self._positions, char_offset)] + self._shift

    def span(self, start: int, end: int) -> Span:
        """Byte span of the character range [start, end)."""
        extra, positions, shift = self._extra, self._positions, self._shift  # ``byte`` inlined: hot
        return Span(
            start=start + extra[bisect_left(positions, start)] + shift,
            end=end + extra[bisect_left(positions, end)] + shift,
        )


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _utf8_table(text: str) -> tuple[list[int], list[int]]:
    """ByteMap's table for UTF-8, built from the encoded bytes at once (a page in Cyrillic or Chinese has
    a multi-byte character in every position): the characters wider than a byte, and the running sum of
    the bytes they add."""
    data = np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    starts = np.flatnonzero((data & 0xC0) != 0x80)  # each character's first byte, in character order
    widths = np.diff(np.append(starts, len(data)))
    wide = np.flatnonzero(widths > 1)
    extra = np.cumsum(widths[wide] - 1)
    return wide.tolist(), [0, *extra.tolist()]


def make_id(prefix: str, *parts: object) -> str:
    """A stable id from content: prefix plus 16 hex digits of the sha256 of the parts."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8")).hexdigest()
    return f"{prefix}-{digest[:16]}"


def span_id(prefix: str, seed_sha256: str, text_sha256: str | None, span: Span) -> str:
    """``make_id(prefix, seed_sha256, text_sha256, span.start, span.end)``, the id of a record at a span.

    Spelled out as one f-string: the same parts joined the same way (str of each), without the
    generic join, for the ids of the many blocks, numbers, dates and links.
    """
    key = f"{seed_sha256}\x1f{text_sha256}\x1f{span.start}\x1f{span.end}"
    return f"{prefix}-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:16]}"


class Ranges:
    """Character ranges [a, b), overlapping or not, that answer "does [start, end) overlap one?" by bisection.

    A page can have tens of thousands of links and dates; testing each number against all of them was
    quadratic.
    """

    __slots__ = ("_reach", "_starts")

    def __init__(self, ranges: Iterable[tuple[int, int]]) -> None:
        ordered = sorted(ranges)
        self._starts = [a for a, _ in ordered]
        self._reach = list(itertools.accumulate((b for _, b in ordered), max))  # furthest end so far

    def overlaps(self, start: int, end: int) -> bool:
        """True when [start, end) overlaps any range: one starts before ``end`` and ends after ``start``."""
        last = bisect_left(self._starts, end) - 1
        return last >= 0 and self._reach[last] > start
