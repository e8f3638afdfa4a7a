"""Outputs that cannot be written: a full disk or a read-only place is exit 2, one line, previous outputs intact.

The disk is real: a small tmpfs mounted in a private mount namespace (``unshare --mount``, as root), filled
to the last byte or remounted read-only between runs of ``python -m audit``. The rule that decides which
OSErrors are the output's fault is tested on its own below.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from audit.errors import OutputError
from audit.fsio import writing
from tests.conftest import ROOT, SAMPLE, SUITES, namespace_unavailable

# Runs inside the namespace. $OUT is the tmpfs; every step's exit code and stderr go to $LOG, on the real disk.
SCRIPT = r"""
set -u
mount -t tmpfs -o size=4m tmpfs "$OUT"
audit() { "$PYTHON" -m audit "$@" --suites "$SUITES" --jobs 1 >/dev/null 2>"$LOG/$STEP.err"; echo $? >"$LOG/$STEP.rc"; }
run() { audit run "$SEEDS" --tables "$OUT/tables" --report "$OUT/report"; }
digests() { (cd "$OUT" && find . -type f ! -name filler ! -name '.*.lock' | sort | xargs sha256sum) >"$LOG/$STEP.files"; }
STEP=first; run; digests
dd if=/dev/zero of="$OUT/filler" bs=64k 2>/dev/null
STEP=full_run; run; digests
STEP=full_validate; audit validate --tables "$OUT/tables" --report "$OUT/report" --seeds "$SEEDS"; digests
ls -a "$OUT" >"$LOG/names"
rm "$OUT/filler"
mount -o remount,ro "$OUT"
STEP=read_only; run; digests
STEP=validate_read_only_tables; audit validate --tables "$OUT/tables" --report "$LOG/report" --seeds "$SEEDS"; digests
"""


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run SCRIPT in a mount namespace; return the directory of its exit codes, messages and digests."""
    if reason := namespace_unavailable("--mount"):
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("disk")
    seeds, out, log = root / "seeds", root / "out", root / "log"
    for d in (seeds, out, log):
        d.mkdir()
    shutil.copy(SAMPLE, seeds / SAMPLE.name)
    env = os.environ | {
        "PYTHONPATH": str(ROOT),
        "GX_ANALYTICS_ENABLED": "false",
        "PYTHON": sys.executable,
        "SUITES": str(SUITES),
        "SEEDS": str(seeds),
        "OUT": str(out),
        "LOG": str(log),
    }
    proc = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", SCRIPT],
        capture_output=True, text=True, timeout=600, env=env, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return log


def _step(log: Path, step: str) -> tuple[int, str, str]:
    return (
        int((log / f"{step}.rc").read_text()),
        (log / f"{step}.err").read_text(),
        (log / f"{step}.files").read_text(),
    )


def test_the_first_run_fits_and_gives_its_verdict(log: Path) -> None:
    rc, err, files = _step(log, "first")
    assert rc == 1, err  # the bundled seed's honest verdict
    assert "./tables/manifest.json" in files and "./report/index.html" in files


@pytest.mark.parametrize(
    ("step", "flag", "reason", "fix"),
    [
        ("full_run", "--tables", "No space left on device", "free some space there"),
        ("full_validate", "--report", "No space left on device", "free some space there"),
        ("read_only", "--report", "Read-only file system", "make it writable"),  # locked first: paths in order
    ],
)
def test_an_output_that_cannot_be_written_is_exit_2_with_one_line(
    log: Path, step: str, flag: str, reason: str, fix: str
) -> None:
    """One line naming the directory, the cause and the fix; no traceback; the previous outputs intact."""
    rc, err, files = _step(log, step)
    assert rc == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("error: cannot write ") and reason in err and fix in err and flag in err
    assert "intact" in err
    assert files == _step(log, "first")[2]


def test_tables_on_a_read_only_place_are_validated(log: Path) -> None:
    """Published tables on read-only media can be audited again; only the report needs a writable place."""
    rc, err, files = _step(log, "validate_read_only_tables")
    assert rc == 1, err  # the bundled seed's honest verdict
    assert files == _step(log, "first")[2]
    assert (log / "report" / "results.json").is_file()


def test_a_full_disk_leaves_no_staging_directories(log: Path) -> None:
    names = set((log / "names").read_text().split())
    assert names == {".", "..", "tables", "report", "filler", ".tables.lock", ".report.lock"}


# -- which OSErrors are the output's ---------------------------------------------------------------------


def _raised_through(target: Path, exc: OSError) -> BaseException:
    with pytest.raises((OSError, OutputError)) as info, writing(target, "write elsewhere"):
        raise exc
    return info.value


def test_a_full_disk_without_a_file_name_is_the_outputs(tmp_path: Path) -> None:
    """pyarrow reports a full disk with errno 28 and no file name."""
    error = _raised_through(tmp_path / "tables", OSError(errno.ENOSPC, "Error writing bytes to file"))
    assert isinstance(error, OutputError)
    assert str(error).startswith(f"cannot write {tmp_path / 'tables'}: No space left on device.")


@pytest.mark.parametrize(
    "name", ["tables", "tables/seeds.parquet", ".tables.new-x1y2/seeds.parquet", ".tables.swap", "."]
)
def test_permission_denied_on_the_outputs_own_paths_is_the_outputs(tmp_path: Path, name: str) -> None:
    denied = OSError(errno.EACCES, "Permission denied", str(tmp_path / name))
    assert isinstance(_raised_through(tmp_path / "tables", denied), OutputError)


@pytest.mark.parametrize("name", ["seeds/a.txt", "tables-old/x", "other/.tables.new-x"])
def test_permission_denied_elsewhere_is_not_the_outputs(tmp_path: Path, name: str) -> None:
    """A seed or suite that cannot be read is not an output problem: the error goes on unchanged."""
    denied = OSError(errno.EACCES, "Permission denied", str(tmp_path / name))
    assert _raised_through(tmp_path / "tables", denied) is denied


def test_other_os_errors_go_on_unchanged(tmp_path: Path) -> None:
    missing = FileNotFoundError(errno.ENOENT, "No such file or directory", str(tmp_path / "tables" / "x"))
    assert _raised_through(tmp_path / "tables", missing) is missing

