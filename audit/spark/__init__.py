"""The audit on Apache Spark: the same extraction functions and suites, distributed (optional extra).

``run_audit`` and ``validate_tables`` take the settings and the plan ``pipeline`` made of them before it
switched engine (``audit.plan``: the pandas engine's setup too). Importing this package needs no pyspark;
``require_pyspark`` says how to install it when it is missing. The modules below import pyspark and are
loaded only by ``run_audit`` / ``validate_tables``::

    session.py   SparkSession for a master URL (local[2] by default, or the one spark-submit gives)
    datasets.py  a table as a Parquet dataset directory: part files, digest, row count, embedded manifest
    extract.py   seeds -> Spark tasks calling audit.process.process_seed -> tables written by Spark
    provenance.py  every table's rows of a seed checked in one task -> each table's rows with provenance columns
    checks.py    the tables with provenance, GX suites on Spark DataFrames -> CheckResult records
    daemon.py    the Python daemon Spark forks task workers from, the task modules already imported
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import TYPE_CHECKING

from audit.errors import UsageError

if TYPE_CHECKING:
    from audit.config import RunConfig, ValidateConfig
    from audit.plan import RunPlan, ValidatePlan
    from audit.records import Verdict

INSTALL_HINT = "pip install 'news-audit[spark]' (pyspark 4.0 and Java 17 or newer)"


def require_pyspark() -> None:
    """Raise UsageError saying how to install pyspark when it is not importable."""
    if importlib.util.find_spec("pyspark") is None:
        raise UsageError(
            f"--engine spark needs pyspark, which is not installed. Install it with {INSTALL_HINT}, "
            "or omit --engine to use the pandas engine."
        )


def run_audit(
    config: RunConfig,
    plan: RunPlan,
    prepare: Callable[[], None] = lambda: None,
    before_writing: Callable[[], None] = lambda: None,
) -> Verdict:
    """`audit run` on Spark: extract in tasks, write the tables with Spark, validate them on Spark.

    ``prepare`` runs in a thread while the session starts: an error it raises stops the session and ends
    the run. ``before_writing`` runs once the session has started and ``prepare`` has ended."""
    require_pyspark()
    from audit.spark.extract import run_audit_spark

    return run_audit_spark(config, plan, prepare, before_writing)


def validate_tables(config: ValidateConfig, plan: ValidatePlan) -> Verdict:
    """`audit validate` on Spark: provenance re-computed in tasks, the suites run on Spark DataFrames."""
    require_pyspark()
    from audit.spark.checks import validate_tables_spark

    return validate_tables_spark(config, plan)
