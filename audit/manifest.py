"""The run's provenance manifest: its deterministic core (embedded in every Parquet file) and manifest.json."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from audit.errors import UsageError
from audit.fsio import atomic_write_text, sha256_file
from audit.ingest import IngestLimits
from audit.marks import run_id
from audit.records import SeedRow
from audit.version import __version__

# facts of this run, not of the data: kept in manifest.json only, so tables do not depend on where seeds are
RUN_KEYS = ("seeds_root",)
SEED_KEYS = ("path", "seed_sha256", "size_bytes", "status", "reason")  # of a seeds row, in the seed list


def manifest_core(
    suite_digests: Mapping[str, str], policy_path: Path, seeds_dir: Path, limits: IngestLimits
) -> dict[str, Any]:
    """The deterministic part of the manifest, embedded in every Parquet file (seeds are added as they come).

    ``suite_digests``: each suite file's name and sha256. The size limit is recorded so that `validate`
    extracts seeds again under the limit that accepted them.
    """
    return {
        "tool": {"name": "news-audit", "version": __version__},
        "suites": dict(suite_digests),
        "policy": {policy_path.name: sha256_file(policy_path)},
        "seeds_root": str(seeds_dir),
        "limits": {"max_seed_bytes": limits.max_bytes},
    }


def seed_entry(row: SeedRow) -> dict[str, Any]:
    """A seed's entry in the manifest's seed list: the SEED_KEYS of its seeds row."""
    return {key: getattr(row, key) for key in SEED_KEYS}


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
    cache: Mapping[str, int] | None = None,
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
            **({"cache": dict(cache)} if cache is not None else {}),  # seeds read from the extraction cache
            "run_id": run_id(),  # the report's results.json repeats it: which tables it is about
        },
    }
    atomic_write_text(staging / "manifest.json", json.dumps(manifest, indent=2, sort_keys=True))


def seeds_root(seeds_dir: Path | None, manifest: Mapping[str, Any]) -> Path:
    """The directory the tables' seeds are read from again: --seeds, or the one the run recorded.

    A missing one is a usage error, not a verdict: a mistyped --seeds would otherwise fail every seed
    as deleted. (One seed deleted from an existing directory is tampering: it fails seed-hash-matches.)
    """
    if seeds_dir is not None:
        if not seeds_dir.is_dir():
            raise UsageError(f"--seeds {seeds_dir}: no such directory. Pass the directory the run read.")
        return seeds_dir
    recorded = Path(manifest["seeds_root"])
    if not recorded.is_dir():
        raise UsageError(
            f"{recorded}: the seeds directory recorded in the tables' manifest is gone. If the seeds moved, "
            "pass --seeds DIR."
        )
    return recorded


def seeds_digest(seeds: Sequence[Mapping[str, Any]]) -> str:
    """sha256 of a seed list as canonical JSON (sorted keys, no spaces): what Parquet files embed of it."""
    return hashlib.sha256(
        json.dumps(list(seeds), sort_keys=True, separators=(",", ":")).encode("utf-8")
    ).hexdigest()
