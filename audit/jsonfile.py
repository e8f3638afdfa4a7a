"""JSON files the user writes or points the audit at: read bytes, parse, validate against a JSON Schema.

Suites, waivers, the number policy, release.json and a report's results.json all load here, so a bad one
always reads the same way, on one line (``errors.ConfigError.at``)::

    FILE: PROBLEM. FIX                      the file is missing, unreadable or not UTF-8
    FILE: line L column C: PROBLEM. FIX     the file is not JSON
    FILE: /json/pointer: PROBLEM. FIX       the document fails its schema (or a check the schema cannot state)
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from audit.errors import ConfigError, pointer


@dataclass(frozen=True, slots=True, kw_only=True)
class JsonKind:
    """One kind of JSON file: its name in messages, its schema, the error it raises and the fixes it gives."""

    what: str  # "suite file", "waivers file": "the waivers file does not exist"
    schema: Path
    error: type[ConfigError] = ConfigError
    missing_fix: str = ""  # said when the file does not exist
    invalid_fix: str | None = None  # said when the document fails its schema (default: match the schema)


def load_json_file(path: Path, kind: JsonKind) -> Any:
    """The document in ``path``, valid against ``kind.schema``; else ``kind.error`` naming file, place and fix."""
    document = parse_json(path, read_json_bytes(path, kind), kind)
    check_schema(path, document, kind)
    return document


def read_json_bytes(path: Path, kind: JsonKind) -> bytes:
    """The bytes of ``path``, or ``kind.error`` saying why they cannot be read."""
    error = kind.error
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise error.at(path, None, f"the {kind.what} does not exist", kind.missing_fix) from None
    except IsADirectoryError:
        raise error.at(path, None, "is a directory", f"Point it at the {kind.what}.") from None
    except OSError as exc:
        problem = f"cannot read the {kind.what} ({exc.strerror or exc})"
        raise error.at(path, None, problem, kind.missing_fix) from None


def parse_json(path: Path, data: bytes, kind: JsonKind) -> Any:
    """The JSON in ``data`` (read from ``path``), or ``kind.error`` naming the line and column of the fault."""
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        fix = f"Save the {kind.what} as UTF-8 JSON."
        raise kind.error.at(path, None, f"not UTF-8 text (byte {exc.start})", fix) from None
    except json.JSONDecodeError as exc:
        place = f"line {exc.lineno} column {exc.colno}"
        raise kind.error.at(
            path, place, f"invalid JSON: {exc.msg.removesuffix(' at')}", "Fix the syntax there."
        ) from None


def check_schema(path: Path, document: Any, kind: JsonKind) -> None:
    """Raise ``kind.error`` at the JSON Pointer of the first place where ``document`` fails its schema."""
    validator = jsonschema.Draft202012Validator(read_schema(kind.schema))
    found = jsonschema.exceptions.best_match(validator.iter_errors(document))
    if found is None:
        return
    fix = kind.invalid_fix or f"{_guess(found)}Fix it to match schemas/{kind.schema.name}."
    raise kind.error.at(path, pointer(found.absolute_path), found.message, fix)


def read_schema(path: Path) -> dict[str, Any]:
    """One of the audit's own JSON Schemas; a broken one is ConfigError saying to restore it."""
    try:
        return dict(json.loads(path.read_bytes()))
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError.at(path, None, f"unreadable schema ({exc})", "Restore it from git.") from None


def _guess(found: jsonschema.ValidationError) -> str:
    """'Did you mean "x"? ' for a misspelt key (else the keys there are), or nothing for other failures."""
    schema = found.schema
    if found.validator != "additionalProperties" or not isinstance(found.instance, dict):
        return ""
    known = sorted(schema.get("properties", {})) if isinstance(schema, Mapping) else []
    unknown = sorted(set(found.instance) - set(known))
    close = difflib.get_close_matches(unknown[0], known, n=1) if unknown else []
    return f'Did you mean "{close[0]}"? ' if close else f"Known keys: {', '.join(known)}. "
