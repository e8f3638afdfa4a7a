"""Seeds -> Spark tasks -> Parquet datasets: `audit run --engine spark`.

The seed paths (sorted, as ``list_seed_files`` gives them) are cut into contiguous slices of
``spark.audit.seedsPerTask`` seeds (default 500), one task each. A task calls ``audit.process.process_seed``,
the function the pandas engine calls, and emits one row per (seed, table): the seed's index, the table,
its row count and its record batch as Arrow IPC bytes. That frame is cached; the seeds rows come back to
the driver (one small JSON row per file, as the manifest lists every seed anyway), duplicates are rejected
there by ``process.reject_duplicates`` (as by the pandas engine's ``write.write_tables``), and every other
table is decoded from the cache in the same tasks and written by Spark. Partition i holds seeds before partition i+1's, so part files in name order
hold the rows in seed order, as the pandas engine's single file does.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow as pa
from pyspark import StorageLevel, TaskContext
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from audit.config import RunConfig
from audit.extract import ExtractOptions
from audit.fsio import atomic_dir
from audit.ingest import IngestLimits
from audit.link_guard import is_live_candidate
from audit.linkcheck import LinkChecker
from audit.manifest import embedded_manifest, seed_entry, write_manifest
from audit.plan import RunPlan, plan_validation
from audit.process import EXTRACTED_TABLES, Processed, process_seed, reject_duplicates
from audit.records import SeedRow, Verdict
from audit.signing import sign_manifest
from audit.spark.datasets import count_rows, dataset_sha256
from audit.spark.session import (
    conf_count,
    import_what_gx_imports,
    spark_session,
    stage,
    start_workers,
)
from audit.store import SPECS, TABLES, TableSpec, TablesWriter, ipc_stream, to_batch

SEEDS_PER_TASK_CONF = "spark.audit.seedsPerTask"
DEFAULT_SEEDS_PER_TASK = 500
_WRITTEN = pa.schema([pa.field("part", pa.string(), nullable=False)])  # what a writing task reports
_ENVELOPE = pa.schema(
    [
        pa.field("seed_index", pa.int64(), nullable=False),
        pa.field("table", pa.string(), nullable=False),
        pa.field("n_rows", pa.int64(), nullable=False),
        pa.field("payload", pa.binary(), nullable=False),
    ]
)


def run_audit_spark(
    config: RunConfig, plan: RunPlan, prepare: Callable[[], None], before_writing: Callable[[], None]
) -> Verdict:
    """Extract every seed in Spark tasks, write the tables with Spark, validate them on Spark; ``prepare``
    (building the suites: GX's import) runs in a thread while the session starts, and ends first, then
    ``before_writing`` (retiring the old report): a session that cannot start leaves it in place."""
    from audit.spark.checks import driver_rows, validate_with

    import_what_gx_imports()  # before GX is imported beside the session's start
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="prepare") as pool:
        preparing = pool.submit(prepare)
        with spark_session(config.spark_master) as spark:
            preparing.result()  # its error (a suite GX rejects) stops the session: nothing is written
            seeds_per_task(spark), driver_rows(spark)  # so does a bad setting of the engine's own
            before_writing()
            start_workers(spark)
            write_tables_spark(spark, config.tables_dir, config.seeds_dir, config.limits, plan)
            validation = plan_validation(config.tables_dir, config.seeds_dir, plan.rules)
            return validate_with(spark, config.validation(), validation)


def write_tables_spark(
    spark: SparkSession, directory: Path, root: Path, limits: IngestLimits, plan: RunPlan
) -> None:
    """Extract in tasks, then write every table as a Parquet dataset and the manifest; all or nothing."""
    unknown = set(SPECS) - {"seeds", "link_checks", *EXTRACTED_TABLES}
    if unknown:  # a table added to audit.store needs its writer here too
        raise RuntimeError(f"the Spark engine does not know how to write the tables {sorted(unknown)}")
    envelope = extract_envelope(spark, root.resolve(), plan.files, limits, plan.options)
    envelope.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        with stage(spark, "extract: seeds, in tasks"):
            rows, dropped = reject_duplicates(collect_seed_rows(envelope, len(plan.files)), {})
        seeds = [seed_entry(row) for row in rows]
        embedded = embedded_manifest(plan.core, seeds)
        with atomic_dir(
            directory, "choose another directory with --tables", kind="tables", place="--tables"
        ) as staging:
            _write_driver_table(SPECS["seeds"], rows, embedded, staging)
            with stage(spark, "write: every extracted table, in tasks"):
                write_extracted_tables(spark, envelope, dropped, embedded, staging)
            with stage(spark, "write: link_checks"):
                checks = (
                    _live_checks(spark, staging, plan.check_links) if plan.check_links is not None else []
                )
            _write_driver_table(SPECS["link_checks"], checks, embedded, staging)
            _write_manifest(staging, plan.core, embedded, seeds, plan.started)
            if plan.key is not None:
                sign_manifest(staging, plan.key)
    finally:
        envelope.unpersist()


def _write_driver_table(
    spec: TableSpec, records: Sequence[Any], embedded: dict[str, Any], staging: Path
) -> None:
    """A table whose rows the driver holds (seeds, live link checks): one part file, written here."""
    (staging / f"{spec.name}.parquet").mkdir()
    writer = TablesWriter(staging, tables=[spec], file_name=_part_name(0))
    writer.write(spec.name, to_batch(spec, records))
    writer.close(embedded)


def write_extracted_tables(
    spark: SparkSession, envelope: DataFrame, dropped: Sequence[int], embedded: dict[str, Any], staging: Path
) -> None:
    """Every extracted table as a dataset directory, one job: each extraction task's seeds (its partition
    of the cached envelope, the duplicates' rows left out) become one part file per table, written by
    the task with the pandas engine's ``TablesWriter`` (the manifest in each file's key-value metadata).
    Partition i holds seeds before partition i+1, so part files in name order are in seed order."""
    for name in EXTRACTED_TABLES:
        (staging / f"{name}.parquet").mkdir()
    rows = envelope.where(F.col("table") != "seeds")
    if dropped:  # a broadcast anti-join keeps the cached partitions and their order
        gone = spark.createDataFrame([(i,) for i in dropped], "seed_index long")
        rows = rows.join(F.broadcast(gone), "seed_index", "left_anti")
    blob = json.dumps(embedded, sort_keys=True, separators=(",", ":"))
    task = functools.partial(_write_parts, str(staging), blob)
    written = rows.select("table", "payload").mapInArrow(task, from_arrow_schema(_WRITTEN)).toArrow()
    parts = sorted(set(written.column("part").to_pylist()))
    expected = [_part_name(i) for i in range(rows.rdd.getNumPartitions())]
    if parts != expected:  # a lost or repeated task would be a bug in Spark or here
        raise RuntimeError(f"expected part files {expected} from the Spark tasks, got {parts}")


def _part_name(index: int) -> str:
    return f"part-{index:05d}.parquet"


def _write_parts(staging: str, blob: str, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """In a task: its seeds' rows of every extracted table, each table's into a part file of its own."""
    part = _part_name(TaskContext.get().partitionId())  # type: ignore[union-attr]  # always set in a task
    specs = [SPECS[name] for name in EXTRACTED_TABLES]
    writer = TablesWriter(Path(staging), tables=specs, file_name=part)
    try:
        for batch in batches:
            tables, payloads = batch.column("table").to_pylist(), batch.column("payload").to_pylist()
            for name, payload in zip(tables, payloads, strict=True):
                for rows in pa.ipc.open_stream(payload):
                    writer.write(name, rows)
    except BaseException:
        writer.abort()
        raise
    writer.close(json.loads(blob))
    yield pa.RecordBatch.from_pydict({"part": [part]}, schema=_WRITTEN)


def _live_checks(spark: SparkSession, staging: Path, check_links: LinkChecker) -> list[Any]:
    """Each distinct URL the pandas engine would check (it passed the offline checks, or failed them only by
    being an IP literal: ``link_guard.is_live_candidate``), checked once from the driver."""
    return list(check_links(live_candidates(spark, staging / "links.parquet")))


def live_candidates(spark: SparkSession, links_path: Path) -> list[str]:
    """The distinct URLs of a links table that go to the live check, sorted."""
    links = spark.read.parquet(str(links_path))
    maybe = links.where(F.col("syntax_ok") | (F.col("syntax_error_code") == "no-registrable-domain"))
    rows = maybe.select("url", "syntax_ok", "syntax_error_code", "host").distinct().toArrow().to_pylist()
    return sorted(
        {r["url"] for r in rows if is_live_candidate(r["syntax_ok"], r["syntax_error_code"], r["host"])}
    )


def seeds_per_task(spark: SparkSession) -> int:
    """``spark.audit.seedsPerTask``: seeds in one extraction task (and one part file of each table)."""
    return conf_count(spark, SEEDS_PER_TASK_CONF, DEFAULT_SEEDS_PER_TASK, minimum=1)


def extract_envelope(
    spark: SparkSession, root: Path, files: Sequence[str], limits: IngestLimits, options: ExtractOptions
) -> DataFrame:
    """One row per (seed, table) with the table's batch for that seed, computed in Spark tasks."""
    per_task = seeds_per_task(spark)
    slices = max(1, math.ceil(len(files) / per_task))
    paths = spark.sparkContext.parallelize(list(enumerate(files)), slices)
    frame = spark.createDataFrame(paths, "seed_index long, path string")
    task = functools.partial(_extract_batches, root, limits, options)
    return frame.mapInArrow(task, from_arrow_schema(_ENVELOPE))


def _extract_batches(
    root: Path, limits: IngestLimits, options: ExtractOptions, batches: Iterable[pa.RecordBatch]
) -> Iterator[pa.RecordBatch]:
    """In a task: process_seed for each path, one envelope batch per seed."""
    for batch in batches:
        pairs = zip(batch.column("seed_index").to_pylist(), batch.column("path").to_pylist(), strict=True)
        for index, rel in pairs:
            yield _envelope(index, process_seed(root, rel, limits, options))


def _envelope(index: int, item: Processed) -> pa.RecordBatch:
    row = {f.name: getattr(item.row, f.name) for f in dataclasses.fields(SeedRow)}
    entries = [("seeds", 1, json.dumps(row).encode("utf-8"))]
    entries += [(name, b.num_rows, ipc_stream(b)) for name, b in item.batches.items() if b.num_rows]
    columns = list(zip(*entries, strict=True))
    return pa.RecordBatch.from_arrays(
        [pa.array([index] * len(entries), pa.int64()), *(pa.array(c) for c in columns)], schema=_ENVELOPE
    )


def collect_seed_rows(envelope: DataFrame, n_files: int) -> list[SeedRow]:
    """The seeds rows, back on the driver in seed order (Arrow transfer, one small JSON per file)."""
    found = envelope.where(F.col("table") == "seeds").select("seed_index", "payload").toArrow()
    order = found.column("seed_index").to_pylist()
    payloads = found.column("payload").to_pylist()
    rows = [SeedRow(**json.loads(p)) for _, p in sorted(zip(order, payloads, strict=True))]
    if len(rows) != n_files:  # a lost or repeated task would be a bug in Spark or here
        raise RuntimeError(f"expected {n_files} seeds rows from the Spark tasks, got {len(rows)}")
    return rows


def _write_manifest(
    staging: Path, core: dict[str, Any], embedded: dict[str, Any], seeds: list[dict[str, Any]], started: float
) -> None:
    tables = {
        spec.name: {
            "file": f"{spec.name}.parquet",
            "sha256": dataset_sha256(staging / f"{spec.name}.parquet"),
            "n_rows": count_rows(staging / f"{spec.name}.parquet"),
        }
        for spec in TABLES
    }
    write_manifest(staging, core, embedded, seeds, tables, started)
