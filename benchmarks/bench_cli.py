"""The CLI as a new user meets it: time to a usage error, and one seed end to end (targets: < 1 s, <= 3.5 s).

Each figure is the median of a few whole-process runs (wall seconds, and CPU seconds of the process and
its workers, which a busy machine moves less), printed beside the same run's floor: the time to import
Great Expectations alone, which every audit pays. The modules run from compiled bytecode, as an installed
package does: where the environment forbids writing it (PYTHONDONTWRITEBYTECODE), the runs keep it in a
temporary cache (PYTHONPYCACHEPREFIX), filled by one uncounted run of each command. The load average is
printed with the figures: the machine has 2 cores and is shared.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = {
    **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    "GX_ANALYTICS_ENABLED": "false",
}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _median(cmd: list[str], runs: int) -> tuple[float, float, int]:
    """Median wall and CPU seconds of whole-process runs, and the last run's exit code."""
    walls, cpus, code = [], [], 0
    subprocess.run(cmd, env=ENV, capture_output=True, check=False)  # warm-up: compiles the bytecode
    for _ in range(runs):
        start, cpu = time.perf_counter(), _cpu()
        code = subprocess.run(cmd, env=ENV, capture_output=True, check=False).returncode
        walls.append(time.perf_counter() - start)
        cpus.append(_cpu() - cpu)
    return statistics.median(walls), statistics.median(cpus), code


def main(runs: int = 3) -> None:
    """Print the usage-error latency, the one-seed wall time and the GX import floor (medians)."""
    python = [sys.executable, "-m", "audit"]
    with tempfile.TemporaryDirectory(prefix="audit-cli-") as tmp:
        if "PYTHONPYCACHEPREFIX" not in ENV and (
            os.environ.get("PYTHONDONTWRITEBYTECODE") or sys.flags.dont_write_bytecode
        ):
            ENV["PYTHONPYCACHEPREFIX"] = f"{tmp}/pycache"
        print(
            "load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f} on {} CPUs".format(
                *os.getloadavg(), os.cpu_count()
            )
        )
        error, cpu, code = _median([*python, "run", f"{tmp}/missing"], runs)
        print(
            f"usage error (missing seeds dir): {error:.2f} s wall, {cpu:.2f} s CPU, exit {code} (target < 1 s)"
        )
        one = [*python, "run", str(ROOT / "seeds"), "--tables", f"{tmp}/t", "--report", f"{tmp}/r", "-q"]
        seed, cpu, code = _median(one, runs)
        print(f"one seed end to end: {seed:.2f} s wall, {cpu:.2f} s CPU, exit {code} (target <= 3.5 s wall)")
        serial, serial_cpu, _ = _median([*one, "--jobs", "1"], runs)
        print(f"one seed end to end, --jobs 1: {serial:.2f} s wall, {serial_cpu:.2f} s CPU")
        floor, floor_cpu, _ = _median([sys.executable, "-c", "import great_expectations"], runs)
        print(
            f"floor, import great_expectations: {floor:.2f} s wall, {floor_cpu:.2f} s CPU; "
            f"one seed is {seed / floor:.2f}x the floor (wall), {cpu / floor_cpu:.2f}x (CPU); medians of {runs}"
        )
        print("load average after (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
