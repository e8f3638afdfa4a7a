"""Provenance columns on Spark: every table's rows of a seed checked in one task, the seed re-read once.

Every table's rows are packed per seed (Arrow IPC), put with the path each seed is re-read from (the first
in the seeds table, as ``validate.frames.Frames`` picks it), partitioned by ``seed_sha256`` and sorted by
it: one shuffle for all tables. A task takes its seeds ``SEEDS_PER_WINDOW`` at a time, re-reads each once
through ``validate.seeds.SeedCache`` and calls ``validate.provenance.provenance_columns`` on each table's
rows of them (the pandas engine's own functions, as its walk over the tables calls them). It returns each
table's rows with their provenance columns, packed per table; each table's frame unpacks its own rows.

These functions run in Spark tasks; ``spark.daemon`` imports this module before forking the workers.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema
from pyspark.sql.types import BooleanType, StructField, StructType

from audit.records import PROVENANCE_COLUMNS
from audit.store import SPECS, arrow_schema, ipc_stream
from audit.validate.provenance import provenance_columns
from audit.validate.reextract import Reextraction
from audit.validate.seeds import SeedCache
from audit.validate.spans import SPAN_CHECKS, codes_of

FILE_COLUMN, ROW_COLUMN = "_audit_file", "_audit_row"
SEEDS_PER_WINDOW = 512  # seeds checked together in a provenance task (SeedCache keeps 2,048)
_PATHS = "~path"  # the seed's path among its tables' rows (no table is named so)
_PACKED_ARROW = pa.schema(
    [pa.field("seed_sha256", pa.string()), pa.field("table", pa.string()), pa.field("payload", pa.binary())]
)
_PACKED = from_arrow_schema(_PACKED_ARROW)
_CHECKED = pa.schema(
    [pa.field("table", pa.string()), pa.field("payload", pa.binary())]
)  # a table's rows of some seeds, with their provenance columns (Arrow IPC)


def provenance_frames(
    tables: Mapping[str, DataFrame],
    paths: DataFrame,
    root: Path,
    intact: Mapping[str, bool],
    again: Reextraction | None = None,
) -> tuple[dict[str, DataFrame], DataFrame | None]:
    """Each table with the provenance columns, and the frame of every seeded row with them that each
    table's frame reads its rows from (persist it first, or every table computes it again).

    Every table's rows of a seed go to one task, with the seed's path: one shuffle for all tables, and each
    seed re-read (for HTML, its text derived again) once for all of them, as the pandas engine does. The
    task returns the rows with their four columns, packed per table; each table's frame unpacks its own,
    with no join back (a join shuffled every table's rows again: three Spark jobs a table)."""
    seeded = [name for name, frame in tables.items() if "seed_sha256" in frame.columns]
    found = {  # run-time tables (link_checks): no seed to re-read
        name: frame.mapInArrow(
            functools.partial(_provenance_batches, name, root, intact[name]), with_provenance_schema(frame)
        )
        for name, frame in tables.items()
        if name not in seeded
    }
    if not seeded:
        return found, None
    packed = [tables[name].mapInArrow(functools.partial(_pack_rows, name), _PACKED) for name in seeded]
    named = paths.select(
        "seed_sha256", F.lit(_PATHS).alias("table"), F.encode("path", "UTF-8").alias("payload")
    )
    union = functools.reduce(DataFrame.unionByName, packed, named)
    ordered = union.repartition("seed_sha256").sortWithinPartitions("seed_sha256")
    task = functools.partial(_provenance_windows, root, dict(intact), again)
    checked = ordered.mapInArrow(task, from_arrow_schema(_CHECKED))
    for name in seeded:
        schema = with_provenance_schema(tables[name])
        mine = checked.where(F.col("table") == name)
        found[name] = mine.mapInArrow(functools.partial(_unpack_rows, schema.names), schema)
    return {name: found[name] for name in tables}, checked


def with_provenance_schema(frame: DataFrame) -> StructType:
    extra = [StructField(c, BooleanType(), True) for c in PROVENANCE_COLUMNS]
    return StructType([*frame.schema.fields, *extra])


def _unpack_rows(columns: list[str], batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """In a task: a table's checked rows from their payloads, in the frame's columns."""
    for batch in batches:
        for payload in batch.column("payload").to_pylist():
            yield from pa.ipc.open_stream(payload).read_all().select(columns).to_batches()


def _provenance_batches(
    name: str, root: Path, intact: bool, batches: Iterable[pa.RecordBatch]
) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        yield from add_provenance(
            pa.Table.from_batches([batch]), name, SeedCache(root, {}), intact
        ).to_batches()


def _pack_rows(name: str, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """In a task: a table's rows, one Arrow IPC payload per seed (rows of a seed stay in their order)."""
    for batch in batches:
        if not batch.num_rows:
            continue
        codes, shas = codes_of(batch.column("seed_sha256"))
        order = np.argsort(codes, kind="stable")
        ends = np.flatnonzero(np.diff(codes[order])) + 1
        starts = [0, *ends.tolist()]
        stops = [*ends.tolist(), len(order)]
        keys = [None if codes[order[a]] < 0 else shas[codes[order[a]]] for a in starts]
        ordered = batch.take(pa.array(order))  # once; each seed's rows are then a slice of it
        payloads = [ipc_stream(ordered.slice(a, b - a)) for a, b in zip(starts, stops, strict=True)]
        yield pa.RecordBatch.from_arrays(
            [
                pa.array(keys, pa.string()),
                pa.array([name] * len(keys), pa.string()),
                pa.array(payloads, pa.binary()),
            ],
            schema=_PACKED_ARROW,
        )


def _provenance_windows(
    root: Path, intact: Mapping[str, bool], again: Reextraction | None, batches: Iterable[pa.RecordBatch]
) -> Iterator[pa.RecordBatch]:
    """In a task: the packed rows of a partition, in seed order, checked ``SEEDS_PER_WINDOW`` seeds at a
    time (the pandas engine's walk: each table's rows of those seeds in one call, each seed read once)."""
    held: list[pa.RecordBatch] = []
    n_seeds = 0
    for batch in batches:
        held.append(batch)
        n_seeds += len(set(batch.column("seed_sha256").to_pylist()))
        if n_seeds < SEEDS_PER_WINDOW:
            continue
        rows = pa.Table.from_batches(held)
        keys = rows.column("seed_sha256").to_pylist()
        cut = len(keys)
        while cut > 0 and keys[cut - 1] == keys[-1]:  # the last seed may go on in the next batch
            cut -= 1
        yield from _provenance_group(root, intact, again, rows.slice(0, cut)).to_batches()
        held, n_seeds = rows.slice(cut).to_batches(), 1
    if held:
        yield from _provenance_group(root, intact, again, pa.Table.from_batches(held)).to_batches()


def _provenance_group(
    root: Path, intact: Mapping[str, bool], again: Reextraction | None, group: pa.Table
) -> pa.Table:
    """Some seeds' rows of every table, each seed with its path; each seed is re-read once for them all (the
    pandas engine's SeedCache), and extracted again once if ``again`` chooses it. Each table's rows with
    their provenance columns, one payload per table."""
    named: dict[str, str] = {}
    by_table: dict[str, list[bytes]] = {}  # in the order the tables first come
    for sha, table, payload in zip(
        group.column("seed_sha256").to_pylist(),
        group.column("table").to_pylist(),
        group.column("payload").to_pylist(),
        strict=True,
    ):
        if table == _PATHS:
            named[sha] = payload.decode("utf-8")
        else:
            by_table.setdefault(table, []).append(payload)
    seeds = SeedCache(root, named)
    expected = None if again is None else again.for_seeds(named)
    names, packed = [], []
    for name, payloads in by_table.items():
        parts = [pa.ipc.open_stream(p).read_all() for p in payloads]
        # one chunk, not one per seed: the checks go batch by batch, and a batch costs about 0.3 ms
        rows = add_provenance(pa.concat_tables(parts).combine_chunks(), name, seeds, intact[name], expected)
        if rows.num_rows:
            names.append(name)
            packed.append(ipc_stream(rows.combine_chunks().to_batches()[0]))  # the checks may come chunked
    return pa.table([pa.array(names, pa.string()), pa.array(packed, pa.binary())], schema=_CHECKED)


def add_provenance(
    rows: pa.Table, name: str, seeds: SeedCache, intact: bool, again: Reextraction | None = None
) -> pa.Table:
    # the stored columns in their order, as Spark gives them (record digests are over these values)
    table = rows.select(arrow_schema(SPECS[name]).names)
    expected = None if again is None else functools.partial(_digests, again, name)
    checks = provenance_columns(table, seeds, SPAN_CHECKS[name], rows_intact=intact, expected=expected)
    for column in PROVENANCE_COLUMNS:
        rows = rows.append_column(column, checks[column])
    return rows


def _digests(again: Reextraction, table: str, sha: str) -> frozenset[str] | None:
    return again.digests(sha, table)
