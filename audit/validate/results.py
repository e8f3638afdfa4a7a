"""GX outcomes -> CheckResult records: each rule's tally over a table's batches, its findings, their evidence."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from audit.records import CheckResult, Finding
from audit.validate.frames import BULKY, ROW_INDEX
from audit.validate.gx import Outcome
from audit.validate.suites import Rule

EVIDENCE_LIMIT = 2_000  # findings per rule that carry their row; the rest carry ids only


@dataclass(slots=True)
class Tally:
    """One rule's results over the batches seen so far."""

    n_checked: int = 0
    failed: bool = False
    error: str | None = None
    ids: list[str] = field(default_factory=list)
    seeds: dict[str, str | None] = field(default_factory=dict)
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)  # the frame's row, for evidence


def _counted(tally: Tally, outcome: Outcome | None, n_rows: int) -> bool:
    """Count one outcome into a rule's tally; whether the rule failed there (with rows to name, if any)."""
    if outcome is None:
        tally.error = tally.error or "Great Expectations returned no result"
        return False
    if outcome.error is not None:
        tally.error = tally.error or outcome.error
        return False
    tally.n_checked += n_rows if outcome.element_count is None else outcome.element_count
    if outcome.success:
        return False
    tally.failed = True
    return True


def add_outcome(tally: Tally, outcome: Outcome | None, frame: pd.DataFrame, id_column: str) -> None:
    """Add one batch's outcome for a rule to its tally (failing rows named by their position, ``_row``)."""
    if _counted(tally, outcome, len(frame)) and outcome is not None:
        positions = [int(p) for p in outcome.failing.get(ROW_INDEX, ())]
        _add_rows(tally, frame.iloc[positions], id_column)


def _add_rows(tally: Tally, rows: pd.DataFrame, id_column: str) -> None:
    """Failing rows, in order: each id once; the first EVIDENCE_LIMIT keep their row for evidence."""
    if rows.empty:
        return
    ids = rows[id_column].astype(str).tolist()
    seeds = rows["seed_sha256"].tolist() if "seed_sha256" in rows else [None] * len(ids)
    fresh: list[int] = []
    for n, (record_id, seed) in enumerate(zip(ids, seeds, strict=True)):
        if record_id not in tally.seeds:
            tally.ids.append(record_id)
            tally.seeds[record_id] = seed if isinstance(seed, str) else None
            fresh.append(n)
    kept = fresh[: max(0, EVIDENCE_LIMIT - len(tally.rows))]
    for n, row in zip(kept, rows.iloc[kept].to_dict("records"), strict=True):
        tally.rows[ids[n]] = {str(k): v for k, v in row.items()}


def check_result(rule: Rule, outcome: Outcome | None, rows: pd.DataFrame, id_column: str) -> CheckResult:
    """A rule's CheckResult from an outcome that names failing rows by id, and a frame holding those rows.

    The Spark engine's results come this way (its frames have no positional index), and so do the
    ``tables`` suite's.
    """
    tally = Tally()
    ids = [] if outcome is None else [str(i) for i in outcome.failing.get(id_column, ())]
    if _counted(tally, outcome, len(rows)) and ids:  # no ids: a table-level rule, the table is the record
        found = rows.drop_duplicates(id_column)
        found.index = found[id_column].astype(str)
        _add_rows(tally, found.loc[[i for i in dict.fromkeys(ids) if i in found.index]], id_column)
        for record_id in (i for i in ids if i not in tally.seeds):  # a row the frame did not hold
            tally.ids.append(record_id)
            tally.seeds[record_id] = None
    return result_of(rule, tally, {})


def result_of(rule: Rule, tally: Tally, stored: Mapping[str, dict[str, Any]]) -> CheckResult:
    """A rule's CheckResult from its tally; ``stored``: whole stored rows by id, shown beside the frame's row."""
    common = _common(rule)
    if tally.error is not None:
        return CheckResult(**common, n_checked=0, findings=(), error=tally.error)
    if not tally.failed:
        return CheckResult(**common, n_checked=tally.n_checked, findings=())
    if not tally.ids:  # a table-level expectation: the table itself is the failing record
        ids, seeds = [f"table:{rule.table}"], {}
    else:
        ids, seeds = tally.ids, tally.seeds
    findings = tuple(
        Finding(
            rule_id=rule.rule_id,
            table=rule.table,
            record_id=record_id,
            seed_sha256=seeds.get(record_id),
            evidence=_evidence({**stored.get(record_id, {}), **tally.rows[record_id]})
            if record_id in tally.rows
            else {},
        )
        for record_id in ids
    )
    return CheckResult(**common, n_checked=tally.n_checked, findings=findings)


def _common(rule: Rule) -> dict[str, Any]:
    return {
        "rule_id": rule.rule_id,
        "table": rule.table,
        "severity": rule.severity,
        "expectation_type": rule.expectation_type,
        "description": rule.description,
        "kwargs": rule.kwargs,
    }


def _evidence(row: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k): _jsonable(v) for k, v in row.items() if k not in BULKY and k != ROW_INDEX}


def _jsonable(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if hasattr(value, "tolist"):
        return _jsonable(value.tolist())
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)
