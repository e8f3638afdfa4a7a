"""The only module that runs Great Expectations: tables + suites -> CheckResult records.

Long tables are validated in batches of rows, so memory stays bounded however many seeds a run has:
each batch gets its provenance columns and is validated with the suite's row-by-row rules; rules that
look across rows (uniqueness, ``mostly``) run once over the whole table's frame of the suite's columns.
The suites' tables with such rules (seeds, articles, links) are the short ones.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import math
import os
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from audit.forking import forked_pool, release_memory
from audit.fsio import sha256_file
from audit.ingest import recorded_limits
from audit.manifest import seeds_digest
from audit.provenance import (
    PROVENANCE_COLUMNS,
    TABLE_FACT_COLUMNS,
    DerivedTexts,
    SeedCache,
    TableFacts,
    tables_provenance,
)
from audit.records import CheckResult, Finding
from audit.reextract import Reextraction
from audit.store import (
    SPECS,
    arrow_schema,
    iter_table,
    read_embedded_manifest,
    read_manifest,
    read_table,
    unreadable_table,
)
from audit.suites import Rule, Suite, build_gx_suite, rule_columns

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

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
EVIDENCE_LIMIT = 2_000  # findings per rule that carry their row; the rest carry ids only
# table data (uncompressed) validated at once, shared by the workers: bounds memory. GX costs about 0.1 s
# per batch whatever its size (building its graph of metrics), so small batches multiply that: at 100k
# seeds (one process), 12 MB made 166 batches and 37 s in GX, 48 MB 24 s, at the same peak memory
BATCH_BYTES = 48 << 20
BATCH_ROWS = 500_000  # and at most this many rows, so GX's per-row work stays bounded too
_BULKY = frozenset({"body", "body_spans", "record_sha256"})
# GX names failing rows by this positional index: with the id as an index column instead, GX builds each
# failing row's dict with a lookup per row, which dominates validation time when many rows fail
_ROW = "_row"
RESULT_FORMAT: dict[str, Any] = {
    "result_format": "COMPLETE",
    "unexpected_index_column_names": [_ROW],
    "exclude_unexpected_values": True,
    "partial_unexpected_count": 0,
}
# the first pass over a batch: counts only (about half of COMPLETE's cost); rules that fail run again with
# RESULT_FORMAT, which names their rows
COUNT_FORMAT: dict[str, Any] = {"result_format": "BASIC", "partial_unexpected_count": 0}
# expectations judged row by row: their results over batches add up to the result over the table
_ROW_WISE = frozenset(
    {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_null",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_in_set",
        "expect_column_values_to_be_between",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_not_match_regex",
        "expect_column_values_to_match_regex_list",
        "expect_column_values_to_not_match_regex_list",
        "expect_column_value_lengths_to_be_between",
        "expect_column_value_lengths_to_equal",
        "expect_column_values_to_be_of_type",
        "expect_column_values_to_be_in_type_list",
        "expect_column_pair_values_a_to_be_greater_than_b",
        "expect_column_pair_values_to_be_equal",
        "expect_column_pair_values_to_be_in_set",
        "expect_column_values_to_match_like_pattern",
        "expect_column_values_to_not_match_like_pattern",
        "expect_column_values_to_match_strftime_format",
        "expect_column_values_to_be_dateutil_parseable",
        "expect_column_values_to_be_json_parseable",
    }
)


def row_wise(rule: Rule) -> bool:
    """Whether a rule's result over a table is the sum of its results over batches of rows."""
    return rule.expectation_type in _ROW_WISE and rule.kwargs.get("mostly", 1) == 1


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
        self._facts = _table_facts(tables_dir, manifest)
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
                frame[column] = _boolean(values)
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


def _boolean(values: pa.BooleanArray | pa.ChunkedArray) -> pd.arrays.BooleanArray:
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
    frame.index = pd.RangeIndex(len(frame), name=_ROW)
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
    wanted, keep = {"seed_sha256"}, set(_BULKY)
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


def embedded_core(manifest: Mapping[str, Any]) -> dict[str, Any] | None:
    """What each table's file must embed, per manifest.json; None if its seed list is not the one embedded."""
    if "seeds_sha256" in manifest and seeds_digest(manifest.get("seeds", [])) != manifest["seeds_sha256"]:
        return None
    return {k: v for k, v in manifest.items() if k in manifest.get("embedded_keys", ())}


def _table_facts(tables_dir: Path, manifest: dict[str, Any]) -> pd.DataFrame:
    recorded = manifest.get("tables", {})
    core = embedded_core(manifest)
    rows = []
    for name in SPECS:
        path = tables_dir / f"{name}.parquet"
        n_rows = pq.read_metadata(path).num_rows
        expected = recorded.get(name, {})
        actual_sha = sha256_file(path)
        rows.append(
            dataclasses.asdict(
                TableFacts(
                    table=name,
                    sha256_expected=expected.get("sha256"),
                    sha256_actual=actual_sha,
                    n_rows_expected=expected.get("n_rows"),
                    n_rows_actual=n_rows,
                    sha256_ok=expected.get("sha256") == actual_sha,
                    n_rows_ok=expected.get("n_rows") == n_rows,
                    embedded_manifest_ok=core is not None and read_embedded_manifest(path) == core,
                )
            )
        )
    return pd.DataFrame(rows, columns=list(TABLE_FACT_COLUMNS))


@dataclass(slots=True)
class _Tally:
    """One rule's results over the batches seen so far."""

    n_checked: int = 0
    failed: bool = False
    error: str | None = None
    ids: list[str] = field(default_factory=list)
    seeds: dict[str, str | None] = field(default_factory=dict)
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)  # the frame's row, for evidence


def run_suites(
    frames: Mapping[str, pd.DataFrame], suites: Sequence[Suite], jobs: int | None = None
) -> tuple[CheckResult, ...]:
    """Validate each table with its suite; one CheckResult per expectation, keyed by rule_id.

    With ``jobs`` > 1 and tables read from files, suites run in that many worker processes (each table is
    validated on its own, so they are independent); results come back in suite order either way.
    """
    jobs = jobs or 1
    if isinstance(frames, Frames):  # before any worker starts: one walk over the seeds for every table
        frames.prepare({suite.table for suite in suites})
    if jobs > 1 and isinstance(frames, Frames) and len(suites) > 1:
        return _run_in_processes(frames, suites, jobs)
    context = _gx_context()
    return tuple(result for suite in suites for result in _run_suite(context, frames, suite))


def _gx_context() -> Any:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    skip_batch_fingerprints()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    skip_config_saves(context)
    return context


def skip_config_saves(context: Any) -> None:
    """Stop an ephemeral GX context writing its project config out on every change, for a copy nothing reads.

    Each data source or asset added or deleted makes GX serialize the whole project config to YAML and put
    it in the context's in-memory store, which GX reads nowhere; a batch adds and deletes its data source,
    so on the bundled seed this was about an eighth of the time GX spent validating. A file or cloud
    context is left as it is: for those the save is the point.
    """
    from great_expectations.data_context.data_context.ephemeral_data_context import EphemeralDataContext

    if isinstance(context, EphemeralDataContext):
        context._save_project_config = _no_save  # type: ignore[method-assign]


def _no_save() -> None:
    """What an ephemeral context saves: nothing (see skip_config_saves)."""


def skip_batch_fingerprints() -> None:
    """Stop GX hashing every pandas batch it is given, for a fingerprint nothing reads.

    GX records an md5 of pandas' hash of every row and column as a batch marker
    (``pandas_data_fingerprint``), only for frames under its ``HASH_THRESHOLD`` bytes; no result, rule or
    report uses it. At 100k seeds the hashing was a third of the time GX spent validating. A threshold of 0
    leaves every batch unhashed, as GX already leaves frames of 1 GB and more.
    """
    from great_expectations.execution_engine import pandas_execution_engine

    if hasattr(pandas_execution_engine, "HASH_THRESHOLD"):
        pandas_execution_engine.HASH_THRESHOLD = 0


def _run_suite(context: Any, frames: Mapping[str, pd.DataFrame], suite: Suite) -> list[CheckResult]:
    validator = _Validator(context, suite)
    tallies = validator.run(frames)
    stored = _stored_rows(frames, suite, validator.id_column, tallies)
    results = [_check_result_of(rule, tallies[rule.rule_id], stored) for rule in suite.rules]
    # the allocators keep what a table's batches freed: without this, the next table's batches come on
    # top (at 100k seeds the peak went from 1.5 to 1.9 GB)
    release_memory()
    return results


# what forked workers validate: set before the pool starts, so the frames and suites are not pickled
_SHARED: dict[str, Any] = {}


def _run_in_processes(frames: Frames, suites: Sequence[Suite], jobs: int) -> tuple[CheckResult, ...]:
    """Each suite in a forked worker, the longest tables first so the workers finish together."""
    order = sorted(range(len(suites)), key=lambda i: -frames.n_rows(suites[i].table))
    frames.share_batches(min(jobs, len(suites)))  # the walk is done: only the suites' batches are shared
    _SHARED.update(frames=frames, suites=suites)
    try:
        with forked_pool(min(jobs, len(suites))) as pool:
            done = dict(zip(order, pool.map(_suite_in_worker, order), strict=True))
    finally:
        _SHARED.clear()
    return tuple(result for i in range(len(suites)) for result in done[i])


def _suite_in_worker(index: int) -> list[CheckResult]:
    if "context" not in _SHARED:
        _SHARED["context"] = _gx_context()
    return _run_suite(_SHARED["context"], _SHARED["frames"], _SHARED["suites"][index])


class _Validator:
    """Runs one suite over a table's frames: all rules per batch, or cross-row rules once over all rows."""

    # not a dataclass: holds the GX context

    def __init__(self, context: Any, suite: Suite) -> None:
        self.suite, self._context, self._n = suite, context, 0
        self.id_column = "table" if suite.table == "tables" else SPECS[suite.table].id_column
        self._categories = category_columns(suite.rules) - {self.id_column}
        self._built: dict[frozenset[str], Any] = {}  # GX suites of a subset of the rules, built once

    def run(self, frames: Mapping[str, pd.DataFrame]) -> dict[str, _Tally]:
        """Every rule's tally over the whole table."""
        tallies = {rule.rule_id: _Tally() for rule in self.suite.rules}
        if not isinstance(frames, Frames):
            self._validate(frames[self.suite.table], self.suite.rules, tallies)
            return tallies
        if frames.n_batches(self.suite.table) == 1:
            for frame in frames.batches(self.suite.table, self._needed(self.suite.rules)):
                self._validate(frame, self.suite.rules, tallies)
            return tallies
        by_row = tuple(r for r in self.suite.rules if row_wise(r))
        across = tuple(r for r in self.suite.rules if not row_wise(r))
        # rules across rows see every row: their columns, and the computed ones evidence shows beside the
        # stored row (the same evidence a single pass gives)
        narrow = {*self._needed(across), *PROVENANCE_COLUMNS, *LIVE_COLUMNS}
        parts = []
        for frame in frames.batches(self.suite.table, self._needed(self.suite.rules)):
            self._validate(frame, by_row, tallies)
            if across:
                parts.append(frame[[c for c in frame.columns if c in narrow]])
            del frame
        if across:
            self._validate(pd.concat(parts, ignore_index=True), across, tallies)
        return tallies

    def _needed(self, rules: Sequence[Rule]) -> list[str]:
        """Columns the rules name, with the id and seed columns findings are reported by."""
        columns = {self.id_column, "seed_sha256"}
        for rule in rules:
            columns.update(rule_columns(rule.kwargs))
        if self.suite.table != "tables":
            columns &= {*arrow_schema(SPECS[self.suite.table]).names, *PROVENANCE_COLUMNS}
        return sorted(columns)

    def _validate(self, frame: pd.DataFrame, rules: Sequence[Rule], tallies: dict[str, _Tally]) -> None:
        """Validate one batch: every rule with counts only, then the failing ones again naming their rows.

        GX sees only the columns the rules name (it filters and fingerprints all it is given); findings
        take their ids, seeds and evidence from the whole batch by position.
        """
        if not rules:
            return
        frame = frame.reset_index(drop=True)
        view = prepared(frame[gx_columns(frame, rules)], self._categories)
        first = self._outcomes(view, rules, COUNT_FORMAT)
        failing = [rule for rule in rules if not _passed(first.get(rule.rule_id))]
        named = self._outcomes(view, failing, RESULT_FORMAT) if failing else {}
        for rule in rules:
            _add(
                tallies[rule.rule_id], named.get(rule.rule_id, first.get(rule.rule_id)), frame, self.id_column
            )

    def _outcomes(self, frame: pd.DataFrame, rules: Sequence[Rule], result_format: Any) -> dict[str, Any]:
        """GX's result for each rule over the frame, keyed by rule_id."""
        # a data source per batch, deleted after: GX's execution engine keeps every batch it has loaded
        self._n += 1
        name = f"audit-{self.suite.table}-{self._n}"
        asset = self._context.data_sources.add_pandas(name=name).add_dataframe_asset(self.suite.table)
        try:
            batch = asset.add_batch_definition_whole_dataframe("all").get_batch(
                batch_parameters={"dataframe": frame}
            )
            outcome = batch.validate(self._gx_suite(rules), result_format=result_format)
        finally:
            self._context.data_sources.delete(name)
        return {r.expectation_config.meta["rule_id"]: r for r in outcome.results}

    def _gx_suite(self, rules: Sequence[Rule]) -> Any:
        """The GX suite of these rules of the suite file (built once for every batch)."""
        wanted = frozenset(r.rule_id for r in rules)
        if wanted not in self._built:
            expectations = [e for e in self.suite.raw["expectations"] if e["meta"]["rule_id"] in wanted]
            self._built[wanted] = build_gx_suite(
                self.suite.path, {**self.suite.raw, "expectations": expectations}
            )
        return self._built[wanted]


def gx_columns(frame: pd.DataFrame, rules: Sequence[Rule]) -> list[str]:
    """The frame's columns GX needs for these rules: those they name, or all of them for a table-level rule."""
    if any(rule.expectation_type.startswith("expect_table_") for rule in rules):
        return list(frame.columns)
    named = {column for rule in rules for column in rule_columns(rule.kwargs)}
    return [column for column in frame.columns if column in named]


def _passed(result: Any) -> bool:
    """Whether a GX result is a success that ran (no rows to name)."""
    return (
        result is not None
        and bool(result.success)
        and not (result.exception_info or {}).get("raised_exception")
    )


def _counted(tally: _Tally, result: Any, n_rows: int) -> Mapping[str, Any] | None:
    """Count one GX result into a rule's tally; its payload if the rule failed there, else None."""
    if result is None:
        tally.error = tally.error or "Great Expectations returned no result"
        return None
    info = result.exception_info or {}
    if info.get("raised_exception"):
        tally.error = tally.error or str(info.get("exception_message"))
        return None
    payload: Mapping[str, Any] = result.result or {}
    tally.n_checked += int(payload.get("element_count", n_rows) or 0)
    if result.success:
        return None
    tally.failed = True
    return payload


def _add(tally: _Tally, result: Any, frame: pd.DataFrame, id_column: str) -> None:
    """Add one batch's GX result for a rule to its tally."""
    payload = _counted(tally, result, len(frame))
    if payload is not None:
        _add_rows(tally, frame.iloc[failing_positions(payload)], id_column)


def _add_rows(tally: _Tally, rows: pd.DataFrame, id_column: str) -> None:
    """Failing rows, in order: each id once; the first EVIDENCE_LIMIT keep their row for evidence."""
    if rows.empty:
        return
    ids = rows[id_column].astype(str).tolist()
    seeds = rows["seed_sha256"].tolist() if "seed_sha256" in rows else [None] * len(ids)
    fresh: list[int] = []
    for n, (record_id, seed) in enumerate(zip(ids, seeds, strict=True)):
        if record_id not in tally.seeds:
            tally.ids.append(record_id)
            tally.seeds[record_id] = seed if isinstance(seed, str) else None
            fresh.append(n)
    kept = fresh[: max(0, EVIDENCE_LIMIT - len(tally.rows))]
    for n, row in zip(kept, rows.iloc[kept].to_dict("records"), strict=True):
        tally.rows[ids[n]] = {str(k): v for k, v in row.items()}


def check_result(rule: Rule, result: Any, rows: pd.DataFrame, id_column: str) -> CheckResult:
    """A rule's CheckResult from a GX result that names failing rows by id, and a frame holding those rows.

    The Spark engine's results come this way (its frames have no positional index).
    """
    tally = _Tally()
    payload = _counted(tally, result, len(rows))
    if payload is not None:
        ids = [_row_id(item, id_column) for item in payload.get("unexpected_index_list") or ()]
        found = rows.drop_duplicates(id_column)
        found.index = found[id_column].astype(str)
        _add_rows(tally, found.loc[[i for i in dict.fromkeys(ids) if i in found.index]], id_column)
        for record_id in (i for i in ids if i not in tally.seeds):  # a row the frame did not hold
            tally.ids.append(record_id)
            tally.seeds[record_id] = None
    return _check_result_of(rule, tally, {})


def _row_id(item: Any, id_column: str) -> str:
    return str(item[id_column]) if isinstance(item, Mapping) else str(item)


def failing_positions(payload: Mapping[str, Any]) -> list[int]:
    """The positions (``_row``) of the failing rows in a GX result made with RESULT_FORMAT."""
    found = payload.get("unexpected_index_list") or []
    if len(found) == 1 and isinstance(found[0], Mapping) and isinstance(found[0].get(_ROW), list):
        return [int(p) for p in found[0][_ROW]]
    return [int(item[_ROW]) if isinstance(item, Mapping) else int(item) for item in found]


def _stored_rows(
    frames: Mapping[str, pd.DataFrame], suite: Suite, id_column: str, tallies: Mapping[str, _Tally]
) -> dict[str, dict[str, Any]]:
    """The whole stored rows of every record that gets evidence (read once for the suite)."""
    if not isinstance(frames, Frames):
        return {}
    wanted = list(dict.fromkeys(i for t in tallies.values() for i in t.rows))
    return frames.stored_rows(suite.table, id_column, wanted)


def _check_result_of(rule: Rule, tally: _Tally, stored: Mapping[str, dict[str, Any]]) -> CheckResult:
    common = _common(rule)
    if tally.error is not None:
        return CheckResult(**common, n_checked=0, findings=(), error=tally.error)
    if not tally.failed:
        return CheckResult(**common, n_checked=tally.n_checked, findings=())
    if not tally.ids:  # a table-level expectation: the table itself is the failing record
        ids, seeds = [f"table:{rule.table}"], {}
    else:
        ids, seeds = tally.ids, tally.seeds
    findings = tuple(
        Finding(
            rule_id=rule.rule_id,
            table=rule.table,
            record_id=record_id,
            seed_sha256=seeds.get(record_id),
            evidence=_evidence({**stored.get(record_id, {}), **tally.rows[record_id]})
            if record_id in tally.rows
            else {},
        )
        for record_id in ids
    )
    return CheckResult(**common, n_checked=tally.n_checked, findings=findings)


def _common(rule: Any) -> dict[str, Any]:
    return {
        "rule_id": rule.rule_id,
        "table": rule.table,
        "severity": rule.severity,
        "expectation_type": rule.expectation_type,
        "description": rule.description,
        "kwargs": rule.kwargs,
    }


def _evidence(row: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k): _jsonable(v) for k, v in row.items() if k not in _BULKY and k != _ROW}


def _jsonable(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if hasattr(value, "tolist"):
        return _jsonable(value.tolist())
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)
