"""Date analyser: every date in the story and on its date lines, resolved against the story's own clock.

``find_dates`` scans the page's date lines (page-date, relative-date, dateline segments) and the main
story, reads the date lines and any HTML metadata as competing readings of the publication and capture
dates, picks the reading under which the story's dated events do not fall after publication, and then
resolves every expression against that clock. Facts only: the rules are in ``expectations/dates.json``.
"""

from __future__ import annotations

import datetime as dt
import importlib
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from audit.extract.date_clock import (
    LineDate,
    Reading,
    Verdict,
    age_of,
    choose_reading,
    describe_conflicts,
    readings_from,
)
from audit.extract.date_html import PageDates, page_dates_from_html
from audit.extract.date_patterns import Match, amount_value, ascii_lower, scan_segment
from audit.extract.date_periods import PERIOD_WORDS, PERIODS, narrow, resolve_named_period, resolve_period
from audit.extract.date_resolve import (
    UNRESOLVED,
    Resolution,
    duration_days,
    resolve_absolute,
    resolve_after_before,
    resolve_numeric,
    resolve_relative,
    resolve_year,
    safe_date,
)
from audit.extract.date_roles import has_past_cue, line_role, role_cue
from audit.extract.segments import Segment

__all__ = ["Clock", "DateFact", "PageDates", "find_dates", "page_dates_from_html"]

LINE_KINDS = frozenset({"page-date", "relative-date", "dateline"})
ABSOLUTE = frozenset({"iso", "mdy", "dmy", "month-year", "month"})
RELATIVE = frozenset({"ago", "word", "span", "this-next-last", "weekday"})
LINE_DATE_FORMS = frozenset({"iso", "mdy", "dmy", "numeric"})
_FUTURE_WORDS = frozenset({"tomorrow", "next", "coming"})


@dataclass(frozen=True, slots=True, kw_only=True)
class DateFact:
    """A date or time expression at text[start:end], resolved against an anchor, with its role.

    The ``DateMention`` record before placement: a field of the same name is the same column (see
    ``build.carried``); ``start`` and ``end`` are characters of the text, not bytes of the seed.
    """

    start: int
    end: int
    text: str
    form: str
    resolved: dt.date | None
    resolved_end: dt.date | None
    resolution: str
    anchor: dt.date | None
    anchor_kind: str | None
    role: str
    block_kind: str
    weekday: str | None = None
    weekday_ok: bool | None = None
    duration_days: int | None = None
    days_from_published: int | None = None
    after_publication: bool | None = None
    days_outside_timeline: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Clock:
    """The article's publication, capture and update dates, the evidence that decided, and conflicts."""

    published_at: dt.date | None
    published_method: str
    captured_at: dt.date | None
    captured_method: str
    updated_at: dt.date | None = None
    published_index: int | None = None
    captured_index: int | None = None
    conflicts: tuple[str, ...] = ()


def story_role(text: str, m: Match, seg: Segment) -> str:
    """The role of a story date: duration, time, or the event/plan/deadline its words give it."""
    if m.kind == "duration":
        return "duration"
    if m.kind == "time":
        return "time"
    words = text[m.start : m.end].lower().split()
    if m.kind in ("word", "this-next-last", "weekday", "span") and words and words[0] in _FUTURE_WORDS:
        return "plan"
    if m.kind in ("ago", "word") or (words and words[0] in ("last", "past", "earlier")):
        return "event"
    return role_cue(text, m.start, m.end, seg.start, seg.end, cue_before=m.kind == "weekday")


def resolve_match(
    m: Match,
    role: str,
    anchor: dt.date | None,
    anchor_kind: str | None,
    previous: tuple[dt.date, dt.date | None] | None,
) -> Resolution:
    """Resolve one match with the resolver for its form, narrowed by 'early', 'mid', 'late' or 'the end of'."""
    res = _resolve_kind(m, role, anchor, anchor_kind, previous)
    if m.get("mod") and res.resolved is not None and res.resolved_end is not None:
        first, last = narrow(res.resolved, res.resolved_end, m.get("mod"))
        res = replace(res, resolved=first, resolved_end=last)
    return res


def _resolve_kind(
    m: Match,
    role: str,
    anchor: dt.date | None,
    anchor_kind: str | None,
    previous: tuple[dt.date, dt.date | None] | None,
) -> Resolution:
    """The resolver for the match's kind."""
    if m.kind in PERIODS:
        return resolve_period(m, role, anchor, anchor_kind, previous)
    if m.kind == "this-next-last" and (m.get("what") or "").lower() in PERIOD_WORDS:
        return resolve_named_period(m, anchor, anchor_kind) if anchor else UNRESOLVED
    if m.kind in ABSOLUTE:
        return resolve_absolute(m, anchor, anchor_kind, role)
    if m.kind == "numeric":
        return resolve_numeric(m, anchor, anchor_kind)
    if m.kind in RELATIVE:
        return resolve_relative(m, anchor, anchor_kind, role)
    if m.kind == "after-before":
        return resolve_after_before(m, previous[0] if previous else None)
    if m.kind in ("year", "decade"):
        return resolve_year(m)
    if m.kind == "duration":
        amount, unit = m.get("amt") or "1", m.get("unit") or "day"
        days = duration_days(amount_value(amount), unit)
        return Resolution(None, None, "duration", duration_days=days)
    return Resolution(None, None, "time-of-day")


def resolve_story(
    story: Sequence[tuple[int, Match, str]], published: dt.date | None
) -> list[tuple[int, Match, str, Resolution]]:
    """Resolve the story's expressions (with their roles) against one publication date, in text order."""
    out: list[tuple[int, Match, str, Resolution]] = []
    previous: tuple[dt.date, dt.date | None] | None = None
    for index, m, role in story:
        res = resolve_match(m, role, published, "published", previous)
        if res.resolved is not None and role not in ("duration", "time"):  # the date just mentioned
            previous = (res.resolved, res.resolved_end)
        out.append((index, m, role, res))
    return out


@lru_cache(maxsize=4096)
def parse_line_fallback(line: str) -> dt.date | None:
    """An absolute date on a date line that the regexes missed, read by dateparser with a pinned base."""
    # imported late: slow to import and rarely needed
    dateparser = importlib.import_module("dateparser")
    found = dateparser.parse(
        line,
        languages=["en"],
        settings={
            "RELATIVE_BASE": dt.datetime(2000, 1, 1),
            "PREFER_DATES_FROM": "past",
            "STRICT_PARSING": True,
            "PARSERS": ["custom-formats", "absolute-time"],
        },
    )
    return found.date() if isinstance(found, dt.datetime) else None


def scan(text: str, segments: Sequence[Segment]) -> list[tuple[Match, Segment]]:
    """Date expressions on the date lines and in the main story, in text order."""
    chosen = sorted((s for s in segments if s.kind in LINE_KINDS or s.is_main), key=lambda s: s.start)
    lower = ascii_lower(text)
    out: list[tuple[Match, Segment]] = []
    for window in merge_windows(chosen):
        # one scan per run of nearby segments: regex calls, not characters, dominate the cost
        starts = [s.start for s in window]
        for m in scan_segment(text, window[0].start, max(s.end for s in window), "", lower):
            seg = window[max(0, bisect_right(starts, m.start) - 1)]
            if seg.start <= m.start and m.end <= seg.end:
                out.append((Match(m.kind, m.start, m.end, m.groups, seg.kind), seg))
    return out


def merge_windows(segments: Sequence[Segment], gap: int = 400) -> list[list[Segment]]:
    """Runs of segments (sorted by start) whose gaps are short, each run scanned as one window."""
    windows: list[list[Segment]] = []
    end = 0  # the current window's furthest end, kept as it grows (a page can have 100k paragraphs)
    for seg in segments:
        if (
            windows
            and seg.start - end <= gap
            and seg.kind not in LINE_KINDS
            and windows[-1][-1].kind not in LINE_KINDS
        ):
            windows[-1].append(seg)
            end = max(end, seg.end)
        else:
            windows.append([seg])
            end = seg.end
    return windows


def line_evidence(
    text: str, matches: Sequence[tuple[Match, Segment]]
) -> tuple[list[LineDate], tuple[int, str] | None, int | None, dict[int, Resolution]]:
    """Absolute dates on the date lines, the relative age line, and their anchor-free resolutions."""
    lines: list[LineDate] = []
    age: tuple[int, str] | None = None
    age_index: int | None = None
    fixed: dict[int, Resolution] = {}
    latest = latest_story_date(matches)
    for index, (m, seg) in enumerate(matches):
        if seg.kind == "relative-date" and m.kind in ("ago", "word") and age is None:
            age, age_index = age_of(m), index
        elif seg.kind in ("page-date", "dateline") and m.kind in LINE_DATE_FORMS:
            res = resolve_match(m, "publication", None, None, None)
            if res.resolution == "yearless-no-anchor" and latest is not None:
                res = dateline_year_from_story(m, latest)
            if res.resolved is not None:
                fixed[index] = res
                role = line_role(text, m.start, seg.start)
                lines.append(LineDate(index, res.resolved, role, f"{seg.kind}-line"))
    return lines, age, age_index, fixed


def latest_story_date(matches: Sequence[tuple[Match, Segment]]) -> dt.date | None:
    """The latest full date (with its year) written in the story, outside the date lines."""
    days = [
        resolve_match(m, "event", None, None, None).resolved
        for m, seg in matches
        if seg.kind not in LINE_KINDS and m.kind in ("iso", "mdy", "dmy") and m.get("y")
    ]
    return max((d for d in days if d is not None), default=None)


def dateline_year_from_story(m: Match, latest: dt.date) -> Resolution:
    """A yearless dateline ('WASHINGTON, Nov. 19 (Reuters) -'): the first such day on or after the story's
    latest full date, since a story is published after the events it dates in full."""
    res = resolve_match(m, "plan", latest - dt.timedelta(days=1), "story-latest-date", None)
    if res.resolved is None:
        return res
    day = (
        res.resolved
        if res.resolved >= latest
        else safe_date(latest.year + 1, res.resolved.month, res.resolved.day)
    )
    if day is None:
        return UNRESOLVED
    return Resolution(day, None, "yearless-inferred-dateline", latest, "story-latest-date")


def fallback_lines(text: str, segments: Sequence[Segment]) -> list[DateFact]:
    """Date-line segments with no regex date, read by dateparser as a whole."""
    facts = []
    for seg in segments:
        if seg.kind not in ("page-date", "dateline") or scan_segment(text, seg.start, seg.end, seg.kind):
            continue
        raw = text[seg.start : seg.end]
        start = seg.start + len(raw) - len(raw.lstrip())
        end = seg.start + len(raw.rstrip())
        day = parse_line_fallback(text[start:end][:80]) if end > start else None
        if day is not None:
            facts.append(DateFact(start=start, end=end, text=text[start:end], form="dateparser", resolved=day,
                                  resolved_end=None, resolution="dateparser", anchor=None, anchor_kind=None,
                                  role=line_role(text, start, seg.start), block_kind=seg.kind))  # fmt: skip
    return facts


def make_fact(text: str, m: Match, role: str, res: Resolution, published: dt.date | None) -> DateFact:
    """A fact from a match, its role and resolution, with its distance from publication."""
    days = (res.resolved - published).days if res.resolved and published else None
    return DateFact(
        start=m.start, end=m.end, text=text[m.start : m.end], form=m.kind,
        resolved=res.resolved, resolved_end=res.resolved_end, resolution=res.resolution,
        anchor=res.anchor, anchor_kind=res.anchor_kind, role=role, block_kind=m.block_kind,
        weekday=res.weekday, weekday_ok=res.weekday_ok, duration_days=res.duration_days,
        days_from_published=days, after_publication=None if days is None else days > 0,
    )  # fmt: skip


def line_fact_role(res: Resolution, cue_role: str, reading: Reading | None) -> str:
    """The role of a date-line date under the chosen reading: publication, capture or updated."""
    if cue_role == "updated" or reading is None:
        return cue_role
    if res.resolved == reading.captured_at and res.resolved != reading.published_at:
        return "capture"
    return "publication"


def find_dates(
    text: str, segments: Sequence[Segment], *, page: PageDates | None = None
) -> tuple[tuple[DateFact, ...], Clock]:
    """Every date fact in the date lines and main story, and the clock decided from all the evidence."""
    matches = scan(text, segments)
    lines, age, age_index, fixed = line_evidence(text, matches)
    extra = fallback_lines(text, segments)
    lines.extend(LineDate(None, f.resolved, f.role, f"{f.block_kind}-line") for f in extra if f.resolved)
    story = [
        (i, m, story_role(text, m, seg)) for i, (m, seg) in enumerate(matches) if seg.kind not in LINE_KINDS
    ]
    readings = readings_from(lines, age, age_index, page)
    resolved: dict[dt.date | None, list[tuple[int, Match, str, Resolution]]] = {}

    def resolve(published: dt.date | None) -> list[tuple[int, Match, str, Resolution]]:
        # readings often share a publication date, and the chosen one was resolved while choosing
        if published not in resolved:
            resolved[published] = resolve_story(story, published)
        return resolved[published]

    chosen = choose_reading(readings, resolve)
    reading = chosen.reading if chosen else None
    published = reading.published_at if reading else None
    captured = reading.captured_at if reading else None
    by_index = {i: (role, res) for i, _, role, res in resolve(published)}
    facts: list[DateFact] = []
    for index, (m, seg) in enumerate(matches):
        if index in by_index:
            role, res = by_index[index]
        elif index in fixed:
            cue = line_role(text, m.start, seg.start)
            role, res = line_fact_role(fixed[index], cue, reading), fixed[index]
        else:
            res = resolve_match(m, "publication", captured, "captured", None)
            role = "publication" if seg.kind == "relative-date" else "event"
            if seg.kind in ("page-date", "dateline") and m.kind in LINE_DATE_FORMS:
                role = line_role(text, m.start, seg.start)  # a date line it could not place is still one
        facts.append(make_fact(text, m, role, res, published))
    facts.extend(make_fact_line(f, published) for f in extra)
    facts.sort(key=lambda f: f.start)
    facts = place_on_timeline(text, facts, published)
    clock = build_clock(text, chosen, readings, lines, page, facts, matches)
    return tuple(facts), clock


# only dates no wider than a month place the story in time ("this year" or "the 1990s" would swallow it)
TIMELINE_WIDTH_DAYS = 31
_YEAR_INFERRED = ("yearless-inferred", "month-inferred-year")
# measured only for yearless days of story events in the past tense: a yearless month ("in April" said in
# January), a plan ahead ("in November") or a date with no tense ("the April 19 primary") lies outside the
# timeline in ordinary prose (PolNeAR: 176 of 959 yearless dates with months and plans, 69 of 290 without a tense)
_DAY_INFERRED = ("yearless-inferred-past", "yearless-inferred-near-future", "yearless-inferred-future")


def place_on_timeline(text: str, facts: list[DateFact], published: dt.date | None) -> list[DateFact]:
    """Facts with days_outside_timeline set for every story event on a day whose year was inferred from a
    past tense ('had entered', 'was signed'): the text itself then places it in the past.

    The story's timeline runs from its earliest to its latest dated event (dates whose year the text
    gives or that are relative to publication) and includes the publication date and, since a date is
    written without its year when it is in the year of publication, that year's first day: "on March 3"
    in an October story is inside it. A yearless date far outside it ("By October 22" in an October 4
    story about late September, read as last October) is a likely typo, not last year's date: the
    distance is recorded and a rule in expectations/dates.json judges it.
    """
    points = [(f.resolved, f.resolved_end or f.resolved) for f in facts if f.resolved and _on_timeline(f)]
    if published is not None:
        points.extend([(published, published), (dt.date(published.year, 1, 1),) * 2])
    if not points:
        return facts
    lo, hi = min(p[0] for p in points), max(p[1] for p in points)
    out = []
    for f in facts:
        if (
            f.resolved is not None
            and f.role == "event"
            and f.resolution.startswith(_DAY_INFERRED)
            and has_past_cue(text, f.start, f.end)
        ):
            end = f.resolved_end or f.resolved
            gap = max((lo - end).days, (f.resolved - hi).days, 0)
            f = replace(f, days_outside_timeline=gap)
        out.append(f)
    return out


def _on_timeline(f: DateFact) -> bool:
    """True for a dated story event that places the story in time (its year not inferred, at most a month wide)."""
    if f.role != "event" or f.resolved is None or f.resolution.startswith(_YEAR_INFERRED):
        return False
    return ((f.resolved_end or f.resolved) - f.resolved).days <= TIMELINE_WIDTH_DAYS


def make_fact_line(fact: DateFact, published: dt.date | None) -> DateFact:
    """A dateparser-read line fact with its distance from publication filled in."""
    days = (fact.resolved - published).days if fact.resolved and published else None
    return replace(fact, days_from_published=days, after_publication=None if days is None else days > 0)


def build_clock(
    text: str,
    chosen: Verdict | None,
    readings: Sequence[Reading],
    lines: Sequence[LineDate],
    page: PageDates | None,
    facts: Sequence[DateFact],
    matches: Sequence[tuple[Match, Segment]],
) -> Clock:
    """The clock from the chosen reading, with fact indices remapped to the sorted facts."""
    updated = max((ln.day for ln in lines if ln.role == "updated"), default=None)
    if page is not None and page.updated_at is not None:
        updated = max(updated or page.updated_at, page.updated_at)
    if chosen is None:
        return Clock(published_at=None, published_method="none", captured_at=page.captured_at if page else None,
                     captured_method="page-captured-at" if page and page.captured_at else "none",
                     updated_at=updated)  # fmt: skip
    r = chosen.reading
    starts = [f.start for f in facts]

    def to_fact(index: int | None) -> int | None:
        return None if index is None else starts.index(matches[index][0].start)

    def text_of(index: int) -> str:
        m = matches[index][0]
        return text[m.start : m.end]

    conflicts = describe_conflicts(chosen, readings, lines, page, text_of)
    if updated is not None and r.published_at is not None and updated < r.published_at:
        conflicts = (*conflicts, f"updated {updated} is before publication {r.published_at}")
    return Clock(
        published_at=r.published_at, published_method=r.published_method,
        captured_at=r.captured_at, captured_method=r.captured_method, updated_at=updated,
        published_index=to_fact(r.published_index), captured_index=to_fact(r.captured_index),
        conflicts=conflicts,
    )  # fmt: skip


_INFERRED = ("relative-to", "yearless-inferred", "weekday-in-week")
_EXPLICIT = ("absolute", "iso", "numeric")


def is_inferred(resolution: str) -> bool | None:
    """True if a resolution method depends on an anchor, False if the date was written in full, else None."""
    if resolution.startswith(_INFERRED):
        return True
    if resolution.startswith(_EXPLICIT):
        return False
    return None
