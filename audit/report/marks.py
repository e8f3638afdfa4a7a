"""Highlighting seed bytes: ``Mark`` (a byte range to wrap in an element), ``render_marked``, which turns
bytes and marks into properly nested, escaped HTML, ``visible_text`` (bytes decoded as the seed was,
control characters shown as their Unicode pictures), and ``slug``, the HTML id and file name every page
makes of a record or rule id.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# C0 controls (but tab, newline, CR) and DEL, shown as their visible Unicode pictures
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True, kw_only=True)
class Mark:
    """A byte range to wrap in an element: layer 0 are blocks, layer 1 values; a value with an id is a link."""

    start: int
    end: int
    layer: int
    css: str
    title: str = ""
    record_id: str | None = None
    tag: str | None = None  # a short text label shown after the value, so colour is never the only cue


def visible_text(data: bytes, encoding: str) -> str:
    """Bytes decoded as the seed was, with control characters shown as their Unicode pictures."""
    return _pictures(data.decode(_codec(encoding), errors="replace"))


@functools.cache
def _codec(encoding: str) -> str:
    """The encoding if Python decodes text with it, else UTF-8."""
    try:
        b"".decode(encoding)
    except LookupError:
        return "utf-8"
    return encoding


def _pictures(text: str) -> str:
    return _CONTROLS.sub(_picture, text)


def _picture(m: re.Match[str]) -> str:
    return chr(0x2400 + (ord(m.group()) & 0x1F)) if m.group() != "\x7f" else "\u2421"


def _visible_html(text: str) -> str:
    return str(escape(_pictures(text)))


# joins values for one pass of a per-character conversion; a noncharacter, so text almost never holds it
_SEP = "\uffff"


def each(values: Sequence[str], convert: Callable[[str], str]) -> list[str]:
    """convert (which maps each character alone and keeps _SEP) of each value, in one call if it can be."""
    joined = _SEP.join(values)
    if not values or joined.count(_SEP) != len(values) - 1:  # a value holds the separator itself
        return [convert(v) for v in values]
    return convert(joined).split(_SEP)


def render_marked(data: bytes, encoding: str, start: int, end: int, marks: Iterable[Mark]) -> Markup:
    """Bytes [start, end) as escaped HTML, each mark a properly nested element (split where marks cross)."""
    codec = _codec(encoding)
    tags: list[str] = []
    texts: list[str] = []
    for before, a, b in _pieces(start, end, marks):
        tags.append(before)
        texts.append(data[a:b].decode(codec, errors="replace"))
    html = each(texts, _visible_html)
    return Markup("".join(itertools.chain.from_iterable(zip(tags, html, strict=True))))


def _pieces(start: int, end: int, marks: Iterable[Mark]) -> Iterator[tuple[str, int, int]]:
    """(the tags that close and open before it, its start, its end) for each piece of [start, end).

    Pieces are cut where a mark begins or ends; the last piece is empty and closes what is open.
    """
    marks = sorted(
        (m for m in marks if m.start < m.end and m.start < end and m.end > start),
        key=lambda m: (m.start, m.layer, -m.end),
    )
    cuts = sorted({start, end, *(max(start, m.start) for m in marks), *(min(end, m.end) for m in marks)})
    stack: list[Mark] = []
    active: list[Mark] = []
    opened: set[int] = set()
    i = 0
    for a, b in itertools.pairwise(cuts):
        active = [m for m in active if m.end > a]
        while i < len(marks) and marks[i].start <= a:
            active.append(marks[i])
            i += 1
        want = sorted(active, key=lambda m: (m.layer, m.start, -m.end, m.css))
        keep = 0
        while keep < min(len(stack), len(want)) and stack[keep] is want[keep]:
            keep += 1
        tags = [_close(m) for m in reversed(stack[keep:])]
        for m in want[keep:]:
            tags.append(_open(m, first=id(m) not in opened))
            opened.add(id(m))
        stack = want
        yield "".join(tags), a, b
    yield "".join(_close(m) for m in reversed(stack)), end, end


def _open(m: Mark, first: bool) -> str:
    title = f' title="{escape(m.title)}"' if m.title else ""
    if m.record_id is None:
        return f'<span class="{escape(m.css)}"{title}>'
    rid = escape(slug(m.record_id))
    ident = f' id="m-{rid}"' if first else ""
    tag = f' data-tag="{escape(m.tag)}"' if m.tag and first else ""
    return f'<a class="{escape(m.css)}" href="#r-{rid}" data-r="{rid}"{ident}{tag}{title}>'


def _close(m: Mark) -> str:
    return "</span>" if m.record_id is None else "</a>"


def slug(text: str) -> str:
    """A string safe as an HTML id and a file name: letters, digits, dash, underscore."""
    return _UNSAFE.sub("_", text)[:120]


_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
