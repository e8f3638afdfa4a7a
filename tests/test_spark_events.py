"""The Spark event-log breakdown (benchmarks/spark_events.py) on a small written log."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.spark_events import breakdown, events, render, short_site


def _log(path: Path, items: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(item) + "\n" for item in items), encoding="utf-8")
    return path


def test_jobs_and_tasks_are_summed_by_call_site_and_idle_time_is_the_rest(tmp_path: Path) -> None:
    site = "collect at /venv/lib/python3.11/site-packages/audit/spark/checks.py:302"
    gx = "count at /venv/site-packages/great_expectations/execution_engine/sparkdf_execution_engine.py:1020"
    items: list[dict[str, object]] = [{"Event": "SparkListenerApplicationStart", "Timestamp": 1_000}]
    for job, (call, start, end) in enumerate([(site, 2_000, 3_000), (gx, 2_500, 4_000), (gx, 6_000, 6_500)]):
        items += [
            {"Event": "SparkListenerJobStart", "Job ID": job, "Submission Time": start, "Stage IDs": [job],
             "Properties": {"callSite.short": call}},
            {"Event": "SparkListenerTaskEnd", "Stage ID": job,
             "Task Metrics": {"Executor Run Time": 100, "Executor Deserialize Time": 10, "Result Size": 2048}},
            {"Event": "SparkListenerJobEnd", "Job ID": job, "Completion Time": end},
        ]  # fmt: skip
    items.append({"Event": "SparkListenerApplicationEnd", "Timestamp": 10_000})
    sites, wall, idle = breakdown(events(_log(tmp_path / "app", items)))
    ours, theirs = (
        sites["audit/spark/checks.py:302"],
        sites["great_expectations/execution_engine/sparkdf_execution_engine.py:1020"],
    )
    assert (ours.jobs, ours.wall_ms, ours.tasks, ours.run_ms) == (1, 1_000, 1, 100)
    assert (theirs.jobs, theirs.wall_ms, theirs.tasks, theirs.result_bytes) == (2, 2_000, 2, 4096)
    # jobs cover 2.0-4.0 s and 6.0-6.5 s of a 9 s application: 6.5 s without any job
    assert (wall, idle) == (9_000, 6_500)
    assert (
        render(sites, wall, idle)
        .splitlines()[0]
        .startswith("application 9.0 s; driver outside any job 6.5 s")
    )


def test_a_rolling_log_folder_is_read_in_part_order(tmp_path: Path) -> None:
    folder = tmp_path / "eventlog_v2_app-1"
    folder.mkdir()
    _log(folder / "events_10_app-1", [{"Event": "SparkListenerApplicationEnd", "Timestamp": 5}])
    _log(folder / "events_2_app-1", [{"Event": "SparkListenerApplicationStart", "Timestamp": 1}])
    assert [e["Event"] for e in events(folder)] == [
        "SparkListenerApplicationStart",
        "SparkListenerApplicationEnd",
    ]


def test_jobs_of_a_named_stage_are_grouped_by_its_name(tmp_path: Path) -> None:
    items: list[dict[str, object]] = [
        {"Event": "SparkListenerJobStart", "Job ID": 0, "Submission Time": 0, "Stage IDs": [0],
         "Properties": {"callSite.short": "count at /x/great_expectations/a.py:1", "spark.job.description": "suite: numbers"}},
        {"Event": "SparkListenerJobEnd", "Job ID": 0, "Completion Time": 40},
    ]  # fmt: skip
    sites, _, _ = breakdown(events(_log(tmp_path / "app", items)))
    assert sites["suite: numbers"].jobs == 1 and sites["suite: numbers"].wall_ms == 40


def test_call_sites_are_shown_from_the_package_root() -> None:
    assert (
        short_site("collect at /a/b/site-packages/audit/spark/extract.py:185") == "audit/spark/extract.py:185"
    )
    assert short_site("NativeMethodAccessorImpl.java:0") == "NativeMethodAccessorImpl.java:0"
