"""Reruns with the extraction cache: a full run with a cold cache, then a rerun with 1% of seeds edited.

    python -m benchmarks cache [--cache-sizes 10000]

For each size: generate N seeds; time ``audit run`` as a whole process with an empty cache (which fills
it), then edit 1% of the seeds (``0.5%`` edited, ``0.5%`` added) and time the rerun, then the same rerun
with ``--no-cache`` as the baseline; all in the same session, so the ratio rerun / full is what counts on
a noisy machine. The tables of the cached rerun and the uncached one are compared byte for byte.
"""

from __future__ import annotations

import filecmp
import os
import sys
import tempfile
from pathlib import Path

from benchmarks.generate import SAMPLE, generate
from benchmarks.measure import run_measured

ROOT = Path(__file__).resolve().parent.parent


def _cmd(seeds: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "audit", "run", str(seeds), "--tables", str(out / "tables"),
        "--report", str(out / "report"), "--suites", str(ROOT / "expectations"), "--no-config", "--quiet", *extra,
    ]  # fmt: skip


def _same_tables(a: Path, b: Path) -> bool:
    names = sorted(p.name for p in (a / "tables").glob("*.parquet"))
    return bool(names) and all(filecmp.cmp(a / "tables" / n, b / "tables" / n, shallow=False) for n in names)


def bench(n: int, work: Path) -> dict[str, float]:
    seeds, cache = work / f"seeds_{n}", work / f"cache_{n}"
    paths = generate(seeds, n)
    env = {**os.environ, "GX_ANALYTICS_ENABLED": "false", "PYTHONPATH": str(ROOT)}
    full = run_measured(_cmd(seeds, work / "full", "--cache", str(cache)), env=env)
    changed = max(1, n // 100)
    for path in paths[: changed // 2 or 1]:
        path.write_text(path.read_text(encoding="utf-8") + "\nA correction was appended.\n", encoding="utf-8")
    (seeds / "added").mkdir()
    for i in range(changed - changed // 2):
        (seeds / "added" / f"added_{i}.txt").write_text(
            SAMPLE.read_text(encoding="utf-8") + f"\nAdded {i}.\n", encoding="utf-8"
        )
    rerun = run_measured(_cmd(seeds, work / "rerun", "--cache", str(cache)), env=env)
    baseline = run_measured(_cmd(seeds, work / "plain", "--no-cache"), env=env)
    return {
        "n": n,
        "full_s": full.seconds,
        "rerun_s": rerun.seconds,
        "plain_s": baseline.seconds,
        "rerun_rss_mb": rerun.peak_rss_mb,
        "identical": float(_same_tables(work / "rerun", work / "plain")),
    }


def main(sizes: list[int]) -> list[dict[str, float]]:
    rows = []
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="audit-cache-bench-") as tmp:
            r = bench(n, Path(tmp))
        rows.append(r)
        print(
            f"{r['n']:>7} seeds: full run (cold cache) {r['full_s']:6.1f} s; rerun with 1% new or edited "
            f"{r['rerun_s']:6.1f} s ({r['rerun_s'] / r['full_s']:.0%} of the full run; without the cache "
            f"{r['plain_s']:.1f} s, x{r['plain_s'] / r['rerun_s']:.1f}); peak RSS {r['rerun_rss_mb']:.0f} MB; "
            f"tables identical to the uncached run: {bool(r['identical'])}",
            flush=True,
        )
    return rows
