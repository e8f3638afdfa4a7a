"""Readers for text seeds: the aggregator page dump (like the bundled sample) and generic plain text.

The aggregator dump is a page's visible text, one block per line: a page date line, the section, the
title, "By" byline, publisher lines, a relative date ("· 5 days ago"), the story's paragraphs (an image
URL line followed by its caption may sit among them), then "Comments / N" and the page furniture:
related-article teasers, tag lists, channel labels and the publisher's box. Only the story is main.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

from audit.extract.date_patterns import scan_segment
from audit.extract.page import Field, Page, field_at
from audit.extract.segments import Segment

_PAGE_DATE = re.compile(r"date \d{4}-\d{2}-\d{2}")
_RELATIVE = re.compile(
    r"(?:(?:\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten)\s+"
    r"(?:second|minute|hour|day|week|month|year)s?\s+ago|yesterday|today|just now)",
    re.I,
)
_BYLINE = re.compile(r"By\s+(?P<name>\S.*)")
_COUNTER = re.compile(r"(?:Comments?\s*/\s*\d[\d,]*|[\d.,]+\s*[KMB]?\+?)", re.I)
_LONE_URL = re.compile(r"https?://\S+")
_DOMAIN = re.compile(r"(?:[a-z0-9-]+\.)+[a-z]{2,}", re.I)
_TAGS = re.compile(r"#\S.*#\S.*")
_ALL_CAPS = re.compile(r"[A-Z][A-Z &/'-]*")
_IMAGE_HINT = re.compile(r"\.(?:jpe?g|png|gif|webp|avif)\b|image|img|photo", re.I)
_BULLET = "\u00b7\u2022-* \t"


def _lines(text: str) -> Iterator[tuple[int, int]]:
    """Yield (start, end) character ranges of non-blank lines, trimmed of whitespace and bullets."""
    pos = 0
    for raw in text.splitlines(keepends=True):
        start, end = pos, pos + len(raw.rstrip("\r\n"))
        pos += len(raw)
        while start < end and (text[start].isspace() or text[start] in _BULLET):
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end:
            yield start, end


def read_aggregator_text(text: str) -> Page:
    """Classify every line of an aggregator page dump and pick out the article's header fields."""
    lines = list(_lines(text))
    segments: list[Segment] = []
    fields: dict[str, Field] = {}
    i = _read_header(text, lines, segments, fields)
    i = _read_story(text, lines, i, segments)
    tags = _read_furniture(text, lines, i, segments)
    return Page(
        segments=tuple(segments),
        title=fields.get("title"),
        byline=fields.get("byline"),
        publisher=fields.get("publisher"),
        section=fields.get("section"),
        tags=tags,
    )


def _read_header(
    text: str, lines: list[tuple[int, int]], out: list[Segment], fields: dict[str, Field]
) -> int:
    """Page date, section, title, byline, publisher(s), relative date; return the next line index."""
    i = 0
    if lines and (m := _PAGE_DATE.search(text, lines[0][0], lines[0][1])):
        out.append(Segment(m.start(), m.end(), "page-date"))
        if m.end() < lines[0][1]:
            out.append(Segment(m.end(), lines[0][1], "navigation"))
        i = 1
    # section, then title, both before the byline: a header line that is already the byline or the
    # relative date means one of them is missing (a deleted title is missing, not the byline promoted)
    header: list[tuple[int, int]] = []
    while i < len(lines) and len(header) < 2 and not _is_byline_or_age(text, *lines[i]):
        header.append(lines[i])
        i += 1
    kinds = ["title"] if len(header) == 1 and _is_title_like(text, *header[0]) else ["section", "title"]
    for (start, end), kind in zip(header, kinds, strict=False):
        fields[kind] = field_at(text, start, end)
        out.append(Segment(start, end, kind))
    if i < len(lines) and (m := _BYLINE.fullmatch(text, *lines[i])):
        fields["byline"] = field_at(text, m.start("name"), m.end("name"))
        out.append(Segment(lines[i][0], lines[i][1], "byline"))
        i += 1
    # publisher lines run until the relative date line, if it comes within a few lines
    rel = next((j for j in range(i, min(i + 4, len(lines))) if _RELATIVE.fullmatch(text, *lines[j])), None)
    if rel is None:
        return i
    for j in range(i, rel):
        if "publisher" not in fields:
            fields["publisher"] = field_at(text, *lines[j])
        out.append(Segment(lines[j][0], lines[j][1], "publisher"))
    out.append(Segment(lines[rel][0], lines[rel][1], "relative-date"))
    return rel + 1


def _is_byline_or_age(text: str, start: int, end: int) -> bool:
    """True for a 'By ...' line or a relative date line ('5 days ago')."""
    return bool(_BYLINE.fullmatch(text, start, end) or _RELATIVE.fullmatch(text, start, end))


def _is_title_like(text: str, start: int, end: int) -> bool:
    """A lone header line long enough to be a headline rather than a section label ('Politics')."""
    return len(text[start:end].split()) > _SECTION_WORDS


_SECTION_WORDS = 3  # section labels are one to three words; headlines are longer


def _read_story(text: str, lines: list[tuple[int, int]], i: int, out: list[Segment]) -> int:
    """Body paragraphs, image lines and captions up to the comment counter; return the next index."""
    after_image = False
    while i < len(lines):
        start, end = lines[i]
        line = text[start:end]
        if _COUNTER.fullmatch(line) or line in {"Related", "Comments"}:
            return i
        if _LONE_URL.fullmatch(line):
            out.append(Segment(start, end, "image" if _IMAGE_HINT.search(line) else "body"))
            after_image = True
        else:
            out.append(Segment(start, end, "caption" if after_image else "body"))
            after_image = False
        i += 1
    return i


def _read_furniture(text: str, lines: list[tuple[int, int]], i: int, out: list[Segment]) -> tuple[Field, ...]:
    """Classify what follows the story: counters, teasers, tags, channels, the publisher's box."""
    tags: list[Field] = []
    expect_teaser = 0  # 2: next line is a teaser title, 1: next line is its text
    in_about = False
    for start, end in lines[i:]:
        line = text[start:end]
        kind = _furniture_kind(line, expect_teaser, in_about)
        if kind == "tags":
            tags.extend(_split_tags(text, start, end))
        expect_teaser = {"teaser-source": 2, "teaser-title": 1}.get(kind, 0)
        in_about = line == "ABOUT" or (in_about and kind == "publisher-box")
        out.append(Segment(start, end, kind))
    return tuple(tags)


@functools.lru_cache(maxsize=4096)
def _furniture_kind(line: str, expect_teaser: int, in_about: bool) -> str:
    """The kind of one furniture line; pure, and cached: a publisher's furniture repeats on every page."""
    if _COUNTER.fullmatch(line):
        return "counter"
    if _TAGS.fullmatch(line):
        return "tags"
    if _LONE_URL.fullmatch(line):
        return (
            "publisher-home" if in_about or "/" not in line.split("://", 1)[1].rstrip("/") else "boilerplate"
        )
    if expect_teaser == 2:
        return "teaser-title"
    if expect_teaser == 1 and len(line) > 60:
        return "teaser-text"
    if in_about and len(line) > 60:
        return "publisher-box"
    if _DOMAIN.fullmatch(line):
        return "teaser-source"
    if _ALL_CAPS.fullmatch(line):
        return "teaser-label" if len(line.split()) <= 2 else "navigation"
    if len(line) > 60:
        return "teaser-text"
    return "navigation"


def _split_tags(text: str, start: int, end: int) -> Iterator[Field]:
    for m in re.finditer(r"#([^#]+)", text[start:end]):
        yield field_at(text, start + m.start(1), start + m.end(1))


def read_plain_text(text: str) -> Page:
    """Generic text: a title line, an optional byline, then blank-line-separated paragraphs.

    The first line is the title unless it is already the byline. A byline may carry the publisher and the
    date (``By Sam Lee, The River Gazette, May 14, 2024``), and the first paragraph may open with a dateline
    (``WASHINGTON, Nov. 19 (Reuters) -``): their dates are date lines, read as the publication date.
    """
    lines = list(_lines(text))
    if not lines:
        return Page(segments=())
    segments: list[Segment] = []
    fields: dict[str, Field] = {}
    i, pos = 0, 0
    if not _BYLINE.fullmatch(text, *lines[0]):
        fields["title"] = field_at(text, *lines[0])
        segments.append(Segment(fields["title"].start, fields["title"].end, "title"))
        i, pos = 1, lines[0][1]
    if i < len(lines) and (m := _BYLINE.fullmatch(text, *lines[i])):
        _read_byline(text, m, segments, fields)
        pos = lines[i][1]
    for n, (start, end) in enumerate(_paragraphs(text, pos)):
        if n == 0 and (line := _DATELINE.match(text, start, end)) and _absolute_dates(text, *line.span()):
            segments.append(Segment(start, start + len(text[start : line.end()].rstrip()), "dateline"))
            start = line.end()
        if start < end:
            segments.append(Segment(start, end, "body"))
    segments.sort(key=lambda seg: seg.start)
    return Page(
        segments=tuple(segments),
        title=fields.get("title"),
        byline=fields.get("byline"),
        publisher=fields.get("publisher"),
    )


# a wire dateline opening the story: PLACE[, State][, Month Day] [(Agency)] -
_DATELINE = re.compile(
    r"[A-Z][A-Z.'-]*(?: [A-Z][A-Z.'-]*)*(?:, [A-Z][A-Za-z.]*(?: [A-Z][A-Za-z.]*)*)?"
    r"(?:, [A-Za-z0-9., ]{3,24}?)? ?(?:\([A-Za-z ]{2,24}\))? ?(?:--|[-–—]) ?"
)
_ABSOLUTE = frozenset({"mdy", "dmy", "iso", "numeric"})


def _absolute_dates(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Character ranges of the dates with a month and day in text[start:end]."""
    return [(m.start, m.end) for m in scan_segment(text, start, end, "") if m.kind in _ABSOLUTE]


def _read_byline(text: str, m: re.Match[str], out: list[Segment], fields: dict[str, Field]) -> None:
    """A 'By' line: the author, then (comma-separated) a publisher and a date, each its own segment."""
    dates = _absolute_dates(text, m.start("name"), m.end("name"))
    head_end = dates[0][0] if dates else m.end("name")
    parts = _comma_parts(text, m.start("name"), head_end)
    name = field_at(text, *parts[0]) if parts else field_at(text, m.start("name"), head_end)
    fields["byline"] = name
    out.append(Segment(m.start(), name.end, "byline"))
    if len(parts) > 1 and (publisher := field_at(text, *parts[1])).value:
        fields["publisher"] = publisher
        out.append(Segment(publisher.start, publisher.end, "publisher"))
    if dates:
        out.append(Segment(dates[0][0], dates[0][1], "dateline"))


def _comma_parts(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The comma-separated parts of text[start:end] that hold more than punctuation, as ranges."""
    parts, at = [], start
    for piece in text[start:end].split(","):
        if piece.strip(" ;|\u00b7-"):
            parts.append((at, at + len(piece)))
        at += len(piece) + 1
    return parts


def _paragraphs(text: str, pos: int) -> Iterator[tuple[int, int]]:
    for m in re.finditer(r"\S(?:.|\n(?![ \t\r\f\v]*\n))*", text[pos:]):
        block = field_at(text, pos + m.start(), pos + m.end())
        if block.value:
            yield block.start, block.end
