"""A seed page's view of its records: ``Card`` (one record, where it is, and its ``Outcome`` for each
rule of its table), ``SeedView``, which builds one page's cards and highlighted texts, and the small
helpers that show a field's value or a value highlighted in its sentence (the evidence of a finding uses
them too).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from audit.records import Block, CheckResult, Finding, Span
from audit.report.colours import (
    BAD_STATES,
    DATE_LEGEND,
    LINK_LEGEND,
    METADATA_KINDS,
    NUMBER_LEGEND,
    date_class,
    link_class,
    number_class,
)
from audit.report.inputs import SeedPage, fields_of
from audit.report.marks import Mark, each, render_marked, slug


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
    table: str  # the table its record is a row of: numbers, links, dates, articles
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
    # as the card's HTML shows them (escaped once here, not per template loop step): the fields asked for,
    # then the rest of the record: its other fields with a value, and the names of those without one
    fields_html: Markup
    record_html: Markup

    @property
    def is_bad(self) -> bool:
        """True when a rule failed on it or its legend key is a bad one."""
        return bool(self.failed) or self.css in BAD_STATES


def _outcome(rule: CheckResult, finding: Finding | None) -> Outcome:
    """A rule's outcome on a record: failed if it has a finding there (perhaps waived), else passed."""
    return Outcome(
        rule_id=rule.rule_id,
        severity=rule.severity.value,
        description=rule.description,
        failed=finding is not None,
        waived=finding.waived_by.reason if finding is not None and finding.waived_by is not None else None,
    )


def show(value: Any) -> str:
    if type(value) is str:  # most fields: shown as they are
        return value
    if type(value) is int or type(value) is bool:
        return str(value)
    if isinstance(value, Span):
        return f"[{value.start}, {value.end})"
    if isinstance(value, tuple):
        return ", ".join(show(v) for v in value) or "—"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    return "—" if value is None else str(value)


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
    def of(cls, record: Any, names: Sequence[str], known: Mapping[str, Any]) -> _Shown:
        """Each field shown and escaped once, for both lists; names are fields of the record; a field whose
        value is in known (the card's id, text and span, the page's seed) is left out of the rest."""
        f = fields_of(type(record))
        values = [getattr(record, n) for n in f.names]
        shown = [v if type(v) is str else show(v) for v in values]
        escaped = each(shown, _escaped)
        empty = {i for i, v in enumerate(values) if v is None or v == () or v == ""}
        picked = [f.index[n] for n in names if f.index[n] not in empty]
        seen = {f.index[n] for n, v in known.items() if n in f.index and values[f.index[n]] == v}
        rest = [i for i in range(len(values)) if i not in empty and i not in picked and i not in seen]
        none = ", ".join(f.names[i] for i in sorted(empty))
        return cls(
            fields=tuple((f.names[i], shown[i]) for i in picked),
            record=tuple(zip(f.names, shown, strict=True)),
            fields_html=Markup("".join([f"{f.heads[i]}{escaped[i]}</dd>" for i in picked])),
            record_html=Markup(
                "".join([f"{f.heads[i]}{escaped[i]}</dd>" for i in rest])
                + (f"<dt>no value</dt><dd>{escape(none)}</dd>" if none else "")
            ),
        )


class SeedView:
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
        self._clean: dict[str, tuple[Outcome, ...]] = {}  # table -> every rule passed
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
        failed, passed = self.outcomes(table, rid)
        known = {
            f"{kind}_id": rid,
            "text": text,
            "span_start": start,
            "span_end": end,
            "seed_sha256": self.page.seed_sha256,
        }
        shown = _Shown.of(record, names, known)
        return Card(
            record_id=rid,
            slug=slug(rid),
            kind=kind,
            table=table,
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
            record_html=shown.record_html,
        )

    def outcomes(self, table: str, rid: str) -> tuple[tuple[Outcome, ...], tuple[Outcome, ...]]:
        """The rules of its table a record fails and passes, in the rules' order."""
        if table not in self._clean:
            self._clean[table] = tuple(_outcome(r, None) for r in self.rules.get(table, ()))
        clean = self._clean[table]
        hit = {f.rule_id: f for f in self.by_record.get(rid, ())}
        failed = tuple(_outcome(r, hit[r.rule_id]) for r in self.rules.get(table, ()) if r.rule_id in hit)
        if not failed:  # most records: the same outcomes as every clean record of the table
            return (), clean
        return failed, tuple(o for o in clean if o.rule_id not in hit)

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
                css=f"blk {_block_css(b)} bk-{slug(b.kind)}",
                title=f"{b.kind}{'' if b.is_main else ' (outside the main story)'}",
            )
            for b in self.page.blocks
            if getattr(b, "text_sha256", None) == doc
        ]
        for c in cards:
            if c.kind != "article" and c.start is not None and c.end is not None:
                tag = c.label if c.failed or c.css in BAD_STATES else None
                marks.append(
                    Mark(
                        start=c.start,
                        end=c.end,
                        layer=1,
                        css=f"m {c.kind} k-{slug(c.css)}",
                        title=f"{c.kind}: {c.label}; bytes [{c.start}, {c.end})",
                        record_id=c.record_id,
                        tag=tag,
                    )
                )
        return marks


def _block_css(b: Block) -> str:
    if b.is_main:
        return "main"
    return "meta" if b.kind in METADATA_KINDS else "dim"


def _mark_in(sentence: str, text: str) -> Markup:
    """The first occurrence of text in sentence highlighted (used when the seed bytes are not available)."""
    if text and text in sentence:
        before, _, after = sentence.partition(text)
        return highlighted(before, text, after)
    return escape(sentence)


def highlighted(before: str, text: str, after: str) -> Markup:
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
