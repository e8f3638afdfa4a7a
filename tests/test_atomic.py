"""Atomic outputs: a run killed at any moment leaves the previous complete outputs or the new complete ones,
and never a report beside tables it is not about.

`python -m audit run` is started as a subprocess and sent SIGINT, SIGTERM or SIGKILL: in CI at the moment
its new tables have come in (where the report used to be the previous run's), and behind the ``slow``
marker over 130 generated seeds after delays drawn from a seeded RNG (so a failure reproduces). After
each kill the tables directory is either byte-for-byte what it was before the run or a new complete set,
and the report present, if any, is the report of the tables present: its results.json records their
digests and their run id. (``audit run`` removes the old report just before its new tables come in and
writes the new one after: the one commit point of both.) A final run must then recover and succeed.
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

from audit.errors import UsageError
from audit.fsio import atomic_dir, recover_dir
from audit.marks import MARKER, marker_text
from benchmarks.generate import generate
from tests.conftest import ROOT, SAMPLE, SUITES

N_SEEDS = 120  # the killed runs audit N_SEEDS + N_MORE, so their outputs differ from the previous run's
N_MORE = 10
N_KILLS = 12  # four of each signal
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
        "--no-cache",  # every seed extracted: the phases last as long as the signals' timing assumes
    ]


def _default_signals() -> None:
    """In the child: SIGINT handled as Python does by default, even when this test runs where it is
    ignored (a job started in the background of a non-interactive shell inherits SIGINT ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


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
        set(files) - {MARKER} == {*recorded, "manifest.json"}
        and all(files[name] == sha for name, sha in recorded.items())
        and sorted(s["path"] for s in manifest["seeds"]) == _seed_paths(seeds)
    )


def _report_matches_tables(reports: Path, tables: Path) -> bool:
    """A complete report written for the tables now in place: results.json records their digests and run id."""
    results = json.loads((reports / "results.json").read_text())
    manifest = json.loads((tables / "manifest.json").read_text())
    index = (reports / "index.html").read_text()
    recorded = {k: v["sha256"] for k, v in results["manifest"]["tables"].items()}
    return (
        recorded == {k: v["sha256"] for k, v in manifest["tables"].items()}
        and results["manifest"]["run"].get("run_id") == manifest["run"].get("run_id")
        and index.rstrip().endswith("</html>")
        and (reports / "junit.xml").read_text().rstrip().endswith(">")
    )


def _no_report_or_the_tables_report(reports: Path, tables: Path) -> bool:
    """What a person may find after a kill: no report (none, or the empty folder a run left), or the report of the tables present."""
    if not any(p.name not in (MARKER, ".gitkeep") for p in reports.glob("*")):
        return True
    return _report_matches_tables(reports, tables)


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
            preexec_fn=_default_signals,
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


@pytest.mark.slow
def test_killed_runs_leave_previous_or_new_complete_outputs(world: dict[str, Path]) -> None:
    """After SIGINT, SIGTERM or SIGKILL at a random moment, the tables are the previous complete set or a new complete one, the report present (if any) is theirs, and a following run succeeds."""
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
        assert _no_report_or_the_tables_report(out / "reports", out / "tables"), (
            what + ": a report that is not about the tables present"
        )
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
        preexec_fn=_default_signals,
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


def _marked_output(path: Path, kind: str, files: dict[str, str]) -> None:
    """An output folder as a run of the audit leaves it: the files, and the marker listing them."""
    with atomic_dir(path, "x", kind=kind, place=f"--{path.name}") as staging:
        for name, text in files.items():
            (staging / name).write_text(text)


@pytest.mark.slow
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
    """A run stopped by SIGINT or SIGTERM (signals a process can handle) while it writes removes its staging directory; stopped before its tables came in it keeps the previous report, after, it leaves none."""
    out = world["root"] / f"staging-{sig.name}-{phase}"
    out.mkdir()
    _marked_output(out / "tables", "tables", {"previous.txt": "previous", "manifest.json": "{}"})
    _marked_output(out / "reports", "report", {"previous.txt": "previous", "results.json": "{}"})
    code, sent = _signal_when_staging(world["medium"], out, sig, phase)
    assert sent and code != 0
    assert (out / "reports" / "previous.txt").exists() == (phase == "tables")
    assert (out / "tables" / "previous.txt").exists() == (phase == "tables")
    assert _leftovers(out) == []


@pytest.mark.slow
def test_a_run_after_a_sigkill_cleans_up_stale_staging_directories(world: dict[str, Path]) -> None:
    """Staging directories that a SIGKILLed run could not remove (they carry the audit's marker) are gone after the next complete run."""
    out = world["root"] / "stale"
    out.mkdir()
    for name, kind in (("tables", "tables"), ("reports", "report")):
        (out / f".{name}.new-stale123").mkdir()
        (out / f".{name}.new-stale123" / MARKER).write_text(marker_text(kind, None))
        (out / f".{name}.new-stale123" / "seeds.parquet").write_bytes(b"half written")
    proc = subprocess.run(_command(world["one"], out), env=_env(), cwd=out, capture_output=True, text=True)
    assert proc.returncode in (0, 1), proc.stderr
    assert _leftovers(out) == []


def test_recover_dir_restores_the_backup_its_journal_names(tmp_path: Path) -> None:
    """If a swap died between its renames, recover_dir puts back the backup the swap's journal names, not another leftover."""
    target = tmp_path / "tables"
    # an older run (pid 10000) died while deleting its backup, leaving a partial one; a newer run
    # (pid 9999) then died between its two renames, leaving the complete previous outputs as its backup
    partial = tmp_path / ".tables.old-10000"
    partial.mkdir()
    (partial / MARKER).write_text(marker_text("tables", ["seeds.parquet"]))
    (partial / "seeds.parquet").write_bytes(b"partial")
    previous = tmp_path / ".tables.old-9999"
    previous.mkdir()
    (previous / MARKER).write_text(marker_text("tables", ["manifest.json", "seeds.parquet"]))
    (previous / "manifest.json").write_text("{}")
    (previous / "seeds.parquet").write_bytes(b"complete")
    (tmp_path / ".tables.swap").write_text(previous.name)
    recover_dir(target)
    assert (target / "seeds.parquet").read_bytes() == b"complete"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tables"]


def test_atomic_dir_failure_leaves_target_untouched(tmp_path: Path) -> None:
    """An exception inside atomic_dir leaves the target as it was and removes the staging directory."""
    target = tmp_path / "tables"
    _marked_output(target, "tables", {"a.txt": "previous"})
    with pytest.raises(RuntimeError), atomic_dir(target, "x", kind="tables", place="--tables") as staging:
        (staging / "a.txt").write_text("new, half")
        raise RuntimeError("interrupted")
    assert (target / "a.txt").read_text() == "previous"
    assert _leftovers(tmp_path) == []


def test_atomic_dir_refuses_a_target_that_is_not_its_own(tmp_path: Path) -> None:
    """Regression: a folder that merely held the audit's file names was replaced whole."""
    target = tmp_path / "tables"
    target.mkdir()
    (target / "manifest.json").write_text("{}")
    (target / "thesis.tex").write_text("mine")
    with (
        pytest.raises(UsageError, match="no audit marker"),
        atomic_dir(target, "x", kind="tables", place="--tables"),
    ):
        raise AssertionError("not reached")
    assert (target / "thesis.tex").read_text() == "mine"


# -- the commit point: a report is never read beside other tables ------------------------------------------

TRIAL_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)


def _one_run(seeds: Path, out: Path) -> subprocess.Popen[bytes]:
    argv = _command(seeds, out)
    argv[argv.index("--jobs") + 1] = "1"
    return subprocess.Popen(
        argv,
        env=_env(),
        cwd=out.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=_default_signals,
    )


def _signal_once_tables_come_in(seeds: Path, out: Path, sig: signal.Signals) -> tuple[int, bool, str]:
    """Run, and send sig as soon as new tables are in place (the report still to write); return the exit
    code, whether the signal was sent, and stderr."""
    before = (out / "tables").stat().st_ino
    proc = _one_run(seeds, out)
    sent = False
    try:
        deadline = time.monotonic() + 150
        while proc.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(FileNotFoundError):
                if (out / "tables").stat().st_ino != before:
                    proc.send_signal(sig)
                    sent = True
                    break
            time.sleep(0.005)
        _, err = proc.communicate(timeout=180)
        return proc.returncode, sent, err.decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two seed sets that give different tables: the bundled seed, and it with a second page."""
    root = tmp_path_factory.mktemp("commit")
    for name, seeds in (("a", [SAMPLE]), ("b", [SAMPLE, ROOT / "tests" / "data" / "seeds" / "good.txt"])):
        (root / name).mkdir()
        for seed in seeds:
            (root / name / seed.name).write_bytes(seed.read_bytes())
    return {"root": root, "a": root / "a", "b": root / "b"}


@pytest.mark.parametrize("sig", TRIAL_SIGNALS, ids=lambda s: s.name)
def test_a_kill_once_new_tables_are_in_never_leaves_the_previous_report(
    small: dict[str, Path], sig: signal.Signals
) -> None:
    """Regression: killed between its tables and its report, a run left its new tables beside the previous run's report (6 of 24 kills)."""
    out = small["root"] / f"out-{sig.name}"
    out.mkdir()
    done = _one_run(small["a"], out)
    assert done.wait(timeout=180) in (0, 1), done.communicate()[1]
    done.communicate()
    assert _report_matches_tables(out / "reports", out / "tables")
    code, sent, err = _signal_once_tables_come_in(small["b"], out, sig)
    assert sent, f"the run ended (exit {code}) before its tables came in: {err}"
    for name in ("tables", "reports"):
        recover_dir((out / name).resolve())
    assert _is_complete_tables(out / "tables", small["b"]), err
    assert _no_report_or_the_tables_report(out / "reports", out / "tables"), (
        f"{sig.name}: the previous report stayed"
    )
