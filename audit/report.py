"""Verdict -> the report people read: index.html, results.json, junit.xml (all self-contained)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

from audit.fsio import atomic_write, atomic_write_text
from audit.records import CheckResult, Finding, Severity, Verdict

_SEVERITY_ORDER = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}
_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("audit", "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def ordered_results(verdict: Verdict) -> list[CheckResult]:
    """Rules in reading order: failing before passing, then by severity, then by number of findings."""
    return sorted(
        verdict.results,
        key=lambda r: (r.passed, _SEVERITY_ORDER[r.severity], -r.n_failed, r.table, r.rule_id),
    )


def verdict_sentence(verdict: Verdict) -> str:
    """The verdict and why, in one sentence."""
    critical = verdict.failed_critical
    if not critical:
        warnings = sum(1 for r in verdict.results if not r.passed)
        tail = f"; {warnings} non-blocking rule(s) have findings to read" if warnings else ""
        return f"Publishable: no critical rule fails{tail}."
    names = ", ".join(f"{r.rule_id} ({r.n_failed})" for r in critical)
    return f"Not publishable: {len(critical)} critical rule(s) fail: {names}."


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


def junit_xml(verdict: Verdict) -> bytes:
    """One test case per rule, grouped by table; a failing critical rule is a <failure>."""
    root = ET.Element("testsuites", name="news-audit")
    by_table: dict[str, list[CheckResult]] = {}
    for r in verdict.results:
        by_table.setdefault(r.table, []).append(r)
    for table, rules in sorted(by_table.items()):
        failures = sum(1 for r in rules if _is_junit_failure(r))
        suite = ET.SubElement(root, "testsuite", name=table, tests=str(len(rules)), failures=str(failures))
        for r in sorted(rules, key=lambda x: x.rule_id):
            case = ET.SubElement(suite, "testcase", classname=f"audit.{table}", name=r.rule_id)
            props = ET.SubElement(case, "properties")
            ET.SubElement(props, "property", name="severity", value=r.severity.value)
            detail = _finding_lines(r)
            if _is_junit_failure(r):
                failure = ET.SubElement(case, "failure", type=r.severity.value, message=_failure_message(r))
                failure.text = detail
            elif detail:
                ET.SubElement(
                    case, "system-out"
                ).text = f"{r.severity.value}: {_failure_message(r)}\n{detail}"
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _is_junit_failure(r: CheckResult) -> bool:
    return r.severity is Severity.CRITICAL and not r.passed


def _failure_message(r: CheckResult) -> str:
    if r.error:
        return f"{r.rule_id} could not run: {r.error}"
    return f"{r.rule_id}: {r.n_failed} of {r.n_checked} record(s) fail: {r.description}"


def _finding_lines(r: CheckResult) -> str:
    return "\n".join(
        f"{f.record_id}\t{f.seed_sha256 or ''}\t{f.evidence.get('text', '')}"
        for f in r.findings
        if f.waived_by is None
    )


def render_html(verdict: Verdict, seeds: list[Mapping[str, Any]]) -> str:
    """The self-contained HTML report (no external CSS, JS or fonts)."""
    results = ordered_results(verdict)
    return _ENV.get_template("index.html.j2").render(
        verdict=verdict,
        sentence=verdict_sentence(verdict),
        results=results,
        failing=[r for r in results if r.findings or r.error],
        seeds=seeds,
        manifest=verdict.manifest,
        waived=[f for r in results for f in r.findings if f.waived_by is not None],
        evidence_html=evidence_html,
    )


def evidence_html(finding: Finding) -> Any:
    """The finding's text inside its sentence (or its own text), the text itself highlighted."""
    ev = finding.evidence
    text, sentence = ev.get("text"), ev.get("sentence")
    if isinstance(sentence, str) and isinstance(text, str) and text and text in sentence:
        before, _, after = sentence.partition(text)
        return jinja2.utils.markupsafe.Markup("{}<mark>{}</mark>{}").format(before, text, after)
    return text if isinstance(text, str) else ""


def write_report(directory: Path, verdict: Verdict, seeds: list[Mapping[str, Any]]) -> None:
    """Write index.html, results.json and junit.xml into directory, each atomically."""
    atomic_write_text(
        directory / "results.json", json.dumps(results_document(verdict), indent=2, sort_keys=True)
    )
    atomic_write(directory / "junit.xml", junit_xml(verdict))
    atomic_write_text(directory / "index.html", render_html(verdict, seeds))
