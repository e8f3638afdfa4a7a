"""Assemble records from a document and the analysers' facts: byte spans, content-derived ids."""

from __future__ import annotations

import dataclasses
import html as htmllib
import operator
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from audit.extract.dates import Clock, DateFact, find_dates, is_inferred
from audit.extract.documents import Document, MarkupLink
from audit.extract.language import guess_language
from audit.extract.links import LinkFact, LinkRole, find_links, link_from_markup, mark_duplicates
from audit.extract.number_fact import NumberFact
from audit.extract.numbers import NumberPolicy, find_numbers
from audit.extract.offsets import ByteMap, make_id, span_id
from audit.extract.page import Field, Page
from audit.extract.segments import Segment
from audit.ingest import bom_length
from audit.records import (
    Article,
    Block,
    DateMention,
    DerivedText,
    Extraction,
    Link,
    NumberMention,
    Seed,
    Span,
)

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


def build_extraction(seed: Seed, doc: Document, index: int, *, policy: NumberPolicy) -> Extraction:
    """Run the analysers over one document of a seed and turn their character facts into records."""
    page, text = doc.page, doc.text
    article_id = make_id("a", seed.seed_sha256, index)
    ctx = _Ctx(seed, article_id, doc)
    main_text = " ".join(text[s.start : s.end] for s in page.segments if s.is_main)
    language = page.language or guess_language(main_text)
    date_facts, clock = find_dates(text, page.segments, page=doc.page_dates)
    # calendar dates belong to the dates table alone; a duration ("up to 10 years in prison") is also a
    # figure whose source the number policy may require, so the number analyser sees it too
    claimed = [(d.start, d.end) for d in date_facts if d.role != "duration"]
    number_facts = find_numbers(text, page.segments, language=language, policy=policy, exclude=claimed)
    link_facts = find_links(text, page.segments)
    return Extraction(
        articles=(_article(ctx, page, clock, date_facts, language),),
        texts=_texts(ctx),
        blocks=tuple(_block(ctx, i, s) for i, s in enumerate(page.segments)),
        numbers=_numbers(ctx, number_facts),
        links=_links(ctx, link_facts, doc),
        dates=tuple(_date(ctx, f) for f in date_facts),
    )


def merge_extractions(parts: Iterable[Extraction]) -> Extraction:
    """One Extraction holding the records of several documents of the same seed, in order."""
    parts = list(parts)
    return Extraction(
        articles=tuple(a for p in parts for a in p.articles),
        texts=tuple(t for p in parts for t in p.texts),
        blocks=tuple(b for p in parts for b in p.blocks),
        numbers=tuple(n for p in parts for n in p.numbers),
        links=tuple(lk for p in parts for lk in p.links),
        dates=tuple(d for p in parts for d in p.dates),
    )


class _Ctx:
    """Per-document context shared by the record builders: which bytes spans count in."""

    __slots__ = ("article_id", "bmap", "doc", "seed", "seed_map", "sha", "text_sha")

    def __init__(self, seed: Seed, article_id: str, doc: Document) -> None:
        self.seed, self.sha, self.article_id, self.doc = seed, seed.seed_sha256, article_id, doc
        self.seed_map = ByteMap(seed.text, seed.encoding, bom_length(seed.data))
        if doc.derivation is None:
            self.text_sha, self.bmap = None, self.seed_map
        else:
            self.text_sha, self.bmap = doc.derivation.text_sha256, ByteMap(doc.text, "utf-8")

    def span(self, start: int | None, end: int | None) -> Span | None:
        return None if start is None or end is None else self.bmap.span(start, end)

    def mention_id(self, prefix: str, span: Span) -> str:
        return span_id(prefix, self.sha, self.text_sha, span)


def _texts(ctx: _Ctx) -> tuple[DerivedText, ...]:
    d = ctx.doc.derivation
    if d is None:
        return ()
    return (
        DerivedText(
            text_sha256=d.text_sha256,
            seed_sha256=ctx.sha,
            article_id=ctx.article_id,
            extractor=d.extractor,
            extractor_version=d.extractor_version,
            seed_start=d.seed_start,
            seed_end=d.seed_end,
            n_bytes=len(ctx.doc.text.encode("utf-8")),
            text=ctx.doc.text,
        ),
    )


def _field(ctx: _Ctx, field: Field | None) -> tuple[str | None, Span | None]:
    return (None, None) if field is None else (field.value, ctx.bmap.span(field.start, field.end))


def _article(ctx: _Ctx, page: Page, clock: Clock, dates: Sequence[DateFact], language: str | None) -> Article:
    text = ctx.doc.text
    body = page.body
    title, title_span = _field(ctx, page.title)
    byline, byline_span = _field(ctx, page.byline)
    publisher, publisher_span = _field(ctx, page.publisher)
    section, section_span = _field(ctx, page.section)
    pub = dates[clock.published_index] if clock.published_index is not None else None
    cap = dates[clock.captured_index] if clock.captured_index is not None else None
    return Article(
        article_id=ctx.article_id,
        seed_sha256=ctx.sha,
        format=ctx.seed.format,
        language=language,
        title=title,
        title_span=title_span,
        byline=byline,
        byline_span=byline_span,
        publisher=publisher,
        publisher_span=publisher_span,
        section=section,
        section_span=section_span,
        published_at=clock.published_at,
        published_text=pub.text if pub else None,
        published_span=ctx.span(pub.start, pub.end) if pub else None,
        published_method=clock.published_method,
        captured_at=clock.captured_at,
        captured_text=cap.text if cap else None,
        captured_span=ctx.span(cap.start, cap.end) if cap else None,
        captured_method=clock.captured_method,
        updated_at=clock.updated_at,
        date_conflicts=tuple(clock.conflicts),
        n_date_conflicts=len(clock.conflicts),
        canonical_url=page.canonical_url,
        body="\n\n".join(text[s.start : s.end] for s in body),
        body_spans=tuple(ctx.bmap.span(s.start, s.end) for s in body),
        n_paragraphs=len(body),
        tags=tuple(t.value for t in page.tags),
        text_sha256=ctx.text_sha,
    )


def _block(ctx: _Ctx, position: int, seg: Segment) -> Block:
    span = ctx.bmap.span(seg.start, seg.end)
    return Block(
        block_id=ctx.mention_id("b", span),
        article_id=ctx.article_id,
        seed_sha256=ctx.sha,
        span_start=span.start,
        span_end=span.end,
        text=ctx.doc.text[seg.start : seg.end],
        kind=seg.kind,
        position=position,
        is_main=seg.is_main,
        text_sha256=ctx.text_sha,
    )


def _numbers(ctx: _Ctx, facts: Sequence[NumberFact]) -> tuple[NumberMention, ...]:
    spans = [ctx.bmap.span(f.start, f.end) for f in facts]
    ids = [ctx.mention_id("n", span) for span in spans]
    return tuple(_number(ctx, f, spans[i], ids[i], ids) for i, f in enumerate(facts))


def _number(ctx: _Ctx, f: NumberFact, span: Span, number_id: str, ids: Sequence[str]) -> NumberMention:
    return NumberMention(
        **carried(f, NumberMention),
        number_id=number_id,
        article_id=ctx.article_id,
        seed_sha256=ctx.sha,
        span_start=span.start,
        span_end=span.end,
        sentence=ctx.doc.text[f.sentence_start : f.sentence_end],
        sentence_span=ctx.bmap.span(f.sentence_start, f.sentence_end),
        source_span=ctx.span(f.source_start, f.source_end),
        cue_span=ctx.span(f.cue_start, f.cue_end),
        source_named_span=ctx.span(f.source_named_start, f.source_named_end),
        components=tuple(ids[i] for i in f.component_indices),
        linked_number_id=ids[f.linked_index] if f.linked_index is not None else None,
        text_sha256=ctx.text_sha,
    )


def _links(ctx: _Ctx, facts: Sequence[LinkFact], doc: Document) -> tuple[Link, ...]:
    """Links found in the text, then links read from the seed's markup (spans into the seed itself)."""
    markup = [_markup_fact(m, doc.base_url) for m in doc.markup_links]
    marked = mark_duplicates([*facts, *markup])  # sorted by position: tell the two kinds apart by block kind
    return tuple(
        _link(ctx, f, ctx.seed_map, None)
        if f.block_kind == _MARKUP
        else _link(ctx, f, ctx.bmap, ctx.text_sha)
        for f in marked
    )


_MARKUP = "markup"  # the block kind of links read from the seed's HTML (spans into the seed itself)


def _markup_fact(m: MarkupLink, base_url: str | None) -> LinkFact:
    return link_from_markup(
        start=m.start,
        end=m.end,
        text=m.raw,
        raw_url=htmllib.unescape(m.raw),
        role=LinkRole(m.role),
        block_kind=_MARKUP,
        base_url=base_url,
    )


def _link(ctx: _Ctx, f: LinkFact, bmap: ByteMap, text_sha: str | None) -> Link:
    span = bmap.span(f.start, f.end)
    return Link(
        **carried(f, Link),
        link_id=span_id("l", ctx.sha, text_sha, span),
        article_id=ctx.article_id,
        seed_sha256=ctx.sha,
        span_start=span.start,
        span_end=span.end,
        status="not_checked",
        text_sha256=text_sha,
    )


def _date(ctx: _Ctx, f: DateFact) -> DateMention:
    span = ctx.bmap.span(f.start, f.end)
    return DateMention(
        **carried(f, DateMention),
        date_id=ctx.mention_id("d", span),
        article_id=ctx.article_id,
        seed_sha256=ctx.sha,
        span_start=span.start,
        span_end=span.end,
        is_inferred=is_inferred(f.resolution),
        text_sha256=ctx.text_sha,
    )


def carried(fact: DataclassInstance, record: type[DataclassInstance]) -> dict[str, Any]:
    """The fields an analyser's fact hands to its record: every field the two share by name is the same
    column, passed on unchanged. The record's other fields (ids, byte spans) are the caller's to give, and
    one given both ways is a TypeError, not a silent choice."""
    try:
        names, get = _SHARED[type(fact), record]
    except KeyError:
        columns = {f.name for f in dataclasses.fields(record)}
        names = tuple(f.name for f in dataclasses.fields(type(fact)) if f.name in columns)
        get = operator.attrgetter(*names)
        _SHARED[type(fact), record] = names, get
    return dict(zip(names, get(fact), strict=True))


# fact type, record type -> the names of the fields they share, and a getter of their values
_SHARED: dict[tuple[type, type], tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]]] = {}
