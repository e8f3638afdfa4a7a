"""End-to-end time and peak memory at 1k, 10k and 100k text seeds, against the read+sha256 floor."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks.generate import generate
from benchmarks.measure import run_measured, timed

ROOT = Path(__file__).resolve().parent.parent


def read_and_hash(paths: list[Path]) -> None:
    """The floor: read every seed once and hash it, in one process."""
    for path in paths:
        hashlib.sha256(path.read_bytes()).hexdigest()


def bench(n: int, work: Path) -> dict[str, float]:
    """Generate n seeds, measure the floor, then the whole audit as a user runs it."""
    seeds = work / f"seeds_{n}"
    paths = generate(seeds, n)
    floor = timed(read_and_hash, paths)
    env = {**os.environ, "GX_ANALYTICS_ENABLED": "false"}
    cmd = [
        sys.executable,
        "-m",
        "audit",
        "run",
        str(seeds),
        "--tables",
        str(work / f"tables_{n}"),
        "--report",
        str(work / f"report_{n}"),
        "--suites",
        str(ROOT / "expectations"),
    ]
    m = run_measured(cmd, env=env)
    shutil.rmtree(seeds)
    manifest = json.loads((work / f"tables_{n}" / "manifest.json").read_text(encoding="utf-8"))
    extract_s = float(manifest["run"]["duration_s"])  # start to manifest: extraction and the tables
    return {
        "n": n,
        "audit_s": m.seconds,
        "floor_s": floor,
        "ratio": m.seconds / floor,
        "peak_rss_mb": m.peak_rss_mb,
        "peak_pss_mb": m.peak_pss_mb,
        "seeds_per_s": n / m.seconds,
        "exit": m.returncode,
        "extract_s": extract_s,
        "validate_report_s": m.seconds - extract_s,
    }


def main(sizes: list[int]) -> list[dict[str, float]]:
    """Run the scale benchmark at each size and print a table."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="audit-bench-") as tmp:
        for n in sizes:
            rows.append(bench(n, Path(tmp)))
            r = rows[-1]
            print(
                f"{r['n']:>7} seeds: audit {r['audit_s']:7.1f} s  floor {r['floor_s']:6.2f} s  "
                f"x{r['ratio']:6.0f}  peak RSS {r['peak_rss_mb']:6.0f} MB (PSS {r['peak_pss_mb']:.0f} MB)  "
                f"{r['seeds_per_s']:6.0f} seeds/s  exit {r['exit']}"
                f"  (extraction and tables {r['extract_s']:.1f} s, then validation and report "
                f"{r['validate_report_s']:.1f} s)",
                flush=True,
            )
    return rows
