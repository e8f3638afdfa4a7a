"""What the Spark engine's tasks do, run here in-process: provenance for every table of a seed at once."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from tests.conftest import SAMPLE, count_calls

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("pyspark") is None, reason="pyspark is not installed"
)


def modules_loaded(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """In a Spark task: whether the extraction module was there before this function's module was loaded
    (this module does not import it, so only the workers' daemon can have)."""
    for _ in batches:
        yield pa.RecordBatch.from_pydict({"loaded": [bool("audit.spark.extract" in sys.modules)]})


def _seed_tables(seeds: Path, rel: str = "sample.txt") -> tuple[str, dict[str, pa.Table]]:
    """A seed extracted, each table's rows with their place in the files, as Spark reads them."""
    from audit.extract import ExtractOptions
    from audit.extract.numbers import load_policy
    from audit.ingest import DEFAULT_LIMITS
    from audit.process import process_seed
    from audit.spark.provenance import FILE_COLUMN, ROW_COLUMN
    from tests.conftest import SUITES

    options = ExtractOptions(policy=load_policy(SUITES / "number_policy.json"))
    item = process_seed(seeds, rel, DEFAULT_LIMITS, options)
    tables = {name: pa.Table.from_batches([b]) for name, b in item.batches.items() if b.num_rows}
    for name, table in tables.items():
        place = pa.array([f"part-{name}-{rel}"] * table.num_rows), pa.array(range(table.num_rows), pa.int64())
        tables[name] = table.append_column(FILE_COLUMN, place[0]).append_column(ROW_COLUMN, place[1])
    return str(item.row.seed_sha256), tables


def test_one_seed_is_read_once_for_all_its_tables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A provenance task gets every table's rows of a seed and re-reads the seed once for all of them;
    each row comes back, by its place in the files, with the pandas engine's provenance columns."""
    from audit.records import PROVENANCE_COLUMNS
    from audit.spark import provenance
    from audit.validate import seeds as seed_files

    shutil.copy(SAMPLE, tmp_path / "sample.txt")
    sha, tables = _seed_tables(tmp_path)
    packed = [b for name, t in tables.items() for b in provenance._pack_rows(name, t.to_batches())]
    path = pa.RecordBatch.from_pydict(
        {"seed_sha256": [sha], "table": [provenance._PATHS], "payload": [b"sample.txt"]},
        schema=provenance._PACKED_ARROW,
    )
    group = pa.Table.from_batches([path, *packed])
    reads = count_calls(monkeypatch, seed_files, "reread_seed")
    found = provenance._provenance_group(tmp_path, dict.fromkeys(tables, True), None, group)
    assert reads == ["sample.txt"]
    assert len(tables) > 3  # articles, blocks, numbers, links, dates, texts: several tables, one read
    for name, table in tables.items():
        mine = _unpacked(found, name)
        assert mine.num_rows == table.num_rows
        assert mine.select(table.schema.names).equals(table)
        assert sorted(mine.column(provenance.ROW_COLUMN).to_pylist()) == list(range(table.num_rows))
        assert set(mine.column("seed_ok").to_pylist()) == {True}
        assert set(mine.column("record_ok").to_pylist()) == {True}
        assert set(mine.schema.names) == {*table.schema.names, *PROVENANCE_COLUMNS}


def _unpacked(found: pa.Table, name: str) -> pa.Table:
    """A table's rows, with their provenance columns, out of a provenance task's payloads."""
    payloads = found.filter(pa.compute.equal(found.column("table"), name)).column("payload").to_pylist()
    return pa.concat_tables(pa.ipc.open_stream(p).read_all() for p in payloads)


def test_rows_of_a_seed_stay_together_and_in_order_when_packed() -> None:
    """Packing a table's batch gives one payload per seed (null seed included), its rows in table order."""
    from audit.spark import provenance

    batch = pa.RecordBatch.from_pydict({"seed_sha256": ["b", "a", None, "b", "a"], "value": [0, 1, 2, 3, 4]})
    (packed,) = list(provenance._pack_rows("numbers", [batch]))
    rows = {
        key: pa.ipc.open_stream(payload).read_all().column("value").to_pylist()
        for key, payload in zip(
            packed.column("seed_sha256").to_pylist(), packed.column("payload").to_pylist(), strict=True
        )
    }
    assert rows == {"b": [0, 3], "a": [1, 4], None: [2]}
    assert set(packed.column("table").to_pylist()) == {"numbers"}


def test_a_window_never_splits_a_seed_across_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Seeds checked a few at a time: a seed whose rows go on into the next batch waits for them, so
    each seed is still read once and every row comes back once."""
    from audit.spark import provenance
    from audit.validate import seeds as seed_files

    shutil.copy(SAMPLE, tmp_path / "sample.txt")
    (tmp_path / "other.txt").write_text(SAMPLE.read_text(encoding="utf-8") + "\nOne more line.\n")
    rows: list[pa.RecordBatch] = []
    n_rows = 0
    for rel in ("other.txt", "sample.txt"):
        sha, tables = _seed_tables(tmp_path, rel)
        path = {"seed_sha256": [sha], "table": [provenance._PATHS], "payload": [rel.encode()]}
        rows.append(pa.RecordBatch.from_pydict(path, schema=provenance._PACKED_ARROW))
        for name, table in tables.items():
            rows.extend(provenance._pack_rows(name, table.to_batches()))
            n_rows += table.num_rows
    one = pa.Table.from_batches(rows).sort_by("seed_sha256")
    batches = [one.slice(i, 3).to_batches()[0] for i in range(0, one.num_rows, 3)]  # seeds cut mid-way
    reads = count_calls(monkeypatch, seed_files, "reread_seed")
    monkeypatch.setattr(provenance, "SEEDS_PER_WINDOW", 1)
    found = pa.Table.from_batches(
        list(provenance._provenance_windows(tmp_path, dict.fromkeys(provenance.SPECS, True), None, batches)),
        schema=provenance._CHECKED,
    )
    assert sorted(reads) == ["other.txt", "sample.txt"]
    checked = [_unpacked(found, name) for name in set(found.column("table").to_pylist())]
    assert sum(t.num_rows for t in checked) == n_rows
    assert all(set(t.column("seed_ok").to_pylist()) == {True} for t in checked)


def test_a_table_brought_to_the_driver_is_the_pandas_engines_frame(tmp_path: Path) -> None:
    """Checked rows in any order come back in table order (part file, then row), with the stored columns
    as read from Parquet and the provenance columns as nullable booleans, as validate.Frames gives them."""
    from audit.records import PROVENANCE_COLUMNS
    from audit.spark.checks import pandas_frame
    from audit.spark.provenance import FILE_COLUMN, ROW_COLUMN
    from audit.store import SPECS, arrow_schema

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(SAMPLE, seeds / "sample.txt")
    _, tables = _seed_tables(seeds)
    numbers = tables["numbers"]
    files = pa.array([f"part-0000{i % 2}" for i in range(numbers.num_rows)])
    rows = pa.array([i // 2 for i in range(numbers.num_rows)], pa.int64())
    numbers = numbers.set_column(numbers.schema.get_field_index(FILE_COLUMN), FILE_COLUMN, files)
    numbers = numbers.set_column(numbers.schema.get_field_index(ROW_COLUMN), ROW_COLUMN, rows)
    checks = {
        c: pa.array([None if i == 0 else i % 3 != 0 for i in range(numbers.num_rows)])
        for c in PROVENANCE_COLUMNS
    }
    for column, values in checks.items():
        numbers = numbers.append_column(column, values)
    shuffled = numbers.take(pa.array(list(reversed(range(numbers.num_rows)))))

    frame = pandas_frame("numbers", shuffled)

    in_order = sorted(range(numbers.num_rows), key=lambda i: (files[i].as_py(), rows[i].as_py()))
    expected = numbers.take(pa.array(in_order))
    assert list(frame.columns) == [*arrow_schema(SPECS["numbers"]).names, *PROVENANCE_COLUMNS]
    assert frame["number_id"].tolist() == expected.column("number_id").to_pylist()
    for column in PROVENANCE_COLUMNS:
        assert str(frame[column].dtype) == "boolean"
        assert [None if v is pd.NA else v for v in frame[column]] == expected.column(column).to_pylist()


def test_the_manifest_is_read_from_either_place_a_part_file_keeps_it(tmp_path: Path) -> None:
    """A part file written by the engine keeps the manifest in its key-value metadata; one written by Spark's
    own Parquet writer (earlier versions) in its first column's metadata, inside Spark's stored schema.
    Both are read back, and a part file with neither counts as carrying none."""
    import json

    import pyarrow.parquet as pq

    from audit.spark.datasets import FIELD_MANIFEST_KEY, SPARK_SCHEMA_KEY, embedded_manifests
    from audit.store import SPECS, TablesWriter, to_batch

    manifest = {"tool": {"name": "news-audit"}, "seeds_sha256": "0" * 64}
    dataset = tmp_path / "seeds.parquet"
    dataset.mkdir()
    writer = TablesWriter(tmp_path, tables=[SPECS["seeds"]], file_name="part-00000.parquet")
    writer.write("seeds", to_batch(SPECS["seeds"], []))
    writer.close(manifest)
    spark_schema = {
        "type": "struct",
        "fields": [{"name": "seed_sha256", "type": "string", "nullable": True,
                    "metadata": {FIELD_MANIFEST_KEY: json.dumps(manifest)}}],
    }  # fmt: skip
    table = pa.table({"seed_sha256": pa.array([], pa.string())})
    pq.write_table(
        table.replace_schema_metadata({SPARK_SCHEMA_KEY: json.dumps(spark_schema)}),
        dataset / "part-00001.parquet",
    )
    pq.write_table(table, dataset / "part-00002.parquet")

    assert embedded_manifests(dataset) == [manifest, manifest, None]


def test_each_part_reads_exactly_its_own_seeds_rows(tmp_path: Path) -> None:
    """The seeds table is one file with a row group per part that has seeds; a writing task reads its
    own seeds' rows from it (none for a part with no seeds), and the whole file reads back in seed order."""
    import pyarrow.parquet as pq

    from audit.records import SeedRow
    from audit.spark.parts import Extracted, _seeds_rows, part_name, write_seeds_table

    rows = [
        SeedRow(seed_sha256=f"{i:064x}", path=f"s{i}.txt", size_bytes=i, format="text", encoding="utf-8",
                status="extracted", reason=None, detail=None, n_articles=1)
        for i in range(6)
    ]  # fmt: skip
    extracted = Extracted(rows=rows, parts=[0, 0, 1, 1, 1, 3], n_parts=4)
    assert extracted.spans() == [(0, 2), (2, 5), (0, 0), (5, 6)]
    write_seeds_table(tmp_path, rows, extracted, {"run": "test"})
    path = tmp_path / "seeds.parquet" / part_name(0)
    assert pq.ParquetFile(path).num_row_groups == 3
    for lo, hi in extracted.spans():
        assert _seeds_rows(path, lo, hi).column("path").to_pylist() == [r.path for r in rows[lo:hi]]
    assert pq.read_table(path).column("path").to_pylist() == [r.path for r in rows]


def _written_and_checked(
    tmp_path: Path, window: int, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[str], dict[str, pa.Table]]:
    """A writing task's code run here on five seeds (one a duplicate) with the given window: the seeds
    it re-read, and each table's checked rows."""
    from audit.extract import ExtractOptions
    from audit.extract.numbers import load_policy
    from audit.ingest import DEFAULT_LIMITS
    from audit.process import process_seed, reject_duplicates
    from audit.spark import parts
    from audit.validate import seeds as seed_files
    from tests.conftest import SUITES

    seeds, staging, work = (tmp_path / d for d in ("seeds", "staging", "work"))
    for d in (seeds, staging, work):
        d.mkdir(parents=True)
    text = SAMPLE.read_text(encoding="utf-8")
    for i in range(4):
        (seeds / f"s{i}.txt").write_text(text + f"\nLine {i}.\n", encoding="utf-8")
    shutil.copy(seeds / "s1.txt", seeds / "s9-copy.txt")
    files = sorted(p.name for p in seeds.iterdir())
    options = ExtractOptions(policy=load_policy(SUITES / "number_policy.json"))
    items = [process_seed(seeds, rel, DEFAULT_LIMITS, options) for rel in files]
    rows, dropped = reject_duplicates([item.row for item in items], {})
    extracted = parts.Extracted(rows=rows, parts=[0] * len(rows), n_parts=1)
    parts.write_seeds_table(staging, rows, extracted, {})
    with parts._ipc_writer(work / parts._extracted_name(0), parts._ENVELOPE) as spill:
        for index, item in enumerate(items):
            if (envelope := parts._envelope(index, item)) is not None:
                spill.write_batch(envelope)
    job = parts.write_and_check_job(work, staging, seeds, extracted, rows, dropped, {}, window=window)
    for name in parts.EXTRACTED_TABLES:
        (staging / f"{name}.parquet").mkdir()
    job._write(0)
    reads = count_calls(monkeypatch, seed_files, "reread_seed")
    job._check(0)
    checked = parts.CheckedParts(work=work, n_parts=1)
    return list(reads), {
        name: pa.concat_tables(checked.read(name)) for name in parts.CHECKED_TABLES if checked.read(name)
    }


def test_a_writing_task_checks_its_seeds_a_window_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writing task's check gives the same rows whether its seeds are taken two at a time or all at
    once; each seed is re-read once a window, the duplicate from its first copy's path."""
    one_reads, whole = _written_and_checked(tmp_path / "one", 512, monkeypatch)
    two_reads, windows = _written_and_checked(tmp_path / "two", 2, monkeypatch)
    assert sorted(one_reads) == ["s0.txt", "s1.txt", "s2.txt", "s3.txt"]  # s9-copy.txt is s1.txt's bytes
    assert sorted(two_reads) == [
        "s0.txt",
        "s1.txt",
        "s1.txt",
        "s2.txt",
        "s3.txt",
    ]  # s1 in its window and the copy's
    assert whole.keys() == windows.keys() and len(whole) > 4
    for name, table in whole.items():
        assert windows[name].equals(table), name
        assert set(table.column("seed_ok").to_pylist()) == {True}
    assert whole["seeds"].num_rows == 5
