"""HTML date evidence: publication and update dates from a page's metadata, via htmldate with a pinned clock."""

from __future__ import annotations

import datetime as dt
import importlib
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from audit.extract.date_locales import narrow_htmldate
from audit.extract.date_patterns import ascii_lower

# Pinned upper bound when the capture date is unknown, so that the answer never depends on today's date.
DEFAULT_MAX_DATE = dt.date(2030, 12, 31)
MIN_DATE = dt.date(1995, 1, 1)

# the leading lookahead only skips positions where no branch can start: same matches, scanned ~1.8x faster
_META_TIME = re.compile(
    r"""(?is)(?=[pni"])(?:(?:property|name|itemprop)\s*=\s*["'](?P<key>article:published_time|og:published_time"""
    r"""|datePublished|pubdate|publishdate|date|dc\.date|dcterms\.created|sailthru\.date)["'][^>]*?"""
    r"""content\s*=\s*["'](?P<value>[^"']{10,40})["']"""
    r"""|"datePublished"\s*:\s*"(?P<ld>[^"]{10,40})\")"""
)
_ISO_TIME = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<time>\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?)\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?"
)
# every timestamp with an explicit offset: ISO ('2023-11-08T21:11:03-05:00'), found from its first '-' (a literal
# start lets the engine skip ahead: ~50x quicker than starting at the year), and RFC 2822 ('01 May 2020 23:00:00 -0400')
_ISO_STAMP = re.compile(
    r"-(?P<md>[01]\d-[0-3]\d)[T ](?P<time>[0-2]\d:[0-5]\d(?::[0-5]\d)?)(?:\.\d+)? ?(?P<tz>Z|[+-][01]\d:?[0-5]\d)(?![\d:])"
)
_YEAR_BEFORE = re.compile(r"(?:19|20)\d\d")
_RFC_STAMP = re.compile(
    r"(?P<mon>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (?P<y>(?:19|20)\d\d)"
    r" (?P<time>[0-2]\d:[0-5]\d(?::[0-5]\d)?) (?P<tz>[+-][01]\d[0-5]\d|GMT|UTC)\b"
)
_DAY_BEFORE = re.compile(r"(?<!\d)(?P<d>[0-3]?\d) ")
_META_KEYS = ("published_time", "datepublished", "pubdate", "publishdate", "dc.date", "dcterms.created",
              "sailthru.date", '"date"', "'date'")  # fmt: skip
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
# a visible publication label ('Published: Monday, November 18th, 2019', 'Written: 2023-11-07 15:03')
_LABEL = re.compile(
    r"\b(?:Published|Posted|Written|Publish date|First published)(?: on)?:? (?P<rest>[^<>\n]{6,60})"
)
# or a date printed just before the page's 'Updated' stamp ('January 19, 2020 / 12:25 PM / Updated 8 hours ago')
_BEFORE_UPDATED = re.compile(
    r"(?P<date>[A-Z][a-z]{2,8}\.? [0-3]?\d,? (?:19|20)\d\d|[0-3]?\d [A-Z][a-z]{2,8}\.? (?:19|20)\d\d)"
    r"(?: ?[/|,]? ?[0-2]?\d:[0-5]\d ?(?:[AaPp]\.?[Mm]\.?)?(?: [A-Z]{2,4})?)? ?[/|] ?Updated\b"
)
_LABEL_END = re.compile(r" (?:\||Updated|Last|at \d)")
_FULL_YEAR = re.compile(r"(?:19|20)\d\d")
# the same instant written in UTC and in local time differs by at most this much between two fields of a page
SAME_INSTANT = dt.timedelta(minutes=10)
# a UTC time in these hours is on the same calendar date in every zone from UTC-10 to UTC+10
UNAMBIGUOUS_UTC_HOURS = range(10, 14)
# the first few published claims say what the metadata says (the rest repeat it or date teasers)
MAX_CLAIMS = 4
# a non-ISO datePublished ('Tue, Sep 15 2020 10:01:41 EDT') outweighs htmldate's answer within this distance
EXPLICIT_REACH_DAYS = 400


@dataclass(frozen=True, slots=True, kw_only=True)
class PageDates:
    """Date evidence from a page's HTML: published and updated dates, the raw timestamp and its UTC offset."""

    published_at: dt.date | None = None
    published_source: str | None = None
    published_raw: str | None = None
    utc_offset_minutes: int | None = None
    updated_at: dt.date | None = None
    captured_at: dt.date | None = None


def parse_offset(tz: str | None) -> int | None:
    """Minutes east of UTC for 'Z', '+05:30' or '-0400'; None when absent."""
    if not tz:
        return None
    if tz == "Z":
        return 0
    digits = tz[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + int(digits[2:4])
    return -minutes if tz[0] == "-" else minutes


@dataclass(frozen=True, slots=True)
class Claim:
    """A publication date the page's metadata states: the raw value, its local date, its UTC offset if given."""

    raw: str
    day: dt.date
    offset: int | None
    iso: bool
    hour: int | None = None


def published_claims(html: str) -> list[Claim]:
    """The published timestamps in meta tags and JSON-LD, in page order; placeholders (0001-01-01) dropped."""
    out: list[Claim] = []
    for m in _published_matches(html):
        if len(out) == MAX_CLAIMS:
            break
        raw = m.group("value") or m.group("ld") or ""
        iso = _ISO_TIME.search(raw)
        try:
            # the date as written is the publisher's wall-clock date: never convert it to UTC
            day = dt.date.fromisoformat(iso.group("date")) if iso else _parse_loose(raw)
        except ValueError:
            continue
        if day is not None and day >= MIN_DATE:
            offset, hour = (
                (parse_offset(iso.group("tz")), int(iso.group("time")[:2])) if iso else (None, None)
            )
            out.append(Claim(raw, day, offset, iso is not None, hour))
    return out


def meta_timestamp(html: str) -> tuple[str, dt.date, int | None] | None:
    """The first published ISO timestamp in meta tags or JSON-LD: raw text, local date and UTC offset."""
    claim = next((c for c in published_claims(html) if c.iso), None)
    return None if claim is None else (claim.raw, claim.day, claim.offset)


@lru_cache(maxsize=1024)
def _parse_loose(raw: str) -> dt.date | None:
    """A non-ISO date ('Tue, Sep 15 2020 10:01:41 EDT', 'November 18th, 2019') read by dateparser, pinned."""
    if not _FULL_YEAR.search(raw):
        return None
    dateparser = importlib.import_module("dateparser")  # imported late: slow to import, rarely needed
    found = dateparser.parse(
        raw,
        languages=["en"],
        settings={
            "RELATIVE_BASE": dt.datetime(2000, 1, 1),
            "STRICT_PARSING": True,
            "PARSERS": ["absolute-time"],
        },
    )
    return found.date() if isinstance(found, dt.datetime) else None


def timestamps(html: str) -> list[tuple[dt.datetime, int]]:
    """Every timestamp with an explicit UTC offset in the page: its local wall-clock time and the offset."""
    out = []
    for m in _ISO_STAMP.finditer(html):
        year = _YEAR_BEFORE.fullmatch(html, max(0, m.start() - 4), m.start())
        if year is not None:
            out.append((f"{year.group()}-{m.group('md')}T{m.group('time')}", m.group("tz")))
    for m in _RFC_STAMP.finditer(html):
        day = _DAY_BEFORE.search(html, max(0, m.start() - 3), m.start())
        if day is not None and day.end() == m.start():
            month = _MONTHS[m.group("mon")]
            tz = "Z" if m.group("tz") in ("GMT", "UTC") else m.group("tz")
            out.append((f"{m.group('y')}-{month:02d}-{int(day.group('d')):02d}T{m.group('time')}", tz))
    stamps = []
    for text, tz in out:
        try:
            stamps.append((dt.datetime.fromisoformat(text), parse_offset(tz) or 0))
        except ValueError:
            continue
    return stamps


def _published_matches(html: str) -> list[re.Match[str]]:
    """The published-date fields of the page in order, found from their keys (str.find beats one big regex scan)."""
    low = ascii_lower(html)
    hits: set[int] = set()
    for key in _META_KEYS:
        at = low.find(key)
        while at != -1:
            hits.add(at)
            at = low.find(key, at + 1)
    found: list[re.Match[str]] = []
    for at in sorted(hits):
        floor = found[-1].end() if found else 0  # a field already read is not read again
        if at < floor:
            continue
        m = _META_TIME.search(html, max(floor, at - 60), at + 400)
        if m is not None and m.start() <= at:
            found.append(m)
    return found


def local_date(html: str, published: dt.date, claims: list[Claim]) -> dt.date | None:
    """The local date of a publication instant the metadata gives in UTC, when the page also writes it in local time.

    ``2023-11-09T02:11:03+00:00`` in the metadata and ``2023-11-08T21:11:03-05:00`` beside the byline are one
    instant; the publisher's calendar date is the 8th.
    """
    stamps: list[tuple[dt.datetime, int]] | None = None  # read only when a UTC claim needs them
    for claim in claims:
        iso = _ISO_TIME.match(claim.raw)
        if claim.offset != 0 or claim.day != published or iso is None:
            continue
        instant = dt.datetime.fromisoformat(f"{iso.group('date')}T{iso.group('time')[:8]}")
        stamps = timestamps(html) if stamps is None else stamps
        for stamp, offset in stamps:
            utc = stamp - dt.timedelta(minutes=offset)
            if offset and abs(utc - instant) <= SAME_INSTANT and stamp.date() != published:
                return stamp.date()
    return None


def explicit_date(published: dt.date | None, claims: list[Claim]) -> dt.date | None:
    """The first published claim when it should outweigh htmldate's answer, else None.

    A non-ISO claim (htmldate cannot read it) counts within a year of htmldate's answer; an ISO claim counts
    when the two differ by a day (a time-zone disagreement, not another date) and the claim says which day:
    it has a local offset, or it is UTC at an hour that falls on the same date from UTC-10 to UTC+10.
    """
    claim = claims[0] if claims else None
    if claim is None or claim.day == published:
        return None
    if not claim.iso:
        return (
            claim.day
            if published is None or abs((claim.day - published).days) <= EXPLICIT_REACH_DAYS
            else None
        )
    if published is None or abs((claim.day - published).days) != 1:
        return None
    if claim.offset or (claim.offset == 0 and claim.hour in UNAMBIGUOUS_UTC_HOURS):
        return claim.day
    return None


def labelled_date(tree: Any) -> dt.date | None:
    """The date the page prints before its 'Updated' stamp, else after its first publication label ('Published: ...')."""
    text = visible_text(tree)
    if (before := _BEFORE_UPDATED.search(text)) is not None:
        day = _parse_loose(before.group("date"))
        return day if day is not None and day >= MIN_DATE else None
    m = _LABEL.search(text)
    if m is None:
        return None
    rest = _LABEL_END.split(m.group("rest"))[0]
    for n in (len(rest), 40, 30, 25, 20, 16, 12):
        head = rest[:n]
        if _FULL_YEAR.search(head) and (day := _parse_loose(head)) is not None:
            return day if day >= MIN_DATE else None
    return None


def visible_text(tree: Any) -> str:
    """The page's text outside scripts and styles, whitespace collapsed."""
    parts: list[str] = []
    for el in tree.iter():
        if isinstance(el.tag, str) and el.tag not in _INVISIBLE and el.text:
            parts.append(el.text)
        if el.tail:
            parts.append(el.tail)
    return " ".join(" ".join(parts).split())


_INVISIBLE = frozenset({"script", "style", "noscript", "template"})


def _htmldate(tree: Any, url: str | None, original: bool, max_date: dt.date) -> dt.date | None:
    from htmldate import find_date  # imported late: htmldate loads lxml and dateparser (~0.5 s)

    narrow_htmldate()  # the same answers, without compiling every locale for a string no locale reads
    if tree is None:  # what find_date answers for a page it cannot parse
        return None
    # given a tree, find_date prunes a copy of it: the same tree serves both calls
    found = find_date(
        tree,
        url=url,
        original_date=original,
        extensive_search=True,
        min_date=dt.datetime.combine(MIN_DATE, dt.time()),
        max_date=dt.datetime.combine(max_date, dt.time(23, 59, 59)),
    )
    return dt.date.fromisoformat(found) if found else None


def _parse(html: str) -> Any:
    """The page as find_date parses a string (an lxml tree, or None): parsed once for both calls.

    htmldate downloads a string that starts with "http" and holds no space, taking it for a URL: a page
    like that gets a leading space (which the parser ignores), so extraction never fetches anything.
    """
    from htmldate.utils import load_html

    return load_html(" " + html if html.startswith("http") and " " not in html else html)


def page_dates_from_html(
    html: str, *, url: str | None = None, captured_at: dt.date | None = None
) -> PageDates:
    """Publication and update dates of an HTML page, never later than its capture (or a pinned bound).

    htmldate answers first; the publisher's own statements then correct it: the local date of a UTC
    timestamp the page also writes in local time, a datePublished htmldate cannot read, and a visible
    'Published:' label.
    """
    max_date = captured_at or DEFAULT_MAX_DATE
    tree = _parse(html)
    found = _htmldate(tree, url, True, max_date)
    updated = _htmldate(tree, url, False, max_date)
    claims = published_claims(html)
    published, source = found, "htmldate-original" if found else None
    for name, day in (
        ("html-local-date", local_date(html, found, claims) if found else None),
        ("html-date-published", explicit_date(published, claims)),
        ("html-published-label", labelled_date(tree) if tree is not None else None),
    ):
        if day is not None and day <= max_date:
            published, source = day, name
    stamp = next(((c.raw, c.day, c.offset) for c in claims if c.iso), None)
    raw, offset = (
        (stamp[0], stamp[2])
        if stamp and published and abs((stamp[1] - published).days) <= 1
        else (None, None)
    )
    return PageDates(
        published_at=published,
        published_source=source,
        published_raw=raw,
        utc_offset_minutes=offset,
        updated_at=updated if updated and published and updated > published else None,
        captured_at=captured_at,
    )
