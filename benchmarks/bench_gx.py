"""Great Expectations validation time against the same rules written in plain pandas, at 1M number rows."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from audit.validate import run_suites
from audit.validate.frames import category_columns, prepared
from audit.validate.suites import load_suite, rule_columns

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


_OPS = {
    "==": lambda c, p: c == p,
    "!=": lambda c, p: c != p,
    "<": lambda c, p: c < p,
    "<=": lambda c, p: c <= p,
    ">": lambda c, p: c > p,
    ">=": lambda c, p: c >= p,
    "IN": lambda c, p: c.isin(p),
    "NOT_IN": lambda c, p: ~c.isin(p),
}


def _mask(df: pd.DataFrame, cond: dict[str, Any]) -> pd.Series:
    """The rows a GX Condition object (comparison, nullity, and, or) selects, in plain pandas."""
    if cond["type"] in ("and", "or"):
        masks = [_mask(df, c) for c in cond["conditions"]]
        out = masks[0]
        for m in masks[1:]:
            out = (out & m) if cond["type"] == "and" else (out | m)
        return out
    column = df[cond["column"]["name"]]
    if cond["type"] == "nullity":
        return column.isna() if cond["is_null"] else column.notna()
    return _OPS[cond["operator"]](column, cond["parameter"]).fillna(False).astype(bool)


def _condition(df: pd.DataFrame, kwargs: dict[str, Any]) -> pd.DataFrame:
    cond = kwargs.get("row_condition")
    return df[_mask(df, cond)] if cond else df


def pandas_failures(df: pd.DataFrame, exp_type: str, kwargs: dict[str, Any], id_column: str) -> list[Any]:
    """The ids of rows failing one expectation, computed directly in pandas (the baseline)."""
    sub = _condition(df, kwargs)
    col = sub[kwargs["column"]]
    present = col.notna()
    if exp_type == "expect_column_values_to_not_be_null":
        bad = ~present
    elif exp_type == "expect_column_values_to_be_null":
        bad = present
    elif exp_type == "expect_column_values_to_be_in_set":
        bad = present & ~col.isin(kwargs["value_set"])
    elif exp_type == "expect_column_values_to_not_be_in_set":
        bad = present & col.isin(kwargs["value_set"])
    elif exp_type == "expect_column_values_to_be_unique":
        bad = present & col.duplicated(keep=False)
    elif exp_type == "expect_column_values_to_not_match_regex":
        bad = present & col.astype(str).str.contains(re.compile(kwargs["regex"]))
    else:
        raise NotImplementedError(exp_type)
    return sub.loc[bad, id_column].tolist()


def frame_of(n_rows: int, tables: Path) -> pd.DataFrame:
    """n_rows number rows: the audited numbers table repeated, with unique ids."""
    base = pq.read_table(tables / "numbers.parquet").to_pandas()
    reps = -(-n_rows // len(base))
    df = pd.concat([base] * reps, ignore_index=True).iloc[:n_rows].copy()
    df["number_id"] = [f"n-{i:012x}" for i in range(len(df))]
    for column in ("seed_ok", "span_ok", "record_ok"):
        df[column] = pd.array([True] * len(df), dtype="boolean")
    # as in `audit run`: no seed extracted again
    df["reextracted_ok"] = pd.array([None] * len(df), dtype="boolean")
    return df


def _pandas_s(df: pd.DataFrame, suite: Any) -> tuple[float, dict[str, list[Any]]]:
    start = time.perf_counter()
    found = {r.rule_id: pandas_failures(df, r.expectation_type, r.kwargs, "number_id") for r in suite.rules}
    return time.perf_counter() - start, found


def main(n_rows: int, tables: Path) -> dict[str, float]:
    """Validate n_rows numbers with the numbers suite in GX and in pandas; print the ratio.

    GX runs on the frame the audit validates (the suite's columns, text as categories); the pandas rules
    run on that same frame (the ratio) and, for context, on the columns as read from Parquet (text).
    """
    suite = load_suite(ROOT / "expectations" / "numbers.json", "numbers")
    needed = sorted({"number_id", "seed_sha256", *(c for r in suite.rules for c in rule_columns(r.kwargs))})
    as_read = frame_of(n_rows, tables)[needed]
    df = prepared(as_read, category_columns(suite.rules))
    start = time.perf_counter()
    gx_results = run_suites({"numbers": df}, [suite])
    gx_s = time.perf_counter() - start
    pd_s, pd_results = _pandas_s(df, suite)
    text_s, _ = _pandas_s(as_read, suite)
    agree = all(len(pd_results[r.rule_id]) == r.n_failed for r in gx_results)
    print(
        f"{n_rows:,} number rows, {len(suite.rules)} rules: GX {gx_s:.1f} s, pandas on the same frame "
        f"{pd_s:.2f} s, ratio x{gx_s / pd_s:.2f} (pandas on text columns as read: {text_s:.2f} s, "
        f"x{gx_s / text_s:.2f}); same failing counts: {agree}",
        flush=True,
    )
    return {
        "rows": n_rows,
        "gx_s": gx_s,
        "pandas_s": pd_s,
        "ratio": gx_s / pd_s,
        "pandas_text_s": text_s,
        "agree": float(agree),
    }
