"""Provenance facts computed by re-reading the seeds, never by trusting the extractor.

For each table row: ``seed_ok`` (the seed file it names still hashes to its ``seed_sha256``), ``span_ok``
(the seed's bytes in its span decode to exactly its text) and ``record_ok`` (its ``record_sha256`` matches
its content, so a value edited in the Parquet file is caught). The suites state what must hold over them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from audit.fsio import sha256_bytes, sha256_file
from audit.ingest import DEFAULT_LIMITS, IngestLimits, decode_seed, read_seed_file
from audit.records import Seed
from audit.store import DIGEST_COLUMN, iter_table, record_digest

PROVENANCE_COLUMNS = ("seed_ok", "span_ok", "record_ok", "reextracted_ok")
# the record digests extraction makes again for (seed sha256, table); None: not extracted again
Reextracted = Callable[[str, str], frozenset[str] | None]
_ROWS_AT_ONCE = 20_000  # mention rows checked at once: bounds memory
_ARTICLE_FIELDS = ("title", "byline", "publisher", "section", "published_text", "captured_text")
_KEPT_TEXT_BYTES = 128 << 20  # derived texts a run keeps for its validation; past this, derived again
_COMPARE_BYTES = 4 << 20  # span bytes compared at once (a few index arrays of this many entries)
SAMPLE_PREFIX = "0"  # seeds whose texts `audit run` derives again although it kept them (one in 16)


@dataclass(slots=True, kw_only=True)
class SeedFile:
    """What re-reading one seed file found: its digest now, its content, and the texts derived from it again.

    The texts are derived on first use of ``derived`` (trafilatura for HTML): a reader that needs only the
    seed's bytes, like the report, does not pay for the extraction.
    """

    path: str
    sha256_now: str | None
    seed: Seed | None
    _derived: dict[str, bytes] | None = field(default=None, repr=False)

    @property
    def derived(self) -> dict[str, bytes]:
        """The texts derived from the seed again, by their sha256 (empty for a format that derives none)."""
        if self._derived is None:
            self._derived = {} if self.seed is None else _rederive(self.seed)
        return self._derived

    def slice(self, text_sha256: str | None, start: int | None, end: int | None) -> str | None:
        """Bytes [start, end) of the seed (or of the derived text with that hash), decoded; None if invalid."""
        if self.seed is None:
            return None
        if text_sha256 is None:
            data, encoding = self.seed.data, self.seed.encoding.replace("-sig", "")
        elif text_sha256 in self.derived:
            data, encoding = self.derived[text_sha256], "utf-8"
        else:
            return None
        if start is None or end is None or not 0 <= start <= end <= len(data):
            return None
        try:
            return data[start:end].decode(encoding)
        except UnicodeDecodeError:
            return None


class DerivedTexts:
    """The texts a run's extraction derived from each seed, by their sha256, kept for that run's validation.

    ``audit run`` validates the tables it has just written: the derived texts its extraction made are what
    the tables are checked against, so most are not derived from the seeds a second time (trafilatura is
    most of an HTML run's cost). Each text is keyed by the sha256 computed here, from its bytes. A sample
    (seeds whose digest starts with ``SAMPLE_PREFIX``, one in 16) is always derived again, so a
    nondeterministic extractor or a text filed under the wrong seed still fails the run. Memory is bounded:
    past ``limit`` bytes, a seed's texts are not kept and validation derives them again. ``audit validate``
    keeps none and derives every text again.
    """

    # not a dataclass: accumulates texts batch by batch

    def __init__(self, limit: int = _KEPT_TEXT_BYTES) -> None:
        self._texts: dict[str, dict[str, bytes]] = {}
        self._dropped: set[str] = set()
        self._left = limit

    def add(self, texts: pa.Table | pa.RecordBatch) -> None:
        """Keep the texts of a ``texts`` table batch (columns seed_sha256 and text)."""
        for seed, text in zip(
            texts.column("seed_sha256").to_pylist(), texts.column("text").to_pylist(), strict=True
        ):
            if seed is None or text is None or seed in self._dropped or seed.startswith(SAMPLE_PREFIX):
                continue
            data = text.encode("utf-8")
            if len(data) > self._left:
                self._dropped.add(seed)  # all of a seed's texts or none: a partial set would fail its checks
                self._texts.pop(seed, None)
                continue
            self._left -= len(data)
            self._texts.setdefault(seed, {})[sha256_bytes(data)] = data

    def of(self, seed_sha256: str) -> dict[str, bytes] | None:
        """The seed's derived texts by sha256; None if they were not kept (derive them again)."""
        return None if seed_sha256 in self._dropped else self._texts.get(seed_sha256)


def reread_seed(
    root: Path,
    rel: str,
    expected_sha256: str | None,
    derived: dict[str, bytes] | None = None,
    limits: IngestLimits = DEFAULT_LIMITS,
) -> SeedFile:
    """Read a seed file again and decode it the way ingest did, under the run's size limit; its texts are
    derived again when first used, unless ``derived`` gives them (the texts this run's extraction derived
    from a seed with this digest).

    A file now over the limit is hashed in chunks and not decoded: a seed swapped for a huge (or sparse)
    file fails its digest check without taking that much memory.
    """
    path = root / rel
    try:
        data = read_seed_file(path, limits.max_bytes)
        digest = sha256_file(path) if len(data) > limits.max_bytes else sha256_bytes(data)
    except OSError:
        return SeedFile(path=rel, sha256_now=None, seed=None)
    fits = len(data) <= limits.max_bytes
    decoded = decode_seed(data, rel, limits) if fits and digest == expected_sha256 else None
    if not isinstance(decoded, Seed):
        return SeedFile(path=rel, sha256_now=digest, seed=None)
    return SeedFile(path=rel, sha256_now=digest, seed=decoded, _derived=derived)


class SeedCache(Mapping[str, SeedFile]):
    """Seed files re-read on demand, the most recently used kept; tables are in seed order, so few misses.

    Memory stays bounded however many seeds a run has; each seed's digest check is remembered.
    """

    # not a dataclass: an LRU cache around reread_seed

    def __init__(
        self,
        root: Path,
        paths: Mapping[str, str],
        size: int = 2048,
        derived: DerivedTexts | None = None,
        limits: IngestLimits = DEFAULT_LIMITS,
    ) -> None:
        self._root, self._paths, self.size, self._derived = root, dict(paths), size, derived
        self._limits = limits
        self._files: OrderedDict[str, SeedFile] = OrderedDict()
        self._ok: dict[str, bool] = {}

    def __getitem__(self, sha: str) -> SeedFile:
        if sha in self._files:
            self._files.move_to_end(sha)
            return self._files[sha]
        if sha not in self._paths:
            raise KeyError(sha)
        kept = None if self._derived is None else self._derived.of(sha)
        found = reread_seed(self._root, self._paths[sha], sha, kept, self._limits)
        self._ok[sha] = found.sha256_now == sha
        self._files[sha] = found
        if len(self._files) > self.size:
            self._files.popitem(last=False)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)

    def forget(self) -> None:
        """Drop the cached files (their digest checks are kept)."""
        self._files.clear()

    def is_ok(self, sha: str) -> bool:
        """Whether the seed file with this recorded digest still hashes to it."""
        if sha not in self._ok:
            if sha not in self._paths:
                return False
            self[sha]
        return self._ok[sha]


def _rederive(seed: Seed) -> dict[str, bytes]:
    """The texts the readers derive from a seed, by sha256: read_html's text step, or the JSON Lines reader."""
    base = seed.format.removesuffix("+gzip")
    if base == "html":
        from audit.extract.html import derived_text  # read_html's text, without its dates and links

        texts = [text for text in (derived_text(seed.text),) if text is not None]
    elif base == "jsonl":
        from audit.extract.jsonl import read_jsonl

        docs = read_jsonl(seed.data)
        texts = [] if isinstance(docs, str) else [d.text for d in docs]
    else:
        return {}  # text formats are their own documents: spans point into the seed
    return {sha256_bytes(data): data for data in (text.encode("utf-8") for text in texts)}


def record_ok(row: Mapping[str, Any]) -> bool:
    """True when the row's digest matches its content."""
    return bool(row.get(DIGEST_COLUMN) == record_digest(dict(row)))


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
    seed_codes, seed_names = _codes(batch.column(0))
    text_codes, text_names = _codes(batch.column(1))
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


def _codes(column: pa.Array) -> tuple[np.ndarray, list[Any]]:
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
        for i, row in enumerate(_rows(table)):
            seed = seeds.get(row["seed_sha256"])
            out[i] = seed is not None and seed.seed is not None and check(seed, row)
        return out

    return run


SpanCheck = Callable[[pa.Table, Mapping[str, SeedFile]], np.ndarray]  # a bool per row
article_spans_ok: SpanCheck = _per_row(_article_ok)
derived_text_ok: SpanCheck = _per_row(_derived_text_ok)


def provenance_columns(
    table: pa.Table,
    seeds: SeedCache,
    span_check: SpanCheck | None,
    *,
    rows_intact: bool,
    expected: Callable[[str], frozenset[str] | None] | None = None,
) -> dict[str, pa.BooleanArray]:
    """seed_ok, span_ok, record_ok and reextracted_ok for every row of a table.

    span_ok is null for a table without spans. record_ok is recomputed row by row only when the file's
    sha256 differs from the manifest's (``rows_intact`` False): an intact file has no edited row, and a
    changed one gets every edited row named. reextracted_ok: whether the row's digest is one of those
    ``expected`` gives for its seed (the seed extracted again); null where it gives None, or without it.
    """
    n = table.num_rows
    # spans first: that walk re-reads each seed once, in table order, and remembers its digest check
    span_ok = pa.nulls(n, pa.bool_()) if span_check is None else pa.array(span_check(table, seeds))
    if "seed_sha256" not in table.column_names:  # run-time tables (link_checks) name no seed
        seed_ok = pa.nulls(n, pa.bool_())
    else:
        # each distinct seed looked up once; an unreadable seed has no digest to check: null
        encoded = pc.dictionary_encode(table.column("seed_sha256").combine_chunks())
        known = pa.array([seeds.is_ok(sha) for sha in encoded.dictionary.to_pylist()], pa.bool_())
        seed_ok = known.take(encoded.indices)
    if rows_intact:
        record = pa.array(np.ones(n, dtype=bool))
    else:
        record = pa.array([record_ok(r) for r in _rows(table)], pa.bool_())
    return {
        "span_ok": span_ok,
        "seed_ok": seed_ok,
        "record_ok": record,
        "reextracted_ok": _reextracted_ok(table, expected),
    }


def _reextracted_ok(
    table: pa.Table, expected: Callable[[str], frozenset[str] | None] | None
) -> pa.BooleanArray:
    """Per row: is its digest among those its seed's re-extraction makes (null: seed not extracted again)."""
    n = table.num_rows
    if expected is None or n == 0 or "seed_sha256" not in table.column_names:
        return pa.nulls(n, pa.bool_())
    codes, shas = _codes(table.column("seed_sha256").combine_chunks())
    wanted = [None if sha is None else expected(sha) for sha in shas]
    out: list[bool | None] = [None] * n
    chosen = np.flatnonzero(np.asarray([w is not None for w in wanted] + [False])[codes]).tolist()
    if chosen:
        digests = table.column(DIGEST_COLUMN).take(pa.array(chosen)).to_pylist()
        for i, digest in zip(chosen, digests, strict=True):
            out[i] = digest in (wanted[codes[i]] or ())
    return pa.array(out, pa.bool_())


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
_CHECKED_COLUMNS: dict[str, tuple[str, ...] | None] = {
    "seeds": ("seed_sha256",),
    "articles": None,
    "texts": ("seed_sha256", "text_sha256", "text"),
    "link_checks": None,
    "numbers": (*_MENTION_COLUMNS, *(c for pair in NUMBER_SPANS for c in pair), _NAMED),
} | dict.fromkeys(("blocks", "links", "dates"), _MENTION_COLUMNS)
_READ_ROWS = 65_536


def tables_provenance(
    directory: Path,
    names: Sequence[str],
    seeds: SeedCache,
    order: Mapping[str, int],
    intact: Mapping[str, bool],
    batch_rows: Mapping[str, int] | None = None,
    reextracted: Reextracted | None = None,
    prefetch: Callable[[Sequence[str]], None] | None = None,
) -> dict[str, dict[str, pa.ChunkedArray]]:
    """seed_ok, span_ok and record_ok of every row of these tables, re-reading each seed once for them all.

    Tables hold their rows in seed order (``order``: each seed's position). The walk checks the rows of
    the next seeds (half as many as the cache holds) in every table in turn, so a seed re-read (and for HTML, its text derived
    again) for one table is still cached for the others. Rows out of that order, or naming an unknown seed,
    are checked all the same, at the cost of another read. ``batch_rows``: rows read at once per table
    (bounds memory: a batch of article rows holds their whole bodies). ``prefetch`` is given each window's
    seeds before their rows are checked (re-extraction runs them in worker processes).
    """
    rows = batch_rows or {}
    walks = {
        name: _SeedOrdered(
            iter_table(
                directory, name, rows.get(name, _READ_ROWS), _columns(name, intact[name], reextracted)
            ),
            order,
        )
        for name in names
    }
    found: dict[str, dict[str, list[pa.Array]]] = {n: {c: [] for c in PROVENANCE_COLUMNS} for n in names}
    limit, window = 0, max(1, seeds.size // 2)
    ordered = list(order)
    while not all(walk.done for walk in walks.values()):
        if prefetch is not None:  # the window's seeds to extract again, all at once
            prefetch(ordered[limit : limit + window])
        limit += window
        for name, walk in walks.items():
            part = walk.before(limit)
            if part is None:
                continue
            expected = None if reextracted is None else _for_table(reextracted, name)
            checks = provenance_columns(
                part, seeds, SPAN_CHECKS[name], rows_intact=intact[name], expected=expected
            )
            for column, values in checks.items():
                found[name][column].append(values)
    return {
        name: {c: pa.chunked_array(v, pa.bool_()) for c, v in columns.items()}
        for name, columns in found.items()
    }


def _columns(name: str, intact: bool, reextracted: Reextracted | None) -> list[str] | None:
    """What the walk reads of a table: the checked columns (with the digest, if rows are compared with a
    re-extraction), or every column when rows must be re-digested."""
    columns = _CHECKED_COLUMNS.get(name)
    if columns is None or not intact:
        return None
    return [*columns, DIGEST_COLUMN] if reextracted is not None else list(columns)


def _for_table(reextracted: Reextracted, table: str) -> Callable[[str], frozenset[str] | None]:
    return lambda sha: reextracted(sha, table)


class _SeedOrdered:
    """A table's batches, handed out up to a seed position (rows of an unknown seed go with the current ones)."""

    # not a dataclass: a cursor over an iterator

    def __init__(self, tables: Iterator[pa.Table], order: Mapping[str, int]) -> None:
        self._tables, self._order = tables, order
        self._held: pa.Table | None = None
        self._at = np.zeros(0, dtype=np.int64)
        self.done = False

    def before(self, limit: int) -> pa.Table | None:
        """The next rows whose seed lies before position ``limit``; None if there are none."""
        parts: list[pa.Table] = []
        while not self.done:
            if self._held is None:
                table = next(self._tables, None)
                if table is None:
                    self.done = True
                    break
                self._held, self._at = table, self._positions(table)
            later = np.flatnonzero(self._at >= limit)
            if len(later):
                cut = int(later[0])
                parts.append(self._held.slice(0, cut))
                self._held, self._at = self._held.slice(cut), self._at[cut:]
                break
            parts.append(self._held)
            self._held = None
        rows = [part for part in parts if part.num_rows]
        return pa.concat_tables(rows) if rows else None

    def _positions(self, table: pa.Table) -> np.ndarray:
        if "seed_sha256" not in table.column_names:
            return np.full(table.num_rows, -1, dtype=np.int64)
        codes, names = _codes(table.column("seed_sha256").combine_chunks())
        known = np.asarray([self._order.get(sha, -1) for sha in names] + [-1], dtype=np.int64)
        at: np.ndarray = known[codes]  # code -1 (null) takes the last entry: -1
        return at


def _rows(table: pa.Table) -> Iterator[dict[str, Any]]:
    """The table's rows as dicts, a few at a time (an article's row holds its whole body)."""
    for batch in table.to_batches(max_chunksize=1_000):
        yield from batch.to_pylist()


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
