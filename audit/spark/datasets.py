"""A table as Spark writes it: a directory of Parquet part files (a single file is read the same way).

Digest of a dataset directory (``dataset_sha256``): the part files are the directory's regular files whose
names start with neither "." nor "_" (Hadoop's and pyarrow's rule for hidden files); take the hex sha256 of
each, in sorted name order, one per line ("<hex>\\n"), and hash those lines. Names are left out (Spark's own
writer, which earlier versions used, put a random job id in them); their sorted order is the order of the
partitions, so of the seeds. With coreutils::

    (cd TABLES/numbers.parquet && ls | grep -v '^[._]' | LC_ALL=C sort | xargs sha256sum | cut -c1-64) | sha256sum

Each part file carries the manifest in its key-value metadata (``audit.store.TablesWriter``). Tables written
through Spark's own writer, which has no option for that, carry it in the metadata of the table's first
column, which Spark stores in every part file's footer under ``org.apache.spark.sql.parquet.row.metadata``;
``embedded_manifests`` reads either back from each part file.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from audit.fsio import sha256_file
from audit.store import MANIFEST_KEY, read_embedded_manifest

SPARK_SCHEMA_KEY = b"org.apache.spark.sql.parquet.row.metadata"
FIELD_MANIFEST_KEY = MANIFEST_KEY.decode()


def part_files(path: Path) -> list[Path]:
    """The Parquet files of a table: the file itself, or a dataset directory's part files in name order."""
    if not path.is_dir():
        return [path]
    return sorted(
        (p for p in path.iterdir() if p.is_file() and not p.name.startswith((".", "_"))),
        key=lambda p: p.name,
    )


def dataset_sha256(path: Path) -> str:
    """sha256 over the hex sha256 of each part file, one per line, in name order (see the module docstring)."""
    lines = "".join(f"{sha256_file(p)}\n" for p in part_files(path))
    return hashlib.sha256(lines.encode("ascii")).hexdigest()


def table_sha256(path: Path) -> str:
    """A table's digest: the file's sha256, or the dataset digest of a directory."""
    return dataset_sha256(path) if path.is_dir() else sha256_file(path)


def count_rows(path: Path) -> int:
    """Rows of a table, from its part files' footers only."""
    return sum(pq.read_metadata(p).num_rows for p in part_files(path))


def embedded_manifests(path: Path) -> list[dict[str, Any] | None]:
    """The manifest each part file carries: in its key-value metadata, or in Spark's stored schema."""
    found: list[dict[str, Any] | None] = []
    for part in part_files(path):
        direct = read_embedded_manifest(part)
        found.append(direct if direct is not None else _from_spark_schema(part))
    return found


def _from_spark_schema(part: Path) -> dict[str, Any] | None:
    blob = (pq.read_metadata(part).metadata or {}).get(SPARK_SCHEMA_KEY)
    if blob is None:
        return None
    for field in json.loads(blob).get("fields", ()):
        text = (field.get("metadata") or {}).get(FIELD_MANIFEST_KEY)
        if text is not None:
            return dict(json.loads(text))
    return None
