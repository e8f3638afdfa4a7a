"""The index's first screen: the blocking findings with their evidence under the verdict, the rules table with
passing and not-applicable rules folded, plurals in words, bar charts in HTML, and the policy in force."""

from __future__ import annotations

import re
from dataclasses import replace
from html import unescape
from pathlib import Path

from junitparser import JUnitXml, Skipped

from audit.records import CheckResult, Finding, Severity, Verdict
from audit.report import ReportLimits, junit_xml, render_html, results_document, verdict_sentence
from tests.test_report import _big_verdict, _manifest, _rule, _verdict

SEED = f"{1:064x}"  # the second seed of _manifest(): path s000001.txt


def _finding(rule_id: str, i: int, **evidence: object) -> Finding:
    return Finding(
        rule_id=rule_id,
        table="numbers",
        record_id=f"n-{rule_id}-{i}",
        seed_sha256=SEED,
        evidence={
            "text": "12",
            "sentence": f"Finding {i}: about 12 people <b>came</b>.",
            "sentence_span": {"start": 100, "end": 140},
            "span_start": 100 + len(f"Finding {i}: about "),
            "span_end": 102 + len(f"Finding {i}: about "),
            **evidence,
        },
    )


def _first_screen_verdict() -> Verdict:
    crit = replace(_rule("crit", Severity.CRITICAL, 0), findings=tuple(_finding("crit", i) for i in range(5)))
    nothing = _rule("nothing-to-check", Severity.CRITICAL, 0, n_checked=0)
    return Verdict(
        results=(
            crit,
            _rule("ok", Severity.CRITICAL, 0),
            nothing,
            _rule("warn", Severity.WARNING, 1),
        ),
        manifest=_manifest(),
    )


def _text(html: str) -> str:
    """The page's words, tags (and the style and script they hold) dropped and spaces collapsed."""
    html = re.sub(r"<(style|script)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _between(html: str, start: str, end: str) -> str:
    return html[html.index(start) : html.index(end, html.index(start))]


def test_blocking_findings_come_first_with_their_evidence() -> None:
    """Under the verdict, each failing critical rule shows its first findings: the sentence with the value highlighted, the seed path and the byte span."""
    v = _first_screen_verdict()
    html = render_html(v, v.manifest["seeds"], limits=ReportLimits(first_findings=2))
    blocking = _between(html, 'class="blocking"', 'id="rules"')
    assert html.index('id="verdict"') < html.index('class="blocking"') < html.index('id="rules"')
    assert blocking.count('<figure class="finding">') == 2  # the first two of five
    assert "n-crit-0" in blocking and "n-crit-1" in blocking and "n-crit-2" not in blocking
    assert 'Finding 0: about <span class="hl hl-num">12</span> people &lt;b&gt;came&lt;/b&gt;.' in blocking
    assert "s000001.txt" in blocking and "bytes [117, 119)" in blocking and SEED in blocking
    assert "All 5 findings of crit" in _text(blocking)
    assert "warn" not in blocking  # a warning does not block


def test_a_passing_verdict_has_no_blocking_section() -> None:
    """When nothing blocks, the verdict is followed by the rules, not by an empty blocking section."""
    v = Verdict(
        results=(_rule("ok", Severity.CRITICAL, 0), _rule("w", Severity.WARNING, 1)), manifest=_manifest()
    )
    html = render_html(v, v.manifest["seeds"])
    assert 'class="blocking"' not in html and "Publishable" in html


def test_passing_and_not_applicable_rules_are_folded() -> None:
    """Failing rules are in the open table; passing ones and those that checked nothing sit in closed <details>."""
    v = _first_screen_verdict()
    html = render_html(v, v.manifest["seeds"])
    shown = _between(html, 'id="rules"', "<details")
    passing = _between(html, 'id="rules-passing"', "</details>")
    na = _between(html, 'id="rules-na"', "</details>")
    assert "<code>crit</code>" in shown and "<code>warn</code>" in shown and "<code>ok</code>" not in shown
    assert "<code>ok</code>" in passing and "nothing-to-check" not in passing
    assert "nothing-to-check" in na
    for fold in ('id="rules-passing"', 'id="rules-na"'):
        tag = html[html.rindex("<details", 0, html.index(fold)) : html.index(">", html.index(fold))]
        assert " open" not in tag
    assert "1 rule passes on every record checked" in _text(html)
    assert "1 rule not applicable: it checked 0 records" in _text(html)


def test_a_rule_that_checked_nothing_is_not_applicable_not_pass() -> None:
    """A critical rule over 0 records reads "not applicable" in the report and is a skipped case in junit.xml."""
    v = _first_screen_verdict()
    na = _between(render_html(v, v.manifest["seeds"]), 'id="rules-na"', "</details>")
    assert '<span class="out na">not applicable</span>' in na and "out pass" not in na
    cases = {c.name: c for s in JUnitXml.fromstring(junit_xml(v)) for c in s}
    assert isinstance(cases["nothing-to-check"].result[0], Skipped)
    assert cases["ok"].is_passed and not cases["ok"].is_skipped
    assert 'skipped="1"' in junit_xml(v).decode()


def test_plurals_are_words_not_parentheses() -> None:
    """Counts agree with their nouns and verbs everywhere on the index: "1 finding", "2 findings", "1 seed"."""
    one = Verdict(results=(_rule("crit", Severity.CRITICAL, 1),), manifest=_manifest(1))
    two = _verdict()
    assert verdict_sentence(one) == "Not publishable: 1 critical rule fails: crit (1 record)."
    assert verdict_sentence(two).startswith("Not publishable: 2 critical rules fail: ")
    passing = Verdict(results=(_rule("w", Severity.WARNING, 1),), manifest=_manifest(1))
    assert (
        verdict_sentence(passing)
        == "Publishable: no critical rule fails; 1 non-blocking rule has findings to read."
    )
    for v in (one, two, _big_verdict(10, 1, 1), _big_verdict(10, 2, 3)):
        text = _text(render_html(v, v.manifest["seeds"]))
        assert "(s)" not in text
        assert not re.search(r"\b1 (findings|records|rules|seeds|seed files)\b", text), text
    text = _text(render_html(one, one.manifest["seeds"]))
    assert (
        "1 seed file (1 extracted)" in text
        and "unwaived finding" in text
        and "1 finding in 100 records checked" in text
    )
    assert "1 of 1 seed file has findings" in text


def test_charts_are_html_bars_with_their_counts_in_words() -> None:
    """The index's charts are HTML lists (they reflow to a phone's width), each bar's counts written beside it."""
    v = _verdict()
    html = render_html(v, v.manifest["seeds"])
    assert "<svg" not in html and html.count('<ol class="bars"') == 2
    assert '<span class="lbl">crit</span>' in html and "3 of 100 fail" in html
    assert '<a href="#rule-crit">' in html


def test_policy_in_force_is_shown_when_results_carry_it() -> None:
    """The gate policy (severity overrides, tolerances) and the suites' origin in results.json appear as "Policy in force"; without them, no block."""
    v = _first_screen_verdict()
    gate = {
        "source": "pyproject.toml [tool.news-audit]",
        "fail_on": "critical",
        "rules": {
            "warn": {"severity": "critical", "max_rate": 0.02, "per": "article"},
            "crit": {"severity": "warning"},
        },
        "applied": {
            "warn": {
                "suite_severity": "warning",
                "severity": "critical",
                "why": ["overridden", "2% per article"],
            }
        },
    }
    v = replace(v, manifest={**v.manifest, "suites_origin": "packaged", "gate": gate})
    html = render_html(v, v.manifest["seeds"])
    text = _text(html)
    block = text[text.index("Policy in force Where the suites") :]
    assert "suites packaged" in block and "settings file pyproject.toml [tool.news-audit]" in block
    assert "blocks publishing from critical" in block
    assert "Per-rule policy rule severity max_rate per warn critical 0.02 article crit warning — —" in block
    assert (
        "Applied to this run's results rule suite_severity severity why warn warning critical overridden; 2% per article"
        in block
    )
    rules = _between(html, 'id="rules"', 'id="policy-in-force"')
    assert (
        "(suite: warning)" not in rules
    )  # results hold the effective severity: warn is still a warning here
    moved = replace(
        v,
        results=tuple(
            replace(r, severity=Severity.CRITICAL) if r.rule_id == "warn" else r for r in v.results
        ),
    )
    rules = _between(render_html(moved, v.manifest["seeds"]), 'id="rules"', 'id="policy-in-force"')
    assert "(suite: warning)" in rules  # the rule the policy moved says where it came from
    plain = _first_screen_verdict()
    assert "Policy in force" not in render_html(plain, plain.manifest["seeds"])


def test_policy_in_force_tolerates_any_shape() -> None:
    """A top-level policy or suites_origin of any JSON shape is shown, never an error."""
    v = _first_screen_verdict()
    odd = {**results_document(v), "policy": ["x", {"y": [1, {"z": None}]}], "suites_origin": {"path": "e/"}}
    text = _text(render_html(v, v.manifest["seeds"], document=odd))
    assert "suites path e/" in text and '{"y": [1, {"z": null}]}' in text
    unset = {**results_document(v), "policy": {"source": None, "rules": {}}}
    text = _text(render_html(v, v.manifest["seeds"], document=unset))
    assert "settings file none: the built-in defaults" in text and "Per-rule policy" not in text


def test_written_report_takes_its_policy_from_results_json(tmp_path: Path) -> None:
    """write_report's index and results.json are made from one document, so what results.json records is what the index shows."""
    from audit.report import write_report

    v = _first_screen_verdict()
    write_report(tmp_path, v, v.manifest["seeds"])
    index = (tmp_path / "index.html").read_text()
    assert "not applicable" in index and "Policy in force" not in index


def test_findings_without_evidence_still_name_their_seed() -> None:
    """A blocking finding past the evidence limit still shows its seed path and record, and says where to look."""
    crit = CheckResult(
        rule_id="crit",
        table="seeds",
        severity=Severity.CRITICAL,
        expectation_type="expect_x",
        description="d",
        kwargs={},
        n_checked=3,
        findings=(Finding(rule_id="crit", table="seeds", record_id="s-1", seed_sha256=SEED),),
    )
    v = Verdict(results=(crit,), manifest=_manifest())
    blocking = _between(render_html(v, v.manifest["seeds"]), 'class="blocking"', 'id="rules"')
    assert "s000001.txt" in blocking and "s-1" in blocking and "no evidence kept" in blocking


def test_blocking_rules_come_in_reading_order() -> None:
    """The blocking rule with the most findings comes first under the verdict, whatever the suites' order."""
    few = _rule("few", Severity.CRITICAL, 1)
    many = replace(_rule("many", Severity.CRITICAL, 0), findings=tuple(_finding("many", i) for i in range(4)))
    v = Verdict(results=(few, many), manifest=_manifest())
    blocking = _between(render_html(v, v.manifest["seeds"]), 'class="blocking"', 'id="rules"')
    assert blocking.index("<code>many</code>") < blocking.index("<code>few</code>")
