"""The verdict for machines and in words: rules in reading order, the verdict in one sentence,
results.json's document (schemas/results.schema.json) and junit.xml, with the characters XML 1.0 cannot
hold replaced so any seed content still parses.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from typing import Any

from audit.records import CheckResult, Severity, Verdict
from audit.report.inputs import ReportLimits

_SEVERITY_ORDER = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}
_XML_BAD = re.compile(r"[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def ordered_results(verdict: Verdict) -> list[CheckResult]:
    """Rules in reading order: by severity, failing before passing, then by number of findings."""
    return sorted(
        verdict.results,
        key=lambda r: (_SEVERITY_ORDER[r.severity], r.passed, -r.n_failed, r.table, r.rule_id),
    )


def verdict_sentence(verdict: Verdict) -> str:
    """The verdict and why, in one sentence."""
    critical = verdict.failed_critical
    if not critical:
        others = sum(1 for r in verdict.results if not r.passed)
        tail = (
            f"; {plural(others, 'non-blocking rule')} {_agree(others, 'has', 'have')} findings to read"
            if others
            else ""
        )
        return f"Publishable: no critical rule fails{tail}."
    names = ", ".join(
        f"{r.rule_id} ({'could not run' if r.error else plural(r.n_failed, 'record')})" for r in critical
    )
    n = len(critical)
    return f"Not publishable: {plural(n, 'critical rule')} {_agree(n, 'fails', 'fail')}: {names}."


def plural(n: int, one: str, many: str | None = None) -> str:
    """'1 finding', '2 findings', '1,200 findings' ('many' for a plural not made with an s)."""
    return f"{n:,} {one if n == 1 else many or one + 's'}"


def _agree(n: int, one: str, many: str) -> str:
    """The word that agrees with n: 'passes' for one rule, 'pass' for two."""
    return one if n == 1 else many


def is_not_applicable(r: CheckResult) -> bool:
    """True for a rule that ran and checked no record: it neither passed nor failed anything."""
    return r.error is None and r.n_checked == 0 and not r.findings


def results_document(verdict: Verdict) -> dict[str, Any]:
    """The machine-readable results (schemas/results.schema.json)."""
    return {
        "verdict": "passed" if verdict.passed else "failed",
        "passed": verdict.passed,
        "summary": verdict_sentence(verdict),
        "manifest": verdict.manifest,
        "rules": [_rule_document(r) for r in ordered_results(verdict)],
        "lapsed_waivers": [{**_waiver_document(lw.waiver), "why": lw.why} for lw in verdict.lapsed_waivers],
    }


def _rule_document(r: CheckResult) -> dict[str, Any]:
    return {
        "rule_id": r.rule_id,
        "table": r.table,
        "severity": r.severity.value,
        "expectation_type": r.expectation_type,
        "description": r.description,
        "kwargs": r.kwargs,
        "passed": r.passed,
        "n_checked": r.n_checked,
        "n_failed": r.n_failed,
        "n_waived": r.n_waived,
        "error": r.error,
        "failed_ids": [f.record_id for f in r.findings if f.waived_by is None],
        "waived": [
            {"record_id": f.record_id, **_waiver_document(f.waived_by)} for f in r.findings if f.waived_by
        ],
    }


def _waiver_document(w: Any) -> dict[str, Any]:
    return {
        "rule_id": w.rule_id,
        "record_id": w.record_id,
        "seed_sha256": w.seed_sha256,
        "reason": w.reason,
        "expires": w.expires.isoformat(),
    }


def junit_xml(verdict: Verdict, limits: ReportLimits = ReportLimits()) -> bytes:  # noqa: B008 (frozen: one shared default is safe)
    """One test case per rule, grouped by table; a failing critical rule is a <failure>, one that could not run an <error>."""
    root = ET.Element("testsuites", name="news-audit")
    by_table: dict[str, list[CheckResult]] = defaultdict(list)
    for r in verdict.results:
        by_table[r.table].append(r)
    for table, rules in sorted(by_table.items()):
        suite = ET.SubElement(
            root,
            "testsuite",
            name=table,
            tests=str(len(rules)),
            failures=str(sum(1 for r in rules if _junit_outcome(r) == "failure")),
            errors=str(sum(1 for r in rules if _junit_outcome(r) == "error")),
            skipped=str(sum(1 for r in rules if is_not_applicable(r))),
        )
        for r in sorted(rules, key=lambda x: x.rule_id):
            suite.append(_junit_case(r, limits.junit_lines))
    ET.indent(root)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def _junit_case(r: CheckResult, max_lines: int) -> ET.Element:
    case = ET.Element("testcase", classname=f"audit.{r.table}", name=r.rule_id, time="0")
    props = ET.SubElement(case, "properties")
    for name, value in (
        ("severity", r.severity.value),
        ("n_checked", r.n_checked),
        ("n_failed", r.n_failed),
        ("n_waived", r.n_waived),
    ):
        ET.SubElement(props, "property", name=name, value=str(value))
    detail = _xml_text(_finding_lines(r, max_lines))
    outcome = _junit_outcome(r)
    if outcome:
        ET.SubElement(
            case, outcome, type=r.severity.value, message=_xml_text(_failure_message(r))
        ).text = detail
    elif is_not_applicable(r):
        ET.SubElement(case, "skipped", message="not applicable: the rule checked 0 records")
    elif detail:
        ET.SubElement(
            case, "system-out"
        ).text = f"{r.severity.value}: {_xml_text(_failure_message(r))}\n{detail}"
    return case


def _junit_outcome(r: CheckResult) -> str | None:
    if r.severity is not Severity.CRITICAL or r.passed:
        return None
    return "error" if r.error else "failure"


def _failure_message(r: CheckResult) -> str:
    if r.error:
        return f"{r.rule_id} could not run: {r.error}"
    return (
        f"{r.rule_id}: {plural(r.n_failed, 'finding')} in {plural(r.n_checked, 'record')} checked: "
        f"{r.description}"
    )


def _finding_lines(r: CheckResult, max_lines: int) -> str:
    failing = [f for f in r.findings if f.waived_by is None]
    lines = [
        f"{f.record_id}\t{f.seed_sha256 or ''}\t{f.evidence.get('text', '')}" for f in failing[:max_lines]
    ]
    if len(failing) > max_lines:
        lines.append(f"... and {len(failing) - max_lines} more in results.json")
    return "\n".join(lines)


def _xml_text(text: str) -> str:
    """Text with the characters XML 1.0 cannot hold replaced, so any seed content still parses."""
    return _XML_BAD.sub("\ufffd", text)
