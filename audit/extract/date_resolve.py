"""Date resolution: one matched expression plus its anchor to a calendar date or interval, with the method."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from audit.extract.date_patterns import WEEKDAYS, Match, amount_value, month_number

DAY = dt.timedelta(days=1)
# A yearless event date this close after publication is read as this year's (and then flagged), not last year's.
NEAR_FUTURE_DAYS = 7
FUTURE_ROLES = frozenset({"plan", "deadline"})


@dataclass(frozen=True, slots=True)
class Resolution:
    """A resolved date or interval, how it was resolved and against which anchor."""

    resolved: dt.date | None
    resolved_end: dt.date | None
    resolution: str
    anchor: dt.date | None = None
    anchor_kind: str | None = None
    weekday: str | None = None
    weekday_ok: bool | None = None
    duration_days: int | None = None


UNRESOLVED = Resolution(None, None, "unresolved")


def safe_date(year: int, month: int, day: int) -> dt.date | None:
    """The date, or None when it does not exist (30 February, 29 February 2023)."""
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day of the month `months` later (or earlier), clipped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def month_interval(year: int, month: int) -> tuple[dt.date, dt.date]:
    """First and last day of a calendar month."""
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def infer_year(month: int, day: int, anchor: dt.date, role: str) -> tuple[dt.date | None, str]:
    """The year for a yearless date: past for events (unless days ahead), nearest-future for plans."""
    options = [d for y in (anchor.year - 1, anchor.year, anchor.year + 1) if (d := safe_date(y, month, day))]
    if not options:
        return None, "invalid-date"
    past = [d for d in options if d <= anchor]
    future = [d for d in options if d > anchor]
    if role in FUTURE_ROLES:
        nearest = min(options, key=lambda d: (abs((d - anchor).days), d < anchor))
        return nearest, "yearless-inferred-nearest"
    if future and (future[0] - anchor).days <= NEAR_FUTURE_DAYS:
        return future[0], "yearless-inferred-near-future"
    if past:
        return past[-1], "yearless-inferred-past"
    return future[0], "yearless-inferred-future"


def weekday_near(anchor: dt.date, weekday: int, direction: str) -> dt.date:
    """The weekday on or before the anchor ("before"), strictly after ("after"), or strictly before ("last")."""
    if direction == "after":
        return anchor + DAY * ((weekday - anchor.weekday() - 1) % 7 + 1)
    if direction == "last":
        return anchor - DAY * ((anchor.weekday() - weekday - 1) % 7 + 1)
    return anchor - DAY * ((anchor.weekday() - weekday) % 7)


def check_weekday(m: Match, day: dt.date | None) -> tuple[str | None, bool | None]:
    """The weekday named beside an absolute date and whether it is that date's weekday."""
    name = m.get("wd")
    if name is None:
        return None, None
    full = next(w for w in WEEKDAYS if w.startswith(name.lower().rstrip(".")[:3]))
    return full.capitalize(), (None if day is None else WEEKDAYS[day.weekday()] == full)


def resolve_absolute(m: Match, anchor: dt.date | None, anchor_kind: str | None, role: str) -> Resolution:
    """Dates with a month name or ISO form; yearless ones take their year from the anchor."""
    month = int(m.get("m") or 0) or month_number(m.get("mon") or "")
    day_text = (m.get("d") or "").rstrip("stndrh")
    year_text = m.get("y")
    if m.kind in ("month-year", "month"):
        if year_text is None:
            if anchor is None:
                return UNRESOLVED
            said = (m.get("ry") or "").lower()
            if said:  # "May last year", "the end of May this year"
                year = anchor.year + {"last": -1, "next": 1}.get(said, 0)
                first, last = month_interval(year, month)
                return Resolution(first, last, f"month-relative-to-{anchor_kind}", anchor, anchor_kind)
            if role in FUTURE_ROLES:  # "early January" in a May story about plans: the coming January
                year = anchor.year if month >= anchor.month else anchor.year + 1
            else:
                year = anchor.year if month <= anchor.month else anchor.year - 1
            first, last = month_interval(year, month)
            return Resolution(first, last, "month-inferred-year", anchor, anchor_kind)
        first, last = month_interval(int(year_text), month)
        return Resolution(first, last, "month-year")
    if year_text is not None:
        resolved = safe_date(int(year_text), month, int(day_text))
        name, ok = check_weekday(m, resolved)
        method = "iso" if m.kind == "iso" else "absolute"
        res = Resolution(resolved, None, method if resolved else "invalid-date", weekday=name, weekday_ok=ok)
        return day_range(m, res)
    if anchor is None:
        return Resolution(None, None, "yearless-no-anchor", weekday=check_weekday(m, None)[0])
    resolved, method = infer_year(month, int(day_text), anchor, role)
    name, ok = check_weekday(m, resolved)
    return day_range(m, Resolution(resolved, None, method, anchor, anchor_kind, weekday=name, weekday_ok=ok))


def day_range(m: Match, res: Resolution) -> Resolution:
    """'Nov. 3-5': the range's last day as resolved_end (a range that runs backwards is an invalid date)."""
    last = (m.get("d2") or "").rstrip("stndrh")
    if not last or res.resolved is None:
        return res
    end = safe_date(res.resolved.year, res.resolved.month, int(last))
    if end is None or end <= res.resolved:
        return Resolution(None, None, "invalid-date")
    return Resolution(
        res.resolved, end, res.resolution, res.anchor, res.anchor_kind, res.weekday, res.weekday_ok
    )


def numeric_readings(m: Match) -> list[tuple[str, dt.date]]:
    """The month/day and day/month readings of a numeric date that exist."""
    a, b = int(m.get("a") or 0), int(m.get("b") or 0)
    year_text = m.get("y") or ""
    year = int(year_text) if len(year_text) == 4 else 2000 + int(year_text)
    readings = [("mdy", safe_date(year, a, b)), ("dmy", safe_date(year, b, a))]
    found = [(k, d) for k, d in readings if d is not None]
    return found[:1] if len(found) == 2 and found[0][1] == found[1][1] else found


def resolve_numeric(m: Match, anchor: dt.date | None, anchor_kind: str | None) -> Resolution:
    """A numeric date; when both orders exist, the reading nearest the anchor (not after it) wins."""
    found = numeric_readings(m)
    if not found:
        return Resolution(None, None, "invalid-date")
    if len(found) == 1:
        return Resolution(found[0][1], None, f"numeric-{found[0][0]}")
    if anchor is None:
        return Resolution(found[0][1], None, "numeric-ambiguous-mdy")
    kind, day = min(found, key=lambda kd: (kd[1] > anchor, abs((kd[1] - anchor).days)))
    return Resolution(day, None, f"numeric-ambiguous-{kind}", anchor, anchor_kind)


def unit_delta(anchor: dt.date, amount: int, unit: str, sign: int) -> dt.date:
    """The anchor moved by an amount of minutes/hours (same day), days, weeks, months, years or decades."""
    unit = unit.lower().rstrip("s")
    if unit in ("minute", "min", "hour", "hr"):
        return anchor
    if unit in ("day", "week"):
        return anchor + sign * DAY * amount * (7 if unit == "week" else 1)
    months = {"month": 1, "year": 12, "decade": 120}[unit] * amount
    return add_months(anchor, sign * months)


def duration_days(amount: int, unit: str) -> int:
    """Approximate length of a duration in days."""
    per = {"minute": 0, "min": 0, "hour": 0, "hr": 0, "day": 1, "week": 7, "month": 30, "year": 365}
    return amount * per.get(unit.lower().rstrip("s"), 3650)


def resolve_period(what: str, direction: str, anchor: dt.date) -> tuple[dt.date, dt.date | None] | None:
    """'last week', 'this month', 'next year', 'this morning' as an interval around the anchor."""
    step = {"last": -1, "past": -1, "next": 1, "coming": 1}.get(direction, 0)
    what = what.lower()
    if what in ("morning", "afternoon", "evening"):
        return anchor, None
    if what in ("week", "weekend"):
        monday = anchor - DAY * anchor.weekday() + DAY * 7 * step
        return (monday + DAY * 5, monday + DAY * 6) if what == "weekend" else (monday, monday + DAY * 6)
    if what == "month":
        first = add_months(anchor.replace(day=1), step)
        return month_interval(first.year, first.month)
    if what == "year":
        return dt.date(anchor.year + step, 1, 1), dt.date(anchor.year + step, 12, 31)
    return None


def resolve_relative(m: Match, anchor: dt.date | None, anchor_kind: str | None, role: str) -> Resolution:
    """Relative expressions against the anchor: 'ago', 'yesterday', 'last week', weekday names."""
    if anchor is None:
        return Resolution(None, None, "relative-no-anchor", weekday=_weekday_name(m))
    via = f"relative-to-{anchor_kind}"
    if m.kind == "ago":
        amount, unit = amount_value(m.get("amt") or "1"), m.get("unit") or "day"
        return Resolution(unit_delta(anchor, amount, unit, -1), None, via, anchor, anchor_kind)
    if m.kind == "word":
        shift = {"yesterday": -1, "tomorrow": 1}.get((m.get("w") or "").lower(), 0)
        return Resolution(anchor + DAY * shift, None, via, anchor, anchor_kind)
    if m.kind == "span":
        amount, unit = amount_value(m.get("amt") or "1"), m.get("unit") or "day"
        if (m.get("dir") or "").lower() in ("next", "coming"):
            return Resolution(anchor, unit_delta(anchor, amount, unit, 1), via, anchor, anchor_kind)
        return Resolution(unit_delta(anchor, amount, unit, -1), anchor, via, anchor, anchor_kind)
    if m.kind == "this-next-last":
        return resolve_this_next_last(m, anchor, anchor_kind, role)
    if m.kind == "weekday":
        return resolve_weekday(m, anchor, anchor_kind, role)
    return UNRESOLVED


def resolve_this_next_last(m: Match, anchor: dt.date, anchor_kind: str | None, role: str) -> Resolution:
    """'last week', 'next Tuesday', 'this September', 'earlier this month'."""
    what, direction = m.get("what") or "", (m.get("dir") or "").lower()
    if what.lower() in WEEKDAYS:
        return resolve_weekday(m, anchor, anchor_kind, role)
    if what.lower()[:3] in {
        "jan",
        "feb",
        "mar",
        "apr",
        "may",
        "jun",
        "jul",
        "aug",
        "sep",
        "oct",
        "nov",
        "dec",
    }:
        step = {"last": -1, "past": -1, "next": 1, "coming": 1}.get(direction, 0)
        month = month_interval(anchor.year + step, month_number(what))
        return Resolution(month[0], month[1], f"month-relative-to-{anchor_kind}", anchor, anchor_kind)
    period = resolve_period(what, direction, anchor)
    if period is None:
        return UNRESOLVED
    first: dt.date = period[0]
    last: dt.date | None = period[1]
    pre = (m.get("pre") or "").lower()
    if last is not None and pre == "earlier":
        last = min(last, anchor)
    elif last is not None and pre == "later":
        first = max(first, anchor)
    return Resolution(first, last, f"relative-to-{anchor_kind}", anchor, anchor_kind)


def _weekday_name(m: Match) -> str | None:
    name = m.get("wd") or m.get("what")
    return name.capitalize() if name and name.lower() in WEEKDAYS else None


def resolve_weekday(m: Match, anchor: dt.date, anchor_kind: str | None, role: str) -> Resolution:
    """A weekday name: the one in the week up to the anchor for events, the next one for plans."""
    name = _weekday_name(m) or ""
    index = WEEKDAYS.index(name.lower())
    said = m.get("dir") or ""
    if said.lower() in ("next", "coming") or role in FUTURE_ROLES:
        day, method = weekday_near(anchor, index, "after"), f"weekday-in-week-after-{anchor_kind}"
    elif said.lower() == "last":
        day, method = weekday_near(anchor, index, "last"), f"weekday-in-week-before-{anchor_kind}"
    else:
        day, method = weekday_near(anchor, index, "before"), f"weekday-in-week-before-{anchor_kind}"
    return Resolution(day, None, method, anchor, anchor_kind, weekday=name)


def resolve_after_before(m: Match, previous: dt.date | None) -> Resolution:
    """'the morning after', 'the day before', 'the following week' against the previous dated event."""
    if previous is None:
        return Resolution(None, None, "relative-no-previous-mention")
    direction = (m.get("dir") or m.get("dir2") or "").lower()
    unit = (m.get("unit") or m.get("unit2") or "day").lower()
    sign = -1 if direction in ("before", "previous", "preceding") else 1
    step = 7 if unit == "week" else 1
    return Resolution(previous + sign * step * DAY, None, "relative-to-previous-mention", previous, "mention")


def resolve_year(m: Match) -> Resolution:
    """A year ('in 2018') or decade ('the 1990s') as an interval."""
    year = int(m.get("y") or 0)
    if (
        m.kind == "decade" and year % 100 == 0 and year != 2000
    ):  # "the 1800s" is a century; "the 2000s" a decade
        return Resolution(dt.date(year, 1, 1), dt.date(year + 99, 12, 31), "century")
    if m.kind == "decade":
        return Resolution(dt.date(year, 1, 1), dt.date(year + 9, 12, 31), "decade")
    return Resolution(dt.date(year, 1, 1), dt.date(year, 12, 31), "year")
