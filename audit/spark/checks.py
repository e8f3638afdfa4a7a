"""Tables on Spark -> provenance columns computed in tasks -> the same GX suites -> CheckResult records.

Provenance: every table's rows are packed per seed (Arrow IPC), put with the path each seed is re-read from
(the first in the seeds table, as ``validate.frames.Frames`` picks it) and grouped by ``seed_sha256``: one
shuffle for all tables. A task re-reads the seed once through ``validate.seeds.SeedCache`` and calls
``validate.provenance.provenance_columns`` on each table's rows of it (the pandas engine's own functions),
returning each row's place in the files and its provenance columns, which each table joins in the JVM.
The suites run through ``validate.gx``, and the ``tables`` frame's rows come from ``validate.facts``, as on
pandas.

Failing ids: GX 1.24 returns ``unexpected_index_list`` on Spark as it does on pandas, so rows are named the
same way, by ``unexpected_index_column_names``. The list also asks for ``seed_sha256`` and the row's place in
the files (``_metadata.file_name``, ``_metadata.row_index``): findings are put in table order, as the pandas
engine lists them, and the first ``EVIDENCE_LIMIT`` are fetched whole for their evidence.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from pyspark import StorageLevel
from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema
from pyspark.sql.types import BooleanType, StructField, StructType

from audit.config import ValidateConfig
from audit.errors import ConfigError
from audit.finish import finish_audit
from audit.plan import ValidatePlan
from audit.records import PROVENANCE_COLUMNS, CheckResult, TableFacts, Verdict
from audit.spark.datasets import count_rows, embedded_manifests, table_sha256
from audit.spark.session import spark_session, stage, start_workers
from audit.store import SPECS, arrow_schema
from audit.validate.facts import TableFile, facts_frame, table_facts
from audit.validate.frames import LIVE_COLUMNS
from audit.validate.gx import COUNTS_ONLY, Outcome, build_gx_suite, gx_context, naming_rows, run_gx_suite
from audit.validate.provenance import provenance_columns
from audit.validate.reextract import Reextraction, reextraction
from audit.validate.results import EVIDENCE_LIMIT, check_result
from audit.validate.seeds import SeedCache
from audit.validate.spans import SPAN_CHECKS, codes_of
from audit.validate.suites import Rule, Suite

FILE_COLUMN, ROW_COLUMN = "_audit_file", "_audit_row"
_SEEDS_PER_WINDOW = 512  # seeds checked together in a provenance task (SeedCache keeps 2,048)
_PATHS = "~path"  # the seed's path among its tables' rows (no table is named so)
_PACKED_ARROW = pa.schema(
    [pa.field("seed_sha256", pa.string()), pa.field("table", pa.string()), pa.field("payload", pa.binary())]
)
_PACKED = from_arrow_schema(_PACKED_ARROW)
_CHECKED = pa.schema(
    [
        pa.field("table", pa.string()),
        pa.field(FILE_COLUMN, pa.string()),
        pa.field(ROW_COLUMN, pa.int64()),
        *(pa.field(c, pa.bool_()) for c in PROVENANCE_COLUMNS),
    ]
)  # a seeded row's place in the files and its provenance columns
_SHUFFLE_PARTITIONS = "spark.sql.shuffle.partitions"
_ROWS_PER_PARTITION = 50_000
_FACTS_SCHEMA = pa.schema(
    [
        *(pa.field(c, pa.string()) for c in ("table", "sha256_expected", "sha256_actual")),
        *(pa.field(c, pa.int64()) for c in ("n_rows_expected", "n_rows_actual")),
        *(pa.field(c, pa.bool_()) for c in ("sha256_ok", "n_rows_ok", "embedded_manifest_ok")),
    ]
)


def validate_tables_spark(config: ValidateConfig, plan: ValidatePlan) -> Verdict:
    """`audit validate --engine spark`: the pandas engine's validate_tables, with Spark doing the checks."""
    with spark_session(config.spark_master) as spark:
        start_workers(spark)
        return validate_with(spark, config, plan)


def validate_with(spark: SparkSession, config: ValidateConfig, plan: ValidatePlan) -> Verdict:
    """Run the suites on Spark, apply waivers and write the report as ``pipeline.validate_tables`` does."""
    again = reextraction(
        config.reextract, plan.seeds_dir.resolve(), {}, config.number_policy, plan.manifest
    )  # each task names its seed
    results = check_tables(spark, config.tables_dir, plan.seeds_dir, plan.rules.suites, plan.manifest, again)
    return finish_audit(config, plan, results)


def check_tables(
    spark: SparkSession,
    tables_dir: Path,
    seeds_root: Path,
    suites: Sequence[Suite],
    manifest: dict[str, Any],
    again: Reextraction | None = None,
) -> tuple[CheckResult, ...]:
    """Every suite on its table as a Spark DataFrame with the provenance columns added in tasks (``again``:
    seeds extracted again in the tasks, as ``validate`` does)."""
    facts = table_facts(tables_dir, manifest, read=_table_file)
    intact = {row.table: row.sha256_ok for row in facts}
    n_rows = {row.table: int(row.n_rows_actual or 0) for row in facts}
    cores = spark.sparkContext.defaultParallelism
    if not spark.sparkContext.getConf().contains(_SHUFFLE_PARTITIONS):  # Spark's 200 is for big clusters
        spark.conf.set(_SHUFFLE_PARTITIONS, str(cores))
    tables = {name: read_spark_table(spark, tables_dir, name) for name in SPECS}
    checked, shared = provenance_frames(
        tables, seed_paths(tables["seeds"]), seeds_root.resolve(), intact, again
    )
    # GX runs a few Spark jobs per expectation: fewer, fuller partitions make each job cheaper
    frames = {
        name: frame.coalesce(max(1, min(cores, math.ceil(n_rows[name] / _ROWS_PER_PARTITION))))
        for name, frame in checked.items()
    }
    if any(row.table == "link_checks" and row.n_rows_actual for row in facts):
        frames["links"] = join_live_checks(frames["links"], frames["link_checks"])
    try:
        with stage(spark, "provenance: every table, one pass per seed"):
            if shared is not None:  # computed once, here; each table's frame decodes its rows from it
                shared.persist(StorageLevel.MEMORY_AND_DISK).count()
            for frame in frames.values():
                frame.persist(StorageLevel.MEMORY_AND_DISK).count()
        if shared is not None:
            shared.unpersist()
        return run_spark_suites(spark, frames, facts, suites)
    finally:
        for frame in frames.values():
            frame.unpersist()
        if shared is not None:
            shared.unpersist()


def read_spark_table(spark: SparkSession, tables_dir: Path, name: str) -> DataFrame:
    """A table (dataset directory or single file) with its declared schema, and each row's place in the files."""
    path = tables_dir / f"{name}.parquet"
    if not path.exists():
        raise ConfigError(f"{path}: the table is missing. Run `python -m audit run` to write the tables.")
    schema = from_arrow_schema(arrow_schema(SPECS[name]))
    try:
        frame = spark.read.schema(schema).parquet(str(path.resolve()))
    except AnalysisException as exc:
        raise ConfigError(
            f"{path}: not a readable Parquet table of the expected schema ({exc}). "
            "Rerun `python -m audit run` to rewrite it."
        ) from None
    place = [F.col("_metadata.file_name").alias(FILE_COLUMN), F.col("_metadata.row_index").alias(ROW_COLUMN)]
    return frame.select(*schema.names, *place)


def _table_file(path: Path) -> TableFile:
    """A table's file or dataset directory: its digest, row count and the manifest each part file embeds."""
    if not path.exists():
        raise ConfigError(f"{path}: the table is missing. Run `python -m audit run` to write the tables.")
    manifests = tuple(embedded_manifests(path))
    return TableFile(sha256=table_sha256(path), n_rows=count_rows(path), manifests=manifests)


def seed_paths(seeds: DataFrame) -> DataFrame:
    """(seed_sha256, path): the path each recorded seed is re-read from, as ``validate.Frames`` picks it."""
    # the first path in table order is the least one: seeds are listed, and written, in sorted order
    named = seeds.where(F.col("seed_sha256").isNotNull())
    return named.groupBy("seed_sha256").agg(F.min("path").alias("path"))


def provenance_frames(
    tables: Mapping[str, DataFrame],
    paths: DataFrame,
    root: Path,
    intact: Mapping[str, bool],
    again: Reextraction | None = None,
) -> tuple[dict[str, DataFrame], DataFrame | None]:
    """Each table with the provenance columns, and the frame of every seeded row's provenance that they
    join (persist it first, or every table computes it again).

    Every table's rows of a seed go to one task, with the seed's path: one shuffle for all tables, and each
    seed re-read (for HTML, its text derived again) once for all of them, as the pandas engine does. The
    task returns each row's place in the files and its four columns, which each table joins in the JVM."""
    seeded = [name for name, frame in tables.items() if "seed_sha256" in frame.columns]
    found = {  # run-time tables (link_checks): no seed to re-read
        name: frame.mapInArrow(
            functools.partial(_provenance_batches, name, root, intact[name]), _with_provenance_schema(frame)
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
        frame = tables[name]
        mine = checked.where(F.col("table") == name).drop("table")
        joined = frame.join(mine, [FILE_COLUMN, ROW_COLUMN], "left")
        found[name] = joined.select(*frame.columns, *PROVENANCE_COLUMNS)
    return {name: found[name] for name in tables}, checked


def _with_provenance_schema(frame: DataFrame) -> StructType:
    extra = [StructField(c, BooleanType(), True) for c in PROVENANCE_COLUMNS]
    return StructType([*frame.schema.fields, *extra])


def _provenance_batches(
    name: str, root: Path, intact: bool, batches: Iterable[pa.RecordBatch]
) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        yield from _add_provenance(
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
        payloads = [_ipc(batch.take(pa.array(order[a:b]))) for a, b in zip(starts, stops, strict=True)]
        yield pa.RecordBatch.from_arrays(
            [
                pa.array(keys, pa.string()),
                pa.array([name] * len(keys), pa.string()),
                pa.array(payloads, pa.binary()),
            ],
            schema=_PACKED_ARROW,
        )


def _ipc(batch: pa.RecordBatch | pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write(batch)
    return bytes(sink.getvalue().to_pybytes())


def _provenance_windows(
    root: Path, intact: Mapping[str, bool], again: Reextraction | None, batches: Iterable[pa.RecordBatch]
) -> Iterator[pa.RecordBatch]:
    """In a task: the packed rows of a partition, in seed order, checked ``_SEEDS_PER_WINDOW`` seeds at a
    time (the pandas engine's walk: each table's rows of those seeds in one call, each seed read once)."""
    held: list[pa.RecordBatch] = []
    n_seeds = 0
    for batch in batches:
        held.append(batch)
        n_seeds += len(set(batch.column("seed_sha256").to_pylist()))
        if n_seeds < _SEEDS_PER_WINDOW:
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
    pandas engine's SeedCache), and extracted again once if ``again`` chooses it. Each row's place and checks."""
    tables = group.column("table").to_pylist()
    payloads = group.column("payload").to_pylist()
    shas = group.column("seed_sha256").to_pylist()
    named = {sha: p.decode("utf-8") for sha, t, p in zip(shas, tables, payloads, strict=True) if t == _PATHS}
    seeds = SeedCache(root, named)
    expected = None if again is None else again.for_seeds(named)
    found = []
    for name in dict.fromkeys(t for t in tables if t != _PATHS):
        parts = [pa.ipc.open_stream(p).read_all() for t, p in zip(tables, payloads, strict=True) if t == name]
        rows = _add_provenance(pa.concat_tables(parts), name, seeds, intact[name], expected)
        place = rows.select([FILE_COLUMN, ROW_COLUMN, *PROVENANCE_COLUMNS])
        found.append(place.append_column("table", pa.array([name] * rows.num_rows, pa.string())))
    return pa.concat_tables(found).select(_CHECKED.names) if found else _CHECKED.empty_table()


def _add_provenance(
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


def join_live_checks(links: DataFrame, checks: DataFrame) -> DataFrame:
    """validate.frames.join_live_checks on Spark: a link's live result, if its URL has one, replaces its placeholders."""
    live = checks.select(
        F.col("url").alias("_live_url"), *(F.col(c).alias(f"_live_{c}") for c in LIVE_COLUMNS)
    )
    joined = links.join(F.broadcast(live), links["url"] == live["_live_url"], "left")
    hit = F.col("_live_url").isNotNull()
    return joined.select(
        *(
            F.when(hit, F.col(f"_live_{c}")).otherwise(F.col(c)).alias(c) if c in LIVE_COLUMNS else F.col(c)
            for c in links.columns
        )
    )


def run_spark_suites(
    spark: SparkSession,
    frames: Mapping[str, DataFrame],
    facts: Sequence[TableFacts],
    suites: Sequence[Suite],
) -> tuple[CheckResult, ...]:
    """Validate each table's Spark DataFrame with its suite through GX's Spark datasource."""
    context = gx_context()
    rows, tables_frame = [dataclasses.asdict(f) for f in facts], facts_frame(tuple(facts))
    results: list[CheckResult] = []
    for suite in suites:
        if suite.table == "tables":
            frame, id_column, index = _facts_spark_frame(spark, rows), "table", ["table"]
        else:
            frame, id_column = frames[suite.table], SPECS[suite.table].id_column
            seed = ["seed_sha256"] if "seed_sha256" in frame.columns else []
            index = [id_column, *seed, FILE_COLUMN, ROW_COLUMN]
        with stage(spark, f"suite: {suite.table}"):
            outcomes = _outcomes(context, frame, suite, index)
        for rule in suite.rules:
            outcome = outcomes.get(rule.rule_id)
            if suite.table == "tables":
                results.append(check_result(rule, outcome, tables_frame, id_column))
            else:
                results.append(_spark_check_result(rule, outcome, frame, id_column))
    return tuple(results)


def _facts_spark_frame(spark: SparkSession, rows: list[dict[str, Any]]) -> DataFrame:
    """The ``tables`` frame from Arrow: the JVM reads it as it is, with no Python worker to unpickle rows."""
    return spark.createDataFrame(pa.Table.from_pylist(rows, schema=_FACTS_SCHEMA))


def _outcomes(context: Any, frame: DataFrame, suite: Suite, index: list[str]) -> dict[str, Outcome]:
    """Each rule's outcome, as the pandas engine gets them: every rule with counts only, then the failing
    ones again naming their rows. A rule that holds then costs GX's aggregate jobs only, not the two jobs
    per rule that collecting failing rows takes on Spark (python -m benchmarks spark shows them)."""
    name = f"audit-{suite.table}"
    first = run_gx_suite(
        context,
        frame,
        build_gx_suite(suite.path, suite.raw),
        name=name,
        result_format=COUNTS_ONLY,
        engine="spark",
    )
    failing = [r.rule_id for r in suite.rules if not (r.rule_id in first and first[r.rule_id].passed)]
    if not failing:
        return first
    named = run_gx_suite(
        context,
        frame,
        build_gx_suite(suite.path, suite.raw_of(failing)),
        name=name,
        result_format=naming_rows(index, with_values=True),
        engine="spark",
    )
    return {**first, **named}


def _spark_check_result(rule: Rule, outcome: Outcome | None, frame: DataFrame, id_column: str) -> CheckResult:
    """The pandas engine's CheckResult, from the failing rows in table order and the evidence rows fetched."""
    failing = {} if outcome is None else outcome.failing
    if outcome is None or outcome.success or not failing.get(id_column):
        return check_result(rule, outcome, pd.DataFrame(), id_column)
    columns = list(failing)
    file_at, row_at = columns.index(FILE_COLUMN), columns.index(ROW_COLUMN)
    rows = zip(*(failing[c] for c in columns), strict=True)
    found = sorted(rows, key=lambda row: (row[file_at], row[row_at]))
    in_order = {c: [row[i] for row in found] for i, c in enumerate(columns)}
    ids = list(dict.fromkeys(str(i) for i in in_order[id_column]))
    evidence = _evidence_frame(frame, id_column, ids[:EVIDENCE_LIMIT], in_order)
    return check_result(rule, dataclasses.replace(outcome, failing=in_order), evidence, id_column)


def _evidence_frame(
    frame: DataFrame, id_column: str, first: list[str], failing: Mapping[str, Sequence[Any]]
) -> pd.DataFrame:
    """Whole rows for the first failing ids; id and seed only for the rest (their findings carry no evidence)."""
    rows: pd.DataFrame = (
        frame.where(F.col(id_column).isin(first)).drop(FILE_COLUMN, ROW_COLUMN).toArrow().to_pandas()
    )
    keys = [id_column, *(["seed_sha256"] if "seed_sha256" in frame.columns else [])]
    rest = pd.DataFrame({k: list(failing[k]) for k in keys}, columns=keys)
    rest = rest[~rest[id_column].isin(set(first))].drop_duplicates(id_column)
    return rows if rest.empty else pd.concat([rows, rest], ignore_index=True)
