"""The CLI: exit codes 0/1/2/3, help text, messages without tracebacks."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from audit.cli import main
from audit.cli_options import parse_args
from tests.conftest import ROOT, run_args

DATA = Path(__file__).parent / "data" / "seeds"


def _one_seed(tmp_path: Path, name: str) -> Path:
    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(DATA / name, d / name)
    return d


def test_good_seed_passes_with_exit_0(tmp_path: Path, suites_dir: Path) -> None:
    """A well-formed, fully attributed seed passes the gate."""
    assert main(run_args(tmp_path, _one_seed(tmp_path, "good.txt"), suites_dir)) == 0
    assert json.loads((tmp_path / "report" / "results.json").read_text())["verdict"] == "passed"


def test_critical_finding_exits_1(tmp_path: Path, suites_dir: Path) -> None:
    """A seed whose article has no title and no body content fails the gate with exit 1."""
    seeds = tmp_path / "in"
    seeds.mkdir()
    (seeds / "no_title.txt").write_text(" date 2023-03-14 Nav\nBusiness\n\n")
    code = main(run_args(tmp_path, seeds, suites_dir))
    doc = json.loads((tmp_path / "report" / "results.json").read_text())
    assert code == 1 and doc["verdict"] == "failed"


def test_misspelt_suite_exits_2_without_traceback(
    tmp_path: Path, suites_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A misspelt expectation type is a configuration error: exit 2 and one clear line."""
    path = suites_dir / "articles.json"
    path.write_text(
        path.read_text().replace(
            "expect_column_values_to_not_be_null", "expect_column_values_to_not_be_nul", 1
        )
    )
    assert main(run_args(tmp_path, _one_seed(tmp_path, "good.txt"), suites_dir)) == 2
    err = capsys.readouterr().err
    assert 'is unknown. Did you mean "expect_column_values_to_not_be_null"?' in err
    assert "Traceback" not in err


def test_missing_seeds_dir_exits_2(
    tmp_path: Path, suites_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A seeds directory that does not exist is a usage error."""
    assert main(run_args(tmp_path, tmp_path / "nope", suites_dir)) == 2
    assert "does not exist" in capsys.readouterr().err


def test_empty_seeds_dir_exits_2(
    tmp_path: Path, suites_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A seeds directory with no files is a usage error, not an empty pass."""
    (tmp_path / "empty").mkdir()
    assert main(run_args(tmp_path, tmp_path / "empty", suites_dir)) == 2
    assert "no seed files" in capsys.readouterr().err


def test_unknown_option_exits_2() -> None:
    """argparse's own usage error code is kept."""
    assert main(["run", "--no-such-option"]) == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--jobs", "0"], "0 is less than 1"),
        (["run", "--jobs", "-1"], "-1 is less than 1"),
        (["run", "--max-seed-bytes", "-5"], "-5 is less than 1"),
        (["validate", "--jobs", "two"], "'two' is not a whole number"),
        (["run", "--seed-timeout", "-1"], "-1 is not 0 or more seconds"),  # was exit 3 (setitimer)
        (["run", "--seed-timeout", "nan"], "nan is not 0 or more seconds"),
        (["run", "--seed-timeout", "soon"], "'soon' is not a number of seconds"),
    ],
)
def test_counts_below_one_are_usage_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """--jobs and --max-seed-bytes take whole numbers of at least 1: anything else exits 2, saying why."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_waivers_path_that_is_a_directory_exits_2(
    tmp_path: Path, suites_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It was an internal error (IsADirectoryError)."""
    (tmp_path / "waivers.d").mkdir()
    argv = run_args(
        tmp_path, _one_seed(tmp_path, "good.txt"), suites_dir, "--waivers", str(tmp_path / "waivers.d")
    )
    assert main(argv) == 2
    assert "waivers.d: is a directory. Point it at the waivers file." in capsys.readouterr().err


def test_validate_without_its_seeds_directory_exits_2(
    tmp_path: Path, suites_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A mistyped --seeds, or seeds moved away, used to fail every seed as deleted (exit 1)."""
    seeds = _one_seed(tmp_path, "good.txt")
    assert main(run_args(tmp_path, seeds, suites_dir)) in (0, 1)
    validate = ["validate", *run_args(tmp_path, seeds, suites_dir)[2:]]
    assert main([*validate, "--seeds", str(tmp_path / "nope")]) == 2
    assert "--seeds" in capsys.readouterr().err
    seeds.rename(tmp_path / "moved")
    assert main(validate) == 2
    assert "If the seeds moved, pass --seeds DIR." in capsys.readouterr().err
    assert main([*validate, "--seeds", str(tmp_path / "moved")]) in (0, 1)


def test_internal_error_exits_3(
    tmp_path: Path, suites_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bug exits 3 with one line that points at --debug."""
    import audit.pipeline

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(audit.pipeline, "run_audit", boom)
    assert main(run_args(tmp_path, _one_seed(tmp_path, "good.txt"), suites_dir)) == 3
    assert "rerun with --debug" in capsys.readouterr().err


def test_parse_args_reads_its_argument_list(monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: parse_args must parse its argument list, not sys.argv."""
    monkeypatch.setattr(sys, "argv", ["audit", "validate"])
    assert parse_args(["run", "x"]).command == "run"


@pytest.mark.parametrize("command", ["run", "validate"])
def test_help_explains_every_option_and_exit_codes(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--help on each command exits 0 and lists the options and the exit codes."""
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "--report" in out and "--suites" in out and "exit codes" in out


@pytest.mark.parametrize(
    "start",
    [
        "import runpy; runpy.run_module('audit', run_name='__main__')",
        "from audit.cli import entry; entry()",
    ],
    ids=["python -m audit", "news-audit"],
)
def test_the_commands_exit_without_searching_the_heap_at_teardown(start: str) -> None:
    """`python -m audit` and the news-audit command exit with main's code and output, atexit handlers
    run, with the garbage collector's objects frozen: the teardown does not search them for cycles."""
    probe = (
        "import atexit, gc, sys\n"
        "sys.argv = ['audit', '--version']\n"
        "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0, flush=True))\n"
        f"{start}\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].startswith("news-audit ")
    assert proc.stdout.splitlines()[-1] == "frozen True"


def test_python_dash_m_audit_smoke(tmp_path: Path) -> None:
    """`python -m audit` runs as a subprocess and exits with the verdict's code."""
    seeds = _one_seed(tmp_path, "good.txt")
    proc = subprocess.run(
        [sys.executable, "-m", "audit", *run_args(tmp_path, seeds, ROOT / "expectations")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "audit PASSED" in proc.stdout
