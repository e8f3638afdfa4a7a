"""Date roles: what the words around a date make it (an event, a plan, a deadline; on a date line, an update)."""

from __future__ import annotations

import re

_ROLE_BEFORE = re.compile(
    r"(?i:\b(?P<cue>by|until|till|before|no later than|deadline(?: of| is)?|due(?: on| by)?|expires?(?: on)?)"
    r"\s+(?:the\s+)?$)"
)
_FUTURE = re.compile(
    r"(?i:\b(?:will|won't|shall|going to|plans? to|planned|planning|scheduled|expected to|set to|due to"
    r"|is to|are to|upcoming|must|would have to|deadline|slated|takes? effect|goes into effect|go into effect)\b|'ll\b)"
)
_PERFECT = re.compile(r"(?i:\b(?:had|has|have|was|were)\b)")
_SENTENCE_END = re.compile(r"[.!?]\s+(?=[A-Z\"“])")
_UPDATED_CUE = re.compile(r"(?i:\b(?:updated|modified|revised|edited)\b)")
_PUBLISHED_CUE = re.compile(r"(?i:\b(?:published|posted|first published)\b)")


def sentence_bounds(text: str, start: int, end: int, lo: int, hi: int) -> tuple[int, int]:
    """The sentence around text[start:end], kept inside [lo, hi)."""
    begin = lo
    for m in _SENTENCE_END.finditer(text, max(lo, start - 300), start):
        begin = m.end()
    stop = _SENTENCE_END.search(text, end, min(hi, end + 300))
    return begin, (stop.start() + 1 if stop else min(hi, end + 300))


def role_cue(text: str, start: int, end: int, lo: int, hi: int, *, cue_before: bool = False) -> str:
    """Role that the words around a dated expression give it: deadline, plan or event.

    With ``cue_before`` (bare weekdays) only a future cue before the date makes it a plan: "will meet on
    Wednesday" is ahead, "On Monday, PolitiFact announced it will ..." is not.
    """
    s_begin, s_end = sentence_bounds(text, start, end, lo, hi)
    before = text[max(s_begin, start - 40) : start]
    clause = text[max(s_begin, start - 60) : start if cue_before else min(s_end, end + 40)]
    future = _FUTURE.search(clause) is not None
    if _ROLE_BEFORE.search(before):
        # "By October 2, 12,000 had entered" is a count as of a past date, not a deadline
        return "deadline" if future or not _PERFECT.search(clause) else "event"
    return "plan" if future else "event"


def line_role(text: str, start: int, lo: int) -> str:
    """Role of a date on a date line: updated when an update cue precedes it, else publication."""
    before = text[lo:start]
    updated = list(_UPDATED_CUE.finditer(before))
    published = list(_PUBLISHED_CUE.finditer(before))
    if updated and (not published or updated[-1].start() > published[-1].start()):
        return "updated"
    return "publication"


def has_past_cue(text: str, start: int, end: int) -> bool:
    """True when the sentence around a date puts it in the past ('had entered', 'was signed', 'have fled')."""
    s_begin, s_end = sentence_bounds(text, start, end, 0, len(text))
    return _PERFECT.search(text, max(s_begin, start - 60), min(s_end, end + 60)) is not None
