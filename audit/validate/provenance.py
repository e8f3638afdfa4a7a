"""Provenance columns, computed by re-reading the seeds, never by trusting the extractor.

For each table row: ``seed_ok`` (the seed file it names still hashes to its ``seed_sha256``), ``span_ok``
(the seed's bytes in its span decode to exactly its text), ``record_ok`` (its ``record_sha256`` matches
its content, so a value edited in the Parquet file is caught) and ``reextracted_ok`` (its seed, extracted
again, makes the same row). The suites state what must hold over them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from audit.records import PROVENANCE_COLUMNS
from audit.store import DIGEST_COLUMN, iter_table, record_digest
from audit.validate.reextract import reextracted_ok
from audit.validate.seeds import SeedCache
from audit.validate.spans import SPAN_CHECKS, SPAN_COLUMNS, SpanCheck, codes_of, rows_of

# the record digests extraction makes again for (seed sha256, table); None: not extracted again
Reextracted = Callable[[str, str], frozenset[str] | None]
_READ_ROWS = 65_536


def record_ok(row: Mapping[str, Any]) -> bool:
    """True when the row's digest matches its content."""
    return bool(row.get(DIGEST_COLUMN) == record_digest(dict(row)))


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
        record = pa.array([record_ok(r) for r in rows_of(table)], pa.bool_())
    return {
        "span_ok": span_ok,
        "seed_ok": seed_ok,
        "record_ok": record,
        "reextracted_ok": reextracted_ok(table, expected),
    }


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
    """What the walk reads of a table: the checked columns, or every column when rows must be re-digested
    (a changed file, or rows compared with a re-extraction)."""
    columns = SPAN_COLUMNS.get(name)
    if columns is None or not intact or reextracted is not None:
        return None
    return list(columns)


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
        codes, names = codes_of(table.column("seed_sha256").combine_chunks())
        known = np.asarray([self._order.get(sha, -1) for sha in names] + [-1], dtype=np.int64)
        at: np.ndarray = known[codes]  # code -1 (null) takes the last entry: -1
        return at
