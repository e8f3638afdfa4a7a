"""The report: results.json keeps its schema, junit.xml parses, highlights nest and escape, size grows with findings."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest
from junitparser import Error, Failure, JUnitXml

from audit.records import CheckResult, DateMention, Finding, LapsedWaiver, Severity, Span, Verdict, Waiver
from audit.report import (
    Mark,
    ReportLimits,
    SeedPage,
    junit_xml,
    ordered_results,
    record_from_row,
    render_marked,
    results_document,
    timeline_svg,
    write_report,
)

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "schemas" / "results.schema.json").read_text())
SHA = "ab" * 32


def _rule(rule_id: str, severity: Severity, n_failed: int, n_checked: int = 100, **kw) -> CheckResult:
    findings = tuple(
        Finding(
            rule_id=rule_id,
            table="numbers",
            record_id=f"n-{rule_id}-{i}",
            seed_sha256=SHA if i % 2 else "cd" * 32,
            evidence={"text": "12", "sentence": "About 12 people <b>came</b>.", "span_start": 6},
        )
        for i in range(n_failed)
    )
    return CheckResult(
        rule_id=rule_id,
        table="numbers",
        severity=severity,
        expectation_type="expect_x",
        description=f"{rule_id} holds.",
        kwargs={"column": "x"},
        n_checked=n_checked,
        findings=findings,
        **kw,
    )


def _manifest(n_seeds: int = 2) -> dict:
    seeds = [
        {
            "path": f"s{i:06}.txt",
            "seed_sha256": f"{i:064x}",
            "size_bytes": 10,
            "status": "extracted",
            "reason": None,
        }
        for i in range(n_seeds)
    ]
    return {
        "tool": {"name": "news-audit", "version": "0.1.0"},
        "seeds": seeds,
        "tables": {"numbers": {"file": "numbers.parquet", "sha256": "0" * 64, "n_rows": 5}},
        "run": {
            "started_at": "2026-01-01T00:00:00+00:00",
            "finished_at": "2026-01-01T00:00:01+00:00",
            "duration_s": 1.0,
        },
    }


def _verdict() -> Verdict:
    waiver = Waiver(
        rule_id="warn",
        record_id="n-warn-0",
        seed_sha256="cd" * 32,
        reason="known",
        expires=dt.date(2099, 1, 1),
    )
    warn = _rule("warn", Severity.WARNING, 2)
    warn = replace(warn, findings=(replace(warn.findings[0], waived_by=waiver), warn.findings[1]))
    return Verdict(
        results=(
            _rule("ok", Severity.CRITICAL, 0),
            warn,
            _rule("crit", Severity.CRITICAL, 3),
            _rule("broken", Severity.CRITICAL, 0, error="boom \x00 <bad>"),
            _rule("info", Severity.INFO, 1),
        ),
        lapsed_waivers=(
            LapsedWaiver(
                waiver=Waiver(
                    rule_id="crit",
                    record_id="n-x",
                    seed_sha256=SHA,
                    reason="old",
                    expires=dt.date(2000, 1, 1),
                ),
                why="expired 2000-01-01",
            ),
        ),
        manifest=_manifest(),
    )


def test_results_document_matches_its_schema() -> None:
    """results.json of a verdict with passes, failures, an error, a waiver and a lapsed waiver is valid under its schema."""
    doc = json.loads(json.dumps(results_document(_verdict())))
    jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(doc)
    assert doc["verdict"] == "failed" and doc["summary"].startswith("Not publishable")
    assert "broken (could not run)" in doc["summary"] and "crit (3 records)" in doc["summary"]


def test_schema_rejects_a_wrong_document() -> None:
    """The schema is not vacuous: a rule without its failing ids, or an unknown severity, is rejected."""
    doc = json.loads(json.dumps(results_document(_verdict())))
    del doc["rules"][0]["failed_ids"]
    with pytest.raises(jsonschema.ValidationError, match="failed_ids"):
        jsonschema.validate(doc, SCHEMA)
    doc = json.loads(json.dumps(results_document(_verdict())))
    doc["rules"][0]["severity"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, SCHEMA)


def test_rules_are_ordered_by_severity_then_failures() -> None:
    """Critical before warning before info; within a severity, failing (and errored) rules first, most findings first."""
    order = [r.rule_id for r in ordered_results(_verdict())]
    assert order == ["crit", "broken", "ok", "warn", "info"]


def test_junit_has_one_case_per_rule_and_parses(tmp_path: Path) -> None:
    """junit.xml parses with junitparser; a failing critical rule is a failure, one that could not run an error."""
    path = tmp_path / "junit.xml"
    path.write_bytes(junit_xml(_verdict()))
    cases = {case.name: case for suite in JUnitXml.fromfile(str(path)) for case in suite}
    assert set(cases) == {"ok", "warn", "crit", "broken", "info"}
    assert isinstance(cases["crit"].result[0], Failure) and isinstance(cases["broken"].result[0], Error)
    assert (
        cases["ok"].is_passed and cases["warn"].is_passed and "\x00" not in cases["broken"].result[0].message
    )


def _balanced(html: str) -> list[str]:
    """Parse html and return any tag-balance problems (empty when well nested)."""
    problems: list[str] = []
    stack: list[str] = []

    class P(HTMLParser):
        def handle_starttag(self, tag, attrs):
            stack.append(tag)

        def handle_endtag(self, tag):
            if not stack or stack.pop() != tag:
                problems.append(tag)

    P().feed(html)
    return problems + stack


def test_crossing_marks_nest_and_content_is_escaped() -> None:
    """Overlapping and crossing spans render as balanced elements; seed markup stays text; only the first fragment has the id."""
    data = b"<b>one</b> two three"
    marks = [
        Mark(start=0, end=14, layer=0, css="blk"),
        Mark(start=3, end=18, layer=1, css="m", record_id="n-1"),
        Mark(start=11, end=20, layer=1, css="m", record_id="d-1", tag="needs <x>"),
    ]
    html = str(render_marked(data, "utf-8", 0, len(data), marks))
    assert _balanced(html) == [] and "<b>" not in html and "&lt;b&gt;" in html
    assert html.count('id="m-n-1"') == 1 and html.count('data-r="n-1"') == 2
    assert 'data-tag="needs &lt;x&gt;"' in html


def test_control_characters_are_shown_as_pictures() -> None:
    """NUL, ESC and BEL bytes become visible symbols, not raw control characters in the page."""
    html = str(render_marked(b"a\x00b\x1bc\x07", "utf-8", 0, 6, []))
    assert html == "a\u2400b\u241bc\u2407"


def test_record_from_row_restores_spans_and_tuples() -> None:
    """A table row (span structs, lists, extra columns) becomes the record it was written from."""
    row = {
        "date_id": "d-1",
        "article_id": "a",
        "seed_sha256": SHA,
        "span_start": 0,
        "span_end": 2,
        "text": "x",
        "resolved": dt.date(2024, 1, 1),
        "resolved_end": None,
        "resolution": "iso",
        "anchor": None,
        "anchor_kind": None,
        "role": "event",
        "block_kind": "body",
        "record_sha256": "z",
        "span_ok": True,
    }
    d = record_from_row(DateMention, row)
    assert d.date_id == "d-1" and d.resolved == dt.date(2024, 1, 1)
    page = SeedPage.from_rows({"seed_sha256": SHA, "path": "p", "size_bytes": 2}, b"xy", {"dates": [row]})
    assert page.dates == (d,) and page.numbers == ()
    assert record_from_row(Span, {"start": 1, "end": 2}) == Span(start=1, end=2)


def _big_verdict(n_checked: int, n_failed: int, n_seeds: int) -> Verdict:
    findings = tuple(
        Finding(
            rule_id="big",
            table="numbers",
            record_id=f"n-{i}",
            seed_sha256=f"{i % n_seeds:064x}",
            evidence={"text": str(i)} if i < 2000 else {},
        )
        for i in range(n_failed)
    )
    rule = CheckResult(
        rule_id="big",
        table="numbers",
        severity=Severity.CRITICAL,
        expectation_type="expect_x",
        description="d",
        kwargs={},
        n_checked=n_checked,
        findings=findings,
    )
    manifest = _manifest(n_seeds)
    return Verdict(results=(rule, _rule("fine", Severity.WARNING, 0, n_checked)), manifest=manifest)


def _pages_dir_size(d: Path) -> int:
    return sum(p.stat().st_size for p in d.rglob("*.html"))


@pytest.mark.parametrize("n_checked", [1_000, 1_000_000])
def test_report_size_grows_with_findings_not_records(tmp_path: Path, n_checked: int) -> None:
    """With 100k seeds and 1,200 findings, the index stays small and the HTML total depends on findings, not rows checked."""
    v = _big_verdict(n_checked, 1_200, 100_000)
    seeds = v.manifest["seeds"]
    write_report(tmp_path, v, seeds, pages=None, limits=ReportLimits(findings_per_page=500))
    index = (tmp_path / "index.html").stat().st_size
    assert index < 300_000
    assert sorted(p.name for p in (tmp_path / "findings").iterdir()) == ["big.html"]
    assert sorted(p.name for p in (tmp_path / "manifest").iterdir()) == ["seeds.html"]
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["findings-big.js", "seeds.js"]
    text = (tmp_path / "index.html").read_text()
    assert "Showing 20 of 1,200" in text and "Showing the 200 seeds with the most findings" in text
    assert 'href="findings/big.html#page-3"' in text and 'href="manifest/seeds.html"' in text
    # a finding without evidence costs its id and its seed's row number: ["n-1234",1234],
    assert (tmp_path / "data" / "findings-big.js").stat().st_size < 1_200 * 40


def test_seed_pages_are_bounded(tmp_path: Path) -> None:
    """Pages are written for every seed with findings plus at most clean_seed_pages others, and the index says so."""
    v = _big_verdict(10, 3, 50)
    asked: list[str] = []

    def load(shas: Sequence[str]) -> Iterator[tuple[str, SeedPage]]:
        for sha in shas:
            asked.append(sha)
            yield (
                sha,
                SeedPage(
                    seed_sha256=sha,
                    path=f"{sha[-3:]}.txt",
                    size_bytes=3,
                    format="plain-text",
                    encoding="utf-8",
                    data=b"a<b",
                ),
            )

    write_report(tmp_path, v, v.manifest["seeds"], pages=load, limits=ReportLimits(clean_seed_pages=4))
    assert len(asked) == 3 + 4 and len(list((tmp_path / "seeds").iterdir())) == 7
    assert (
        "Pages were written for 7 seeds: every seed with findings (3) and 4 without (at most 4)"
        in " ".join((tmp_path / "index.html").read_text().split())
    )
    assert "a&lt;b" in (tmp_path / "seeds" / f"{asked[0]}.html").read_text()


def test_timeline_marks_dates_and_conflicts() -> None:
    """An article's timeline names publication and capture, links each event, and marks conflicts."""
    from audit.records import Article

    a = Article(
        article_id="a-1",
        seed_sha256=SHA,
        format="x",
        language="en",
        title="T <i>",
        title_span=None,
        byline=None,
        byline_span=None,
        publisher=None,
        publisher_span=None,
        section=None,
        section_span=None,
        published_at=dt.date(2024, 3, 5),
        published_text=None,
        published_span=None,
        published_method=None,
        captured_at=dt.date(2024, 3, 9),
        captured_text=None,
        captured_span=None,
        captured_method=None,
        updated_at=None,
        date_conflicts=("event after publication",),
        canonical_url=None,
        body="",
        body_spans=(),
        n_paragraphs=0,
    )
    d = record_from_row(
        DateMention,
        {
            "date_id": "d-1",
            "article_id": "a-1",
            "seed_sha256": SHA,
            "span_start": 0,
            "span_end": 1,
            "text": "<April 1>",
            "resolved": dt.date(2024, 4, 1),
            "resolved_end": None,
            "resolution": "iso",
            "anchor": None,
            "anchor_kind": None,
            "role": "event",
            "block_kind": "body",
        },
    )
    svg = str(timeline_svg(a, [d], {"d-1": "flagged"}))
    assert "published 2024-03-05" in svg and "captured 2024-03-09" in svg and 'class="key conflict"' in svg
    assert 'href="#r-d-1"' in svg and "&lt;April 1&gt;" in svg and "<i>" not in svg
    assert timeline_svg(a, [], {}) is not None


def test_real_run_results_and_junit(tmp_path: Path) -> None:
    """A real run over the sample and the payload seeds writes a schema-valid results.json and a junit.xml CI can read."""
    import shutil

    from audit.cli import main
    from tests.conftest import SAMPLE

    seeds = tmp_path / "seeds"
    shutil.copytree(Path(__file__).parent / "data" / "report" / "seeds", seeds)
    shutil.copy(SAMPLE, seeds / SAMPLE.name)
    suites = Path(__file__).parent / "data" / "report" / "suites"
    args = [
        "run",
        str(seeds),
        "--tables",
        str(tmp_path / "t"),
        "--report",
        str(tmp_path / "r"),
        "--suites",
        str(suites),
    ]
    assert main([*args, "--jobs", "1"]) == 1
    doc = json.loads((tmp_path / "r" / "results.json").read_text())
    jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(doc)
    cases = [c for suite in JUnitXml.fromfile(str(tmp_path / "r" / "junit.xml")) for c in suite]
    assert sorted(c.name for c in cases) == sorted(r["rule_id"] for r in doc["rules"])
    assert len(list((tmp_path / "r" / "seeds").iterdir())) == 3
