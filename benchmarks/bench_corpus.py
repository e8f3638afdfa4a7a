"""Audit time over real HTML pages against trafilatura alone on the same pages, with where the time goes.

The target compares whole processes, as a user waits for them: ``python -m audit run`` against a Python
that imports trafilatura and extracts every page, both started from the shell. Both run from compiled
bytecode, as an installed package does: where the environment forbids writing it
(PYTHONDONTWRITEBYTECODE), the commands keep it in a temporary cache (PYTHONPYCACHEPREFIX), filled by one
uncounted run of the audit (which imports everything the trafilatura commands do).
"""

from __future__ import annotations

import gzip
import importlib.abc
import importlib.machinery
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

from benchmarks.measure import run_measured

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "article-extraction-benchmark" / "html"
ROUNDS = 3  # pairs of whole commands; the median ratio is reported
JOBS = os.cpu_count() or 1  # the audit's default number of worker processes; the second baseline uses as many
ENV = {
    **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    "GX_ANALYTICS_ENABLED": "false",
    "PYTHONPATH": str(ROOT),
}


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
    return run_measured([sys.executable, "-c", code], env=ENV, memory=False).seconds


def trafilatura_command(corpus: Path) -> float:
    """Seconds a fresh Python takes to import trafilatura and extract every page, in one process."""
    code = f"from benchmarks.bench_corpus import extract_serially; extract_serially({str(corpus)!r})"
    return run_measured([sys.executable, "-c", code], env=ENV, memory=False).seconds


def extract_serially(corpus: str) -> None:
    """Every page of the corpus through trafilatura, one after another (the whole-process baseline)."""
    for page in sorted(Path(corpus).glob("*.html.gz")):
        _extract(page)


def extract_all(corpus: str, jobs: int) -> None:
    """Every page of the corpus through trafilatura, in a pool of `jobs` processes (the second baseline)."""
    import trafilatura  # noqa: F401  (imported once, before the workers fork, as the audit imports its modules)

    with ProcessPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(_extract, sorted(Path(corpus).glob("*.html.gz")), chunksize=8))


def staged_run(argv: list[str], out: str) -> None:
    """`python -m audit` with argv, recording when each stage starts and ends (wall-clock epoch seconds).

    The stages are timed by wrapping functions as their modules are first imported, so that the run
    imports what it imports, when it does.
    """
    marks: dict[str, float] = {"entered": time.time()}

    def pipeline(module: ModuleType) -> None:
        _mark(module, "plan_run", "plan", marks)
        _mark(module, "check_builds", "build", marks)
        _mark(module, "write_tables", "extraction", marks)

    _on_import(
        {
            "audit.pipeline": pipeline,
            "audit.finish": lambda m: _mark(m, "finish_audit", "report", marks),
            "audit.validate.seeds": lambda m: _mark(m, "_rederive", "rederive", marks),
        }
    )
    from audit import cli

    try:
        cli.main(argv)
    finally:
        marks["finished"] = time.time()
        Path(out).write_text(json.dumps(marks))


class _OnImport(importlib.abc.MetaPathFinder):
    """Runs a hook on a module just after its first import (each hook once)."""

    def __init__(self, hooks: dict[str, Callable[[ModuleType], Any]]) -> None:
        self.hooks = hooks

    def find_spec(
        self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if name not in self.hooks:
            return None
        hook = self.hooks.pop(name)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        loader = spec.loader if spec is not None else None
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        run = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run(module)
            hook(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _on_import(hooks: dict[str, Callable[[ModuleType], Any]]) -> None:
    sys.meta_path.insert(0, _OnImport(hooks))


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
    """Seconds per stage: start-up until the workers extract (interpreter, imports, plan), the suites built
    with GX meanwhile, extraction and tables, validation, report, exit."""

    def span(a: str, b: str) -> float:
        return marks[b] - marks[a] if a in marks and b in marks else float("nan")

    workers = (
        "build_start" if "build_start" in marks else "extraction_start"
    )  # (GX imported before: no build)
    return {
        "startup_s": marks.get(workers, float("nan")) - launched,
        "interpreter_s": marks["entered"] - launched,
        "imports_s": span("entered", "plan_start"),
        "plan_s": span("plan_start", "plan_end"),
        "build_s": marks.get("build_s", float("nan")),
        "extraction_s": span(workers, "extraction_end"),
        "validation_s": span("extraction_end", "report_start"),
        "rederive_s": marks.get("rederive_s", 0.0),
        "report_s": span("report_start", "report_end"),
        "exit_s": span("report_end", "finished"),
    }


def audit_run(pages: list[Path], memory: bool = False) -> tuple[Any, dict[str, float]]:
    """`python -m audit run` over copies of the pages: what it cost (its memory too if asked: slower), and its
    stages."""
    with tempfile.TemporaryDirectory(prefix="audit-corpus-") as tmp:
        seeds = Path(tmp) / "seeds"
        seeds.mkdir()
        for page in pages:
            shutil.copy(page, seeds / page.name)
        argv = ["run", str(seeds), "--tables", f"{tmp}/tables", "--report", f"{tmp}/report"]
        argv += ["--suites", str(ROOT / "expectations"), "--no-cache"]  # a first run: every page extracted
        marks_path = Path(tmp) / "marks.json"
        code = f"from benchmarks.bench_corpus import staged_run; staged_run({argv!r}, {str(marks_path)!r})"
        launched = time.time()
        m = run_measured([sys.executable, "-c", code], env=ENV, memory=memory)
        return m, breakdown(json.loads(marks_path.read_text()), launched)


def main(corpus: Path = CORPUS) -> dict[str, float]:
    """Audit every page of the corpus; compare with trafilatura alone; print the ratios and the stages."""
    pages = sorted(corpus.glob("*.html.gz"))
    if not pages:
        print(f"no pages under {corpus}; skipping the corpus benchmark")
        return {}
    with tempfile.TemporaryDirectory(prefix="audit-corpus-pycache-") as pycache:
        if "PYTHONPYCACHEPREFIX" not in ENV and (
            os.environ.get("PYTHONDONTWRITEBYTECODE") or sys.flags.dont_write_bytecode
        ):
            ENV["PYTHONPYCACHEPREFIX"] = pycache
            audit_run(pages)  # uncounted: compiles the bytecode of everything the runs import
        return _compared(corpus, pages)


def _compared(corpus: Path, pages: list[Path], rounds: int = ROUNDS) -> dict[str, float]:
    print("load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()), flush=True)
    # the two whole commands in turn (A B A B ...), so a burst of other work falls on both
    pairs = [(trafilatura_command(corpus), audit_run(pages)) for _ in range(rounds)]
    ratios = [run.seconds / command for command, (run, _) in pairs]
    median = sorted(range(rounds), key=lambda i: ratios[i])[rounds // 2]
    command, (m, stages) = pairs[median]
    alone = trafilatura_alone(pages)
    pooled = trafilatura_processes(corpus, JOBS)
    memory, _ = audit_run(pages, memory=True)  # not timed against anything: sampling slows the audit
    print(
        f"{len(pages)} corpus pages, {rounds} rounds of both whole commands in turn; the round with the median "
        f"ratio: audit {m.seconds:.1f} s (whole command, all stages, {JOBS} worker "
        f"processes); in another run, peak RSS {memory.peak_rss_mb:.0f} MB (PSS {memory.peak_pss_mb:.0f} MB)\n"
        f"  trafilatura alone, whole command, 1 process: {command:.1f} s, ratio x{m.seconds / command:.2f} "
        "(target <= 2.0)\n"
        "  every round, audit / trafilatura: "
        + ", ".join(
            f"{run.seconds:.1f} / {c:.1f} s = x{r:.2f}"
            for (c, (run, _)), r in zip(pairs, ratios, strict=True)
        )
        + "\n"
        f"  trafilatura alone, 1 process, imports excluded: {alone:.1f} s, ratio x{m.seconds / alone:.2f}\n"
        f"  trafilatura alone, {JOBS} processes, whole command with start-up: {pooled:.1f} s, "
        f"ratio x{m.seconds / pooled:.2f}\n"
        f"  audit stages: start-up until the workers extract {stages['startup_s']:.1f} s (interpreter "
        f"{stages['interpreter_s']:.1f} s, imports {stages['imports_s']:.1f} s, loading the suites, waivers, "
        f"policy and seed list {stages['plan_s']:.1f} s); extraction and tables {stages['extraction_s']:.1f} s "
        f"(meanwhile the parent imports GX and builds the suites: {stages['build_s']:.1f} s); validation "
        f"{stages['validation_s']:.1f} s; report {stages['report_s']:.1f} s; exit {stages['exit_s']:.1f} s; "
        f"re-deriving texts with trafilatura, all stages: {stages['rederive_s']:.1f} s",
        flush=True,
    )
    print("load average after (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()), flush=True)
    return {
        "pages": len(pages),
        "audit_s": m.seconds,
        "trafilatura_command_s": command,
        "trafilatura_s": alone,
        "trafilatura_pool_s": pooled,
        "ratio_command": m.seconds / command,
        "ratio": m.seconds / alone,
        "ratio_pool": m.seconds / pooled,
        **stages,
    }
