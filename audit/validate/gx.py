"""The only code that touches Great Expectations: its context, suites built from suite files, a suite run on
a pandas or Spark DataFrame, and GX's results turned into plain ``Outcome`` records for the rest to read.

GX is imported inside the functions: its import costs about 2 s, which ``--help`` and a mistyped path do not
pay. Results come back keyed by ``meta.rule_id`` (GX's own order and ids are not stable).
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from audit.errors import SuiteError, pointer
from audit.validate import gx_types

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

# counts only (about half of a COMPLETE result's cost): enough to know which rules fail
COUNTS_ONLY: dict[str, Any] = {"result_format": "BASIC", "partial_unexpected_count": 0}


def naming_rows(index_columns: Sequence[str], *, with_values: bool = False) -> dict[str, Any]:
    """A result format naming each failing row by these columns (and its failing value, ``with_values``)."""
    if with_values:
        return {"result_format": "COMPLETE", "unexpected_index_column_names": list(index_columns)}
    return {
        "result_format": "COMPLETE",
        "unexpected_index_column_names": list(index_columns),
        "exclude_unexpected_values": True,
        "partial_unexpected_count": 0,
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """What GX found for one rule over one frame, as plain data.

    ``failing`` holds the failing rows' index columns (those the result format named), column by column,
    in GX's order; ``element_count`` is None when GX did not count the rows (a table-level rule).
    """

    rule_id: str
    success: bool
    error: str | None = None  # the exception GX raised running the rule
    element_count: int | None = None
    failing: Mapping[str, Sequence[Any]] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """Whether the rule ran and held (no rows to name)."""
        return self.success and self.error is None


def gx_context() -> Any:
    """An ephemeral GX context set up for the audit: no progress bars, no config saves, no batch hashing."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    skip_batch_fingerprints()
    skip_unasked_values()
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


def skip_unasked_values() -> None:
    """Stop GX querying a rule's failing values when the result format asks for none of them.

    A ``BASIC`` result lists up to ``partial_unexpected_count`` failing values, and GX fetches them with a
    query of their own even when that count is 0 (``COUNTS_ONLY``): on Spark a ``limit(0)`` query per rule,
    planned on the driver (about 40 ms each, a fifth of a suite's time at 200 seeds), on pandas a filter of
    the frame. For a result format other than ``COMPLETE`` asking for 0 values, each ``*.unexpected_values``
    metric now answers ``[]``, the list GX would have cut to nothing; every other format runs GX's own.
    """
    from great_expectations.expectations.registry import _registered_metrics

    for name, definition in _registered_metrics.items():
        if not name.endswith(".unexpected_values"):
            continue
        providers = definition.get("providers", {})
        for engine, (metric_class, provider) in list(providers.items()):
            if not getattr(provider, "_audit_skips_unasked", False):
                providers[engine] = metric_class, _unless_none_asked(provider)


def _unless_none_asked(provider: Any) -> Any:
    @functools.wraps(provider)
    def values(**kwargs: Any) -> Any:
        asked = (kwargs.get("metric_value_kwargs") or {}).get("result_format") or {}
        if asked.get("result_format") != "COMPLETE" and asked.get("partial_unexpected_count") == 0:
            return []
        return provider(**kwargs)

    values._audit_skips_unasked = True  # type: ignore[attr-defined]
    values.metric_fn_type = getattr(provider, "metric_fn_type", None)  # type: ignore[attr-defined]
    return values


def expectation_types() -> list[str]:
    """The names of every expectation GX can build: the list pinned for the installed GX (no import of
    GX), or GX's own registry when another version is installed (``gx_types``)."""
    if _installed_gx() == gx_types.GX_VERSION:
        return list(gx_types.EXPECTATION_TYPES)
    return known_expectation_types()


@functools.cache
def _installed_gx() -> str | None:
    try:
        return importlib.metadata.version("great_expectations")
    except importlib.metadata.PackageNotFoundError:
        return None


def known_expectation_types() -> list[str]:
    """The names of every expectation GX can build (its built-in ones), from its registry."""
    import great_expectations  # noqa: F401  (registers the built-in expectations)
    from great_expectations.expectations.registry import list_registered_expectation_implementations

    return list(list_registered_expectation_implementations())


def build_gx_suite(path: Path, raw: Mapping[str, Any]) -> Any:
    """Build the GX suite of a suite file's JSON; every expectation alone first, so GX's error names its index.

    Raises SuiteError when an expectation does not build, or when GX drops one (it logs and drops what it
    cannot build, so a typo would silently remove a check).
    """
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    for i, exp in enumerate(raw["expectations"]):
        try:
            ExpectationConfiguration(**exp).to_domain_obj()
        except Exception as exc:  # GX raises many types here; all mean a bad expectation
            raise SuiteError.at(
                path,
                pointer(("expectations", i)),
                f"{exp['type']}: {' '.join(str(exc).split())}",
                "Fix its kwargs.",
            ) from None
    suite = gx.ExpectationSuite(
        **{k: v for k, v in raw.items() if k in ("name", "expectations", "meta", "notes")}
    )
    if len(suite.expectations) != len(raw["expectations"]):
        raise SuiteError(
            f"{path}: Great Expectations kept {len(suite.expectations)} of {len(raw['expectations'])} expectations. "
            "Check each expectation's type, kwargs and severity."
        )
    return suite


def run_gx_suite(
    context: Any,
    frame: Any,
    gx_suite: Any,
    *,
    name: str,
    result_format: Mapping[str, Any],
    engine: Literal["pandas", "spark"] = "pandas",
) -> dict[str, Outcome]:
    """Validate a pandas or (``engine="spark"``) Spark DataFrame with a GX suite; each rule's Outcome by rule_id.

    The frame gets a data source of its own, deleted after: GX's execution engine keeps every batch it has
    loaded, so a data source kept per batch would hold every batch of a table.
    """
    sources = context.data_sources
    source = sources.add_spark(name=name) if engine == "spark" else sources.add_pandas(name=name)
    try:
        batch = (
            source.add_dataframe_asset(name)
            .add_batch_definition_whole_dataframe("all")
            .get_batch(batch_parameters={"dataframe": frame})
        )
        found = batch.validate(gx_suite, result_format=dict(result_format))
    finally:
        sources.delete(name)
    index = list(result_format.get("unexpected_index_column_names") or ())
    outcomes = (outcome_of(result, index) for result in found.results)
    return {outcome.rule_id: outcome for outcome in outcomes}


def outcome_of(result: Any, index_columns: Sequence[str]) -> Outcome:
    """One GX ExpectationValidationResult as an Outcome (failing rows named by these index columns)."""
    rule_id = str(result.expectation_config.meta["rule_id"])
    error = _raised(result.exception_info or {})
    if error is not None:
        return Outcome(rule_id=rule_id, success=False, error=error)
    payload: Mapping[str, Any] = result.result or {}
    return Outcome(
        rule_id=rule_id,
        success=bool(result.success),
        element_count=int(payload["element_count"] or 0) if "element_count" in payload else None,
        failing=_failing_columns(payload.get("unexpected_index_list") or [], index_columns),
    )


def _raised(info: Mapping[str, Any]) -> str | None:
    """The exception GX caught running a rule, or None. GX 1.24 files an exception raised by one of the
    rule's metrics (a column the frame lacks, say) under that metric's id rather than at the top: read as
    a plain failure, such a rule would show as failed with no rows, a finding on the table, not an error."""
    if info.get("raised_exception"):
        return str(info.get("exception_message"))
    for value in info.values():
        if isinstance(value, Mapping) and value.get("raised_exception"):
            return str(value.get("exception_message"))
    return None


def _failing_columns(found: Sequence[Any], index_columns: Sequence[str]) -> Mapping[str, Sequence[Any]]:
    """GX's ``unexpected_index_list`` column by column.

    GX gives one dict of lists when the failing values are left out (``exclude_unexpected_values``), and a
    dict per row (with the failing value beside the index columns) otherwise.
    """
    if not found or not index_columns:
        return {}
    first = found[0]
    if (
        len(found) == 1
        and isinstance(first, Mapping)
        and all(isinstance(first.get(c), list) for c in index_columns)
    ):
        return {c: first[c] for c in index_columns}
    columns: dict[str, list[Any]] = {c: [] for c in index_columns}
    for item in found:
        for c in index_columns:
            columns[c].append(item[c] if isinstance(item, Mapping) else item)
    return columns
