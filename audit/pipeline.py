"""run_audit() and validate_tables(): the stages in order, on the pandas engine or on Spark (audit/spark/).

A run: guard the outputs -> plan (load suites, waivers, policy, seed list) -> process the seeds ->
write the tables -> validate them. A validation: guard the report -> plan (rules, manifest, seeds) ->
load the tables -> extract seeds again -> run the suites -> finish (waivers, verdict, report).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from audit.config import Progress, RunConfig, ValidateConfig, worker_jobs
from audit.fsio import in_use, retire_dir
from audit.places import check_apart, check_replaceable
from audit.plan import load_rules, plan_run, plan_validation
from audit.process import processing
from audit.records import Verdict, Waiver
from audit.store import check_single_files
from audit.validate.suites import Suite, check_builds
from audit.write import with_progress, write_tables

if TYPE_CHECKING:
    from audit.validate.seeds import DerivedTexts


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

    plan = plan_run(config)
    if config.engine == "spark":
        from audit import spark

        # the suites are built (GX imported) while the session starts; the old report goes once it has
        # started and they have built (its tables are swapped inside spark.run_audit)
        return spark.run_audit(config, plan, lambda: check_builds(plan.unbuilt), retire_report)
    with processing(
        config.seeds_dir, plan.files, config.limits, plan.options, config.jobs, plan.cache
    ) as chunks:
        # building the suites imports GX (about 2 s): done while the worker processes, forked without it,
        # extract the first seeds; still before anything is written
        check_builds(plan.unbuilt)
        derived = write_tables(
            config.tables_dir,
            with_progress(chunks, len(plan.files), progress),
            plan.core,
            plan.started,
            plan.check_links,
            before_swap=retire_report,
            key=plan.key,
        )
    return validate_tables(
        config.validation(), suites=plan.rules.suites, waivers=plan.rules.waivers, derived=derived
    )


def validate_tables(
    config: ValidateConfig,
    suites: tuple[Suite, ...] | None = None,
    waivers: tuple[Waiver, ...] | None = None,
    derived: DerivedTexts | None = None,
) -> Verdict:
    """Re-read the seeds named by the tables' manifest, run the suites, apply waivers, write the report.

    ``suites`` and ``waivers``: as the caller loaded them (else read from the config's files).
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
    waivers: tuple[Waiver, ...] | None,
    derived: DerivedTexts | None,
) -> Verdict:
    from audit.finish import finish_audit
    from audit.validate import load_frames, reextraction, run_suites

    rules = load_rules(config.suites_dir, config.waivers_path, config.gate, suites=suites, waivers=waivers)
    plan = plan_validation(config.tables_dir, config.seeds_dir, rules)
    if config.engine == "spark":
        from audit import spark

        return spark.validate_tables(config, plan)
    check_single_files(
        config.tables_dir, "the local engine", "Validate them with `--engine spark` (pip install '.[spark]')."
    )
    frames, _ = load_frames(config.tables_dir, plan.seeds_dir, derived)
    # extraction workers hold little of the tables: one per CPU whatever their size
    frames.reextract_with(
        reextraction(
            config.reextract, plan.seeds_dir, frames.seed_paths, config.number_policy, plan.manifest
        ),
        config.jobs or os.cpu_count() or 1,
    )
    results = run_suites(frames, rules.suites, worker_jobs(config.jobs, plan.manifest))
    return finish_audit(config, plan, results)
