"""Validation in batches of rows gives exactly the results of one pass over each whole table.

Long tables are validated batch by batch so memory stays bounded; rules that look across rows (uniqueness,
``mostly``) run over the narrow whole-table frame. These tests force tiny batches and compare every result:
counts, failing ids in order, their seeds and their evidence.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from audit.cli import main
from audit.config import PARALLEL_ROWS, SERIAL_ROWS, worker_jobs
from audit.records import CheckResult
from audit.store import read_manifest
from audit.validate import Frames, run_suites
from audit.validate.suites import load_suites
from tests.conftest import SAMPLE, SUITES, run_args

DATA = Path(__file__).parent / "data" / "tamper"


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run over a text, an HTML and a JSON Lines seed."""
    root = tmp_path_factory.mktemp("batches")
    seeds = root / "seeds"
    seeds.mkdir()
    shutil.copy(SAMPLE, seeds / SAMPLE.name)
    for name in ("www.sciencealert.com.nasa-finds-water-plumes.html.gz", "two_articles.jsonl"):
        shutil.copy(DATA / name, seeds / name)
    assert main(run_args(root, seeds, SUITES)) in (0, 1)
    return root


def _validate(tables: Path, batch_rows: int | None, jobs: int = 1) -> tuple[CheckResult, ...]:
    manifest = read_manifest(tables)
    frames = Frames(tables, Path(manifest["seeds_root"]), manifest, batch_rows=batch_rows)
    return run_suites(frames, load_suites(SUITES), jobs)


def _summary(results: tuple[CheckResult, ...]) -> list[tuple[object, ...]]:
    return [
        (
            r.rule_id,
            r.n_checked,
            r.error,
            [(f.record_id, f.seed_sha256, f.evidence) for f in r.findings],
        )
        for r in results
    ]


def test_tiny_batches_give_the_same_results(audited: Path) -> None:
    tables = audited / "tables"
    manifest = read_manifest(tables)
    frames = Frames(tables, Path(manifest["seeds_root"]), manifest, batch_rows=7)
    assert frames.n_batches("blocks") > 3  # the test really splits the long tables
    whole, batched = _validate(tables, None), _validate(tables, 7)
    assert _summary(batched) == _summary(whole)
    assert any(r.findings for r in whole)  # findings (with evidence) are compared, not only passes


def test_a_duplicate_id_in_another_batch_is_found(audited: Path, tmp_path: Path) -> None:
    tables = tmp_path / "tables"
    shutil.copytree(audited / "tables", tables)
    path = tables / "links.parquet"
    links = pq.read_table(path)
    first = links.slice(0, 1)
    pq.write_table(pa.concat_tables([links, first]), path)  # the first link again, in the last batch
    duplicate = first.column("link_id")[0].as_py()

    for batch_rows in (None, 2):
        results = {r.rule_id: r for r in _validate(tables, batch_rows)}
        assert duplicate in {f.record_id for f in results["link-id-unique"].findings}, batch_rows
    assert _summary(_validate(tables, 2)) == _summary(_validate(tables, None))


def test_suites_in_worker_processes_give_the_same_results_in_the_same_order(audited: Path) -> None:
    """Validation in two worker processes (a suite each at a time) equals validation in this process."""
    tables = audited / "tables"
    serial, parallel = _validate(tables, 7, jobs=1), _validate(tables, 7, jobs=2)
    assert [r.rule_id for r in parallel] == [r.rule_id for r in serial]
    assert _summary(parallel) == _summary(serial)
    assert [r.severity for r in parallel] == [r.severity for r in serial]


def test_workers_after_extraction_are_one_for_big_tables_unless_asked() -> None:
    """Validation and the report fork one worker per CPU for mid-sized runs; below SERIAL_ROWS table rows
    (a fork costs more than it saves) and past PARALLEL_ROWS (each worker would hold the run's results
    again) they stay in one process; an explicit --jobs is kept."""
    tiny = {"tables": {"numbers": {"n_rows": 10}, "links": {"n_rows": 5}}}
    mid = {"tables": {"blocks": {"n_rows": SERIAL_ROWS - 1}, "numbers": {"n_rows": 1}}}
    big = {"tables": {"blocks": {"n_rows": PARALLEL_ROWS}, "numbers": {"n_rows": 1}}}
    assert worker_jobs(None, tiny) == 1
    assert worker_jobs(None, mid) == (os.cpu_count() or 1)
    assert worker_jobs(None, big) == 1
    assert worker_jobs(3, big) == 3
    assert worker_jobs(2, tiny) == 2


def test_gx_context_does_not_write_its_config_for_each_data_source() -> None:
    """Adding and deleting a batch's data source makes a plain ephemeral GX context serialize its project
    config into its in-memory store each time; the audit's context writes nothing there and still
    validates."""
    import great_expectations as gx
    import pandas as pd

    from audit.validate.gx import gx_context

    def writes(context: Any) -> int:
        backend = context.variables.store._store_backend
        count, store = [0], backend.set

        def counted(*args: Any, **kwargs: Any) -> Any:
            count[0] += 1
            return store(*args, **kwargs)

        backend.set = counted
        asset = context.data_sources.add_pandas(name="p").add_dataframe_asset("t")
        batch = asset.add_batch_definition_whole_dataframe("all").get_batch(
            batch_parameters={"dataframe": pd.DataFrame({"a": [1, None]})}
        )
        result = batch.validate(gx.expectations.ExpectColumnValuesToNotBeNull(column="a"))
        assert result.result["unexpected_count"] == 1
        context.data_sources.delete("p")
        return count[0]

    assert writes(gx.get_context(mode="ephemeral")) > 0
    assert writes(gx_context()) == 0


def test_gx_does_not_hash_the_batches_it_validates() -> None:
    """GX's batch fingerprint (a hash of every row, read by nothing here) is off once the audit's context is
    made; the same frame given to a fresh GX process's batch gets one, so the setting is what stops it."""
    import subprocess
    import sys

    probe = (
        "import pandas as pd, great_expectations as gx\n"
        "from audit.validate.gx import gx_context\n"
        "context = gx_context() if {audit} else gx.get_context(mode='ephemeral')\n"
        "asset = context.data_sources.add_pandas(name='p').add_dataframe_asset('t')\n"
        "batch = asset.add_batch_definition_whole_dataframe('all').get_batch(\n"
        "    batch_parameters={{'dataframe': pd.DataFrame({{'a': [1, 2, 3]}})}})\n"
        "print('pandas_data_fingerprint' in batch.batch_markers)\n"
    )
    env = {**os.environ, "GX_ANALYTICS_ENABLED": "false"}

    def fingerprinted(audit: bool) -> str:
        code = probe.format(audit=audit)
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
        )
        return done.stdout.strip().splitlines()[-1]

    assert fingerprinted(audit=False) == "True"
    assert fingerprinted(audit=True) == "False"


def test_workers_validating_at_once_share_the_batch_budget(audited: Path) -> None:
    """Two workers each validate batches of half the rows one process would (memory stays bounded)."""
    tables = audited / "tables"
    manifest = read_manifest(tables)
    frames = Frames(tables, Path(manifest["seeds_root"]), manifest)
    alone = frames.batch_rows("articles")
    frames.share_batches(2)
    assert alone > 2_000 and abs(frames.batch_rows("articles") - alone // 2) <= 1


_VALUES_PROBE = """
import json, pandas as pd, great_expectations as gx
from audit.validate.gx import gx_context
context = gx_context() if {audit} else gx.get_context(mode="ephemeral")
frame = pd.DataFrame({{"a": [1, 2, None, 40, 50], "b": ["x", "y", "z", "x", "q"]}})
suite = gx.ExpectationSuite(name="s", expectations=[
    gx.expectations.ExpectColumnValuesToBeBetween(column="a", min_value=0, max_value=10),
    gx.expectations.ExpectColumnValuesToBeInSet(column="b", value_set=["x", "y"]),
    gx.expectations.ExpectColumnPairValuesToBeEqual(column_A="a", column_B="a"),
])
batch = (context.data_sources.add_pandas(name="p").add_dataframe_asset("t")
         .add_batch_definition_whole_dataframe("all").get_batch(batch_parameters={{"dataframe": frame}}))
out = {{}}
for name, fmt in {formats}.items():
    found = batch.validate(suite, result_format=fmt)
    out[name] = [[r.success, r.result] for r in found.results]
from great_expectations.expectations.registry import _registered_metrics
out["wrapped"] = sum(getattr(fn, "_audit_skips_unasked", False)
                     for d in _registered_metrics.values() for _, fn in d.get("providers", {{}}).values())
print(json.dumps(out, sort_keys=True, default=str))
"""


def test_gx_fetches_no_failing_values_when_none_are_asked_for() -> None:
    """With the audit's context, a result format asking for 0 failing values (COUNTS_ONLY) gives GX's own
    results without fetching them (the query costs a planned Spark job per rule); any other format still
    gets GX's values, so every result is the same as a fresh GX's."""
    import json
    import subprocess
    import sys

    from audit.validate.gx import COUNTS_ONLY

    formats = {
        "counts": COUNTS_ONLY,
        "basic": {"result_format": "BASIC"},
        "summary": {"result_format": "SUMMARY", "partial_unexpected_count": 2},
        "complete": {"result_format": "COMPLETE"},
    }
    env = {**os.environ, "GX_ANALYTICS_ENABLED": "false"}

    def results(audit: bool) -> dict[str, Any]:
        code = _VALUES_PROBE.format(audit=audit, formats=repr(formats))
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
        found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return found

    fresh, audits = results(audit=False), results(audit=True)
    assert fresh.pop("wrapped") == 0 and audits.pop("wrapped") > 50  # every engine's *.unexpected_values
    assert audits == fresh
    assert [success for success, _ in audits["counts"]] == [False, False, True]
    assert audits["basic"][0][1]["partial_unexpected_list"] == [40.0, 50.0]


def test_unasked_values_answer_empty_without_calling_gx() -> None:
    """The wrapped metric answers [] for a non-COMPLETE format asking for 0 values, and calls GX's own
    function for every other format; wrapping twice wraps once."""
    from audit.validate.gx import _unless_none_asked

    calls: list[dict[str, Any]] = []

    def provider(**kwargs: Any) -> list[int]:
        calls.append(kwargs)
        return [1]

    provider.metric_fn_type = "value"  # type: ignore[attr-defined]
    wrapped = _unless_none_asked(provider)
    assert wrapped.metric_fn_type == "value"
    none = {"result_format": {"result_format": "BASIC", "partial_unexpected_count": 0}}
    assert wrapped(metric_value_kwargs=none) == [] and not calls
    for fmt in (
        {"result_format": "BASIC", "partial_unexpected_count": 3},
        {"result_format": "BASIC"},
        {"result_format": "COMPLETE", "partial_unexpected_count": 0},
    ):
        assert wrapped(metric_value_kwargs={"result_format": fmt}) == [1]
    assert len(calls) == 3
