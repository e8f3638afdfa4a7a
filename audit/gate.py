"""The gate: the policy in force (severity overrides, tolerances, --fail-on) -> effective severities -> exit code.

Pure: records in, records out. Severity is the one thing that decides blocking (critical blocks), so a
policy acts by changing a rule's severity for this run, and records why:

1. ``severity`` in ``[rules.RULE]`` replaces the suite's;
2. a tolerance lowers a rule to ``within`` (default warning) while its findings stay within it; over it,
   the rule keeps its severity. A dataset-wide ``max-rate`` on a rule Great Expectations can give
   ``mostly`` is not judged here: ``policy.with_tolerances`` writes it into the suite as ``mostly``, and
   GX passes the rule (no findings) while the rate holds;
3. ``--fail-on warning`` then makes every rule still at warning critical (so a tolerance meant to let a
   rule pass under it says ``within = "info"``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from audit.errors import ExitCode
from audit.records import CheckResult, Severity, Verdict

# expectation families Great Expectations gives a ``mostly`` (row by row, so a failing share means something)
MOSTLY_PREFIXES = (
    "expect_column_values_",
    "expect_column_value_",
    "expect_column_pair_values_",
    "expect_multicolumn_values_",
    "expect_select_column_values_",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Tolerance:
    """How many findings a rule may have before its severity applies, over the dataset or in each article."""

    max_rate: float | None = None  # failing records / records checked (per article: / the article's records)
    max_count: int | None = None
    per: str = "dataset"  # or "article"
    within: Severity = Severity.WARNING  # the rule's severity while within the tolerance

    def describe(self) -> str:
        """The tolerance in words, e.g. "at most 2% of each article's records"."""
        limits = []
        if self.max_rate is not None:
            limits.append(f"{self.max_rate:.4g} of")
        if self.max_count is not None:
            limits.append(f"{self.max_count} of")
        scope = "each article's records" if self.per == "article" else "the records checked"
        return f"at most {' and '.join(limits)} {scope} fail"


@dataclass(frozen=True, slots=True, kw_only=True)
class RulePolicy:
    """One rule's policy: a severity replacing the suite's, and a tolerance."""

    severity: Severity | None = None
    tolerance: Tolerance | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GatePolicy:
    """The policy in force: per-rule policies, the severity that blocks, and the file it came from."""

    rules: Mapping[str, RulePolicy] = field(default_factory=dict)
    fail_on: Severity = Severity.CRITICAL
    source: str | None = None

    def uses_mostly(self, rule_id: str, expectation_type: str) -> bool:
        """Whether this rule's tolerance is GX's ``mostly``: a dataset rate on a row-by-row expectation."""
        tolerance = self.rules.get(rule_id, RulePolicy()).tolerance
        return (
            tolerance is not None
            and tolerance.per == "dataset"
            and tolerance.max_rate is not None
            and expectation_type.startswith(MOSTLY_PREFIXES)
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ArticleCounts:
    """A table's records per article, and the article of each failing record (for per-article tolerances)."""

    article_of: Mapping[str, str]
    n_records: Mapping[str, int]


def apply_gate(
    results: Sequence[CheckResult],
    policy: GatePolicy,
    articles: Mapping[str, ArticleCounts] | None = None,
) -> tuple[tuple[CheckResult, ...], dict[str, dict[str, Any]]]:
    """Each result at its effective severity, and what the policy did to each rule it touched, by rule_id.

    ``articles``: for rules with a per-article tolerance, their table's counts (keyed by rule_id).
    """
    out, applied = [], {}
    for r in results:
        rule = policy.rules.get(r.rule_id, RulePolicy())
        severity, why = r.severity, []
        if rule.severity is not None and rule.severity is not severity:
            severity = rule.severity
            why.append(f"severity {rule.severity.value} (suite: {r.severity.value})")
        tolerance = rule.tolerance
        if tolerance is not None and not policy.uses_mostly(r.rule_id, r.expectation_type):
            over = _over(r, tolerance, (articles or {}).get(r.rule_id))
            if over is None and not r.passed:
                severity = tolerance.within
                why.append(f"within tolerance ({tolerance.describe()}): {tolerance.within.value}")
            elif over is not None:
                why.append(f"over tolerance ({tolerance.describe()}): {over}")
        elif tolerance is not None:
            why.append(f"GX mostly = {1 - (tolerance.max_rate or 0):.4g} ({tolerance.describe()})")
        if policy.fail_on is Severity.WARNING and severity is Severity.WARNING:
            severity = Severity.CRITICAL
            why.append("fail-on warning")
        if why:
            applied[r.rule_id] = {"suite_severity": r.severity.value, "severity": severity.value, "why": why}
        out.append(r if severity is r.severity else dataclasses.replace(r, severity=severity))
    return tuple(out), applied


def _over(r: CheckResult, tolerance: Tolerance, counts: ArticleCounts | None) -> str | None:
    """Why the rule's findings exceed the tolerance, or None when they stay within it."""
    if r.error is not None:
        return "the rule could not run"
    if tolerance.per == "dataset":
        if tolerance.max_count is not None and r.n_failed > tolerance.max_count:
            return f"{r.n_failed} failing records"
        if tolerance.max_rate is not None and r.n_failed > tolerance.max_rate * max(1, r.n_checked):
            return f"{r.n_failed} of {r.n_checked} records fail"
        return None
    failing: dict[str, int] = {}
    for f in r.findings:
        if f.waived_by is None:
            article = counts.article_of.get(f.record_id, f.record_id) if counts else f.record_id
            failing[article] = failing.get(article, 0) + 1
    worst = [
        (article, n)
        for article, n in sorted(failing.items())
        if _article_over(n, (counts.n_records.get(article, n) if counts else n), tolerance)
    ]
    if not worst:
        return None
    article, n = worst[0]
    total = counts.n_records.get(article, n) if counts else n
    more = f" and {len(worst) - 1} more" if len(worst) > 1 else ""
    return f"article {article}: {n} of {total} records fail{more}"


def _article_over(n_failed: int, n_records: int, tolerance: Tolerance) -> bool:
    if tolerance.max_count is not None and n_failed > tolerance.max_count:
        return True
    return tolerance.max_rate is not None and n_failed > tolerance.max_rate * max(1, n_records)


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
