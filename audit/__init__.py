"""Data-quality and provenance audit for news-article datasets."""

from __future__ import annotations

__version__ = "0.1.0"

from audit.errors import AuditError, ConfigError, ExitCode, SuiteError, UsageError
from audit.pipeline import RunConfig, ValidateConfig, run_audit, validate_tables
from audit.records import CheckResult, Finding, Verdict

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
    "__version__",
    "run_audit",
    "validate_tables",
]
