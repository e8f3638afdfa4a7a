"""expectations/<table>.json -> Great Expectations suites, fail-closed.

GX's ``ExpectationSuite.__init__`` logs and drops an expectation it cannot build, so a typo would silently
remove a check. Each suite file is therefore validated against ``schemas/suite.schema.json``, every type is
looked up among the types GX registers (with a "did you mean"; the list is pinned to GX's version, so this
imports no GX), every column is checked against the table, every expectation is built on its own so GX's
complaint names its index, and the built suite must hold as many expectations as the file. Building imports
GX (about 2 s): ``audit run`` loads its suites with ``build=False`` and builds them with ``check_builds``
while its worker processes extract the seeds.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit import defaults
from audit.errors import SuiteError, pointer
from audit.fsio import sha256_file
from audit.jsonfile import JsonKind, load_json_file
from audit.records import PROVENANCE_COLUMNS, TABLE_FACT_COLUMNS, Severity
from audit.store import SPECS, arrow_schema
from audit.validate.gx import build_gx_suite, expectation_types

SCHEMAS_DIR = defaults.SCHEMAS_DIR
REQUIRED_TABLES = ("seeds", "articles", "numbers", "links", "dates", "tables")
SUITE_FILE = JsonKind(what="suite file", schema=SCHEMAS_DIR / "suite.schema.json", error=SuiteError)


def suite_columns(table: str) -> tuple[str, ...]:
    """Columns a suite for this table may name: the stored ones plus those computed at validation."""
    if table == "tables":
        return TABLE_FACT_COLUMNS
    return (*arrow_schema(SPECS[table]).names, *PROVENANCE_COLUMNS)


def suite_tables() -> tuple[str, ...]:
    """Every table a suite can be written for: the stored tables and the ``tables`` integrity frame."""
    return (*SPECS, "tables")


_COLUMN_KWARGS = ("column", "column_A", "column_B")


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """One expectation of a suite file, as the audit knows it."""

    rule_id: str
    table: str
    severity: Severity
    expectation_type: str
    kwargs: dict[str, Any]
    description: str
    index: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Suite:
    """A validated suite file for one table."""

    table: str
    path: Path
    sha256: str
    raw: dict[str, Any]
    rules: tuple[Rule, ...]

    def raw_of(self, rule_ids: Collection[str]) -> dict[str, Any]:
        """The suite file's content with only these rules' expectations (for validating them apart)."""
        wanted = set(rule_ids)
        return {
            **self.raw,
            "expectations": [e for e in self.raw["expectations"] if e["meta"]["rule_id"] in wanted],
        }


def load_suites(directory: Path, *, build: bool = True) -> tuple[Suite, ...]:
    """Load one suite per table from directory; the five contract tables must each have one.

    ``build=False``: every check but building the suites with GX, which the caller then does with
    ``check_builds`` before the suites are relied on.
    """
    if not directory.is_dir():
        raise SuiteError(
            f"{directory}: the suites directory does not exist. Pass --suites DIR with <table>.json files."
        )
    suites = []
    for table in suite_tables():
        path = directory / f"{table}.json"
        if not path.exists():
            if table in REQUIRED_TABLES:
                raise SuiteError(
                    f"{path}: missing: every table needs a suite. Add {path.name} (it may hold no expectations)."
                )
            continue
        suites.append(load_suite(path, table, build=build))
    _check_unique_rule_ids(suites)
    return tuple(suites)


def load_suite(path: Path, table: str, *, build: bool = True) -> Suite:
    """Load and check one suite file for one table (``build=False``: all but building it, see load_suites)."""
    raw = load_json_file(path, SUITE_FILE)
    known = expectation_types()
    columns = set(suite_columns(table))
    rules = []
    for i, exp in enumerate(raw["expectations"]):
        _check_type(path, i, exp["type"], known)
        _check_columns(path, i, exp["kwargs"], columns, table)
        rules.append(
            Rule(
                rule_id=exp["meta"]["rule_id"],
                table=table,
                severity=Severity(exp["severity"]),
                expectation_type=exp["type"],
                kwargs=dict(exp["kwargs"]),
                description=exp["meta"]["description"],
                index=i,
            )
        )
    if build:
        build_gx_suite(path, raw)
    return Suite(table=table, path=path, sha256=sha256_file(path), raw=raw, rules=tuple(rules))


def check_builds(suites: Sequence[Suite]) -> None:
    """Build each suite with GX, as loading it does unless ``build=False``: SuiteError for the first
    expectation that does not build."""
    for suite in suites:
        build_gx_suite(suite.path, suite.raw)


def _check_type(path: Path, i: int, name: str, known: Sequence[str]) -> None:
    if name in known:
        return
    close = difflib.get_close_matches(name, known, n=1)
    hint = f'Did you mean "{close[0]}"?' if close else "See the Great Expectations gallery for the names."
    raise SuiteError.at(path, pointer(("expectations", i, "type")), f'"{name}" is unknown', hint)


def _condition_columns(condition: Any) -> list[str]:
    """Column names a GX Condition object (comparison, nullity, and, or) refers to."""
    if not isinstance(condition, dict):
        return []
    if "conditions" in condition:
        return [c for sub in condition["conditions"] for c in _condition_columns(sub)]
    return [condition["column"]["name"]] if "column" in condition else []


def rule_columns(kwargs: dict[str, Any]) -> list[str]:
    """Every column an expectation's kwargs name, its row condition included."""
    named = [kwargs[k] for k in _COLUMN_KWARGS if k in kwargs] + list(kwargs.get("column_list", []))
    return [*named, *_condition_columns(kwargs.get("row_condition"))]


def _check_columns(path: Path, i: int, kwargs: dict[str, Any], columns: set[str], table: str) -> None:
    named = rule_columns(kwargs)
    for column in named:
        if column not in columns:
            close = difflib.get_close_matches(str(column), sorted(columns), n=1)
            hint = (
                f'Did you mean "{close[0]}"?'
                if close
                else f"The {table} table's columns are in schemas/{table}.schema.json."
            )
            problem = f'column "{column}" is not in the {table} table'
            raise SuiteError.at(path, pointer(("expectations", i, "kwargs")), problem, hint)


def _check_unique_rule_ids(suites: Sequence[Suite]) -> None:
    seen: dict[str, Path] = {}
    for suite in suites:
        for rule in suite.rules:
            if rule.rule_id in seen:
                raise SuiteError.at(
                    suite.path,
                    pointer(("expectations", rule.index, "meta", "rule_id")),
                    f'"{rule.rule_id}" is also used in {seen[rule.rule_id]}',
                    "Rule ids must be unique across suites; rename one.",
                )
            seen[rule.rule_id] = suite.path
