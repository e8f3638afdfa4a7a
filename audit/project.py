"""A project's own files: which suites a run uses, ``init`` (an editable copy of the defaults), and ``waive``
(waivers written from a report's results.json, each pinned to its record's seed as the tables say).
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit.defaults import SUITES_DIR
from audit.errors import UsageError
from audit.fsio import atomic_write_text, sha256_file

PACKAGED = "packaged"
LOCAL_SUITES = Path("expectations")
MIN_REASON = 10  # schemas/waivers.schema.json: reason minLength


def resolve_suites(given: Path | None) -> tuple[Path, str]:
    """The suites directory and where it comes from: as given, ./expectations/, else the packaged defaults."""
    if given is not None:
        return given, str(given)
    if LOCAL_SUITES.is_dir():
        return LOCAL_SUITES, str(LOCAL_SUITES)
    return SUITES_DIR, PACKAGED


def default_waivers(suites_dir: Path, origin: str) -> Path:
    """Where waivers live by default: SUITES/waivers.json, or ./waivers.json beside the packaged suites."""
    return Path("waivers.json") if origin == PACKAGED else suites_dir / "waivers.json"


def init_project(directory: Path) -> list[Path]:
    """Copy the default suites and number policy into DIRECTORY/expectations/; refuse to overwrite."""
    target = directory / LOCAL_SUITES
    if target.exists():
        raise UsageError(
            f"{target}: already exists; init never overwrites. Edit it, or move it away and run init again."
        )
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory}: is a file. Pass the project directory.")
    sources = sorted(SUITES_DIR.glob("*.json"))
    staging = directory / ".expectations.init"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for source in sources:
        atomic_write_text(staging / source.name, source.read_text(encoding="utf-8"))
    staging.rename(target)  # all of them or none
    return [target / s.name for s in sources]


@dataclass(frozen=True, slots=True, kw_only=True)
class WaiveRequest:
    """What ``waive`` was asked: a rule, its failing records (or all), why, until when, and where things are."""

    rule_id: str
    records: Sequence[str]  # record ids, or ["all"]
    reason: str
    expires: dt.date
    report_dir: Path
    tables_dir: Path
    waivers_path: Path
    today: dt.date


def waive(request: WaiveRequest) -> list[dict[str, str]]:
    """Add (or renew) waivers for failing records of a rule in REPORT/results.json; return those written."""
    if len(request.reason.strip()) < MIN_REASON:
        raise UsageError(
            f"--reason {request.reason!r}: too short. Say why this exception is accepted "
            f"(at least {MIN_REASON} characters), for whoever reads the waiver later."
        )
    if request.expires < request.today:
        raise UsageError(f"--expires {request.expires}: already past. Give a date from today on.")
    results = _read_results(request.report_dir / "results.json")
    rule = _rule(results, request.rule_id, request.report_dir / "results.json")
    ids = _records(rule, request.records)
    seeds = _seeds_of(results, rule, ids, request.tables_dir)
    new = [
        {
            "rule_id": rule["rule_id"],
            "record_id": record_id,
            "seed_sha256": seeds[record_id],
            "reason": " ".join(request.reason.split()),
            "expires": request.expires.isoformat(),
        }
        for record_id in ids
    ]
    kept = [
        w
        for w in _existing(request.waivers_path)
        if (w["rule_id"], w["record_id"]) not in {(n["rule_id"], n["record_id"]) for n in new}
    ]
    merged = sorted([*kept, *new], key=lambda w: (w["rule_id"], w["record_id"]))
    atomic_write_text(
        request.waivers_path, json.dumps({"waivers": merged}, indent=2, ensure_ascii=False) + "\n"
    )
    return new


def _read_results(path: Path) -> dict[str, Any]:
    from audit.defaults import SCHEMAS_DIR
    from audit.publish.gate import read_results

    document: dict[str, Any] = read_results(path, SCHEMAS_DIR / "results.schema.json")[1]
    return document


def _rule(results: dict[str, Any], rule_id: str, path: Path) -> dict[str, Any]:
    rules = {r["rule_id"]: r for r in results["rules"]}
    if rule_id not in rules:
        close = difflib.get_close_matches(rule_id, sorted(rules), n=1)
        hint = f' Did you mean "{close[0]}"?' if close else " Its rules are listed in the report."
        raise UsageError(f"{path}: no rule {rule_id!r} in this report.{hint}")
    rule: dict[str, Any] = rules[rule_id]
    if not rule["failed_ids"]:
        raise UsageError(f"{path}: rule {rule_id} has no unwaived findings: nothing to waive.")
    if rule["table"] == "tables":
        raise UsageError(f"{rule_id} is about the table files, not records of a seed: it cannot be waived.")
    return rule


def _records(rule: dict[str, Any], asked: Sequence[str]) -> list[str]:
    failing = list(rule["failed_ids"])
    if list(asked) == ["all"]:
        return failing
    known = set(failing)
    for record_id in asked:
        if record_id not in known:
            close = difflib.get_close_matches(record_id, failing, n=1)
            hint = f' Did you mean "{close[0]}"?' if close else ""
            raise UsageError(
                f"--records {record_id}: not a failing record of {rule['rule_id']} in this report.{hint} "
                "Pass ids from its failed_ids, or all."
            )
    return list(dict.fromkeys(asked))


def _seeds_of(
    results: dict[str, Any], rule: dict[str, Any], ids: Sequence[str], tables_dir: Path
) -> dict[str, str]:
    """Each record's seed_sha256, read from the table the report audited (refused if it changed since)."""
    from audit.store import SPECS, read_table

    table = rule["table"]
    audited = results["manifest"]["tables"].get(table)
    path = tables_dir / (audited["file"] if audited else f"{table}.parquet")
    if audited is None or not path.is_file() or sha256_file(path) != audited["sha256"]:
        raise UsageError(
            f"{path}: not the {table} table this report audited. Pass --tables with the audited tables, "
            "or run the audit again."
        )
    id_column = SPECS[table].id_column
    rows = read_table(tables_dir, table).select([id_column, "seed_sha256"]).to_pydict()
    by_id = dict(zip(map(str, rows[id_column]), rows["seed_sha256"], strict=True))
    missing = [i for i in ids if not by_id.get(i)]
    if missing:
        raise UsageError(f"{path}: record {missing[0]} has no seed digest; a waiver must be pinned to one.")
    return {i: str(by_id[i]) for i in ids}


def _existing(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    from audit.waivers import load_waivers

    return [
        {
            "rule_id": w.rule_id,
            "record_id": w.record_id,
            "seed_sha256": w.seed_sha256,
            "reason": w.reason,
            "expires": w.expires.isoformat(),
        }
        for w in load_waivers(path)
    ]
