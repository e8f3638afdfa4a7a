"""Records that flow between the stages: small frozen dataclasses, one vocabulary.

A dataclass field name is also the Parquet column name and the JSON Schema property name;
``tests/test_store.py`` keeps the three in agreement. Offsets in ``Span`` are bytes of the seed file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class SeedStatus(StrEnum):
    """What became of one input file."""

    EXTRACTED = "extracted"
    REJECTED = "rejected"


class RejectReason(StrEnum):
    """Why a seed was rejected; codes are stable once released."""

    UNREADABLE = "unreadable"
    EMPTY = "empty"
    BINARY = "binary"
    UNDECODABLE = "undecodable"
    TOO_LARGE = "too-large"
    NO_ARTICLE = "no-article"
    DUPLICATE = "duplicate"
    OUTSIDE_ROOT = "outside-root"
    TIMEOUT = "timeout"
    BAD_NAME = "bad-name"


class Severity(StrEnum):
    """Great Expectations' own failure severities."""

    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True, kw_only=True)
class Span:
    """Byte range [start, end) of the seed a value was read from."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end:
            raise ValueError(f"bad span [{self.start}, {self.end})")


@dataclass(frozen=True, slots=True, kw_only=True)
class Seed:
    """One input file as read: its bytes, digest and decoded text."""

    seed_sha256: str
    path: str
    data: bytes
    text: str
    encoding: str
    format: str

    @property
    def size_bytes(self) -> int:
        """Size of the file in bytes."""
        return len(self.data)


@dataclass(frozen=True, slots=True, kw_only=True)
class SeedRow:
    """One row of the seeds table: every input file, extracted or rejected (no digest if unreadable)."""

    seed_sha256: str | None
    path: str
    size_bytes: int
    format: str | None
    encoding: str | None
    status: str
    reason: str | None
    detail: str | None
    n_articles: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Rejection:
    """A seed that could not be extracted, and why in words a person understands."""

    seed_sha256: str | None
    path: str
    size_bytes: int
    reason: RejectReason
    detail: str
    encoding: str | None = None
    format: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Block:
    """A classified stretch of the seed: title, body paragraph, teaser, counter, boilerplate, ..."""

    block_id: str
    article_id: str
    seed_sha256: str
    span_start: int
    span_end: int
    text: str
    kind: str
    position: int
    is_main: bool
    # the derived text the spans point into (HTML, JSON Lines); None: spans are bytes of the seed file
    text_sha256: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Article:
    """One article: its fields, each with the span it was read from."""

    article_id: str
    seed_sha256: str
    format: str
    language: str | None
    title: str | None
    title_span: Span | None
    byline: str | None
    byline_span: Span | None
    publisher: str | None
    publisher_span: Span | None
    section: str | None
    section_span: Span | None
    published_at: dt.date | None
    published_text: str | None
    published_span: Span | None
    published_method: str | None
    captured_at: dt.date | None
    captured_text: str | None
    captured_span: Span | None
    captured_method: str | None
    updated_at: dt.date | None
    date_conflicts: tuple[str, ...]
    # len(date_conflicts), so that a built-in expectation can state "no unresolved date conflicts"
    n_date_conflicts: int = 0
    canonical_url: str | None
    body: str
    body_spans: tuple[Span, ...]
    n_paragraphs: int
    tags: tuple[str, ...] = ()
    # the derived text the spans point into (HTML, JSON Lines); None: spans are bytes of the seed file
    text_sha256: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NumberMention:
    """A figure in the main story, what it counts, and who it is attributed to."""

    number_id: str
    article_id: str
    seed_sha256: str
    span_start: int
    span_end: int
    text: str
    value: float | None
    value_max: float | None
    unit: str | None
    qualifier: str | None
    kind: str
    sentence: str
    sentence_span: Span
    block_kind: str
    requires_attribution: bool
    attribution_kind: str
    source: str | None
    source_span: Span | None
    cue: str | None
    cue_span: Span | None
    # why a source found outside the figure's own sentence or words applies (quote, paragraph, study,
    # reference, agent), in order from the figure to the name; () when a cue in the sentence names it
    carried_by: tuple[str, ...] = ()
    # where the source is named; source_span is where it is referred to for this figure ('she', 'the agency')
    source_named_span: Span | None = None
    components: tuple[str, ...] = ()
    reconciles: bool | None = None
    linked_number_id: str | None = None
    policy_rule: str | None = None
    # the derived text the spans point into (HTML, JSON Lines); None: spans are bytes of the seed file
    text_sha256: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Link:
    """A URL or bare domain mention, its syntax facts and (when checked live) its status."""

    link_id: str
    article_id: str
    seed_sha256: str
    span_start: int
    span_end: int
    text: str
    url: str
    unwrapped_url: str | None
    role: str
    block_kind: str
    syntax_ok: bool
    syntax_error: str | None
    scheme: str | None
    host: str | None
    registrable_domain: str | None
    is_duplicate: bool
    status: str
    http_status: int | None = None
    final_url: str | None = None
    n_redirects: int | None = None
    checked_at: str | None = None
    error: str | None = None
    # offline facts: the failed check's code (links.SyntaxIssue), credentials, and the wrapper unwrapped
    syntax_error_code: str | None = None
    has_credentials: bool = False
    wrapper: str | None = None
    # live facts: every hop after the first, and why a 2xx answer looks like a "not found" page
    redirect_chain: tuple[str, ...] = ()
    soft_404: str | None = None
    # the derived text the spans point into (HTML, JSON Lines); None: spans are bytes of the seed file
    text_sha256: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveResult:
    """What one live check of a URL found, with the evidence a report shows: a row of the link_checks table."""

    url: str
    status: str
    http_status: int | None
    final_url: str | None
    n_redirects: int
    redirect_chain: tuple[str, ...]
    checked_at: str
    error: str | None
    soft_404: str | None
    from_cache: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class DateMention:
    """A date or time expression, resolved against an anchor with a recorded method."""

    date_id: str
    article_id: str
    seed_sha256: str
    span_start: int
    span_end: int
    text: str
    resolved: dt.date | None
    resolved_end: dt.date | None
    resolution: str
    anchor: dt.date | None
    anchor_kind: str | None
    role: str
    block_kind: str
    weekday: str | None = None
    # plausibility facts (rules in expectations/dates.json): the expression's form ("iso", "mdy",
    # "weekday", ...), whether a weekday named beside a date is that date's weekday, a duration's length,
    # and the resolved date's distance from the article's published_at (positive: after publication)
    form: str | None = None
    weekday_ok: bool | None = None
    duration_days: int | None = None
    days_from_published: int | None = None
    after_publication: bool | None = None
    # True when the date was inferred against an anchor (yearless, relative, weekday), False when written in full
    is_inferred: bool | None = None
    # for a date whose year was inferred: days between it and the story's own timeline (its other dated
    # events and the publication date); 0 inside it, None when there is nothing to compare with
    days_outside_timeline: int | None = None
    # the derived text the spans point into (HTML, JSON Lines); None: spans are bytes of the seed file
    text_sha256: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DerivedText:
    """A text an extractor derived from a seed (HTML main text, a JSON Lines record), and how."""

    text_sha256: str
    seed_sha256: str
    article_id: str
    extractor: str
    extractor_version: str
    seed_start: int
    seed_end: int
    n_bytes: int
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Extraction:
    """Everything extracted from one seed."""

    articles: tuple[Article, ...]
    texts: tuple[DerivedText, ...] = ()
    blocks: tuple[Block, ...] = ()
    numbers: tuple[NumberMention, ...] = ()
    links: tuple[Link, ...] = ()
    dates: tuple[DateMention, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Waiver:
    """An accepted exception to one rule for one record, pinned to its seed's hash."""

    rule_id: str
    record_id: str
    seed_sha256: str
    reason: str
    expires: dt.date


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One record failing one rule."""

    rule_id: str
    table: str
    record_id: str
    seed_sha256: str | None
    evidence: dict[str, Any] = field(default_factory=dict)
    waived_by: Waiver | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckResult:
    """The outcome of one rule (one expectation) over one table."""

    rule_id: str
    table: str
    severity: Severity
    expectation_type: str
    description: str
    kwargs: dict[str, Any]
    n_checked: int
    findings: tuple[Finding, ...]
    error: str | None = None
    # counted once (a report reads them on every page): findings not covered by a waiver, and covered
    n_failed: int = field(init=False, repr=False, compare=False)
    n_waived: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        waived = sum(1 for f in self.findings if f.waived_by is not None)
        object.__setattr__(self, "n_waived", waived)
        object.__setattr__(self, "n_failed", len(self.findings) - waived)

    @property
    def passed(self) -> bool:
        """True when every finding is waived and the rule ran."""
        return self.error is None and self.n_failed == 0


@dataclass(frozen=True, slots=True, kw_only=True)
class LapsedWaiver:
    """A waiver on file that did not apply, and why."""

    waiver: Waiver
    why: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    """The whole audit's outcome: every rule's result and the waivers that applied or lapsed."""

    results: tuple[CheckResult, ...]
    lapsed_waivers: tuple[LapsedWaiver, ...] = ()
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def failed_critical(self) -> tuple[CheckResult, ...]:
        """Critical rules with unwaived findings."""
        return tuple(r for r in self.results if r.severity is Severity.CRITICAL and not r.passed)

    @property
    def passed(self) -> bool:
        """True when no critical rule fails after waivers."""
        return not self.failed_critical

    def flatten(self, keys: tuple[str, ...] = ("rule_id", "record_id")) -> list[tuple[Any, ...]]:
        """A compact projection of unwaived findings, sorted, for assertions and summaries."""
        rows = [
            tuple(getattr(f, k) for k in keys)
            for r in self.results
            for f in r.findings
            if f.waived_by is None
        ]
        return sorted(rows)


@dataclass(frozen=True, slots=True, kw_only=True)
class TableFacts:
    """One row of the ``tables`` frame: a Parquet file compared with what the manifest recorded."""

    table: str
    sha256_expected: str | None
    sha256_actual: str | None
    n_rows_expected: int | None
    n_rows_actual: int | None
    sha256_ok: bool
    n_rows_ok: bool
    embedded_manifest_ok: bool


TABLE_FACT_COLUMNS = tuple(TableFacts.__dataclass_fields__)
# the columns validation adds to every table's rows, recomputed from the seeds (audit.validate.provenance)
PROVENANCE_COLUMNS = ("seed_ok", "span_ok", "record_ok", "reextracted_ok")
