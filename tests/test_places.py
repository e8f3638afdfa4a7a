"""Where the audit reads and where it writes never overlap: an output that would delete the seeds, or be
read as seeds by the next run, is exit 2 before anything is read or written."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from audit.cli import main
from audit.errors import UsageError
from audit.places import check_apart
from tests.conftest import SAMPLE, SUITES

CACHE = frozenset({"--link-cache"})


def _files(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()
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
        ({"--tables": "t", "--report": "r", "--link-cache": "t/cache"}, False),  # the swap would delete the cache
        ({"--tables": "c/t", "--report": "r", "--link-cache": "c"}, True),  # the cache is written file by file
        ({"--tables": "t", "--report": "r", "--link-cache": "seeds/cache"}, False),  # cache files read as seeds
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
