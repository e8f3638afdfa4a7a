"""Waivers: accepted exceptions, each pinned to a rule, a record and its seed's hash, with an expiry."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from audit.defaults import SCHEMAS_DIR
from audit.errors import WaiversError, pointer
from audit.jsonfile import JsonKind, load_json_file
from audit.records import CheckResult, LapsedWaiver, Waiver

WAIVERS_FILE = JsonKind(what="waivers file", schema=SCHEMAS_DIR / "waivers.schema.json", error=WaiversError)


def load_waivers(path: Path | None) -> tuple[Waiver, ...]:
    """Read a waivers file (none if path is None); raise WaiversError naming the bad place."""
    if path is None:
        return ()
    doc = load_json_file(path, WAIVERS_FILE)
    waivers = []
    for i, item in enumerate(doc["waivers"]):
        try:
            expires = dt.date.fromisoformat(item["expires"])
        except ValueError:
            place = pointer(("waivers", i, "expires"))
            problem = f'"{item["expires"]}" is not a calendar date'
            raise WaiversError.at(path, place, problem, "Use YYYY-MM-DD.") from None
        waivers.append(
            Waiver(
                rule_id=item["rule_id"],
                record_id=item["record_id"],
                seed_sha256=item["seed_sha256"],
                reason=item["reason"],
                expires=expires,
            )
        )
    return tuple(waivers)


def apply_waivers(
    results: Sequence[CheckResult], waivers: Sequence[Waiver], today: dt.date
) -> tuple[tuple[CheckResult, ...], tuple[LapsedWaiver, ...]]:
    """Mark findings covered by a valid waiver; list the waivers that did not apply and why."""
    findings = {(f.rule_id, f.record_id): f for r in results for f in r.findings} if waivers else {}
    valid: dict[tuple[str, str], Waiver] = {}
    lapsed: list[LapsedWaiver] = []
    for waiver in waivers:
        why = _why_lapsed(waiver, findings.get((waiver.rule_id, waiver.record_id)), today)
        if why:
            lapsed.append(LapsedWaiver(waiver=waiver, why=why))
        else:
            valid[(waiver.rule_id, waiver.record_id)] = waiver
    waived = tuple(
        dataclasses.replace(
            r,
            findings=tuple(
                dataclasses.replace(f, waived_by=valid.get((f.rule_id, f.record_id))) for f in r.findings
            ),
        )
        if any(f.waived_by is not valid.get((f.rule_id, f.record_id)) for f in r.findings)
        else r  # unchanged: not copied (at 100k seeds, most of 470k findings)
        for r in results
    )
    return waived, tuple(lapsed)


def _why_lapsed(waiver: Waiver, finding: object, today: dt.date) -> str | None:
    if waiver.expires < today:
        return f"expired on {waiver.expires.isoformat()}"
    if finding is None:
        return "no such finding in this run: the record passes now, or its id changed"
    seed = getattr(finding, "seed_sha256", None)
    if seed is not None and seed != waiver.seed_sha256:
        return f"the record's seed is now {seed[:12]}…, not the {waiver.seed_sha256[:12]}… the waiver was given for"
    return None
