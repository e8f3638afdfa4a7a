"""The extraction cache: entries keyed by content and context, ignored when they do not match, pruned by age."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import time
from pathlib import Path

import pyarrow as pa
import pytest

from audit.cache import (
    ExtractionCache,
    context_digest,
    decode_entry,
    encode_entry,
    extraction_context,
    parse_age,
    prune,
    usage,
)

SHA = "a" * 64
ROW = {"seed_sha256": SHA, "size_bytes": 10, "format": "text", "encoding": "utf-8", "status": "extracted",
       "reason": None, "detail": None, "n_articles": 1}  # fmt: skip


def _batches() -> dict[str, pa.RecordBatch]:
    return {
        "articles": pa.record_batch({"title": ["Floods"], "n": pa.array([3], pa.int32())}),
        "numbers": pa.record_batch({"value": pa.array([200000.0, None]), "text": ["200,000", None]}),
    }


def _cache(root: Path, context: str = "ctx") -> ExtractionCache:
    return ExtractionCache(root=root, context=context)


def test_an_entry_comes_back_as_written(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    assert cache.get(SHA) is None
    cache.put(SHA, ROW, _batches())
    found = cache.get(SHA)
    assert found is not None and found.row == ROW
    assert {k: b.to_pylist() for k, b in found.batches.items()} == {
        k: b.to_pylist() for k, b in _batches().items()
    }
    assert all(found.batches[k].schema == b.schema for k, b in _batches().items())
    assert cache.stats.as_dict() == {"hits": 1, "misses": 1, "ignored": 0, "written": 1}


def test_another_context_or_another_seed_does_not_read_the_entry(tmp_path: Path) -> None:
    _cache(tmp_path).put(SHA, ROW, _batches())
    assert _cache(tmp_path, "other policy").get(SHA) is None
    assert _cache(tmp_path).get("b" * 64) is None


def test_the_context_names_what_shapes_extraction() -> None:
    base = extraction_context("p" * 64, 1000)
    assert set(base) >= {"news-audit", "code", "python", "libraries", "policy_sha256", "max_seed_bytes"}
    assert base["libraries"]["trafilatura"] != "absent"
    assert context_digest(base) == context_digest(extraction_context("p" * 64, 1000))
    assert context_digest(base) != context_digest(extraction_context("q" * 64, 1000))
    assert context_digest(base) != context_digest(extraction_context("p" * 64, 2000))


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[:-5],  # truncated payload
        lambda data: data[:30],  # truncated header
        lambda data: data.replace(b"Floods", b"Fl00ds"),  # payload edited
        lambda data: b"not an entry" + data,
        lambda data: b"",
    ],
)
def test_a_damaged_entry_is_ignored_counted_and_replaced(tmp_path: Path, damage: object) -> None:
    cache = _cache(tmp_path)
    cache.put(SHA, ROW, _batches())
    path = cache.path(cache.key(SHA))
    path.write_bytes(damage(path.read_bytes()))  # type: ignore[operator]
    assert cache.get(SHA) is None and cache.stats.ignored == 1
    cache.put(SHA, ROW, _batches())
    assert cache.get(SHA) is not None


def test_an_entry_moved_under_another_key_is_ignored(tmp_path: Path) -> None:
    """An entry copied to another seed's name (a poisoned cache) does not match that key."""
    cache = _cache(tmp_path)
    cache.put(SHA, ROW, _batches())
    other = "b" * 64
    target = cache.path(cache.key(other))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(cache.path(cache.key(SHA)).read_bytes())
    assert cache.get(other) is None and cache.stats.ignored == 1


def test_an_entry_whose_header_names_another_seed_is_rejected() -> None:
    data = encode_entry("k", SHA, ROW, _batches())
    assert decode_entry(data, "k", SHA) is not None
    assert decode_entry(data, "k", "b" * 64) is None
    assert decode_entry(data, "other key", SHA) is None


def _writer(root: str, rounds: int) -> None:
    cache = _cache(Path(root))
    for _ in range(rounds):
        cache.put(SHA, ROW, _batches())


def test_concurrent_writers_never_show_a_reader_half_an_entry(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    writers = [ctx.Process(target=_writer, args=(str(tmp_path), 200)) for _ in range(2)]
    for proc in writers:
        proc.start()
    reader, seen = _cache(tmp_path), 0
    while any(p.is_alive() for p in writers):
        seen += reader.get(SHA) is not None
    for proc in writers:
        proc.join()
        assert proc.exitcode == 0
    assert reader.stats.ignored == 0 and seen == reader.stats.hits
    assert reader.get(SHA) is not None


def test_prune_removes_entries_unused_for_longer_and_leftover_temporary_files(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    for i in range(3):
        cache.put(f"{i}" * 64, ROW, _batches())
    old, used, fresh = (cache.path(cache.key(f"{i}" * 64)) for i in range(3))
    month_ago = time.time() - 31 * 86400
    for path in (old, used):
        os.utime(path, (month_ago, month_ago))
    assert cache.get("1" * 64) is not None  # a hit makes the entry recent again
    leftover = old.parent / f".{old.name}.x.tmp"
    leftover.write_bytes(b"half")
    os.utime(leftover, (month_ago, month_ago))
    before, old_size = usage(tmp_path), old.stat().st_size
    assert (before.entries, before.temporary) == (3, 1)
    removed = prune(tmp_path, parse_age("30d"))
    assert (removed.entries, removed.bytes, removed.temporary) == (1, old_size, 1)
    assert not old.exists() and used.exists() and fresh.exists() and not leftover.exists()
    after = usage(tmp_path)
    assert (after.entries, after.temporary) == (2, 0) and after.bytes == before.bytes - removed.bytes


def test_prune_of_a_missing_cache_removes_nothing(tmp_path: Path) -> None:
    assert prune(tmp_path / "none", dt.timedelta(days=1)).entries == 0
    assert usage(tmp_path / "none").entries == 0


@pytest.mark.parametrize(
    ("text", "seconds"), [("30d", 30 * 86400), ("12h", 43200), ("2w", 1209600), (" 90m ", 5400)]
)
def test_ages(text: str, seconds: int) -> None:
    assert parse_age(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["30", "d30", "1.5d", "-3d", "30 days", ""])
def test_bad_ages_say_what_is_accepted(text: str) -> None:
    with pytest.raises(ValueError, match=r"s, m, h, d or w \(e\.g\. 30d\)"):
        parse_age(text)


def test_a_hit_reads_each_batch_against_the_schema_it_expects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the tables' schemas known, a stream that starts with a schema's own message is read against that
    schema as it is (not parsed again); the rows are those of the plain read, and another schema is not."""
    batches = _batches()
    schemas = {name: b.schema for name, b in batches.items()}
    data = encode_entry("k", SHA, ROW, batches)
    messages = {name: (s.serialize().to_pybytes(), s) for name, s in schemas.items()}
    plain = decode_entry(data, "k", SHA)
    opened: list[object] = []
    real = pa.ipc.open_stream
    monkeypatch.setattr(pa.ipc, "open_stream", lambda source: opened.append(source) or real(source))
    fast = decode_entry(data, "k", SHA, messages)
    assert opened == [] and fast is not None and plain is not None
    assert {k: b.to_pylist() for k, b in fast.batches.items()} == {
        k: b.to_pylist() for k, b in plain.batches.items()
    }
    assert all(fast.batches[k].schema.equals(schemas[k], check_metadata=True) for k in schemas)
    other = pa.schema([pa.field("title", pa.large_string()), pa.field("n", pa.int32())])
    read = decode_entry(data, "k", SHA, {"articles": (other.serialize().to_pybytes(), other)})
    assert read is not None and read.batches["articles"].schema.equals(schemas["articles"])
    cache = ExtractionCache(root=tmp_path, context="ctx", schemas=schemas)
    cache.put(SHA, ROW, batches)
    found = cache.get(SHA)
    assert found is not None and found.batches["numbers"].to_pylist() == batches["numbers"].to_pylist()
