"""What the report is given: its size limits (``ReportLimits``), one seed as its page shows it (``SeedPage``),
the ``PageLoader`` that yields those pages, and ``record_from_row``, which turns a table row back into its
record (each record class's field names looked up once and kept here, for the cards too).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import escape

from audit.records import Article, Block, DateMention, DerivedText, Link, NumberMention, Span


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportLimits:
    """How much the report shows inline before it paginates or leaves out; bounds its size at scale."""

    first_findings: int = 3  # findings per failing critical rule under the verdict, with their evidence
    findings_inline: int = 20  # findings per rule on the index
    findings_per_page: int = 500  # findings per paginated rule page
    finding_seed_pages: int = 200  # seed pages for seeds with findings, those with the most critical first
    clean_seed_pages: int = 20  # seed pages for seeds without findings
    seeds_inline: int = 200  # manifest rows on the index
    seeds_per_page: int = 2000  # rows per page of the full seed list
    text_bytes: int = 2_000_000  # seed bytes shown highlighted on a seed page
    junit_lines: int = 1000  # finding lines per rule in junit.xml


@dataclass(frozen=True, slots=True, kw_only=True)
class SeedPage:
    """One seed as its page shows it: its bytes (None unless they still hash to seed_sha256) and its records."""

    seed_sha256: str
    path: str
    size_bytes: int
    format: str | None
    encoding: str | None
    data: bytes | None
    articles: tuple[Article, ...] = ()
    blocks: tuple[Block, ...] = ()
    numbers: tuple[NumberMention, ...] = ()
    links: tuple[Link, ...] = ()
    dates: tuple[DateMention, ...] = ()
    texts: tuple[
        DerivedText, ...
    ] = ()  # texts derived from the seed (HTML main text, ...): their spans index these

    @classmethod
    def from_rows(
        cls, seed: Mapping[str, Any], data: bytes | None, rows: Mapping[str, Iterable[Mapping[str, Any]]]
    ) -> SeedPage:
        """Build a page from a seeds-table row, the re-read bytes and table rows keyed by table name."""

        def records(name: str, kind: type[Any]) -> tuple[Any, ...]:
            return tuple(record_from_row(kind, r) for r in rows.get(name, ()))

        return cls(
            seed_sha256=seed["seed_sha256"],
            path=seed["path"],
            size_bytes=seed["size_bytes"],
            format=seed.get("format"),
            encoding=seed.get("encoding"),
            data=data,
            articles=records("articles", Article),
            blocks=records("blocks", Block),
            numbers=records("numbers", NumberMention),
            links=records("links", Link),
            dates=records("dates", DateMention),
            texts=records("texts", DerivedText),
        )


# the seeds that get a page -> (seed, its page, or None if it has none), in the order asked
PageLoader = Callable[[Sequence[str]], Iterable[tuple[str, SeedPage | None]]]


def record_from_row(kind: type[Any], row: Mapping[str, Any]) -> Any:
    """A record from its table row: span structs become Spans, lists tuples, extra columns are dropped."""
    names = fields_of(kind).index
    return kind(**{k: _from_column(v) for k, v in row.items() if k in names})


@dataclass(frozen=True, slots=True)
class _FieldNames:
    """A record class's field names: in order, by position, and as a card's <dt> opens each."""

    names: tuple[str, ...]
    index: Mapping[str, int]
    heads: tuple[str, ...]  # '<dt>name</dt><dd>'


def fields_of(kind: type[Any]) -> _FieldNames:
    """A record class's field names, looked up once per class (not per record or card)."""
    found = _FIELD_NAMES.get(kind)
    if found is None:
        names = tuple(f.name for f in dataclasses.fields(kind))
        heads = tuple(f"<dt>{escape(n)}</dt><dd>" for n in names)
        found = _FIELD_NAMES[kind] = _FieldNames(names, {n: i for i, n in enumerate(names)}, heads)
    return found


_FIELD_NAMES: dict[type[Any], _FieldNames] = {}


_PLAIN = frozenset({str, int, float, bool, type(None), dt.date, dt.datetime})


def _from_column(value: Any) -> Any:
    if type(value) in _PLAIN:  # most cells: nothing to convert
        return value
    if isinstance(value, Mapping) and set(value) == {"start", "end"}:
        return Span(start=value["start"], end=value["end"])
    if isinstance(value, list):
        return tuple(_from_column(v) for v in value)
    return value
