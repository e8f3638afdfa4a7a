"""What a format reader returns: classified segments and the article's header fields, in characters."""

from __future__ import annotations

from dataclasses import dataclass

from audit.extract.segments import Segment


@dataclass(frozen=True, slots=True)
class Field:
    """A header value and the character range [start, end) of the text it was read from."""

    value: str
    start: int
    end: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Page:
    """One article as a format reader sees it; offsets are characters of the decoded text."""

    segments: tuple[Segment, ...]
    title: Field | None = None
    byline: Field | None = None
    publisher: Field | None = None
    section: Field | None = None
    tags: tuple[Field, ...] = ()
    canonical_url: str | None = None
    language: str | None = None

    @property
    def body(self) -> tuple[Segment, ...]:
        """The main story's paragraphs, in order."""
        return tuple(s for s in self.segments if s.kind == "body")


def field_at(text: str, start: int, end: int) -> Field:
    """A Field for text[start:end], trimmed of surrounding whitespace."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Field(text[start:end], start, end)
