"""Seeds -> Spark tasks -> Parquet datasets: `audit run --engine spark`.

The seed paths (sorted, as ``list_seed_files`` gives them) are cut into contiguous slices of
``spark.audit.seedsPerTask`` seeds (default 500), one task each. ``spark.parts`` runs the two jobs: the
first extracts each slice with ``audit.process.process_seed`` (the function the pandas engine calls) and
returns the seeds rows; the driver rejects duplicates with ``process.reject_duplicates`` (as the pandas
engine's ``write.write_tables`` does) and writes the seeds table; the second writes part *i* of every
extracted table from slice *i*'s rows, with the pandas engine's ``TablesWriter``, and checks them against
the seeds. Slice i holds seeds before slice i+1's, so part files in name order hold the rows in seed
order, as the pandas engine's single file does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from audit.config import RunConfig
from audit.fsio import atomic_dir
from audit.ingest import IngestLimits
from audit.link_guard import is_live_candidate
from audit.linkcheck import LinkChecker, LiveChecks
from audit.manifest import embedded_manifest, seed_entry, write_manifest
from audit.plan import RunPlan, plan_validation
from audit.process import EXTRACTED_TABLES, reject_duplicates
from audit.records import Verdict
from audit.signing import sign_manifest
from audit.spark.datasets import count_rows, dataset_sha256
from audit.spark.parts import (
    CheckedParts,
    extract_parts,
    part_name,
    work_folder,
    write_and_check_job,
    write_and_check_parts,
    write_seeds_table,
)
from audit.spark.session import (
    conf_count,
    import_what_gx_imports,
    spark_session,
    stage,
    start_workers,
)
from audit.store import SPECS, TABLES, TableSpec, TablesWriter, to_batch

SEEDS_PER_TASK_CONF = "spark.audit.seedsPerTask"
DEFAULT_SEEDS_PER_TASK = 500


def run_audit_spark(
    config: RunConfig, plan: RunPlan, prepare: Callable[[], None], before_writing: Callable[[], None]
) -> Verdict:
    """Extract, write and check every seed in Spark tasks, then validate; ``prepare`` (building the
    suites: GX's import) runs in a thread while the session starts, and ends first, then
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
            with work_folder(config.tables_dir) as work:
                parts = write_tables_spark(
                    spark, config.tables_dir, config.seeds_dir, config.limits, plan, work
                )
                validation = plan_validation(config.tables_dir, config.seeds_dir, plan.rules)
                return validate_with(spark, config.validation(), validation, parts)


def write_tables_spark(
    spark: SparkSession, directory: Path, root: Path, limits: IngestLimits, plan: RunPlan, work: Path
) -> CheckedParts:
    """Extract in tasks, then write every table as a Parquet dataset and the manifest (all or nothing);
    the rows of every seeded table, checked against the seeds in the writing tasks, are left in ``work``."""
    unknown = set(SPECS) - {"seeds", "link_checks", *EXTRACTED_TABLES}
    if unknown:  # a table added to audit.store needs its writer here too
        raise RuntimeError(f"the Spark engine does not know how to write the tables {sorted(unknown)}")
    with stage(spark, "extract: seeds, in tasks"):
        extracted = extract_parts(
            spark, work, root.resolve(), plan.files, limits, plan.options, seeds_per_task(spark), plan.cache
        )
    rows, dropped = reject_duplicates(extracted.rows, {})
    seeds = [seed_entry(row) for row in rows]
    embedded = embedded_manifest(plan.core, seeds)
    with atomic_dir(
        directory, "choose another directory with --tables", kind="tables", place="--tables"
    ) as staging:
        write_seeds_table(staging, rows, extracted, embedded)
        with stage(spark, "write and check: every extracted table, in tasks"):
            job = write_and_check_job(work, staging, root.resolve(), extracted, rows, dropped, embedded)
            parts = write_and_check_parts(spark, job)
        with stage(spark, "write: link_checks"):
            checks = _live_checks(spark, staging, plan.check_links) if plan.check_links is not None else None
        _write_driver_table(SPECS["link_checks"], list(checks or ()), embedded, staging)
        hosts = (
            None if checks is None else checks.hosts
        )  # each host's pacing statistics, as the pandas engine
        _write_manifest(staging, plan.core, embedded, seeds, plan.started, hosts, extracted.cache)
        if plan.key is not None:
            sign_manifest(staging, plan.key)
    return parts


def _write_driver_table(
    spec: TableSpec, records: Sequence[Any], embedded: dict[str, Any], staging: Path
) -> None:
    """A table whose rows the driver holds (seeds, live link checks): one part file, written here."""
    (staging / f"{spec.name}.parquet").mkdir()
    writer = TablesWriter(staging, tables=[spec], file_name=part_name(0))
    writer.write(spec.name, to_batch(spec, records))
    writer.close(embedded)


def _live_checks(spark: SparkSession, staging: Path, check_links: LinkChecker) -> LiveChecks:
    """Each distinct URL the pandas engine would check (it passed the offline checks, or failed them only by
    being an IP literal: ``link_guard.is_live_candidate``), checked once from the driver."""
    return check_links(live_candidates(spark, staging / "links.parquet"))


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


def _write_manifest(
    staging: Path,
    core: dict[str, Any],
    embedded: dict[str, Any],
    seeds: list[dict[str, Any]],
    started: float,
    link_hosts: Sequence[Mapping[str, Any]] | None,
    cache: Mapping[str, int] | None,
) -> None:
    tables = {
        spec.name: {
            "file": f"{spec.name}.parquet",
            "sha256": dataset_sha256(staging / f"{spec.name}.parquet"),
            "n_rows": count_rows(staging / f"{spec.name}.parquet"),
        }
        for spec in TABLES
    }
    write_manifest(staging, core, embedded, seeds, tables, started, link_hosts, cache)
