"""run_audit(): the stages in order, nothing else."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit import __version__
from audit.errors import UsageError
from audit.extract import ExtractOptions
from audit.extract.numbers import load_policy
from audit.fsio import atomic_dir, atomic_write_text, in_use, retire_dir, sha256_file
from audit.gate import GatePolicy
from audit.ingest import DEFAULT_LIMITS, IngestLimits, list_seed_files, recorded_limits
from audit.linkcheck import LiveChecks, LiveOptions, is_live_candidate, run_checks
from audit.marks import run_id
from audit.places import check_apart, check_replaceable
from audit.policy import gate_results, with_tolerances
from audit.process import Chunk, Processed, duplicate_of, processing
from audit.provenance import DerivedTexts, reread_seed
from audit.records import CheckResult, SeedRow, Verdict
from audit.reextract import Reextract, Reextraction, reextraction
from audit.release_signing import load_signing_key, sign_manifest
from audit.report import PageLoader, SeedPage, write_report
from audit.store import SPECS, TablesWriter, read_manifest, read_table, to_batch
from audit.suites import Suite, load_suites
from audit.validate import load_frames, rows_where, run_suites, seeds_digest
from audit.waivers import apply_waivers, load_waivers

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class RunConfig:
    """Everything `audit run` needs."""

    seeds_dir: Path
    tables_dir: Path
    report_dir: Path
    suites_dir: Path
    waivers_path: Path | None
    policy_path: Path
    jobs: int | None = None
    limits: IngestLimits = field(default_factory=IngestLimits)
    today: dt.date | None = None
    engine: str = "pandas"  # or "spark": audit/spark/, an optional extra
    spark_master: str | None = None
    live_links: LiveOptions | None = None
    gate: GatePolicy = field(default_factory=GatePolicy)  # severity overrides, tolerances, --fail-on
    suites_origin: str | None = None  # "packaged" or the suites directory as given, for the report
    signing_key: Path | None = None  # sign TABLES/manifest.json with this Ed25519 key (release_signing)


@dataclass(frozen=True, slots=True, kw_only=True)
class ValidateConfig:
    """Everything `audit validate` needs: existing tables, the seeds their manifest names."""

    tables_dir: Path
    report_dir: Path
    suites_dir: Path
    waivers_path: Path | None
    seeds_dir: Path | None = None
    today: dt.date | None = None
    engine: str = "pandas"
    spark_master: str | None = None
    jobs: int | None = None  # worker processes for validation (None: one per CPU)
    reextract: Reextract = Reextract.NONE  # seeds extracted again (`audit validate`: a sample)
    policy_path: Path | None = None  # the number policy for re-extraction (None: SUITES/number_policy.json)
    gate: GatePolicy = field(default_factory=GatePolicy)
    suites_origin: str | None = None


PARALLEL_ROWS = 1_500_000  # table rows up to which validation and the report fork workers by default
# and from which they do: below it a forked worker costs more (its own GX context, the results sent back)
# than it saves. At 100 generated seeds (12k rows) one process and two took the same wall time
SERIAL_ROWS = 10_000


def run_audit(config: RunConfig, progress: Progress | None = None) -> Verdict:
    """Ingest and extract every seed, store the tables, validate them, write the report."""
    check_apart(
        {
            "the seeds directory": config.seeds_dir,
            "--suites": config.suites_dir,
            "--waivers": config.waivers_path,
            "--policy": config.policy_path,
        },
        {
            "--tables": config.tables_dir,
            "--report": config.report_dir,
            "--link-cache": config.live_links.cache_dir if config.live_links else None,
        },
        file_by_file=frozenset({"--link-cache"}),
    )
    check_replaceable("--tables", config.tables_dir, "tables")
    check_replaceable("--report", config.report_dir, "report")
    with in_use({"--tables": config.tables_dir, "--report": config.report_dir}):
        return _run_audit(config, progress)


def _run_audit(config: RunConfig, progress: Progress | None) -> Verdict:
    # the one commit point of tables and report: the old report goes just before new tables come in,
    # and the new one is written after, so no report is ever read beside tables it is not about
    def retire_report() -> None:
        retire_dir(config.report_dir, "report", "--report")

    if config.engine == "spark":
        from audit import spark

        retire_report()  # (its tables are swapped inside spark.run_audit)
        return spark.run_audit(config)
    started = time.time()
    suites = with_tolerances(load_suites(config.suites_dir), config.gate)
    waivers = load_waivers(config.waivers_path)
    options = ExtractOptions(policy=load_policy(config.policy_path))
    files = list_seed_files(config.seeds_dir)
    if not files:
        raise UsageError(f"{config.seeds_dir}: no seed files found. Put the captured pages to audit there.")
    core = manifest_core(suites, config.policy_path, config.seeds_dir, config.limits)
    checker = live_checker(config.live_links) if config.live_links is not None else None
    key = load_signing_key(config.signing_key) if config.signing_key is not None else None
    with processing(config.seeds_dir, files, config.limits, options, config.jobs) as processed:
        derived = write_tables(
            config.tables_dir,
            _with_progress(processed, len(files), progress),
            core,
            started,
            checker,
            before_swap=retire_report,
            key=key,
        )
    return validate_tables(
        ValidateConfig(
            tables_dir=config.tables_dir,
            report_dir=config.report_dir,
            suites_dir=config.suites_dir,
            waivers_path=config.waivers_path,
            seeds_dir=config.seeds_dir,
            today=config.today,
            jobs=config.jobs,
            gate=config.gate,
            suites_origin=config.suites_origin,
        ),
        suites=suites,
        waivers=waivers,
        derived=derived,
    )


def validate_tables(
    config: ValidateConfig,
    suites: tuple[Suite, ...] | None = None,
    waivers: Any = None,
    derived: DerivedTexts | None = None,
) -> Verdict:
    """Re-read the seeds named by the tables' manifest, run the suites, apply waivers, write the report.

    ``derived``: the texts the same run's extraction derived (``audit run``); without them, as in
    ``audit validate``, each seed's texts are derived again.
    """
    check_apart(
        {
            "--tables": config.tables_dir,
            "--seeds": config.seeds_dir,
            "--suites": config.suites_dir,
            "--waivers": config.waivers_path,
            "--policy": config.policy_path,
        },
        {"--report": config.report_dir},
    )
    check_replaceable("--report", config.report_dir, "report")
    with in_use({"--report": config.report_dir}, {"--tables": config.tables_dir}):
        return _validate_tables(config, suites, waivers, derived)


def _validate_tables(
    config: ValidateConfig,
    suites: tuple[Suite, ...] | None,
    waivers: Any,
    derived: DerivedTexts | None,
) -> Verdict:
    if config.engine == "spark":
        from audit import spark

        return spark.validate_tables(config)
    suites = suites if suites is not None else with_tolerances(load_suites(config.suites_dir), config.gate)
    waivers = waivers if waivers is not None else load_waivers(config.waivers_path)
    manifest = read_manifest(config.tables_dir)
    seeds_dir = seeds_root(config, manifest)
    frames, manifest = load_frames(config.tables_dir, seeds_dir, derived)
    # extraction workers hold little of the tables: one per CPU whatever their size
    frames.reextract_with(
        reextraction_for(config, seeds_dir, frames.seed_paths, manifest), config.jobs or os.cpu_count() or 1
    )
    results = run_suites(frames, suites, worker_jobs(config.jobs, manifest))
    return finish_audit(config, suites, waivers, manifest, seeds_dir, results)


def seeds_root(config: ValidateConfig, manifest: Mapping[str, Any]) -> Path:
    """The directory the tables' seeds are read from again: --seeds, or the one the run recorded.

    A missing one is a usage error, not a verdict: a mistyped --seeds would otherwise fail every seed
    as deleted. (One seed deleted from an existing directory is tampering: it fails seed-hash-matches.)
    """
    if config.seeds_dir is not None:
        if not config.seeds_dir.is_dir():
            raise UsageError(
                f"--seeds {config.seeds_dir}: no such directory. Pass the directory the run read."
            )
        return config.seeds_dir
    recorded = Path(manifest["seeds_root"])
    if not recorded.is_dir():
        raise UsageError(
            f"{recorded}: the seeds directory recorded in the tables' manifest is gone. If the seeds moved, "
            "pass --seeds DIR."
        )
    return recorded


def reextraction_for(
    config: ValidateConfig, seeds_dir: Path, paths: Mapping[str, str], manifest: Mapping[str, Any]
) -> Reextraction | None:
    """The re-extraction ``config`` asks for, with its policy file (default: SUITES/number_policy.json)."""
    policy = config.policy_path or config.suites_dir / "number_policy.json"
    return reextraction(config.reextract, seeds_dir, paths, policy, manifest)


def worker_jobs(jobs: int | None, manifest: Mapping[str, Any]) -> int:
    """Worker processes for validation and the report's seed pages: ``--jobs`` if given, else one per CPU
    while the tables hold from SERIAL_ROWS to PARALLEL_ROWS rows, else one.

    Each forked worker holds its own batches, and the run's results beside the parent's copy: on 100k
    generated seeds (12M rows) two of them took peak memory past 2 GB and saved no time, as one table
    (blocks, 8.5M rows) is most of the work. At 15k seeds (1.85M rows) two workers peaked at 1.98 GB.
    """
    if jobs:
        return jobs
    rows = sum(int(t.get("n_rows") or 0) for t in manifest.get("tables", {}).values())
    return (os.cpu_count() or 1) if SERIAL_ROWS <= rows <= PARALLEL_ROWS else 1


def finish_audit(
    config: ValidateConfig,
    suites: tuple[Suite, ...],
    waivers: Any,
    manifest: dict[str, Any],
    seeds_dir: Path,
    results: tuple[CheckResult, ...],
) -> Verdict:
    """Apply the waivers to the rules' results, make the verdict and write the report (both engines)."""
    results, lapsed = apply_waivers(results, waivers, config.today or dt.date.today())
    results, gate = gate_results(results, config.gate, config.tables_dir)
    manifest = {
        **manifest,
        "validated_suites": {s.path.name: s.sha256 for s in suites},
        "suites_origin": config.suites_origin or str(config.suites_dir),
        "gate": gate,
    }
    verdict = Verdict(results=results, lapsed_waivers=lapsed, manifest=manifest)
    seeds = read_table(config.tables_dir, "seeds").to_pylist()
    policy = next(iter(manifest.get("policy", {})), None)
    # the report's marker names the run of its tables, so a report of the same tables is the same bytes
    tables_run = (manifest.get("run") or {}).get("run_id")
    with atomic_dir(
        config.report_dir,
        "choose another directory with --report",
        kind="report",
        place="--report",
        run=tables_run if isinstance(tables_run, str) else None,
    ) as staging:
        write_report(
            staging,
            verdict,
            seeds,
            pages=seed_pages(config.tables_dir, seeds_dir, seeds, recorded_limits(manifest)),
            policy_path=config.suites_dir / policy if policy else None,
            jobs=worker_jobs(config.jobs, manifest),
        )
    return verdict


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


# facts of this run, not of the data: kept in manifest.json only, so tables do not depend on where seeds are
RUN_KEYS = ("seeds_root",)


def manifest_core(
    suites: Iterable[Suite], policy_path: Path, seeds_dir: Path, limits: IngestLimits
) -> dict[str, Any]:
    """The deterministic part of the manifest, embedded in every Parquet file (seeds are added as they come).

    The size limit is recorded so that `validate` extracts seeds again under the limit that accepted them.
    """
    return {
        "tool": {"name": "news-audit", "version": __version__},
        "suites": {s.path.name: s.sha256 for s in suites},
        "policy": {policy_path.name: sha256_file(policy_path)},
        "seeds_root": str(seeds_dir),
        "limits": {"max_seed_bytes": limits.max_bytes},
    }


LinkChecker = Callable[[list[str]], LiveChecks]  # iterating gives the results; .hosts the statistics


def write_tables(
    directory: Path,
    processed: Iterable[Chunk],
    core: dict[str, Any],
    started: float,
    check_links: LinkChecker | None = None,
    *,
    before_swap: Callable[[], None] | None = None,
    key: Ed25519PrivateKey | None = None,
) -> DerivedTexts:
    """Stream every seed's batches into the tables, then live link checks if asked, then the manifest.

    All or nothing: everything is written into a staging directory that replaces ``directory`` whole
    (``before_swap`` runs just before).
    Returns the derived texts written (as many as memory allows), for the run's validation.
    """
    derived = DerivedTexts()
    seen: dict[str, str] = {}
    seeds: list[dict[str, Any]] = []
    urls: set[str] = set()
    with atomic_dir(
        directory,
        "choose another directory with --tables",
        kind="tables",
        place="--tables",
        before_swap=before_swap,
    ) as staging:
        writer = TablesWriter(staging)
        try:
            for chunk in processed:
                rows, dropped = _dedup(chunk.rows, seen)
                writer.write("seeds", to_batch(SPECS["seeds"], rows))
                for name, batch in chunk.batches.items():
                    kept = _without_seeds(batch, dropped)
                    writer.write(name, kept)
                    if name == "texts":
                        derived.add(kept)
                if check_links is not None and "links" in chunk.batches:
                    urls.update(_checkable_urls(_without_seeds(chunk.batches["links"], dropped)))
                seeds.extend(
                    {k: getattr(row, k) for k in ("path", "seed_sha256", "size_bytes", "status", "reason")}
                    for row in rows
                )
            link_hosts = None
            if check_links is not None:
                checks = check_links(sorted(urls))
                writer.write("link_checks", to_batch(SPECS["link_checks"], checks))
                link_hosts = checks.hosts  # each host's pacing statistics: run-time facts
            embedded = embedded_manifest(core, seeds)
            writer.close(embedded)
        except BaseException:
            writer.abort()
            raise
        tables = {
            name: {"file": f"{name}.parquet", "sha256": sha256_file(staging / f"{name}.parquet"), "n_rows": n}
            for name, n in writer.n_rows.items()
        }
        write_manifest(staging, core, embedded, seeds, tables, started, link_hosts)
        if key is not None:
            sign_manifest(staging, key)
    return derived


def embedded_manifest(core: dict[str, Any], seeds: list[dict[str, Any]]) -> dict[str, Any]:
    """What every Parquet file embeds: the deterministic manifest, with the seed list by its digest.

    The list itself (a row per seed) is in manifest.json; embedding it would put megabytes in every footer.
    """
    return {
        **{k: v for k, v in core.items() if k not in RUN_KEYS},
        "n_seeds": len(seeds),
        "seeds_sha256": seeds_digest(seeds),
    }


def write_manifest(
    staging: Path,
    core: dict[str, Any],
    embedded: dict[str, Any],
    seeds: list[dict[str, Any]],
    tables: dict[str, Any],
    started: float,
    link_hosts: Sequence[Mapping[str, Any]] | None = None,
) -> None:
    """manifest.json: the embedded part, the seed list, the run-time keys, each table's digest and rows, times."""
    finished = time.time()
    manifest = {
        **core,
        **embedded,
        "seeds": seeds,
        "embedded_keys": sorted(embedded),
        "tables": tables,
        "run": {
            "started_at": dt.datetime.fromtimestamp(started, dt.UTC).isoformat(timespec="seconds"),
            "finished_at": dt.datetime.fromtimestamp(finished, dt.UTC).isoformat(timespec="seconds"),
            "duration_s": round(finished - started, 3),
            **({"link_hosts": list(link_hosts)} if link_hosts is not None else {}),
            "run_id": run_id(),  # the report's results.json repeats it: which tables it is about
        },
    }
    atomic_write_text(staging / "manifest.json", json.dumps(manifest, indent=2, sort_keys=True))


def _dedup(rows: Sequence[SeedRow], seen: dict[str, str]) -> tuple[list[SeedRow], set[str]]:
    """Rows with copies of seeds from earlier chunks rejected as duplicates, and the digests to drop."""
    out, dropped = [], set()
    for row in rows:
        sha = row.seed_sha256
        if sha is not None and row.status == "extracted" and sha in seen:
            row = duplicate_of(Processed(row=row, batches={}), seen[sha]).row
            dropped.add(sha)
        elif sha is not None and row.status == "extracted":
            seen[sha] = row.path
        out.append(row)
    return out, dropped


def _without_seeds(batch: pa.RecordBatch, dropped: set[str]) -> pa.RecordBatch:
    """The batch without the records of the given seeds (copies of seeds already written)."""
    if not dropped or batch.num_rows == 0:
        return batch
    keep = pc.invert(pc.is_in(batch.column("seed_sha256"), value_set=pa.array(sorted(dropped))))
    return batch.filter(keep)


def _checkable_urls(batch: pa.RecordBatch) -> list[str]:
    """URLs of a links batch that pass the offline syntax checks, or fail them only by being IP literals."""
    rows = batch.select(["url", "syntax_ok", "syntax_error_code", "host"]).to_pylist()
    return [r["url"] for r in rows if is_live_candidate(r["syntax_ok"], r["syntax_error_code"], r["host"])]


def live_checker(options: LiveOptions) -> LinkChecker:
    """A link checker for write_tables that fetches each distinct URL once (or reads the cache)."""

    def check(urls: list[str]) -> LiveChecks:
        return run_checks(urls, options)

    return check


def _with_progress(chunks: Iterable[Chunk], total: int, progress: Progress | None) -> Iterable[Chunk]:
    done = 0
    for chunk in chunks:
        done += len(chunk.rows)
        if progress is not None:
            progress(done, total)
        yield chunk
