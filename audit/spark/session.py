"""A SparkSession for the audit: the master URL given, or spark-submit's, or local[2]."""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import sys
from collections.abc import Iterable, Iterator

import pyarrow as pa
from pyspark.sql import SparkSession

from audit.errors import UsageError

DEFAULT_MASTER = "local[2]"
# small jobs started at once (frames persisted for suites on Spark): a 200-seed table is one task
JOBS_AT_ONCE = 3
_CONF = {
    "spark.app.name": "news-audit",
    # Spark's own progress bars and UI are noise for a command-line tool; its logs stay at ERROR
    "spark.ui.showConsoleProgress": "false",
    "spark.ui.enabled": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    # a table directory holds part files only: no _SUCCESS marker
    "spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs": "false",
    "spark.sql.session.timeZone": "UTC",
    # workers are forked from a daemon that has imported the task code: each task worker starts warm
    "spark.python.daemon.module": "audit.spark.daemon",
}


# the pyspark modules Great Expectations imports (great_expectations/compatibility/pyspark.py)
_GX_PYSPARK = (
    "pyspark.errors",
    "pyspark.sql.functions",
    "pyspark.sql.types",
    "pyspark.sql.utils",
    "pyspark.sql.readwriter",
    "pyspark.ml.feature",
    "pyspark.sql.connect.dataframe",
    "pyspark.sql.connect.session",
)


def import_what_gx_imports() -> None:
    """Import, in this thread, the pyspark modules GX imports (those pyspark cannot load are skipped).

    ``audit run --engine spark`` imports GX in another thread while this one starts the session; with
    these already loaded, the two threads never import the same pyspark module at once (two threads
    entering a circular import from both ends can each get the other's module half made).
    """
    for name in _GX_PYSPARK:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def java_missing() -> str | None:
    """Why Spark cannot start here (no java on PATH or JAVA_HOME), or None."""
    home = os.environ.get("JAVA_HOME")
    if home and os.path.exists(os.path.join(home, "bin", "java")):
        return None
    if shutil.which("java"):
        return None
    return "Spark needs Java 17 or newer: no java on PATH and no JAVA_HOME. Install a JDK (e.g. apt-get install openjdk-17-jre-headless)."


def _under_spark_submit() -> bool:
    return "PYSPARK_GATEWAY_PORT" in os.environ


@contextlib.contextmanager
def spark_session(master: str | None) -> Iterator[SparkSession]:
    """Yield a session; stop it afterwards unless it was running before (a notebook's, spark-submit's)."""
    reason = java_missing()
    if reason is not None and not _under_spark_submit():
        raise UsageError(f"--engine spark: {reason}")
    # Python workers must run this interpreter (with audit and pyarrow), not whatever `python3` is on PATH
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    existing = SparkSession.getActiveSession()
    builder = SparkSession.builder
    for key, value in _CONF.items():
        builder = builder.config(key, value)
    if master is not None or not _under_spark_submit():
        builder = builder.master(master or DEFAULT_MASTER)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    try:
        yield spark
    finally:
        if existing is None and not _under_spark_submit():
            spark.stop()


def conf_count(spark: SparkSession, key: str, default: int, minimum: int) -> int:
    """A whole-number setting of the engine from the Spark configuration (``default`` when unset); a value
    that is not one, or is below ``minimum``, is a usage error naming the setting."""
    value = spark.conf.get(key, None)
    if value is None or not value.strip():
        return default
    try:
        number = int(value)
    except ValueError:
        number = minimum - 1
    if number < minimum:
        raise UsageError(
            f"{key}={value!r}: not a whole number of at least {minimum}. "
            f"Set it with --conf {key}=N, or leave it out for the default ({default})."
        )
    return number


@contextlib.contextmanager
def stage(spark: SparkSession, description: str) -> Iterator[None]:
    """Name the Spark jobs the block starts: Spark's UI and event log show it, and
    ``python -m benchmarks.spark_events`` adds up each stage's jobs by it."""
    context = spark.sparkContext
    context.setJobDescription(description)
    try:
        yield
    finally:
        context.setJobDescription(None)  # type: ignore[arg-type]  # pyspark's stub wants a str; None clears it


def start_workers(spark: SparkSession) -> None:
    """Start every executor's Python daemon at once, a small task each: a job that reaches one executor
    only (extracting a few seeds) would leave the others to pay their daemon's imports later, in turn."""
    n = spark.sparkContext.defaultParallelism
    with stage(spark, "start: Python workers"):
        spark.range(n, numPartitions=n).mapInArrow(_as_they_are, "id long").count()


def _as_they_are(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    yield from batches
