"""The settings of a run and of a validation, resolved once (by the CLI or a caller) into plain values.

Both engines read these; neither reads the command line or the settings file (audit/settings.py).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from audit.gate import GatePolicy
from audit.ingest import IngestLimits
from audit.linkcheck import LiveOptions

Progress = Callable[[int, int], None]


class Reextract(StrEnum):
    """Which seeds ``audit validate`` extracts again."""

    SAMPLE = "sample"
    ALL = "all"
    NONE = "none"


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
    signing_key: Path | None = None  # sign TABLES/manifest.json with this Ed25519 key (audit/signing.py)

    def validation(self) -> ValidateConfig:
        """The settings of the run's own validation of the tables it wrote (on the same engine)."""
        return ValidateConfig(
            tables_dir=self.tables_dir,
            report_dir=self.report_dir,
            suites_dir=self.suites_dir,
            waivers_path=self.waivers_path,
            seeds_dir=self.seeds_dir,
            today=self.today,
            engine=self.engine,
            spark_master=self.spark_master,
            jobs=self.jobs,
            gate=self.gate,
            suites_origin=self.suites_origin,
        )

    cache_dir: Path | None = None  # the extraction cache (audit/cache.py); None: every seed is extracted


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

    @property
    def number_policy(self) -> Path:
        """The number policy re-extraction uses: --policy, or SUITES/number_policy.json."""
        return self.policy_path or self.suites_dir / "number_policy.json"


PARALLEL_ROWS = 1_500_000  # table rows up to which validation and the report fork workers by default
# and from which they do: below it a forked worker costs more (its own GX context, the results sent back)
# than it saves. At 100 generated seeds (12k rows) one process and two took the same wall time
SERIAL_ROWS = 10_000


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
