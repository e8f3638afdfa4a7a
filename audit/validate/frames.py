"""The tables as pandas frames for Great Expectations: read in batches of rows, with the provenance columns.

Long tables are read in batches, so memory stays bounded however many seeds a run has: each batch gets its
provenance columns (computed for every table in one walk over the seeds, before the first batch) and the
links get the live checks' results.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from audit.forking import release_memory
from audit.ingest import recorded_limits
from audit.store import SPECS, arrow_schema, iter_table, read_manifest, read_table, unreadable_table
from audit.validate.facts import facts_frame, table_facts
from audit.validate.provenance import tables_provenance
from audit.validate.reextract import Reextraction
from audit.validate.seeds import DerivedTexts, SeedCache
from audit.validate.suites import Rule, rule_columns

# what a live check found replaces the links table's offline placeholders (status "not_checked")
LIVE_COLUMNS = (
    "status",
    "http_status",
    "final_url",
    "n_redirects",
    "redirect_chain",
    "checked_at",
    "error",
    "soft_404",
)
# table data (uncompressed) validated at once, shared by the workers: bounds memory. GX costs about 0.1 s
# per batch whatever its size (building its graph of metrics), so small batches multiply that: at 100k
# seeds (one process), 12 MB made 166 batches and 37 s in GX, 48 MB 24 s, at the same peak memory
BATCH_BYTES = 48 << 20
BATCH_ROWS = 500_000  # and at most this many rows, so GX's per-row work stays bounded too
BULKY = frozenset({"body", "body_spans", "record_sha256"})  # columns too big for categories or evidence
# GX names failing rows by this positional index: with the id as an index column instead, GX builds each
# failing row's dict with a lookup per row, which dominates validation time when many rows fail
ROW_INDEX = "_row"


class Frames(Mapping[str, pd.DataFrame]):
    """Each table as pandas frames of at most ``batch_rows`` rows, with provenance columns, built when asked for.

    run_suites asks for one table at a time, batch after batch, so memory holds one batch of one table.
    """

    # not a dataclass: builds frames lazily from files

    def __init__(
        self,
        tables_dir: Path,
        seeds_root: Path,
        manifest: dict[str, Any],
        batch_rows: int | None = None,
        derived: DerivedTexts | None = None,
    ) -> None:
        self._dir, self._fixed_rows = tables_dir, batch_rows
        self._batch_bytes = BATCH_BYTES
        seeds = read_table(tables_dir, "seeds").select(["path", "seed_sha256"]).to_pylist()
        paths: dict[str, str] = {}
        for row in seeds:
            if row["seed_sha256"] is not None:
                paths.setdefault(row["seed_sha256"], row["path"])
        self._seeds = SeedCache(seeds_root, paths, derived=derived, limits=recorded_limits(manifest))
        self._order = {sha: i for i, sha in enumerate(paths)}  # tables hold their rows in this order
        self._proven: dict[str, dict[str, pa.ChunkedArray]] = {}
        self.seed_paths: Mapping[str, str] = paths
        self._reextraction: Reextraction | None = None
        self._jobs = 1
        self._facts = facts_frame(table_facts(tables_dir, manifest))
        self._intact = dict(zip(self._facts["table"], self._facts["sha256_ok"], strict=True))
        self._rows = dict(zip(self._facts["table"], self._facts["n_rows_actual"], strict=True))

    def __getitem__(self, name: str) -> pd.DataFrame:
        return pd.concat(list(self.batches(name, None)), ignore_index=True)

    def n_rows(self, name: str) -> int:
        """How many rows a table holds (0 for the table of tables, which is tiny)."""
        return 0 if name == "tables" else int(self._rows.get(name) or 0)

    def n_batches(self, name: str) -> int:
        """How many batches a table is validated in."""
        return 1 if name == "tables" else max(1, -(-int(self._rows[name]) // self.batch_rows(name)))

    def batch_rows(self, name: str) -> int:
        """Rows per batch for a table: its share of BATCH_BYTES, by its average row size (at most BATCH_ROWS)."""
        if self._fixed_rows:
            return self._fixed_rows
        meta = pq.read_metadata(self._dir / f"{name}.parquet")
        size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        per_row = size / max(1, meta.num_rows)
        return int(min(BATCH_ROWS, max(1_000, self._batch_bytes // max(1.0, per_row))))

    def share_batches(self, workers: int) -> None:
        """Batches for ``workers`` processes validating at once: each gets its share of BATCH_BYTES."""
        self._batch_bytes = BATCH_BYTES // max(1, workers)

    def batches(self, name: str, columns: Sequence[str] | None) -> Iterator[pd.DataFrame]:
        """The table's rows in batches (only the given columns, if any), with provenance columns computed."""
        if name == "tables":
            yield self._facts.copy()
            return
        live = read_table(self._dir, "link_checks").to_pandas() if name == "links" else None
        self.prepare([name])
        proven, done = self._proven[name], 0
        for table in iter_table(self._dir, name, self.batch_rows(name)):
            checks = {column: values.slice(done, table.num_rows) for column, values in proven.items()}
            done += table.num_rows
            if columns is not None:
                wanted = {*columns, "url"} if name == "links" else set(columns)  # live checks join on url
                table = table.select([c for c in table.column_names if c in wanted])
            frame: pd.DataFrame = table.to_pandas()
            for column, values in checks.items():
                frame[column] = as_booleans(values)
            yield frame if live is None else join_live_checks(frame, live)

    def reextract_with(self, reextraction: Reextraction | None, jobs: int = 1) -> None:
        """Compare the rows of the seeds it chooses with their extraction made again (before any batch), in
        ``jobs`` worker processes."""
        self._reextraction, self._jobs = reextraction, jobs

    def prepare(self, names: Collection[str]) -> None:
        """Compute the provenance columns of these tables (not yet computed) in one walk over the seeds."""
        todo = [name for name in SPECS if name in names and name not in self._proven]
        if todo:
            intact = {name: bool(self._intact[name]) for name in todo}
            rows = {name: self.batch_rows(name) for name in todo}
            again = self._reextraction
            with again.workers(self._jobs) if again is not None else contextlib.nullcontext():
                self._proven |= tables_provenance(
                    self._dir,
                    todo,
                    self._seeds,
                    self._order,
                    intact,
                    rows,
                    reextracted=None if again is None else again.digests,
                    prefetch=None if again is None else again.prefetch,
                )
            self._seeds.forget()  # the seeds' bytes: the walk was their last reader
            release_memory()  # what the walk read, before the suites' batches

    def stored_rows(self, name: str, id_column: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Whole stored rows of a table for these ids (one pass over the file, a batch at a time)."""
        if name == "tables" or not ids:
            return {}
        rows = rows_where(self._dir, name, id_column, ids, self.batch_rows(name))
        return {str(row[id_column]): row for row in rows}

    def __iter__(self) -> Iterator[str]:
        return iter(["tables", *SPECS])

    def __len__(self) -> int:
        return len(SPECS) + 1


def as_booleans(values: pa.BooleanArray | pa.ChunkedArray) -> pd.arrays.BooleanArray:
    """An Arrow boolean column as pandas' nullable booleans."""
    data = values.fill_null(False).to_numpy(zero_copy_only=False)
    return pd.arrays.BooleanArray(data, values.is_null().to_numpy(zero_copy_only=False))


def rows_where(
    directory: Path, name: str, column: str, values: Sequence[str], batch_rows: int = 50_000
) -> list[dict[str, Any]]:
    """The rows of a table whose column holds one of the values, in table order (the file read a batch at a time)."""
    wanted = pa.array(list(values), pa.string())
    found: list[dict[str, Any]] = []
    for table in iter_table(directory, name, batch_rows):
        found.extend(table.filter(pc.is_in(table[column], value_set=wanted)).to_pylist())
    return found


def prepared(frame: pd.DataFrame, categories: Collection[str]) -> pd.DataFrame:
    """The frame with a positional index named ``_row``, the given text columns as categories, other text
    columns as Python strings.

    GX copies the whole frame once per rule with a row condition. Copying Python strings is copying
    pointers; Arrow-backed text is copied value by value, several times slower.
    """
    frame = frame.reset_index(drop=True)
    frame.index = pd.RangeIndex(len(frame), name=ROW_INDEX)
    for column in frame.columns:
        dtype = frame[column].dtype
        if isinstance(dtype, pd.CategoricalDtype) or not pd.api.types.is_string_dtype(dtype):
            continue
        frame[column] = frame[column].astype("category" if column in categories else object)
    return frame


_MEMBERSHIP = frozenset({"expect_column_values_to_be_in_set", "expect_column_values_to_not_be_in_set"})
# expectations that treat a text column the same whether its values are text or categories
_CATEGORY_SAFE = _MEMBERSHIP | {
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_null",
    "expect_column_values_to_match_regex",
    "expect_column_values_to_not_match_regex",
    "expect_column_value_lengths_to_be_between",
    "expect_column_values_to_be_unique",
}


def category_columns(rules: Sequence[Rule]) -> set[str]:
    """Text columns worth holding as categories for these rules.

    GX filters its frame once per metric of a rule with a row condition, tests set membership and nullity;
    on categories all three are several times faster than on text. A column any rule compares by order or
    type stays text, and so do the bulky ones (a category of whole article bodies costs more than it saves).
    """
    wanted, keep = {"seed_sha256"}, set(BULKY)
    for rule in rules:
        condition = rule.kwargs.get("row_condition")
        wanted.update(rule_columns({"row_condition": condition}))
        keep.update(_ordered_condition_columns(condition))
        named = rule_columns({k: v for k, v in rule.kwargs.items() if k != "row_condition"})
        if rule.expectation_type in _CATEGORY_SAFE:
            wanted.update(named)
        else:
            keep.update(named)
    return wanted - keep


def _ordered_condition_columns(condition: Any) -> list[str]:
    """Columns a GX Condition object compares with <, <=, > or >=."""
    if not isinstance(condition, Mapping):
        return []
    if "conditions" in condition:
        return [c for sub in condition["conditions"] for c in _ordered_condition_columns(sub)]
    if condition.get("operator") in ("<", "<=", ">", ">="):
        return [condition["column"]["name"]]
    return []


def load_frames(
    tables_dir: Path, seeds_root: Path, derived: DerivedTexts | None = None
) -> tuple[Frames, dict[str, Any]]:
    """The tables as lazily built frames with provenance columns (re-reading the seeds), and the manifest."""
    manifest = read_manifest(tables_dir)
    for name in SPECS:
        _check_readable(tables_dir, name)  # fail early, with the file named, on a missing or corrupt table
    return Frames(tables_dir, seeds_root, manifest, derived=derived), manifest


def _check_readable(tables_dir: Path, name: str) -> None:
    """Read a table's schema (not its rows), or raise ConfigError naming the file."""
    path = tables_dir / f"{name}.parquet"
    if not path.exists():
        read_table(tables_dir, name)  # raises the missing-table error
    try:
        found = pq.read_schema(path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise unreadable_table(path, exc) from None
    expected = arrow_schema(SPECS[name])
    if found.names != expected.names:
        raise unreadable_table(path, f"its columns {found.names} are not {expected.names}")


def join_live_checks(links: pd.DataFrame, checks: pd.DataFrame) -> pd.DataFrame:
    """Links with the live results of their URL joined in (links without a result stay not_checked)."""
    if checks.empty or "url" not in links.columns:
        return links
    by_url = checks.set_index("url")
    hit = links["url"].isin(by_url.index)
    out = links.copy()
    for column in (c for c in LIVE_COLUMNS if c in links.columns):
        values = links.loc[hit, "url"].astype(object).map(by_url[column])
        out[column] = out[column].astype(object)
        out.loc[hit, column] = values.astype(object)
    return out
