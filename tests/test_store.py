"""Store: Arrow schemas agree with the JSON Schemas in schemas/, and real rows validate against both."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import jsonschema
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from audit.cli import main
from audit.errors import ConfigError
from audit.store import DIGEST_COLUMN, TABLES, arrow_schema, read_table
from tests.conftest import ROOT, run_args

SCHEMAS = ROOT / "schemas"


def _json_type(prop: dict[str, Any]) -> tuple[str, bool]:
    """A JSON Schema property as (type name, nullable), following the span $ref and array items."""
    if "anyOf" in prop:
        (inner,) = [p for p in prop["anyOf"] if p.get("type") != "null"]
        return _json_type(inner)[0], True
    if "$ref" in prop:
        return "span", False
    types = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
    nullable = "null" in types
    (base,) = [t for t in types if t != "null"]
    if base == "array":
        return f"array<{_json_type(prop['items'])[0]}>", nullable
    if base == "string" and prop.get("format") == "date":
        return "date", nullable
    return base, nullable


def _arrow_type(t: pa.DataType) -> str:
    if pa.types.is_list(t):
        return f"array<{_arrow_type(t.value_type)}>"
    if pa.types.is_struct(t):
        return "span"
    return {"string": "string", "int64": "integer", "double": "number", "bool": "boolean", "date32[day]": "date"}[str(t)]


@pytest.mark.parametrize("spec", TABLES, ids=lambda s: s.name)
def test_arrow_and_json_schema_agree(spec: Any) -> None:
    """Every column has the same name, type and nullability in the Arrow schema and the JSON Schema."""
    schema = json.loads((SCHEMAS / f"{spec.name}.schema.json").read_text())
    arrow = arrow_schema(spec)
    assert list(schema["properties"]) == arrow.names
    assert schema["required"] == arrow.names and schema["additionalProperties"] is False
    for field in arrow:
        assert _json_type(schema["properties"][field.name]) == (_arrow_type(field.type), field.nullable), field.name


@pytest.mark.parametrize("spec", TABLES, ids=lambda s: s.name)
def test_record_fields_are_the_columns(spec: Any) -> None:
    """The record dataclass's fields are the table's columns, in order, plus the row digest."""
    names = [f.name for f in dataclasses.fields(spec.record)]
    assert [*names, DIGEST_COLUMN] == arrow_schema(spec).names


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def test_real_rows_validate_against_json_schemas(tmp_path: Path, seeds_dir: Path, suites_dir: Path) -> None:
    """Every row the audit writes for the bundled seed is valid under its table's JSON Schema."""
    main(run_args(tmp_path, seeds_dir, suites_dir))
    for spec in TABLES:
        validator = jsonschema.Draft202012Validator(json.loads((SCHEMAS / f"{spec.name}.schema.json").read_text()))
        for row in pq.read_table(tmp_path / "tables" / f"{spec.name}.parquet").to_pylist():
            errors = list(validator.iter_errors(_jsonable(row)))
            assert not errors, (spec.name, errors[0].message)


def test_truncated_parquet_is_a_clear_config_error(tmp_path: Path, seeds_dir: Path, suites_dir: Path) -> None:
    """A truncated table is reported with its path and the fix, and validate exits 2."""
    main(run_args(tmp_path, seeds_dir, suites_dir))
    path = tmp_path / "tables" / "numbers.parquet"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ConfigError, match=r"numbers\.parquet: not a readable Parquet table"):
        read_table(tmp_path / "tables", "numbers")
    code = main(["validate", "--tables", str(tmp_path / "tables"), "--report", str(tmp_path / "r2"), "--suites", str(suites_dir)])
    assert code == 2
