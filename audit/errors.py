"""Errors and exit codes.

Four kinds of trouble, never mixed (see the README's exit codes)::

    a data rule fails      -> a value in the Verdict, never an exception   (exit 1 if critical)
    a seed is bad          -> a Rejection record; the run goes on           (the seeds suite decides)
    a configuration is bad -> AuditError subclasses below                   (exit 2)
    a bug                  -> any other exception; the CLI prints one line  (exit 3)

    AuditError
    ├── UsageError        bad flags or paths given on the command line
    │   └── OutputError   an output directory cannot take the write: disk full, read-only, no permission
    └── ConfigError       a suite, schema, waiver or table file is malformed
        └── SuiteError    an expectation suite fails its schema or names an unknown expectation
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes; the README's table lists the same."""

    PASSED = 0
    GATE_FAILED = 1
    USAGE_ERROR = 2
    INTERNAL_ERROR = 3


class AuditError(Exception):
    """Base of every error the user can fix; the CLI prints its message without a traceback."""

    exit_code: ExitCode = ExitCode.USAGE_ERROR


class UsageError(AuditError):
    """Raised when command-line arguments or paths cannot be used (missing seeds dir, bad option)."""


class OutputError(UsageError):
    """Raised when an output cannot be written (disk full, read-only, no permission); the previous one is intact."""


class ConfigError(AuditError):
    """Raised when a suite, schema, waiver or table file is malformed; the message names file, place and fix."""


class SuiteError(ConfigError):
    """Raised when an expectation suite fails its JSON Schema or would silently lose an expectation."""
