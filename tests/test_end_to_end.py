"""The whole path on real files: seeds -> Parquet -> GX -> report -> exit code, and re-audit with validate."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from junitparser import JUnitXml

from audit.cli import main
from audit.manifest import seeds_digest
from audit.store import read_embedded_manifest
from tests.conftest import SAMPLE_SHA256, run_args

DATA = Path(__file__).parent / "data" / "seeds"


def _results(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "report" / "results.json").read_text())


def _failed(tmp_path: Path) -> set[tuple[str, str]]:
    return {(r["rule_id"], i) for r in _results(tmp_path)["rules"] for i in r["failed_ids"]}


def _validate(tmp_path: Path, suites: Path, *extra: str) -> int:
    return main(["validate", "--tables", str(tmp_path / "tables"), "--report", str(tmp_path / "report"),
                 "--suites", str(suites), *extra])


@pytest.fixture
def mixed_seeds(tmp_path: Path) -> Path:
    """A seeds directory with a good, an empty, a binary and a non-UTF-8 seed, plus the sample and a copy."""
    d = tmp_path / "mixed"
    d.mkdir()
    for name in ["good.txt", "empty.txt", "binary.png", "latin1.txt"]:
        shutil.copy(DATA / name, d / name)
    shutil.copy(Path(__file__).parent.parent / "seeds" / "000_9fc08baae7766353.txt", d / "sample.txt")
    shutil.copy(DATA / "good.txt", d / "zz_copy_of_good.txt")
    return d


def test_bundled_seed_writes_tables_manifest_and_report(tmp_path: Path, seeds_dir: Path, suites_dir: Path) -> None:
    """The bundled seed yields every table, a manifest with its hash, and a report whose verdict matches the exit code."""
    code = main(run_args(tmp_path, seeds_dir, suites_dir))
    tables = tmp_path / "tables"
    manifest = json.loads((tables / "manifest.json").read_text())
    assert manifest["seeds"][0]["seed_sha256"] == SAMPLE_SHA256
    for name in ["seeds", "articles", "numbers", "links", "dates"]:
        path = tables / f"{name}.parquet"
        assert manifest["tables"][name]["n_rows"] == pq.read_metadata(path).num_rows
        embedded = read_embedded_manifest(path)
        assert embedded["seeds_sha256"] == seeds_digest(manifest["seeds"]) and embedded["n_seeds"] == 1
        assert "seeds" not in embedded  # the list is in manifest.json; each footer holds its digest
    article = pq.read_table(tables / "articles.parquet").to_pylist()[0]
    assert article["title"] == "Putin's Mobilization Backfires as 370,000 Flee Russia in Two Weeks"
    assert (article["byline"], article["publisher"], article["section"]) == ("Isabel van Brugen", "Newsweek", "Politics")
    assert "Comments / 19" not in article["body"] and "Turkey has issued" not in article["body"]
    assert code == (0 if _results(tmp_path)["passed"] else 1)
    report = (tmp_path / "report" / "index.html").read_text()
    assert SAMPLE_SHA256 in report and "<script src" not in report and "https://cdn" not in report


def test_every_seed_is_accounted_for(tmp_path: Path, mixed_seeds: Path, suites_dir: Path) -> None:
    """Good, empty, binary, non-UTF-8 and duplicate seeds each get one row with a status and a reason."""
    main(run_args(tmp_path, mixed_seeds, suites_dir))
    rows = {r["path"]: r for r in pq.read_table(tmp_path / "tables" / "seeds.parquet").to_pylist()}
    assert sorted(rows) == sorted(p.name for p in mixed_seeds.iterdir())
    assert rows["good.txt"]["status"] == "extracted"
    assert (rows["empty.txt"]["status"], rows["empty.txt"]["reason"]) == ("rejected", "empty")
    assert rows["binary.png"]["reason"] == "binary"
    assert rows["latin1.txt"]["status"] == "extracted" and rows["latin1.txt"]["encoding"] != "utf-8"
    assert rows["zz_copy_of_good.txt"]["reason"] == "duplicate"
    assert ("seed-extracted", "empty.txt") in _failed(tmp_path)


def test_non_utf8_spans_are_bytes_of_the_file(tmp_path: Path, mixed_seeds: Path, suites_dir: Path) -> None:
    """Spans of a cp1252/latin-1 seed are byte offsets of the file, decoded with the recorded encoding."""
    main(run_args(tmp_path, mixed_seeds, suites_dir))
    data = (mixed_seeds / "latin1.txt").read_bytes()
    blocks = [b for b in pq.read_table(tmp_path / "tables" / "blocks.parquet").to_pylist() if b["text"].startswith("Le pr")]
    assert blocks and all(data[b["span_start"] : b["span_end"]].decode("latin-1") == b["text"] for b in blocks)


def test_tampered_parquet_value_is_caught(tmp_path: Path, seeds_dir: Path, suites_dir: Path) -> None:
    """Editing one value in a Parquet table makes validate fail (exit 1) with provenance rules naming the record."""
    main(run_args(tmp_path, seeds_dir, suites_dir))
    path = tmp_path / "tables" / "articles.parquet"
    table = pq.read_table(path)
    rows = table.to_pylist()
    rows[0]["title"] = "Putin's Mobilization Backfires as 470,000 Flee Russia in Two Weeks"
    pq.write_table(type(table).from_pylist(rows, schema=table.schema), path)
    assert _validate(tmp_path, suites_dir) == 1
    failed = _failed(tmp_path)
    article_id = rows[0]["article_id"]
    assert {("article-record-unchanged", article_id), ("article-span-matches-seed", article_id)} <= failed
    assert ("table-hash-matches-manifest", "articles") in failed


def test_tampered_seed_byte_is_caught(tmp_path: Path, seeds_dir: Path, suites_dir: Path) -> None:
    """Editing one byte of a seed after the run makes validate fail with seed-hash-matches naming it."""
    main(run_args(tmp_path, seeds_dir, suites_dir))
    seed = seeds_dir / "000_9fc08baae7766353.txt"
    data = bytearray(seed.read_bytes())
    data[200] ^= 0x01
    seed.write_bytes(bytes(data))
    assert _validate(tmp_path, suites_dir, "--seeds", str(seeds_dir)) == 1
    assert ("seed-hash-matches", "000_9fc08baae7766353.txt") in _failed(tmp_path)


def _waiver(suites_dir: Path, record_id: str, seed_sha256: str, expires: dt.date) -> None:
    doc = {"waivers": [{"rule_id": "article-has-publisher", "record_id": record_id, "seed_sha256": seed_sha256,
                        "reason": "generic text seed: the publisher is recorded in the dataset card",
                        "expires": expires.isoformat()}]}
    (suites_dir / "waivers.json").write_text(json.dumps(doc))


def _plain_seed(tmp_path: Path) -> tuple[Path, str, str]:
    d = tmp_path / "plain"
    d.mkdir()
    (d / "plain.txt").write_text("A title without a publisher\n\nOne paragraph of text.\n")
    main(run_args(tmp_path, d, tmp_path / "expectations"))
    article = pq.read_table(tmp_path / "tables" / "articles.parquet").to_pylist()[0]
    return d, article["article_id"], article["seed_sha256"]


def test_waiver_applies(tmp_path: Path, suites_dir: Path) -> None:
    """A waiver for a finding, pinned to its seed's hash and not expired, covers it."""
    d, article_id, sha = _plain_seed(tmp_path)
    _waiver(suites_dir, article_id, sha, dt.date.today() + dt.timedelta(days=30))
    main(run_args(tmp_path, d, suites_dir))
    rule = next(r for r in _results(tmp_path)["rules"] if r["rule_id"] == "article-has-publisher")
    assert rule["failed_ids"] == [] and rule["waived"][0]["record_id"] == article_id
    assert "generic text seed" in (tmp_path / "report" / "index.html").read_text()


@pytest.mark.parametrize("case", ["expired", "seed-changed"])
def test_waiver_lapses(tmp_path: Path, suites_dir: Path, case: str) -> None:
    """An expired waiver, or one pinned to another seed hash, does not apply and is reported as lapsed."""
    d, article_id, sha = _plain_seed(tmp_path)
    if case == "expired":
        _waiver(suites_dir, article_id, sha, dt.date.today() - dt.timedelta(days=1))
    else:
        _waiver(suites_dir, article_id, "0" * 64, dt.date.today() + dt.timedelta(days=30))
    main(run_args(tmp_path, d, suites_dir))
    doc = _results(tmp_path)
    assert ("article-has-publisher", article_id) in _failed(tmp_path)
    assert doc["lapsed_waivers"][0]["record_id"] == article_id
    assert ("expired" if case == "expired" else "seed is now") in doc["lapsed_waivers"][0]["why"]


def test_two_runs_give_byte_identical_tables(tmp_path: Path, mixed_seeds: Path, suites_dir: Path) -> None:
    """Same seeds, same suites: byte-identical Parquet tables and the same verdict."""
    digests = []
    for n in range(2):
        out = tmp_path / f"run{n}"
        out.mkdir()
        code = main(run_args(out, mixed_seeds, suites_dir))
        manifest = json.loads((out / "tables" / "manifest.json").read_text())
        digests.append((code, {k: v["sha256"] for k, v in manifest["tables"].items()}))
    assert digests[0] == digests[1]


def test_junit_has_one_case_per_rule(tmp_path: Path, seeds_dir: Path, suites_dir: Path) -> None:
    """junit.xml parses with a JUnit library and holds one test case per expectation."""
    main(run_args(tmp_path, seeds_dir, suites_dir))
    xml = JUnitXml.fromfile(str(tmp_path / "report" / "junit.xml"))
    names = {case.name for suite in xml for case in suite}
    assert names == {r["rule_id"] for r in _results(tmp_path)["rules"]}
