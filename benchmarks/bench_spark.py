"""The Spark engine on a real standalone cluster against the local engine, on the same generated seeds.

    python -m benchmarks spark [--sizes 200 2000]

Starts a master and two workers (1 core, 3 GB each) on loopback from the installed pyspark, then for each
size runs ``audit run`` as a whole process with the local engine (2 cores) and with ``--engine spark
--spark-master spark://127.0.0.1:PORT``, and prints: wall times, the fixed cost (the smallest size), the
marginal cost per seed (largest minus smallest size), their Spark/local ratios, whether the two engines'
rules agree (checked and failing counts, failing ids), and where the Spark run's time went (from its
event log: benchmarks/spark_events.py). The cluster is stopped by its process ids afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.generate import generate
from benchmarks.measure import run_measured
from benchmarks.spark_cluster import standalone_cluster
from benchmarks.spark_events import breakdown, events, render

ROOT = Path(__file__).resolve().parent.parent
KEPT = ROOT / "build" / "bench" / "spark-events"


def rules_of(report: Path) -> list[tuple[Any, ...]]:
    """What must agree between engines: each rule's id, outcome, counts and failing ids."""
    doc = json.loads((report / "results.json").read_text(encoding="utf-8"))
    return sorted(
        (r["rule_id"], r["passed"], r["n_checked"], r["n_failed"], tuple(sorted(r["failed_ids"])))
        for r in doc["rules"]
    )


def _run(seeds: Path, out: Path, env: dict[str, str], *extra: str) -> float:
    cmd = [
        sys.executable, "-m", "audit", "run", str(seeds), "--tables", str(out / "tables"),
        "--report", str(out / "report"), "--no-config", "--no-cache", *extra,
    ]  # fmt: skip  # the Spark engine has no extraction cache: both engines extract every seed
    return run_measured(cmd, env=env, memory=False).seconds  # sampling the JVM's memory would slow it


def main(sizes: list[int]) -> dict[str, Any]:
    """Both engines at each size; the costs, their ratios, the agreement and the Spark breakdown."""
    env = {**os.environ, "GX_ANALYTICS_ENABLED": "false", "PYTHONPATH": str(ROOT)}
    sizes = sorted(sizes)
    figures: dict[str, Any] = {"local": {}, "spark": {}, "agree": {}}
    with tempfile.TemporaryDirectory(prefix="audit-spark-bench-") as tmp:
        work = Path(tmp)
        KEPT.mkdir(parents=True, exist_ok=True)
        with standalone_cluster(work / "cluster") as cluster:
            for n in sizes:
                seeds = work / f"seeds_{n}"
                generate(seeds, n)
                local = _run(seeds, work / f"local_{n}", env, "--jobs", "2")
                seen = set(cluster.event_log.iterdir())
                spark = _run(
                    seeds, work / f"spark_{n}", {**cluster.env, **env}, "--engine", "spark",
                    "--spark-master", cluster.url,
                )  # fmt: skip
                agree = rules_of(work / f"local_{n}" / "report") == rules_of(work / f"spark_{n}" / "report")
                figures["local"][n], figures["spark"][n], figures["agree"][n] = local, spark, agree
                print(f"{n:>6} seeds: local {local:6.1f} s   spark {spark:6.1f} s   rules identical: {agree}")
                for log in sorted(set(cluster.event_log.iterdir()) - seen):
                    print(render(*breakdown(events(log))))
                    kept = KEPT / f"{n}-seeds"  # for python -m benchmarks.spark_events later
                    shutil.rmtree(kept, ignore_errors=True)
                    shutil.copytree(log, kept) if log.is_dir() else shutil.copy(log, kept)
    if len(sizes) > 1:
        lo, hi = sizes[0], sizes[-1]
        per = {e: (figures[e][hi] - figures[e][lo]) / (hi - lo) for e in ("local", "spark")}
        ratio = per["spark"] / per["local"] if per["local"] > 0 else float("inf")
        print(
            f"fixed cost ({lo} seeds): local {figures['local'][lo]:.1f} s, spark {figures['spark'][lo]:.1f} s "
            f"(x{figures['spark'][lo] / figures['local'][lo]:.1f}); marginal per seed: local "
            f"{per['local'] * 1000:.1f} ms, spark {per['spark'] * 1000:.1f} ms (x{ratio:.2f})"
        )
        figures["marginal_ratio"] = ratio
    return figures
