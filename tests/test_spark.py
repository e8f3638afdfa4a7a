"""The Spark engine (local mode) gives the pandas engine's verdicts and failing ids on the same seeds."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from audit.cli import main
from tests.conftest import GX_REJECTED, ROOT, SAMPLE, SUITES, break_first_expectation, key_pair
from tests.test_links_live import live_run  # noqa: F401  (its fixture: tables holding live link results)

pytestmark = [
    pytest.mark.spark,
    # pyspark leaves the local sockets of collect()/toArrow() to the garbage collector (py4j's design)
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


def _why_not_spark() -> str | None:
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (pip install 'news-audit[spark]')"
    from audit.spark.session import java_missing

    return java_missing()


_SKIP = _why_not_spark()
needs_spark = pytest.mark.skipif(_SKIP is not None, reason=f"Spark cannot run here: {_SKIP}")


def _mixed_seeds(directory: Path) -> Path:
    """Text, Latin-1, HTML (a derived text), empty, binary, an unreadable symlink and a duplicate."""
    directory.mkdir()
    for path in (ROOT / "tests" / "data" / "seeds").iterdir():
        shutil.copy(path, directory / path.name)
    shutil.copy(SAMPLE, directory / "sample.txt")
    shutil.copy(SAMPLE, directory / "sample_copy.txt")
    shutil.copy(ROOT / "tests" / "data" / "report" / "seeds" / "xss.html", directory / "page.html")
    os.symlink(directory / "missing-target", directory / "dangling.txt")
    return directory


def _audit(out: Path, command: str, *args: str) -> int:
    return main([command, *args, "--report", str(out / f"report-{command}"), "--suites", str(SUITES)])


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    """One local Spark session for the module; the CLI calls reuse it instead of starting their own."""
    if _SKIP is not None:
        pytest.skip(f"Spark cannot run here: {_SKIP}")
    from audit.spark.session import spark_session

    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    with spark_session("local[2]") as session:
        yield session


# the Spark engine as it runs by default (small tables' suites on the driver), with every suite on Spark,
# and with the short tables on the driver and the longer ones on Spark
_SPARK_VARIANTS = {"spark": None, "spark-gx": "0", "spark-mixed": "12"}


@contextlib.contextmanager
def _driver_rows(spark: Any, value: str | None) -> Iterator[None]:
    """The session's spark.audit.driverValidationRows set to value (None: the default) for a block."""
    from audit.spark.checks import DRIVER_ROWS_CONF

    if value is None:
        yield
        return
    spark.conf.set(DRIVER_ROWS_CONF, value)
    try:
        yield
    finally:
        spark.conf.unset(DRIVER_ROWS_CONF)


@contextlib.contextmanager
def _where_suites_run(out: dict[str, Any], variant: str) -> Iterator[None]:
    """Record the tables whose suites a run validates on the driver and those it validates on Spark."""
    from audit.spark import checks

    where: dict[str, set[str]] = {"driver": set(), "spark": set()}
    out.setdefault("where", {})[variant] = where
    on_driver, on_spark = checks.run_suite, checks._outcomes

    def driver(context: Any, frames: Any, suite: Any) -> Any:
        where["driver"].add(suite.table)
        return on_driver(context, frames, suite)

    def spark(context: Any, frame: Any, suite: Any, index: Any) -> Any:
        where["spark"].add(suite.table)
        return on_spark(context, frame, suite, index)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(checks, "run_suite", driver)
        patch.setattr(checks, "_outcomes", spark)
        yield


@contextlib.contextmanager
def _tables_read_again(out: dict[str, Any], key: str) -> Iterator[None]:
    """Record the tables whose rows validation reads back from their files for the provenance columns."""
    from audit.spark import checks

    seen: set[str] = set()
    out.setdefault("read again", {})[key] = seen
    real = checks.provenance_frames

    def recording(tables: Any, *args: Any, **kwargs: Any) -> Any:
        seen.update(tables)
        return real(tables, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(checks, "provenance_frames", recording)
        yield


@pytest.fixture(scope="module")
def runs(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Both engines (Spark in both its validation modes) run on the same seeds, then validate after one
    seed byte is changed."""
    base = tmp_path_factory.mktemp("engines")
    seeds = _mixed_seeds(base / "seeds")
    private, public = key_pair(base)
    out: dict[str, Any] = {"seeds": seeds, "public_key": public}
    for variant in ("pandas", *_SPARK_VARIANTS):
        d = base / variant
        tables = d / "tables"
        out[variant] = d
        with (
            _driver_rows(spark, _SPARK_VARIANTS.get(variant)),
            _where_suites_run(out, variant),
            _tables_read_again(out, f"{variant}-run"),
        ):
            out[f"{variant}-run"] = _audit(
                d, "run", str(seeds), "--tables", str(tables), "--jobs", "1",
                "--engine", "pandas" if variant == "pandas" else "spark", "--sign-key", str(private),
            )  # fmt: skip
    data = bytearray((seeds / "sample.txt").read_bytes())
    data[200] ^= 0x01
    (seeds / "sample.txt").chmod(0o644)
    (seeds / "sample.txt").write_bytes(bytes(data))
    for variant in ("pandas", *_SPARK_VARIANTS):
        tables = out[variant] / "tables"
        with (
            _driver_rows(spark, _SPARK_VARIANTS.get(variant)),
            _tables_read_again(out, f"{variant}-validate"),
        ):
            out[f"{variant}-validate"] = _audit(
                out[variant], "validate", "--tables", str(tables), "--reextract", "all",
                "--engine", "pandas" if variant == "pandas" else "spark",
            )  # fmt: skip
    return out


def _results(out: Path, command: str) -> dict[str, Any]:
    return dict(json.loads((out / f"report-{command}" / "results.json").read_text(encoding="utf-8")))


def _projection(results: dict[str, Any]) -> tuple[str, list[tuple[str, bool, list[str]]]]:
    rules = sorted((r["rule_id"], r["passed"], sorted(r["failed_ids"])) for r in results["rules"])
    return results["verdict"], rules


@needs_spark
@pytest.mark.parametrize("variant", _SPARK_VARIANTS)
def test_run_gives_the_same_verdict_and_failing_ids(runs: dict[str, Any], variant: str) -> None:
    """`run --engine spark` exits as the pandas engine does, with the same verdict and failing ids per rule,
    whether the suites run on the driver or on Spark."""
    assert runs[f"{variant}-run"] == runs["pandas-run"] == 1  # the mixed seeds have critical findings
    pandas, spark = _results(runs["pandas"], "run"), _results(runs[variant], "run")
    assert _projection(spark) == _projection(pandas)
    assert any(not passed for _, passed, _ in _projection(pandas)[1])


@needs_spark
@pytest.mark.parametrize("variant", _SPARK_VARIANTS)
def test_findings_carry_the_same_evidence(runs: dict[str, Any], variant: str) -> None:
    """Each rule's result, findings and evidence included, is the same whichever engine produced it."""
    pandas, spark = _results(runs["pandas"], "run"), _results(runs[variant], "run")
    by_rule = {r["rule_id"]: r for r in pandas["rules"]}
    assert {r["rule_id"]: r for r in spark["rules"]} == by_rule


@needs_spark
def test_small_tables_are_validated_on_the_driver_unless_set_to_zero(runs: dict[str, Any]) -> None:
    """At the default setting every suite of a small run is judged on the driver (no GX query on Spark);
    at 0 every suite, the table of tables too, runs through GX's Spark datasource."""
    where = runs["where"]
    assert where["spark"]["spark"] == set() and where["spark-gx"]["driver"] == set()
    assert where["spark"]["driver"] == where["spark-gx"]["spark"]
    assert {"tables", "numbers", "links", "seeds"} <= where["spark"]["driver"]
    mixed = where["spark-mixed"]
    assert {"tables", "seeds"} <= mixed["driver"] and {"numbers", "blocks"} <= mixed["spark"]


@needs_spark
def test_a_run_checks_its_rows_in_the_tasks_that_write_them(runs: dict[str, Any]) -> None:
    """`run` adds the provenance columns to every seeded table's rows in the tasks that write them, so
    validation reads back only link_checks (no seed to check); `validate` reads every table again."""
    from audit.store import SPECS

    for variant in _SPARK_VARIANTS:
        assert runs["read again"][f"{variant}-run"] == {"link_checks"}
        assert runs["read again"][f"{variant}-validate"] == set(SPECS)


@needs_spark
def test_a_table_changed_after_it_was_written_is_read_again(
    spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows checked as they were written are used only while every table is the one written: when a
    table's digest no longer matches the manifest, validation reads the tables again (each row's digest
    checked) and the table's own rule fails."""
    import dataclasses

    from audit.spark import checks
    from audit.store import SPECS

    (tmp_path / "seeds").mkdir()
    shutil.copy(SAMPLE, tmp_path / "seeds" / "sample.txt")
    real = checks.table_facts

    def numbers_changed(*args: Any, **kwargs: Any) -> Any:
        return tuple(
            dataclasses.replace(f, sha256_ok=False) if f.table == "numbers" else f
            for f in real(*args, **kwargs)
        )

    monkeypatch.setattr(checks, "table_facts", numbers_changed)
    seen: dict[str, Any] = {}
    with _tables_read_again(seen, "run"):
        code = _audit(
            tmp_path,
            "run",
            str(tmp_path / "seeds"),
            "--tables",
            str(tmp_path / "tables"),
            "--engine",
            "spark",
        )
    assert code == 1
    assert seen["read again"]["run"] == set(SPECS)
    failed = {r["rule_id"]: r["failed_ids"] for r in _results(tmp_path, "run")["rules"]}
    assert failed["table-hash-matches-manifest"] == ["numbers"]


@needs_spark
def test_tables_hold_the_same_rows_in_the_same_order(runs: dict[str, Any]) -> None:
    """Spark's Parquet datasets read back to exactly the pandas engine's tables."""
    from audit.store import SPECS, read_table

    for name in SPECS:
        pandas = read_table(runs["pandas"] / "tables", name)
        spark = read_table(runs["spark"] / "tables", name)
        assert spark.equals(pandas), name
    assert (runs["spark"] / "tables" / "numbers.parquet").is_dir()


@needs_spark
def test_manifest_differs_only_in_table_digests_and_run_times(runs: dict[str, Any]) -> None:
    """manifest.json has the pandas engine's content but for each table's sha256 and the run's times."""

    def comparable(engine: str) -> dict[str, Any]:
        manifest = json.loads((runs[engine] / "tables" / "manifest.json").read_text(encoding="utf-8"))
        for entry in manifest["tables"].values():
            entry.pop("sha256")
        manifest.pop("run")
        return dict(manifest)

    assert comparable("spark") == comparable("pandas")
    seeds = comparable("spark")["seeds"]
    assert [s["reason"] for s in seeds if s["path"] == "sample_copy.txt"] == ["duplicate"]


@needs_spark
def test_both_engines_sign_the_manifest_with_sign_key(runs: dict[str, Any]) -> None:
    """Regression: `run --engine spark --sign-key` signed nothing; each engine's TABLES/manifest.sig now verifies."""
    from audit.signing import check_signature

    for engine in ("pandas", "spark"):
        check_signature(runs[engine] / "tables", runs["public_key"])


@needs_spark
def test_dataset_digest_is_over_part_file_digests_in_name_order(runs: dict[str, Any]) -> None:
    """A dataset's recorded sha256 is sha256 of "<part sha256>\\n" lines in part-name order (docs/spark.md, Table digest)."""
    tables = runs["spark"] / "tables"
    manifest = json.loads((tables / "manifest.json").read_text(encoding="utf-8"))
    for name, entry in manifest["tables"].items():
        parts = sorted(p for p in (tables / f"{name}.parquet").iterdir() if not p.name.startswith((".", "_")))
        assert parts, name
        lines = "".join(hashlib.sha256(p.read_bytes()).hexdigest() + "\n" for p in parts)
        assert entry["sha256"] == hashlib.sha256(lines.encode()).hexdigest(), name


@needs_spark
@pytest.mark.parametrize("variant", _SPARK_VARIANTS)
def test_changed_seed_byte_is_caught_by_both_engines(runs: dict[str, Any], variant: str) -> None:
    """After a seed byte changes, `validate --engine spark` names the same failing records as pandas."""
    assert runs[f"{variant}-validate"] == runs["pandas-validate"] == 1
    pandas, spark = _results(runs["pandas"], "validate"), _results(runs[variant], "validate")
    assert _projection(spark) == _projection(pandas)
    failed = {r["rule_id"]: r["failed_ids"] for r in spark["rules"]}
    assert "sample.txt" in failed["seed-hash-matches"]
    # every seed extracted again, in Spark tasks as in the walk: the changed seed's rows are not its rows now
    checked = {r["rule_id"]: r["n_checked"] for r in spark["rules"] if r["rule_id"].endswith("reextraction")}
    assert checked == {r["rule_id"]: r["n_checked"] for r in pandas["rules"] if r["rule_id"] in checked}
    assert len(checked) == 6 and checked["block-matches-reextraction"] > 0
    assert failed["block-matches-reextraction"]


def test_spark_engine_without_pyspark_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--engine spark without pyspark exits 2 and says how to install it."""
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pyspark" else real(name, *a)
    )
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(SAMPLE, seeds / SAMPLE.name)
    assert _audit(tmp_path, "run", str(seeds), "--tables", str(tmp_path / "t"), "--engine", "spark") == 2
    err = capsys.readouterr().err
    assert "pip install 'news-audit[spark]'" in err
    assert not (tmp_path / "t").exists()


def test_task_workers_start_with_the_task_code_imported(spark: Any) -> None:
    """Workers are forked from the audit's daemon, which imported the task modules: a task of a module
    that does not import them finds them loaded (no import paid per worker)."""
    from tests.test_spark_tasks import modules_loaded

    assert spark.conf.get("spark.python.daemon.module") == "audit.spark.daemon"
    found = spark.range(2, numPartitions=2).mapInArrow(modules_loaded, "loaded boolean").collect()
    assert [row.loaded for row in found] == [True, True]


def test_starting_workers_runs_a_python_task_per_core(spark: Any) -> None:
    """start_workers runs a job of one Python task per core, so every executor starts its daemon at once."""
    from audit.spark.session import start_workers

    tracker = spark.sparkContext.statusTracker()
    before = set(tracker.getJobIdsForGroup())
    start_workers(spark)
    jobs = set(tracker.getJobIdsForGroup()) - before
    stages = [tracker.getStageInfo(s) for j in jobs for s in tracker.getJobInfo(j).stageIds]
    assert jobs
    assert max(s.numTasks for s in stages if s is not None) == spark.sparkContext.defaultParallelism


def test_live_checks_get_the_urls_the_pandas_engine_sends(spark: Any, tmp_path: Path) -> None:
    """--links live: the Spark engine sends the checker what the pandas engine does, IP literals included
    (they fail the offline checks only for having no registrable domain), each URL once."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from audit.spark.extract import live_candidates
    from audit.write import checkable_urls

    batch = pa.RecordBatch.from_pydict(
        {
            "url": ["https://example.com/a", "http://10.0.0.1/x", "http://[::1]/y", "htps://bad", "http://localhost/z",
                    "https://example.com/a"],
            "syntax_ok": [True, False, False, False, False, True],
            "syntax_error_code": [None, "no-registrable-domain", "no-registrable-domain", "scheme",
                                  "no-registrable-domain", None],
            "host": ["example.com", "10.0.0.1", "[::1]", None, "localhost", "example.com"],
        }
    )  # fmt: skip
    pq.write_table(pa.Table.from_batches([batch]), tmp_path / "links.parquet")
    expected = sorted(set(checkable_urls(batch)))
    assert expected == ["http://10.0.0.1/x", "http://[::1]/y", "https://example.com/a"]
    assert live_candidates(spark, tmp_path / "links.parquet") == expected


def test_a_suite_gx_rejects_stops_a_spark_run_before_anything_is_written(
    spark: Any, tmp_path: Path, suites_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Suites are built (GX imported) while the session starts: kwargs GX rejects still end the run with
    exit 2 and the same one line, with no tables and no report."""
    break_first_expectation(suites_dir)
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(SAMPLE, seeds / SAMPLE.name)
    args = ["run", str(seeds), "--tables", str(tmp_path / "t"), "--report", str(tmp_path / "report")]
    assert main([*args, "--suites", str(suites_dir), "--engine", "spark"]) == 2
    err = capsys.readouterr().err
    assert GX_REJECTED in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "t").exists() and not (tmp_path / "report").exists()
    assert spark.sparkContext._jsc is not None  # the test's own session is still running


@needs_spark
def test_gx_imports_no_pyspark_module_the_session_thread_has_not() -> None:
    """`run --engine spark` imports GX in a thread while the main one starts the session; after
    import_what_gx_imports, importing GX loads no pyspark or py4j module, so the two threads never import
    the same one at once."""
    code = (
        "import sys; from audit.spark.session import import_what_gx_imports; import_what_gx_imports(); "
        "spark = lambda: {m for m in sys.modules if m.split('.')[0] in ('pyspark', 'py4j')}; before = spark(); "
        "from audit.lazy import defer_unused_imports; defer_unused_imports(); import great_expectations; "
        "print(sorted(spark() - before), len(before) > 50)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GX_ANALYTICS_ENABLED": "false"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert done.stdout.strip().splitlines()[-1] == "[] True", done.stderr[-2000:]


@pytest.mark.skipif(importlib.util.find_spec("pyspark") is None, reason="pyspark is not installed")
def test_a_spark_run_that_cannot_start_leaves_the_last_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No Java: `run --engine spark` exits 2 with the reason in one line, writes no tables, and the report
    of the last run is still there (it is retired only once the session has started)."""
    from audit.spark import session

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(SAMPLE, seeds / SAMPLE.name)
    report = tmp_path / "report"
    args = ["run", str(seeds), "--report", str(report), "--suites", str(SUITES), "--jobs", "1"]
    assert main([*args, "--tables", str(tmp_path / "t1")]) == 1  # the pandas engine's report
    before = (report / "results.json").read_bytes()
    capsys.readouterr()
    monkeypatch.delenv("PYSPARK_GATEWAY_PORT", raising=False)
    monkeypatch.setattr(session, "java_missing", lambda: "Spark needs Java 17 or newer: no java on PATH.")
    assert main([*args, "--tables", str(tmp_path / "t2"), "--engine", "spark"]) == 2
    err = capsys.readouterr().err
    assert "--engine spark: Spark needs Java 17" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "t2").exists()
    assert (report / "results.json").read_bytes() == before


@needs_spark
@pytest.mark.parametrize("setting", ["spark.audit.driverValidationRows", "spark.audit.seedsPerTask"])
def test_a_bad_engine_setting_stops_the_run_before_anything_is_written(
    spark: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], setting: str
) -> None:
    """A setting of the engine's own that is not a whole number exits 2 naming it, with neither tables nor
    a report written."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(SAMPLE, seeds / SAMPLE.name)
    spark.conf.set(setting, "lots")
    try:
        code = _audit(tmp_path, "run", str(seeds), "--tables", str(tmp_path / "t"), "--engine", "spark")
    finally:
        spark.conf.unset(setting)
    assert code == 2
    err = capsys.readouterr().err
    assert f"{setting}='lots': not a whole number" in err and "Traceback" not in err
    assert not (tmp_path / "t").exists() and not (tmp_path / "report-run").exists()


@needs_spark
@pytest.mark.netns
@pytest.mark.parametrize("variant", _SPARK_VARIANTS)
def test_links_are_judged_with_their_live_results_in_every_mode(
    spark: Any, request: pytest.FixtureRequest, tmp_path: Path, variant: str
) -> None:
    """Tables with live link results (a --links live run on a loopback server): `validate --engine spark`
    joins them to the links as the pandas engine does, whether links are judged on the driver or on Spark."""
    tables = Path(request.getfixturevalue("live_run")) / "run" / "tables"
    assert pq.read_metadata(tables / "link_checks.parquet").num_rows > 0
    for engine in ("pandas", "spark"):
        (tmp_path / engine).mkdir()
    pandas = _audit(tmp_path / "pandas", "validate", "--tables", str(tables), "--reextract", "none")
    with _driver_rows(spark, _SPARK_VARIANTS[variant]):
        on_spark = _audit(
            tmp_path / "spark",
            "validate",
            "--tables",
            str(tables),
            "--reextract",
            "none",
            "--engine",
            "spark",
        )
    assert on_spark == pandas == 1
    expected, found = _results(tmp_path / "pandas", "validate"), _results(tmp_path / "spark", "validate")
    assert _projection(found) == _projection(expected)
    failed = {r["rule_id"]: r["failed_ids"] for r in found["rules"]}
    assert failed["link-article-not-broken"]  # a live result (404), not an offline fact


@needs_spark
def test_a_spark_run_takes_unchanged_seeds_from_the_extraction_cache(spark: Any, tmp_path: Path) -> None:
    """`run --engine spark --cache DIR`: the cache does for each seed what it does for the pandas engine
    (the same counts in manifest.json, a second run after one seed's edit taking the rest from it), and the
    tables of a run from the cache are byte for byte those of a run without it."""
    seeds = _mixed_seeds(tmp_path / "seeds")

    def run(name: str, engine: str, *cache: str) -> dict[str, Any]:
        out = tmp_path / name
        out.mkdir()
        args = ("--tables", str(out / "tables"), "--engine", engine, "--jobs", "1", *cache)
        assert _audit(out, "run", str(seeds), *args) == 1  # the mixed seeds have critical findings
        return dict(json.loads((out / "tables" / "manifest.json").read_text(encoding="utf-8")))

    first = {e: run(f"{e}-1", e, "--cache", str(tmp_path / f"cache-{e}")) for e in ("pandas", "spark")}
    (seeds / "sample.txt").chmod(0o644)
    with (seeds / "sample.txt").open("a", encoding="utf-8") as f:
        f.write("\nOne line more.\n")
    second = {e: run(f"{e}-2", e, "--cache", str(tmp_path / f"cache-{e}")) for e in ("pandas", "spark")}
    fresh = run("spark-fresh", "spark", "--no-cache")
    assert first["spark"]["run"]["cache"] == first["pandas"]["run"]["cache"]
    assert first["spark"]["run"]["cache"]["written"] > 3
    assert second["spark"]["run"]["cache"] == second["pandas"]["run"]["cache"]
    # every entry the first run stored is used again (sample_copy.txt still holds the old bytes); only the
    # edited seed is extracted and stored
    assert second["spark"]["run"]["cache"]["hits"] == first["spark"]["run"]["cache"]["written"]
    assert second["spark"]["run"]["cache"]["written"] == 1
    assert "cache" not in fresh["run"]
    assert {n: t["sha256"] for n, t in second["spark"]["tables"].items()} == {
        n: t["sha256"] for n, t in fresh["tables"].items()
    }


@needs_spark
def test_a_live_spark_run_records_each_hosts_statistics(spark: Any, tmp_path: Path) -> None:
    """With --links live, manifest.json records each host's pacing statistics, as the pandas engine's does
    (the checker here a stand-in: no network)."""
    import dataclasses

    from audit.config import RunConfig
    from audit.linkcheck import LiveChecks
    from audit.plan import plan_run
    from audit.spark.extract import write_tables_spark
    from audit.spark.parts import work_folder

    (tmp_path / "seeds").mkdir()
    shutil.copy(SAMPLE, tmp_path / "seeds" / "sample.txt")
    config = RunConfig(
        seeds_dir=tmp_path / "seeds", tables_dir=tmp_path / "tables", report_dir=tmp_path / "report",
        suites_dir=SUITES, waivers_path=None, policy_path=SUITES / "number_policy.json", engine="spark",
    )  # fmt: skip
    asked: list[list[str]] = []

    def checker(urls: list[str]) -> LiveChecks:
        asked.append(urls)
        return LiveChecks(results={}, hosts=({"host": "example.com", "urls": len(urls)},))

    plan = dataclasses.replace(plan_run(config), check_links=checker)
    with work_folder(config.tables_dir) as work:
        write_tables_spark(spark, config.tables_dir, config.seeds_dir, config.limits, plan, work)
    manifest = json.loads((config.tables_dir / "manifest.json").read_text(encoding="utf-8"))
    assert len(asked) == 1
    assert manifest["run"]["link_hosts"] == [{"host": "example.com", "urls": len(asked[0])}]


@needs_spark
def test_the_seed_timeout_holds_in_spark_tasks(spark: Any, tmp_path: Path) -> None:
    """A seed whose extraction runs past --seed-timeout is rejected as "timeout" in its Spark task, as in
    the local engine's workers, and the other seeds are extracted: a hostile input does not hang the run."""
    from audit.store import read_table
    from tests.test_robustness import _slow_text

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(SAMPLE, seeds / "a_sample.txt")
    (seeds / "b_huge.txt").write_text(_slow_text(), encoding="utf-8")
    tables = tmp_path / "tables"
    _audit(tmp_path, "run", str(seeds), "--tables", str(tables), "--engine", "spark", "--seed-timeout", "0.5")
    rows = {r["path"]: r for r in read_table(tables, "seeds").to_pylist()}
    assert rows["a_sample.txt"]["status"] == "extracted"
    assert (rows["b_huge.txt"]["status"], rows["b_huge.txt"]["reason"]) == ("rejected", "timeout")
    assert "0.5-second limit" in rows["b_huge.txt"]["detail"]


@needs_spark
def test_spark_tables_given_to_the_local_engine_or_publish_are_a_usage_error(
    runs: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The local engine's `validate` and `publish` read single-file tables: given the Spark engine's dataset
    directories, each exits 2 naming the table and what to do, instead of calling the table corrupt."""
    tables = runs["spark"] / "tables"
    capsys.readouterr()
    assert _audit(tmp_path, "validate", "--tables", str(tables), "--reextract", "none") == 2
    err = capsys.readouterr().err
    assert "seeds.parquet: a Parquet dataset" in err and "--engine spark" in err and "corrupt" not in err
    report = runs["spark"] / "report-run"
    code = main(["publish", "--tables", str(tables), "--report", str(report), "--to", str(tmp_path / "releases"),
                 "--suites", str(SUITES)])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "seeds.parquet: a Parquet dataset" in err and "publish reads single-file tables only" in err
    assert not (tmp_path / "releases").exists()
