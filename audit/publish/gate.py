"""The publish gate: a release only of tables that pass an audit publish runs itself, re-checked byte for byte.

REPORT/results.json must be readable and valid against ``schemas/results.schema.json`` (else exit 2, naming the
file and the fix), and the sha256 of every audited table in TABLES now must be the digest it recorded, as
TABLES/manifest.json must say too (else exit 1: the gate stays shut). Its verdict is not believed: anyone who
can write the report can write "passed". ``revalidate`` runs the audit again with the suites of --suites,
which must be the ones the run was made with and the report was validated with, and hold a rule; the gate
opens only on that verdict.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audit.errors import ConfigError, PublishRefused
from audit.fsio import sha256_file
from audit.gate import GatePolicy
from audit.jsonfile import JsonKind, check_schema, parse_json, read_json_bytes
from audit.publish.config import SCHEMAS_DIR
from audit.store import read_manifest


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditedTable:
    """A table the report audited: its name, file now and audited digest."""

    name: str
    path: Path
    sha256: str
    n_rows: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Audit:
    """A passing audit whose tables are, byte for byte, the files in TABLES."""

    results: dict[str, Any]
    results_bytes: bytes
    tables: tuple[AuditedTable, ...]
    manifest_path: Path
    report_dir: Path
    run_at: str


def check_audit(
    tables_dir: Path, report_dir: Path, schemas_dir: Path = SCHEMAS_DIR, *, verdict: bool = True
) -> Audit:
    """Refuse unless every audited table in TABLES still has its audited sha256 and (``verdict``) the
    report's verdict is passed."""
    results_path = report_dir / "results.json"
    raw, results = read_results(results_path, schemas_dir / "results.schema.json")
    manifest_path = tables_dir / "manifest.json"
    manifest = read_manifest(tables_dir)
    audited = results["manifest"]["tables"]
    tables = tuple(
        AuditedTable(name=n, path=tables_dir / t["file"], sha256=t["sha256"], n_rows=t["n_rows"])
        for n, t in sorted(audited.items())
    )
    problems = [p for t in tables if (p := _table_problem(t))]
    now = {n: t.get("sha256") for n, t in manifest.get("tables", {}).items()}
    if now != {t.name: t.sha256 for t in tables}:
        problems.append(
            f"{manifest_path}: names other tables than {results_path} audited (a run without its report?)"
        )
    if problems:
        raise PublishRefused(
            f"refused: the tables in {tables_dir} are not the ones {results_path} audited:\n  - "
            + "\n  - ".join(problems)
            + f"\nRe-audit them (`python -m audit validate --tables {tables_dir} --report {report_dir}`), then publish."
        )
    if verdict and (results["verdict"] != "passed" or results["passed"] is not True):
        raise PublishRefused(
            f"refused: the audit verdict for these tables is {results['verdict']}: {results['summary']} "
            f"Read {report_dir / 'index.html'}, fix the data (or waive with a reason), re-audit, then publish."
        )
    run = results["manifest"].get("run") or manifest.get("run") or {}
    run_at = run.get("finished_at") or run.get("started_at")
    if not isinstance(run_at, str) or not re.match(r"^\d{4}-\d{2}-\d{2}", run_at):
        raise ConfigError.at(
            results_path, "/manifest/run/finished_at", "missing", "Rerun the audit to record it."
        )
    return Audit(
        results=results,
        results_bytes=raw,
        tables=tables,
        manifest_path=manifest_path,
        report_dir=report_dir,
        run_at=run_at,
    )


def _table_problem(table: AuditedTable) -> str | None:
    if not table.path.is_file():
        return f"{table.path}: missing (audited sha256 {table.sha256[:12]}…)"
    now = sha256_file(table.path)
    if now != table.sha256:
        return f"{table.path}: sha256 {now[:12]}… is not the audited {table.sha256[:12]}…: the table changed after the audit"
    return None


def read_results(path: Path, schema_path: Path) -> tuple[bytes, dict[str, Any]]:
    """The report's results.json, its bytes and its content, or ConfigError naming the file and the fix."""
    fix = "Rerun `python -m audit run` (or `python -m audit validate`) to write the report, or point --report at it."
    kind = JsonKind(
        what="audit report",
        schema=schema_path,
        missing_fix=fix,
        invalid_fix=f"Not a results.json this tool wrote: the report is corrupt. {fix}",
    )
    raw = read_json_bytes(path, kind)  # parsed and published from these bytes: the file may change meanwhile
    results = parse_json(path, raw, kind)
    check_schema(path, results, kind)
    return raw, dict(results)


@dataclass(frozen=True, slots=True, kw_only=True)
class Revalidation:
    """How publish validates the tables again: the trusted suites, the waivers, where the seeds are."""

    suites_dir: Path
    waivers_path: Path | None = None
    seeds_dir: Path | None = None
    jobs: int | None = None
    schemas_dir: Path = SCHEMAS_DIR
    gate: GatePolicy = field(default_factory=GatePolicy)  # the settings file's policy, as the run applied it
    suites_origin: str | None = None


def revalidate(stale: Audit, how: Revalidation, report_dir: Path) -> Audit:
    """Validate the audited tables again into ``report_dir`` (every seed extracted again) with the suites
    of ``how.suites_dir``; the Audit of that report, or PublishRefused unless its verdict is passed.

    The suites must be those TABLES/manifest.json was made with and the stale report was validated with:
    a report validated with other (or empty) suites is not the audit being published.
    """
    from audit.config import Reextract, ValidateConfig
    from audit.pipeline import validate_tables
    from audit.policy import with_tolerances
    from audit.validate.suites import load_suites

    tables_dir = stale.manifest_path.parent
    suites = with_tolerances(load_suites(how.suites_dir), how.gate)
    check_suites(
        {s.path.name: s.sha256 for s in suites},
        sum(len(s.rules) for s in suites),
        {
            f"{stale.manifest_path} (the run)": read_manifest(tables_dir).get("suites"),
            f"{stale.report_dir / 'results.json'} (the report)": stale.results["manifest"].get(
                "validated_suites"
            ),
        },
        how.suites_dir,
    )
    verdict = validate_tables(
        ValidateConfig(
            tables_dir=tables_dir,
            report_dir=report_dir,
            suites_dir=how.suites_dir,
            waivers_path=how.waivers_path,
            seeds_dir=how.seeds_dir,
            jobs=how.jobs,
            reextract=Reextract.ALL,
            gate=how.gate,
            suites_origin=how.suites_origin,
        ),
        suites=suites,
    )
    fresh = check_audit(tables_dir, report_dir, how.schemas_dir, verdict=False)
    if not verdict.passed:  # the verdict object, not a file anyone could have edited meanwhile
        raise PublishRefused(
            f"refused: the audit verdict for these tables is failed: {fresh.results['summary']} "
            f"(validated again by publish with the suites in {how.suites_dir}). "
            f"Run `python -m audit validate --tables {tables_dir}` to read the findings, fix the data "
            "(or waive with a reason), re-audit, then publish."
        )
    return fresh


def check_suites(suites: dict[str, str], n_rules: int, recorded: dict[str, Any], suites_dir: Path) -> None:
    """Refuse when the suites hold no rule, or differ from those recorded (by file name and sha256)."""
    if n_rules == 0:
        raise PublishRefused(
            f"refused: the suites in {suites_dir} hold no rule: a verdict over no rule proves nothing. "
            "Point --suites at the audit's suites."
        )
    for where, names in recorded.items():
        if names is not None and names != suites:
            differ = sorted(n for n in {*suites, *names} if suites.get(n) != (names or {}).get(n))
            raise PublishRefused(
                f"refused: {where} names other suites than {suites_dir} holds "
                f"(different: {', '.join(differ)}). Publish validates with the suites the audit used: "
                "point --suites at them, or re-audit with these suites, then publish."
            )
