"""The policy in force as the index shows it: results.json's ``suites_origin`` and ``policy`` (severity
overrides and tolerances set in the configuration) turned into label/value pairs and small tables. The report
does not own their shape, so any JSON is shown: nothing here may fail on a field it does not know.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def policy_in_force(document: Mapping[str, Any]) -> dict[str, Any] | None:
    """results.json's ``suites_origin`` and ``policy`` as label/value pairs and tables; None when it has neither.

    Their shape is the configuration's, not the report's: scalars become pairs, a mapping of mappings (rule id ->
    settings) or a list of mappings becomes a table, anything else is shown as compact JSON.
    """
    origin, policy = document.get("suites_origin"), document.get("policy")
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
        table = _table(str(key), value)
        if table:
            tables.append(table)
        else:
            pairs.append((str(key), _shown(value)))
    return {"pairs": pairs, "tables": tables}


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
        return ", ".join(str(v) for v in value)
    return json.dumps(value, sort_keys=True, separators=(", ", ": "))
