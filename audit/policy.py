"""The gate policy applied to a run: tolerances into the suites as GX's ``mostly``, per-article counts read
from the tables, ``gate.apply_gate`` on the results, and the record of it all that results.json keeps.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from audit.errors import ConfigError
from audit.gate import ArticleCounts, GatePolicy, apply_gate
from audit.records import CheckResult
from audit.store import SPECS, read_table
from audit.validate.suites import Suite


def with_tolerances(suites: Sequence[Suite], policy: GatePolicy) -> tuple[Suite, ...]:
    """The suites with each dataset-wide ``max-rate`` written as ``mostly``; ConfigError for a rule the
    suites do not have, or a per-article tolerance on a table without articles."""
    rules = {rule.rule_id: (suite, rule) for suite in suites for rule in suite.rules}
    for rule_id, rule_policy in policy.rules.items():
        if rule_id not in rules:
            close = difflib.get_close_matches(rule_id, sorted(rules), n=1)
            hint = (
                f' Did you mean "{close[0]}"?' if close else " The rule ids are in the suites' meta.rule_id."
            )
            raise ConfigError(f"{policy.source}: rules.{rule_id}: no rule has this id.{hint}")
        table = rules[rule_id][0].table
        tolerance = rule_policy.tolerance
        if tolerance and tolerance.per == "article" and not _has_articles(table):
            raise ConfigError(
                f'{policy.source}: rules.{rule_id}: per = "article", but its table ({table}) has no '
                'article_id column. Use per = "dataset".'
            )
    return tuple(_with_mostly(suite, policy) for suite in suites)


def _has_articles(table: str) -> bool:
    return table in SPECS and table != "articles" and any(f.name == "article_id" for f in _fields(table))


def _fields(table: str) -> tuple[dataclasses.Field[Any], ...]:
    return dataclasses.fields(SPECS[table].record)


def _with_mostly(suite: Suite, policy: GatePolicy) -> Suite:
    mostly = {
        rule.rule_id: round(1 - (policy.rules[rule.rule_id].tolerance.max_rate or 0), 6)  # type: ignore[union-attr]
        for rule in suite.rules
        if policy.uses_mostly(rule.rule_id, rule.expectation_type)
    }
    if not mostly:
        return suite
    expectations = [
        {**e, "kwargs": {**e["kwargs"], "mostly": mostly[e["meta"]["rule_id"]]}}
        if e["meta"]["rule_id"] in mostly
        else e
        for e in suite.raw["expectations"]
    ]
    rules = tuple(
        dataclasses.replace(r, kwargs={**r.kwargs, "mostly": mostly[r.rule_id]}) if r.rule_id in mostly else r
        for r in suite.rules
    )
    return dataclasses.replace(suite, raw={**suite.raw, "expectations": expectations}, rules=rules)


def gate_results(
    results: Sequence[CheckResult], policy: GatePolicy, tables_dir: Path
) -> tuple[tuple[CheckResult, ...], dict[str, Any]]:
    """The results at their effective severities, and the policy record for results.json's manifest."""
    per_article = {
        r.rule_id: article_counts(tables_dir, r.table)
        for r in results
        if (t := policy.rules.get(r.rule_id))
        and t.tolerance
        and t.tolerance.per == "article"
        and not r.passed
    }
    gated, applied = apply_gate(results, policy, per_article)
    return gated, policy_record(policy, applied)


def article_counts(tables_dir: Path, table: str) -> ArticleCounts:
    """Each record's article, and how many records each article has, in one read of two columns."""
    rows = read_table(tables_dir, table).select([SPECS[table].id_column, "article_id"]).to_pydict()
    ids, articles = rows[SPECS[table].id_column], rows["article_id"]
    n_records: dict[str, int] = {}
    for article in articles:
        n_records[article] = n_records.get(article, 0) + 1
    return ArticleCounts(article_of=dict(zip(ids, articles, strict=True)), n_records=n_records)


def policy_record(policy: GatePolicy, applied: Mapping[str, Any]) -> dict[str, Any]:
    """The policy in force, as results.json's ``manifest.gate`` keeps it (schemas/results.schema.json)."""
    return {
        "source": policy.source,
        "fail_on": policy.fail_on.value,
        "rules": {
            rule_id: {
                k: v
                for k, v in {
                    "severity": p.severity.value if p.severity else None,
                    **(
                        {
                            "max_rate": p.tolerance.max_rate,
                            "max_count": p.tolerance.max_count,
                            "per": p.tolerance.per,
                            "within": p.tolerance.within.value,
                        }
                        if p.tolerance
                        else {}
                    ),
                }.items()
                if v is not None
            }
            for rule_id, p in sorted(policy.rules.items())
        },
        "applied": dict(sorted(applied.items())),
    }
