"""Tables on Spark -> provenance columns computed in tasks -> the same GX suites -> CheckResult records.

Provenance columns come from ``spark.provenance``: every table's rows of a seed checked in one task, the
seed re-read once for all of them. The suites run through ``validate.gx``, and the ``tables`` frame's rows
come from ``validate.facts``, as on pandas.

Failing ids: GX 1.24 returns ``unexpected_index_list`` on Spark as it does on pandas, so rows are named the
same way, by ``unexpected_index_column_names``. The list also asks for ``seed_sha256`` and the row's place in
the files (``_metadata.file_name``, ``_metadata.row_index``): findings are put in table order, as the pandas
engine lists them, and the first ``EVIDENCE_LIMIT`` are fetched whole for their evidence.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pyspark import StorageLevel
from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from audit.config import ValidateConfig
from audit.errors import ConfigError
from audit.finish import finish_audit
from audit.plan import ValidatePlan
from audit.records import PROVENANCE_COLUMNS, CheckResult, TableFacts, Verdict
from audit.spark.datasets import count_rows, embedded_manifests, table_sha256
from audit.spark.parts import CheckedParts
from audit.spark.provenance import FILE_COLUMN, ROW_COLUMN, provenance_frames, with_provenance_schema
from audit.spark.session import JOBS_AT_ONCE, conf_count, spark_session, stage, start_workers
from audit.store import SPECS, arrow_schema
from audit.validate.facts import TableFile, facts_frame, table_facts
from audit.validate.frames import LIVE_COLUMNS, as_booleans
from audit.validate.frames import join_live_checks as pd_join_live_checks
from audit.validate.gx import COUNTS_ONLY, Outcome, build_gx_suite, gx_context, naming_rows, run_gx_suite
from audit.validate.reextract import Reextraction, reextraction
from audit.validate.results import EVIDENCE_LIMIT, check_result
from audit.validate.run import run_suite
from audit.validate.suites import Rule, Suite

_SHUFFLE_PARTITIONS = "spark.sql.shuffle.partitions"
_ROWS_PER_PARTITION = 50_000
SUITE_THREADS = 3  # suites validated at once (run_spark_suites)
# a table of at most this many rows is validated on the driver, by GX's pandas engine (0: every table on Spark)
DRIVER_ROWS_CONF = "spark.audit.driverValidationRows"
DEFAULT_DRIVER_ROWS = 250_000
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
        driver_rows(spark)  # a bad setting stops the run before any job
        start_workers(spark)
        return validate_with(spark, config, plan)


def validate_with(
    spark: SparkSession, config: ValidateConfig, plan: ValidatePlan, parts: CheckedParts | None = None
) -> Verdict:
    """Run the suites on Spark, apply waivers and write the report as ``pipeline.validate_tables`` does
    (``parts``: rows checked as they were written, ``audit run``)."""
    again = reextraction(
        config.reextract, plan.seeds_dir.resolve(), {}, config.number_policy, plan.manifest
    )  # each task names its seed
    results = check_tables(
        spark, config.tables_dir, plan.seeds_dir, plan.rules.suites, plan.manifest, again, parts
    )
    return finish_audit(config, plan, results)


def check_tables(
    spark: SparkSession,
    tables_dir: Path,
    seeds_root: Path,
    suites: Sequence[Suite],
    manifest: dict[str, Any],
    again: Reextraction | None = None,
    parts: CheckedParts | None = None,
) -> tuple[CheckResult, ...]:
    """Every suite on its table with the provenance columns added in tasks (``again``: seeds extracted
    again in the tasks, as ``validate`` does): a small table's rows collected to the driver and judged by
    GX's pandas engine (``spark.audit.driverValidationRows``), a larger one as a Spark DataFrame.

    ``parts``: the rows of the seeded tables as the writing tasks checked them; used when every one of
    those tables is still the one written (its digest is the manifest's), else the tables are read again."""
    facts = table_facts(tables_dir, manifest, read=_table_file)
    intact = {row.table: row.sha256_ok for row in facts}
    n_rows = {row.table: int(row.n_rows_actual or 0) for row in facts}
    cores = spark.sparkContext.defaultParallelism
    if not spark.sparkContext.getConf().contains(_SHUFFLE_PARTITIONS):  # Spark's 200 is for big clusters
        spark.conf.set(_SHUFFLE_PARTITIONS, str(cores))
    tables = {name: read_spark_table(spark, tables_dir, name) for name in SPECS}
    if parts is not None and (again is not None or not all(intact[name] for name in parts.tables)):
        parts = None
    rest = tables if parts is None else {n: f for n, f in tables.items() if n not in parts.tables}
    checked, shared = provenance_frames(
        rest, seed_paths(tables["seeds"]), seeds_root.resolve(), intact, again
    )
    if parts is not None:
        for name in parts.tables:
            checked[name] = parts.frame(spark, name, with_provenance_schema(tables[name]))
        checked = {name: checked[name] for name in tables}
    limit = driver_rows(spark)
    small = [name for name in checked if n_rows[name] <= limit]
    if "link_checks" not in small and "links" in small:  # links join their live results where those are
        small.remove("links")
    # GX runs a few Spark jobs per expectation: fewer, fuller partitions make each job cheaper
    frames = {
        name: frame.coalesce(max(1, min(cores, math.ceil(n_rows[name] / _ROWS_PER_PARTITION))))
        for name, frame in checked.items()
        if name not in small
    }
    live = any(row.table == "link_checks" and row.n_rows_actual for row in facts)
    if live and "links" in frames:
        frames["links"] = join_live_checks(frames["links"], checked["link_checks"])
    try:
        with stage(spark, _PROVENANCE):
            if shared is not None and _readers(tables, frames, small) > 1:
                shared.persist(StorageLevel.MEMORY_AND_DISK).count()  # else each reader computes it again
            with ThreadPoolExecutor(JOBS_AT_ONCE, thread_name_prefix="audit-provenance") as pool:
                list(pool.map(_persisted, frames.values()))
        local = collected(spark, checked, shared, n_rows, small, parts)
        if shared is not None:
            shared.unpersist()
        if live and "links" in local:
            local["links"] = pd_join_live_checks(local["links"], local["link_checks"])
        if limit > 0:
            local["tables"] = facts_frame(tuple(facts))
        return run_spark_suites(spark, frames, local, facts, suites)
    finally:
        for frame in frames.values():
            frame.unpersist()
        if shared is not None:
            shared.unpersist()


_PROVENANCE = "provenance: every table, one pass per seed"


def _readers(tables: Mapping[str, DataFrame], frames: Mapping[str, DataFrame], small: Sequence[str]) -> int:
    """Jobs that read the provenance tasks' output: one per seeded table left on Spark, one for the
    seeded tables collected to the driver."""
    seeded = [name for name, frame in tables.items() if "seed_sha256" in frame.columns]
    return sum(name in frames for name in seeded) + any(name in small for name in seeded)


def driver_rows(spark: SparkSession) -> int:
    """``spark.audit.driverValidationRows``: the most rows a table validated on the driver holds."""
    return conf_count(spark, DRIVER_ROWS_CONF, DEFAULT_DRIVER_ROWS, minimum=0)


def collected(
    spark: SparkSession,
    checked: Mapping[str, DataFrame],
    shared: DataFrame | None,
    n_rows: Mapping[str, int],
    names: Sequence[str],
    parts: CheckedParts | None = None,
) -> dict[str, pd.DataFrame]:
    """These tables' checked rows on the driver, each as the pandas engine's frame of it.

    GX on Spark runs about one query per rule, each planned on the driver over py4j: for a small table
    that planning, not the data, is the time (about 20 s of a 200-seed run's suites). The provenance
    columns are still computed in tasks; the rows come from the provenance tasks' output in one job (each
    table's rows as those tasks packed them), not through a frame per table; or, when ``parts`` holds
    them, from the files the writing tasks left."""
    packed: dict[str, list[pa.Table]] = {name: [] for name in names}
    if parts is not None:
        packed.update({name: parts.read(name) for name in names if name in parts.tables})
    if shared is not None:
        with stage(spark, "to the driver: checked rows"):
            rows = shared.where(F.col("table").isin(list(names))).toArrow()
        for name, payload in zip(
            rows.column("table").to_pylist(), rows.column("payload").to_pylist(), strict=True
        ):
            packed[name].append(pa.ipc.open_stream(payload).read_all())
    out = {}
    for name in names:
        if packed[name]:
            table = pa.concat_tables(packed[name], promote_options="default")
        elif not n_rows[name]:  # as the pandas engine reads an empty table: no rows, every column
            table = _checked_schema(name).empty_table()
        else:  # rows with no seed (link_checks): their own frame, one small job
            with stage(spark, f"to the driver: {name}"):
                table = checked[name].toArrow()
        out[name] = pandas_frame(name, table)
    return out


def _checked_schema(name: str) -> pa.Schema:
    """A checked frame's columns: the stored ones, the row's place in the files, the provenance columns."""
    place = [pa.field(FILE_COLUMN, pa.string()), pa.field(ROW_COLUMN, pa.int64())]
    checks = [pa.field(c, pa.bool_()) for c in PROVENANCE_COLUMNS]
    return pa.schema([*arrow_schema(SPECS[name]), *place, *checks])


def _persisted(frame: DataFrame) -> int:
    with stage(frame.sparkSession, _PROVENANCE):  # a job's description is its thread's own
        return int(frame.persist(StorageLevel.MEMORY_AND_DISK).count())


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
    local: Mapping[str, pd.DataFrame],
    facts: Sequence[TableFacts],
    suites: Sequence[Suite],
) -> tuple[CheckResult, ...]:
    """Validate each table with its suite: on the driver by GX's pandas engine when ``local`` holds its
    frame, else its Spark DataFrame through GX's Spark datasource.

    Suites run ``SUITE_THREADS`` at a time, each with a GX context of its own (a context is not made for
    threads): most of a rule's time on Spark is the driver waiting, on GX planning its query over py4j or
    on a small job, and a suite's waits overlap another's jobs. Results come back in suite order."""
    rows, tables_frame = [dataclasses.asdict(f) for f in facts], facts_frame(tuple(facts))
    contexts = [gx_context() for _ in suites]

    def validated(suite: Suite, context: Any) -> list[CheckResult]:
        if suite.table in local:
            return run_suite(context, local, suite)
        if suite.table == "tables":
            frame, id_column, index = _facts_spark_frame(spark, rows), "table", ["table"]
        else:
            frame, id_column = frames[suite.table], SPECS[suite.table].id_column
            seed = ["seed_sha256"] if "seed_sha256" in frame.columns else []
            index = [id_column, *seed, FILE_COLUMN, ROW_COLUMN]
        with stage(spark, f"suite: {suite.table}"):
            outcomes = _outcomes(context, frame, suite, index)
        if suite.table == "tables":
            return [
                check_result(rule, outcomes.get(rule.rule_id), tables_frame, id_column)
                for rule in suite.rules
            ]
        return [
            _spark_check_result(rule, outcomes.get(rule.rule_id), frame, id_column) for rule in suite.rules
        ]

    with ThreadPoolExecutor(SUITE_THREADS, thread_name_prefix="audit-suite") as pool:
        done = list(pool.map(validated, suites, contexts))
    return tuple(result for results in done for result in results)


def pandas_frame(name: str, table: pa.Table) -> pd.DataFrame:
    """A checked frame's rows as ``validate.Frames`` gives them: in table order (by part file, then row),
    the stored columns (Spark reads them with the table's declared schema), then the provenance columns as
    nullable booleans."""
    order = pc.sort_indices(table, sort_keys=[(FILE_COLUMN, "ascending"), (ROW_COLUMN, "ascending")])
    table = table.take(order)
    frame: pd.DataFrame = table.select(arrow_schema(SPECS[name]).names).to_pandas()
    for column in PROVENANCE_COLUMNS:
        if column in table.column_names:
            frame[column] = as_booleans(table[column])
    return frame


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
