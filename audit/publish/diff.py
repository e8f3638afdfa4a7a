"""What changed since the previous release: records by id and digest, rules by outcome; and the CHANGELOG.

A record is *added* or *removed* when its id appears on one side only, and *changed* when the id is on
both sides with another ``record_sha256``. A rule is *newly failing* when it had no findings in the
previous release and has some now (only non-critical rules can: a release passed the gate), and *newly
passing* the other way round.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from audit.store import DIGEST_COLUMN

MAX_LISTED = 1000  # ids listed per category in changes.json (counts are always exact)
MAX_SHOWN = 20  # ids shown per category in CHANGELOG.md


@dataclass(frozen=True, slots=True, kw_only=True)
class TableDiff:
    """Records of one table added, removed and changed since the previous release."""

    table: str
    id_column: str | None
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    n_unchanged: int = 0
    note: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleState:
    """A rule's outcome in one release."""

    rule_id: str
    table: str
    severity: str
    passed: bool
    n_failed: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleDiff:
    """Rules whose outcome changed, and rules that appeared or disappeared."""

    newly_failing: tuple[RuleState, ...] = ()
    newly_passing: tuple[RuleState, ...] = ()
    added: tuple[RuleState, ...] = ()
    removed: tuple[RuleState, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseDiff:
    """This release against the previous one (None for the first release)."""

    release: str
    previous: str | None
    tables: tuple[TableDiff, ...]
    rules: RuleDiff


def read_keys(path: Path, id_column: str) -> dict[str, tuple[str, ...]]:
    """Map each record id of a Parquet table to its record digest(s), reading only those two columns."""
    table = pq.read_table(path, columns=[id_column, DIGEST_COLUMN])
    keys: dict[str, list[str]] = {}
    for rid, digest in zip(table.column(0).to_pylist(), table.column(1).to_pylist(), strict=True):
        keys.setdefault(str(rid), []).append(str(digest))
    return {k: tuple(sorted(v)) for k, v in keys.items()}


def diff_keys(
    table: str, id_column: str, old: Mapping[str, tuple[str, ...]], new: Mapping[str, tuple[str, ...]]
) -> TableDiff:
    """Compare two id -> digest maps."""
    both = old.keys() & new.keys()
    changed = sorted(k for k in both if old[k] != new[k])
    return TableDiff(
        table=table,
        id_column=id_column,
        added=tuple(sorted(new.keys() - old.keys())),
        removed=tuple(sorted(old.keys() - new.keys())),
        changed=tuple(changed),
        n_unchanged=len(both) - len(changed),
    )


def diff_table(table: str, id_column: str | None, new_path: Path, old_path: Path | None) -> TableDiff:
    """Compare one table with its previous release, or note why it cannot be compared."""
    if id_column is None:
        return TableDiff(table=table, id_column=None, note="no record id column is known for this table")
    try:
        new = read_keys(new_path, id_column)
    except (pa.ArrowException, KeyError, OSError) as exc:
        return TableDiff(table=table, id_column=id_column, note=f"not comparable: {exc}")
    if old_path is None or not old_path.exists():
        return diff_keys(table, id_column, {}, new)
    try:
        old = read_keys(old_path, id_column)
    except (pa.ArrowException, KeyError, OSError) as exc:
        return TableDiff(table=table, id_column=id_column, note=f"previous release not comparable: {exc}")
    return diff_keys(table, id_column, old, new)


def rule_states(results: Mapping[str, Any]) -> dict[str, RuleState]:
    """Each rule's outcome from a results.json document."""
    return {
        r["rule_id"]: RuleState(
            rule_id=r["rule_id"],
            table=r["table"],
            severity=r["severity"],
            passed=bool(r["passed"]),
            n_failed=int(r["n_failed"]),
        )
        for r in results.get("rules", [])
    }


def diff_rules(old: Mapping[str, RuleState], new: Mapping[str, RuleState]) -> RuleDiff:
    """Rules newly failing, newly passing, added and removed."""
    both = sorted(old.keys() & new.keys())
    return RuleDiff(
        newly_failing=tuple(new[k] for k in both if old[k].passed and not new[k].passed),
        newly_passing=tuple(new[k] for k in both if not old[k].passed and new[k].passed),
        added=tuple(new[k] for k in sorted(new.keys() - old.keys())),
        removed=tuple(old[k] for k in sorted(old.keys() - new.keys())),
    )


def changes_document(diff: ReleaseDiff) -> dict[str, Any]:
    """The machine-readable diff (changes.json); id lists are cut at MAX_LISTED, counts are exact."""
    return {
        "release": diff.release,
        "previous": diff.previous,
        "tables": {t.table: _table_document(t) for t in diff.tables},
        "rules": {
            "newly_failing": [_rule_document(r) for r in diff.rules.newly_failing],
            "newly_passing": [_rule_document(r) for r in diff.rules.newly_passing],
            "added": [_rule_document(r) for r in diff.rules.added],
            "removed": [_rule_document(r) for r in diff.rules.removed],
        },
    }


def _table_document(t: TableDiff) -> dict[str, Any]:
    doc: dict[str, Any] = {"id_column": t.id_column, "n_unchanged": t.n_unchanged, "note": t.note}
    for name, ids in (("added", t.added), ("removed", t.removed), ("changed", t.changed)):
        doc[f"n_{name}"] = len(ids)
        doc[name] = list(ids[:MAX_LISTED])
    doc["truncated"] = any(len(ids) > MAX_LISTED for ids in (t.added, t.removed, t.changed))
    return doc


def _rule_document(r: RuleState) -> dict[str, Any]:
    return {"rule_id": r.rule_id, "table": r.table, "severity": r.severity, "n_failed": r.n_failed}


def changelog_markdown(
    diff: ReleaseDiff, results: Mapping[str, Any], date: str, previous_changelog: str | None
) -> str:
    """CHANGELOG.md: this release's entry on top of the previous release's entries."""
    against = f"compared with {diff.previous}" if diff.previous else "first release"
    when = "" if diff.release.startswith(date) else f"{date}, "
    lines = [
        f"## {diff.release} ({when}{against})",
        "",
        f"Verdict: {results['verdict']}. {results['summary']}",
    ]
    lines += [
        "",
        "### Records",
        "",
        "| table | added | removed | changed | unchanged |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {t.table} | {len(t.added)} | {len(t.removed)} | {len(t.changed)} | {t.n_unchanged} |"
        if t.note is None
        else f"| {t.table} | – | – | – | – ({t.note}) |"
        for t in diff.tables
    ]
    for t in diff.tables:
        for verb, ids in (("added", t.added), ("removed", t.removed), ("changed", t.changed)):
            if ids and diff.previous is not None:
                lines += ["", f"{t.table} {verb} ({t.id_column}): {_shown(ids)}"]
    lines += ["", "### Rules", ""]
    lines += _rule_lines("Newly failing", diff.rules.newly_failing)
    lines += _rule_lines("Newly passing", diff.rules.newly_passing)
    lines += _rule_lines("New rules", diff.rules.added)
    lines += _rule_lines("Removed rules", diff.rules.removed)
    if lines[-1] == "":
        lines.append("No rule changed its outcome.")
    entry = "\n".join(lines).rstrip() + "\n"
    return "# Changelog\n\n" + entry + _older_entries(previous_changelog)


def _shown(ids: Sequence[str]) -> str:
    shown = ", ".join(f"`{i}`" for i in ids[:MAX_SHOWN])
    return shown + (f" and {len(ids) - MAX_SHOWN} more (see changes.json)" if len(ids) > MAX_SHOWN else "")


def _rule_lines(title: str, rules: Iterable[RuleState]) -> list[str]:
    items = [
        f"- `{r.rule_id}` ({r.table}, {r.severity}): "
        + ("passes" if r.passed else f"{r.n_failed} finding(s)")
        for r in rules
    ]
    return [f"{title}:", "", *items, ""] if items else []


def _older_entries(previous_changelog: str | None) -> str:
    if not previous_changelog:
        return ""
    body = (
        previous_changelog.split("\n", 1)[1]
        if previous_changelog.startswith("# Changelog")
        else previous_changelog
    )
    return "\n" + body.lstrip("\n")
