"""The one adapter between rule cases and the package: a case's edits -> tables and seeds -> CheckResults.

A case file (``cases/<rule-id>.json``) names one rule of the suites in ``expectations/`` and lists cases:
edits made to a copy of a real audited dataset (Parquet tables, seeds, manifest), and the ids the rule must
name afterwards (none: the rule passes). The format is in ``cases/README.md``. Every call into ``audit`` that
the rule tests make is in this module, so a change of the package's internals is fixed here only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from audit.cli import main
from audit.config import Reextract
from audit.fsio import sha256_file
from audit.records import CheckResult
from audit.store import DIGEST_COLUMN, MANIFEST_KEY, SPECS, read_table, record_digest
from audit.validate import DerivedTexts, load_frames, run_suites
from audit.validate.reextract import reextraction
from audit.validate.suites import Suite, load_suites
from tests.conftest import SAMPLE, SUITES, run_args

CASES_DIR = Path(__file__).resolve().parent / "cases"
DATA = Path(__file__).resolve().parent.parent / "data"
# a text, an HTML and a JSON Lines seed: every table written from seeds has rows
BASE_SEEDS = (
    SAMPLE,
    DATA / "tamper" / "www.sciencealert.com.nasa-finds-water-plumes.html.gz",
    DATA / "tamper" / "two_articles.jsonl",
)
_CASE_KEYS = {"name", "edits", "failing", "rehash", "reseal", "reextract"}
_EDIT_KINDS = ("table", "seed", "manifest", "embedded")


@dataclass(frozen=True, slots=True)
class Case:
    """One case of a rule: edits to the clean dataset, and the ids the rule names afterwards."""

    rule_id: str
    name: str
    edits: tuple[Mapping[str, Any], ...]
    failing: tuple[Any, ...]  # ids, or {"where": {...}}: every row of the clean table that matches
    rehash: bool = True  # recompute the row digest of edited and added rows, as a careful forger would
    reseal: bool = True  # and record the edited tables' new sha256 and row count in manifest.json
    reextract: bool = False  # extract every seed again (validate's --reextract all)


def suite_rule_ids(suites_dir: Path = SUITES) -> dict[str, str]:
    """Every rule id of the suite files in a directory, with its table (read as plain JSON, no GX)."""
    found: dict[str, str] = {}
    for path in sorted(suites_dir.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        for exp in doc.get("expectations", ()) if isinstance(doc, dict) else ():
            found[exp["meta"]["rule_id"]] = path.stem
    return found


def case_files() -> list[Path]:
    """The case files, one per rule."""
    return sorted(CASES_DIR.glob("*.json"))


def load_case_file(path: Path) -> tuple[str, tuple[Any, ...], tuple[Case, ...]]:
    """A case file's rule id, the ids the rule names on the clean dataset, and its cases."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    rule_id = doc["rule_id"]
    if rule_id != path.stem:
        raise ValueError(f"{path}: rule_id {rule_id!r} is not the file's name")
    if set(doc) - {"rule_id", "about", "clean", "cases"}:
        raise ValueError(f"{path}: unknown keys {sorted(set(doc) - {'rule_id', 'about', 'clean', 'cases'})}")
    cases = []
    for i, raw in enumerate(doc["cases"]):
        if set(raw) - _CASE_KEYS or not {"name", "edits", "failing"} <= set(raw):
            raise ValueError(f"{path}: cases[{i}] must have name, edits and failing, and only {_CASE_KEYS}")
        for edit in raw["edits"]:
            if sum(kind in edit for kind in _EDIT_KINDS) != 1:
                raise ValueError(f"{path}: cases[{i}]: each edit names one of {_EDIT_KINDS}: {edit}")
        cases.append(
            Case(
                rule_id=rule_id,
                name=raw["name"],
                edits=tuple(raw["edits"]),
                failing=tuple(raw["failing"]),
                rehash=raw.get("rehash", True),
                reseal=raw.get("reseal", True),
                reextract=raw.get("reextract", "none") == "all",
            )
        )
    return rule_id, tuple(doc["clean"]), tuple(cases)


@dataclass(frozen=True, slots=True)
class Base:
    """The clean dataset, made once by `audit run`: its tables and seeds (never edited), and its suites."""

    root: Path
    suites: tuple[Suite, ...]
    derived: DerivedTexts  # the texts derived from the seeds, as `audit run` keeps them for its validation

    @property
    def tables(self) -> Path:
        return self.root / "tables"

    @property
    def seeds(self) -> Path:
        return self.root / "seeds"

    def suite_of(self, rule_id: str, alone: bool = True) -> Suite:
        """The real suite holding this rule, narrowed to that rule's expectation (``alone``) or whole.

        Narrowed, GX evaluates one expectation instead of up to 21: about four times faster per case.
        """
        suite = next(s for s in self.suites if any(r.rule_id == rule_id for r in s.rules))
        if not alone:
            return suite
        kept = [e for e in suite.raw["expectations"] if e["meta"]["rule_id"] == rule_id]
        rules = tuple(r for r in suite.rules if r.rule_id == rule_id)
        return dataclasses.replace(suite, rules=rules, raw={**suite.raw, "expectations": kept})


def build_base(root: Path) -> Base:
    """Run the audit on the base seeds into ``root`` (tables/, report/, seeds/)."""
    seeds = root / "seeds"
    seeds.mkdir(parents=True)
    for seed in BASE_SEEDS:
        shutil.copy(seed, seeds / seed.name)
    code = main(run_args(root, seeds, SUITES))
    if code not in (0, 1):
        raise RuntimeError(f"audit run on the base seeds exited {code}")
    derived = DerivedTexts()
    derived.add(read_table(root / "tables", "texts"))
    return Base(root=root, suites=load_suites(SUITES), derived=derived)


def validate(
    tables: Path,
    seeds: Path,
    suites: Sequence[Suite],
    again: bool = False,
    derived: DerivedTexts | None = None,
) -> dict[str, CheckResult]:
    """Validate the tables against the seeds with these suites, as `audit validate` does; results by rule id.

    ``again``: extract every seed again (``--reextract all``); otherwise none is. ``derived``: the texts
    derived from the seeds before, as `audit run` passes them (without: HTML is derived again, ~1 s a seed).
    """
    frames, manifest = load_frames(tables, seeds, derived)
    mode = Reextract.ALL if again else Reextract.NONE
    frames.reextract_with(
        reextraction(mode, seeds, frames.seed_paths, SUITES / "number_policy.json", manifest)
    )
    return {result.rule_id: result for result in run_suites(frames, suites, 1)}


def run_case(base: Base, case: Case, work: Path, alone: bool = True) -> CheckResult:
    """Apply a case's edits to a copy of the base dataset in ``work`` and validate it with the rule's
    expectation (``alone``) or its whole suite."""
    tables = work / "tables"
    shutil.copytree(base.tables, tables)
    seeds = base.seeds
    if any("seed" in edit for edit in case.edits):
        seeds = work / "seeds"
        shutil.copytree(base.seeds, seeds)
    apply_edits(tables, seeds, case)
    suite = base.suite_of(case.rule_id, alone)
    return validate(tables, seeds, [suite], case.reextract, base.derived)[case.rule_id]


def failing_ids(base: Base, table: str, failing: Sequence[Any]) -> list[str]:
    """The ids a case expects, its ``{"where": ...}`` entries resolved against the clean table."""
    ids: list[str] = []
    for entry in failing:
        if isinstance(entry, str):
            ids.append(entry)
            continue
        clean = pq.read_table(base.tables / f"{table}.parquet")
        hits = _matching(clean.to_pylist(), entry["where"], clean.schema)
        found = [str(row[SPECS[table].id_column]) for row in hits]
        if not found:
            raise ValueError(f"failing: {entry} matches no row of the clean {table} table")
        ids.extend(found)
    return sorted(set(ids))


def found_ids(result: CheckResult) -> list[str]:
    """The ids a rule's result names."""
    return sorted({finding.record_id for finding in result.findings})


# --- edits -------------------------------------------------------------------------------------------


def apply_edits(tables: Path, seeds: Path, case: Case) -> None:
    """Make a case's edits: rows first (then their digests and the manifest's record of the files), then
    embedded manifests, then manifest.json, then seed files."""
    by_table: dict[str, list[Mapping[str, Any]]] = {}
    for edit in case.edits:
        if "table" in edit:
            by_table.setdefault(edit["table"], []).append(edit)
    touched = set(by_table)
    for name, edits in by_table.items():
        _edit_rows(tables / f"{name}.parquet", name, edits, case.rehash)
    for edit in (e for e in case.edits if "embedded" in e):
        _edit_embedded(tables / f"{edit['embedded']}.parquet", edit["path"], edit["value"])
        touched.add(edit["embedded"])
    if case.reseal and touched:
        _reseal(tables, touched)
    for edit in (e for e in case.edits if "manifest" in e):
        manifest = json.loads((tables / "manifest.json").read_text(encoding="utf-8"))
        _set_path(manifest, edit["manifest"], edit["value"])
        (tables / "manifest.json").write_text(
            json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8"
        )
    for edit in (e for e in case.edits if "seed" in e):
        _edit_seed(seeds, edit)


def _edit_rows(path: Path, name: str, edits: Sequence[Mapping[str, Any]], rehash: bool) -> None:
    """Rewrite a table with edited, deleted or added rows, keeping its schema and embedded manifest."""
    table = pq.read_table(path)
    rows = table.to_pylist()
    changed: list[dict[str, Any]] = []
    for edit in edits:
        if "add" in edit:
            row = dict.fromkeys(table.schema.names) | _typed(table.schema, edit["add"])
            rows.append(row)
            changed.append(row)
            continue
        hits = _matching(rows, edit["where"], table.schema)
        if not hits:
            raise ValueError(f"{name}: no row matches {edit['where']}")
        if edit.get("delete"):
            rows = [row for row in rows if not any(row is hit for hit in hits)]
            continue
        if edit.get("copy"):
            hits = [dict(hit) for hit in hits]
            rows.extend(hits)
        values = _typed(table.schema, edit.get("set", {}))
        for hit in hits:
            if not edit.get("copy") and all(hit[k] == v for k, v in values.items()):
                raise ValueError(f"{name}: the edit {edit} changes nothing: a case must change the dataset")
            hit.update(values)
            changed.append(hit)
    if rehash:
        for row in changed:
            row[DIGEST_COLUMN] = record_digest(row)
    _write(path, pa.Table.from_pylist(rows, schema=table.schema))


def _write(path: Path, table: pa.Table, metadata: Mapping[bytes, bytes] | None = None) -> None:
    """Write a table file with the key-value metadata of the file it replaces (the embedded manifest),
    or with ``metadata``."""
    if metadata is None:
        metadata = pq.read_metadata(path).metadata or {}
    kept = {k: v for k, v in metadata.items() if k != b"ARROW:schema"}
    pq.write_table(table.replace_schema_metadata(kept), path, compression="zstd")


def _matching(
    rows: list[dict[str, Any]], where: Mapping[str, Any], schema: pa.Schema
) -> list[dict[str, Any]]:
    """The rows whose columns hold the given values (the rows themselves, to edit in place)."""
    wanted = _typed(schema, where)
    return [row for row in rows if all(row.get(k) == v for k, v in wanted.items())]


def _typed(schema: pa.Schema, values: Mapping[str, Any]) -> dict[str, Any]:
    """JSON values as the Python values of the table's columns (dates from ISO text)."""
    out = {}
    for column, value in values.items():
        if column not in schema.names:
            raise ValueError(f"no column {column!r}; the columns are {schema.names}")
        if value is not None and pa.types.is_date32(schema.field(column).type):
            value = dt.date.fromisoformat(value)
        out[column] = value
    return out


def _edit_embedded(path: Path, keys: Sequence[Any], value: Any) -> None:
    """Set one value of the manifest a table file embeds in its key-value metadata."""
    metadata = dict(pq.read_metadata(path).metadata or {})
    embedded = json.loads(metadata[MANIFEST_KEY])
    _set_path(embedded, keys, value)
    metadata[MANIFEST_KEY] = json.dumps(embedded, sort_keys=True, separators=(",", ":")).encode("utf-8")
    _write(path, pq.read_table(path), metadata)


def _reseal(tables: Path, names: set[str]) -> None:
    """Record the edited tables' sha256 and row count in manifest.json, as a forger would."""
    manifest_path = tables / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    for name in names:
        path = tables / f"{name}.parquet"
        manifest["tables"][name] |= {"sha256": sha256_file(path), "n_rows": pq.read_metadata(path).num_rows}
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")


def _set_path(doc: Any, keys: Sequence[Any], value: Any) -> None:
    for key in keys[:-1]:
        doc = doc[key]
    doc[keys[-1]] = value


def _edit_seed(seeds: Path, edit: Mapping[str, Any]) -> None:
    path = seeds / edit["seed"]
    if "flip_byte" in edit:
        data = bytearray(path.read_bytes())
        data[edit["flip_byte"]] ^= 0x01
        path.write_bytes(bytes(data))
    elif edit.get("delete"):
        path.unlink()
    elif "copy_from" in edit:
        shutil.copy(seeds / edit["copy_from"], path)
    else:
        raise ValueError(f"seed edit {edit}: give flip_byte, delete or copy_from")


def all_cases() -> Iterator[tuple[str, Case]]:
    """Every case of every case file, with a test id ``<rule-id>/<case name>``."""
    for path in case_files():
        _, _, cases = load_case_file(path)
        for case in cases:
            yield f"{case.rule_id}/{case.name}", case
