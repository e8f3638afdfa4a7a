"""Where the audit reads and where it writes never overlap: an output that would delete the seeds, or be
read as seeds by the next run, is exit 2 before anything is read or written."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from audit.cli import main
from audit.errors import UsageError
from audit.marks import MARKER
from audit.places import check_apart
from benchmarks.generate import generate
from tests.conftest import ROOT, SAMPLE, SUITES, run_args

CACHE = frozenset({"--link-cache"})


def _files(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file() and not p.name.endswith(".lock")
    }


@pytest.mark.parametrize(
    ("seeds", "tables", "report", "words"),
    [
        ("out/seeds", "out", "report", "holds the seeds directory"),  # the swap would delete the seeds
        ("seeds", "seeds/out/tables", "report", "lies inside the seeds directory"),  # read as seeds next run
        (".", "build/tables", "reports", "lies inside the seeds directory"),  # `audit run .`
        ("seeds", "tables", "tables/report", "--tables"),  # the tables swap would delete the report
        ("seeds", "out", "out", "are the same directory"),
    ],
)
def test_overlapping_outputs_exit_2_and_touch_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    seeds: str,
    tables: str,
    report: str,
    words: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / seeds).mkdir(parents=True, exist_ok=True)
    shutil.copy(SAMPLE, tmp_path / seeds / SAMPLE.name)
    before = _files(tmp_path)
    argv = ["run", seeds, "--tables", tables, "--report", report, "--suites", str(SUITES), "--jobs", "1"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and words in err
    assert _files(tmp_path) == before


def test_validate_refuses_a_report_over_the_tables(
    tmp_path: Path, seeds_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tables = tmp_path / "tables"
    args = ["--tables", str(tables), "--suites", str(SUITES), "--jobs", "1"]
    assert main(["run", str(seeds_dir), "--report", str(tmp_path / "report"), *args]) == 1
    before = _files(tmp_path)
    assert main(["validate", "--report", str(tables / "report"), *args]) == 2
    assert "--report" in capsys.readouterr().err and _files(tmp_path) == before


@pytest.mark.parametrize(
    ("writes", "allowed"),
    [
        ({"--tables": "build/tables", "--report": "reports"}, True),  # the defaults
        ({"--tables": "build/tables", "--report": "build/report"}, True),  # siblings
        (
            {"--tables": "t", "--report": "r", "--link-cache": "t/cache"},
            False,
        ),  # the swap would delete the cache
        (
            {"--tables": "c/t", "--report": "r", "--link-cache": "c"},
            True,
        ),  # the cache is written file by file
        (
            {"--tables": "t", "--report": "r", "--link-cache": "seeds/cache"},
            False,
        ),  # cache files read as seeds
        ({"--tables": "expectations/t", "--report": "r"}, False),
        ({"--tables": "t", "--report": "r", "--link-cache": None}, True),
    ],
)
def test_which_places_may_share(tmp_path: Path, writes: dict[str, str | None], allowed: bool) -> None:
    reads = {"the seeds directory": tmp_path / "seeds", "--suites": tmp_path / "expectations"}
    written = {name: None if path is None else tmp_path / path for name, path in writes.items()}
    if allowed:
        check_apart(reads, written, file_by_file=CACHE)
    else:
        with pytest.raises(UsageError):
            check_apart(reads, written, file_by_file=CACHE)


def test_a_symlink_to_the_seeds_is_the_seeds(tmp_path: Path) -> None:
    (tmp_path / "seeds").mkdir()
    (tmp_path / "out").symlink_to(tmp_path / "seeds")
    with pytest.raises(UsageError, match="same directory"):
        check_apart({"the seeds directory": tmp_path / "seeds"}, {"--tables": tmp_path / "out"})


@pytest.mark.parametrize(
    ("flag", "setup", "words"),
    [
        ("--report", lambda p: p.write_text("my notes"), "is a file"),
        (
            "--report",
            lambda p: (p.mkdir(), (p / "README.md").write_text("docs")),
            "holds files the audit did not write",
        ),
        (
            "--tables",
            lambda p: (p.mkdir(), (p / "data.csv").write_text("a,b")),
            "holds files the audit did not write",
        ),
    ],
)
def test_an_output_over_files_no_audit_wrote_is_refused(
    tmp_path: Path, seeds_dir: Path, capsys: pytest.CaptureFixture[str], flag: str, setup: Any, words: str
) -> None:
    """`--report docs` replaced docs/ whole, and `--report notes.txt` replaced the file with a directory."""
    target = tmp_path / "target"
    setup(target)
    before = _files(tmp_path)
    argv = run_args(tmp_path, seeds_dir, SUITES)
    argv[argv.index(flag) + 1] = str(target)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {flag} {target}: {words}") and err.count("\n") == 1
    assert _files(tmp_path) == before


@pytest.mark.parametrize("content", [[], [".gitkeep"], [".gitkeep", ".gitignore"]])
def test_an_empty_output_directory_or_one_an_earlier_run_wrote_is_used(
    tmp_path: Path, seeds_dir: Path, content: list[str]
) -> None:
    report = tmp_path / "report"
    report.mkdir()
    for name in content:
        (report / name).write_text("")
    assert main(run_args(tmp_path, seeds_dir, SUITES)) == 1
    assert sorted(p.name for p in report.iterdir() if p.name.startswith(".")) == sorted([*content, MARKER])
    assert main(run_args(tmp_path, seeds_dir, SUITES)) == 1  # the second run replaces the first run's


# -- one command per place at a time -----------------------------------------------------------------------

HOLDER = r"""
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.lockf(fd, fcntl.LOCK_EX if sys.argv[2] == "write" else fcntl.LOCK_SH)
os.ftruncate(fd, 0)  # (as the audit does: a longer pid written before would leave its last digits)
os.pwrite(fd, str(os.getpid()).encode(), 0)
print("held", flush=True)
time.sleep(120)
"""


@pytest.fixture
def audited(tmp_path: Path, seeds_dir: Path) -> Path:
    """tmp_path with seeds/, tables/ and report/ from one run of the bundled seed."""
    assert main(run_args(tmp_path, seeds_dir, SUITES)) == 1
    return tmp_path


def _hold(lock: Path, mode: str) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock), mode], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    return holder


@pytest.mark.parametrize(
    ("mode", "command", "allowed"),
    [
        ("write", "run", False),
        ("write", "validate", False),
        ("read", "validate", True),
        ("read", "run", False),
    ],
)
def test_a_place_another_audit_holds_is_refused_at_once(
    audited: Path, capsys: pytest.CaptureFixture[str], mode: str, command: str, allowed: bool
) -> None:
    """Another process holding the tables (writing them, or reading them) and what this command may do."""
    before = _files(audited)
    holder = _hold(audited / ".tables.lock", mode)
    try:
        argv = run_args(audited, audited / "seeds", SUITES)
        code = main(argv if command == "run" else ["validate", *argv[2:]])
    finally:
        holder.kill()
        holder.communicate()
    err = capsys.readouterr().err
    if allowed:  # two readers of the same tables
        assert code == 1, err
        return
    assert code == 2
    assert err == (
        f"error: --tables {audited / 'tables'}: another audit (process {holder.pid}) is using it. "
        "Wait for it to finish, or choose another --tables.\n"
    )
    assert _files(audited) == before
    assert main(argv if command == "run" else ["validate", *argv[2:]]) == 1  # released with its process


def test_two_runs_at_once_one_finishes_and_one_is_refused(tmp_path: Path) -> None:
    """Before the lock, the second run's clean-up deleted the first run's staging directory (exit 3)."""
    generate(tmp_path / "seeds", 150)
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "audit", *run_args(out, tmp_path / "seeds", SUITES)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GX_ANALYTICS_ENABLED": "false"}
    first = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(out.glob(".tables.new-*")) and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert first.poll() is None, "the first run ended before its tables were staged"
    second = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, check=False)
    first_out, first_err = first.communicate(timeout=300)
    assert (second.returncode, first.returncode) == (2, 1), (second.stderr, first_err)
    assert f"another audit (process {first.pid}) is using it" in second.stderr
    assert "audit FAILED" in first_out
    manifest = json.loads((out / "tables" / "manifest.json").read_text())
    assert len(manifest["seeds"]) == 150


def test_publish_refuses_a_releases_folder_another_audit_holds(
    audited: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    holder = _hold(audited / ".releases.lock", "write")
    try:
        argv = ["publish", "--tables", str(audited / "tables"), "--report", str(audited / "report")]
        code = main([*argv, "--to", str(audited / "releases")])
    finally:
        holder.kill()
        holder.communicate()
    assert code == 2
    assert f"another audit (process {holder.pid}) is using it" in capsys.readouterr().err
    assert not (audited / "releases").exists()
