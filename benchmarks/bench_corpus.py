"""Audit time over real HTML pages against trafilatura alone on the same pages."""

from __future__ import annotations

import gzip
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.measure import run_measured

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "article-extraction-benchmark" / "html"


def trafilatura_alone(pages: list[Path]) -> float:
    """Seconds trafilatura takes to extract every page with metadata, in one process."""
    import trafilatura

    start = time.perf_counter()
    for page in pages:
        trafilatura.bare_extraction(
            gzip.decompress(page.read_bytes()), with_metadata=True, output_format="python"
        )
    return time.perf_counter() - start


def main(corpus: Path = CORPUS) -> dict[str, float]:
    """Audit every page of the corpus; compare with trafilatura alone; print the ratio."""
    pages = sorted(corpus.glob("*.html.gz"))
    if not pages:
        print(f"no pages under {corpus}; skipping the corpus benchmark")
        return {}
    alone = trafilatura_alone(pages)
    with tempfile.TemporaryDirectory(prefix="audit-corpus-") as tmp:
        seeds = Path(tmp) / "seeds"
        seeds.mkdir()
        for page in pages:
            shutil.copy(page, seeds / page.name)
        cmd = [
            sys.executable,
            "-m",
            "audit",
            "run",
            str(seeds),
            "--tables",
            f"{tmp}/tables",
            "--report",
            f"{tmp}/report",
            "--suites",
            str(ROOT / "expectations"),
        ]
        m = run_measured(cmd, env={**os.environ, "GX_ANALYTICS_ENABLED": "false"})
    print(
        f"{len(pages)} corpus pages: audit {m.seconds:.1f} s (all stages, {os.cpu_count()} cores), "
        f"trafilatura alone {alone:.1f} s (1 core), ratio x{m.seconds / alone:.2f}, peak RSS {m.peak_rss_mb:.0f} MB",
        flush=True,
    )
    return {"pages": len(pages), "audit_s": m.seconds, "trafilatura_s": alone, "ratio": m.seconds / alone}
