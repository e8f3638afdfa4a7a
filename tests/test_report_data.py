"""The report's data files: every finding and every seed is in them, and each row carries what the HTML row
shows (the browser tests check the rendering in tests/test_report_browser.py)."""

from __future__ import annotations

import json
from dataclasses import replace
from html import escape
from pathlib import Path
from typing import Any

import pytest

from audit.records import Finding, Severity, Verdict
from audit.report import ReportLimits, evidence_html, write_report
from audit.report.data import (
    data_script,
    finding_rows,
    findings_data,
    read_data_script,
    seed_table,
)
from tests.test_report import _big_verdict, _manifest, _rule, _verdict

EVERYTHING = ReportLimits(findings_inline=0, seeds_inline=0)  # every list goes to the data files


def _data(path: Path) -> Any:
    return read_data_script(path.read_text(encoding="ascii"))[1]


def _listed(report: Path) -> dict[str, tuple[list[str], list[str]]]:
    """Per rule, the unwaived and the waived record ids its data file lists."""
    out = {}
    for path in sorted((report / "data").glob("findings-*.js")):
        doc = _data(path)
        rows = finding_rows(doc)
        unwaived = [rid for rid, _, ev in rows if not ev or "w" not in ev]
        waived = [rid for rid, _, ev in rows if ev and "w" in ev]
        out[doc["rule_id"]] = (unwaived, waived)
    return out


def test_every_finding_is_in_the_data_files(tmp_path: Path) -> None:
    """The ids in the findings data files are results.json's failing ids and waived ids, rule by rule, in order."""
    v = _verdict()
    write_report(tmp_path, v, v.manifest["seeds"], limits=EVERYTHING)
    results = json.loads((tmp_path / "results.json").read_text())
    expected = {
        r["rule_id"]: (r["failed_ids"], [w["record_id"] for w in r["waived"]])
        for r in results["rules"]
        if r["failed_ids"] or r["waived"]
    }
    assert _listed(tmp_path) == expected
    assert sum(len(u) for u, _ in expected.values()) == sum(r["n_failed"] for r in results["rules"])


def test_every_seed_is_in_the_seed_data(tmp_path: Path) -> None:
    """data/seeds.js lists every seed of the run once, with its sha256 and size, the ones with most findings first."""
    v = _big_verdict(100, 30, 10)
    write_report(tmp_path, v, v.manifest["seeds"], limits=EVERYTHING)
    doc = _data(tmp_path / "data" / "seeds.js")
    seeds = v.manifest["seeds"]
    assert [r[:3] for r in doc["rows"]] == [[s["path"], s["seed_sha256"], s["size_bytes"]] for s in seeds]
    assert sorted(doc["order"]) == list(range(len(seeds)))
    listed = [doc["rows"][i][3] for i in doc["order"]]
    assert listed == sorted(listed, reverse=True) and sum(listed) == 30


def test_a_finding_points_at_its_seed_row(tmp_path: Path) -> None:
    """Each finding's second field is the row of its seed in seeds.js (its path and sha256)."""
    v = _big_verdict(100, 30, 10)
    write_report(tmp_path, v, v.manifest["seeds"], limits=EVERYTHING)
    seeds = _data(tmp_path / "data" / "seeds.js")["rows"]
    doc = _data(tmp_path / "data" / "findings-big.js")
    by_id = {f.record_id: f.seed_sha256 for f in v.results[0].findings}
    rows = finding_rows(doc)
    assert [seeds[seed][1] for _, seed, _ in rows] == [by_id[rid] for rid, _, _ in rows]
    assert doc["prefix"] == "n-" and set(doc["seeds"][1:]) == {-9, 1}  # seed rows 0, 1, ..., 9, 0, 1, ...


def _ev_finding(i: int, **evidence: Any) -> Finding:
    return Finding(rule_id="r", table="numbers", record_id=f"n-{i}", seed_sha256="ab" * 32, evidence=evidence)


EVIDENCE = [
    {"text": "12", "sentence": "About 12 people <b>came</b>, 12 left.", "span_start": 6},
    # found by its byte span: the second 12, after a character outside the BMP (two UTF-16 units)
    {
        "text": "12",
        "sentence": "\U0001f600 12 came, 12 left",
        "sentence_span": {"start": 100, "end": 130},
        "span_start": 100 + len("\U0001f600 12 came, ".encode()),
        "span_end": 102 + len("\U0001f600 12 came, ".encode()),
        "kind": "count",
    },
    {"text": "99", "sentence": "not there"},
    {"text": "<only>"},
    {"title": "A <title>", "reason": "empty", "path": "x.txt"},
    {"sentence": "no text"},
]


def _from_data(doc: dict[str, Any], ev: dict[str, Any] | None) -> str:
    """A row's evidence cell as the report's script builds it, as HTML (the script sets text, never HTML)."""
    if not ev or "e" not in ev:
        return ""
    units = doc["sentences"][ev["e"][0]].encode("utf-16-le")
    if len(ev["e"]) == 1:
        return escape(units.decode("utf-16-le"), quote=True)
    at, n = 2 * ev["e"][1], 2 * ev["e"][2]
    before, text, after = (units[:at], units[at : at + n], units[at + n :])
    return (
        f'{escape(before.decode("utf-16-le"))}<span class="hl hl-num">{escape(text.decode("utf-16-le"))}</span>'
        f"{escape(after.decode('utf-16-le'))}"
    )


def test_data_evidence_is_the_evidence_the_html_shows() -> None:
    """The sentence and the highlighted place a data row keeps give the same evidence as the HTML row, outside the BMP too."""
    findings = tuple(_ev_finding(i, **ev) for i, ev in enumerate(EVIDENCE))
    rule = replace(_rule("r", Severity.WARNING, 0), findings=findings)
    doc = findings_data(rule, {})
    for f, (_, _, ev) in zip(findings, finding_rows(doc), strict=True):
        html = str(evidence_html(f)).replace("&#39;", "&#x27;").replace("&#34;", "&quot;")
        assert _from_data(doc, ev) == html, f.evidence
    second = doc["evidence"]["1"]
    assert second["e"][1:] == [12, 2]  # the second 12: the emoji is two UTF-16 units
    assert second["x"] == [["kind", "count"]] and second["b"] == [114, 116]
    assert doc["evidence"]["4"]["x"] == [["reason", "empty"]]


def test_a_sentence_is_stored_once() -> None:
    """Findings that share a sentence share its entry in the data file."""
    findings = tuple(_ev_finding(i, text="12", sentence="About 12 and 12.") for i in range(50))
    doc = findings_data(replace(_rule("r", Severity.WARNING, 0), findings=findings), {})
    assert doc["sentences"] == ["About 12 and 12."] and {e["e"][0] for e in doc["evidence"].values()} == {0}


def test_a_finding_without_a_seed_or_evidence_keeps_what_it_has() -> None:
    """No seed: null and its path; no evidence: no third field, or the waiver with n=1."""
    import datetime as dt

    from audit.records import Waiver

    waiver = Waiver(rule_id="r", record_id="n-2", seed_sha256=None, reason="ok", expires=dt.date(2099, 1, 1))
    findings = (
        Finding(rule_id="r", table="seeds", record_id="n-1", seed_sha256=None, evidence={"path": "bad.bin"}),
        Finding(rule_id="r", table="seeds", record_id="n-2", seed_sha256=None, waived_by=waiver),
        Finding(rule_id="r", table="seeds", record_id="n-3", seed_sha256="ef" * 32),
    )
    doc = findings_data(replace(_rule("r", Severity.WARNING, 0), findings=findings), {})
    assert finding_rows(doc) == [
        ("n-1", None, {"p": "bad.bin"}),
        ("n-2", None, {"w": ["ok", "2099-01-01"], "n": 1}),
        ("n-3", "ef" * 32, None),
    ]


def test_seed_rows_keep_a_rejected_seed_reason() -> None:
    """A rejected seed's row adds its reason and detail; a seed with a page says so; order is the list's."""
    seeds = [
        {"path": "b.bin", "seed_sha256": "b" * 64, "size_bytes": 9, "status": "rejected", "reason": "binary"},
        {"path": "a.txt", "seed_sha256": "a" * 64, "size_bytes": 3, "status": "extracted"},
    ]
    table, index = seed_table(seeds, [0, 2], [1, 0], {"a" * 64})
    rows = [["b.bin", "b" * 64, 9, 0, 0, "binary", ""], ["a.txt", "a" * 64, 3, 2, 1]]
    assert table == {"rows": rows, "order": [1, 0]}
    assert index == {"b" * 64: 0, "a" * 64: 1}


@pytest.mark.parametrize(
    "value", ["</script><script>alert(1)</script>", "\u2028\u2029 é \U0001f600", "a\x00b"]
)
def test_a_data_file_is_ascii_and_reads_back(value: str) -> None:
    """A data file is ASCII whatever its strings hold, and reads back to the same value."""
    text = data_script("findings", {"rows": [[value, 1]]})
    assert text.isascii()
    assert read_data_script(text) == ("findings", {"rows": [[value, 1]]})
    with pytest.raises(ValueError, match="not a report data file"):
        read_data_script("alert(1);\n")


def test_report_without_long_lists_writes_no_data(tmp_path: Path) -> None:
    """When every list fits on the index, there is no data folder and no page that would need one."""
    v = Verdict(results=(_rule("crit", Severity.CRITICAL, 3),), manifest=_manifest())
    write_report(tmp_path, v, v.manifest["seeds"])
    assert not (tmp_path / "data").exists() and not (tmp_path / "findings").exists()
    assert "'self'" not in (tmp_path / "index.html").read_text()
