"""Tables on Spark -> provenance columns computed in tasks -> the same GX suites -> CheckResult records.

Provenance: each table is cogrouped by ``seed_sha256`` with the path each seed is re-read from (the first in
the seeds table, as ``validate.Frames`` picks it); a task re-reads that seed through ``provenance.SeedCache``
and calls ``provenance.provenance_columns`` on the seed's rows: the pandas engine's own functions, and as
there, each seed is re-read once per table.

Failing ids: GX 1.24 returns ``unexpected_index_list`` on Spark as it does on pandas, so rows are named the
same way, by ``unexpected_index_column_names``. The list also asks for ``seed_sha256`` and the row's place in
the files (``_metadata.file_name``, ``_metadata.row_index``): findings are put in table order, as the pandas
engine lists them, and the first ``EVIDENCE_LIMIT`` are fetched whole for their evidence.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

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
from audit.provenance import (
    PROVENANCE_COLUMNS,
    SPAN_CHECKS,
    TABLE_FACT_COLUMNS,
    SeedCache,
    TableFacts,
    provenance_columns,
)
from audit.records import CheckResult, Verdict
from audit.reextract import Reextraction, reextraction
from audit.spark.datasets import count_rows, embedded_manifests, table_sha256
from audit.spark.session import spark_session
from audit.store import SPECS, arrow_schema
from audit.suites import Suite, build_gx_suite
from audit.validate import EVIDENCE_LIMIT, LIVE_COLUMNS, check_result, embedded_core

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

FILE_COLUMN, ROW_COLUMN = "_audit_file", "_audit_row"
_SHUFFLE_PARTITIONS = "spark.sql.shuffle.partitions"
_ROWS_PER_PARTITION = 50_000
_FACTS_SCHEMA = (
    "table string, sha256_expected string, sha256_actual string, n_rows_expected long, "
    "n_rows_actual long, sha256_ok boolean, n_rows_ok boolean, embedded_manifest_ok boolean"
)


def validate_tables_spark(config: ValidateConfig, plan: ValidatePlan) -> Verdict:
    """`audit validate --engine spark`: the pandas engine's validate_tables, with Spark doing the checks."""
    with spark_session(config.spark_master) as spark:
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
    facts = table_facts(tables_dir, manifest)
    intact = {row["table"]: bool(row["sha256_ok"]) for row in facts}
    n_rows = {row["table"]: int(row["n_rows_actual"]) for row in facts}
    cores = spark.sparkContext.defaultParallelism
    if not spark.sparkContext.getConf().contains(_SHUFFLE_PARTITIONS):  # Spark's 200 is for big clusters
        spark.conf.set(_SHUFFLE_PARTITIONS, str(cores))
    tables = {name: read_spark_table(spark, tables_dir, name) for name in SPECS}
    paths, root = seed_paths(tables["seeds"]).persist(StorageLevel.MEMORY_AND_DISK), seeds_root.resolve()
    # GX runs a few Spark jobs per expectation: fewer, fuller partitions make each job cheaper
    frames = {
        name: with_provenance(t, paths, name, root, intact[name], again).coalesce(
            max(1, min(cores, math.ceil(n_rows[name] / _ROWS_PER_PARTITION)))
        )
        for name, t in tables.items()
    }
    if any(row["table"] == "link_checks" and row["n_rows_actual"] for row in facts):
        frames["links"] = join_live_checks(frames["links"], frames["link_checks"])
    try:
        for frame in frames.values():
            frame.persist(StorageLevel.MEMORY_AND_DISK).count()  # provenance computed once, here
        return run_spark_suites(spark, frames, facts, suites)
    finally:
        for frame in frames.values():
            frame.unpersist()
        paths.unpersist()


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


def table_facts(tables_dir: Path, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``tables`` frame's rows: each table's digest, row count and embedded manifests against the manifest."""
    recorded = manifest.get("tables", {})
    core = embedded_core(manifest)
    rows = []
    for name in SPECS:
        path = tables_dir / f"{name}.parquet"
        if not path.exists():
            raise ConfigError(f"{path}: the table is missing. Run `python -m audit run` to write the tables.")
        expected = recorded.get(name, {})
        actual_sha, n_rows, embedded = table_sha256(path), count_rows(path), embedded_manifests(path)
        facts = TableFacts(
            table=name,
            sha256_expected=expected.get("sha256"),
            sha256_actual=actual_sha,
            n_rows_expected=expected.get("n_rows"),
            n_rows_actual=n_rows,
            sha256_ok=expected.get("sha256") == actual_sha,
            n_rows_ok=expected.get("n_rows") == n_rows,
            embedded_manifest_ok=core is not None and bool(embedded) and all(m == core for m in embedded),
        )
        rows.append(dataclasses.asdict(facts))
    return rows


def seed_paths(seeds: DataFrame) -> DataFrame:
    """(seed_sha256, path): the path each recorded seed is re-read from, as ``validate.Frames`` picks it."""
    # the first path in table order is the least one: seeds are listed, and written, in sorted order
    named = seeds.where(F.col("seed_sha256").isNotNull())
    return named.groupBy("seed_sha256").agg(F.min("path").alias("path"))


def with_provenance(
    frame: DataFrame,
    paths: DataFrame,
    name: str,
    root: Path,
    intact: bool,
    again: Reextraction | None = None,
) -> DataFrame:
    """The table with the provenance columns, computed per seed by the pandas engine's function."""
    extra = [StructField(c, BooleanType(), True) for c in PROVENANCE_COLUMNS]
    out = StructType([*frame.schema.fields, *extra])
    if "seed_sha256" not in frame.columns:  # a run-time table (link_checks): no seed to re-read
        return frame.mapInArrow(functools.partial(_provenance_batches, name, root, intact), out)
    group = functools.partial(_provenance_group, name, root, intact, again)
    return frame.groupBy("seed_sha256").cogroup(paths.groupBy("seed_sha256")).applyInArrow(group, out)


def _provenance_batches(
    name: str, root: Path, intact: bool, batches: Iterable[pa.RecordBatch]
) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        yield from _add_provenance(
            pa.Table.from_batches([batch]), name, SeedCache(root, {}), intact
        ).to_batches()


def _provenance_group(
    name: str, root: Path, intact: bool, again: Reextraction | None, rows: pa.Table, found: pa.Table
) -> pa.Table:
    """In a task: one seed's rows of one table; the seed is re-read here (the pandas engine's SeedCache),
    and extracted again if ``again`` chooses it (once per table: tasks share nothing)."""
    shas, paths = found.column("seed_sha256").to_pylist(), found.column("path").to_pylist()
    named = dict(zip(shas, paths, strict=True))
    expected = None if again is None else again.for_seeds(named)
    return _add_provenance(rows, name, SeedCache(root, named), intact, expected)


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
    """audit.validate.join_live_checks on Spark: a link's live result, if its URL has one, replaces its placeholders."""
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
    spark: SparkSession, frames: Mapping[str, DataFrame], facts: list[dict[str, Any]], suites: Sequence[Suite]
) -> tuple[CheckResult, ...]:
    """Validate each table's Spark DataFrame with its suite through GX's Spark datasource."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    facts_frame = pd.DataFrame(facts, columns=list(TABLE_FACT_COLUMNS))
    results: list[CheckResult] = []
    for suite in suites:
        if suite.table == "tables":
            frame, id_column, index = spark.createDataFrame(facts, _FACTS_SCHEMA), "table", ["table"]
        else:
            frame, id_column = frames[suite.table], SPECS[suite.table].id_column
            seed = ["seed_sha256"] if "seed_sha256" in frame.columns else []
            index = [id_column, *seed, FILE_COLUMN, ROW_COLUMN]
        source = context.data_sources.add_spark(name=f"audit-{suite.table}")
        batch_def = source.add_dataframe_asset(name=suite.table).add_batch_definition_whole_dataframe("all")
        batch = batch_def.get_batch(batch_parameters={"dataframe": frame})
        outcome = batch.validate(
            build_gx_suite(suite.path, suite.raw),
            result_format={"result_format": "COMPLETE", "unexpected_index_column_names": index},
        )
        by_rule = {r.expectation_config.meta["rule_id"]: r for r in outcome.results}
        for rule in suite.rules:
            result = by_rule.get(rule.rule_id)
            if suite.table == "tables":
                results.append(check_result(rule, result, facts_frame, id_column))
            else:
                results.append(_spark_check_result(rule, result, frame, id_column))
    return tuple(results)


def _spark_check_result(rule: Any, result: Any, frame: DataFrame, id_column: str) -> CheckResult:
    """audit.validate's CheckResult, from the failing rows in table order and the evidence rows fetched."""
    payload = (result.result or {}) if result is not None else {}
    found = payload.get("unexpected_index_list") or []
    if result is None or result.success or not found:
        return check_result(rule, result, pd.DataFrame(), id_column)
    found = sorted(found, key=lambda item: (item[FILE_COLUMN], item[ROW_COLUMN]))
    ids = list(dict.fromkeys(str(item[id_column]) for item in found))
    evidence = _evidence_frame(frame, id_column, ids[:EVIDENCE_LIMIT], found)
    ordered = SimpleNamespace(
        success=result.success,
        exception_info=result.exception_info,
        result={**payload, "unexpected_index_list": found},
    )
    return check_result(rule, ordered, evidence, id_column)


def _evidence_frame(
    frame: DataFrame, id_column: str, first: list[str], found: list[dict[str, Any]]
) -> pd.DataFrame:
    """Whole rows for the first failing ids; id and seed only for the rest (their findings carry no evidence)."""
    rows: pd.DataFrame = (
        frame.where(F.col(id_column).isin(first)).drop(FILE_COLUMN, ROW_COLUMN).toArrow().to_pandas()
    )
    keys = [id_column, *(["seed_sha256"] if "seed_sha256" in frame.columns else [])]
    rest = pd.DataFrame([{k: item[k] for k in keys} for item in found], columns=keys)
    rest = rest[~rest[id_column].isin(set(first))].drop_duplicates(id_column)
    return rows if rest.empty else pd.concat([rows, rest], ignore_index=True)
