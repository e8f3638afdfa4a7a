"""release.json -> ReleaseConfig: the dataset's name, description, license, citation and creators.

Every key is optional and has the default written in ``schemas/release.schema.json``; the file is
validated against that schema so that a typo is an error naming the key, not a silent default.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from audit.defaults import SCHEMAS_DIR as SCHEMAS_DIR  # re-exported: publish and its gate read it
from audit.errors import ConfigError

RELEASE_SCHEMA = SCHEMAS_DIR / "release.schema.json"


@dataclass(frozen=True, slots=True, kw_only=True)
class Creator:
    """A person or organization credited as the dataset's creator."""

    name: str
    type: str = "Person"
    url: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseConfig:
    """How the release describes the dataset; everything else in a release comes from the audit."""

    name: str
    description: str
    license: str
    url: str
    citation: str | None
    creators: tuple[Creator, ...]
    keywords: tuple[str, ...]


def load_release_schema(schema_path: Path = RELEASE_SCHEMA) -> dict[str, Any]:
    """The release config's JSON Schema (it also holds the defaults)."""
    try:
        return dict(json.loads(schema_path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{schema_path}: unreadable release schema ({exc}). Restore it from git.") from None


def defaults(schema: dict[str, Any]) -> dict[str, Any]:
    """The default value of every key, as the schema states it."""
    return {k: p["default"] for k, p in schema["properties"].items() if "default" in p}


def load_release_config(path: Path | None, schema_path: Path = RELEASE_SCHEMA) -> ReleaseConfig:
    """Read and validate the config file; None (or no file at the default place) means all defaults."""
    schema = load_release_schema(schema_path)
    raw: dict[str, Any] = {}
    if path is not None:
        raw = _read_json(path)
        _validate(raw, schema, path)
    merged = {**defaults(schema), **{k: v for k, v in raw.items() if k != "$schema"}}
    return ReleaseConfig(
        name=merged["name"],
        description=merged["description"],
        license=merged["license"],
        url=merged["url"],
        citation=merged["citation"],
        creators=tuple(Creator(**c) for c in merged["creators"]),
        keywords=tuple(merged["keywords"]),
    )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: the release config does not exist. Create it (see schemas/release.schema.json) "
            "or omit --config to use release.json or the defaults."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: unreadable release config ({exc}).") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path}: line {exc.lineno} column {exc.colno}: not valid JSON ({exc.msg}). Fix the syntax."
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the release config must be a JSON object, not {type(data).__name__}.")
    return data


def _validate(raw: dict[str, Any], schema: dict[str, Any], path: Path) -> None:
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(raw), key=lambda e: (list(e.absolute_path), e.message))
    if not errors:
        return
    error = errors[0]
    pointer = "/" + "/".join(str(p) for p in error.absolute_path)
    hint = "See schemas/release.schema.json for the keys and their defaults."
    if error.validator == "additionalProperties":
        known = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(known))
        guesses = difflib.get_close_matches(unknown[0], known, n=1) if unknown else []
        hint = f'Did you mean "{guesses[0]}"?' if guesses else f"Known keys: {', '.join(known)}."
    raise ConfigError(f"{path}: {pointer}: {error.message}. {hint}")
