"""Errors, outcomes and exit codes.

Four kinds of trouble, never mixed (see the README's exit codes)::

    a data rule fails      -> a value in the Verdict, never an exception   (exit 1 if critical)
    a seed is bad          -> a Rejection record; the run goes on           (the seeds suite decides)
    a configuration is bad -> AuditError subclasses below                   (exit 2)
    a bug                  -> any other exception; the CLI prints one line  (exit 3)

    AuditError            the user can fix it; the CLI prints the message, no traceback (exit 2)
    ├── UsageError        bad flags or paths given on the command line
    │   └── OutputError   an output directory cannot take the write: disk full, read-only, no permission
    └── ConfigError       a file the audit reads is malformed: a suite, waivers, policy, release config,
        │                 settings, key, report or table file; the message names the file, the place and the fix
        ├── SuiteError    an expectation suite fails its schema or names an unknown expectation
        └── WaiversError  a waivers file fails its schema or holds an impossible date

An outcome is not an error, and is no AuditError::

    PublishRefused        publish's gate stays shut: the tables are not what a passing audit saw (exit 1)

A place in a JSON file is a JSON Pointer (RFC 6901): ``/expectations/3/type``; the whole document is ``/``.
A place in a file that does not parse is its line and column: ``line 18 column 5``.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum
from pathlib import Path
from typing import Self


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
    """Raised when a file the audit reads is malformed; the message names file, place and fix."""

    def __init__(self, message: str, *, path: Path | None = None, place: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.place = place  # a JSON Pointer, or "line L column C"; None when the whole file is at fault

    @classmethod
    def at(cls, path: Path, place: str | None, problem: str, fix: str) -> Self:
        """The one shape: ``FILE: PLACE: PROBLEM. FIX`` (no PLACE when the whole file is at fault)."""
        where = f"{path}: {place}: " if place else f"{path}: "
        return cls(f"{where}{problem.rstrip('.')}. {fix}".rstrip(), path=path, place=place)


class SuiteError(ConfigError):
    """Raised when an expectation suite fails its JSON Schema or would silently lose an expectation."""


class WaiversError(ConfigError):
    """Raised when a waivers file cannot be read, fails its JSON Schema or holds an impossible date."""


class PublishRefused(Exception):
    """Raised when the tables are not exactly what a passing audit saw: publish's gate stays shut (exit 1).

    Not an AuditError: nothing is wrong with the command or its files; the answer is no.
    """


def pointer(parts: Iterable[str | int]) -> str:
    """The JSON Pointer of a place (``("rules", 2)`` -> ``/rules/2``); ``/`` for the whole document."""
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)
