"""Provenance facts computed by re-reading the seeds, never by trusting the extractor.

For each table row: ``seed_ok`` (the seed file it names still hashes to its ``seed_sha256``), ``span_ok``
(the seed's bytes in its span decode to exactly its text) and ``record_ok`` (its ``record_sha256`` matches
its content, so a value edited in the Parquet file is caught). The suites state what must hold over them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from audit.fsio import sha256_bytes
from audit.ingest import decode_seed
from audit.records import Seed
from audit.store import DIGEST_COLUMN, record_digest

PROVENANCE_COLUMNS = ("seed_ok", "span_ok", "record_ok")
_ROWS_AT_ONCE = 20_000  # rows turned into Python objects at once when checking spans: bounds memory
_ARTICLE_FIELDS = ("title", "byline", "publisher", "section", "published_text", "captured_text")
_KEPT_TEXT_BYTES = 128 << 20  # derived texts a run keeps for its validation; past this, derived again
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
    root: Path, rel: str, expected_sha256: str | None, derived: dict[str, bytes] | None = None
) -> SeedFile:
    """Read a seed file again and decode it the way ingest did; its texts are derived again when first used,
    unless ``derived`` gives them (the texts this run's extraction derived from a seed with this digest)."""
    try:
        data = (root / rel).read_bytes()
    except OSError:
        return SeedFile(path=rel, sha256_now=None, seed=None)
    digest = sha256_bytes(data)
    decoded = decode_seed(data, rel) if digest == expected_sha256 else None
    if not isinstance(decoded, Seed):
        return SeedFile(path=rel, sha256_now=digest, seed=None)
    return SeedFile(path=rel, sha256_now=digest, seed=decoded, _derived=derived)


class SeedCache(Mapping[str, SeedFile]):
    """Seed files re-read on demand, the most recently used kept; tables are in seed order, so few misses.

    Memory stays bounded however many seeds a run has; each seed's digest check is remembered.
    """

    # not a dataclass: an LRU cache around reread_seed

    def __init__(
        self, root: Path, paths: Mapping[str, str], size: int = 2048, derived: DerivedTexts | None = None
    ) -> None:
        self._root, self._paths, self._size, self._derived = root, dict(paths), size, derived
        self._files: OrderedDict[str, SeedFile] = OrderedDict()
        self._ok: dict[str, bool] = {}

    def __getitem__(self, sha: str) -> SeedFile:
        if sha in self._files:
            self._files.move_to_end(sha)
            return self._files[sha]
        if sha not in self._paths:
            raise KeyError(sha)
        kept = None if self._derived is None else self._derived.of(sha)
        found = reread_seed(self._root, self._paths[sha], sha, kept)
        self._ok[sha] = found.sha256_now == sha
        self._files[sha] = found
        if len(self._files) > self._size:
            self._files.popitem(last=False)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)

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


def mention_spans_ok(table: pa.Table, seeds: Mapping[str, SeedFile]) -> list[bool | None]:
    """For each mention row: does its span reproduce its text? Column-wise, as mention tables are long."""
    names = ("seed_sha256", "text_sha256", "span_start", "span_end", "text")
    out: list[bool | None] = []
    for batch in table.select(list(names)).to_batches(max_chunksize=_ROWS_AT_ONCE):
        cols = [batch.column(n).to_pylist() for n in names]
        last: str | None = None
        seed: SeedFile | None = None
        for sha, text_sha, start, end, text in zip(*cols, strict=True):
            if sha != last or seed is None:  # rows come in seed order: look each seed up once per run
                seed, last = seeds.get(sha), sha
            out.append(seed is not None and seed.slice(text_sha, start, end) == text)
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
    def run(table: pa.Table, seeds: Mapping[str, SeedFile]) -> list[bool | None]:
        out: list[bool | None] = []
        for row in _rows(table):
            seed = seeds.get(row["seed_sha256"])
            out.append(seed is not None and seed.seed is not None and check(seed, row))
        return out

    return run


SpanCheck = Callable[[pa.Table, Mapping[str, SeedFile]], list[bool | None]]
article_spans_ok: SpanCheck = _per_row(_article_ok)
derived_text_ok: SpanCheck = _per_row(_derived_text_ok)


def provenance_columns(
    table: pa.Table, seeds: SeedCache, span_check: SpanCheck | None, *, rows_intact: bool
) -> dict[str, list[bool | None]]:
    """seed_ok, span_ok and record_ok for every row of a table.

    span_ok is None for a table without spans. record_ok is recomputed row by row only when the file's
    sha256 differs from the manifest's (``rows_intact`` False): an intact file has no edited row, and a
    changed one gets every edited row named.
    """
    if "seed_sha256" not in table.column_names:  # run-time tables (link_checks) name no seed
        shas: list[str | None] = [None] * table.num_rows
    else:
        shas = table.column("seed_sha256").to_pylist()
    # spans first: that walk re-reads each seed once, in table order, and remembers its digest check
    cols: dict[str, list[bool | None]] = {
        "span_ok": [None] * len(shas) if span_check is None else span_check(table, seeds)
    }
    # an unreadable seed has no digest to check: None
    cols["seed_ok"] = [None if s is None else seeds.is_ok(s) for s in shas]
    cols["record_ok"] = [True] * len(shas) if rows_intact else [record_ok(r) for r in _rows(table)]
    return cols


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
