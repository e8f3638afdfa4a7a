"""Each table's suite run over its frames: the rules judged row by row on every batch, the rules that look
across rows (uniqueness, ``mostly``) once over the whole table's frame of their columns; in worker processes
when asked. The suites' tables with such rules (seeds, articles, links) are the short ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from audit.forking import forked_pool, release_memory
from audit.records import PROVENANCE_COLUMNS, CheckResult
from audit.store import SPECS, arrow_schema
from audit.validate.frames import LIVE_COLUMNS, ROW_INDEX, Frames, category_columns, prepared
from audit.validate.gx import COUNTS_ONLY, Outcome, build_gx_suite, gx_context, naming_rows, run_gx_suite
from audit.validate.results import Tally, add_outcome, result_of
from audit.validate.suites import Rule, Suite, rule_columns

# the second pass over a batch, for the rules that failed the first (COUNTS_ONLY): their rows by position
NAMING_ROWS = naming_rows([ROW_INDEX])
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
    context = gx_context()
    return tuple(result for suite in suites for result in run_suite(context, frames, suite))


def run_suite(context: Any, frames: Mapping[str, pd.DataFrame], suite: Suite) -> list[CheckResult]:
    """One suite's CheckResults, in rule order, over its table's frame(s) in ``frames``."""
    validator = _Validator(context, suite)
    tallies = validator.run(frames)
    stored = _stored_rows(frames, suite, validator.id_column, tallies)
    results = [result_of(rule, tallies[rule.rule_id], stored) for rule in suite.rules]
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
        _SHARED["context"] = gx_context()
    return run_suite(_SHARED["context"], _SHARED["frames"], _SHARED["suites"][index])


class _Validator:
    """Runs one suite over a table's frames: all rules per batch, or cross-row rules once over all rows."""

    # not a dataclass: holds the GX context

    def __init__(self, context: Any, suite: Suite) -> None:
        self.suite, self._context, self._n = suite, context, 0
        self.id_column = "table" if suite.table == "tables" else SPECS[suite.table].id_column
        self._categories = category_columns(suite.rules) - {self.id_column}
        self._built: dict[frozenset[str], Any] = {}  # GX suites of a subset of the rules, built once

    def run(self, frames: Mapping[str, pd.DataFrame]) -> dict[str, Tally]:
        """Every rule's tally over the whole table."""
        tallies = {rule.rule_id: Tally() for rule in self.suite.rules}
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

    def _validate(self, frame: pd.DataFrame, rules: Sequence[Rule], tallies: dict[str, Tally]) -> None:
        """Validate one batch: every rule with counts only, then the failing ones again naming their rows.

        GX sees only the columns the rules name (it filters and fingerprints all it is given); findings
        take their ids, seeds and evidence from the whole batch by position.
        """
        if not rules:
            return
        frame = frame.reset_index(drop=True)
        view = prepared(frame[gx_columns(frame, rules)], self._categories)
        first = self._outcomes(view, rules, COUNTS_ONLY)
        failing = [rule for rule in rules if not _passed(first.get(rule.rule_id))]
        named = self._outcomes(view, failing, NAMING_ROWS) if failing else {}
        for rule in rules:
            outcome = named.get(rule.rule_id, first.get(rule.rule_id))
            add_outcome(tallies[rule.rule_id], outcome, frame, self.id_column)

    def _outcomes(
        self, frame: pd.DataFrame, rules: Sequence[Rule], result_format: Mapping[str, Any]
    ) -> dict[str, Outcome]:
        """GX's outcome for each rule over the frame, keyed by rule_id."""
        self._n += 1
        name = f"audit-{self.suite.table}-{self._n}"
        return run_gx_suite(
            self._context, frame, self._gx_suite(rules), name=name, result_format=result_format
        )

    def _gx_suite(self, rules: Sequence[Rule]) -> Any:
        """The GX suite of these rules of the suite file (built once for every batch)."""
        wanted = frozenset(r.rule_id for r in rules)
        if wanted not in self._built:
            self._built[wanted] = build_gx_suite(self.suite.path, self.suite.raw_of(wanted))
        return self._built[wanted]


def gx_columns(frame: pd.DataFrame, rules: Sequence[Rule]) -> list[str]:
    """The frame's columns GX needs for these rules: those they name, or all of them for a table-level rule."""
    if any(rule.expectation_type.startswith("expect_table_") for rule in rules):
        return list(frame.columns)
    named = {column for rule in rules for column in rule_columns(rule.kwargs)}
    return [column for column in frame.columns if column in named]


def _passed(outcome: Outcome | None) -> bool:
    """Whether a rule ran and held on a batch (no rows to name)."""
    return outcome is not None and outcome.passed


def _stored_rows(
    frames: Mapping[str, pd.DataFrame], suite: Suite, id_column: str, tallies: Mapping[str, Tally]
) -> dict[str, dict[str, Any]]:
    """The whole stored rows of every record that gets evidence (read once for the suite)."""
    if not isinstance(frames, Frames):
        return {}
    wanted = list(dict.fromkeys(i for t in tallies.values() for i in t.rows))
    return frames.stored_rows(suite.table, id_column, wanted)
