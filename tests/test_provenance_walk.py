"""Provenance columns at scale: span checks compared for all rows at once, and one walk over the seeds for
every table, giving exactly what checking row by row, table by table, gives."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from audit.cli import main
from audit.config import Reextract
from audit.extract import ExtractOptions
from audit.extract.number_policy import load_policy
from audit.fsio import sha256_bytes
from audit.ingest import DEFAULT_MAX_BYTES
from audit.store import SPECS
from audit.validate import seeds as seed_files
from audit.validate import spans
from audit.validate.provenance import provenance_columns, tables_provenance
from audit.validate.reextract import REEXTRACTED_TABLES, Reextraction, reextraction
from audit.validate.seeds import SeedCache, SeedFile, reread_seed
from audit.validate.spans import SPAN_CHECKS, mention_spans_ok
from benchmarks.generate import variant
from tests.conftest import SAMPLE, SUITES, run_args

UTF8 = "Hello wörld: 200,000 fled — the minister said.\n".encode()
CP1252 = (
    "Le café coûte 3 milliards d'euros, a dit le ministre. Le président a annoncé que la réforme coûterait "
    "près de 3 milliards d'euros à l'État français.\n" * 3
).encode("cp1252")
DERIVED = "A derived text — of a page.".encode()


def _reference(table: pa.Table, seeds: Mapping[str, SeedFile]) -> list[bool]:
    """The span check row by row: the seed's bytes in the span, decoded, equal the text."""
    out = []
    for row in table.to_pylist():
        seed = seeds.get(row["seed_sha256"])
        found = None if seed is None else seed.slice(row["text_sha256"], row["span_start"], row["span_end"])
        out.append(seed is not None and found == row["text"])
    return out


@pytest.fixture
def sources(tmp_path: Path) -> dict[str, SeedFile]:
    """A UTF-8 seed, a cp1252 seed and a seed with one derived text, re-read from files."""
    found = {}
    for name, data in (("u.txt", UTF8), ("w.txt", CP1252), ("d.txt", UTF8 * 2)):
        (tmp_path / name).write_bytes(data)
        found[name] = reread_seed(tmp_path, name, sha256_bytes(data))
    found["d.txt"] = reread_seed(tmp_path, "d.txt", sha256_bytes(UTF8 * 2), {sha256_bytes(DERIVED): DERIVED})
    assert found["w.txt"].seed is not None and found["w.txt"].seed.encoding == "cp1252"
    return {f.sha256_now: f for f in found.values() if f.sha256_now}


def _rows(seeds: dict[str, SeedFile]) -> list[dict[str, Any]]:
    u, w, d = (sha256_bytes(b) for b in (UTF8, CP1252, UTF8 * 2))
    t = sha256_bytes(DERIVED)
    accent = UTF8.index("ö".encode())
    rows = [
        (u, None, 0, 5, "Hello"),  # good
        (u, None, 0, 5, "Hellp"),  # other text
        (u, None, 6, 12, "wörld"),  # good, with a two-byte character
        (u, None, accent, accent + 1, "\ufffd"),  # half a character
        (u, None, 6, 10, "wörl"),  # right text, wrong end
        (u, None, 5, 3, ""),  # start after end
        (u, None, 0, len(UTF8) + 1, UTF8.decode() + " "),  # past the end
        (u, None, -1, 4, "Hell"),  # negative start
        (u, None, None, 4, "Hell"),  # no start
        (u, None, 3, 3, ""),  # empty span, empty text
        (u, None, 3, 3, None),  # no text, valid span
        (u, None, 9, 3, None),  # no text, invalid span
        ("f" * 64, None, 0, 5, "Hello"),  # unknown seed
        (None, None, 0, 5, "Hello"),  # no seed
        (w, None, 3, 7, "café"),  # cp1252: decoded row by row
        (w, None, 3, 7, "cafe"),
        (d, t, 2, 9, "derived"),  # into the derived text
        (d, t, 2, 9, "derivex"),
        (d, "e" * 64, 2, 9, "derived"),  # a derived text the seed does not have
        (d, None, 0, 5, "Hello"),  # the same seed's own bytes
    ]
    names = ("seed_sha256", "text_sha256", "span_start", "span_end", "text")
    return [dict(zip(names, row, strict=True)) for row in rows]


@pytest.mark.parametrize("tiny", [False, True], ids=["default", "tiny-chunks"])
def test_span_checks_match_the_row_by_row_check(
    sources: dict[str, SeedFile], tiny: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every edge (half characters, bounds, nulls, other encodings, derived texts) as decoding says."""
    if tiny:  # batch and comparison boundaries fall inside the rows
        monkeypatch.setattr(spans, "_ROWS_AT_ONCE", 3)
        monkeypatch.setattr(spans, "_COMPARE_BYTES", 4)
    rows = _rows(sources)
    table = pa.Table.from_pylist(rows * 3)
    got = mention_spans_ok(table, sources).tolist()
    assert got == _reference(table, sources)
    expected = [True, False, True, False, False, False, False, False, False, True]
    expected += [False, True, False, False, True, False, True, False, False, True]
    assert got[:20] == expected


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An audit of twelve generated text seeds."""
    tmp = tmp_path_factory.mktemp("walk")
    seeds = tmp / "seeds"
    seeds.mkdir()
    template = SAMPLE.read_text(encoding="utf-8")
    for i in range(12):
        (seeds / f"seed_{i:02d}.txt").write_text(variant(template, i), encoding="utf-8")
    main(run_args(tmp, seeds, SUITES))
    return tmp


def _one_by_one(tables: Path, seeds: SeedCache) -> dict[str, dict[str, list[Any]]]:
    """Each table's provenance columns computed over the whole table on its own."""
    return {
        name: {
            column: values.to_pylist()
            for column, values in provenance_columns(
                pq.read_table(tables / f"{name}.parquet"), seeds, SPAN_CHECKS[name], rows_intact=True
            ).items()
        }
        for name in SPECS
    }


def _paths(tables: Path) -> dict[str, str]:
    rows = pq.read_table(tables / "seeds.parquet").to_pylist()
    return {r["seed_sha256"]: r["path"] for r in rows if r["seed_sha256"]}


def test_one_walk_reads_each_seed_once_for_every_table(generated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a cache of four seeds, twelve seeds and six tables with spans: twelve reads, same columns."""
    tables, root = generated / "tables", generated / "seeds"
    paths = _paths(tables)
    expected = _one_by_one(tables, SeedCache(root, paths))
    reads: list[str] = []

    def counted(root: Path, rel: str, *args: Any) -> SeedFile:
        reads.append(rel)
        return reread_seed(root, rel, *args)

    monkeypatch.setattr(seed_files, "reread_seed", counted)
    order = {sha: i for i, sha in enumerate(paths)}
    found = tables_provenance(tables, list(SPECS), SeedCache(root, paths, size=4), order, dict.fromkeys(SPECS, True))
    assert sorted(reads) == sorted(paths.values())
    assert {n: {c: v.to_pylist() for c, v in cols.items()} for n, cols in found.items()} == expected
    assert all(all(expected["numbers"][c]) for c in ("seed_ok", "span_ok", "record_ok"))


def test_rows_out_of_seed_order_are_checked_all_the_same(generated: Path, tmp_path: Path) -> None:
    """A table whose rows are reversed (and one row's span broken) gets the same per-row answers, reversed."""
    tables, root = generated / "tables", generated / "seeds"
    numbers = pq.read_table(tables / "numbers.parquet")
    starts = numbers.column("span_start").to_pylist()
    starts[5] += 1
    numbers = numbers.set_column(numbers.column_names.index("span_start"), "span_start", pa.array(starts))
    reversed_rows = numbers.take(pa.array(np.arange(numbers.num_rows)[::-1]))
    pq.write_table(reversed_rows, tmp_path / "numbers.parquet")
    paths = _paths(tables)
    expected = provenance_columns(reversed_rows, SeedCache(root, paths), mention_spans_ok, rows_intact=True)
    order = {sha: i for i, sha in enumerate(paths)}
    found = tables_provenance(tmp_path, ["numbers"], SeedCache(root, paths, size=2), order, {"numbers": True})
    assert {c: v.to_pylist() for c, v in found["numbers"].items()} == {
        c: v.to_pylist() for c, v in expected.items()
    }
    assert found["numbers"]["span_ok"].to_pylist().count(False) == 1


def test_reextraction_in_workers_gives_what_one_process_gives(generated: Path) -> None:
    """Prefetching twelve seeds in two worker processes fills the cache with the digests extracting them
    here gives, and every stored row of every table is among them."""
    tables, root = generated / "tables", generated / "seeds"
    paths = _paths(tables)
    options = ExtractOptions(policy=load_policy(SUITES / "number_policy.json"))
    here = Reextraction(root, paths, options, every=True)
    there = Reextraction(root, paths, options, every=True)
    with there.workers(2):
        there.prefetch(list(paths))
        assert sorted(there._done) == sorted(paths)  # extracted by the workers, before any row asked
    for name in REEXTRACTED_TABLES:
        rows = pq.read_table(tables / f"{name}.parquet").select(["seed_sha256", "record_sha256"]).to_pylist()
        for sha in paths:
            assert there.digests(sha, name) == here.digests(sha, name)
        assert all(r["record_sha256"] in (here.digests(r["seed_sha256"], name) or ()) for r in rows)


def test_reextraction_uses_the_size_limit_the_run_recorded(generated: Path) -> None:
    """The manifest records the run's --max-seed-bytes; re-extraction applies it (a seed over it is not
    assessed, rather than failed), and the run recorded the default."""
    tables, root = generated / "tables", generated / "seeds"
    manifest = json.loads((tables / "manifest.json").read_text())
    assert manifest["limits"] == {"max_seed_bytes": DEFAULT_MAX_BYTES}
    paths = _paths(tables)
    sha = next(iter(paths))
    policy = SUITES / "number_policy.json"
    as_run = reextraction(Reextract.ALL, root, paths, policy, manifest)
    tiny = reextraction(Reextract.ALL, root, paths, policy, {**manifest, "limits": {"max_seed_bytes": 100}})
    assert as_run is not None and as_run.digests(sha, "blocks")
    assert tiny is not None and tiny.digests(sha, "blocks") is None
