"""`audit run --engine spark`: each task's seeds extracted, written and checked in two Spark jobs.

Spark schedules the work; the rows go between the jobs and to the driver as Arrow IPC files in a work
folder beside the tables (on the same shared file system the tables and seeds already are on), not
through the JVMs: an executor that caches, shuffles or collects rows converts every one of them to its
own format and back, on the cores the extraction needs.

1. **Extract**: task *i* takes slice *i* of the seed paths (``spark.audit.seedsPerTask`` seeds, in seed
   order), calls ``process.process_seed`` on each (or takes its rows from the extraction cache), writes
   every extracted table's batches of them to ``extracted-<i>.arrow`` and returns its seeds rows (one
   small JSON a seed: the manifest lists them all).
2. The driver rejects duplicates (``process.reject_duplicates``, as the pandas engine does) and writes the
   seeds table.
3. **Write and check**: task *i* writes part *i* of every extracted table from ``extracted-<i>.arrow`` (the
   duplicates' rows left out) with ``store.TablesWriter``, reads the part files back, re-reads its seeds
   once and adds the provenance columns to its rows of every seeded table (``seeds`` included) with the
   functions ``spark.provenance`` calls after a shuffle: ``checked-<table>-<i>.arrow``.
4. Validation takes those rows when every table is still the one written (the manifest's digests hold):
   a small table's are read on the driver, a larger one's become a Spark frame read in tasks. Otherwise
   (and for ``audit validate``) ``spark.provenance`` reads the tables again.

These functions run in Spark tasks; ``spark.daemon`` imports this module before forking the workers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyspark import TaskContext
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema
from pyspark.sql.types import StructType

from audit.cache import CacheStats, ExtractionCache
from audit.extract import ExtractOptions
from audit.fsio import writing
from audit.ingest import IngestLimits
from audit.process import EXTRACTED_TABLES, Processed, cached_seed, process_seed
from audit.records import SeedRow
from audit.spark.provenance import FILE_COLUMN, ROW_COLUMN, SEEDS_PER_WINDOW, add_provenance
from audit.store import SPECS, TablesWriter, arrow_schema, ipc_stream, to_batch
from audit.validate.seeds import SeedCache

CHECKED_TABLES = ("seeds", *EXTRACTED_TABLES)  # the tables whose rows the second job checks
_SEED_ROWS = pa.schema(
    [
        pa.field("seed_index", pa.int64(), nullable=False),
        pa.field("part", pa.int64(), nullable=False),
        pa.field("row", pa.string(), nullable=False),
        *(pa.field(f"cache_{k}", pa.int64(), nullable=False) for k in CacheStats().as_dict()),
    ]
)  # what an extraction task returns: its seeds rows, and what the extraction cache did for each
_ENVELOPE = pa.schema(
    [
        pa.field("seed_index", pa.int64(), nullable=False),
        pa.field("table", pa.string(), nullable=False),
        pa.field("payload", pa.binary(), nullable=False),
    ]
)  # an extraction task's rows of the extracted tables: one seed's batch of one table per row
_COMPRESSED = pa.ipc.IpcWriteOptions(compression="lz4")
_DONE = pa.schema([pa.field("part", pa.int64(), nullable=False)])  # what a writing task returns


def part_name(index: int) -> str:
    """Part *index* of a table's dataset directory (the seeds table has part 0 only)."""
    return f"part-{index:05d}.parquet"


@dataclasses.dataclass(frozen=True)
class Extracted:
    """The first job's result: every seed's row in seed order, and which part each seed is in."""

    rows: list[SeedRow]
    parts: list[int]  # parts[i]: the part seed i went to
    n_parts: int
    cache: dict[str, int] | None = None  # what the extraction cache did, summed (None: no cache)

    def spans(self) -> list[tuple[int, int]]:
        """Each part's seeds, as indices [lo, hi) (slices are contiguous; a part may have none)."""
        found: dict[int, list[int]] = {}
        for index, part in enumerate(self.parts):
            found.setdefault(part, [index, index])[1] = index + 1
        return [(found[p][0], found[p][1]) if p in found else (0, 0) for p in range(self.n_parts)]


def write_seeds_table(
    staging: Path, rows: Sequence[SeedRow], extracted: Extracted, embedded: Mapping[str, Any]
) -> None:
    """The seeds table, written on the driver as one part file with one row group per part (a part with
    seeds), so each task of the second job reads its own seeds' rows and no others."""
    spec = SPECS["seeds"]
    (staging / f"{spec.name}.parquet").mkdir()
    writer = TablesWriter(staging, tables=[spec], file_name=part_name(0), row_group_rows=1)
    for lo, hi in extracted.spans():
        writer.write(spec.name, to_batch(spec, rows[lo:hi]))  # each write a row group of its own
    writer.close(dict(embedded))


@dataclasses.dataclass(frozen=True)
class CheckedParts:
    """Rows of ``CHECKED_TABLES`` with their provenance columns, part by part, in the work folder."""

    work: Path
    n_parts: int

    @property
    def tables(self) -> tuple[str, ...]:
        return CHECKED_TABLES

    def read(self, name: str) -> list[pa.Table]:
        """A table's checked rows on the driver, part by part (parts with no rows left out)."""
        found = [_read_ipc(self.work / _checked_name(name, i)) for i in range(self.n_parts)]
        return [table for table in found if table.num_rows]

    def frame(self, spark: SparkSession, name: str, schema: StructType) -> DataFrame:
        """A table's checked rows as a Spark frame of ``schema``, each part read in a task."""
        ids = spark.range(0, self.n_parts, 1, self.n_parts)
        task = functools.partial(_read_parts, str(self.work), name, to_arrow_schema(schema))
        return ids.mapInArrow(task, schema)


@contextlib.contextmanager
def work_folder(tables_dir: Path) -> Iterator[Path]:
    """A folder beside the tables for the rows between jobs (the executors write there, as they write the
    tables' part files), removed afterwards."""
    target = tables_dir.resolve()
    with writing(target, "choose another directory with --tables"):
        target.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.work-"))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def extract_parts(
    spark: SparkSession,
    work: Path,
    root: Path,
    files: Sequence[str],
    limits: IngestLimits,
    options: ExtractOptions,
    per_task: int,
    cache: ExtractionCache | None = None,
) -> Extracted:
    """The first job: each slice of seeds extracted in a task, its tables' batches left in the work folder.
    With a cache, a task takes a seed's rows from it when its entry is there and stores those it extracts
    (``process.cached_seed``, as the local engine's workers do)."""
    n_parts = max(1, math.ceil(len(files) / per_task))
    paths = spark.sparkContext.parallelize(list(enumerate(files)), n_parts)
    frame = spark.createDataFrame(paths, "seed_index long, path string")
    task = functools.partial(_extract_task, str(work), root, limits, options, cache)
    found = frame.mapInArrow(task, from_arrow_schema(_SEED_ROWS)).toArrow().sort_by("seed_index")
    if found.column("seed_index").to_pylist() != list(range(len(files))):  # a bug in Spark or here
        raise RuntimeError(f"expected {len(files)} seeds rows from the Spark tasks, got {found.num_rows}")
    rows = [SeedRow(**json.loads(row)) for row in found.column("row").to_pylist()]
    counts = (
        None
        if cache is None
        else {k: pc.sum(found[f"cache_{k}"]).as_py() or 0 for k in CacheStats().as_dict()}
    )
    return Extracted(rows=rows, parts=found.column("part").to_pylist(), n_parts=n_parts, cache=counts)


def _extract_task(
    work: str,
    root: Path,
    limits: IngestLimits,
    options: ExtractOptions,
    cache: ExtractionCache | None,
    batches: Iterable[pa.RecordBatch],
) -> Iterator[pa.RecordBatch]:
    """In a task: each of its seeds processed (from the cache, if it has the seed); the tables' batches to
    the work folder."""
    part = TaskContext.get().partitionId()  # type: ignore[union-attr]  # always set in a task
    indices: list[int] = []
    rows: list[str] = []
    counts: list[dict[str, int]] = []
    with _ipc_writer(Path(work) / _extracted_name(part), _ENVELOPE) as spill:
        for batch in batches:
            pairs = zip(batch.column("seed_index").to_pylist(), batch.column("path").to_pylist(), strict=True)
            for index, rel in pairs:
                item, done = _processed(root, rel, limits, options, cache)
                indices.append(index)
                rows.append(json.dumps(dataclasses.asdict(item.row)))
                counts.append(done)
                if (envelope := _envelope(index, item)) is not None:
                    spill.write_batch(envelope)
    yield pa.RecordBatch.from_arrays(
        [
            pa.array(indices, pa.int64()),
            pa.array([part] * len(indices), pa.int64()),
            pa.array(rows),
            *(pa.array([c[k] for c in counts], pa.int64()) for k in CacheStats().as_dict()),
        ],
        schema=_SEED_ROWS,
    )


def _processed(
    root: Path, rel: str, limits: IngestLimits, options: ExtractOptions, cache: ExtractionCache | None
) -> tuple[Processed, dict[str, int]]:
    """A seed's row and batches, and what the cache did for it (all zero without one)."""
    if cache is None:
        return process_seed(root, rel, limits, options), CacheStats().as_dict()
    cache.stats = CacheStats()
    row, batches = cached_seed(root, rel, limits, options, cache)
    return Processed(row=row, batches=batches), cache.stats.as_dict()


def _envelope(index: int, item: Processed) -> pa.RecordBatch | None:
    entries = [(name, ipc_stream(b)) for name, b in item.batches.items() if b.num_rows]
    if not entries:
        return None
    names, payloads = zip(*entries, strict=True)
    return pa.RecordBatch.from_arrays(
        [pa.array([index] * len(entries), pa.int64()), pa.array(names), pa.array(payloads, pa.binary())],
        schema=_ENVELOPE,
    )


def write_and_check_parts(spark: SparkSession, job: PartJob) -> CheckedParts:
    """The second job: each part of every extracted table written by its task, then its rows of every
    seeded table checked against the seeds (the seeds table, written by the driver, must be in place)."""
    for name in EXTRACTED_TABLES:
        (Path(job.staging) / f"{name}.parquet").mkdir()
    n_parts = len(job.spans)
    ids = spark.range(0, n_parts, 1, n_parts)
    done = ids.mapInArrow(job.run, from_arrow_schema(_DONE)).toArrow()
    if sorted(done.column("part").to_pylist()) != list(range(n_parts)):  # a bug in Spark or here
        raise RuntimeError(f"expected {n_parts} parts from the Spark tasks, got {done.num_rows}")
    return CheckedParts(work=Path(job.work), n_parts=n_parts)


def write_and_check_job(
    work: Path,
    staging: Path,
    root: Path,
    extracted: Extracted,
    rows: Sequence[SeedRow],
    dropped: Sequence[int],
    embedded: Mapping[str, object],
    window: int = SEEDS_PER_WINDOW,
) -> PartJob:
    """What each task of the second job is given (pickled to the executors): one part per slice."""
    return PartJob(
        work=str(work),
        staging=str(staging),
        root=root,
        dropped=frozenset(dropped),
        first_paths=_first_paths(rows),
        seeds=staging / "seeds.parquet" / part_name(0),
        spans=extracted.spans(),
        manifest=json.dumps(embedded, sort_keys=True, separators=(",", ":")),
        window=window,
    )


def _first_paths(rows: Sequence[SeedRow]) -> dict[str, str]:
    """The path a seed is re-read from where more than one row names its digest: the least, as
    ``validate.Frames`` and ``spark.checks.seed_paths`` pick it."""
    paths: dict[str, list[str]] = {}
    for row in rows:
        if row.seed_sha256 is not None:
            paths.setdefault(row.seed_sha256, []).append(row.path)
    return {sha: min(found) for sha, found in paths.items() if len(found) > 1}


@dataclasses.dataclass(frozen=True)
class PartJob:
    """What a task of the second job needs (pickled to the executors)."""

    work: str
    staging: str
    root: Path
    dropped: frozenset[int]
    first_paths: dict[str, str]
    seeds: Path
    spans: list[tuple[int, int]]  # each part's seeds' indices, [lo, hi)
    manifest: str
    window: int = SEEDS_PER_WINDOW  # seeds checked together

    def run(self, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for part in batch.column("id").to_pylist():
                self._write(part)
                self._check(part)
                yield pa.RecordBatch.from_pydict({"part": [part]}, schema=_DONE)

    def _write(self, part: int) -> None:
        writer = TablesWriter(
            Path(self.staging), tables=[SPECS[n] for n in EXTRACTED_TABLES], file_name=part_name(part)
        )
        try:
            for envelope in pa.ipc.open_stream(Path(self.work) / _extracted_name(part)):
                pairs = zip(
                    envelope.column("seed_index").to_pylist(),
                    envelope.column("table").to_pylist(),
                    envelope.column("payload").to_pylist(),
                    strict=True,
                )
                for index, name, payload in pairs:
                    if index not in self.dropped:
                        for rows in pa.ipc.open_stream(payload):
                            writer.write(name, rows)
        except BaseException:
            writer.abort()
            raise
        writer.close(json.loads(self.manifest))

    def _check(self, part: int) -> None:
        """Its rows of every seeded table with the provenance columns, the seeds taken
        ``window`` at a time: each seed re-read once for all tables (``SeedCache`` keeps 2,048)."""
        lo, hi = self.spans[part]
        seeds = _placed(_seeds_rows(self.seeds, lo, hi), part_name(0), lo)
        tables = {"seeds": seeds}
        for name in EXTRACTED_TABLES:
            path = Path(self.staging) / f"{name}.parquet" / part_name(part)
            tables[name] = _placed(pq.read_table(path, schema=arrow_schema(SPECS[name])), part_name(part), 0)
        shas, paths = seeds.column("seed_sha256").to_pylist(), seeds.column("path").to_pylist()
        window_of: dict[str, int] = {}  # a seed's rows go with its first row in the seeds table
        for index, sha in enumerate(shas):
            if sha is not None:
                window_of.setdefault(sha, index // self.window)
        checked: dict[str, list[pa.Table]] = {name: [] for name in tables}
        for window in range(max(1, math.ceil(len(shas) / self.window))):
            first = window * self.window
            mine = zip(shas[first : first + self.window], paths[first : first + self.window], strict=True)
            cache = SeedCache(self.root, {sha: self.first_paths.get(sha, path) for sha, path in mine if sha})
            for name, rows in tables.items():
                if name == "seeds":
                    rows = rows.slice(first, self.window)
                elif len(shas) > self.window:
                    codes = [window_of.get(sha, 0) for sha in rows.column("seed_sha256").to_pylist()]
                    rows = rows.filter(pc.equal(pa.array(codes, pa.int64()), window))
                checked[name].append(add_provenance(rows, name, cache, True))
        for name, parts in checked.items():
            with _ipc_writer(Path(self.work) / _checked_name(name, part), parts[0].schema, file=True) as out:
                out.write_table(pa.concat_tables(parts))


def _placed(rows: pa.Table, file_name: str, first: int) -> pa.Table:
    """Rows with their place in the files, as Spark reads it (``_metadata.file_name``, ``row_index``)."""
    rows = rows.append_column(FILE_COLUMN, pa.array([file_name] * rows.num_rows, pa.string()))
    return rows.append_column(ROW_COLUMN, pa.array(range(first, first + rows.num_rows), pa.int64()))


def _seeds_rows(path: Path, lo: int, hi: int) -> pa.Table:
    """Seeds lo..hi-1: the row group of the seeds table that holds them (``write_seeds_table``)."""
    schema = arrow_schema(SPECS["seeds"])
    if hi == lo:
        return schema.empty_table()
    file = pq.ParquetFile(path)
    starts = [0]
    for group in range(file.num_row_groups):
        starts.append(starts[-1] + file.metadata.row_group(group).num_rows)
    if lo not in starts or hi not in starts or starts.index(hi) != starts.index(lo) + 1:
        raise RuntimeError(f"{path}: no row group holds exactly the seeds {lo} to {hi - 1}")  # a bug here
    return file.read_row_group(starts.index(lo)).cast(schema)


def _read_parts(
    work: str, name: str, schema: pa.Schema, batches: Iterable[pa.RecordBatch]
) -> Iterator[pa.RecordBatch]:
    """In a task: the checked rows of a table's parts, as the frame's schema gives the columns."""
    for batch in batches:
        for part in batch.column("id").to_pylist():
            table = _read_ipc(Path(work) / _checked_name(name, part))
            yield from table.cast(schema).to_batches()


def _read_ipc(path: Path) -> pa.Table:
    with pa.memory_map(str(path)) as source:
        return pa.ipc.open_file(source).read_all()


@contextlib.contextmanager
def _ipc_writer(
    path: Path, schema: pa.Schema, *, file: bool = False
) -> Iterator[pa.ipc.RecordBatchStreamWriter]:
    """An Arrow IPC stream (or file), LZ4-compressed, written beside ``path`` and renamed into place when
    complete: a task run twice (retried, or speculatively) leaves one whole file. (500 generated seeds'
    batches: 32.5 MB as they are, 14.3 MB compressed, written in half the time.)"""
    task = TaskContext.get()  # None outside a Spark task (the tests call the tasks' code directly)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{0 if task is None else task.taskAttemptId()}")
    try:
        with pa.OSFile(str(temp), "wb") as sink:
            open_writer = pa.ipc.new_file if file else pa.ipc.new_stream
            with open_writer(sink, schema, options=_COMPRESSED) as writer:
                yield writer
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def _extracted_name(part: int) -> str:
    return f"extracted-{part:05d}.arrow"


def _checked_name(table: str, part: int) -> str:
    return f"checked-{table}-{part:05d}.arrow"
