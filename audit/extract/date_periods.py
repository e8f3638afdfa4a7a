"""Periods: seasons, weekends, parts of a month or year, fiscal years, centuries, year ranges and offsets.

Each resolver turns one matched expression into the interval the text gives and no finer: "last spring" is
three months, "early January" ten days, "fiscal 2019" the year it is named for, "a year earlier" the
previous mention moved by a year (at that mention's own granularity).
"""

from __future__ import annotations

import calendar
import datetime as dt

from audit.extract.date_patterns import Match, amount_value
from audit.extract.date_resolve import DAY, FUTURE_ROLES, Resolution, add_months, unit_delta

# meteorological seasons (northern hemisphere): the months each starts and ends in; winter starts in December
SEASONS = {"spring": (3, 5), "summer": (6, 8), "fall": (9, 11), "autumn": (9, 11), "winter": (12, 2)}
_ORDINAL_WORDS = {"nineteenth": 19, "twentieth": 20, "twenty-first": 21}
# "early", "mid" and "late" take a third of the period; "the end of" is its last third
_THIRD = {"early": 0, "beginning of": 0, "start of": 0, "mid": 1, "middle of": 1, "late": 2, "end of": 2}


def season_interval(season: str, year: int) -> tuple[dt.date, dt.date]:
    """The season that starts in `year` (winter 2019 runs from December 2019 to February 2020)."""
    first, last = SEASONS[season.lower()]
    end_year = year + 1 if last < first else year
    return dt.date(year, first, 1), dt.date(end_year, last, calendar.monthrange(end_year, last)[1])


def season_near(season: str, anchor: dt.date, step: int) -> tuple[dt.date, dt.date]:
    """The season in progress or last ended on the anchor (step 0), the one before it (-1), or after (+1)."""
    starts = [
        season_interval(season, y) for y in (anchor.year - 2, anchor.year - 1, anchor.year, anchor.year + 1)
    ]
    current = max(i for i, (a, _) in enumerate(starts) if a <= anchor)
    if step > 0:
        return starts[current + 1]
    if step < 0 and starts[current][1] >= anchor:  # "last spring" while it is spring is the one before
        return starts[current - 1]
    return starts[current]


def resolve_season(m: Match, anchor: dt.date | None, anchor_kind: str | None, role: str) -> Resolution:
    """'in the spring of 2019' (a year given) or 'in the spring' (past, or coming for plans)."""
    season = m.get("season") or "spring"
    if m.get("y"):
        first, last = narrow(*season_interval(season, int(m.get("y") or 0)), m.get("mod"))
        return Resolution(first, last, "season")
    if anchor is None:
        return Resolution(None, None, "relative-no-anchor")
    first, last = narrow(*season_near(season, anchor, 1 if role in FUTURE_ROLES else 0), m.get("mod"))
    return Resolution(first, last, f"relative-to-{anchor_kind}", anchor, anchor_kind)


def resolve_weekend(anchor: dt.date | None, anchor_kind: str | None, role: str) -> Resolution:
    """'over the weekend': the last Saturday and Sunday up to the anchor, or the next ones for plans."""
    if anchor is None:
        return Resolution(None, None, "relative-no-anchor")
    if role in FUTURE_ROLES:
        saturday = anchor + DAY * ((5 - anchor.weekday()) % 7)
    else:
        saturday = anchor - DAY * ((anchor.weekday() - 5) % 7)
    return Resolution(saturday, saturday + DAY, f"relative-to-{anchor_kind}", anchor, anchor_kind)


def resolve_fiscal(m: Match) -> Resolution:
    """'fiscal 2019', 'FY19': the year it is named for (each organisation's fiscal calendar is unknown)."""
    text = (m.get("y") or "").lstrip("'")
    year = int(text) if len(text) == 4 else 2000 + int(text)
    return Resolution(dt.date(year, 1, 1), dt.date(year, 12, 31), "fiscal-year")


def resolve_century(m: Match) -> Resolution:
    """'the 19th century' as 1800-1899 (the popular reading, as 'the 1800s')."""
    n = int(m.get("n") or 0) or _ORDINAL_WORDS[(m.get("w") or "").lower()]
    return Resolution(dt.date((n - 1) * 100, 1, 1), dt.date((n - 1) * 100 + 99, 12, 31), "century")


def resolve_year_range(m: Match) -> Resolution:
    """'from 1995 to 1997', '2018-19': one interval from the first year's start to the last year's end."""
    first = int(m.get("y") or 0)
    text = m.get("y2") or ""
    last = int(text) if len(text) == 4 else first // 100 * 100 + int(text)
    if last < first:
        return Resolution(None, None, "invalid-date")
    return Resolution(dt.date(first, 1, 1), dt.date(last, 12, 31), "year-range")


def resolve_offset(m: Match, previous: tuple[dt.date, dt.date | None] | None) -> Resolution:
    """'a year earlier', 'two months later': the previous dated mention moved, at its own granularity."""
    if previous is None:
        return Resolution(None, None, "relative-no-previous-mention")
    sign = -1 if (m.get("rel") or "").lower() == "earlier" else 1
    amount, unit = amount_value(m.get("amt") or "1"), m.get("unit") or "day"
    first = unit_delta(previous[0], amount, unit, sign)
    last = unit_delta(previous[1], amount, unit, sign) if previous[1] else None
    return Resolution(first, last, "relative-to-previous-mention", previous[0], "mention")


def narrow(first: dt.date, last: dt.date, mod: str | None) -> tuple[dt.date, dt.date]:
    """The third of [first, last] a modifier names ('early', 'mid', 'late', 'the end of'); all of it without one."""
    key = " ".join((mod or "").lower().replace("the ", "").split())
    if key not in _THIRD:
        return first, last
    days = (last - first).days + 1
    if (
        first.day == 1
        and last.day == calendar.monthrange(last.year, last.month)[1]
        and first.month == last.month
    ):
        bounds = ((1, 10), (11, 20), (21, last.day))  # a month: 1-10, 11-20, 21-end
        a, b = bounds[_THIRD[key]]
        return first.replace(day=a), first.replace(day=b)
    if days > 300:  # a year (or longer): four months each
        start = add_months(first, 4 * _THIRD[key])
        return start, min(last, add_months(start, 4) - DAY)
    third = days // 3
    start = first + DAY * third * _THIRD[key]
    return start, (last if _THIRD[key] == 2 else start + DAY * (third - 1))


PERIOD_WORDS = frozenset(
    {"spring", "summer", "fall", "autumn", "winter", "decade", "century", "night", "evening"}
)


def resolve_named_period(m: Match, anchor: dt.date, anchor_kind: str | None) -> Resolution:
    """'last spring', 'this winter', 'the past decade', 'last night' against the anchor."""
    what, said = (m.get("what") or "").lower(), (m.get("dir") or "").lower()
    step = {"last": -1, "past": -1, "next": 1, "coming": 1}.get(said, 0)
    via = f"relative-to-{anchor_kind}"
    if what in SEASONS:
        first, last = season_near(what, anchor, step)
    elif what in ("night", "evening"):  # "last night" is the evening before: one day
        day = anchor - DAY if step < 0 else anchor
        return Resolution(day, None, via, anchor, anchor_kind)
    elif said in ("past", "last"):  # "the past decade": the ten (hundred) years up to the anchor
        first, last = unit_delta(anchor, 10 if what == "decade" else 100, "year", -1), anchor
    elif said == "next" or said == "coming":
        first, last = anchor, unit_delta(anchor, 10 if what == "decade" else 100, "year", 1)
    else:  # "this decade", "this century": the calendar one holding the anchor
        size = 10 if what == "decade" else 100
        start = anchor.year // size * size
        first, last = dt.date(start, 1, 1), dt.date(start + size - 1, 12, 31)
    return Resolution(first, last, via, anchor, anchor_kind)


PERIODS = frozenset({"season", "weekend", "fiscal", "century", "year-range", "offset"})


def resolve_period(
    m: Match,
    role: str,
    anchor: dt.date | None,
    anchor_kind: str | None,
    previous: tuple[dt.date, dt.date | None] | None,
) -> Resolution:
    """Seasons, weekends, fiscal years, centuries, year ranges and offsets ('a year earlier')."""
    if m.kind == "season":
        return resolve_season(m, anchor, anchor_kind, role)
    if m.kind == "weekend":
        return resolve_weekend(anchor, anchor_kind, role)
    if m.kind == "fiscal":
        return resolve_fiscal(m)
    if m.kind == "century":
        return resolve_century(m)
    if m.kind == "year-range":
        return resolve_year_range(m)
    return resolve_offset(m, previous)
