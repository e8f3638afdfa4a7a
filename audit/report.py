"""Verdict -> the report people read: index.html, a page per seed, finding pages, results.json, junit.xml.

Every HTML file is self-contained (inline CSS, one inline script allowed by its hash in the page's CSP, no
external anything) and readable without JavaScript: a highlight is a link to its record's card. Seed content
only ever reaches the page through ``markupsafe.escape``. The report's size grows with the findings, not with
the records: findings are paginated, and seed pages are written for seeds with findings plus a bounded number
of others. This module sees records only (no GX, no pandas); ``pipeline`` hands it ``SeedPage`` values
(through a loader, which forked workers call for their share of the seed pages when there are many).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import functools
import hashlib
import itertools
import json
import os
import re
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from audit.forking import forked_pool
from audit.fsio import atomic_write, atomic_write_text
from audit.records import (
    Article,
    Block,
    CheckResult,
    DateMention,
    DerivedText,
    Finding,
    Link,
    NumberMention,
    Severity,
    Span,
    Verdict,
)

_SEVERITY_ORDER = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}
_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("audit", "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,  # package templates do not change while a report is written: no stat per render
)
# C0 controls (but tab, newline, CR) and DEL, shown as their visible Unicode pictures
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_XML_BAD = re.compile(r"[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportLimits:
    """How much the report shows inline before it paginates or leaves out; bounds its size at scale."""

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
    names = _fields_of(kind).index
    return kind(**{k: _from_column(v) for k, v in row.items() if k in names})


@dataclass(frozen=True, slots=True)
class _FieldNames:
    """A record class's field names: in order, by position, and as a card's <dt> opens each."""

    names: tuple[str, ...]
    index: Mapping[str, int]
    heads: tuple[str, ...]  # '<dt>name</dt><dd>'


def _fields_of(kind: type[Any]) -> _FieldNames:
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


# ---------------------------------------------------------------- verdict, ordering, machine formats


def ordered_results(verdict: Verdict) -> list[CheckResult]:
    """Rules in reading order: by severity, failing before passing, then by number of findings."""
    return sorted(
        verdict.results,
        key=lambda r: (_SEVERITY_ORDER[r.severity], r.passed, -r.n_failed, r.table, r.rule_id),
    )


def verdict_sentence(verdict: Verdict) -> str:
    """The verdict and why, in one sentence."""
    critical = verdict.failed_critical
    if not critical:
        others = sum(1 for r in verdict.results if not r.passed)
        tail = f"; {others} non-blocking rule(s) have findings to read" if others else ""
        return f"Publishable: no critical rule fails{tail}."
    names = ", ".join(
        f"{r.rule_id} ({'could not run' if r.error else _plural(r.n_failed, 'record')})" for r in critical
    )
    return f"Not publishable: {len(critical)} critical rule(s) fail: {names}."


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def results_document(verdict: Verdict) -> dict[str, Any]:
    """The machine-readable results (schemas/results.schema.json)."""
    return {
        "verdict": "passed" if verdict.passed else "failed",
        "passed": verdict.passed,
        "summary": verdict_sentence(verdict),
        "manifest": verdict.manifest,
        "rules": [_rule_document(r) for r in ordered_results(verdict)],
        "lapsed_waivers": [{**_waiver_document(lw.waiver), "why": lw.why} for lw in verdict.lapsed_waivers],
    }


def _rule_document(r: CheckResult) -> dict[str, Any]:
    return {
        "rule_id": r.rule_id,
        "table": r.table,
        "severity": r.severity.value,
        "expectation_type": r.expectation_type,
        "description": r.description,
        "kwargs": r.kwargs,
        "passed": r.passed,
        "n_checked": r.n_checked,
        "n_failed": r.n_failed,
        "n_waived": r.n_waived,
        "error": r.error,
        "failed_ids": [f.record_id for f in r.findings if f.waived_by is None],
        "waived": [
            {"record_id": f.record_id, **_waiver_document(f.waived_by)} for f in r.findings if f.waived_by
        ],
    }


def _waiver_document(w: Any) -> dict[str, Any]:
    return {
        "rule_id": w.rule_id,
        "record_id": w.record_id,
        "seed_sha256": w.seed_sha256,
        "reason": w.reason,
        "expires": w.expires.isoformat(),
    }


def junit_xml(verdict: Verdict, limits: ReportLimits = ReportLimits()) -> bytes:
    """One test case per rule, grouped by table; a failing critical rule is a <failure>, one that could not run an <error>."""
    root = ET.Element("testsuites", name="news-audit")
    by_table: dict[str, list[CheckResult]] = defaultdict(list)
    for r in verdict.results:
        by_table[r.table].append(r)
    for table, rules in sorted(by_table.items()):
        suite = ET.SubElement(
            root,
            "testsuite",
            name=table,
            tests=str(len(rules)),
            failures=str(sum(1 for r in rules if _junit_outcome(r) == "failure")),
            errors=str(sum(1 for r in rules if _junit_outcome(r) == "error")),
            skipped="0",
        )
        for r in sorted(rules, key=lambda x: x.rule_id):
            suite.append(_junit_case(r, limits.junit_lines))
    ET.indent(root)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def _junit_case(r: CheckResult, max_lines: int) -> ET.Element:
    case = ET.Element("testcase", classname=f"audit.{r.table}", name=r.rule_id, time="0")
    props = ET.SubElement(case, "properties")
    for name, value in (
        ("severity", r.severity.value),
        ("n_checked", r.n_checked),
        ("n_failed", r.n_failed),
        ("n_waived", r.n_waived),
    ):
        ET.SubElement(props, "property", name=name, value=str(value))
    detail = _xml_text(_finding_lines(r, max_lines))
    outcome = _junit_outcome(r)
    if outcome:
        ET.SubElement(
            case, outcome, type=r.severity.value, message=_xml_text(_failure_message(r))
        ).text = detail
    elif detail:
        ET.SubElement(
            case, "system-out"
        ).text = f"{r.severity.value}: {_xml_text(_failure_message(r))}\n{detail}"
    return case


def _junit_outcome(r: CheckResult) -> str | None:
    if r.severity is not Severity.CRITICAL or r.passed:
        return None
    return "error" if r.error else "failure"


def _failure_message(r: CheckResult) -> str:
    if r.error:
        return f"{r.rule_id} could not run: {r.error}"
    return f"{r.rule_id}: {r.n_failed} of {r.n_checked} record(s) fail: {r.description}"


def _finding_lines(r: CheckResult, max_lines: int) -> str:
    failing = [f for f in r.findings if f.waived_by is None]
    lines = [
        f"{f.record_id}\t{f.seed_sha256 or ''}\t{f.evidence.get('text', '')}" for f in failing[:max_lines]
    ]
    if len(failing) > max_lines:
        lines.append(f"... and {len(failing) - max_lines} more in results.json")
    return "\n".join(lines)


def _xml_text(text: str) -> str:
    """Text with the characters XML 1.0 cannot hold replaced, so any seed content still parses."""
    return _XML_BAD.sub("\ufffd", text)


# ---------------------------------------------------------------- highlighting seed bytes


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


def _each(values: Sequence[str], convert: Callable[[str], str]) -> list[str]:
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
    html = _each(texts, _visible_html)
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
    rid = escape(_slug(m.record_id))
    ident = f' id="m-{rid}"' if first else ""
    tag = f' data-tag="{escape(m.tag)}"' if m.tag and first else ""
    return f'<a class="{escape(m.css)}" href="#r-{rid}" data-r="{rid}"{ident}{tag}{title}>'


def _close(m: Mark) -> str:
    return "</span>" if m.record_id is None else "</a>"


def _slug(text: str) -> str:
    """A string safe as an HTML id and a file name: letters, digits, dash, underscore."""
    return _UNSAFE.sub("_", text)[:120]


_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


# ---------------------------------------------------------------- what each value's colour means

NUMBER_LEGEND = {
    "none": ("needs a source", "the policy says this figure needs a source and none was found"),
    "explicit": ("explicit", "a named source with a cue such as 'said' or 'according to'"),
    "contextual": ("contextual", "a source named nearby in the story"),
    "self": ("self", "the publisher's own reporting"),
    "derived": ("derived", "computed from other attributed figures"),
    "not-assessed": ("not assessed", "the story's language is not assessed"),
    "exempt": ("no source needed", "the policy exempts this kind of number"),
}
LINK_LEGEND = {
    "broken": ("broken", "4xx/5xx, no connection or a redirect loop"),
    "bad-syntax": ("bad syntax", "not a well-formed URL"),
    "timeout": ("timeout", "no answer in time"),
    "refused": ("refused", "refused by the guard or the server"),
    "redirected": ("redirected", "answered after redirects"),
    "ok": ("ok", "answered 2xx"),
    "not_checked": ("not checked", "offline run or not an http(s) URL"),
}
DATE_LEGEND = {
    "flagged": ("rule failed", "a date rule failed on this date"),
    "implausible": ("after capture", "resolves to after the page was captured"),
    "unresolved": ("unresolved", "could not be placed on the calendar"),
    "ok": ("plausible", "resolved, and not after capture"),
    "span": ("duration or time", "a length of time or a clock time, not a calendar date"),
}
_BAD = frozenset(
    {"none", "broken", "bad-syntax", "timeout", "refused", "flagged", "implausible", "unresolved"}
)
# block kinds that describe the article (not page furniture), shown undimmed though outside the story
_METADATA_KINDS = frozenset({"page-date", "section", "byline", "publisher", "relative-date", "tags"})
_UNDATED_ROLES = frozenset({"duration", "time"})
_FUTURE_ROLES = frozenset({"plan", "deadline"})


def number_class(n: NumberMention) -> str:
    """The legend key of a number: its attribution kind, or 'exempt' when the policy needs no source."""
    if not n.requires_attribution:
        return "exempt"
    return n.attribution_kind if n.attribution_kind in NUMBER_LEGEND else "none"


def link_class(link: Link) -> str:
    """The legend key of a link: its status, or 'bad-syntax'."""
    if not link.syntax_ok:
        return "bad-syntax"
    return link.status if link.status in LINK_LEGEND else "not_checked"


def date_class(d: DateMention, article: Article | None, flagged: bool) -> str:
    """The legend key of a date: how plausible it is."""
    if flagged:
        return "flagged"
    if d.role in _UNDATED_ROLES:
        return "span"
    if d.resolved is None:
        return "unresolved"
    captured = article.captured_at if article else None
    if captured is not None and d.resolved > captured and d.role not in _FUTURE_ROLES:
        return "implausible"
    return "ok"


# ---------------------------------------------------------------- seed page view


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """One rule's outcome on one record."""

    rule_id: str
    severity: str
    description: str
    failed: bool
    waived: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Card:
    """One record as its card shows it: what it is, where it is, and what the rules said."""

    record_id: str
    slug: str
    kind: str  # number, link, date, article
    css: str
    label: str
    text: str
    start: int | None
    end: int | None
    context: Markup
    fields: tuple[tuple[str, str], ...]
    failed: tuple[Outcome, ...]
    passed: tuple[Outcome, ...]
    record: tuple[tuple[str, str], ...]
    doc: str | None = None  # the text_sha256 its span indexes; None for the seed's own bytes
    # the same, as the card's HTML shows them (escaped once here, not per template loop step)
    fields_html: Markup
    passed_html: Markup
    record_html: Markup

    @property
    def is_bad(self) -> bool:
        """True when a rule failed on it or its legend key is a bad one."""
        return bool(self.failed) or self.css in _BAD


def _outcome(rule: CheckResult, finding: Finding | None) -> Outcome:
    """A rule's outcome on a record: failed if it has a finding there (perhaps waived), else passed."""
    return Outcome(
        rule_id=rule.rule_id,
        severity=rule.severity.value,
        description=rule.description,
        failed=finding is not None,
        waived=finding.waived_by.reason if finding is not None and finding.waived_by is not None else None,
    )


def _show(value: Any) -> str:
    if type(value) is str:  # most fields: shown as they are
        return value
    if type(value) is int or type(value) is bool:
        return str(value)
    if isinstance(value, Span):
        return f"[{value.start}, {value.end})"
    if isinstance(value, tuple):
        return ", ".join(_show(v) for v in value) or "—"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    return "—" if value is None else str(value)


@functools.lru_cache(maxsize=4096)
def _passed_html(rule_ids: tuple[str, ...]) -> Markup:
    """The rules a record passes, as its card lists them (the same few lists on every page)."""
    return Markup(", ".join(f'<span class="out pass"><code>{escape(r)}</code></span>' for r in rule_ids))


def _escaped(value: str) -> str:
    return str(escape(value))


@dataclass(frozen=True, slots=True, kw_only=True)
class _Shown:
    """A record's fields as its card shows them: the names asked for that have a value, and all of them."""

    fields: tuple[tuple[str, str], ...]
    record: tuple[tuple[str, str], ...]
    fields_html: Markup
    record_html: Markup

    @classmethod
    def of(cls, record: Any, names: Sequence[str]) -> _Shown:
        """Each field shown and escaped once, for both lists; names are fields of the record."""
        f = _fields_of(type(record))
        values = [getattr(record, n) for n in f.names]
        shown = [v if type(v) is str else _show(v) for v in values]
        escaped = _each(shown, _escaped)
        picked = [f.index[n] for n in names if values[f.index[n]] not in (None, (), "")]
        return cls(
            fields=tuple((f.names[i], shown[i]) for i in picked),
            record=tuple(zip(f.names, shown, strict=True)),
            fields_html=Markup("".join([f"{f.heads[i]}{escaped[i]}</dd>" for i in picked])),
            record_html=Markup("".join([f"{h}{v}</dd>" for h, v in zip(f.heads, escaped, strict=True)])),
        )


class _SeedView:
    """Builds one seed page's cards and highlighted text."""

    # not a dataclass: a short-lived builder that closes over the page, its findings and the rules

    def __init__(
        self, page: SeedPage, findings: Sequence[Finding], rules: Mapping[str, Sequence[CheckResult]]
    ) -> None:
        self.page = page
        self.enc = (page.encoding or "utf-8").replace("-sig", "")
        self.rules = rules
        self.by_record: dict[str, list[Finding]] = defaultdict(list)
        for f in findings:
            self.by_record[f.record_id].append(f)
        self.articles = {a.article_id: a for a in page.articles}
        self.docs: dict[str | None, tuple[bytes, str]] = {}
        self._clean: dict[str, tuple[tuple[Outcome, ...], Markup]] = {}  # table -> every rule passed
        if page.data is not None:
            self.docs[None] = (page.data, self.enc)
            self.docs.update({t.text_sha256: (t.text.encode("utf-8"), "utf-8") for t in page.texts})

    def card(
        self,
        kind: str,
        table: str,
        record: Any,
        css: str,
        label: str,
        context: Markup,
        names: Sequence[str],
        start: int | None,
        end: int | None,
        text: str,
    ) -> Card:
        """A card for one record, with its rule outcomes."""
        rid = getattr(record, f"{kind}_id")
        failed, passed, passed_html = self.outcomes(table, rid)
        shown = _Shown.of(record, names)
        return Card(
            record_id=rid,
            slug=_slug(rid),
            kind=kind,
            css=css,
            label=label,
            text=text,
            start=start,
            end=end,
            context=context,
            fields=shown.fields,
            failed=failed,
            passed=passed,
            record=shown.record,
            doc=getattr(record, "text_sha256", None),
            fields_html=shown.fields_html,
            passed_html=passed_html,
            record_html=shown.record_html,
        )

    def outcomes(self, table: str, rid: str) -> tuple[tuple[Outcome, ...], tuple[Outcome, ...], Markup]:
        """The rules of its table a record fails and passes, in the rules' order, and the passed ones as HTML."""
        if table not in self._clean:
            clean = tuple(_outcome(r, None) for r in self.rules.get(table, ()))
            self._clean[table] = (clean, _passed_html(tuple(o.rule_id for o in clean)))
        clean, clean_html = self._clean[table]
        hit = {f.rule_id: f for f in self.by_record.get(rid, ())}
        failed = tuple(_outcome(r, hit[r.rule_id]) for r in self.rules.get(table, ()) if r.rule_id in hit)
        if not failed:  # most records: the same outcomes as every clean record of the table
            return (), clean, clean_html
        passed = tuple(o for o in clean if o.rule_id not in hit)
        return failed, passed, _passed_html(tuple(o.rule_id for o in passed))

    def snippet(self, record: Any, marks: Sequence[Mark]) -> Markup:
        """The value in its line of the text its span indexes, the value highlighted."""
        doc = self.docs.get(getattr(record, "text_sha256", None))
        if doc is None:
            return _mark_in(record.text, record.text)
        a, b = _context_range(doc[0], record.span_start, record.span_end, doc[1])
        return render_marked(doc[0], doc[1], a, b, marks)

    def number_cards(self) -> list[Card]:
        """Numbers, unattributed ones first, each in its sentence with source and cue highlighted."""
        cards = []
        for n in self.page.numbers:
            css = number_class(n)
            marks = [Mark(start=n.span_start, end=n.span_end, layer=1, css="hl hl-num", title="the number")]
            for span, name in ((n.source_span, "source"), (n.cue_span, "cue")):
                if span is not None:
                    marks.append(
                        Mark(start=span.start, end=span.end, layer=1, css=f"hl hl-{name}", title=name)
                    )
            s = n.sentence_span
            doc = self.docs.get(n.text_sha256)
            context = render_marked(*doc, s.start, s.end, marks) if doc else _mark_in(n.sentence, n.text)
            cards.append(
                self.card(
                    "number",
                    "numbers",
                    n,
                    css,
                    NUMBER_LEGEND[css][0],
                    context,
                    (
                        "value",
                        "value_max",
                        "unit",
                        "qualifier",
                        "kind",
                        "attribution_kind",
                        "source",
                        "cue",
                        "policy_rule",
                        "requires_attribution",
                        "block_kind",
                        "components",
                        "reconciles",
                        "linked_number_id",
                    ),
                    n.span_start,
                    n.span_end,
                    n.text,
                )
            )
        return sorted(
            cards,
            key=lambda c: (not c.failed, c.css != "none", list(NUMBER_LEGEND).index(c.css), c.start or 0),
        )

    def documents(self, cards: Sequence[Card], limit: int) -> list[tuple[str | None, Markup, int, int]]:
        """Each text the page's spans index (the seed's bytes, then derived texts), highlighted: (key, html, shown, size)."""
        out = []
        for key, (data, enc) in self.docs.items():
            shown = min(len(data), limit)
            marks = self.text_marks(key, [c for c in cards if c.doc == key])
            out.append((key, render_marked(data, enc, 0, shown, marks), shown, len(data)))
        # the texts that values index first; a file no value indexes (raw HTML) last
        return sorted(out, key=lambda d: not any(c.doc == d[0] for c in cards))

    def link_cards(self) -> list[Card]:
        """Links, the ones with findings or a bad status first."""
        cards = []
        for ln in self.page.links:
            css = link_class(ln)
            m = Mark(start=ln.span_start, end=ln.span_end, layer=1, css="hl hl-link")
            cards.append(
                self.card(
                    "link",
                    "links",
                    ln,
                    css,
                    LINK_LEGEND[css][0],
                    self.snippet(ln, [m]),
                    (
                        "url",
                        "unwrapped_url",
                        "status",
                        "http_status",
                        "final_url",
                        "redirect_chain",
                        "soft_404",
                        "error",
                        "syntax_error",
                        "role",
                        "host",
                        "block_kind",
                        "checked_at",
                    ),
                    ln.span_start,
                    ln.span_end,
                    ln.text,
                )
            )
        order = list(LINK_LEGEND)
        return sorted(cards, key=lambda c: (order.index(c.css), not c.failed, c.start or 0))

    def date_cards(self) -> list[Card]:
        """Dates in the order they appear."""
        cards = []
        for d in self.page.dates:
            css = date_class(d, self.articles.get(d.article_id), bool(self.by_record.get(d.date_id)))
            m = Mark(start=d.span_start, end=d.span_end, layer=1, css="hl hl-date")
            cards.append(
                self.card(
                    "date",
                    "dates",
                    d,
                    css,
                    DATE_LEGEND[css][0],
                    self.snippet(d, [m]),
                    (
                        "resolved",
                        "resolved_end",
                        "resolution",
                        "anchor",
                        "anchor_kind",
                        "role",
                        "weekday",
                        "block_kind",
                    ),
                    d.span_start,
                    d.span_end,
                    d.text,
                )
            )
        return sorted(cards, key=lambda c: c.start or 0)

    def article_cards(self) -> list[Card]:
        """Articles with their fields and rule outcomes."""
        cards = []
        for a in self.page.articles:
            bad = bool(self.by_record.get(a.article_id)) or bool(a.date_conflicts)
            span = a.title_span
            cards.append(
                self.card(
                    "article",
                    "articles",
                    a,
                    "article-bad" if bad else "article",
                    "article",
                    _mark_in(a.title or "(no title)", ""),
                    (
                        "title",
                        "byline",
                        "publisher",
                        "section",
                        "language",
                        "published_at",
                        "published_text",
                        "published_method",
                        "captured_at",
                        "captured_text",
                        "captured_method",
                        "updated_at",
                        "date_conflicts",
                        "canonical_url",
                        "n_paragraphs",
                        "tags",
                    ),
                    span.start if span else None,
                    span.end if span else None,
                    a.title or "",
                )
            )
        return cards

    def text_marks(self, doc: str | None, cards: Iterable[Card]) -> list[Mark]:
        """Blocks (furniture dimmed) and every value of one text, for its highlighted rendering."""
        marks = [
            Mark(
                start=b.span_start,
                end=b.span_end,
                layer=0,
                css=f"blk {_block_css(b)} bk-{_slug(b.kind)}",
                title=f"{b.kind}{'' if b.is_main else ' (outside the main story)'}",
            )
            for b in self.page.blocks
            if getattr(b, "text_sha256", None) == doc
        ]
        for c in cards:
            if c.kind != "article" and c.start is not None and c.end is not None:
                tag = c.label if c.failed or c.css in _BAD else None
                marks.append(
                    Mark(
                        start=c.start,
                        end=c.end,
                        layer=1,
                        css=f"m {c.kind} k-{_slug(c.css)}",
                        title=f"{c.kind}: {c.label}; bytes [{c.start}, {c.end})",
                        record_id=c.record_id,
                        tag=tag,
                    )
                )
        return marks


def _block_css(b: Block) -> str:
    if b.is_main:
        return "main"
    return "meta" if b.kind in _METADATA_KINDS else "dim"


def _mark_in(sentence: str, text: str) -> Markup:
    """The first occurrence of text in sentence highlighted (used when the seed bytes are not available)."""
    if text and text in sentence:
        before, _, after = sentence.partition(text)
        return _highlighted(before, text, after)
    return escape(sentence)


def _highlighted(before: str, text: str, after: str) -> Markup:
    """text highlighted between before and after, all escaped (as Markup.format would, but faster)."""
    return Markup(f'{escape(before)}<span class="hl hl-num">{escape(text)}</span>{escape(after)}')


def _context_range(data: bytes, start: int, end: int, encoding: str, reach: int = 160) -> tuple[int, int]:
    """A window around [start, end) cut at line ends when near, and never inside a UTF-8 character."""
    a = max(0, start - reach)
    nl = data.rfind(b"\n", a, start)
    a = nl + 1 if nl >= 0 else a
    b = min(len(data), end + reach)
    nl = data.find(b"\n", end, b)
    b = nl if nl >= 0 else b
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        while a < start and 0x80 <= data[a] < 0xC0:
            a += 1
        while b > end and b < len(data) and 0x80 <= data[b] < 0xC0:
            b -= 1
    return a, b


# ---------------------------------------------------------------- small inline SVG charts

_SEV_FILL = {"critical": "#c62828", "warning": "#b26a00", "info": "#1f6feb"}


def _svg(width: int, height: int, label: str, body: Iterable[str]) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg"><title>{escape(label)}</title>'
        + "".join(body)
        + "</svg>"
    )


def _trim(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def rules_chart(results: Sequence[CheckResult]) -> Markup | None:
    """Per rule with findings: failed, waived and passing records as one stacked bar, with the counts in words."""
    rows = [r for r in results if not r.passed or r.n_waived]
    if not rows:
        return None
    label_w, bar_w, row_h = 250, 280, 24
    body = []
    for i, r in enumerate(rows):
        y = i * row_h
        total = max(r.n_checked, r.n_failed + r.n_waived, 1)
        failed = 0 if r.error else max(2.0, bar_w * r.n_failed / total) if r.n_failed else 0.0
        waived = max(2.0, bar_w * r.n_waived / total) if r.n_waived else 0.0
        words = "could not run" if r.error else f"{r.n_failed:,} of {r.n_checked:,} fail"
        words += f", {r.n_waived:,} waived" if r.n_waived else ""
        body.append(
            f'<a href="#rule-{escape(_slug(r.rule_id))}"><g transform="translate(0,{y})">'
            f"<title>{escape(r.rule_id)} ({r.severity.value}): {escape(words)}</title>"
            f'<text x="0" y="16" class="lbl">{escape(_trim(r.rule_id, 34))}</text>'
            f'<rect x="{label_w}" y="5" width="{bar_w}" height="14" class="{"err" if r.error else "okbar"}"/>'
            f'<rect x="{label_w}" y="5" width="{failed:.1f}" height="14" fill="{_SEV_FILL[r.severity.value]}"/>'
            f'<rect x="{label_w + failed:.1f}" y="5" width="{waived:.1f}" height="14" class="waived"/>'
            f'<text x="{label_w + bar_w + 8}" y="16" class="num">{escape(words)}</text></g></a>'
        )
    return _svg(label_w + bar_w + 190, len(rows) * row_h, "Records failing each rule with findings", body)


def seeds_chart(
    counts: Sequence[tuple[str, str, Mapping[str, int]]], linked: Iterable[str], top: int = 15
) -> Markup | None:
    """The seeds with the most findings, stacked by severity, each bar a link to the seed's page."""
    rows = sorted(counts, key=lambda c: (-sum(c[2].values()), c[1]))[:top]
    if not rows:
        return None
    pages = set(linked)
    most = max(sum(c[2].values()) for c in rows)
    label_w, bar_w, row_h = 250, 280, 24
    body = []
    for i, (sha, path, by_sev) in enumerate(rows):
        x, parts = float(label_w), []
        for sev in ("critical", "warning", "info"):
            w = bar_w * by_sev.get(sev, 0) / most
            if w:
                parts.append(
                    f'<rect x="{x:.1f}" y="5" width="{max(w, 2):.1f}" height="14" fill="{_SEV_FILL[sev]}"/>'
                )
                x += max(w, 2)
        words = ", ".join(f"{by_sev[s]:,} {s}" for s in ("critical", "warning", "info") if by_sev.get(s))
        row = (
            f'<g transform="translate(0,{i * row_h})"><title>{escape(path)}: {escape(words)}</title>'
            f'<text x="0" y="16" class="lbl">{escape(_trim(path, 34))}</text>{"".join(parts)}'
            f'<text x="{x + 8:.1f}" y="16" class="num">{escape(words)}</text></g>'
        )
        body.append(f'<a href="seeds/{sha}.html">{row}</a>' if sha in pages else row)
    return _svg(label_w + bar_w + 220, len(rows) * row_h, "Seeds with the most findings, by severity", body)


def timeline_svg(article: Article, dates: Sequence[DateMention], classes: Mapping[str, str]) -> Markup | None:
    """An article's dates on one axis: publication, capture and update as labelled lines, dated events as dots."""
    keys = [
        (n, d)
        for n, d in (
            ("published", article.published_at),
            ("captured", article.captured_at),
            ("updated", article.updated_at),
        )
        if d is not None
    ]
    by_day: dict[dt.date, list[DateMention]] = defaultdict(list)
    for d in dates:
        if d.resolved is not None and d.role not in _UNDATED_ROLES:
            by_day[d.resolved].append(d)
    days = (
        [d for _, d in keys]
        + list(by_day)
        + [e.resolved_end for es in by_day.values() for e in es if e.resolved_end]
    )
    if not days:
        return None
    lo, hi = min(days), max(days)
    span, width, left = max((hi - lo).days, 1), 760, 90

    def x(day: dt.date) -> float:
        return left + (day - lo).days / span * (width - 2 * left)

    def anchor(cx: float) -> str:
        return "start" if cx < left + 40 else "end" if cx > width - left - 40 else "middle"

    conflict = " conflict" if article.date_conflicts else ""
    body = [f'<line x1="{left - 10}" y1="70" x2="{width - left + 10}" y2="70" class="axis"/>']
    rows: list[float] = []
    for name, day in sorted(keys, key=lambda k: k[1]):
        cx, text = x(day), f"{name} {day.isoformat()}"
        w, a = 7.4 * len(text), anchor(cx)
        lo_x = cx - (0 if a == "start" else w if a == "end" else w / 2)
        row = next((k for k, end in enumerate(rows) if end < lo_x - 8), len(rows))
        rows[row : row + 1] = [lo_x + w]
        y = 12 + 15 * min(row, 2)
        body.append(
            f'<g class="key{conflict}"><title>{name}: {day.isoformat()}</title>'
            f'<line x1="{cx:.1f}" y1="{y + 4}" x2="{cx:.1f}" y2="80"/>'
            f'<text x="{cx:.1f}" y="{y}" text-anchor="{a}">{escape(text)}</text></g>'
        )
    lanes: list[float] = []
    for day, group in sorted(by_day.items()):
        cx, first = x(day), group[0]
        label = _trim(first.text, 20) + (f" +{len(group) - 1}" if len(group) > 1 else "")
        w, a = 6.2 * len(label), anchor(cx)
        lo_x = cx - (0 if a == "start" else w if a == "end" else w / 2)
        lane = next((k for k, end in enumerate(lanes) if end < lo_x - 8), len(lanes))
        lanes[lane : lane + 1] = [lo_x + w]
        css = (
            "flagged"
            if any(classes.get(e.date_id) == "flagged" for e in group)
            else classes.get(first.date_id, "ok")
        )
        bars = "".join(
            f'<line x1="{cx:.1f}" y1="70" x2="{x(e.resolved_end):.1f}" y2="70" class="range"/>'
            for e in group
            if e.resolved_end
        )
        said = "; ".join(f"{e.text} ({e.role})" for e in group)
        body.append(
            f'<a href="#r-{escape(_slug(first.date_id))}" data-r="{escape(_slug(first.date_id))}" class="ev k-{escape(css)}">'
            f'<title>{day.isoformat()}: {escape(said)}</title>{bars}<circle cx="{cx:.1f}" cy="70" r="6"/>'
            f'<text x="{cx:.1f}" y="{98 + 15 * lane}" text-anchor="{a}">{escape(label)}</text></a>'
        )
    return _svg(
        width, 106 + 15 * len(lanes), f"Timeline of the dates in {article.title or article.article_id}", body
    )


# ---------------------------------------------------------------- evidence for a finding


_EXTRA_KEYS = (
    "reason",
    "detail",
    "kind",
    "attribution_kind",
    "source",
    "cue",
    "url",
    "status",
    "http_status",
    "syntax_error",
    "resolved",
    "resolution",
    "anchor",
    "role",
)


def evidence_html(finding: Finding) -> Markup:
    """The finding's text inside its sentence (found by its byte span when it can be), the text highlighted."""
    ev = finding.evidence
    text, sentence = ev.get("text"), ev.get("sentence")
    if not isinstance(text, str):
        title = ev.get("title")
        return escape(title if isinstance(title, str) else "")
    if not isinstance(sentence, str):
        return _highlighted("", text, "")
    at = _char_offset(sentence, ev.get("sentence_span"), ev.get("span_start"), text)
    if at is None:
        return _mark_in(sentence, text)
    return _highlighted(sentence[:at], text, sentence[at + len(text) :])


def _char_offset(sentence: str, sentence_span: Any, start: Any, text: str) -> int | None:
    if not isinstance(sentence_span, Mapping) or not isinstance(start, int):
        return None
    head = sentence.encode("utf-8")[: start - int(sentence_span["start"])]
    try:
        at = len(head.decode("utf-8"))
    except UnicodeDecodeError:
        return None
    return at if sentence[at : at + len(text)] == text else None


def evidence_extras(finding: Finding) -> list[tuple[str, str]]:
    """The evidence fields worth reading beside the text, in a fixed order."""
    return [
        (k, _show(finding.evidence[k])) for k in _EXTRA_KEYS if finding.evidence.get(k) not in (None, "", [])
    ]


# ---------------------------------------------------------------- pages and writing


@dataclass(frozen=True, slots=True, kw_only=True)
class _Run:
    """What every page of one report shares."""

    verdict: Verdict
    results: tuple[CheckResult, ...]
    seeds: Sequence[Mapping[str, Any]]
    paths: Mapping[str, str]  # seed_sha256 -> path
    by_seed: Mapping[str, Sequence[Finding]]
    severity: Mapping[str, str]  # rule_id -> severity
    limits: ReportLimits
    sentence: str  # the verdict in one sentence (counted once: every page shows it)

    @classmethod
    def from_verdict(cls, verdict: Verdict, seeds: Sequence[Mapping[str, Any]], limits: ReportLimits) -> _Run:
        """Index the verdict's findings by seed once."""
        by_seed: dict[str, list[Finding]] = defaultdict(list)
        for r in verdict.results:
            for f in r.findings:
                if f.seed_sha256:
                    by_seed[f.seed_sha256].append(f)
        paths: dict[str, str] = {}
        for s in seeds:
            if s.get("seed_sha256"):
                paths.setdefault(s["seed_sha256"], s["path"])
        return cls(
            verdict=verdict,
            results=tuple(ordered_results(verdict)),
            seeds=seeds,
            paths=paths,
            by_seed=by_seed,
            severity={r.rule_id: r.severity.value for r in verdict.results},
            limits=limits,
            sentence=verdict_sentence(verdict),
        )

    def seed_counts(self) -> list[tuple[str, str, Mapping[str, int]]]:
        """(sha, path, unwaived findings by severity) for every seed with findings."""
        out: list[tuple[str, str, Mapping[str, int]]] = []
        for sha, fs in self.by_seed.items():
            c = Counter(self.severity[f.rule_id] for f in fs if f.waived_by is None)
            if c:
                out.append((sha, self.paths.get(sha, sha[:12]), c))
        return out

    def pages_wanted(self) -> list[str]:
        """Seeds that get a page: those with the most critical findings (bounded), then a few without, by path."""
        critical = {r.rule_id for r in self.results if r.severity is Severity.CRITICAL}
        worst = sorted(
            self.by_seed,
            key=lambda s: (
                -_n_critical(self.by_seed[s], critical),
                -len(self.by_seed[s]),
                self.paths.get(s, s),
            ),
        )
        with_findings = sorted(worst[: self.limits.finding_seed_pages], key=lambda s: self.paths.get(s, s))
        others = sorted((s for s in self.paths if s not in self.by_seed), key=lambda s: self.paths[s])
        extracted = {s["seed_sha256"] for s in self.seeds if s.get("status") == "extracted"}
        return with_findings + [s for s in others if s in extracted][: self.limits.clean_seed_pages]


def _n_critical(findings: Sequence[Finding], critical: set[str]) -> int:
    return sum(1 for f in findings if f.waived_by is None and f.rule_id in critical)


@functools.cache
def _script(name: str) -> tuple[Markup, str]:
    """An inline script and the CSP source expression that allows exactly it."""
    source = _ENV.loader.get_source(_ENV, name)[0] if _ENV.loader else ""
    digest = base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode("ascii")
    return Markup(source), f"'sha256-{digest}'"


def _render(template: str, run: _Run, prefix: str, **context: Any) -> str:
    script, script_hash = _script("report.js")
    return _ENV.get_template(template).render(
        verdict=run.verdict,
        run=run,
        prefix=prefix,
        script=script,
        script_hash=script_hash,
        sentence=run.sentence,
        why=_why(run.sentence),
        manifest=run.verdict.manifest,
        slug=_slug,
        evidence_html=evidence_html,
        evidence_extras=evidence_extras,
        plural=_plural,
        **context,
    )


def render_seed_page(page: SeedPage, run: _Run) -> str:
    """One seed's page: its text with every value highlighted, and a card per value."""
    rules: dict[str, list[CheckResult]] = defaultdict(list)
    for r in run.results:
        rules[r.table].append(r)
    rank = {"critical": 0, "warning": 1, "info": 2}
    findings = sorted(
        run.by_seed.get(page.seed_sha256, ()),
        key=lambda f: (f.waived_by is not None, rank[run.severity[f.rule_id]], f.rule_id, f.record_id),
    )
    view = _SeedView(page, findings, rules)
    numbers, links, dates, articles = (
        view.number_cards(),
        view.link_cards(),
        view.date_cards(),
        view.article_cards(),
    )
    documents = view.documents([*numbers, *links, *dates], run.limits.text_bytes)
    texts = {t.text_sha256: t for t in page.texts}
    classes = {c.record_id: c.css for c in dates}
    timelines = [
        (a, timeline_svg(a, [d for d in page.dates if d.article_id == a.article_id], classes))
        for a in page.articles
    ]
    link_groups = [(k, [c for c in links if c.css == k]) for k in LINK_LEGEND]
    carded = {c.record_id for c in (*numbers, *links, *dates, *articles)}
    return _render(
        "seed.html.j2",
        run,
        "../",
        page=page,
        documents=documents,
        texts=texts,
        numbers=numbers,
        link_groups=[g for g in link_groups if g[1]],
        n_links=len(links),
        dates=dates,
        articles=articles,
        timelines=timelines,
        findings=findings,
        carded=carded,
        number_legend=NUMBER_LEGEND,
        link_legend=LINK_LEGEND,
        date_legend=DATE_LEGEND,
    )


def _why(sentence: str) -> str:
    """The verdict sentence without its leading verdict, for under the banner's heading."""
    tail = sentence.split(": ", 1)[-1]
    return tail[:1].upper() + tail[1:]


def _chunks(items: Sequence[Any], size: int) -> Iterator[tuple[int, Sequence[Any]]]:
    for n, i in enumerate(range(0, len(items), size), 1):
        yield n, items[i : i + size]


def _finding_file(rule_id: str, n: int) -> str:
    return f"findings/{_slug(rule_id)}-{n}.html"


def write_report(
    directory: Path,
    verdict: Verdict,
    seeds: Sequence[Mapping[str, Any]],
    pages: PageLoader | None = None,
    policy_path: Path | None = None,
    limits: ReportLimits = ReportLimits(),
    jobs: int | None = None,
) -> None:
    """Write index.html, seeds/*.html, findings/*.html, results.json and junit.xml into directory, atomically each.

    ``jobs``: worker processes for the seed pages when there are many (None: one per CPU).
    """
    atomic_write_text(
        directory / "results.json", json.dumps(results_document(verdict), indent=2, sort_keys=True)
    )
    atomic_write(directory / "junit.xml", junit_xml(verdict, limits))
    run = _Run.from_verdict(verdict, seeds, limits)
    written = write_seed_pages(directory, run, pages, jobs) if pages is not None else set()
    for r in run.results:
        for n, chunk in _chunks(r.findings, limits.findings_per_page):
            if len(r.findings) > limits.findings_inline:
                html = _render(
                    "findings.html.j2",
                    run,
                    "../",
                    rule=r,
                    findings=chunk,
                    n=n,
                    written=written,
                    n_pages=-(-len(r.findings) // limits.findings_per_page),
                )
                atomic_write_text(directory / _finding_file(r.rule_id, n), html)
    seed_rows = _seed_rows(run)
    if len(seed_rows) > limits.seeds_inline:
        n_pages = -(-len(seed_rows) // limits.seeds_per_page)
        for n, chunk in _chunks(seed_rows, limits.seeds_per_page):
            html = _render(
                "seedlist.html.j2", run, "../", seed_rows=chunk, n=n, n_pages=n_pages, written=written
            )
            atomic_write_text(directory / "manifest" / f"seeds-{n}.html", html)
    atomic_write_text(
        directory / "index.html", render_html(verdict, seeds, written, policy_path, limits, run)
    )


# seed pages are rendered in forked workers only when there are more than PARALLEL_PAGES of them, at
# least _PAGES_PER_WORKER each: every worker reads the tables once more, for its own seeds
PARALLEL_PAGES = 32
_PAGES_PER_WORKER = 16


@dataclass(frozen=True, slots=True, kw_only=True)
class _PageJob:
    """Where and how seed pages are written: what every worker shares."""

    directory: Path
    run: _Run
    pages: PageLoader


# the job forked workers do: set before the pool starts, so the run and the loader are not pickled
_SHARED: dict[str, _PageJob] = {}


def write_seed_pages(directory: Path, run: _Run, pages: PageLoader, jobs: int | None = None) -> set[str]:
    """Render and write the page of each seed that gets one; return the seeds whose page was written.

    Many pages are shared out between forked worker processes (the seeds dealt out in turn); each loads
    its own seeds' pages and writes them. The files are the same, byte for byte, whatever the jobs.
    """
    job = _PageJob(directory=directory, run=run, pages=pages)
    wanted = run.pages_wanted()
    workers = min(jobs or os.cpu_count() or 1, len(wanted) // _PAGES_PER_WORKER)
    if len(wanted) <= PARALLEL_PAGES or workers < 2:
        return _write_pages(job, wanted)
    _compile_templates()
    _SHARED["job"] = job
    try:
        with forked_pool(workers) as pool:
            done = [pool.submit(_write_shard, wanted[i::workers]) for i in range(workers)]
            return set().union(*(d.result() for d in done))
    finally:
        _SHARED.clear()


def _compile_templates() -> None:
    """Compile every template and hash the script now, once, for the forked workers to inherit."""
    for name in _ENV.list_templates(extensions=["j2", "css"]):
        _ENV.get_template(name)
    _script("report.js")


def _write_shard(shas: Sequence[str]) -> set[str]:
    """In a forked worker: write these seeds' pages."""
    return _write_pages(_SHARED["job"], shas)


def _write_pages(job: _PageJob, shas: Sequence[str]) -> set[str]:
    written: set[str] = set()
    for sha, page in job.pages(shas):
        if page is not None:
            atomic_write_text(job.directory / "seeds" / f"{sha}.html", render_seed_page(page, job.run))
            written.add(sha)
    return written


def _seed_rows(run: _Run) -> list[tuple[Mapping[str, Any], int]]:
    """Every seed with its number of unwaived findings, the ones with most findings first."""
    counts = {sha: sum(c.values()) for sha, _, c in run.seed_counts()}
    rows = [
        (s, counts.get(s.get("seed_sha256") or "", 0) if s.get("status") == "extracted" else 0)
        for s in run.seeds
    ]
    return sorted(rows, key=lambda r: (-r[1], r[0]["status"] == "extracted", r[0]["path"]))


def render_html(
    verdict: Verdict,
    seeds: Sequence[Mapping[str, Any]],
    written: Iterable[str] = (),
    policy_path: Path | None = None,
    limits: ReportLimits = ReportLimits(),
    run: _Run | None = None,
) -> str:
    """The self-contained index page (no external CSS, JS or fonts)."""
    run = run or _Run.from_verdict(verdict, seeds, limits)
    written = set(written)
    counts = run.seed_counts()
    rows = _seed_rows(run)
    n_extracted = sum(1 for s in seeds if s.get("status") == "extracted")
    return _render(
        "index.html.j2",
        run,
        "",
        results=run.results,
        failing=[r for r in run.results if r.findings or r.error],
        rules_chart=rules_chart(run.results),
        seeds_chart=seeds_chart(counts, written),
        written=written,
        seed_rows=rows[: limits.seeds_inline],
        n_seed_rows=len(rows),
        n_seed_lists=-(-len(rows) // limits.seeds_per_page),
        n_with_findings=len(run.by_seed),
        n_extracted=n_extracted,
        finding_file=_finding_file,
        waived=[f for r in run.results for f in r.findings if f.waived_by is not None],
        policy=_policy(policy_path, verdict.manifest),
        n_findings=sum(r.n_failed for r in run.results),
        n_clean_pages=len(written - set(run.by_seed)),
        n_finding_pages=len(written & set(run.by_seed)),
    )


def _policy(path: Path | None, manifest: Mapping[str, Any]) -> dict[str, Any] | None:
    """The number policy file as applied: its rules, and whether its hash is the one the manifest recorded."""
    if path is None or not path.is_file():
        return None
    raw = path.read_bytes()
    try:
        doc = json.loads(raw)
    except ValueError:
        return None
    recorded = manifest.get("policy", {}).get(path.name)
    sha = hashlib.sha256(raw).hexdigest()
    return {"name": path.name, "sha256": sha, "recorded": recorded, "matches": recorded == sha, "doc": doc}
