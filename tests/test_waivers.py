"""Waivers: a bad waivers file is a WaiversError naming its place; a waiver applies only while it holds."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from audit.errors import ConfigError, SuiteError, WaiversError
from audit.records import CheckResult, Finding, Severity, Waiver
from audit.waivers import apply_waivers, load_waivers

DATA = Path(__file__).parent / "data" / "robustness"
SEED = "a" * 64
TODAY = dt.date(2026, 12, 7)


def _item(**changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "rule_id": "article-has-publisher",
        "record_id": "a-0",
        "seed_sha256": SEED,
        "reason": "the publisher is named in the dataset card",
        "expires": "2030-01-01",
    }
    return {k: v for k, v in {**item, **changes}.items() if v is not None}


def _write(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "waivers.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_no_waivers_file_means_no_waivers() -> None:
    """No path is no waivers, not an error."""
    assert load_waivers(None) == ()


def test_a_valid_file_loads_every_waiver_with_its_date(tmp_path: Path) -> None:
    """Each item becomes a Waiver, its expiry a calendar date."""
    waivers = load_waivers(_write(tmp_path, {"waivers": [_item(), _item(record_id="a-1")]}))
    assert [(w.record_id, w.expires) for w in waivers] == [
        ("a-0", dt.date(2030, 1, 1)),
        ("a-1", dt.date(2030, 1, 1)),
    ]


@pytest.mark.parametrize(
    ("document", "place", "message"),
    [
        ({"waivers": [_item(reason=None)]}, "/waivers/0", r"'reason' is a required property\. Fix it"),
        (
            {"waivers": [_item(expires="2030-02-30")]},
            "/waivers/0/expires",
            r'"2030-02-30" is not a calendar date\. Use YYYY-MM-DD\.$',
        ),
        ({"waivers": [_item(), _item(seed_sha256="abc")]}, "/waivers/1/seed_sha256", r"'abc' does not match"),
        ({"waivers": [_item(expiry="2030-01-01")]}, "/waivers/0", r'unexpected\)\. Did you mean "expires"\?'),
        ({"waiver": []}, "/", r"'waivers' is a required property"),
    ],
    ids=["no-reason", "impossible-date", "bad-sha256", "misspelt-key", "no-list"],
)
def test_a_bad_waiver_names_its_place_as_a_json_pointer(
    tmp_path: Path, document: Any, place: str, message: str
) -> None:
    """A waiver that breaks the schema or holds an impossible date is a WaiversError at its JSON Pointer."""
    path = _write(tmp_path, document)
    with pytest.raises(WaiversError, match=message) as caught:
        load_waivers(path)
    assert caught.value.place == place and caught.value.path == path
    assert str(caught.value).startswith(f"{path}: {place}: ") and "\n" not in str(caught.value)


def test_a_waivers_file_that_is_not_json_names_the_line_and_column() -> None:
    """A syntax error is placed by line and column, the only place a file that does not parse has."""
    path = DATA / "waivers_syntax_error.json"
    with pytest.raises(WaiversError, match=r"invalid JSON: .*Fix the syntax there\.$") as caught:
        load_waivers(path)
    assert caught.value.place is not None and caught.value.place.startswith("line ")


@pytest.mark.parametrize("what", ["missing", "directory", "not-utf8"])
def test_an_unreadable_waivers_file_names_the_file_and_the_fix(tmp_path: Path, what: str) -> None:
    """A missing file, a directory or bytes that are not UTF-8 name the file; no place, the whole file is at fault."""
    path = tmp_path / "waivers.json"
    if what == "directory":
        path.mkdir()
    elif what == "not-utf8":
        path.write_bytes(b'{"waivers": ["caf\xe9"]}')
    expected = {
        "missing": "the waivers file does not exist.",
        "directory": "is a directory. Point it at the waivers file.",
        "not-utf8": "not UTF-8 text (byte 17). Save the waivers file as UTF-8 JSON.",
    }[what]
    with pytest.raises(WaiversError) as caught:
        load_waivers(path)
    assert str(caught.value) == f"{path}: {expected}" and caught.value.place is None


def test_a_bad_waivers_file_is_a_config_error_and_not_a_suite_error(tmp_path: Path) -> None:
    """Regression: a bad waivers file raised SuiteError; it is its own kind of ConfigError (exit 2)."""
    with pytest.raises(ConfigError) as caught:
        load_waivers(tmp_path / "nope.json")
    assert isinstance(caught.value, WaiversError) and not isinstance(caught.value, SuiteError)
    assert caught.value.exit_code == 2


def _waiver(**changes: Any) -> Waiver:
    fields: dict[str, Any] = {
        "rule_id": "number-has-source",
        "record_id": "n-1",
        "seed_sha256": SEED,
        "reason": "the source is named in the photo caption",
        "expires": TODAY,
    }
    return Waiver(**{**fields, **changes})


def _result(rule_id: str = "number-has-source", *records: str, seed: str | None = SEED) -> CheckResult:
    return CheckResult(
        rule_id=rule_id,
        table="numbers",
        severity=Severity.CRITICAL,
        expectation_type="expect_column_values_to_not_be_null",
        description="a number has a source",
        kwargs={},
        n_checked=10,
        findings=tuple(
            Finding(rule_id=rule_id, table="numbers", record_id=r, seed_sha256=seed) for r in records
        ),
    )


def test_a_matching_waiver_waives_its_finding_only() -> None:
    """A waiver on file for this rule, record and seed waives that finding (on its expiry day too), no other."""
    waiver = _waiver()
    (result,), lapsed = apply_waivers([_result("number-has-source", "n-1", "n-2")], [waiver], TODAY)
    assert lapsed == ()
    assert [(f.record_id, f.waived_by) for f in result.findings] == [("n-1", waiver), ("n-2", None)]
    assert (result.n_failed, result.n_waived, result.passed) == (1, 1, False)


@pytest.mark.parametrize(
    ("waiver", "why"),
    [
        (_waiver(expires=TODAY - dt.timedelta(days=1)), "expired on 2026-12-06"),
        (_waiver(record_id="n-9"), "no such finding in this run"),
        (_waiver(rule_id="number-is-plausible"), "no such finding in this run"),
        (_waiver(seed_sha256="b" * 64), f"the record's seed is now {SEED[:12]}…, not the {'b' * 12}…"),
    ],
    ids=["expired", "other-record", "other-rule", "seed-changed"],
)
def test_a_waiver_that_does_not_hold_lapses_and_the_finding_stands(waiver: Waiver, why: str) -> None:
    """An expired waiver, one for no finding of this run, or one given for another seed lapses, saying why."""
    (result,), lapsed = apply_waivers([_result("number-has-source", "n-1")], [waiver], TODAY)
    assert [(lw.waiver, lw.why.startswith(why)) for lw in lapsed] == [(waiver, True)]
    assert result.findings[0].waived_by is None and result.n_failed == 1


def test_a_finding_without_a_seed_is_waived_by_rule_and_record() -> None:
    """A finding that names no seed (a table-level row) is matched by rule and record alone."""
    (result,), lapsed = apply_waivers([_result("number-has-source", "n-1", seed=None)], [_waiver()], TODAY)
    assert lapsed == () and result.passed


def test_results_no_waiver_touches_are_returned_as_they_are() -> None:
    """A result whose findings no waiver covers is the same object, not a copy; no waivers changes nothing."""
    untouched = _result("link-syntax-ok", "l-1")
    waived, _ = apply_waivers([untouched, _result("number-has-source", "n-1")], [_waiver()], TODAY)
    assert waived[0] is untouched and waived[1].passed
    assert apply_waivers([untouched], [], TODAY) == ((untouched,), ())
