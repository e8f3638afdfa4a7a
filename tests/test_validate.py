"""The validate package's parts on their own: GX on a small real frame, outcomes -> CheckResult records, and
the ``tables`` frame's facts; and the rule that only ``validate/gx.py`` touches Great Expectations."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from audit.errors import SuiteError
from audit.records import Severity, TableFacts
from audit.store import MANIFEST_KEY, SPECS
from audit.validate import results
from audit.validate.facts import TableFile, embedded_core, facts_frame, read_table_file, table_facts
from audit.validate.frames import ROW_INDEX, prepared
from audit.validate.gx import (
    COUNTS_ONLY,
    Outcome,
    build_gx_suite,
    gx_context,
    naming_rows,
    run_gx_suite,
)
from audit.validate.results import Tally, add_outcome, check_result, result_of
from audit.validate.suites import Rule
from tests.conftest import ROOT

SUITE = {
    "name": "people",
    "expectations": [
        {
            "type": "expect_column_values_to_not_be_null",
            "kwargs": {"column": "name"},
            "meta": {"rule_id": "name-present", "description": "Every person has a name."},
            "severity": "critical",
        },
        {
            "type": "expect_column_values_to_be_in_set",
            "kwargs": {"column": "role", "value_set": ["author", "editor"]},
            "meta": {"rule_id": "role-known", "description": "Roles are known."},
            "severity": "warning",
        },
        {
            "type": "expect_table_row_count_to_be_between",
            "kwargs": {"min_value": 10},
            "meta": {"rule_id": "enough-people", "description": "At least ten people."},
            "severity": "info",
        },
    ],
}


def _rule(rule_id: str, table: str = "people") -> Rule:
    return Rule(
        rule_id=rule_id,
        table=table,
        severity=Severity.WARNING,
        expectation_type="expect_column_values_to_not_be_null",
        kwargs={"column": "name"},
        description="",
        index=0,
    )


@pytest.fixture
def people() -> pd.DataFrame:
    """Five people: the second has no name, the second and fourth an unknown role."""
    return pd.DataFrame(
        {
            "person_id": ["p1", "p2", "p3", "p4", "p5"],
            "seed_sha256": ["a" * 64, "b" * 64, "a" * 64, "c" * 64, "a" * 64],
            "name": ["Ann", None, "Bo", "Cy", "Di"],
            "role": ["author", "chef", "editor", "pilot", "author"],
            "body": ["long text"] * 5,
        }
    )


# --- gx.py on a real frame ---------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_gx_outcomes_name_the_failing_rows_by_position(people: pd.DataFrame) -> None:
    """A suite run on a pandas frame gives one Outcome per rule_id: counts, and the failing rows' positions
    when the result format names them; a table-level rule fails with no rows to name."""
    suite = build_gx_suite(Path("people.json"), SUITE)
    frame = prepared(people[["name", "role"]], categories={"role"})
    found = run_gx_suite(gx_context(), frame, suite, name="people", result_format=naming_rows([ROW_INDEX]))
    assert set(found) == {"name-present", "role-known", "enough-people"}
    assert found["name-present"].failing == {ROW_INDEX: [1]} and found["name-present"].element_count == 5
    assert list(found["role-known"].failing[ROW_INDEX]) == [1, 3]
    table_rule = found["enough-people"]
    assert not table_rule.success and table_rule.error is None and table_rule.failing == {}
    assert table_rule.element_count is None  # GX counts no rows for a table-level rule


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_gx_counts_only_and_rows_with_their_values(people: pd.DataFrame) -> None:
    """COUNTS_ONLY names no rows; a format with the failing values (one dict per row, as on Spark) is read
    into the same columns, by id."""
    suite = build_gx_suite(Path("people.json"), SUITE)
    context = gx_context()
    counts = run_gx_suite(context, people, suite, name="counts", result_format=COUNTS_ONLY)
    assert not counts["role-known"].success and counts["role-known"].failing == {}
    by_id = run_gx_suite(
        context,
        people,
        suite,
        name="ids",
        result_format=naming_rows(["person_id", "seed_sha256"], with_values=True),
    )
    assert by_id["role-known"].failing == {"person_id": ["p2", "p4"], "seed_sha256": ["b" * 64, "c" * 64]}
    assert by_id["name-present"].passed is False and counts["name-present"].passed is False


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_a_rule_that_raises_is_an_outcome_with_its_error(people: pd.DataFrame) -> None:
    """A rule GX cannot run (its column is not in the frame) comes back as an error, not as a pass."""
    suite = build_gx_suite(Path("people.json"), SUITE)
    found = run_gx_suite(
        gx_context(), people[["person_id", "role"]], suite, name="p", result_format=COUNTS_ONLY
    )
    assert found["name-present"].error and not found["name-present"].passed
    assert 'The column "name" in BatchData does not exist' in found["name-present"].error
    assert found["role-known"].error is None


def test_the_gx_context_shows_no_progress_bars() -> None:
    """The audit's context turns GX's progress bars off (they would print into the CLI's output)."""
    assert gx_context().variables.progress_bars.globally is False


def test_a_suite_gx_would_silently_shrink_is_refused() -> None:
    """An expectation GX cannot build is a SuiteError naming the file and its index, not a dropped check."""
    bad = {**SUITE, "expectations": [*SUITE["expectations"], {**SUITE["expectations"][0], "kwargs": {}}]}
    with pytest.raises(
        SuiteError, match=r"people\.json: /expectations/3: expect_column_values_to_not_be_null: .* field required .*\. Fix its kwargs\.$"
    ):
        build_gx_suite(Path("people.json"), bad)


def test_only_the_gx_module_imports_great_expectations() -> None:
    """Great Expectations is confined to audit/validate/gx.py: no other module of the package imports it,
    at the top or inside a function."""
    importing = re.compile(r"^\s*(import great_expectations|from great_expectations)", re.MULTILINE)
    found = sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "audit").rglob("*.py")
        if importing.search(path.read_text())
    )
    assert found == ["audit/validate/gx.py"]


def test_the_package_face_resolves_its_names_whichever_module_comes_first() -> None:
    """Regression guard for the import order: audit.validate.suites imports validate.gx, and validate's runner
    imports audit.validate.suites; loading either first works, and every name in audit.validate.__all__ resolves."""
    code = (
        "import sys; first = sys.argv[1]; import importlib; importlib.import_module(first); "
        "import audit.validate as v; print(all(callable(getattr(v, n)) for n in v.__all__))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GX_ANALYTICS_ENABLED": "false"}
    for first in ("audit.validate.suites", "audit.validate.run", "audit.validate.gx", "audit.spark.checks"):
        done = subprocess.run([sys.executable, "-c", code, first], env=env, capture_output=True, text=True)
        assert done.stdout.strip() == "True", (first, done.stderr[-2000:])


# --- results.py: outcomes -> records ---------------------------------------------------------------------


def test_batches_add_up_to_one_result_with_evidence(people: pd.DataFrame) -> None:
    """Two batches' outcomes add their counts; each failing id is listed once, in order, with its seed and
    its row as evidence (bulky columns and the row index left out)."""
    tally = Tally()
    first, second = people.iloc[:3].reset_index(drop=True), people.iloc[3:].reset_index(drop=True)
    add_outcome(
        tally,
        Outcome(rule_id="r", success=False, element_count=3, failing={ROW_INDEX: [1]}),
        first,
        "person_id",
    )
    add_outcome(
        tally,
        Outcome(rule_id="r", success=False, element_count=2, failing={ROW_INDEX: [0]}),
        second,
        "person_id",
    )
    done = result_of(_rule("r"), tally, {"p2": {"person_id": "p2", "extra": "stored"}})
    assert done.n_checked == 5 and not done.passed
    assert [(f.record_id, f.seed_sha256) for f in done.findings] == [("p2", "b" * 64), ("p4", "c" * 64)]
    assert done.findings[0].evidence == {
        "person_id": "p2",
        "seed_sha256": "b" * 64,
        "name": None,
        "role": "chef",
        "extra": "stored",
    }


def test_an_outcome_without_a_row_count_counts_the_frame(people: pd.DataFrame) -> None:
    """A passing outcome that counted nothing counts the frame's rows; one that raised is an error with no
    rows checked; a missing outcome is an error too."""
    tally = Tally()
    add_outcome(tally, Outcome(rule_id="r", success=True), people, "person_id")
    assert result_of(_rule("r"), tally, {}).n_checked == 5
    raised = check_result(_rule("r"), Outcome(rule_id="r", success=False, error="boom"), people, "person_id")
    assert raised.error == "boom" and raised.n_checked == 0 and not raised.findings
    missing = check_result(_rule("r"), None, people, "person_id")
    assert missing.error == "Great Expectations returned no result"


def test_a_table_level_failure_names_the_table() -> None:
    """Regression: a failed rule with no rows to name (a table-level rule, on Spark given no rows) has one
    finding, the table itself; it used to look its ids up in an empty frame and crash."""
    done = check_result(
        _rule("r", "numbers"), Outcome(rule_id="r", success=False), pd.DataFrame(), "number_id"
    )
    assert [f.record_id for f in done.findings] == ["table:numbers"]


def test_failing_ids_by_name_keep_their_order_and_evidence_is_bounded(
    people: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ids named by GX (the Spark way) come back in GX's order, once each; an id the frame does not hold
    is still a finding, without a seed; only the first EVIDENCE_LIMIT findings carry their row."""
    monkeypatch.setattr(results, "EVIDENCE_LIMIT", 1)
    outcome = Outcome(
        rule_id="r", success=False, element_count=5, failing={"person_id": ["p4", "p2", "p4", "p9"]}
    )
    done = check_result(_rule("r"), outcome, people, "person_id")
    assert [(f.record_id, f.seed_sha256) for f in done.findings] == [
        ("p4", "c" * 64),
        ("p2", "b" * 64),
        ("p9", None),
    ]
    assert [bool(f.evidence) for f in done.findings] == [True, False, False]


# --- facts.py: the tables frame ------------------------------------------------------------------------------


def _manifest(**extra: Any) -> dict[str, Any]:
    tables = {name: {"sha256": f"{name}-sha", "n_rows": 2} for name in SPECS}
    return {"tables": tables, "embedded_keys": ["tool"], "tool": {"name": "news-audit"}, **extra}


def test_table_facts_compare_each_file_with_the_manifest() -> None:
    """One row per table; the digest, the row count and the embedded manifests are each compared, whichever
    reader (a file, or a Spark dataset's part files) measured them."""
    manifest = _manifest()
    core = embedded_core(manifest)

    def read(path: Path) -> TableFile:
        name = path.name.removesuffix(".parquet")
        if name == "numbers":  # edited: another digest, a row more, one part file without the manifest
            return TableFile(sha256="other", n_rows=3, manifests=(core, None))
        if name == "links":  # no part file at all
            return TableFile(sha256="links-sha", n_rows=2, manifests=())
        return TableFile(sha256=f"{name}-sha", n_rows=2, manifests=(core, core))

    facts = {f.table: f for f in table_facts(Path("tables"), manifest, read=read)}
    assert list(facts) == list(SPECS)
    assert facts["seeds"] == TableFacts(
        table="seeds",
        sha256_expected="seeds-sha",
        sha256_actual="seeds-sha",
        n_rows_expected=2,
        n_rows_actual=2,
        sha256_ok=True,
        n_rows_ok=True,
        embedded_manifest_ok=True,
    )
    numbers = facts["numbers"]
    assert (numbers.sha256_ok, numbers.n_rows_ok, numbers.embedded_manifest_ok) == (False, False, False)
    assert not facts["links"].embedded_manifest_ok
    frame = facts_frame(tuple(facts.values()))
    assert frame["table"].tolist() == list(SPECS) and frame["sha256_ok"].tolist().count(False) == 1


def test_a_seed_list_unlike_its_digest_fails_every_embedded_manifest() -> None:
    """When manifest.json's seed list does not hash to the digest it records, no file's embedded manifest
    can be its own: embedded_manifest_ok is false everywhere."""
    manifest = _manifest(seeds=[{"path": "a.txt"}], seeds_sha256="0" * 64)
    assert embedded_core(manifest) is None
    facts = table_facts(Path("t"), manifest, read=lambda p: TableFile(sha256="x", n_rows=2, manifests=({},)))
    assert not any(f.embedded_manifest_ok for f in facts)


def test_a_parquet_file_is_read_from_its_bytes_and_footer(tmp_path: Path) -> None:
    """The pandas engine's reader: the file's sha256, its row count from the footer, its embedded manifest."""
    path = tmp_path / "t.parquet"
    table = pa.table({"a": [1, 2, 3]}).replace_schema_metadata({MANIFEST_KEY: json.dumps({"tool": "x"})})
    pq.write_table(table, path)
    found = read_table_file(path)
    assert found.n_rows == 3 and found.manifests == ({"tool": "x"},)
    assert found.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
