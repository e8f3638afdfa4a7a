"""The gate: severity overrides, tolerances (dataset, per article, GX mostly) and --fail-on, on records."""

from __future__ import annotations

from audit.gate import ArticleCounts, GatePolicy, RulePolicy, Tolerance, apply_gate, exit_code_for
from audit.records import CheckResult, Finding, Severity, Verdict


def _result(rule_id: str, severity: Severity, failing: list[str], n_checked: int = 100) -> CheckResult:
    return CheckResult(
        rule_id=rule_id,
        table="numbers",
        severity=severity,
        expectation_type="expect_column_values_to_be_in_set",
        description="d",
        kwargs={},
        n_checked=n_checked,
        findings=tuple(
            Finding(rule_id=rule_id, table="numbers", record_id=r, seed_sha256="0" * 64) for r in failing
        ),
    )


def _gate(results: list[CheckResult], policy: GatePolicy, articles: dict[str, ArticleCounts] | None = None) -> Verdict:
    gated, _ = apply_gate(results, policy, articles)
    return Verdict(results=gated)


def test_severity_override_decides_blocking() -> None:
    """A warning made critical blocks; a critical made warning does not."""
    up = GatePolicy(rules={"r": RulePolicy(severity=Severity.CRITICAL)})
    down = GatePolicy(rules={"r": RulePolicy(severity=Severity.WARNING)})
    assert not _gate([_result("r", Severity.WARNING, ["a"])], up).passed
    assert _gate([_result("r", Severity.CRITICAL, ["a"])], down).passed


def test_fail_on_warning_blocks_warnings_not_info() -> None:
    """--fail-on warning makes failing warnings block; info still never blocks."""
    policy = GatePolicy(fail_on=Severity.WARNING)
    assert not _gate([_result("w", Severity.WARNING, ["a"])], policy).passed
    assert _gate([_result("i", Severity.INFO, ["a"])], policy).passed
    assert _gate([_result("w", Severity.WARNING, ["a"])], GatePolicy()).passed


def test_dataset_count_tolerance() -> None:
    """max-count per dataset: within it the rule is a warning, over it critical again."""
    policy = GatePolicy(rules={"r": RulePolicy(tolerance=Tolerance(max_count=2))})
    within, applied = apply_gate([_result("r", Severity.CRITICAL, ["a", "b"])], policy)
    assert within[0].severity is Severity.WARNING and "within tolerance" in applied["r"]["why"][0]
    over, applied = apply_gate([_result("r", Severity.CRITICAL, ["a", "b", "c"])], policy)
    assert over[0].severity is Severity.CRITICAL and "3 failing records" in applied["r"]["why"][0]


def test_dataset_rate_on_a_rule_without_mostly_is_judged_here() -> None:
    """A rate on an expectation GX gives no ``mostly`` is judged from the counts."""
    policy = GatePolicy(rules={"r": RulePolicy(tolerance=Tolerance(max_rate=0.05))})
    table_rule = _result("r", Severity.CRITICAL, ["a"], n_checked=40)
    table_rule = CheckResult(**{**_fields(table_rule), "expectation_type": "expect_table_row_count_to_be_between"})
    assert _gate([table_rule], policy).passed  # 1/40 = 2.5% <= 5%
    assert policy.uses_mostly("r", "expect_column_values_to_be_in_set")
    assert not policy.uses_mostly("r", "expect_table_row_count_to_be_between")


def _fields(r: CheckResult) -> dict[str, object]:
    return {k: getattr(r, k) for k in ("rule_id", "table", "severity", "expectation_type", "description", "kwargs", "n_checked", "findings")}


def test_per_article_rate() -> None:
    """per article: blocks when any one article's failing share is over the rate, whatever the dataset's."""
    policy = GatePolicy(rules={"r": RulePolicy(tolerance=Tolerance(max_rate=0.02, per="article"))})
    counts = ArticleCounts(article_of={"a1": "big", "b1": "small"}, n_records={"big": 100, "small": 10})
    ok, _ = apply_gate([_result("r", Severity.CRITICAL, ["a1"])], policy, {"r": counts})  # 1% of big
    assert ok[0].severity is Severity.WARNING
    bad, applied = apply_gate([_result("r", Severity.CRITICAL, ["b1"])], policy, {"r": counts})  # 10% of small
    assert bad[0].severity is Severity.CRITICAL
    assert applied["r"]["why"] == [
        "over tolerance (at most 0.02 of each article's records fail): article small: 1 of 10 records fail"
    ]


def test_tolerance_then_fail_on() -> None:
    """fail-on applies to the severity a tolerance left: within = "info" keeps a tolerated rule passing."""
    warn = GatePolicy(rules={"r": RulePolicy(tolerance=Tolerance(max_count=5))}, fail_on=Severity.WARNING)
    info = GatePolicy(
        rules={"r": RulePolicy(tolerance=Tolerance(max_count=5, within=Severity.INFO))}, fail_on=Severity.WARNING
    )
    assert not _gate([_result("r", Severity.CRITICAL, ["a"])], warn).passed
    assert _gate([_result("r", Severity.CRITICAL, ["a"])], info).passed


def test_waived_findings_do_not_count_and_exit_codes() -> None:
    """Rules untouched by the policy keep their result object; exit codes follow the verdict."""
    r = _result("r", Severity.CRITICAL, [])
    gated, applied = apply_gate([r], GatePolicy())
    assert gated[0] is r and applied == {}
    assert int(exit_code_for(Verdict(results=gated))) == 0
    assert int(exit_code_for(_gate([_result("r", Severity.CRITICAL, ["x"])], GatePolicy()))) == 1
