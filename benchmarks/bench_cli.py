"""The CLI as a new user meets it: time to a usage error, and one seed end to end (targets: < 1 s, <= 3.5 s).

Each figure is the median of a few whole-process runs, printed beside the same run's floor: the time to
import Great Expectations alone, which every audit pays.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "GX_ANALYTICS_ENABLED": "false"}


def _median(cmd: list[str], runs: int) -> tuple[float, int]:
    """Median wall seconds of whole-process runs, and the last run's exit code."""
    times, code = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        code = subprocess.run(cmd, env=ENV, capture_output=True, check=False).returncode
        times.append(time.perf_counter() - start)
    return statistics.median(times), code


def main(runs: int = 3) -> None:
    """Print the usage-error latency, the one-seed wall time and the GX import floor (medians)."""
    python = [sys.executable, "-m", "audit"]
    with tempfile.TemporaryDirectory(prefix="audit-cli-") as tmp:
        error, code = _median([*python, "run", f"{tmp}/missing"], runs)
        print(f"usage error (missing seeds dir): {error:.2f} s median of {runs}, exit {code} (target < 1 s)")
        one = [*python, "run", str(ROOT / "seeds"), "--tables", f"{tmp}/t", "--report", f"{tmp}/r", "-q"]
        seed, code = _median(one, runs)
        print(f"one seed end to end: {seed:.2f} s median of {runs}, exit {code} (target <= 3.5 s)")
        floor, _ = _median([sys.executable, "-c", "import great_expectations"], runs)
        print(f"floor, import great_expectations: {floor:.2f} s; one seed is {seed / floor:.2f}x the floor")
