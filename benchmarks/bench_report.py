"""Report size: bytes in all and per finding, by part, for a real run over generated seeds, then for the same
run's findings scaled up to 100k seeds (about 470k findings), written without seed pages (their number is
bounded, so the real run's pages stand for them).

The layout before the findings went into data files is gone; its figures, measured on main at 8ea48b2
with ``python -m benchmarks.generate DIR N && python -m audit run DIR --tables T --report R`` and
``du -sb R``, are printed beside the new ones.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks.generate import generate

ROOT = Path(__file__).resolve().parent.parent
# seeds -> (findings, report bytes in all, of which results.json + junit.xml), the layout before
BEFORE = {2_000: (9_820, 42_413_930, 1_405_838), 10_000: (49_014, 64_753_083, 4_518_107)}
BEFORE_100K = (470_000, 277_000_000)  # as issue 22 reports it (findings on 938 pages)
EVIDENCE_LIMIT = 2_000  # findings per rule that keep their evidence (audit.validate.EVIDENCE_LIMIT)
MB = 1_000_000


def parts(report: Path) -> dict[str, int]:
    """The report's bytes by part: machine outputs, index, seed pages, findings, seed list."""
    size = {p: p.stat().st_size for p in report.rglob("*") if p.is_file()}

    def of(*globs: str) -> int:
        return sum(n for p, n in size.items() if any(p.match(str(report / g)) for g in globs))

    out = {
        "results.json + junit.xml": of("results.json", "junit.xml"),
        "index.html": of("index.html"),
        "seed pages": of("seeds/*.html"),
        "findings pages + data": of("findings/*.html", "data/findings-*.js"),
        "seed list + data": of("manifest/*.html", "data/seeds.js"),
    }
    out["other"] = sum(size.values()) - sum(out.values())
    out["total"] = sum(size.values())
    out["for people (total - results.json - junit.xml)"] = out["total"] - out["results.json + junit.xml"]
    return out


def n_findings(verdict: Any) -> int:
    """Findings in the verdict, waived ones included (each is listed)."""
    return sum(len(r.findings) for r in verdict.results)


def run(n: int, work: Path) -> tuple[Any, list[dict[str, Any]], Path]:
    """A real audit of n generated seeds, in this process: its verdict, its seeds table and its report."""
    from audit import RunConfig, run_audit
    from audit.store import read_table

    seeds = work / "seeds"
    generate(seeds, n)
    suites = ROOT / "expectations"
    config = RunConfig(
        seeds_dir=seeds,
        tables_dir=work / "tables",
        report_dir=work / "report",
        suites_dir=suites,
        waivers_path=None,
        policy_path=suites / "number_policy.json",
    )
    verdict = run_audit(config)
    return verdict, read_table(work / "tables", "seeds").to_pylist(), work / "report"


def _new_sha(sha: str, k: int) -> str:
    return hashlib.sha256(f"{sha}/{k}".encode()).hexdigest()


def _copies(seeds: Sequence[Mapping[str, Any]], times: int) -> list[dict[str, Any]]:
    """The seeds `times` over, each copy in its own folder (k/ + path), with a hash of its own."""
    return [
        {**s, "path": f"{k}/{s['path']}", "seed_sha256": _new_sha(s["seed_sha256"], k)}
        for k in range(times)
        for s in seeds
    ]


def scaled(verdict: Any, seeds: Sequence[Mapping[str, Any]], times: int) -> tuple[Any, list[dict[str, Any]]]:
    """The run as if its seeds came `times` over (new paths, hashes and ids), evidence kept as validation keeps it."""
    out_seeds = _copies(seeds, times)
    results = []
    for r in verdict.results:
        findings = []
        for k in range(times):
            for f in r.findings:
                rid = f"{f.record_id[:2]}{hashlib.sha256(f'{f.record_id}/{k}'.encode()).hexdigest()[:16]}"
                sha = _new_sha(f.seed_sha256, k) if f.seed_sha256 else None
                evidence = f.evidence if len(findings) < EVIDENCE_LIMIT else {}
                findings.append(replace(f, record_id=rid, seed_sha256=sha, evidence=evidence, waived_by=None))
        results.append(replace(r, findings=tuple(findings)))
    listed = _copies(verdict.manifest["seeds"], times)  # the manifest's seeds: its own few fields
    manifest = {**verdict.manifest, "seeds": listed, "n_seeds": len(listed)}
    return replace(verdict, results=tuple(results), manifest=manifest), out_seeds


def _print(label: str, sizes: Mapping[str, int], findings: int) -> None:
    print(f"{label}: {findings:,} findings")
    for part, n in sizes.items():
        print(f"  {part:<46} {n / MB:9.2f} MB")
    listing = sizes["findings pages + data"]
    print(f"  findings pages + data per finding {listing / findings:8.1f} B")


def main(sizes: Sequence[int] = (2_000,), scale_to: int = 100_000) -> None:
    """Measure the report of a real run at each size, and of the first size scaled up to scale_to seeds."""
    from audit.report import write_report

    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    with tempfile.TemporaryDirectory(prefix="audit-report-") as tmp:
        for i, n in enumerate(sizes):
            work = Path(tmp) / str(n)
            verdict, seeds, report = run(n, work)
            now = parts(report)
            _print(f"{n:,} seeds, real run", now, n_findings(verdict))
            if n in BEFORE:
                was_findings, was_total, was_machine = BEFORE[n]
                print(
                    f"  before (main 8ea48b2): {was_findings:,} findings, total {was_total / MB:.2f} MB, "
                    f"for people {(was_total - was_machine) / MB:.2f} MB; "
                    f"now/before: total {now['total'] / was_total:.2f}, for people "
                    f"{now['for people (total - results.json - junit.xml)'] / (was_total - was_machine):.2f}"
                )
            if i or not scale_to:
                continue
            times = max(1, scale_to // n)
            big, big_seeds = scaled(verdict, seeds, times)
            out = Path(tmp) / "scaled"
            write_report(out, big, big_seeds)
            big_sizes = parts(out)
            # seed pages are bounded (finding_seed_pages + clean_seed_pages): the real run's stand for them
            big_sizes["seed pages"] = now["seed pages"]
            big_sizes["total"] += now["seed pages"]
            big_sizes["for people (total - results.json - junit.xml)"] += now["seed pages"]
            _print(
                f"{n * times:,} seeds, scaled from the real run (seed pages as measured)",
                big_sizes,
                n_findings(big),
            )
            print(
                f"  before (issue 22): {BEFORE_100K[0]:,} findings in {BEFORE_100K[1] / MB:.0f} MB; "
                f"now/before: total {big_sizes['total'] / BEFORE_100K[1]:.2f}"
            )
