"""The Spark engine's stages as the driver sees them, on the loopback standalone cluster.

    python -m benchmarks.spark_timeline [N] [--runs R]

Generates N seeds (default 200), starts the loopback cluster (benchmarks/spark_cluster.py) and runs
``audit run --engine spark`` R times (default 1) in a driver that prints when each stage starts and ends,
in seconds since the driver started: the session (``getOrCreate``), starting the executors' Python
workers, extracting and writing the tables, provenance (from its plan to the suites), the suites and
the report. The event log (benchmarks/spark_events.py) says what the jobs took; this says where the
driver waited between them.
"""

from __future__ import annotations

import argparse
import functools
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.generate import generate
from benchmarks.spark_cluster import standalone_cluster

ROOT = Path(__file__).resolve().parent.parent
_STARTED = time.perf_counter()


def _marked(name: str, fn: Callable[..., Any], *, once: bool = False) -> Callable[..., Any]:
    calls = [0]

    @functools.wraps(fn)
    def marked(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if once and calls[0] > 1:  # GX asks for the session again and again: only the first starts it
            return fn(*args, **kwargs)
        began = time.perf_counter()
        print(f"[{began - _STARTED:6.2f}] > {name}", file=sys.stderr, flush=True)
        try:
            return fn(*args, **kwargs)
        finally:
            ended = time.perf_counter()
            print(f"[{ended - _STARTED:6.2f}] < {name} ({ended - began:.2f})", file=sys.stderr, flush=True)

    return marked


def driver(argv: list[str]) -> int:
    """In the driver: mark the stages, then run the audit with these arguments."""
    from pyspark.sql import SparkSession

    import audit.spark.checks as checks
    import audit.spark.extract as extract
    from audit.cli import main

    builder = SparkSession.Builder
    builder.getOrCreate = _marked("session", builder.getOrCreate, once=True)  # type: ignore[method-assign]
    extract.start_workers = _marked("start workers", extract.start_workers)
    extract.write_tables_spark = _marked("extract and write tables", extract.write_tables_spark)
    checks.provenance_frames = _marked("provenance (plan)", checks.provenance_frames)
    checks.run_spark_suites = _marked("suites", checks.run_spark_suites)
    checks.finish_audit = _marked("report", checks.finish_audit)
    return main(argv)


def run(n_seeds: int, runs: int) -> None:
    """Generate the seeds, start the cluster, run the marked driver ``runs`` times; print the marks."""
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory(prefix="audit-spark-timeline-") as tmp:
        work = Path(tmp)
        generate(work / "seeds", n_seeds)
        with standalone_cluster(work / "cluster") as cluster:
            env = {**cluster.env, "GX_ANALYTICS_ENABLED": "false"}
            for i in range(runs):
                argv = [
                    "run", str(work / "seeds"), "--engine", "spark", "--spark-master", cluster.url,
                    "--tables", str(work / "tables"), "--report", str(work / "report"), "-q", "--no-config",
                    "--no-cache",
                ]  # fmt: skip
                cmd = [sys.executable, "-m", "benchmarks.spark_timeline", "--driver", *argv]
                done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
                marks = [line for line in done.stderr.splitlines() if line.startswith("[")]
                print(f"run {i + 1} (exit {done.returncode}):")
                print("\n".join(f"  {line}" for line in marks))


def main(argv: list[str]) -> int:
    if argv[:1] == ["--driver"]:
        return driver(argv[1:])
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("seeds", nargs="?", type=int, default=200)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args(argv)
    print(f"load average (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    run(args.seeds, args.runs)
    print(f"load average after (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
