"""The release's Croissant 1.0 description: dataset facts, one FileObject per file, one RecordSet per table.

Pure: it takes the released files (with their digests), the Arrow schema of each table and the table JSON
Schemas, and returns the JSON-LD document. Fields follow the Parquet columns, since those are what
``extract.column`` names; the JSON Schema of the table, read at publish time, supplies each field's data
type and description where it states them, and the Arrow type fills in where it does not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from audit.publish.config import Creator, ReleaseConfig

CONFORMS_TO = "http://mlcommons.org/croissant/1.0"
PARQUET = "application/x-parquet"

# the context of the Croissant reference datasets (mlcommons/croissant datasets/1.0/*/metadata.json), plus the
# three terms mlcroissant 1.1 expects, so that its validator reports the context as standard
CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileObject": "cr:fileObject",
    "fileProperty": "cr:fileProperty",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}

_JSON_TYPES = {"string": "sc:Text", "integer": "sc:Integer", "number": "sc:Float", "boolean": "sc:Boolean"}
_JSON_FORMATS = {"date": "sc:Date", "date-time": "sc:DateTime", "uri": "sc:URL"}


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleasedFile:
    """One file of the release: its path inside the release, digest, size and media type."""

    path: str
    sha256: str
    size_bytes: int
    encoding_format: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TableShape:
    """What the Croissant file says about one table: its file, columns, key and JSON Schema (if any)."""

    name: str
    file: ReleasedFile
    arrow: pa.Schema
    id_column: str | None
    json_schema: Mapping[str, Any] | None
    n_rows: int


def croissant_document(
    config: ReleaseConfig,
    *,
    version: str,
    date_published: str,
    files: Sequence[ReleasedFile],
    tables: Sequence[TableShape],
    citation: str,
) -> dict[str, Any]:
    """The Croissant 1.0 JSON-LD document describing the release."""
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": CONFORMS_TO,
        "name": config.name,
        "description": config.description,
        "license": config.license,
        "url": config.url,
        "citeAs": citation,
        "creator": [_creator(c) for c in config.creators],
        "datePublished": date_published,
        "version": version,
        "distribution": [_file_object(f) for f in sorted(files, key=lambda f: f.path)],
        "recordSet": [_record_set(t, tables) for t in tables],
    }
    if config.keywords:
        doc["keywords"] = list(config.keywords)
    return doc


def _creator(c: Creator) -> dict[str, Any]:
    out: dict[str, Any] = {"@type": f"sc:{c.type}", "name": c.name}
    if c.url:
        out["url"] = c.url
    if c.email:
        out["email"] = c.email
    return out


def _file_object(f: ReleasedFile) -> dict[str, Any]:
    return {
        "@type": "cr:FileObject",
        "@id": f.path,
        "name": f.path,
        "contentUrl": f.path,
        "contentSize": f"{f.size_bytes} B",
        "encodingFormat": f.encoding_format,
        "sha256": f.sha256,
    }


def _record_set(table: TableShape, tables: Sequence[TableShape]) -> dict[str, Any]:
    props = _properties(table.json_schema)
    described = "" if table.json_schema is None else str(table.json_schema.get("title", ""))
    origin = (
        f"fields typed from schemas/{table.name}.schema.json"
        if table.json_schema is not None
        else f"fields typed from the Parquet schema (no schemas/{table.name}.schema.json at publish time)"
    )
    record_set: dict[str, Any] = {
        "@type": "cr:RecordSet",
        "@id": table.name,
        "name": table.name,
        "description": f"{described + '. ' if described else ''}{table.n_rows} record(s); {origin}.",
        "field": [
            _field(table, f, props.get(f.name), _references(table, f.name, tables)) for f in table.arrow
        ],
    }
    if table.id_column is not None and table.id_column in table.arrow.names:
        record_set["key"] = {"@id": f"{table.name}/{table.id_column}"}
    return record_set


def _references(table: TableShape, column: str, tables: Sequence[TableShape]) -> str | None:
    """A column named like another table's id column is a foreign key into that table."""
    for other in tables:
        if other.name != table.name and other.id_column == column and column.endswith("_id"):
            return f"{other.name}/{column}"
    return None


def _field(
    table: TableShape, column: pa.Field, prop: Mapping[str, Any] | None, references: str | None
) -> dict[str, Any]:
    field_id = f"{table.name}/{column.name}"
    source = {"fileObject": {"@id": table.file.path}, "extract": {"column": column.name}}
    out = _typed(field_id, column.name, column.type, prop, source)
    if references is not None:
        out["references"] = {"field": {"@id": references}}
    return out


def _typed(
    field_id: str,
    name: str,
    arrow_type: pa.DataType,
    prop: Mapping[str, Any] | None,
    source: dict[str, Any],
) -> dict[str, Any]:
    """A cr:Field for a value of this Arrow type, its JSON Schema property giving type and description."""
    out: dict[str, Any] = {"@type": "cr:Field", "@id": field_id, "name": name}
    if prop and isinstance(prop.get("description"), str):
        out["description"] = prop["description"]
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        out["repeated"] = True
        arrow_type = arrow_type.value_type
        prop = _items(prop)
    if pa.types.is_struct(arrow_type):
        sub_props = _properties(prop)
        out["dataType"] = "sc:StructuredValue"
        out["source"] = source
        out["subField"] = [
            _typed(
                f"{field_id}/{child.name}",
                child.name,
                child.type,
                sub_props.get(child.name),
                {**source, "transform": {"jsonPath": child.name}},
            )
            for child in arrow_type
        ]
        return out
    out["dataType"] = _json_data_type(prop) or _arrow_data_type(arrow_type)
    out["source"] = source
    return out


def _properties(schema: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    if not schema:
        return {}
    props = _resolve(schema, schema).get("properties", {})
    return {k: _resolve(schema, v) for k, v in props.items() if isinstance(v, Mapping)}


def _items(prop: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if not prop:
        return None
    items = prop.get("items")
    return items if isinstance(items, Mapping) else None


def _resolve(root: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow a local ``$ref`` (``#/$defs/span``) and pick the non-null branch of ``anyOf``/``oneOf``."""
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, Mapping) else {}
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _resolve(root, merged)
    for key in ("anyOf", "oneOf"):
        branches = [b for b in node.get(key, []) if isinstance(b, Mapping) and b.get("type") != "null"]
        if len(branches) == 1:
            return _resolve(root, {**branches[0], **{k: v for k, v in node.items() if k != key}})
    return node


def _json_data_type(prop: Mapping[str, Any] | None) -> str | None:
    if not prop:
        return None
    types = prop.get("type")
    names = [types] if isinstance(types, str) else [t for t in types or [] if t != "null"]
    if len(names) != 1 or names[0] not in _JSON_TYPES:
        return None
    fmt = prop.get("format")
    if names[0] == "string" and isinstance(fmt, str) and fmt in _JSON_FORMATS:
        return _JSON_FORMATS[fmt]
    return _JSON_TYPES[names[0]]


def _arrow_data_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_boolean(arrow_type):
        return "sc:Boolean"
    if pa.types.is_integer(arrow_type):
        return "sc:Integer"
    if pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        return "sc:Float"
    if pa.types.is_date(arrow_type):
        return "sc:Date"
    if pa.types.is_timestamp(arrow_type):
        return "sc:DateTime"
    return "sc:Text"
