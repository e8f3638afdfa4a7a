"""Outputs honour the umask: under 022 files are 0644 and folders 0755 (under 027: 0640 and 0750).

Files are still written atomically through a temp file from mkstemp (created 0600) and folders through a
staging folder from mkdtemp (0700); both are given the umask's mode before they are renamed into place.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from audit.cli import main
from audit.fsio import atomic_dir, atomic_write_text, current_umask
from tests.conftest import SAMPLE
from tests.test_marks import _passing_suites

pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated as of GX Core 1.9:DeprecationWarning")


@pytest.fixture(params=[0o022, 0o027], ids=["umask022", "umask027"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """The process's umask set for the test, and put back after."""
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


def _wrong_modes(root: Path, mask: int) -> list[str]:
    """Paths under root (root included) whose permission bits are not what the umask gives."""
    wrong = []
    for path in [root, *sorted(root.rglob("*"))]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        want = (0o777 if path.is_dir() else 0o666) & ~mask
        if mode != want:
            wrong.append(f"{path.relative_to(root.parent)}: {mode:o}, not {want:o}")
    return wrong


def test_current_umask_reads_without_changing_it(umask: int) -> None:
    """current_umask gives the umask in force and leaves it so."""
    assert current_umask() == umask
    assert os.umask(umask) == umask


def test_atomic_writes_honour_the_umask(tmp_path: Path, umask: int) -> None:
    """Regression: atomic_write's file kept mkstemp's 0600, and atomic_dir's folder mkdtemp's 0700."""
    atomic_write_text(tmp_path / "a.json", "{}")
    with atomic_dir(tmp_path / "out", "x", kind="report", place="--report") as staging:
        (staging / "pages").mkdir()
        atomic_write_text(staging / "pages" / "p.html", "<p>")
    assert _wrong_modes(tmp_path / "a.json", umask) == []
    assert _wrong_modes(tmp_path / "out", umask) == []


def test_run_and_publish_outputs_are_readable_as_the_umask_allows(tmp_path: Path, umask: int) -> None:
    """Regression: with umask 022, reports/ and tables/ were 0700 and index.html, results.json, junit.xml, the seed pages and manifest.json 0600."""
    (tmp_path / "seeds").mkdir()
    shutil.copy(SAMPLE, tmp_path / "seeds" / SAMPLE.name)
    suites = _passing_suites(tmp_path / "expectations")
    outputs = ["--tables", str(tmp_path / "tables"), "--report", str(tmp_path / "report")]
    assert main(["run", str(tmp_path / "seeds"), *outputs, "--suites", str(suites), "--jobs", "1"]) == 0
    assert main(["publish", *outputs, "--suites", str(suites), "--to", str(tmp_path / "releases")]) == 0
    for name in ("tables", "report", "releases"):
        assert _wrong_modes(tmp_path / name, umask) == [], name
    locks = sorted(tmp_path.glob(".*.lock"))
    assert locks and all(stat.S_IMODE(p.stat().st_mode) == 0o666 & ~umask for p in locks)
