"""Outputs are on disk before they are swapped in: every file of a run's report folder is fsynced once,
by the folder's seal (the files at once), and not also one by one as it is written (its marker aside)."""

from __future__ import annotations

import collections
import os
from pathlib import Path

import pytest

from audit.cli import main
from audit.fsio import _fsync_tree
from audit.marks import MARKER
from tests.conftest import run_args


def test_each_report_file_is_synced_once_before_the_swap(
    tmp_path: Path, seeds_dir: Path, suites_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report's files are written unsynced into the staging folder, which is synced whole before it is
    renamed in: each file once, under its final name (no temporary file synced)."""
    synced: list[str] = []
    fsync = os.fsync

    def spy(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    main(run_args(tmp_path, seeds_dir, suites_dir))
    report = tmp_path / "report"
    staged = [
        p.split(f"{os.sep}.report.new-", 1)[1].split(os.sep, 1)[1] for p in synced if ".report.new-" in p
    ]
    files = sorted(p.relative_to(report).as_posix() for p in report.rglob("*") if p.is_file())
    files.remove(MARKER)  # the folder's marker is written durably, as every marker is: left out here
    counts = collections.Counter(p for p in staged if MARKER not in p)
    assert sorted(counts) == files and set(counts.values()) == {1}, counts


def test_fsync_tree_syncs_every_file_and_reports_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every file under the folder is synced (nested ones too); an fsync that fails raises its error."""
    for i in range(40):
        (tmp_path / f"d{i % 3}").mkdir(exist_ok=True)
        (tmp_path / f"d{i % 3}" / f"{i}.txt").write_text(str(i))
    synced: list[str] = []
    fsync = os.fsync

    def spy(fd: int) -> None:
        path = os.readlink(f"/proc/self/fd/{fd}")
        synced.append(path)
        if path.endswith("/17.txt") and failing:
            raise OSError(5, "Input/output error")
        fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    failing = False
    _fsync_tree(tmp_path)
    assert sorted(synced) == sorted(str(p) for p in tmp_path.rglob("*.txt"))
    failing = True
    with pytest.raises(OSError, match="Input/output error"):
        _fsync_tree(tmp_path)
