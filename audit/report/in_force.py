"""The policy in force as the index shows it: where the suites came from (``suites_origin``) and the gate
policy (severity overrides, tolerances, the severity that blocks: ``gate``, or ``policy``), read from
results.json's manifest or its top level, turned into label/value pairs and small tables. The report does not
own their shape, so any JSON is shown: nothing here may fail on a field it does not know.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

# words for the keys the configuration is known to write; any other key is shown as it is
_LABELS = {
    "source": "settings file",
    "fail_on": "blocks publishing from",
    "rules": "Per-rule policy",
    "applied": "Applied to this run's results",
}


def policy_in_force(document: Mapping[str, Any]) -> dict[str, Any] | None:
    """results.json's suites origin and gate policy as label/value pairs and tables; None when it has neither.

    Their shape is the configuration's, not the report's: scalars become pairs, a mapping of mappings (rule id ->
    settings) or a list of mappings becomes a table, anything else is shown as compact JSON.
    """
    manifest = document.get("manifest")
    manifest = manifest if isinstance(manifest, Mapping) else {}
    origin = document.get("suites_origin") or manifest.get("suites_origin")
    policy = document.get("policy") or manifest.get("gate")
    if not origin and not policy:
        return None
    pairs: list[tuple[str, str]] = []
    tables: list[tuple[str, list[str], list[list[str]]]] = []
    if isinstance(origin, Mapping):
        pairs += [(f"suites {k}", _shown(v)) for k, v in origin.items()]
    elif origin:
        pairs.append(("suites", _shown(origin)))
    items = policy.items() if isinstance(policy, Mapping) else [("rules", policy)] if policy else []
    for key, value in items:
        label = _LABELS.get(str(key), str(key))
        if not isinstance(value, Mapping | list) or value:  # an empty table says nothing
            table = _table(label, value)
            if table:
                tables.append(table)
            else:
                pairs.append(
                    (
                        label,
                        "none: the built-in defaults" if key == "source" and value is None else _shown(value),
                    )
                )
    return {"pairs": pairs, "tables": tables}


def severity_changes(document: Mapping[str, Any]) -> dict[str, str]:
    """rule_id -> the severity its suite gives it, for each rule the gate policy moved to another severity."""
    manifest = document.get("manifest")
    gate = manifest.get("gate") if isinstance(manifest, Mapping) else None
    applied = gate.get("applied") if isinstance(gate, Mapping) else None
    if not isinstance(applied, Mapping):
        return {}
    return {
        str(rule): str(a["suite_severity"])
        for rule, a in applied.items()
        if isinstance(a, Mapping) and a.get("suite_severity") and a.get("suite_severity") != a.get("severity")
    }


def _table(title: str, value: Any) -> tuple[str, list[str], list[list[str]]] | None:
    """A mapping of mappings, or a list of mappings, as (title, columns, rows); None for anything else."""
    if isinstance(value, Mapping) and value and all(isinstance(v, Mapping) for v in value.values()):
        rows = [{"rule": k, **v} for k, v in value.items()]
    elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        rows = list(value)
    else:
        return None
    columns = list(dict.fromkeys(k for row in rows for k in row))
    return title, columns, [[_shown(row.get(c)) for c in columns] for row in rows]


def _shown(value: Any) -> str:
    """A configuration value in words: yes/no, a dash for none, lists joined, structures as compact JSON."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "—"
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return "; ".join(str(v) for v in value)
    return json.dumps(value, sort_keys=True, separators=(", ", ": "))
