"""The story's clock: publication and capture dates chosen as the reading that makes all date evidence agree."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from audit.extract.date_html import PageDates
from audit.extract.date_patterns import Match, amount_value
from audit.extract.date_resolve import Resolution, unit_delta

# Evidence weights: a violated story date outweighs any single claim; a weekday mention on or just
# before publication day ("said on Tuesday" in Tuesday's paper) is a weak hint.
W_VIOLATION = 3.0
W_WEEKDAY_NEAR = 0.5
W_LINE = 1.0
W_HTML = 2.0


@dataclass(frozen=True, slots=True)
class Reading:
    """One hypothesis: a publication and capture date, and which evidence states them."""

    published_at: dt.date | None
    captured_at: dt.date | None
    published_method: str
    captured_method: str
    prior: float
    published_index: int | None = None
    captured_index: int | None = None


@dataclass(frozen=True, slots=True)
class LineDate:
    """An absolute date printed on a date line (or in metadata) with the role its cue gives it."""

    index: int | None
    day: dt.date
    role: str
    source: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """The reading chosen, its score, and the story dates that still contradict it."""

    reading: Reading
    score: float
    violations: tuple[int, ...]
    conflicts: tuple[str, ...]


def age_of(m: Match) -> tuple[int, str]:
    """Amount and unit of a relative age line ('5 days ago' -> (5, 'day'); 'today' -> (0, 'day'))."""
    if m.kind == "ago":
        return amount_value(m.get("amt") or "1"), m.get("unit") or "day"
    return (1 if (m.get("w") or "").lower() == "yesterday" else 0), "day"


def readings_from(
    lines: Sequence[LineDate], age: tuple[int, str] | None, age_index: int | None, page: PageDates | None
) -> list[Reading]:
    """Every reading the date lines, the relative age line and the page metadata allow."""
    out: list[Reading] = []
    for line in (ln for ln in lines if ln.role == "publication"):
        captured = unit_delta(line.day, age[0], age[1], 1) if age else None
        cap_method = f"{line.source}-plus-relative-age" if age else "none"
        out.append(Reading(line.day, captured, line.source, cap_method, W_LINE, line.index, age_index))
        if age:
            published = unit_delta(line.day, age[0], age[1], -1)
            method = f"{line.source}-as-capture-minus-relative-age"
            out.append(Reading(published, line.day, method, line.source, 0.0, age_index, line.index))
    if page is not None and page.published_at is not None:
        captured = page.captured_at or (unit_delta(page.published_at, age[0], age[1], 1) if age else None)
        cap_method = (
            "page-captured-at" if page.captured_at else ("html-meta-plus-relative-age" if age else "none")
        )
        method = f"html-meta:{page.published_source or 'published'}"
        out.append(Reading(page.published_at, captured, method, cap_method, W_HTML))
    if not out and page is not None and page.captured_at is not None:
        guess = unit_delta(page.captured_at, age[0], age[1], -1) if age else None
        method = "capture-minus-relative-age" if age else "none"
        out.append(Reading(guess, page.captured_at, method, "page-captured-at", 0.0, age_index))
    return out


def score_reading(
    reading: Reading,
    readings: Sequence[Reading],
    resolve_story: Callable[[dt.date], Sequence[tuple[int, Match, str, Resolution]]],
) -> Verdict:
    """Score one reading: agreeing claims, minus story events it would put after publication."""
    published = reading.published_at
    agree = sum(r.prior for r in readings if r.published_at == published and r is not reading)
    if published is None:
        return Verdict(reading, reading.prior, (), ())
    violations: list[int] = []
    near = 0
    for index, m, role, res in resolve_story(published):
        if role != "event" or res.resolved is None:
            continue
        if res.resolved > published:
            violations.append(index)
        elif m.kind == "weekday" and (published - res.resolved).days <= 1:
            near += 1
    score = reading.prior + agree - W_VIOLATION * len(violations) + W_WEEKDAY_NEAR * near
    return Verdict(reading, score, tuple(violations), ())


def choose_reading(
    readings: Sequence[Reading],
    resolve_story: Callable[[dt.date], Sequence[tuple[int, Match, str, Resolution]]],
) -> Verdict | None:
    """The best-scoring reading; ties go to the earlier (more direct) one."""
    verdicts = [score_reading(r, readings, resolve_story) for r in readings]
    if not verdicts:
        return None
    return max(verdicts, key=lambda v: (v.score, -verdicts.index(v)))


def describe_conflicts(
    chosen: Verdict,
    readings: Sequence[Reading],
    lines: Sequence[LineDate],
    page: PageDates | None,
    texts: Callable[[int], str],
) -> tuple[str, ...]:
    """Human-readable conflicts between the chosen clock and the evidence it overrode."""
    r = chosen.reading
    out: list[str] = []
    default = readings[0] if readings else None
    if default is not None and default is not r and default.published_at != r.published_at:
        out.append(
            f"{default.published_method} reads {default.published_at} as publication, but "
            f"{r.published_method} ({r.published_at}) fits the story dates better"
        )
    others = {ln.day for ln in lines if ln.role == "publication"} - {r.published_at, r.captured_at}
    out.extend(f"date line says {d} but the clock decided {r.published_at}" for d in sorted(others))
    if page and page.published_at and r.published_at and page.published_at != r.published_at:
        out.append(f"html metadata says published {page.published_at}, the clock decided {r.published_at}")
    out.extend(
        f"story event '{texts(i)}' falls after publication {r.published_at}" for i in chosen.violations
    )
    return tuple(dict.fromkeys(out))
