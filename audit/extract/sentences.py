"""How a paragraph reads: its sentences as character ranges, and where quotations are open.

Number detection and attribution both read these; neither owns them.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

# a full stop after one of these words (or after a single letter: an initial) ends no sentence; after a
# figure it does ('from March 1-8. Sanders received ...')
ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "gov",
        "sen",
        "rep",
        "st",
        "jr",
        "sr",
        "inc",
        "corp",
        "co",
        "ltd",
        "vs",
        "etc",
        "no",
        "nos",
        "fig",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "gen",
        "col",
        "lt",
        "sgt",
        "capt",
        "rev",
        "mt",
        "ft",
        "ave",
        "u.s",
        "a.m",
        "p.m",
        "e.g",
        "i.e",
        "approx",
        "est",
        "dept",
        "univ",
    ]
)
SENTENCE_END = re.compile(r"[.!?]+[\"”’')\]]*\s+(?=(?:''|[\"“‘'(\[])?[A-Z0-9])")

# starts only where a run of word characters and dots starts, and never gives it back (same matches, linear)
_LAST_WORD = re.compile(r"(?<![\w.])([\w.]++)[.!?]*+$")

# A "sentence" longer than this (a list of links, a page without full stops) is cut at spaces: cues read
# back to the sentence's start, so one 100k-character run with a cue every few words was quadratic.
MAX_SENTENCE = 4_000  # the corpus's longest is 3,731 (a Russian recipe the splitter cannot cut)


def split_sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence ranges [start, end) of text[start:end], not splitting after common abbreviations."""
    out: list[tuple[int, int]] = []
    s = start
    for m in SENTENCE_END.finditer(text, start, end):
        word = _LAST_WORD.search(text[max(s, m.start() - 12) : m.start() + 1])
        w = word.group(1).lower().rstrip(".") if word else ""
        if text[m.start()] == "." and (w in ABBREVIATIONS or (len(w) == 1 and w.isalpha())):
            continue
        out.extend(_bounded(text, s, m.start() + len(m.group(0).rstrip())))
        s = m.end()
    if s < end:
        out.extend(_bounded(text, s, end))
    return out


def _bounded(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """[start, end) as it is, or cut at the last space before each MAX_SENTENCE characters."""
    out: list[tuple[int, int]] = []
    while end - start > MAX_SENTENCE:
        space = text.rfind(" ", start + MAX_SENTENCE // 2, start + MAX_SENTENCE)
        cut, after = (space, space + 1) if space >= 0 else (start + MAX_SENTENCE, start + MAX_SENTENCE)
        out.append((start, cut))
        start = after
    out.append((start, end))
    return out


class Quotes:
    """Which offsets of a text stand inside a quotation (curly, straight or '' marks), counted from ``start``.

    Not a dataclass: it keeps the mark counts at each of a few checkpoints (sentence starts), so asking
    about any offset costs one sentence's length, not the paragraph's (a paragraph of 10,000 quoted
    sentences was quadratic).
    """

    def __init__(self, text: str, start: int, checkpoints: Sequence[int]) -> None:
        self.text = text
        self.starts = [start]
        self.counts = [(0, 0, 0, 0)]
        for at in checkpoints:
            if at > self.starts[-1]:
                self.counts.append(_add(self.counts[-1], _marks(text, self.starts[-1], at)))
                self.starts.append(at)

    def open_at(self, at: int) -> bool:
        """True when a quotation is open at offset ``at``."""
        i = max(0, bisect.bisect_right(self.starts, at) - 1)
        opened, closed, straight, doubled = _add(self.counts[i], _marks(self.text, self.starts[i], at))
        return opened > closed or straight % 2 == 1 or doubled % 2 == 1


def _marks(text: str, start: int, end: int) -> tuple[int, int, int, int]:
    """Counts of opening and closing curly quotes, straight double quotes and doubled apostrophes."""
    head = text[start:end]
    return head.count("\u201c"), head.count("\u201d"), head.count('"'), head.count("''")


def _add(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    return a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]
