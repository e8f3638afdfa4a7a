"""The write stage: processed chunks -> tables, a later copy of a seed rejected whichever chunk it is in."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from audit.extract import ExtractOptions
from audit.extract.numbers import load_policy
from audit.ingest import IngestLimits
from audit.manifest import manifest_core
from audit.process import process_chunk, reject_duplicates
from audit.records import SeedRow
from audit.store import read_table
from audit.write import write_tables
from tests.conftest import SAMPLE, SUITES

POLICY = SUITES / "number_policy.json"


def _row(path: str, sha: str | None, status: str = "extracted") -> SeedRow:
    return SeedRow(
        seed_sha256=sha,
        path=path,
        size_bytes=1,
        format="text",
        encoding="utf-8",
        status=status,
        reason=None if status == "extracted" else "empty",
        detail=None,
        n_articles=1 if status == "extracted" else 0,
    )


def test_reject_duplicates_carries_the_first_copies_across_calls() -> None:
    """A copy is rejected against the first extracted copy, also one seen in an earlier call; rejected rows
    are never a first copy."""
    seen: dict[str, str] = {}
    rows, dropped = reject_duplicates([_row("a.txt", "s1"), _row("e.txt", "s2", "rejected")], seen)
    assert dropped == [] and seen == {"s1": "a.txt"}
    rows, dropped = reject_duplicates([_row("b.txt", "s2"), _row("c.txt", "s1"), _row("d.txt", "s2")], seen)
    assert dropped == [1, 2]
    assert [(r.path, r.status, r.reason) for r in rows] == [
        ("b.txt", "extracted", None),
        ("c.txt", "rejected", "duplicate"),
        ("d.txt", "rejected", "duplicate"),
    ]
    assert rows[1].detail == "the same bytes as a.txt, which is audited instead"


def test_a_copy_in_a_later_chunk_is_rejected_and_its_records_dropped(tmp_path: Path) -> None:
    """A copy of a seed written in an earlier chunk: its seeds row says duplicate, and the other tables hold
    the first copy's rows only, once."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(SAMPLE, seeds / "a.txt")
    shutil.copy(SAMPLE, seeds / "b.txt")
    limits, options = IngestLimits(), ExtractOptions(policy=load_policy(POLICY))
    chunks = [process_chunk(seeds, [name], limits, options) for name in ("a.txt", "b.txt")]
    alone = process_chunk(seeds, ["a.txt"], limits, options)
    core = manifest_core({}, POLICY, seeds, limits)
    write_tables(tmp_path / "tables", chunks, core, time.time())
    rows = {r["path"]: r for r in read_table(tmp_path / "tables", "seeds").to_pylist()}
    assert (rows["a.txt"]["status"], rows["b.txt"]["reason"]) == ("extracted", "duplicate")
    for name, batch in alone.batches.items():
        assert read_table(tmp_path / "tables", name).num_rows == batch.num_rows, name
    manifest = json.loads((tmp_path / "tables" / "manifest.json").read_text(encoding="utf-8"))
    assert [s["reason"] for s in manifest["seeds"]] == [None, "duplicate"]
