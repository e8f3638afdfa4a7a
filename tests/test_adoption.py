"""A team's gate, end to end on the bundled sample (one unsourced figure, 1 of 15): tolerances and
severities from a settings file, --fail-on, the CI output (summary, JSON, GitHub annotations), waive."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from audit.cli import main
from tests.conftest import SAMPLE, SUITES

RULE = "number-has-source"


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One run of the sample: tables/ and report/ (the verdict fails on number-has-source)."""
    root = tmp_path_factory.mktemp("audited")
    (root / "seeds").mkdir()
    shutil.copy(SAMPLE, root / "seeds" / SAMPLE.name)
    args = ["run", str(root / "seeds"), "--tables", str(root / "tables"), "--report", str(root / "report")]
    assert main([*args, "--suites", str(SUITES), "--jobs", "1", "--no-config", "-q"]) == 1
    return root


def _validate(audited: Path, tmp_path: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    """Validate the audited tables again into tmp_path/report (settings file: tmp_path's, if any)."""
    args = ["validate", "--tables", str(audited / "tables"), "--report", str(tmp_path / "report")]
    code = main([*args, "--suites", str(SUITES), "--jobs", "1", "--reextract", "none", *extra])
    return code, json.loads((tmp_path / "report" / "results.json").read_text())


def _rule(doc: dict[str, Any], rule_id: str = RULE) -> dict[str, Any]:
    return next(r for r in doc["rules"] if r["rule_id"] == rule_id)


def _settings(tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "news-audit.toml").write_text(text)
    monkeypatch.chdir(tmp_path)


def test_per_article_tolerance_within(audited: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """1 of the article's 15 figures unsourced is within 10% per article: a warning, exit 0, recorded."""
    _settings(tmp_path, f"[rules.{RULE}]\nmax-rate = 0.1\nper = 'article'\n", monkeypatch)
    code, doc = _validate(audited, tmp_path)
    assert code == 0 and doc["verdict"] == "passed"
    assert _rule(doc)["severity"] == "warning" and _rule(doc)["n_failed"] == 1
    gate = doc["manifest"]["gate"]
    assert gate["source"] == str(tmp_path / "news-audit.toml")
    assert gate["rules"][RULE] == {"max_rate": 0.1, "per": "article", "within": "warning"}
    assert gate["applied"][RULE]["suite_severity"] == "critical"


def test_per_article_tolerance_over(audited: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Over 2% of an article's figures unsourced: the rule stays critical and the gate fails."""
    _settings(tmp_path, f"[rules.{RULE}]\nmax-rate = 0.02\nper = 'article'\n", monkeypatch)
    code, doc = _validate(audited, tmp_path)
    assert code == 1 and _rule(doc)["severity"] == "critical"
    assert "over tolerance" in doc["manifest"]["gate"]["applied"][RULE]["why"][0]


def test_dataset_rate_is_gx_mostly(audited: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A dataset-wide rate goes to Great Expectations as ``mostly``: the rule passes while it holds."""
    _settings(tmp_path, f"[rules.{RULE}]\nmax-rate = 0.1\n", monkeypatch)
    code, doc = _validate(audited, tmp_path)
    assert code == 0 and _rule(doc)["kwargs"]["mostly"] == 0.9 and _rule(doc)["passed"]


def test_fail_on_from_file_and_command_line(
    audited: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fail-on in the file makes the tolerated warning block; --fail-on critical on the command line wins."""
    _settings(tmp_path, f"fail-on = 'warning'\n[rules.{RULE}]\nmax-count = 3\n", monkeypatch)
    code, doc = _validate(audited, tmp_path)
    assert code == 1 and doc["manifest"]["gate"]["fail_on"] == "warning"
    code, doc = _validate(audited, tmp_path, "--fail-on", "critical")
    assert code == 0 and doc["manifest"]["gate"]["fail_on"] == "critical"


def test_unknown_rule_in_settings_exits_2(
    audited: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A rule id no suite has is exit 2 naming the file and the closest id."""
    _settings(tmp_path, "[rules.number-has-sorce]\nseverity = 'warning'\n", monkeypatch)
    args = ["validate", "--tables", str(audited / "tables"), "--report", str(tmp_path / "r")]
    assert main([*args, "--suites", str(SUITES)]) == 2
    assert f'rules.number-has-sorce: no rule has this id. Did you mean "{RULE}"?' in capsys.readouterr().err


def test_summary_names_rules_records_and_evidence(
    audited: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The text output lists each failing rule, then its record: seed path, byte span and sentence."""
    monkeypatch.setenv("COLUMNS", "300")
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    _validate(audited, tmp_path, "--no-config")
    out = capsys.readouterr().out.splitlines()
    i = next(n for n, line in enumerate(out) if line.startswith(f"CRITICAL {RULE} (numbers): 1 of "))
    assert out[i + 1].startswith(f"  {audited / 'seeds' / SAMPLE.name}:2238-2259  “Hundreds of thousands")
    assert not any(line.startswith("::") for line in out)


def test_quiet_prints_the_verdict_only(audited: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """-q: the verdict line and the report's path, nothing on stderr."""
    _validate(audited, tmp_path, "--no-config", "-q")
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 2 and captured.err == ""


def test_json_format_prints_the_summary(audited: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--format json: stdout is one JSON document with the verdict and the failing rules."""
    _validate(audited, tmp_path, "--no-config", "--format", "json")
    doc = json.loads(capsys.readouterr().out)
    assert doc["verdict"] == "failed" and doc["suites_origin"] == str(SUITES)
    assert {r["rule_id"]: r["n_failed"] for r in doc["failing"]}[RULE] == 1


def test_github_actions_annotations(
    audited: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under GitHub Actions each failing record is an annotation on its seed file, at its line."""
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    _validate(audited, tmp_path, "--no-config")
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("::")]
    seed = audited / "seeds" / SAMPLE.name
    line = SAMPLE.read_bytes()[:2238].count(b"\n") + 1
    assert any(
        a.startswith(f"::error file={seed},line={line},title={RULE} (critical)::") and "Hundreds" in a for a in lines
    )
    assert any(a.startswith("::notice ") for a in lines)  # the info rule's finding


def test_waive_writes_waivers_that_pass_the_gate(
    audited: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """waive writes a waiver pinned to the record's seed; with it the same tables pass."""
    waivers = tmp_path / "waivers.json"
    where = ["--report", str(audited / "report"), "--tables", str(audited / "tables"), "--waivers", str(waivers)]
    reason = "the figure is the agency's own estimate, quoted"
    assert main(["waive", RULE, "--records", "all", "--reason", reason, "--expires", "2099-12-31", *where]) == 0
    [waiver] = json.loads(waivers.read_text())["waivers"]
    assert waiver["rule_id"] == RULE and waiver["reason"] == reason and waiver["expires"] == "2099-12-31"
    assert waiver["seed_sha256"] == json.loads((audited / "tables" / "manifest.json").read_text())["seeds"][0]["seed_sha256"]
    code, doc = _validate(audited, tmp_path, "--no-config", "--waivers", str(waivers))
    assert code == 0 and _rule(doc)["n_waived"] == 1
    # the same record again replaces its waiver, it does not add one
    assert main(["waive", RULE, "--records", waiver["record_id"], "--reason", reason + "!", "--expires", "2099-01-01", *where]) == 0
    assert [w["expires"] for w in json.loads(waivers.read_text())["waivers"]] == ["2099-01-01"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "the following arguments are required: --reason"),
        (["--reason", "because"], "--reason 'because': too short"),
        (["--reason", "a long enough reason", "--expires", "2001-01-01"], "already past"),
        (["--reason", "a long enough reason", "--records", "n-nope"], "not a failing record of"),
    ],
)
def test_waive_refuses(
    audited: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    """waive refuses without a reason, with a past date or an unknown record: exit 2, nothing written."""
    args = {"--records": ["all"], "--expires": ["2099-12-31"]}
    for i in range(0, len(extra), 2):
        args[extra[i]] = [extra[i + 1]]
    flat = [word for key, values in args.items() for word in (key, *values)]
    where = ["--report", str(audited / "report"), "--tables", str(audited / "tables")]
    assert main(["waive", RULE, *flat, *where, "--waivers", str(tmp_path / "w.json")]) == 2
    err = capsys.readouterr().err
    assert message in err and not (tmp_path / "w.json").exists()
    if not extra:
        assert "usage: " in err and " waive " in err  # the sub-command's own usage


def test_publish_validates_under_the_settings_files_policy(
    audited: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """publish validates again with the settings file's tolerance (which the run's verdict was made with);
    without that file the same tables fail its own validation and nothing is released."""
    _settings(tmp_path, f"[rules.{RULE}]\nmax-rate = 0.1\nper = 'article'\n", monkeypatch)
    code, _ = _validate(audited, tmp_path)
    assert code == 0
    args = ["publish", "--tables", str(audited / "tables"), "--report", str(tmp_path / "report")]
    args += ["--suites", str(SUITES), "--jobs", "1"]
    assert main([*args, "--to", str(tmp_path / "strict"), "--no-config"]) == 1
    assert not (tmp_path / "strict" / "latest.json").exists()
    assert main([*args, "--to", str(tmp_path / "releases")]) == 0
    latest = json.loads((tmp_path / "releases" / "latest.json").read_text())
    released = tmp_path / "releases" / latest["release"] / "report" / "results.json"
    assert json.loads(released.read_text())["manifest"]["gate"]["rules"][RULE]["max_rate"] == 0.1
