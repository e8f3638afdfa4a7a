"""The last stage of both engines: the rules' results and the waivers -> the verdict (``judge``) -> the report."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from audit.config import ValidateConfig, worker_jobs
from audit.fsio import atomic_dir
from audit.gate import GatePolicy
from audit.ingest import DEFAULT_LIMITS, IngestLimits, recorded_limits
from audit.plan import Rules, ValidatePlan
from audit.policy import gate_results
from audit.records import CheckResult, Verdict
from audit.report import PageLoader, SeedPage, write_report
from audit.store import SPECS, read_table
from audit.validate import reread_seed, rows_where
from audit.waivers import apply_waivers


def finish_audit(config: ValidateConfig, plan: ValidatePlan, results: tuple[CheckResult, ...]) -> Verdict:
    """Judge the rules' results and write the report: the last stage of both engines."""
    verdict = judge(
        results,
        plan.rules,
        plan.manifest,
        today=config.today or dt.date.today(),
        gate=config.gate,
        tables_dir=config.tables_dir,
        suites_origin=config.suites_origin or str(config.suites_dir),
    )
    write_audit_report(
        verdict,
        tables_dir=config.tables_dir,
        report_dir=config.report_dir,
        seeds_dir=plan.seeds_dir,
        suites_dir=config.suites_dir,
        jobs=worker_jobs(config.jobs, plan.manifest),
    )
    return verdict


def judge(
    results: tuple[CheckResult, ...],
    rules: Rules,
    manifest: dict[str, Any],
    *,
    today: dt.date,
    gate: GatePolicy,
    tables_dir: Path,
    suites_origin: str,
) -> Verdict:
    """The verdict: the waivers applied to the rules' results as of ``today``, then the gate's policy; its
    manifest is the tables' with the suites validated with, where they came from and the gate applied."""
    checked, lapsed = apply_waivers(results, rules.waivers, today)
    checked, applied = gate_results(checked, gate, tables_dir)
    manifest = {
        **manifest,
        "validated_suites": rules.suite_digests,
        "suites_origin": suites_origin,
        "gate": applied,
    }
    return Verdict(results=checked, lapsed_waivers=lapsed, manifest=manifest)


def write_audit_report(
    verdict: Verdict, *, tables_dir: Path, report_dir: Path, seeds_dir: Path, suites_dir: Path, jobs: int
) -> None:
    """Write the verdict's report into ``report_dir``, all or nothing, with a page for each seed that gets one
    (its text re-read from ``seeds_dir``) and the number policy the tables' manifest names in ``suites_dir``."""
    manifest = verdict.manifest
    seeds = read_table(tables_dir, "seeds").to_pylist()
    policy = next(iter(manifest.get("policy", {})), None)
    # the report's marker names the run of its tables, so a report of the same tables is the same bytes
    tables_run = (manifest.get("run") or {}).get("run_id")
    with atomic_dir(
        report_dir,
        "choose another directory with --report",
        kind="report",
        place="--report",
        run=tables_run if isinstance(tables_run, str) else None,
    ) as staging:
        write_report(
            staging,
            verdict,
            seeds,
            pages=seed_pages(tables_dir, seeds_dir, seeds, recorded_limits(manifest)),
            policy_path=suites_dir / policy if policy else None,
            jobs=jobs,
        )


def seed_pages(
    tables_dir: Path, seeds_dir: Path, seeds: list[dict[str, Any]], limits: IngestLimits = DEFAULT_LIMITS
) -> PageLoader:
    """Per-seed report data for the seeds that get a page: one filtered read of each table for all of them."""
    rows = {s["seed_sha256"]: s for s in seeds if s["seed_sha256"] and s["status"] == "extracted"}

    def load(shas: Sequence[str]) -> Iterator[tuple[str, SeedPage | None]]:
        wanted = [sha for sha in shas if sha in rows]
        picked = {name: _rows_of_seeds(tables_dir, name, wanted) for name in _PAGE_TABLES}
        for sha in shas:
            if sha not in rows:
                yield sha, None
                continue
            found = reread_seed(seeds_dir, rows[sha]["path"], sha, limits=limits)
            tables = {name: by_seed[sha] for name, by_seed in picked.items() if sha in by_seed}
            yield sha, SeedPage.from_rows(rows[sha], found.seed.data if found.seed else None, tables)

    return load


_PAGE_TABLES = tuple(name for name in SPECS if name not in ("seeds", "link_checks"))


def _rows_of_seeds(tables_dir: Path, name: str, shas: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """A table's rows of these seeds, grouped by seed in table order (the file is scanned once, filtered)."""
    if not shas:
        return {}
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows_where(tables_dir, name, "seed_sha256", shas):
        grouped.setdefault(row["seed_sha256"], []).append(row)
    return grouped
