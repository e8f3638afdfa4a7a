"""Data-quality and provenance audit for news-article datasets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from audit.errors import AuditError, ConfigError, ExitCode, SuiteError, UsageError, WaiversError
from audit.records import CheckResult, Finding, Verdict
from audit.version import __version__

if TYPE_CHECKING:
    from audit.config import RunConfig, ValidateConfig
    from audit.pipeline import run_audit, validate_tables

# the pipeline imports pandas, pyarrow and trafilatura: loaded on first use, so that `news-audit --help`
# and a mistyped path answer at once
_LAZY = frozenset({"RunConfig", "ValidateConfig", "run_audit", "validate_tables"})


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from audit import config, pipeline

        return getattr(config if name.endswith("Config") else pipeline, name)
    raise AttributeError(f"module 'audit' has no attribute {name!r}")


__all__ = [
    "AuditError",
    "CheckResult",
    "ConfigError",
    "ExitCode",
    "Finding",
    "RunConfig",
    "SuiteError",
    "UsageError",
    "ValidateConfig",
    "Verdict",
    "WaiversError",
    "__version__",
    "run_audit",
    "validate_tables",
]
