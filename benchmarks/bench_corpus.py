"""Audit time over real HTML pages against trafilatura alone on the same pages, with where the time goes."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.measure import run_measured

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "article-extraction-benchmark" / "html"
JOBS = os.cpu_count() or 1  # the audit's default number of worker processes; the second baseline uses as many


def _extract(page: Path) -> None:
    import trafilatura

    trafilatura.bare_extraction(
        gzip.decompress(page.read_bytes()), with_metadata=True, output_format="python"
    )


def trafilatura_alone(pages: list[Path]) -> float:
    """Seconds trafilatura takes to extract every page with metadata, in one process (imports excluded)."""
    import trafilatura  # noqa: F401  (imported before the clock starts)

    start = time.perf_counter()
    for page in pages:
        _extract(page)
    return time.perf_counter() - start


def trafilatura_processes(corpus: Path, jobs: int) -> float:
    """Seconds a fresh Python takes to extract every page in `jobs` worker processes, start-up included."""
    code = f"from benchmarks.bench_corpus import extract_all; extract_all({str(corpus)!r}, {jobs})"
    return run_measured([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(ROOT)}).seconds


def extract_all(corpus: str, jobs: int) -> None:
    """Every page of the corpus through trafilatura, in a pool of `jobs` processes (the second baseline)."""
    import trafilatura  # noqa: F401  (imported once, before the workers fork, as the audit imports its modules)

    with ProcessPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(_extract, sorted(Path(corpus).glob("*.html.gz")), chunksize=8))


def staged_run(argv: list[str], out: str) -> None:
    """`python -m audit` with argv, recording when each stage starts and ends (wall-clock epoch seconds)."""
    marks: dict[str, float] = {"entered": time.time()}
    from audit import cli, pipeline
    from audit.validate import seeds

    marks["imported"] = time.time()
    _mark(pipeline, "write_tables", "extraction", marks)
    _mark(pipeline, "finish_audit", "report", marks)
    _mark(seeds, "_rederive", "rederive", marks)
    try:
        cli.main(argv)
    finally:
        marks["finished"] = time.time()
        Path(out).write_text(json.dumps(marks))


def _mark(module: Any, name: str, label: str, marks: dict[str, float]) -> None:
    """Wrap module.name to record its first start, last end and total seconds (skipped if it is gone)."""
    fn: Callable[..., Any] | None = getattr(module, name, None)
    if fn is None:
        return

    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.time()
        marks.setdefault(f"{label}_start", start)
        try:
            return fn(*args, **kwargs)
        finally:
            marks[f"{label}_end"] = time.time()
            marks[f"{label}_s"] = marks.get(f"{label}_s", 0.0) + marks[f"{label}_end"] - start

    setattr(module, name, timed)


def breakdown(marks: dict[str, float], launched: float) -> dict[str, float]:
    """Seconds per stage: start-up (interpreter, imports, suites), extraction and tables, validation, report, exit."""

    def span(a: str, b: str) -> float:
        return marks[b] - marks[a] if a in marks and b in marks else float("nan")

    return {
        "startup_s": marks.get("extraction_start", float("nan")) - launched,
        "interpreter_s": marks["entered"] - launched,
        "imports_s": span("entered", "imported"),
        "suites_load_s": span("imported", "extraction_start"),
        "extraction_s": span("extraction_start", "extraction_end"),
        "validation_s": span("extraction_end", "report_start"),
        "rederive_s": marks.get("rederive_s", 0.0),
        "report_s": span("report_start", "report_end"),
        "exit_s": span("report_end", "finished"),
    }


def audit_run(pages: list[Path]) -> tuple[Any, dict[str, float]]:
    """`python -m audit run` over copies of the pages: what it cost, and its stages."""
    with tempfile.TemporaryDirectory(prefix="audit-corpus-") as tmp:
        seeds = Path(tmp) / "seeds"
        seeds.mkdir()
        for page in pages:
            shutil.copy(page, seeds / page.name)
        argv = ["run", str(seeds), "--tables", f"{tmp}/tables", "--report", f"{tmp}/report"]
        argv += ["--suites", str(ROOT / "expectations"), "--no-cache"]  # a first run: every page extracted
        marks_path = Path(tmp) / "marks.json"
        code = f"from benchmarks.bench_corpus import staged_run; staged_run({argv!r}, {str(marks_path)!r})"
        env = {**os.environ, "GX_ANALYTICS_ENABLED": "false", "PYTHONPATH": str(ROOT)}
        launched = time.time()
        m = run_measured([sys.executable, "-c", code], env=env)
        return m, breakdown(json.loads(marks_path.read_text()), launched)


def main(corpus: Path = CORPUS) -> dict[str, float]:
    """Audit every page of the corpus; compare with trafilatura alone; print the ratios and the stages."""
    pages = sorted(corpus.glob("*.html.gz"))
    if not pages:
        print(f"no pages under {corpus}; skipping the corpus benchmark")
        return {}
    alone = trafilatura_alone(pages)
    pooled = trafilatura_processes(corpus, JOBS)
    m, stages = audit_run(pages)
    print(
        f"{len(pages)} corpus pages: audit {m.seconds:.1f} s (all stages, {JOBS} worker processes), "
        f"peak RSS {m.peak_rss_mb:.0f} MB (PSS {m.peak_pss_mb:.0f} MB)\n"
        f"  trafilatura alone, 1 process, imports excluded: {alone:.1f} s, ratio x{m.seconds / alone:.2f}\n"
        f"  trafilatura alone, {JOBS} processes, whole command with start-up: {pooled:.1f} s, "
        f"ratio x{m.seconds / pooled:.2f}\n"
        f"  audit stages: start-up {stages['startup_s']:.1f} s (interpreter {stages['interpreter_s']:.1f} s, "
        f"imports {stages['imports_s']:.1f} s, loading the suites, which imports Great Expectations, "
        f"{stages['suites_load_s']:.1f} s), extraction and tables "
        f"{stages['extraction_s']:.1f} s, validation {stages['validation_s']:.1f} s, report {stages['report_s']:.1f} s, "
        f"exit {stages['exit_s']:.1f} s; re-deriving texts with trafilatura, all stages: {stages['rederive_s']:.1f} s",
        flush=True,
    )
    return {
        "pages": len(pages),
        "audit_s": m.seconds,
        "trafilatura_s": alone,
        "trafilatura_pool_s": pooled,
        "ratio": m.seconds / alone,
        "ratio_pool": m.seconds / pooled,
        **stages,
    }
