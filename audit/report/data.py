"""The report's data files: the seed list and each rule's findings as compact JSON, which the report's own
script renders into the seed-list and findings pages (so a finding costs a few dozen bytes, not a table row
of markup).

``data/seeds.js`` holds every seed once, in the seed list's order (most findings first), as
``[path, sha256, size_bytes, n_findings, has_page]`` plus ``reason, detail`` for a seed that was not
extracted. ``data/findings-<rule>.js`` holds one rule's findings in their order, each as
``[record_id, seed]`` where seed is the seed's row in ``seeds.js`` (its sha256 when it has no row, null
when the finding has no seed), plus an object when it has evidence or a waiver:

- ``e``: ``[sentence, at, length]``, the sentence's index in ``sentences`` and the highlighted text's
  place in it (UTF-16 units, as JavaScript counts); ``[sentence]`` when nothing is highlighted;
- ``x``: the evidence fields worth reading, ``[[name, value], ...]``; ``b``: the byte span ``[start, end]``;
- ``w``: the waiver, ``[reason, expires]``; ``p``: the path, for a finding without a seed;
- ``n``: 1 when the finding kept no evidence (only the first findings of a rule do).

Each file is a script that sets one value (``AUDIT.seeds`` or ``AUDIT.findings``), because a page opened
from disk may load a script but not read a file. Its JSON is ASCII, so it reads the same under any charset.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from audit.records import CheckResult, Finding
from audit.report.evidence import evidence_extras, evidence_parts

# every data file starts with this and the name of the value it sets, then " = " and the JSON
_PREFIX = "(window.AUDIT = window.AUDIT || {})."


def data_script(name: str, value: Any) -> str:
    """A data file: a script that sets AUDIT.<name> to value, as compact ASCII JSON."""
    body = json.dumps(value, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return f"{_PREFIX}{name} = {body};\n"


def read_data_script(text: str) -> tuple[str, Any]:
    """The name and value a data file sets (the inverse of ``data_script``)."""
    if not text.startswith(_PREFIX) or not text.endswith(";\n"):
        raise ValueError("not a report data file")
    name, sep, body = text[len(_PREFIX) : -len(";\n")].partition(" = ")
    if not sep or not name.isidentifier():
        raise ValueError("not a report data file")
    return name, json.loads(body)


def seed_table(
    rows: Sequence[tuple[Mapping[str, Any], int]], written: set[str], paths: Mapping[str, str]
) -> tuple[list[list[Any]], dict[str, int]]:
    """The seed list's rows as data, and each seed's row number (the row of the path its findings show)."""
    table: list[list[Any]] = []
    index: dict[str, int] = {}
    for i, (s, n) in enumerate(rows):
        sha = s.get("seed_sha256") or None
        row: list[Any] = [s["path"], sha, s["size_bytes"], n, int(sha in written)]
        if s.get("status") != "extracted":
            row += [s.get("reason") or "", s.get("detail") or ""]
        table.append(row)
        if sha and paths.get(sha) == s["path"]:
            index.setdefault(sha, i)
    return table, index


def findings_data(rule: CheckResult, seeds: Mapping[str, int]) -> dict[str, Any]:
    """One rule's findings as data, each sentence of their evidence stored once."""
    sentences: dict[str, int] = {}
    rows = [_finding_row(f, seeds, sentences) for f in rule.findings]
    return {"rule_id": rule.rule_id, "sentences": list(sentences), "rows": rows}


def _finding_row(f: Finding, seeds: Mapping[str, int], sentences: dict[str, int]) -> list[Any]:
    seed: int | str | None = seeds.get(f.seed_sha256, f.seed_sha256) if f.seed_sha256 else None
    row: list[Any] = [f.record_id, seed]
    if f.evidence or f.waived_by is not None:
        row.append(_evidence(f, sentences))
    return row


def _evidence(f: Finding, sentences: dict[str, int]) -> dict[str, Any]:
    """A finding's evidence and waiver as its row keeps them (see the module's docstring)."""
    out: dict[str, Any] = {}
    if f.evidence:
        before, text, after = evidence_parts(f)
        whole = before + (text or "") + after
        if whole:
            k = sentences.setdefault(whole, len(sentences))
            out["e"] = [k] if text is None else [k, _utf16_len(before), _utf16_len(text)]
        if extras := evidence_extras(f):
            out["x"] = [list(e) for e in extras]
        start, end = f.evidence.get("span_start"), f.evidence.get("span_end")
        if start is not None and end is not None:
            out["b"] = [start, end]
        if not f.seed_sha256 and f.evidence.get("path"):
            out["p"] = str(f.evidence["path"])
    if f.waived_by is not None:
        out["w"] = [f.waived_by.reason, f.waived_by.expires.isoformat()]
        if not f.evidence:
            out["n"] = 1
    return out


def _utf16_len(text: str) -> int:
    """The length JavaScript gives a string: UTF-16 code units (a character past U+FFFF counts two)."""
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)
