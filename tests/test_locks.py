"""Locks die with the run: a run killed with SIGKILL leaves nothing that keeps the next run out.

The places' locks are POSIX record locks, which belong to the process that took them (forked workers do
not inherit them, and close the lock files' descriptors first thing), and workers are SIGKILLed by the
kernel when their parent dies (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from audit.fsio import in_use
from benchmarks.generate import generate
from tests.conftest import ROOT, SUITES, run_args

ENV = {**os.environ, "PYTHONPATH": str(ROOT), "GX_ANALYTICS_ENABLED": "false"}

# a command holding a place, with a child forked the way the worker pools fork theirs (no exec)
HOLD_AND_FORK = r"""
import os, sys, time
from pathlib import Path
from audit.fsio import in_use
with in_use({"--tables": Path(sys.argv[1])}):
    if os.fork() == 0:
        time.sleep(60)
        os._exit(0)
    print("held", flush=True)
    time.sleep(60)
"""

# a worker pool as the audit makes it, whose worker sleeps; prints the worker's pid
POOL_WORKER = r"""
import os, time
from audit.forking import forked_pool
with forked_pool(1) as pool:
    print(pool.submit(os.getpid).result(), flush=True)
    pool.submit(time.sleep, 60).result()
"""


def _alive(pid: int) -> bool:
    """Whether pid runs (a zombie, dead but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _alive(pid)


def test_a_forked_child_does_not_keep_the_lock_of_its_killed_parent(tmp_path: Path) -> None:
    """Regression: a child forked while the parent held a place kept it locked after a kill -9 of the parent ("another audit (process N) is using it")."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_AND_FORK, str(tmp_path / "tables")],
        env=ENV,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    children = Path(f"/proc/{holder.pid}/task/{holder.pid}/children").read_text().split()
    try:
        holder.kill()
        holder.wait()  # (not communicate: the child holds the pipe open)
        holder.stdout.close()
        assert children and all(
            _alive(int(c)) for c in children
        )  # the child outlives it: no parent-death signal here
        with in_use({"--tables": tmp_path / "tables"}):  # taken at once
            pass
    finally:
        for child in children:
            os.kill(int(child), signal.SIGKILL)


def test_pool_workers_die_with_their_parent() -> None:
    """Regression: workers of a parent killed with SIGKILL went on for minutes; now the kernel ends them with it."""
    parent = subprocess.Popen([sys.executable, "-c", POOL_WORKER], env=ENV, stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    worker = int(parent.stdout.readline())
    try:
        assert _alive(worker)
        parent.kill()
        parent.wait()  # (not communicate: a worker that outlived it would hold the pipe open)
        parent.stdout.close()
        assert _gone_within(worker, 5), "the worker outlived its parent"
    finally:
        if _alive(worker):
            os.kill(worker, signal.SIGKILL)


def _run(seeds: Path, out: Path) -> list[str]:
    # two workers, so that there are forked children to outlive a killed parent (the later --jobs wins)
    return [sys.executable, "-m", "audit", *run_args(out, seeds, SUITES, "--jobs", "2")]


def _workers_of(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def test_the_next_run_proceeds_at_once_after_a_kill_9_mid_run(tmp_path: Path) -> None:
    """SIGKILL of `audit run` while its two workers extract: the next run, started at once, takes the places and finishes."""
    generate(tmp_path / "seeds", 72)  # past the 64 seeds from which extraction forks workers
    out = tmp_path / "out"
    first = subprocess.Popen(
        _run(tmp_path / "seeds", out), env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while len(_workers_of(first.pid)) < 2 and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    workers = _workers_of(first.pid)
    assert len(workers) >= 2 and first.poll() is None, "the run ended before its workers started"
    first.kill()
    first.wait()
    second = subprocess.run(
        _run(tmp_path / "seeds", out), env=ENV, capture_output=True, text=True, timeout=300
    )
    try:
        assert "another audit" not in second.stderr
        assert second.returncode in (0, 1), second.stderr
        assert all(_gone_within(w, 5) for w in workers)
    finally:
        for worker in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker, signal.SIGKILL)


def _open_files() -> set[str]:
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # (the listing's own descriptor is gone by now)
            found.add(os.readlink(f"/proc/self/fd/{fd}"))
    return found


@pytest.mark.parametrize("exclusive", [True, False])
def test_the_lock_files_descriptor_is_closed_in_forked_children(tmp_path: Path, exclusive: bool) -> None:
    """A forked child holds no descriptor of the lock file (nor could it keep the lock through one)."""
    lock = (tmp_path / ".tables.lock").resolve()
    places = {"--tables": tmp_path / "tables"}
    with in_use(places if exclusive else {}, None if exclusive else places):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child reports through its exit code
            code = 2
            try:
                code = 1 if str(lock) in _open_files() else 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
