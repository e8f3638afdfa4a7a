"""Where a Spark run's time goes, from its event log: jobs and task time by the code that asked for them.

    python -m benchmarks.spark_events EVENT_LOG_FILE

Jobs are grouped by the stage the audit named for them (``audit.spark.session.stage``: "extract",
"write: numbers", "provenance: numbers", "suite: numbers"...), else by their call site: the Python line
that started them (pyspark records the first frame outside pyspark).
For each call site: jobs, their summed wall time, and their tasks' time (run, deserialisation, GC, result
serialisation, results sent to the driver). The driver's time outside any job (setup, GX planning, the
report) is the application's wall time minus the time covered by jobs.
"""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_SITE = re.compile(r"^(?P<op>\S+) at (?P<file>.+?):(?P<line>\d+)$")


@dataclass
class Site:
    """Jobs started from one line of code."""

    jobs: int = 0
    wall_ms: int = 0
    tasks: int = 0
    run_ms: int = 0
    deserialize_ms: int = 0
    gc_ms: int = 0
    serialize_ms: int = 0
    result_bytes: int = 0
    ops: set[str] = field(default_factory=set)


def events(path: Path) -> Iterator[dict[str, Any]]:
    """The events of one application: a log file, or a rolling log's folder (``eventlog_v2_*``)."""
    files = sorted(path.glob("events_*"), key=_part) if path.is_dir() else [path]
    for file in files:
        with file.open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    yield json.loads(line)


def _part(file: Path) -> int:
    """A rolling log's part number: events_<N>_<app id>."""
    return int(file.name.split("_")[1])


def short_site(call_site: str) -> str:
    """``collect at /x/audit/spark/checks.py:123`` -> ``audit/spark/checks.py:123`` (the package-relative path)."""
    match = _SITE.match(call_site.strip())
    if not match:
        return call_site.strip() or "(unknown)"
    file = match["file"]
    for root in ("audit/", "great_expectations/", "pyspark/"):
        at = file.rfind("/" + root)
        if at >= 0:
            file = file[at + 1 :]
            break
    return f"{file}:{match['line']}"


def breakdown(items: Iterable[dict[str, Any]]) -> tuple[dict[str, Site], int, int]:
    """Per call site figures, the application's wall time and the time no job was running (ms)."""
    sites: dict[str, Site] = defaultdict(Site)
    job_site: dict[int, str] = {}
    stage_site: dict[int, str] = {}
    job_start: dict[int, int] = {}
    intervals: list[tuple[int, int]] = []
    app_start = app_end = 0
    for event in items:
        kind = event.get("Event")
        if kind == "SparkListenerApplicationStart":
            app_start = int(event["Timestamp"])
        elif kind == "SparkListenerApplicationEnd":
            app_end = int(event["Timestamp"])
        elif kind == "SparkListenerJobStart":
            job = int(event["Job ID"])
            props = event.get("Properties") or {}
            stages = event.get("Stage Infos") or []
            raw = props.get("callSite.short") or (stages[-1].get("Stage Name") if stages else "")
            # a stage the audit named (spark.session.stage) groups its jobs; else the line that started them
            described = props.get("spark.job.description")
            site = str(described) if described else short_site(str(raw))
            job_site[job], job_start[job] = site, int(event["Submission Time"])
            for stage in event.get("Stage IDs", []):
                stage_site[int(stage)] = site
            sites[site].jobs += 1
            sites[site].ops.add(str(raw).split(" at ")[0])
        elif kind == "SparkListenerJobEnd":
            job = int(event["Job ID"])
            if job in job_start:
                end = int(event["Completion Time"])
                sites[job_site[job]].wall_ms += end - job_start[job]
                intervals.append((job_start[job], end))
        elif kind == "SparkListenerTaskEnd":
            site = stage_site.get(int(event.get("Stage ID", -1)), "(unknown)")
            metrics = event.get("Task Metrics") or {}
            entry = sites[site]
            entry.tasks += 1
            entry.run_ms += int(metrics.get("Executor Run Time", 0))
            entry.deserialize_ms += int(metrics.get("Executor Deserialize Time", 0))
            entry.gc_ms += int(metrics.get("JVM GC Time", 0))
            entry.serialize_ms += int(metrics.get("Result Serialization Time", 0))
            entry.result_bytes += int(metrics.get("Result Size", 0))
    wall = max(0, app_end - app_start)
    return dict(sites), wall, max(0, wall - _covered(intervals))


def _covered(intervals: list[tuple[int, int]]) -> int:
    """Total length of the union of [start, end) intervals."""
    total, reach = 0, None
    for start, end in sorted(intervals):
        if reach is None or start > reach:
            total += end - start
            reach = end
        elif end > reach:
            total += end - reach
            reach = end
    return total


def render(sites: dict[str, Site], wall_ms: int, idle_ms: int) -> str:
    """The breakdown as a text table, the costliest call sites first."""
    rows = sorted(sites.items(), key=lambda item: -item[1].wall_ms)
    out = [
        f"application {wall_ms / 1000:.1f} s; driver outside any job {idle_ms / 1000:.1f} s; "
        f"{sum(s.jobs for s in sites.values())} jobs, {sum(s.tasks for s in sites.values())} tasks",
        f"{'call site':<48} {'jobs':>5} {'job wall s':>10} {'tasks':>6} {'run s':>7} {'deser s':>7} "
        f"{'gc s':>6} {'to driver MB':>12}",
    ]
    for site, s in rows:
        out.append(
            f"{site[-48:]:<48} {s.jobs:>5} {s.wall_ms / 1000:>10.1f} {s.tasks:>6} {s.run_ms / 1000:>7.1f} "
            f"{s.deserialize_ms / 1000:>7.1f} {s.gc_ms / 1000:>6.1f} {s.result_bytes / 2**20:>12.1f}"
        )
    return "\n".join(out)


def main(argv: list[str]) -> int:
    for name in argv:
        print(f"== {name}")
        print(render(*breakdown(events(Path(name)))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
