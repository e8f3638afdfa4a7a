"""Seed -> documents: the texts that spans point into.

A text seed is its own document: spans are byte offsets of the seed file. An HTML page or a JSON Lines
record is *derived*: the reader composes a plain text (title, byline, publisher, paragraphs) from what it
extracted, records that text's sha256 and how it was made (``Derivation``), and spans point into the UTF-8
bytes of that text. Validation re-derives the text from the seed and checks the hash, so the chain
seed sha256 -> derived text sha256 -> span is checked end to end, not trusted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from audit.extract.date_html import PageDates
from audit.extract.page import Field, Page
from audit.extract.segments import Segment
from audit.fsio import sha256_bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class Derivation:
    """How a derived text was made from its seed: by which extractor, from which bytes of the seed."""

    text_sha256: str
    extractor: str
    extractor_version: str
    seed_start: int
    seed_end: int


@dataclass(frozen=True, slots=True)
class MarkupLink:
    """A URL read from the seed's markup: a verbatim slice [start, end) of the seed's characters."""

    start: int
    end: int
    raw: str
    role: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Document:
    """One article's text, its page structure, and where it came from."""

    text: str
    page: Page
    derivation: Derivation | None = None
    page_dates: PageDates | None = None
    markup_links: tuple[MarkupLink, ...] = ()
    base_url: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


class Composer:
    """Builds a derived text piece by piece, recording each piece's character range as a segment."""

    # not a dataclass: accumulates parts while a reader walks its input

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos = 0
        self.segments: list[Segment] = []
        self.fields: dict[str, Field] = {}

    def add(self, value: str | None, kind: str, name: str | None = None, sep: str = "\n\n") -> None:
        """Append a non-empty value as a segment of the given kind (and as a header field if named)."""
        value = (value or "").strip()
        if not value:
            return
        if self.parts:
            self.parts.append(sep)
            self.pos += len(sep)
        start, end = self.pos, self.pos + len(value)
        self.parts.append(value)
        self.pos = end
        self.segments.append(Segment(start, end, kind))
        if name:
            self.fields[name] = Field(value, start, end)

    def text(self) -> str:
        """The composed text."""
        return "".join(self.parts)


def derivation_for(text: str, extractor: str, version: str, seed_start: int, seed_end: int) -> Derivation:
    """The derivation record of a composed text."""
    return Derivation(
        text_sha256=sha256_bytes(text.encode("utf-8")),
        extractor=extractor,
        extractor_version=version,
        seed_start=seed_start,
        seed_end=seed_end,
    )
