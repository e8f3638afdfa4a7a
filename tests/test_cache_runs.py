"""Runs with the extraction cache: the same tables byte for byte as without it, whatever changed between runs."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from audit.cache import MAGIC, ExtractionCache, decode_entry, encode_entry
from audit.cli import main
from audit.store import DIGEST_COLUMN, record_digest
from benchmarks.generate import generate
from tests.conftest import SAMPLE, SUITES

ROBUSTNESS = Path(__file__).parent / "data" / "robustness"


def _run(out: Path, seeds: Path, *extra: str, jobs: str = "1") -> int:
    return main(
        ["run", str(seeds), "--tables", str(out / "tables"), "--report", str(out / "report"),
         "--suites", str(SUITES), "--jobs", jobs, "--quiet", *extra]
    )  # fmt: skip


def _tables(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / "tables").glob("*.parquet"))}


def _cache_counts(out: Path) -> dict[str, int] | None:
    run: dict[str, Any] = json.loads((out / "tables" / "manifest.json").read_text())["run"]
    return run.get("cache")


def _results(out: Path) -> list[tuple[Any, ...]]:
    doc = json.loads((out / "report" / "results.json").read_text())
    return [(r["rule_id"], r["passed"], r["n_failed"], r["failed_ids"]) for r in doc["rules"]]


def _same_as_uncached(tmp_path: Path, seeds: Path, name: str, jobs: str = "1") -> dict[str, int] | None:
    """Run with the cache and without it; assert the same tables (bytes) and results; the cache's counts."""
    cached, plain = tmp_path / f"{name}-cached", tmp_path / f"{name}-plain"
    code = _run(cached, seeds, jobs=jobs)
    assert _run(plain, seeds, "--no-cache", jobs=jobs) == code
    assert _tables(cached) == _tables(plain)
    assert _results(cached) == _results(plain)
    assert _cache_counts(plain) is None
    return _cache_counts(cached)


def test_the_bundled_seed_twice(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(SAMPLE, seeds)
    assert _same_as_uncached(tmp_path, seeds, "first") == {"hits": 0, "misses": 1, "ignored": 0, "written": 1}
    assert _same_as_uncached(tmp_path, seeds, "again") == {"hits": 1, "misses": 0, "ignored": 0, "written": 0}
    # the report says where the rows came from
    index = (tmp_path / "again-cached" / "report" / "index.html").read_text(encoding="utf-8")
    assert "1 of 1 seeds read from the cache, 0 extracted" in index
    plain = (tmp_path / "again-plain" / "report" / "index.html").read_text(encoding="utf-8")
    assert "not used: every seed was extracted" in plain


def test_the_robustness_set_twice(tmp_path: Path) -> None:
    """Hostile and broken seeds: rejections by content are cached too; unreadable files never are."""
    seeds = tmp_path / "seeds"
    shutil.copytree(ROBUSTNESS, seeds)
    first = _same_as_uncached(tmp_path, seeds, "first")
    again = _same_as_uncached(tmp_path, seeds, "again")
    assert first is not None and again is not None
    assert first["hits"] == 0 and first["written"] > 0
    # rejected on reading (empty, binary, undecodable, a gzip bomb) costs nothing to redo: never stored
    assert again["hits"] == first["written"] and again["written"] == 0
    assert again["misses"] == first["misses"] - first["written"] > 0


@pytest.mark.slow
def test_seeds_added_removed_edited_and_renamed_between_runs(tmp_path: Path) -> None:
    """2,000 generated seeds in forked workers; then 1% changed: only the new and edited ones extracted."""
    seeds = tmp_path / "seeds"
    paths = generate(seeds, 2_000)
    first = _same_as_uncached(tmp_path, seeds, "first", jobs="2")
    assert first is not None and first["written"] == 2_000
    for path in paths[:5]:  # removed
        path.unlink()
    for path in paths[5:10]:  # edited
        path.write_text(path.read_text(encoding="utf-8").replace("Kazakhstan", "Kazakstan"), encoding="utf-8")
    (seeds / "renamed").mkdir()
    for path in paths[10:15]:  # renamed, and moved to another folder
        path.rename(seeds / "renamed" / f"moved_{path.name}")
    for i in range(5):  # added
        (seeds / "new").mkdir(exist_ok=True)
        (seeds / "new" / f"added_{i}.txt").write_text(SAMPLE.read_text(encoding="utf-8") + f"\nAdded {i}.\n")
    again = _same_as_uncached(tmp_path, seeds, "again", jobs="2")
    assert again == {"hits": 1_990, "misses": 10, "ignored": 0, "written": 10}  # 1,995 left, 5 edited


def test_a_poisoned_entry_is_caught_by_validation(tmp_path: Path) -> None:
    """An entry rewritten with forged rows (digests recomputed, entry digest matching) is served by the
    cache; `validate`, which extracts every seed again, names the forged rows."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(SAMPLE, seeds)
    _run(tmp_path / "honest", seeds)
    (entry,) = _cache_root().rglob("*.entry")
    data, at = entry.read_bytes(), len(MAGIC)
    header = json.loads(data[at + 8 : at + 8 + int.from_bytes(data[at : at + 8], "big")])
    found = decode_entry(data, entry.stem, header["seed_sha256"])
    assert found is not None
    rows = found.batches["numbers"].to_pylist()
    for row in rows:
        row["attribution_kind"] = "explicit"
        row[DIGEST_COLUMN] = record_digest(row)
    forged = pa.RecordBatch.from_pylist(rows, schema=found.batches["numbers"].schema)
    entry.write_bytes(
        encode_entry(entry.stem, header["seed_sha256"], header["row"], {**found.batches, "numbers": forged})
    )
    poisoned = tmp_path / "poisoned"
    _run(poisoned, seeds)
    assert _cache_counts(poisoned) == {"hits": 1, "misses": 0, "ignored": 0, "written": 0}
    report = tmp_path / "validated"
    code = main(
        [
            "validate",
            "--tables",
            str(poisoned / "tables"),
            "--report",
            str(report),
            "--suites",
            str(SUITES),
            "--quiet",
        ]
    )
    assert code == 1
    doc = json.loads((report / "results.json").read_text())
    failing = {r["rule_id"]: r["failed_ids"] for r in doc["rules"] if not r["passed"]}
    assert failing["number-matches-reextraction"]


def _cache_root() -> Path:
    return Path(os.environ["XDG_CACHE_HOME"]) / "news-audit" / "extraction"


def test_no_cache_leaves_the_cache_alone(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(SAMPLE, seeds)
    _run(tmp_path / "out", seeds, "--no-cache")
    assert not _cache_root().exists()
    _run(tmp_path / "out2", seeds, "--cache", str(tmp_path / "mine"))
    assert len(list((tmp_path / "mine").rglob("*.entry"))) == 1 and not _cache_root().exists()


def test_cache_command_size_and_prune(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(SAMPLE, seeds)
    _run(tmp_path / "out", seeds)
    capsys.readouterr()
    assert main(["run", str(seeds), "--tables", str(tmp_path / "t2"), "--report", str(tmp_path / "r2"),
                 "--suites", str(SUITES)]) == 1  # fmt: skip
    assert "extraction cache: 1 of 1 seeds read from it, the rest extracted" in capsys.readouterr().out
    assert main(["cache", "size"]) == 0
    assert "1 entries" in capsys.readouterr().out
    assert main(["cache", "prune", "--older-than", "30d"]) == 0
    assert "removed 0 entries" in capsys.readouterr().out
    assert main(["cache", "prune", "--older-than", "0s"]) == 0
    out = capsys.readouterr().out
    assert "removed 1 entries" in out and "0 entries, 0.0 MB" in out
    assert main(["cache", "prune"]) == 2
    assert "needs --older-than AGE" in capsys.readouterr().err
    assert main(["cache", "prune", "--older-than", "a month"]) == 2
    assert "is not a duration" in capsys.readouterr().err


def test_an_entry_of_another_layout_is_ignored(tmp_path: Path) -> None:
    """An entry whose batches do not have the tables' schemas is ignored and counted, not written out."""
    schema = pa.schema([pa.field("title", pa.string(), nullable=False)])
    cache = ExtractionCache(root=tmp_path, context="c", schemas={"articles": schema})
    cache.put("a" * 64, {}, {"articles": pa.record_batch({"title": pa.array(["x"], pa.large_string())})})
    assert cache.get("a" * 64) is None and cache.stats.ignored == 1
    cache.put("a" * 64, {}, {"articles": pa.record_batch([pa.array(["x"])], schema=schema)})
    assert cache.get("a" * 64) is not None


def test_cache_entries_do_not_depend_on_where_the_seed_was(tmp_path: Path) -> None:
    """The key is the seed's digest and the context: the same bytes under another name hit."""
    cache = ExtractionCache(root=tmp_path, context="c")
    assert cache.key("a" * 64) == ExtractionCache(root=tmp_path / "x", context="c").key("a" * 64)


def test_a_cache_that_cannot_be_written_does_not_stop_the_run(tmp_path: Path) -> None:
    """--cache naming a file (nothing can be stored under it): every seed is extracted, nothing is lost,
    and the tables are those of a run without the cache."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(SAMPLE, seeds)
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache would go")
    assert _run(tmp_path / "blocked", seeds, "--cache", str(blocked)) == 1
    assert _cache_counts(tmp_path / "blocked") == {"hits": 0, "misses": 1, "ignored": 0, "written": 0}
    assert _run(tmp_path / "plain", seeds, "--no-cache") == 1
    assert _tables(tmp_path / "blocked") == _tables(tmp_path / "plain")
    assert blocked.read_text() == "a file where the cache would go"
