"""Verdict -> exit code, pure."""

from __future__ import annotations

from audit.errors import ExitCode
from audit.records import Verdict


def exit_code_for(verdict: Verdict) -> ExitCode:
    """0 when no critical rule fails after waivers (warnings allowed), 1 otherwise."""
    return ExitCode.PASSED if verdict.passed else ExitCode.GATE_FAILED


def summary_line(verdict: Verdict) -> str:
    """One line for the terminal: the verdict and the counts behind it."""
    n_rules = len(verdict.results)
    failed = [r for r in verdict.results if not r.passed]
    critical = verdict.failed_critical
    state = "PASSED" if verdict.passed else "FAILED"
    return (
        f"audit {state}: {n_rules} rules, {len(failed)} failing "
        f"({len(critical)} critical: {', '.join(r.rule_id for r in critical) or 'none'})"
    )
