"""Measuring tools: wall time and the peak resident memory of a whole process tree.

Two memory figures: the summed RSS of every process (what the targets are judged on; it counts a page a
forked worker shares with its parent once per process) and the summed PSS (each shared page divided among
the processes sharing it: the physical memory the tree really holds).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True, slots=True)
class Measured:
    """What running one command cost."""

    seconds: float
    peak_rss_mb: float
    returncode: int
    peak_pss_mb: float = 0.0


def _tree(pid: int) -> list[int]:
    """pid and all its descendants, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, stack = [], [pid]
    while stack:
        p = stack.pop()
        found.append(p)
        stack.extend(children.get(p, []))
    return found


def _memory(pid: int) -> tuple[int, int]:
    """Resident and proportional set size of one process, in bytes (0, 0 if it has gone)."""
    try:
        rss = int((Path("/proc") / str(pid) / "statm").read_text().split()[1]) * _PAGE
        rollup = (Path("/proc") / str(pid) / "smaps_rollup").read_text()
    except OSError:
        return 0, 0
    pss = next((int(line.split()[1]) * 1024 for line in rollup.splitlines() if line.startswith("Pss:")), 0)
    return rss, pss


def _tree_memory(pid: int) -> tuple[int, int]:
    """Summed RSS and summed PSS of pid and all its descendants."""
    sizes = [_memory(p) for p in _tree(pid)]
    return sum(r for r, _ in sizes), sum(p for _, p in sizes)


def run_measured(
    cmd: list[str], *, env: dict[str, str] | None = None, interval: float = 0.05, memory: bool = True
) -> Measured:
    """Run a command; return its wall time and the peak summed RSS (and PSS) of its process tree.

    Sampling memory reads every process's ``smaps_rollup`` 20 times a second, which costs CPU in
    proportion to the processes and their memory: on 2 cores it slowed the 3-process corpus audit by
    0.4-2.4 s of its 10 s, and one process far less. A time compared between commands is taken with
    ``memory=False`` (the peaks are then 0).
    """
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if not memory:
        _, err = proc.communicate()
        return _measured(cmd, proc.returncode, err, time.perf_counter() - start, 0, 0)
    peak, peak_pss = 0, 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak, peak_pss
        while not done.is_set():
            rss, pss = _tree_memory(proc.pid)
            peak, peak_pss = max(peak, rss), max(peak_pss, pss)
            time.sleep(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    done.set()
    sampler.join()
    return _measured(cmd, proc.returncode, err, time.perf_counter() - start, peak, peak_pss)


def _measured(cmd: list[str], code: int, err: bytes, elapsed: float, peak: int, peak_pss: int) -> Measured:
    if code not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)} exited {code}: {err.decode()[-2000:]}")
    return Measured(elapsed, peak / 2**20, code, peak_pss / 2**20)


def timed(fn: object, *args: object) -> float:
    """Seconds one call of fn(*args) takes."""
    start = time.perf_counter()
    fn(*args)  # type: ignore[operator]
    return time.perf_counter() - start
