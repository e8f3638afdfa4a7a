"""Atomic outputs: a run killed at any moment leaves the previous complete outputs or the new complete ones.

`python -m audit run` is started as a subprocess over 130 generated seeds and sent SIGINT, SIGTERM or
SIGKILL after a delay drawn from a seeded RNG (so a failure reproduces). After each kill the tables directory
and the report directory are each either byte-for-byte what they were before the run, or a new complete set:
the manifest's table digests match the files and name every seed, and the report's results.json records
the digests of the tables now in place. A final run must then recover and succeed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from audit.fsio import atomic_dir, recover_dir
from benchmarks.generate import generate
from tests.conftest import ROOT, SUITES

pytestmark = pytest.mark.slow

N_SEEDS = 120  # the killed runs audit N_SEEDS + N_MORE, so their outputs differ from the previous run's
N_MORE = 10
N_KILLS = 6  # two of each signal
RNG_SEED = 20240611
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "GX_ANALYTICS_ENABLED": "false"}


def _command(seeds: Path, out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "audit",
        "run",
        str(seeds),
        "--tables",
        str(out / "tables"),
        "--report",
        str(out / "reports"),
        "--suites",
        str(SUITES),
        "--jobs",
        "2",
    ]


def _snapshot(directory: Path) -> dict[str, str]:
    """sha256 of every file under a directory, by relative path."""
    return {
        p.relative_to(directory).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def _seed_paths(seeds: Path) -> list[str]:
    return sorted(p.relative_to(seeds).as_posix() for p in seeds.rglob("*") if p.is_file())


def _is_complete_tables(tables: Path, seeds: Path) -> bool:
    """A tables directory whose manifest names every seed and whose table digests match the files."""
    manifest = json.loads((tables / "manifest.json").read_text())
    files = _snapshot(tables)
    recorded = {t["file"]: t["sha256"] for t in manifest["tables"].values()}
    return (
        set(files) == {*recorded, "manifest.json"}
        and all(files[name] == sha for name, sha in recorded.items())
        and sorted(s["path"] for s in manifest["seeds"]) == _seed_paths(seeds)
    )


def _report_matches_tables(reports: Path, tables: Path) -> bool:
    """A complete report written for the tables now in place: results.json records their digests."""
    results = json.loads((reports / "results.json").read_text())
    manifest = json.loads((tables / "manifest.json").read_text())
    index = (reports / "index.html").read_text()
    recorded = {k: v["sha256"] for k, v in results["manifest"]["tables"].items()}
    return (
        recorded == {k: v["sha256"] for k, v in manifest["tables"].items()}
        and index.rstrip().endswith("</html>")
        and (reports / "junit.xml").read_text().rstrip().endswith(">")
    )


def _leftovers(out: Path) -> list[str]:
    """Staging and backup directories of atomic_dir left beside the outputs (not the commands' locks)."""
    return sorted(p.name for p in out.iterdir() if p.name.startswith(".") and not p.name.endswith(".lock"))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Seeds A (N_SEEDS), B (A plus N_MORE), 600 and one seed, and outputs of one complete run over A."""
    root = tmp_path_factory.mktemp("atomic")
    subprocess.run(
        [sys.executable, "-m", "benchmarks.generate", str(root / "a"), str(N_SEEDS)], env=_env(), check=True
    )
    generate(root / "b", N_SEEDS + N_MORE)
    generate(root / "medium", 600)  # each output's staging phase lasts long enough to be signalled in
    (root / "one").mkdir()
    (root / "one" / "seed.txt").write_text(
        "Council approves budget\n\nThe council approved 3 million pounds.\n"
    )
    out = root / "out"
    started = time.monotonic()
    proc = subprocess.run(_command(root / "a", out), env=_env(), cwd=root, capture_output=True, text=True)
    assert proc.returncode in (0, 1), proc.stderr
    (root / "duration").write_text(str(time.monotonic() - started))
    return {
        "root": root,
        "a": root / "a",
        "b": root / "b",
        "medium": root / "medium",
        "one": root / "one",
        "out": out,
    }


def _kill_run(seeds: Path, out: Path, sig: signal.Signals, delay: float) -> tuple[int, float]:
    """Start a run, send sig after delay seconds (if it still runs); return its exit code and the seconds it took to stop."""
    with (out.parent / "stderr.txt").open("wb") as stderr:
        proc = subprocess.Popen(
            _command(seeds, out),
            env=_env(),
            cwd=out.parent,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,  # its own process group, so the workers it leaves can be ended here
        )
        try:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=delay)
            sent = time.monotonic()
            if proc.poll() is None:
                proc.send_signal(sig)
            code = proc.wait(timeout=180)
            return code, time.monotonic() - sent
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # orphaned extraction workers of this run only


def test_killed_runs_leave_previous_or_new_complete_outputs(world: dict[str, Path]) -> None:
    """After SIGINT, SIGTERM or SIGKILL at a random moment, tables and report are each the previous complete set or a new complete one, never a mix, and a following run succeeds."""
    out, seeds_a, seeds_b = world["out"], world["a"], world["b"]
    full = float((world["root"] / "duration").read_text())
    rng = random.Random(RNG_SEED)
    previous = {"tables": _snapshot(out / "tables"), "reports": _snapshot(out / "reports")}
    previous_seeds = seeds_a
    outcomes = []
    for n in range(N_KILLS):
        sig = SIGNALS[n % len(SIGNALS)]
        delay = rng.uniform(0.5, full * 0.95)  # nearly all land while it runs
        code, stopping = _kill_run(seeds_b, out, sig, delay)
        for name in ("tables", "reports"):
            recover_dir((out / name).resolve())  # what the next run does first: undo a half-done swap
        now = {"tables": _snapshot(out / "tables"), "reports": _snapshot(out / "reports")}
        what = f"kill {n}: {sig.name} after {delay:.1f} s, exit {code}"
        # finished before the signal (0, 1), or stopped by it (SIGINT during imports, before main()'s
        # handler, is -2); 2 or 3 would be a failure of its own
        assert code in (0, 1, 130, 143, -signal.SIGINT, -signal.SIGTERM, -signal.SIGKILL), (
            what,
            (out.parent / "stderr.txt").read_text(),
        )
        tables_old = now["tables"] == previous["tables"]
        assert tables_old or _is_complete_tables(out / "tables", seeds_b), what + ": tables are a mix"
        assert (
            tables_old or not _is_complete_tables(out / "tables", previous_seeds) or previous_seeds == seeds_b
        )
        reports_old = now["reports"] == previous["reports"]
        assert reports_old or _report_matches_tables(out / "reports", out / "tables"), (
            what + ": report is a mix"
        )
        assert not (tables_old and not reports_old), what + ": a new report over the previous tables"
        if sig is signal.SIGINT and code not in (0, 1):
            assert code in (130, -signal.SIGINT), what
        assert stopping < 120, f"{what}: took {stopping:.0f} s to stop"
        outcomes.append(
            (sig.name, round(delay, 1), code, "old" if tables_old else "new", "old" if reports_old else "new")
        )
        if not tables_old:
            previous_seeds = seeds_b
        previous = now
    proc = subprocess.run(_command(seeds_b, out), env=_env(), cwd=out.parent, capture_output=True, text=True)
    assert proc.returncode in (0, 1), proc.stderr
    assert _is_complete_tables(out / "tables", seeds_b) and _report_matches_tables(
        out / "reports", out / "tables"
    )
    print(outcomes)  # noqa: T201  (shown with -s: which kills hit before, during and after the swaps)


def _signal_when_staging(seeds: Path, out: Path, sig: signal.Signals, phase: str) -> tuple[int, bool]:
    """Start a run, send sig once its staging directory for phase (tables or reports) exists; return its
    exit code and whether the signal was sent (a run can finish a short phase between two looks)."""
    proc = subprocess.Popen(
        _command(seeds, out),
        env=_env(),
        cwd=out.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    sent = False
    try:
        deadline = time.monotonic() + 150
        while proc.poll() is None and time.monotonic() < deadline:
            if any(p.name.startswith(f".{phase}.new-") for p in out.iterdir()):
                time.sleep(0.1)  # inside the staging phase, not at its first instant
                proc.send_signal(sig)
                sent = True
                break
            time.sleep(0.02)
        return proc.wait(timeout=180), sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)




@pytest.mark.parametrize(
    ("sig", "phase"),
    [
        (signal.SIGINT, "tables"),
        (signal.SIGINT, "reports"),
        pytest.param(signal.SIGTERM, "tables"),
        pytest.param(signal.SIGTERM, "reports"),
    ],
    ids=lambda v: getattr(v, "name", v),
)
def test_interrupted_run_leaves_no_staging_directories(
    world: dict[str, Path], sig: signal.Signals, phase: str
) -> None:
    """A run stopped by SIGINT or SIGTERM (signals a process can handle) while it writes removes its staging directory and keeps the previous outputs."""
    out = world["root"] / f"staging-{sig.name}-{phase}"
    out.mkdir()
    for name, marker in (("tables", "manifest.json"), ("reports", "results.json")):
        (out / name).mkdir()
        (out / name / "previous.txt").write_text("previous")
        (out / name / marker).write_text("{}")  # what makes them outputs an earlier run wrote
    code, sent = _signal_when_staging(world["medium"], out, sig, phase)
    assert sent and code != 0
    assert (out / "reports" / "previous.txt").exists()
    assert _leftovers(out) == []


def test_a_run_after_a_sigkill_cleans_up_stale_staging_directories(world: dict[str, Path]) -> None:
    """Staging directories that a SIGKILLed run could not remove are gone after the next complete run."""
    out = world["root"] / "stale"
    out.mkdir()
    for name in ("tables", "reports"):
        (out / f".{name}.new-stale123").mkdir()
        (out / f".{name}.new-stale123" / "seeds.parquet").write_bytes(b"half written")
    proc = subprocess.run(_command(world["one"], out), env=_env(), cwd=out, capture_output=True, text=True)
    assert proc.returncode in (0, 1), proc.stderr
    assert _leftovers(out) == []


def test_recover_dir_restores_the_newest_backup(tmp_path: Path) -> None:
    """If a swap died between its renames, recover_dir puts back the backup of the most recent run, not an older leftover."""
    target = tmp_path / "tables"
    # an older run (pid 9999) died while deleting its backup, leaving a partial one; a newer run
    # (pid 10000) then died between its two renames, leaving the complete previous outputs as its backup
    partial = tmp_path / ".tables.old-9999"
    partial.mkdir()
    (partial / "seeds.parquet").write_bytes(b"partial")
    newest = tmp_path / ".tables.old-10000"
    newest.mkdir()
    (newest / "manifest.json").write_text("{}")
    (newest / "seeds.parquet").write_bytes(b"complete")
    os.utime(partial, (1, 1))
    recover_dir(target)
    assert (target / "manifest.json").exists()


def test_atomic_dir_failure_leaves_target_untouched(tmp_path: Path) -> None:
    """An exception inside atomic_dir leaves the target as it was and removes the staging directory."""
    target = tmp_path / "tables"
    target.mkdir()
    (target / "a.txt").write_text("previous")
    with pytest.raises(RuntimeError), atomic_dir(target, "choose another directory") as staging:
        (staging / "a.txt").write_text("new, half")
        raise RuntimeError("interrupted")
    assert (target / "a.txt").read_text() == "previous"
    assert _leftovers(tmp_path) == []
