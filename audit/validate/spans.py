"""Span checks: does each row's span (the byte range of its seed, or of a text derived from it, that it
names) decode to exactly the value the row holds? One check per table, over a table of rows at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from audit.validate.seeds import SeedFile

_ROWS_AT_ONCE = 20_000  # mention rows checked at once: bounds memory
_ARTICLE_FIELDS = ("title", "byline", "publisher", "section", "published_text", "captured_text")
_COMPARE_BYTES = 4 << 20  # span bytes compared at once (a few index arrays of this many entries)


def mention_spans_ok(table: pa.Table, seeds: Mapping[str, SeedFile]) -> np.ndarray:
    """For each mention row: does its span reproduce its text? Column-wise, as mention tables are long.

    A row's span is good when the bytes of its source (the seed, or the derived text ``text_sha256`` names)
    in [span_start, span_end) decode to exactly its text. For UTF-8 sources that is byte equality with the
    text's UTF-8 encoding, compared for all rows at once; other encodings are decoded row by row.
    """
    out = np.zeros(table.num_rows, dtype=bool)
    done = 0
    for batch in table.select(list(_MENTION_COLUMNS)).to_batches(max_chunksize=_ROWS_AT_ONCE):
        out[done : done + batch.num_rows] = _batch_spans_ok(batch, seeds)
        done += batch.num_rows
    return out


_MENTION_COLUMNS = ("seed_sha256", "text_sha256", "span_start", "span_end", "text")
# a number's other spans and the values they hold: its sentence, and the source and cue it is attributed to.
# A source found through a reference ("she", "the agency") is the entity named earlier: its
# source_named_span holds that name, and source_span the reference, whose words are not stored.
NUMBER_SPANS = (("sentence_span", "sentence"), ("source_span", "source"), ("cue_span", "cue"))
_NAMED = "source_named_span"


def number_spans_ok(table: pa.Table, seeds: Mapping[str, SeedFile]) -> np.ndarray:
    """For each number row: its own span and every other span (sentence, source, cue) reproduce their values.

    A span left empty must have no value; a value without its span, or a span that does not decode to it,
    fails the row, so an edited source or cue is caught by the seed's bytes whatever digests were recomputed.
    A source named through a reference is checked at the name (source_named_span); its reference span must
    still lie in the seed.
    """
    out = mention_spans_ok(table, seeds)
    named = (
        table.column(_NAMED).combine_chunks().is_valid().to_numpy(zero_copy_only=False)
        if _NAMED in table.column_names
        else np.zeros(table.num_rows, dtype=bool)
    )
    for span_column, value_column in NUMBER_SPANS:
        span, value = table.column(span_column).combine_chunks(), table.column(value_column).combine_chunks()
        has_span = span.is_valid().to_numpy(zero_copy_only=False)
        out &= has_span | value.is_null().to_numpy(zero_copy_only=False)
        if value_column == "source" and named.any():
            out &= _spans_decode(table, seeds, span, np.flatnonzero(has_span & named), None)
            has_span &= ~named
            out &= _spans_decode(
                table, seeds, table.column(_NAMED).combine_chunks(), np.flatnonzero(named), value
            )
        out &= _spans_decode(table, seeds, span, np.flatnonzero(has_span), value)
    return out


def _spans_decode(
    table: pa.Table, seeds: Mapping[str, SeedFile], span: pa.Array, rows: np.ndarray, value: pa.Array | None
) -> np.ndarray:
    """True for every row but those of ``rows`` whose span does not decode to its value (to any text when
    ``value`` is None: the span lies in the seed and decodes)."""
    ok = np.ones(table.num_rows, dtype=bool)
    if not len(rows):
        return ok
    picked = pa.array(rows)
    spans = span.take(picked)
    seed_column = table.column("seed_sha256").take(picked)
    text_column = table.column("text_sha256").take(picked)
    if value is None:  # a reference's words are not stored: its span must lie in the text and decode
        for i, seed_sha, text_sha, bounds in zip(
            rows.tolist(), seed_column.to_pylist(), text_column.to_pylist(), spans.to_pylist(), strict=True
        ):
            seed = seeds.get(seed_sha)
            found = None if seed is None else seed.slice(text_sha, bounds["start"], bounds["end"])
            ok[i] = bool(found and found.strip())
        return ok
    view = pa.table(
        {
            "seed_sha256": seed_column,
            "text_sha256": text_column,
            "span_start": spans.field("start"),
            "span_end": spans.field("end"),
            "text": value.take(picked),
        }
    )
    ok[rows] = mention_spans_ok(view, seeds)
    return ok


_NO_SOURCE, _BYTES, _DECODE = 0, 1, 2  # how a row's span is checked: fails, byte comparison, decoding


@dataclass(slots=True)
class _Sources:
    """The distinct (seed, derived text) sources of a batch's rows, their bytes concatenated in one buffer."""

    kind: list[int] = field(default_factory=list)
    base: list[int] = field(default_factory=list)
    size: list[int] = field(default_factory=list)
    files: list[SeedFile | None] = field(default_factory=list)
    parts: list[bytes] = field(default_factory=list)
    filled: int = 0

    def add(self, seed: SeedFile | None, text_sha256: str | None) -> None:
        data = _source_bytes(seed, text_sha256)
        kind = _NO_SOURCE if data is None else _BYTES if data else _DECODE
        self.kind.append(kind)
        self.files.append(seed)
        self.base.append(self.filled)
        self.size.append(len(data) if data else 0)
        if data:
            self.parts.append(data)
            self.filled += len(data)


def _source_bytes(seed: SeedFile | None, text_sha256: str | None) -> bytes | None:
    """A span source's bytes when they are UTF-8; b"" when they must be decoded otherwise; None if absent."""
    if seed is None or seed.seed is None:
        return None
    if text_sha256 is not None:
        return seed.derived.get(text_sha256)  # derived texts are UTF-8
    if seed.seed.encoding.replace("-sig", "") != "utf-8":
        return b""
    return seed.seed.data


def _batch_spans_ok(batch: pa.RecordBatch, seeds: Mapping[str, SeedFile]) -> np.ndarray:
    seed_codes, seed_names = codes_of(batch.column(0))
    text_codes, text_names = codes_of(batch.column(1))
    key = seed_codes.astype(np.int64) * (len(text_names) + 1) + text_codes + 1
    keys, source_of = np.unique(key, return_inverse=True)
    sources = _Sources()
    for k in keys.tolist():
        seed_code, text_code = divmod(k, len(text_names) + 1)
        seed = seeds.get(seed_names[seed_code]) if seed_code >= 0 else None
        sources.add(seed, text_names[text_code - 1] if text_code else None)
    starts, ends = _ints(batch.column(2)), _ints(batch.column(3))
    text = batch.column(4)
    text_start, text_len, text_data = _string_parts(text)
    kind = np.asarray(sources.kind, dtype=np.int8)[source_of]
    by_bytes = (kind == _BYTES) & text.is_valid().to_numpy(zero_copy_only=False)
    size = np.asarray(sources.size, dtype=np.int64)[source_of]
    fits = by_bytes & (starts >= 0) & (starts <= ends) & (ends <= size) & (ends - starts == text_len)
    out = np.zeros(batch.num_rows, dtype=bool)
    base = np.asarray(sources.base, dtype=np.int64)[source_of]
    out[fits] = _equal_ranges(
        np.frombuffer(b"".join(sources.parts), dtype=np.uint8),
        (base + starts)[fits],
        text_data,
        text_start[fits],
        text_len[fits],
    )
    # other encodings, and rows without text: decoded and compared one by one
    for i in np.flatnonzero((kind == _DECODE) | ((kind == _BYTES) & ~by_bytes)).tolist():
        seed = sources.files[source_of[i]]
        sha = text_names[text_codes[i]] if text_codes[i] >= 0 else None
        found = None if seed is None else seed.slice(sha, int(starts[i]), int(ends[i]))
        out[i] = seed is not None and found == text[i].as_py()
    return out


def codes_of(column: pa.Array) -> tuple[np.ndarray, list[Any]]:
    """Each value's index among the column's distinct values (-1 for null), and those values in order seen."""
    encoded = pc.dictionary_encode(column)
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, encoded.dictionary.to_pylist()


def _ints(column: pa.Array) -> np.ndarray:
    """An integer column as int64, null as -1 (no span starts or ends there)."""
    values: np.ndarray = column.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return values


def _string_parts(text: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where each value of a string column starts in its data buffer, its length in bytes, and the buffer."""
    width = np.int64 if pa.types.is_large_string(text.type) else np.int32
    _, offsets_buffer, data_buffer = text.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=width)[text.offset : text.offset + len(text) + 1]
    offsets = offsets.astype(np.int64)
    data = np.zeros(0, np.uint8) if data_buffer is None else np.frombuffer(data_buffer, dtype=np.uint8)
    return offsets[:-1], np.diff(offsets), data


def _equal_ranges(
    left: np.ndarray,
    left_starts: np.ndarray,
    right: np.ndarray,
    right_starts: np.ndarray,
    lengths: np.ndarray,
) -> np.ndarray:
    """For each i: left[left_starts[i]:+lengths[i]] == right[right_starts[i]:+lengths[i]] (empty ranges are
    equal), compared a few MB at a time."""
    out = np.ones(len(lengths), dtype=bool)
    rows = np.flatnonzero(lengths > 0)
    ends = np.cumsum(lengths[rows])
    first = 0
    while first < len(rows):
        limit = ends[first] - lengths[rows[first]] + _COMPARE_BYTES
        last = max(first + 1, int(np.searchsorted(ends, limit, side="right")))
        part, n = rows[first:last], lengths[rows[first:last]]
        firsts = np.cumsum(n) - n
        within = np.arange(int(n.sum()), dtype=np.int64) - np.repeat(firsts, n)
        same = (
            left[np.repeat(left_starts[part], n) + within] == right[np.repeat(right_starts[part], n) + within]
        )
        out[part] = np.logical_and.reduceat(same, firsts)
        first = last
    return out


def _article_ok(seed: SeedFile, row: Mapping[str, Any]) -> bool:
    """Every field of an article that has a span reproduces its value, and the body its paragraphs."""
    sha = row["text_sha256"]
    for name in _ARTICLE_FIELDS:
        span = row.get(f"{name.removesuffix('_text')}_span")
        value = row.get(name)
        if span is not None and seed.slice(sha, span["start"], span["end"]) != value:
            return False
    paragraphs = [seed.slice(sha, s["start"], s["end"]) for s in row["body_spans"] or ()]
    return None not in paragraphs and "\n\n".join(p for p in paragraphs if p is not None) == row["body"]


def _derived_text_ok(seed: SeedFile, row: Mapping[str, Any]) -> bool:
    """A stored derived text is what the extractor derives from the seed again, byte for byte."""
    text: str = row["text"]
    return seed.derived.get(row["text_sha256"]) == text.encode("utf-8")


def _per_row(check: Callable[[SeedFile, Mapping[str, Any]], bool]) -> SpanCheck:
    def run(table: pa.Table, seeds: Mapping[str, SeedFile]) -> np.ndarray:
        out = np.zeros(table.num_rows, dtype=bool)
        for i, row in enumerate(rows_of(table)):
            seed = seeds.get(row["seed_sha256"])
            out[i] = seed is not None and seed.seed is not None and check(seed, row)
        return out

    return run


SpanCheck = Callable[[pa.Table, Mapping[str, SeedFile]], np.ndarray]  # a bool per row
article_spans_ok: SpanCheck = _per_row(_article_ok)
derived_text_ok: SpanCheck = _per_row(_derived_text_ok)


SPAN_CHECKS: dict[str, SpanCheck | None] = {
    "seeds": None,
    "articles": article_spans_ok,
    "blocks": mention_spans_ok,
    "numbers": number_spans_ok,
    "links": mention_spans_ok,
    "dates": mention_spans_ok,
    "texts": derived_text_ok,
    "link_checks": None,
}
# the columns a table's span check reads (None: every column)
SPAN_COLUMNS: dict[str, tuple[str, ...] | None] = {
    "seeds": ("seed_sha256",),
    "articles": None,
    "texts": ("seed_sha256", "text_sha256", "text"),
    "link_checks": None,
    "numbers": (*_MENTION_COLUMNS, *(c for pair in NUMBER_SPANS for c in pair), _NAMED),
} | dict.fromkeys(("blocks", "links", "dates"), _MENTION_COLUMNS)


def rows_of(table: pa.Table) -> Iterator[dict[str, Any]]:
    """The table's rows as dicts, a few at a time (an article's row holds its whole body)."""
    for batch in table.to_batches(max_chunksize=1_000):
        yield from batch.to_pylist()
