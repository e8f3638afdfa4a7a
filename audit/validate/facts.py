"""The ``tables`` frame: each table's file now (digest, row count, embedded manifests) against the manifest.

Both engines build its rows with ``table_facts``; each reads its files its own way (a Parquet file here, a
dataset directory of part files on Spark) and hands over a ``TableFile``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from audit.fsio import sha256_file
from audit.manifest import seeds_digest
from audit.records import TABLE_FACT_COLUMNS, TableFacts
from audit.store import SPECS, read_embedded_manifest


@dataclass(frozen=True, slots=True, kw_only=True)
class TableFile:
    """What a table's file holds now: its sha256, its rows, and the manifest each of its files embeds."""

    sha256: str
    n_rows: int
    manifests: tuple[Mapping[str, Any] | None, ...]


def read_table_file(path: Path) -> TableFile:
    """A single Parquet file's digest, row count (from its footer) and embedded manifest."""
    return TableFile(
        sha256=sha256_file(path),
        n_rows=pq.read_metadata(path).num_rows,
        manifests=(read_embedded_manifest(path),),
    )


def table_facts(
    tables_dir: Path, manifest: Mapping[str, Any], read: Callable[[Path], TableFile] = read_table_file
) -> tuple[TableFacts, ...]:
    """One TableFacts per table, its file read by ``read``, compared with what the manifest recorded."""
    recorded = manifest.get("tables", {})
    core = embedded_core(manifest)
    rows = []
    for name in SPECS:
        found = read(tables_dir / f"{name}.parquet")
        expected = recorded.get(name, {})
        rows.append(
            TableFacts(
                table=name,
                sha256_expected=expected.get("sha256"),
                sha256_actual=found.sha256,
                n_rows_expected=expected.get("n_rows"),
                n_rows_actual=found.n_rows,
                sha256_ok=expected.get("sha256") == found.sha256,
                n_rows_ok=expected.get("n_rows") == found.n_rows,
                embedded_manifest_ok=core is not None
                and bool(found.manifests)
                and all(m == core for m in found.manifests),
            )
        )
    return tuple(rows)


def facts_frame(facts: tuple[TableFacts, ...]) -> pd.DataFrame:
    """The ``tables`` frame the tables suite validates: one row per table."""
    return pd.DataFrame([dataclasses.asdict(f) for f in facts], columns=list(TABLE_FACT_COLUMNS))


def embedded_core(manifest: Mapping[str, Any]) -> dict[str, Any] | None:
    """What each table's file must embed, per manifest.json; None if its seed list is not the one embedded."""
    if "seeds_sha256" in manifest and seeds_digest(manifest.get("seeds", [])) != manifest["seeds_sha256"]:
        return None
    return {k: v for k, v in manifest.items() if k in manifest.get("embedded_keys", ())}
