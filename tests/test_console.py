"""Terminal and CI output: the failing-rules summary, annotations' escaping, progress; fast usage errors."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from audit import __version__
from audit.cli import main
from audit.console import Progress, github_annotations, summary_lines
from audit.records import CheckResult, Finding, Severity, Verdict
from tests.conftest import ROOT

SHA = "a" * 64


def _verdict(tmp_path: Path, n: int = 5, sentence: str = "The toll rose to 40, officials said.") -> Verdict:
    (tmp_path / "s").mkdir(exist_ok=True)
    (tmp_path / "s" / "x.txt").write_bytes(b"line one\nline two\n" + b"z" * 100)
    findings = tuple(
        Finding(
            rule_id="number-has-source",
            table="numbers",
            record_id=f"n-{i}",
            seed_sha256=SHA,
            evidence={"span_start": 12, "span_end": 14, "sentence": sentence, "text_sha256": None},
        )
        for i in range(n)
    )
    result = CheckResult(
        rule_id="number-has-source",
        table="numbers",
        severity=Severity.CRITICAL,
        expectation_type="expect_column_values_to_be_in_set",
        description="Every figure has a source.",
        kwargs={},
        n_checked=20,
        findings=findings,
    )
    manifest = {"seeds_root": str(tmp_path / "s"), "seeds": [{"path": "x.txt", "seed_sha256": SHA}]}
    return Verdict(results=(result,), manifest=manifest)


def test_summary_shows_first_findings_and_the_rest_counted(tmp_path: Path) -> None:
    """A failing rule's line, then its first three records (path:span and sentence), then how many more."""
    lines = summary_lines(_verdict(tmp_path), per_rule=3, width=200)
    assert lines[0] == "CRITICAL number-has-source (numbers): 5 of 20 records fail"
    assert lines[1] == f"  {tmp_path / 's' / 'x.txt'}:12-14  “The toll rose to 40, officials said.”"
    assert lines[4] == "  ... and 2 more (report, or -v)" and len(lines) == 5


def test_summary_lines_fit_the_width(tmp_path: Path) -> None:
    """Every line is cut to the width, with an ellipsis."""
    lines = summary_lines(_verdict(tmp_path, sentence="word " * 100), width=60)
    assert all(len(line) <= 60 for line in lines) and lines[1].endswith("…")


def test_annotations_are_escaped_and_placed(tmp_path: Path) -> None:
    """Annotations carry file and line; newlines, % and property commas/colons are escaped."""
    [first, *_] = list(github_annotations(_verdict(tmp_path, n=1, sentence="50% rise,\nsaid: 3")))
    path = tmp_path / "s" / "x.txt"
    assert first.startswith(f"::error file={path},line=2,title=number-has-source (critical)::")
    assert "50%25 rise, said: 3" in first  # the sentence is folded to one line; the message keeps , and :
    assert "\n" not in first


def test_annotations_are_capped(tmp_path: Path) -> None:
    """At most 50 annotations, however many findings."""
    assert len(list(github_annotations(_verdict(tmp_path, n=80)))) == 50


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_in_ci_is_a_line_every_interval() -> None:
    """Not a terminal: one line per interval with done/total, rate and ETA; the last one says done."""
    out, clock = io.StringIO(), _Clock()
    progress = Progress(out, tty=False, interval=5.0, clock=clock)
    for step in range(1, 21):
        clock.now = step * 1.0
        progress(step * 10, 200)
    lines = out.getvalue().splitlines()
    assert lines[0] == "extract: 50/200 seeds, 10.0 seeds/s, 5s elapsed, ETA 15s"
    assert len(lines) == 4 and lines[-1].endswith("20s elapsed, done")


def test_progress_is_silent_on_short_runs() -> None:
    """A run shorter than the interval prints nothing in CI."""
    out, clock = io.StringIO(), _Clock()
    progress = Progress(out, tty=False, interval=5.0, clock=clock)
    clock.now = 1.0
    progress(1, 1)
    assert out.getvalue() == ""


def test_progress_on_a_terminal_is_a_bar() -> None:
    """On a terminal the line is redrawn in place with a bar, and ends with a newline when done."""
    out, clock = io.StringIO(), _Clock()
    progress = Progress(out, tty=True, clock=clock)
    clock.now = 1.0
    progress(50, 100)
    clock.now = 2.0
    progress(100, 100)
    text = out.getvalue()
    assert text.startswith("\r[############------------] extract: 50/100") and text.endswith("done\x1b[K\n")


def test_usage_errors_answer_before_heavy_imports() -> None:
    """Regression: a missing seeds directory, a bad option and --version import no GX, pandas or pyarrow."""
    code = (
        "import sys; from audit.cli import main; "
        "codes = [main(['run', 'nope']), main(['run', '--job', '2']), main(['validate', '--suites', 'nope'])]; "
        "heavy = [m for m in ('great_expectations', 'pandas', 'pyarrow', 'trafilatura') if m in sys.modules]; "
        "print(codes, heavy)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    assert done.stdout.strip() == "[2, 2, 2] []", done.stderr
    assert "(did you mean --jobs?)" in done.stderr
    assert elapsed < 5  # about 0.2 s idle; generous for a busy machine, the import check above is the point


def test_misspelt_command_and_choice_get_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    """A misspelt sub-command or choice is exit 2 with "did you mean"; no abbreviation is taken."""
    assert main(["runn"]) == 2
    assert "(did you mean run?)" in capsys.readouterr().err
    assert main(["run", "--links", "offlin"]) == 2
    err = capsys.readouterr().err
    assert "(did you mean offline?)" in err and err.startswith("usage: ") and " run " in err.splitlines()[0]
    assert main(["run", "--max-seed", "3"]) == 2  # allow_abbrev=False: not taken as --max-seed-bytes
    assert "did you mean --max-seed-bytes?" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """--version prints the tool's name and version and exits 0."""
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"news-audit {__version__}\n"


def test_public_names_resolve_without_loading_the_pipeline_first() -> None:
    """`import audit` loads no pandas or GX; every name in audit.__all__ still resolves (lazily)."""
    code = (
        "import sys, audit; light = 'pandas' not in sys.modules and 'great_expectations' not in sys.modules; "
        "[getattr(audit, n) for n in audit.__all__]; print(light, audit.run_audit.__module__)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert done.stdout.split() == ["True", "audit.pipeline"], done.stderr[-2000:]
