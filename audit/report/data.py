"""The report's data files: the seed list and each rule's findings as compact JSON, which the report's own
script renders into the seed-list and findings pages (so a finding costs about twenty bytes, not a table row
of markup).

``data/seeds.js`` holds every seed once, in the run's order, as ``rows``:
``[path, sha256, size_bytes, n_findings, has_page]`` plus ``reason, detail`` for a seed that was not
extracted; ``order`` lists the rows in the seed list's order (most findings first).

``data/findings-<rule>.js`` holds one rule's findings in their order, column by column:

- ``ids``: the record ids, each without ``prefix`` (the start they all share, such as ``n-``);
- ``seeds``: each finding's seed, as the step from the previous finding's seed row to its own (findings
  come mostly seed by seed, so most steps are 0 or 1); a seed with no row is its sha256 and a finding
  without a seed null, neither moving the count;
- ``evidence``: by the finding's place (a string key), for those with evidence or a waiver: ``e``, the
  sentence's index in ``sentences`` and the highlighted text's place and length in it in UTF-16 units, as
  JavaScript counts (``[sentence]`` alone when nothing is highlighted); ``x``, the evidence fields worth
  reading, ``[[name, value], ...]``; ``b``, the byte span ``[start, end]``; ``w``, the waiver
  ``[reason, expires]``; ``p``, the path of a finding without a seed; ``n``: 1 when the finding kept no
  evidence (only the first findings of a rule do).

``finding_rows`` reads the columns back into one row per finding. Each file is a script that sets one value
(``AUDIT.seeds`` or ``AUDIT.findings``), because a page opened from disk may load a script but not read a
file. Its JSON is ASCII, so it reads the same under any charset.
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
    seeds: Sequence[Mapping[str, Any]], counts: Sequence[int], order: Sequence[int], written: set[str]
) -> tuple[dict[str, Any], dict[str, int]]:
    """The seeds as data (``counts``: each one's findings; ``order``: the seed list's), and each sha256's row."""
    rows: list[list[Any]] = []
    index: dict[str, int] = {}
    for i, (s, n) in enumerate(zip(seeds, counts, strict=True)):
        sha = s.get("seed_sha256") or None
        row: list[Any] = [s["path"], sha, s["size_bytes"], n, int(sha in written)]
        if s.get("status") != "extracted":
            row += [s.get("reason") or "", s.get("detail") or ""]
        rows.append(row)
        if sha:
            index.setdefault(sha, i)  # the first row of a sha256, as the report's paths take it
    return {"rows": rows, "order": list(order)}, index


def findings_data(rule: CheckResult, seeds: Mapping[str, int]) -> dict[str, Any]:
    """One rule's findings as data, column by column, each sentence of their evidence stored once."""
    ids = [f.record_id for f in rule.findings]
    prefix = _shared_prefix(ids)
    steps: list[int | str | None] = []
    at = 0
    sentences: dict[str, int] = {}
    evidence: dict[str, dict[str, Any]] = {}
    for i, f in enumerate(rule.findings):
        row = seeds.get(f.seed_sha256) if f.seed_sha256 else None
        if row is None:
            steps.append(f.seed_sha256 or None)
        else:
            steps.append(row - at)
            at = row
        if f.evidence or f.waived_by is not None:
            evidence[str(i)] = _evidence(f, sentences)
    return {
        "rule_id": rule.rule_id,
        "prefix": prefix,
        "ids": [r[len(prefix) :] for r in ids],
        "seeds": steps,
        "evidence": evidence,
        "sentences": list(sentences),
    }


def finding_rows(doc: Mapping[str, Any]) -> list[tuple[str, int | str | None, dict[str, Any] | None]]:
    """A findings data file's findings, one (record_id, seed row or sha256 or None, evidence) each."""
    out: list[tuple[str, int | str | None, dict[str, Any] | None]] = []
    at = 0
    for i, (rid, step) in enumerate(zip(doc["ids"], doc["seeds"], strict=True)):
        seed: int | str | None = step
        if isinstance(step, int):
            at += step
            seed = at
        out.append((doc["prefix"] + rid, seed, doc["evidence"].get(str(i))))
    return out


def _shared_prefix(ids: Sequence[str]) -> str:
    """The kind prefix every id shares (``n-``, ``d-``...), or nothing."""
    head = ids[0].split("-", 1)[0] + "-" if ids and "-" in ids[0] else ""
    return head if head and all(r.startswith(head) for r in ids) else ""


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
