"""run_audit(): the stages in order, nothing else."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.cache import CacheStats
from audit.config import Progress, RunConfig, ValidateConfig, worker_jobs
from audit.errors import UsageError
from audit.extract import ExtractOptions
from audit.extract.numbers import load_policy
from audit.finish import finish_audit
from audit.fsio import atomic_dir, in_use, retire_dir, sha256_file
from audit.ingest import list_seed_files
from audit.linkcheck import LinkChecker, is_live_candidate, live_checker
from audit.manifest import embedded_manifest, manifest_core, seeds_root, write_manifest
from audit.places import check_apart, check_replaceable
from audit.policy import with_tolerances
from audit.process import Chunk, Processed, duplicate_of, extraction_cache, processing
from audit.provenance import DerivedTexts
from audit.records import SeedRow, Verdict
from audit.reextract import reextraction
from audit.release_signing import load_signing_key, sign_manifest
from audit.store import SPECS, TablesWriter, read_manifest, to_batch
from audit.suites import Suite, load_suites
from audit.validate import load_frames, run_suites
from audit.waivers import load_waivers


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
    cache = (
        extraction_cache(config.cache_dir, next(iter(core["policy"].values())), config.limits.max_bytes)
        if config.cache_dir is not None
        else None
    )
    with processing(config.seeds_dir, files, config.limits, options, config.jobs, cache) as processed:
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
    seeds_dir = seeds_root(config.seeds_dir, manifest)
    frames, manifest = load_frames(config.tables_dir, seeds_dir, derived)
    # extraction workers hold little of the tables: one per CPU whatever their size
    frames.reextract_with(
        reextraction(config.reextract, seeds_dir, frames.seed_paths, config.number_policy, manifest),
        config.jobs or os.cpu_count() or 1,
    )
    results = run_suites(frames, suites, worker_jobs(config.jobs, manifest))
    return finish_audit(config, suites, waivers, manifest, seeds_dir, results)


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
    cached: CacheStats | None = None
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
                if chunk.cache is not None:
                    cached = cached or CacheStats()
                    cached.add(chunk.cache)
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
        write_manifest(
            staging, core, embedded, seeds, tables, started, link_hosts, cached.as_dict() if cached else None
        )
        if key is not None:
            sign_manifest(staging, key)
    return derived


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


def _with_progress(chunks: Iterable[Chunk], total: int, progress: Progress | None) -> Iterable[Chunk]:
    done = 0
    for chunk in chunks:
        done += len(chunk.rows)
        if progress is not None:
            progress(done, total)
        yield chunk
