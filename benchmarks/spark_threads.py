"""GX suites on Spark one at a time against ``SUITE_THREADS`` at a time, in one driver on a loopback cluster.

    python -m benchmarks.spark_threads [N] [--rounds R]

Generates N seeds (default 200), starts the loopback standalone cluster (benchmarks/spark_cluster.py), writes
the tables once with ``audit run --engine spark``, then in one driver process, on one Spark session,
validates them R times with each setting in turn (one thread, then audit.spark.checks.SUITE_THREADS;
``--reextract none``, and ``spark.audit.driverValidationRows`` 0, so every suite runs on Spark) and prints
the seconds ``run_spark_suites`` took each time. One session for every
validation keeps the cluster's start-up, and its noise, out of the comparison; the first validation also
warms the executors up, so compare the later rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.generate import generate
from benchmarks.spark_cluster import standalone_cluster

ROOT = Path(__file__).resolve().parent.parent


def validations(tables: Path, report: Path, master: str, rounds: int) -> list[tuple[int, float]]:
    """In the driver: validate ``rounds`` times with one thread and with SUITE_THREADS, in turn."""
    import audit.spark.checks as checks
    from audit.cli import main
    from audit.spark.session import spark_session

    threads, found = checks.SUITE_THREADS, []
    suites = checks.run_spark_suites

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        result = suites(*args, **kwargs)
        found.append((checks.SUITE_THREADS, round(time.perf_counter() - started, 2)))
        return result

    checks.run_spark_suites = timed  # type: ignore[assignment]
    argv = ["validate", "--tables", str(tables), "--report", str(report), "--engine", "spark"]
    with spark_session(master) as spark:  # validate keeps a session it did not start: one for every round
        spark.conf.set(checks.DRIVER_ROWS_CONF, "0")  # every suite on Spark: what the threads are for
        for setting in [1, threads] * rounds:
            checks.SUITE_THREADS = setting
            main([*argv, "--spark-master", master, "--reextract", "none", "-q", "--no-config"])
    return found


def run(n_seeds: int, rounds: int) -> list[tuple[int, float]]:
    """Generate the seeds, start the cluster, write the tables, time the validations in one driver."""
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "GX_ANALYTICS_ENABLED": "false"}
    with tempfile.TemporaryDirectory(prefix="audit-spark-threads-") as tmp:
        work = Path(tmp)
        generate(work / "seeds", n_seeds)
        with standalone_cluster(work / "cluster") as cluster:
            env = {**cluster.env, **env}
            audit = [sys.executable, "-m", "audit"]
            subprocess.run(
                [*audit, "run", str(work / "seeds"), "--engine", "spark", "--spark-master", cluster.url,
                 "--tables", str(work / "tables"), "--report", str(work / "report"), "-q", "--no-config",
                 "--no-cache"],
                env=env, check=False, stdout=subprocess.DEVNULL,
            )  # fmt: skip
            driver = [sys.executable, "-m", "benchmarks.spark_threads", "--driver", str(work), cluster.url]
            done = subprocess.run([*driver, str(rounds)], env=env, check=True, capture_output=True, text=True)
    found: list[tuple[int, float]] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("seeds", nargs="?", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--driver", nargs=3, metavar=("WORK", "MASTER", "ROUNDS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.driver:
        work, master, rounds = Path(args.driver[0]), args.driver[1], int(args.driver[2])
        print(json.dumps(validations(work / "tables", work / "report-v", master, rounds)))
        return 0
    print(f"load average (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    found = run(args.seeds, args.rounds)
    for threads, seconds in found:
        print(f"  suites, {threads} thread{'s' if threads > 1 else ''}: {seconds:.1f} s")
    print(f"load average after (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
