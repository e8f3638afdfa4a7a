"""The only module that runs Great Expectations: tables + suites -> CheckResult records."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from audit.fsio import sha256_file
from audit.provenance import (
    TABLE_FACT_COLUMNS,
    SeedCache,
    SpanCheck,
    TableFacts,
    article_spans_ok,
    derived_text_ok,
    mention_spans_ok,
    provenance_columns,
)
from audit.records import CheckResult, Finding
from audit.store import SPECS, read_embedded_manifest, read_manifest, read_table
from audit.suites import Suite, build_gx_suite, rule_columns

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

_SPAN_CHECKS: dict[str, SpanCheck | None] = {
    "seeds": None,
    "articles": article_spans_ok,
    "blocks": mention_spans_ok,
    "numbers": mention_spans_ok,
    "links": mention_spans_ok,
    "dates": mention_spans_ok,
    "texts": derived_text_ok,
    "link_checks": None,
}
# what a live check found replaces the links table's offline placeholders (status "not_checked")
_LIVE_COLUMNS = (
    "status",
    "http_status",
    "final_url",
    "n_redirects",
    "redirect_chain",
    "checked_at",
    "error",
    "soft_404",
)
_EVIDENCE_LIMIT = 2_000  # findings per rule that carry their row; the rest carry ids only
_BULKY = frozenset({"body", "body_spans", "record_sha256"})


class Frames(Mapping[str, pd.DataFrame]):
    """Each table as a pandas frame with its provenance columns, built when asked for and not kept.

    run_suites asks for one table at a time, so only one table's frame is in memory at once.
    """

    # not a dataclass: builds frames lazily from files

    def __init__(self, tables_dir: Path, seeds_root: Path, manifest: dict[str, Any]) -> None:
        self._dir = tables_dir
        seeds = read_table(tables_dir, "seeds").select(["path", "seed_sha256"]).to_pylist()
        paths: dict[str, str] = {}
        for row in seeds:
            if row["seed_sha256"] is not None:
                paths.setdefault(row["seed_sha256"], row["path"])
        self._seeds = SeedCache(seeds_root, paths)
        self._facts = _table_facts(tables_dir, manifest)
        self._intact = dict(zip(self._facts["table"], self._facts["sha256_ok"], strict=True))

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.frame(name, None)

    def frame(self, name: str, columns: Sequence[str] | None) -> pd.DataFrame:
        """The table (only the given columns, if any) with its provenance columns computed."""
        if name == "tables":
            return self._facts
        table = read_table(self._dir, name)
        checks = provenance_columns(
            table, self._seeds, _SPAN_CHECKS[name], rows_intact=bool(self._intact[name])
        )
        if columns is not None:
            wanted = {*columns, "url"} if name == "links" else set(columns)  # live checks join on url
            table = table.select([c for c in table.column_names if c in wanted])
        frame: pd.DataFrame = table.to_pandas()
        for column, values in checks.items():
            frame[column] = pd.array(values, dtype="boolean")
        if name == "links":
            frame = join_live_checks(frame, read_table(self._dir, "link_checks").to_pandas())
        return frame

    def evidence(self, name: str, ids: Sequence[str], frame: pd.DataFrame, id_column: str) -> pd.DataFrame:
        """Whole rows (read again from the table) for the first failing ids; the pruned rows for the rest."""
        if name == "tables" or not ids:
            return frame
        first = list(dict.fromkeys(ids))[:_EVIDENCE_LIMIT]
        table = read_table(self._dir, name)
        rows: pd.DataFrame = table.filter(pc.is_in(table[id_column], value_set=pa.array(first))).to_pandas()
        extra = [c for c in frame.columns if c not in rows.columns]
        rows = rows.merge(frame[[id_column, *extra]].drop_duplicates(id_column), on=id_column, how="left")
        return pd.concat([rows, frame[~frame[id_column].isin(set(first))]], ignore_index=True)

    def __iter__(self) -> Iterator[str]:
        return iter(["tables", *SPECS])

    def __len__(self) -> int:
        return len(SPECS) + 1


def load_frames(tables_dir: Path, seeds_root: Path) -> tuple[Frames, dict[str, Any]]:
    """The tables as lazily built frames with provenance columns (re-reading the seeds), and the manifest."""
    manifest = read_manifest(tables_dir)
    for name in SPECS:
        read_table(tables_dir, name)  # fail early, with the file named, on a missing or corrupt table
    return Frames(tables_dir, seeds_root, manifest), manifest


def join_live_checks(links: pd.DataFrame, checks: pd.DataFrame) -> pd.DataFrame:
    """Links with the live results of their URL joined in (links without a result stay not_checked)."""
    if checks.empty or "url" not in links.columns:
        return links
    by_url = checks.set_index("url")
    hit = links["url"].isin(by_url.index)
    out = links.copy()
    for column in (c for c in _LIVE_COLUMNS if c in links.columns):
        values = links.loc[hit, "url"].map(by_url[column])
        out[column] = out[column].astype(object)
        out.loc[hit, column] = values.astype(object)
    return out


def _table_facts(tables_dir: Path, manifest: dict[str, Any]) -> pd.DataFrame:
    recorded = manifest.get("tables", {})
    core = {k: v for k, v in manifest.items() if k in manifest.get("embedded_keys", ())}
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
                    embedded_manifest_ok=read_embedded_manifest(path) == core,
                )
            )
        )
    return pd.DataFrame(rows, columns=list(TABLE_FACT_COLUMNS))


def run_suites(frames: Mapping[str, pd.DataFrame], suites: Sequence[Suite]) -> tuple[CheckResult, ...]:
    """Validate each table's frame with its suite; one CheckResult per expectation, keyed by rule_id."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    results: list[CheckResult] = []
    for suite in suites:
        id_column = "table" if suite.table == "tables" else SPECS[suite.table].id_column
        # only the columns the suite names (plus ids): a long table's frame stays small
        if isinstance(frames, Frames):
            frame = frames.frame(suite.table, _needed(suite, id_column))
        else:
            frame = frames[suite.table]
        source = context.data_sources.add_pandas(name=f"audit-{suite.table}")
        batch_def = source.add_dataframe_asset(name=suite.table).add_batch_definition_whole_dataframe("all")
        batch = batch_def.get_batch(batch_parameters={"dataframe": frame})
        gx_suite = build_gx_suite(suite.path, suite.raw)
        outcome = batch.validate(
            gx_suite,
            result_format={"result_format": "COMPLETE", "unexpected_index_column_names": [id_column]},
        )
        by_rule = {r.expectation_config.meta["rule_id"]: r for r in outcome.results}
        for rule in suite.rules:
            result = by_rule.get(rule.rule_id)
            evidence = (
                frames.evidence(suite.table, _failing_ids(result, id_column), frame, id_column)
                if isinstance(frames, Frames)
                else frame
            )
            results.append(_check_result(rule, result, evidence, id_column))
        del frame
    return tuple(results)


def _needed(suite: Suite, id_column: str) -> list[str]:
    """Columns a suite's rules name, with the id and seed columns findings are reported by."""
    columns = {id_column, "seed_sha256"}
    for rule in suite.rules:
        columns.update(rule_columns(rule.kwargs))
    return sorted(columns)


def _failing_ids(result: Any, id_column: str) -> list[str]:
    if result is None or result.success or not result.result:
        return []
    return [_row_id(item, id_column) for item in result.result.get("unexpected_index_list") or ()]


def _check_result(rule: Any, result: Any, frame: pd.DataFrame, id_column: str) -> CheckResult:
    common = {
        "rule_id": rule.rule_id,
        "table": rule.table,
        "severity": rule.severity,
        "expectation_type": rule.expectation_type,
        "description": rule.description,
        "kwargs": rule.kwargs,
    }
    if result is None:
        return CheckResult(**common, n_checked=0, findings=(), error="Great Expectations returned no result")
    info = result.exception_info or {}
    if info.get("raised_exception"):
        return CheckResult(**common, n_checked=0, findings=(), error=str(info.get("exception_message")))
    payload = result.result or {}
    n_checked = int(payload.get("element_count", len(frame)) or 0)
    if result.success:
        return CheckResult(**common, n_checked=n_checked, findings=())
    ids = [_row_id(item, id_column) for item in payload.get("unexpected_index_list") or ()]
    if not ids:  # a table-level expectation: the table itself is the failing record
        ids = [f"table:{rule.table}"]
    return CheckResult(**common, n_checked=n_checked, findings=_findings(rule, ids, frame, id_column))


def _row_id(item: Any, id_column: str) -> str:
    return str(item[id_column]) if isinstance(item, Mapping) else str(item)


def _findings(rule: Any, ids: Sequence[str], frame: pd.DataFrame, id_column: str) -> tuple[Finding, ...]:
    unique = list(dict.fromkeys(ids))
    rows = frame.set_index(id_column, drop=False) if id_column in frame else None
    out = []
    for n, record_id in enumerate(unique):
        row = rows.loc[record_id] if rows is not None and record_id in rows.index else None
        if isinstance(row, pd.DataFrame):
            row = row.iloc[0]
        seed = None if row is None or "seed_sha256" not in row else row["seed_sha256"]
        evidence = _evidence(row) if row is not None and n < _EVIDENCE_LIMIT else {}
        out.append(
            Finding(
                rule_id=rule.rule_id,
                table=rule.table,
                record_id=record_id,
                seed_sha256=seed if isinstance(seed, str) else None,
                evidence=evidence,
            )
        )
    return tuple(out)


def _evidence(row: pd.Series) -> dict[str, Any]:
    return {str(k): _jsonable(v) for k, v in row.items() if k not in _BULKY}


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
