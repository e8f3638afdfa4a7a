"""Tamper evidence: one changed byte of a seed, or one changed value in any table, fails the next `validate`.

The run is made once over a text, an HTML and a JSON Lines seed, so every table has rows; each test then edits
a private copy. A finding must name the edited record (by the table's id column) under a provenance rule: one
whose column is seed_ok, span_ok, record_ok or reextracted_ok.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from audit.cli import main
from audit.fsio import sha256_file
from audit.records import PROVENANCE_COLUMNS
from audit.store import DIGEST_COLUMN, SPECS, TABLES, read_table, record_digest
from audit.validate.provenance import provenance_columns
from audit.validate.reextract import SAMPLE_ONE_IN, Reextraction
from audit.validate.seeds import SeedCache
from tests.conftest import SAMPLE, SUITES, run_args

DATA = Path(__file__).parent / "data" / "tamper"
HTML_SEED = "www.sciencealert.com.nasa-finds-water-plumes.html.gz"
JSONL_SEED = "two_articles.jsonl"
TEXT_SEED = SAMPLE.name
# tables that are filled at run time from outside the seeds (live link checks); empty in an offline run
RUN_TIME_TABLES = {"link_checks"}
SEEDED = [spec.name for spec in TABLES if spec.name not in RUN_TIME_TABLES]



def _provenance_rules() -> dict[str, set[str]]:
    """rule_ids per table of the rules that test a provenance column."""
    rules: dict[str, set[str]] = {}
    for path in SUITES.glob("*.json"):
        doc = json.loads(path.read_text())
        for exp in doc.get("expectations", []) if isinstance(doc, dict) else []:
            if exp["kwargs"].get("column") in PROVENANCE_COLUMNS:
                rules.setdefault(path.stem, set()).add(exp["meta"]["rule_id"])
    return rules


PROVENANCE_RULES = _provenance_rules()


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One run over a text, an HTML and a JSON Lines seed: tables/, report/, seeds/ under the returned directory."""
    root = tmp_path_factory.mktemp("audited")
    seeds = root / "seeds"
    seeds.mkdir()
    shutil.copy(SAMPLE, seeds / TEXT_SEED)
    shutil.copy(DATA / HTML_SEED, seeds / HTML_SEED)
    shutil.copy(DATA / JSONL_SEED, seeds / JSONL_SEED)
    assert main(run_args(root, seeds, SUITES)) in (0, 1)
    return root


@pytest.fixture
def copy(audited: Path, tmp_path: Path) -> Path:
    """A private copy of the audited run (tables and seeds) to tamper with; the manifest points at its seeds."""
    shutil.copytree(audited / "tables", tmp_path / "tables")
    shutil.copytree(audited / "seeds", tmp_path / "seeds")
    return tmp_path


def _validate(root: Path, *extra: str) -> tuple[int, set[tuple[str, str]]]:
    code = main(
        [
            "validate",
            "--tables",
            str(root / "tables"),
            "--report",
            str(root / "report"),
            "--suites",
            str(SUITES),
            "--seeds",
            str(root / "seeds"),
            *extra,
        ]
    )
    doc = json.loads((root / "report" / "results.json").read_text())
    return code, {(r["rule_id"], i) for r in doc["rules"] for i in r["failed_ids"]}


def _changed(value: Any) -> Any:
    """A different value of the same type: the smallest edit a forger could make."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value + 1.0
    if isinstance(value, str):
        return value[:-1] + ("X" if value[-1:] != "X" else "Y")
    if isinstance(value, dt.date):
        return value + dt.timedelta(days=1)
    if isinstance(value, dict):
        return {**value, "start": value["start"] + 1}
    if isinstance(value, list):
        return [_changed(value[0]), *value[1:]] if value else ["X"]
    if value is None:
        return "X"
    raise TypeError(type(value))


def _rewrite(path: Path, edit: Callable[[list[dict[str, Any]]], None]) -> None:
    """Rewrite a table with its rows edited, keeping its schema and the manifest in its key-value metadata."""
    table = pq.read_table(path)
    rows = table.to_pylist()
    edit(rows)
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), path, compression="zstd")


def _row_of(rows: list[dict[str, Any]], name: str) -> int:
    """The row to edit: the first one whose edited column has a value (so the edit is not None -> value)."""
    column = EDITED[name]
    return next(i for i, r in enumerate(rows) if r[column] not in (None, "", []))


# the column edited in each table: a value a reader of the dataset relies on
EDITED = {
    "seeds": "size_bytes",
    "articles": "title",
    "blocks": "text",
    "numbers": "value",
    "links": "url",
    "dates": "resolved",
    "texts": "text",
}


def test_every_seeded_table_has_rows_and_an_edited_column(audited: Path) -> None:
    """The fixture run fills every table written from seeds, and each one has a column chosen for the edit."""
    assert sorted(EDITED) == sorted(SEEDED)
    for name in SEEDED:
        rows = pq.read_table(audited / "tables" / f"{name}.parquet").to_pylist()
        assert rows, name
        _row_of(rows, name)


@pytest.mark.parametrize(
    "name",
    list(SEEDED),
)
def test_one_edited_value_fails_validate_naming_the_record(copy: Path, name: str) -> None:
    """Changing one value in one row of a table (manifest metadata kept) makes validate exit 1 with a provenance rule naming that row."""
    path = copy / "tables" / f"{name}.parquet"
    picked: dict[str, Any] = {}

    def edit(rows: list[dict[str, Any]]) -> None:
        i = _row_of(rows, name)
        rows[i][EDITED[name]] = _changed(rows[i][EDITED[name]])
        picked.update(rows[i])

    _rewrite(path, edit)
    code, failed = _validate(copy)
    assert code == 1
    assert ("table-hash-matches-manifest", name) in failed
    record_id = str(picked[SPECS[name].id_column])
    named = {rule for rule, rid in failed if rid == record_id}
    assert named & PROVENANCE_RULES.get(name, set()), (name, record_id, sorted(named))


def _forge(copy: Path, name: str, column: str, seed: Callable[[str], bool] = lambda _: True) -> str:
    """Edit one derived value (no span reproduces it) of a row whose seed sha256 passes ``seed``, recompute
    the row's digest and the manifest's table hash; return the edited row's id."""
    path = copy / "tables" / f"{name}.parquet"
    picked: dict[str, Any] = {}

    def edit(rows: list[dict[str, Any]]) -> None:
        i = next(k for k, r in enumerate(rows) if r[column] not in (None, "") and seed(r["seed_sha256"]))
        rows[i][column] = _changed(rows[i][column])
        rows[i][DIGEST_COLUMN] = record_digest(rows[i])
        picked.update(rows[i])

    _rewrite(path, edit)
    manifest_path = copy / "tables" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["tables"][name]["sha256"] = sha256_file(path)
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return str(picked[SPECS[name].id_column])


@pytest.mark.parametrize(
    ("name", "column"),
    [
        ("articles", "title"),
        ("blocks", "text"),
        ("texts", "text"),
        pytest.param("numbers", "text"),
        pytest.param("links", "text"),
        pytest.param("dates", "text"),
        pytest.param("numbers", "sentence"),
        pytest.param("numbers", "source"),
        pytest.param("numbers", "cue"),
    ],
)
def test_forged_digests_are_still_caught_by_the_span(copy: Path, name: str, column: str) -> None:
    """A forger who edits a text value, recomputes its row digest and the manifest's table hash is still caught: the seed's bytes in its span disagree."""
    record_id = _forge(copy, name, column)
    code, failed = _validate(copy, "--reextract", "none")  # the span alone
    assert code == 1
    named = {rule for rule, rid in failed if rid == record_id}
    assert named & PROVENANCE_RULES.get(name, set()), (name, record_id, sorted(failed))


@pytest.mark.parametrize(
    ("name", "column", "rule"),
    [
        ("links", "url", "link-matches-reextraction"),
        ("numbers", "value", "number-matches-reextraction"),
        ("dates", "resolved", "date-matches-reextraction"),
        ("articles", "published_at", "article-matches-reextraction"),
        ("blocks", "kind", "block-matches-reextraction"),
        ("texts", "extractor_version", "text-matches-reextraction"),
    ],
)
def test_forged_derived_values_are_caught_by_extracting_again(
    copy: Path, name: str, column: str, rule: str
) -> None:
    """A value computed from a span's text (a link's URL, a number's value, a resolved date), edited with its
    digests recomputed, passes every span and digest check; extracting its seed again names the row."""
    record_id = _forge(copy, name, column)
    code, failed = _validate(copy, "--reextract", "none")
    assert not {r for r, rid in failed if rid == record_id} & PROVENANCE_RULES[name]  # the gap
    code, failed = _validate(copy, "--reextract", "all")
    assert code == 1
    assert {r for r, rid in failed if rid == record_id} & PROVENANCE_RULES[name] == {rule}


def test_by_default_every_seed_is_extracted_again(copy: Path) -> None:
    """Regression: the forgery of issue 19 (a number's attribution_kind "none" made "derived", its row digest
    and the manifest's table hash recomputed, in a seed whose sha256 does not start with 0, which the old public
    sample rule skipped) fails a plain `validate`: every seed is extracted again by default."""
    path = copy / "tables" / "numbers.parquet"
    picked: dict[str, Any] = {}

    def edit(rows: list[dict[str, Any]]) -> None:
        row = next(r for r in rows if r["attribution_kind"] == "none" and not r["seed_sha256"].startswith("0"))
        row["attribution_kind"] = "derived"
        row[DIGEST_COLUMN] = record_digest(row)
        picked.update(row)

    _rewrite(path, edit)
    manifest_path = copy / "tables" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["tables"]["numbers"]["sha256"] = sha256_file(path)
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True))
    code, failed = _validate(copy)
    assert code == 1 and ("number-matches-reextraction", picked["number_id"]) in failed
    doc = json.loads((copy / "report" / "results.json").read_text())
    rule = next(r for r in doc["rules"] if r["rule_id"] == "number-matches-reextraction")
    assert rule["n_checked"] == pq.read_metadata(path).num_rows  # every row was compared


def test_the_opt_out_sample_is_keyed_by_a_secret_not_a_public_rule(copy: Path) -> None:
    """`--reextract sample` picks one seed in 16 by an HMAC under a key drawn for each validation: two keys pick
    different seeds, neither is the old "sha256 starts with 0" rule, and validation with it still runs."""
    shas = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(4_000)]
    first, second = (Reextraction(copy / "seeds", {}, None, False) for _ in range(2))  # type: ignore[arg-type]
    picked = [{sha for sha in shas if r.chosen(sha)} for r in (first, second)]
    assert all(abs(len(p) - len(shas) / SAMPLE_ONE_IN) < 80 for p in picked)
    assert picked[0] != picked[1]
    assert picked[0] != {sha for sha in shas if sha.startswith("0")}
    keyed = Reextraction(copy / "seeds", {}, None, False, key=b"k")  # type: ignore[arg-type]
    assert keyed.for_seeds({}).chosen(shas[0]) == keyed.chosen(shas[0])  # a Spark task keeps the key
    code, _ = _validate(copy, "--reextract", "sample")
    assert code in (0, 1)


def test_reextraction_needs_the_policy_the_tables_were_made_with(
    copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another number policy would change every number row: validate stops with exit 2, naming the file
    and the fix, before any check; with --reextract none it validates."""
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(json.loads((SUITES / "number_policy.json").read_text()), indent=4))
    args = ["validate", "--tables", str(copy / "tables"), "--report", str(copy / "report"), "--suites",
            str(SUITES), "--seeds", str(copy / "seeds"), "--policy", str(policy)]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err
    assert str(policy) in err and "--reextract none" in err and "Traceback" not in err
    assert not (copy / "report" / "results.json").exists()
    assert main([*args, "--reextract", "none"]) in (0, 1)
    missing = [*args[:-1], str(tmp_path / "nowhere.json")]
    assert main(missing) == 2
    err = capsys.readouterr().err
    assert "nowhere.json: no such number policy file" in err and "Traceback" not in err


@pytest.mark.parametrize("seed", [TEXT_SEED, HTML_SEED, JSONL_SEED])
def test_one_flipped_seed_byte_fails_validate_naming_the_seed_and_its_records(copy: Path, seed: str) -> None:
    """Flipping one byte of a seed makes validate exit 1 naming the seed, and every record drawn from it under a seed-hash rule."""
    path = copy / "seeds" / seed
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    sha = next(
        r["seed_sha256"] for r in read_table(copy / "tables", "seeds").to_pylist() if r["path"] == seed
    )
    code, failed = _validate(copy)
    assert code == 1
    assert ("seed-hash-matches", seed) in failed
    for name in SEEDED:
        rules = {r for r in PROVENANCE_RULES.get(name, set()) if "seed-hash" in r}
        if name == "seeds" or not rules:
            continue
        table = read_table(copy / "tables", name).to_pylist()
        ids = {str(r[SPECS[name].id_column]) for r in table if r["seed_sha256"] == sha}
        named = {rid for rule, rid in failed if rule in rules}
        assert ids <= named, (name, sorted(ids - named)[:3])


@pytest.mark.parametrize("how", ["deleted", "swapped"])
def test_changed_seed_file_fails_validate(copy: Path, how: str) -> None:
    """A seed that was deleted, or swapped for another seed's bytes, fails validate naming its path."""
    path = copy / "seeds" / TEXT_SEED
    if how == "deleted":
        path.unlink()
    else:
        shutil.copy(copy / "seeds" / JSONL_SEED, path)
    code, failed = _validate(copy)
    assert code == 1 and ("seed-hash-matches", TEXT_SEED) in failed


@pytest.mark.parametrize("how", ["row-deleted", "row-duplicated", "manifest-edited", "seed-list-edited"])
def test_structural_edits_fail_validate(copy: Path, how: str) -> None:
    """Deleting or duplicating a row, or editing manifest.json's recorded hash or seed list, fails validate with a table rule naming the table."""
    manifest_path = copy / "tables" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    if how == "manifest-edited":
        manifest["tables"]["numbers"]["sha256"] = "0" * 64
        manifest_path.write_text(json.dumps(manifest))
        expected = ("table-hash-matches-manifest", "numbers")
    elif how == "seed-list-edited":  # the files embed the list's digest, so an edited list disagrees with them
        manifest["seeds"][0]["size_bytes"] += 1
        manifest_path.write_text(json.dumps(manifest))
        expected = ("table-embedded-manifest-matches", "numbers")
    else:
        _rewrite(
            copy / "tables" / "numbers.parquet",
            lambda rows: rows.pop() if how == "row-deleted" else rows.append(dict(rows[0])),
        )
        expected = ("table-row-count-matches-manifest", "numbers")
    code, failed = _validate(copy)
    assert code == 1 and expected in failed


@pytest.mark.parametrize("spec", [s for s in TABLES if s.name not in RUN_TIME_TABLES], ids=lambda s: s.name)
def test_every_column_is_covered_by_the_row_digest(audited: Path, tmp_path: Path, spec: Any) -> None:
    """For every table and every column, editing that one value in one row flips record_ok for exactly that row."""
    rows = pq.read_table(audited / "tables" / f"{spec.name}.parquet").to_pylist()
    columns = [f.name for f in dataclasses.fields(spec.record)] + [DIGEST_COLUMN]
    schema = pq.read_schema(audited / "tables" / f"{spec.name}.parquet")
    for column in columns:
        edited = [dict(r) for r in rows]
        i = next((k for k, r in enumerate(rows) if r[column] is not None), 0)
        value = edited[i][column]
        edited[i][column] = _changed(value) if value is not None else _typed(schema.field(column).type)
        path = tmp_path / f"{spec.name}.{column}.parquet"
        pq.write_table(pa.Table.from_pylist(edited, schema=schema), path)
        ok = provenance_columns(pq.read_table(path), SeedCache(tmp_path, {}), None, rows_intact=False)["record_ok"].to_pylist()
        assert ok == [k != i for k in range(len(rows))], (spec.name, column)


def _typed(arrow_type: pa.DataType) -> Any:
    """A value of the Arrow type, to put where a row had null."""
    if pa.types.is_list(arrow_type):
        return []
    if pa.types.is_struct(arrow_type):
        return {"start": 0, "end": 0}
    samples = {"string": "X", "int64": 1, "double": 1.5, "bool": True, "date32[day]": dt.date(2000, 1, 1)}
    return samples[str(arrow_type)]


def test_a_source_found_through_a_reference_is_checked_at_its_name(tmp_path: Path) -> None:
    """Regression: a source resolved through a reference ("the council" -> "Council", named in the title)
    failed number-span-matches-seed on clean tables; now the name is checked at source_named_span, so the
    clean run passes that rule and a forged name is still caught there."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(Path(__file__).parent / "data" / "robustness" / "good_en.txt", seeds / "good_en.txt")
    main(run_args(tmp_path, seeds, SUITES, "--jobs", "1"))
    doc = json.loads((tmp_path / "report" / "results.json").read_text())
    assert next(r for r in doc["rules"] if r["rule_id"] == "number-span-matches-seed")["failed_ids"] == []
    path = tmp_path / "tables" / "numbers.parquet"
    forged: dict[str, Any] = {}

    def edit(rows: list[dict[str, Any]]) -> None:
        row = next(r for r in rows if "reference" in (r["carried_by"] or ()))
        assert row["source_span"] != row["source_named_span"]
        row["source"] = "Mayor"
        row[DIGEST_COLUMN] = record_digest(row)
        forged.update(row)

    _rewrite(path, edit)
    manifest_path = tmp_path / "tables" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["tables"]["numbers"]["sha256"] = sha256_file(path)
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True))
    code, failed = _validate(tmp_path, "--reextract", "none")
    assert code == 1 and ("number-span-matches-seed", forged["number_id"]) in failed
