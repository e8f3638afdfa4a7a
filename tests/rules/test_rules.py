"""Rule tests driven by data: each rule of expectations/ has a case file of edits and the ids it must name.

The cases run through the real suite files and the package's own validation (tests/rules/runner.py), on a
copy of a dataset made by `audit run` once per session.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.rules.runner import (
    CASES_DIR,
    Base,
    Case,
    CheckResult,
    all_cases,
    case_files,
    failing_ids,
    found_ids,
    load_case_file,
    run_case,
    suite_rule_ids,
)

RULES = suite_rule_ids()
CASES = list(all_cases())
FILES = {path.stem: load_case_file(path) for path in case_files()}


def _one_failing_case_per_table() -> dict[str, Case]:
    """The first failing case of each suite's table, to run again with the table's whole suite."""
    picked: dict[str, Case] = {}
    for _, case in CASES:
        if case.failing and case.rule_id in RULES:
            picked.setdefault(RULES[case.rule_id], case)
    return picked


WHOLE = _one_failing_case_per_table()


def test_every_rule_has_a_case_file() -> None:
    """Each rule id in expectations/ has cases/<rule-id>.json, and each case file names a rule that exists."""
    missing = sorted(set(RULES) - set(FILES))
    unknown = sorted(set(FILES) - set(RULES))
    assert not missing, f"rules without a case file in {CASES_DIR}: {missing}"
    assert not unknown, f"case files naming no rule of the suites: {unknown}"


@pytest.mark.parametrize("rule_id", sorted(FILES))
def test_each_rule_is_shown_failing_and_passing(rule_id: str) -> None:
    """Every case file has a case where its rule fails, and shows it passing (on the clean dataset or a case)."""
    _, clean, cases = FILES[rule_id]
    assert any(case.failing for case in cases), f"{rule_id}: no case where the rule fails"
    assert not clean or any(not case.failing for case in cases), f"{rule_id}: never shown passing"


@pytest.mark.parametrize("rule_id", sorted(FILES))
def test_rule_on_the_clean_dataset(rule_id: str, base: Base, clean_results: dict[str, CheckResult]) -> None:
    """On the unedited dataset (every suite whole, every seed extracted again), the rule names exactly the ids
    its case file lists under clean."""
    _, clean, _ = FILES[rule_id]
    result = clean_results[rule_id]
    assert result.error is None, result.error
    assert found_ids(result) == failing_ids(base, RULES[rule_id], clean)


@pytest.mark.parametrize("case", [case for _, case in CASES], ids=[name for name, _ in CASES])
def test_rule_case(case: Case, base: Base, tmp_path: Path) -> None:
    """After the case's edits, its rule names exactly the ids the case lists (none: it passes)."""
    result = run_case(base, case, tmp_path)
    assert result.error is None, result.error
    assert found_ids(result) == failing_ids(base, RULES[case.rule_id], case.failing)


@pytest.mark.parametrize("case", list(WHOLE.values()), ids=list(WHOLE))
def test_a_rule_alone_names_what_its_whole_suite_names(case: Case, base: Base, tmp_path: Path) -> None:
    """Cases run their rule's expectation alone (for speed); with every rule of its suite file beside it, the
    rule names the same ids (checked on one failing case per table)."""
    alone = run_case(base, case, tmp_path / "alone")
    whole = run_case(base, case, tmp_path / "whole", alone=False)
    assert found_ids(whole) == found_ids(alone) == failing_ids(base, RULES[case.rule_id], case.failing)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            {"table": "numbers", "where": {"number_id": "n-0"}, "set": {"value": 1.0}},
            "numbers: no row matches",
        ),
        (
            {"table": "seeds", "where": {"path": "two_articles.jsonl"}, "set": {"status": "extracted"}},
            "changes nothing",
        ),
        (
            {"table": "seeds", "where": {"path": "two_articles.jsonl"}, "set": {"colour": "red"}},
            "no column 'colour'",
        ),
    ],
)
def test_a_case_that_edits_nothing_is_an_error(edit: dict, message: str, base: Base, tmp_path: Path) -> None:
    """An edit that matches no row, changes no value or names no column stops the case: it would prove nothing."""
    case = Case(rule_id="seed-extracted", name="x", edits=(edit,), failing=())
    with pytest.raises(ValueError, match=message):
        run_case(base, case, tmp_path)
