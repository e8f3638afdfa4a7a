"""release.json -> ReleaseConfig: the dataset's name, description, license, citation and creators.

Every key is optional and has the default written in ``schemas/release.schema.json``; the file is
validated against that schema so that a typo is an error naming the key, not a silent default.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit.defaults import SCHEMAS_DIR as SCHEMAS_DIR  # re-exported: publish and its gate read it
from audit.jsonfile import JsonKind, load_json_file, read_schema

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
    return read_schema(schema_path)


def defaults(schema: dict[str, Any]) -> dict[str, Any]:
    """The default value of every key, as the schema states it."""
    return {k: p["default"] for k, p in schema["properties"].items() if "default" in p}


def load_release_config(path: Path | None, schema_path: Path = RELEASE_SCHEMA) -> ReleaseConfig:
    """Read and validate the config file; None (or no file at the default place) means all defaults."""
    schema = load_release_schema(schema_path)
    raw: dict[str, Any] = {}
    if path is not None:
        raw = load_json_file(path, _release_kind(schema_path))
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


def _release_kind(schema_path: Path) -> JsonKind:
    return JsonKind(
        what="release config",
        schema=schema_path,
        missing_fix=f"Create it (see schemas/{schema_path.name}) or omit --config to use release.json or the defaults.",
    )
