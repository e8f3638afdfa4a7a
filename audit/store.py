"""Records -> Arrow -> Parquet, written in row groups, the run's manifest in each file's key-value metadata.

The Arrow schema of each table is declared by its record dataclass (one vocabulary: field name = column
name = JSON Schema property); ``arrow_schema`` maps the annotations to Arrow types explicitly, so nothing
is inferred from the data. ``tests/test_store.py`` checks every schema against ``schemas/<table>.schema.json``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
import operator
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from audit import records
from audit.errors import ConfigError, UsageError

MANIFEST_KEY = b"audit.manifest"
DIGEST_COLUMN = "record_sha256"
ROW_GROUP_ROWS = 64_000
ROW_GROUP_BYTES = 32 << 20  # or this much data, whichever comes first: an article's row holds its body


@dataclass(frozen=True, slots=True)
class TableSpec:
    """A table: its name, the record type of its rows and the column that names a row."""

    name: str
    record: type
    id_column: str


TABLES: tuple[TableSpec, ...] = (
    TableSpec("seeds", records.SeedRow, "path"),
    TableSpec("articles", records.Article, "article_id"),
    TableSpec("blocks", records.Block, "block_id"),
    TableSpec("numbers", records.NumberMention, "number_id"),
    TableSpec("links", records.Link, "link_id"),
    TableSpec("dates", records.DateMention, "date_id"),
    TableSpec("texts", records.DerivedText, "text_sha256"),
    TableSpec("link_checks", records.LiveResult, "url"),
)
SPECS = {spec.name: spec for spec in TABLES}

_SPAN = pa.struct(
    [pa.field("start", pa.int64(), nullable=False), pa.field("end", pa.int64(), nullable=False)]
)
_SCALARS: dict[Any, pa.DataType] = {
    str: pa.string(),
    int: pa.int64(),
    float: pa.float64(),
    bool: pa.bool_(),
    dt.date: pa.date32(),
    records.Span: _SPAN,
}


def _arrow_type(annotation: Any) -> tuple[pa.DataType, bool]:
    """Arrow type and nullability of a record field's annotation."""
    args = typing.get_args(annotation)
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        (inner,) = [a for a in args if a is not type(None)]
        return _arrow_type(inner)[0], True
    if typing.get_origin(annotation) is tuple:
        return pa.list_(_arrow_type(args[0])[0]), False
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return pa.string(), False
    return _SCALARS[annotation], False


@functools.cache
def arrow_schema(spec: TableSpec) -> pa.Schema:
    """The explicit Arrow schema of a table, from its record's annotations, plus the row digest."""
    hints = typing.get_type_hints(spec.record)
    fields = []
    for f in dataclasses.fields(spec.record):
        arrow_type, nullable = _arrow_type(hints[f.name])
        fields.append(pa.field(f.name, arrow_type, nullable=nullable))
    fields.append(pa.field(DIGEST_COLUMN, pa.string(), nullable=False))
    return pa.schema(fields)


def _spans(value: tuple[records.Span, ...]) -> list[dict[str, int]]:
    return [{"start": v.start, "end": v.end} for v in value]


def _text(value: str | None) -> str | None:
    # a StrEnum member must be stored (and digested) as its plain string value
    return value if value is None or type(value) is str else str(value)


_PLAIN_TEXT = frozenset({str, type(None)})


def _span_column(values: list[Any]) -> list[Any]:
    return [None if v is None else {"start": v.start, "end": v.end} for v in values]


def _spans_column(values: list[Any]) -> list[Any]:
    return list(map(_spans, values))


def _list_column(values: list[Any]) -> list[Any]:
    return list(map(list, values))


def _text_column(values: list[Any]) -> list[Any]:
    # the common case, plain strings and None only, needs no conversion: one pass in C finds it
    return values if _PLAIN_TEXT.issuperset(map(type, values)) else list(map(_text, values))


@functools.cache
def _converters(spec: TableSpec) -> tuple[tuple[str, Callable[[list[Any]], list[Any]] | None], ...]:
    """Each column's name and the conversion its list of Python values needs before Arrow (None: none)."""
    out: list[tuple[str, Callable[[list[Any]], list[Any]] | None]] = []
    for field in arrow_schema(spec):
        if field.name == DIGEST_COLUMN:
            continue
        t = field.type
        if pa.types.is_struct(t):
            out.append((field.name, _span_column))
        elif pa.types.is_list(t):
            out.append((field.name, _spans_column if pa.types.is_struct(t.value_type) else _list_column))
        elif pa.types.is_string(t):
            out.append((field.name, _text_column))
        else:
            out.append((field.name, None))
    return tuple(out)


def record_digest(row: dict[str, Any]) -> str:
    """sha256 of the repr of a row's values in column order, the digest column excluded.

    repr, not JSON: it is three times faster and exact for the types a row holds (str, int, float, bool,
    None, datetime.date, lists and span dicts), and validation recomputes it from the same Python values.
    """
    return _digest(tuple(v for k, v in row.items() if k != DIGEST_COLUMN))


def _digest(values: tuple[Any, ...]) -> str:
    return hashlib.sha256(repr(values).encode("utf-8")).hexdigest()


def ipc_stream(batch: pa.RecordBatch) -> bytes:
    """One batch as an Arrow IPC stream (its schema, then the batch): how the extraction cache and the
    Spark engine's tasks carry a seed's rows."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return bytes(sink.getvalue().to_pybytes())


def to_batch(spec: TableSpec, rows: Iterable[Any]) -> pa.RecordBatch:
    """Records of one table as an Arrow record batch with the table's explicit schema, column by column."""
    rows = list(rows)
    columns = []
    for name, convert in _converters(spec):
        values = list(map(operator.attrgetter(name), rows))
        columns.append(values if convert is None else convert(values))
    sha256 = hashlib.sha256  # inlined _digest: one call less per row
    columns.append([sha256(repr(v).encode("utf-8")).hexdigest() for v in zip(*columns, strict=True)])
    return pa.RecordBatch.from_arrays(columns, schema=arrow_schema(spec))


class TablesWriter:
    """Streams record batches into one Parquet file per table, in row groups of bounded rows and bytes."""

    # not a dataclass: owns open file handles and buffers

    def __init__(
        self,
        directory: Path,
        row_group_rows: int = ROW_GROUP_ROWS,
        *,
        tables: Sequence[TableSpec] = TABLES,
        file_name: str | None = None,
    ) -> None:
        """One file per table in ``tables``: ``directory/<table>.parquet``, or with ``file_name``
        ``directory/<table>.parquet/<file_name>``, a part file of a dataset directory (the Spark engine's)."""
        self._dir = directory
        self._rows = row_group_rows
        self._schemas = {s.name: arrow_schema(s) for s in tables}
        self._writers = {
            name: pq.ParquetWriter(_table_file(directory, name, file_name), schema, compression="zstd")
            for name, schema in self._schemas.items()
        }
        self._pending: dict[str, list[pa.RecordBatch]] = {name: [] for name in self._schemas}
        self._pending_rows = dict.fromkeys(self._schemas, 0)
        self._pending_bytes = dict.fromkeys(self._schemas, 0)
        self.n_rows = dict.fromkeys(self._schemas, 0)

    def write(self, table: str, batch: pa.RecordBatch) -> None:
        """Queue a batch; flush a row group once enough rows are waiting."""
        if batch.num_rows == 0:
            return
        self._pending[table].append(batch)
        self._pending_rows[table] += batch.num_rows
        self._pending_bytes[table] += batch.nbytes
        self.n_rows[table] += batch.num_rows
        if self._pending_rows[table] >= self._rows or self._pending_bytes[table] >= ROW_GROUP_BYTES:
            self._flush(table)

    def _flush(self, table: str) -> None:
        if self._pending[table]:
            self._writers[table].write_table(
                pa.Table.from_batches(self._pending[table], self._schemas[table])
            )
        self._pending[table], self._pending_rows[table], self._pending_bytes[table] = [], 0, 0

    def close(self, manifest: dict[str, Any]) -> None:
        """Flush, store the manifest in every file's key-value metadata, and close the files."""
        blob = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode("utf-8")
        for name, writer in self._writers.items():
            self._flush(name)
            writer.add_key_value_metadata({MANIFEST_KEY: blob})
            writer.close()

    def abort(self) -> None:
        """Close the files without caring for their content (the staging directory is discarded)."""
        for writer in self._writers.values():
            writer.close()


def _table_file(directory: Path, name: str, part: str | None) -> Path:
    return directory / f"{name}.parquet" if part is None else directory / f"{name}.parquet" / part


def read_table(directory: Path, name: str) -> pa.Table:
    """Read one table, or raise ConfigError naming the file if it is missing, truncated or corrupt."""
    path = directory / f"{name}.parquet"
    try:
        return pq.read_table(path, schema=arrow_schema(SPECS[name]))
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: the table is missing. Run `python -m audit run` to write the tables."
        ) from None
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise unreadable_table(path, exc) from None


def iter_table(
    directory: Path, name: str, batch_rows: int, columns: Sequence[str] | None = None
) -> Iterator[pa.Table]:
    """A table's rows (only the given columns, if any) in batches of at most batch_rows (always one, maybe
    empty, for an empty table)."""
    path = directory / f"{name}.parquet"
    schema = arrow_schema(SPECS[name])
    if columns is not None:
        schema = pa.schema([schema.field(c) for c in columns])
    try:
        if path.is_dir():  # a Parquet dataset (the Spark engine's tables): its part files in order
            import pyarrow.dataset as ds  # imported here: it imports pandas (about 0.6 s)

            dataset = ds.dataset(path, format="parquet", schema=arrow_schema(SPECS[name]))
            batches = dataset.to_batches(batch_size=batch_rows, columns=columns)
        else:
            batches = pq.ParquetFile(path).iter_batches(batch_size=batch_rows, columns=columns)
        any_rows = False
        for batch in batches:
            any_rows = True
            yield pa.Table.from_batches([batch]).cast(schema)
        if not any_rows:
            yield schema.empty_table()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise unreadable_table(path, exc) from None


def check_single_files(tables_dir: Path, command: str, fix: str) -> None:
    """Raise UsageError naming the first table of ``tables_dir`` stored as a Parquet dataset (a directory of
    part files, as ``run --engine spark`` writes it) when ``command`` reads single files only."""
    for spec in TABLES:
        path = tables_dir / f"{spec.name}.parquet"
        if path.is_dir():
            raise UsageError(
                f"{path}: a Parquet dataset (a directory of part files), as `run --engine spark` writes "
                f"tables; {command} reads single-file tables only. {fix}"
            )


def unreadable_table(path: Path, reason: object) -> ConfigError:
    """The error for a table file that is truncated, corrupt or not of the table's schema."""
    return ConfigError(
        f"{path}: not a readable Parquet table of the expected schema ({reason}). "
        "The file is truncated, corrupt or from another tool; rerun `python -m audit run` to rewrite it."
    )


def read_embedded_manifest(path: Path) -> dict[str, Any] | None:
    """The manifest stored in a Parquet file's key-value metadata, if any."""
    metadata = pq.read_metadata(path).metadata or {}
    blob = metadata.get(MANIFEST_KEY)
    return None if blob is None else dict(json.loads(blob))


def read_manifest(directory: Path) -> dict[str, Any]:
    """Read TABLES/manifest.json, or raise ConfigError saying how to produce it."""
    path = directory / "manifest.json"
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no manifest. Point --tables at a directory written by `python -m audit run`."
        ) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"{path}: unreadable manifest ({exc}). Rerun `python -m audit run` to rewrite it."
        ) from None


def table_names() -> Sequence[str]:
    """Names of all tables, in write order."""
    return [s.name for s in TABLES]
