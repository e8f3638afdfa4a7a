"""What a run or a validation loads and checks before its first seed, written once for both engines.

``plan_run`` reads the suites (with the gate's tolerances), the waivers, the number policy and the seed
list, and builds the manifest's core, the live link checker and the signing key: every mistake in them is
reported before anything is extracted or written. ``plan_validation`` reads the rules and the tables'
manifest, and finds the seeds the manifest names.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.cache import ExtractionCache
from audit.config import RunConfig
from audit.errors import UsageError
from audit.extract import ExtractOptions
from audit.extract.numbers import load_policy
from audit.gate import GatePolicy
from audit.ingest import list_seed_files
from audit.linkcheck import LinkChecker, live_checker
from audit.manifest import manifest_core, seeds_root
from audit.policy import with_tolerances
from audit.process import extraction_cache
from audit.records import Waiver
from audit.signing import load_signing_key
from audit.store import read_manifest
from audit.validate.suites import Suite, load_suites
from audit.waivers import load_waivers


@dataclass(frozen=True, slots=True, kw_only=True)
class Rules:
    """What the tables are judged by: the suites, the gate's tolerances applied, and the waivers."""

    suites: tuple[Suite, ...]
    waivers: tuple[Waiver, ...]

    @property
    def suite_digests(self) -> dict[str, str]:
        """Each suite file's name and sha256, as manifests and reports record them."""
        return {s.path.name: s.sha256 for s in self.suites}


def load_rules(
    suites_dir: Path,
    waivers_path: Path | None,
    gate: GatePolicy,
    *,
    suites: tuple[Suite, ...] | None = None,
    waivers: tuple[Waiver, ...] | None = None,
) -> Rules:
    """The suites of ``suites_dir`` with the gate's tolerances, and the waivers file's waivers; ``suites``
    or ``waivers`` given (already loaded, as by the run) are taken as they are."""
    return Rules(
        suites=suites if suites is not None else with_tolerances(load_suites(suites_dir), gate),
        waivers=waivers if waivers is not None else load_waivers(waivers_path),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class RunPlan:
    """A run's setup, loaded and checked: what both engines extract with, write and judge by."""

    rules: Rules
    options: ExtractOptions
    files: tuple[str, ...]  # the seed files, relative to the seeds directory, sorted
    core: dict[str, Any]  # the manifest's deterministic core (manifest.manifest_core)
    check_links: LinkChecker | None  # with --links live
    key: Ed25519PrivateKey | None  # with --sign-key
    cache: ExtractionCache | None  # the extraction cache (None: --no-cache)
    started: float  # epoch seconds, for the manifest's run times
    # the suites as their files hold them, checked but for building them with GX (suites.check_builds)
    unbuilt: tuple[Suite, ...]


def plan_run(config: RunConfig) -> RunPlan:
    """Load and check everything the run needs before its first seed: a bad suite, waiver, policy or key,
    or no seed files, is an error here, before anything is extracted or written. Only building the suites
    with GX, which imports it, is left to the caller (``plan.unbuilt``): before anything is written."""
    started = time.time()
    unbuilt = load_suites(config.suites_dir, build=False)
    rules = load_rules(
        config.suites_dir, config.waivers_path, config.gate, suites=with_tolerances(unbuilt, config.gate)
    )
    options = ExtractOptions(policy=load_policy(config.policy_path))
    files = tuple(list_seed_files(config.seeds_dir))
    if not files:
        raise UsageError(f"{config.seeds_dir}: no seed files found. Put the captured pages to audit there.")
    core = manifest_core(rules.suite_digests, config.policy_path, config.seeds_dir, config.limits)
    return RunPlan(
        rules=rules,
        options=options,
        files=files,
        core=core,
        check_links=live_checker(config.live_links) if config.live_links is not None else None,
        key=load_signing_key(config.signing_key) if config.signing_key is not None else None,
        cache=None
        if config.cache_dir is None
        else extraction_cache(config.cache_dir, next(iter(core["policy"].values())), config.limits.max_bytes),
        started=started,
        unbuilt=unbuilt,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ValidatePlan:
    """A validation's setup: the rules, the tables' manifest and the directory their seeds are read from."""

    rules: Rules
    manifest: dict[str, Any]
    seeds_dir: Path


def plan_validation(tables_dir: Path, seeds_dir: Path | None, rules: Rules) -> ValidatePlan:
    """Read the tables' manifest and find their seeds: ``seeds_dir`` if given, else the recorded one."""
    manifest = read_manifest(tables_dir)
    return ValidatePlan(rules=rules, manifest=manifest, seeds_dir=seeds_root(seeds_dir, manifest))
