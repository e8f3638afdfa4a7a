"""Re-extraction on its own: which rows a seed's extraction made again vouches for, which tables and seeds
are compared at all, and a cache that stays bounded."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pytest

from audit.config import Reextract
from audit.extract import ExtractOptions
from audit.extract.number_policy import load_policy
from audit.store import record_digest
from audit.validate import reextract
from audit.validate.reextract import REEXTRACTED_TABLES, Reextraction, reextracted_ok, reextraction
from tests.conftest import SAMPLE, SAMPLE_SHA256, SUITES, count_calls

ONE, TWO = "1" * 64, "2" * 64


def _options() -> ExtractOptions:
    return ExtractOptions(policy=load_policy(SUITES / "number_policy.json"))


def test_rows_are_vouched_for_by_their_seeds_extraction() -> None:
    """A row whose values its seed's extraction makes is true, another row false; rows of a seed not
    extracted again, or naming no seed, are null (not assessed). The row is digested from its values: a
    stored digest that extraction made does not vouch for values edited beside it."""

    def digest(seed: str | None, value: float) -> str:
        return record_digest({"seed_sha256": seed, "value": value})

    made = {ONE: frozenset({digest(ONE, 1.0), digest(ONE, 2.0)})}
    table = pa.table(
        {
            "seed_sha256": [ONE, ONE, TWO, None, ONE, ONE],
            "value": [1.0, 3.0, 9.0, 1.0, 2.0, 5.0],
            # the fifth row's digest is recomputed for its edit; the sixth keeps extraction's own
            "record_sha256": [digest(ONE, 1.0), digest(ONE, 3.0), "d9", "d1", digest(ONE, 2.0), digest(ONE, 1.0)],
        }
    )
    assert reextracted_ok(table, made.get).to_pylist() == [True, False, None, None, True, False]


def test_without_a_reextraction_every_row_is_null() -> None:
    """No re-extraction, or a table that names no seed (the live link checks), leaves the column null."""
    table = pa.table({"seed_sha256": [ONE], "record_sha256": ["d1"]})
    assert reextracted_ok(table, None).to_pylist() == [None]
    checks = pa.table({"url": ["https://example.org/"], "record_sha256": ["d1"]})
    assert reextracted_ok(checks, {ONE: frozenset({"d1"})}.get).to_pylist() == [None]


def test_only_extracted_tables_and_known_seeds_are_compared(seeds_dir: Path) -> None:
    """The seeds table and the live checks are not extraction's output, and a seed the seeds table does not
    list has no file to extract: none of them is compared. The seed's numbers are."""
    again = Reextraction(seeds_dir, {SAMPLE_SHA256: SAMPLE.name}, _options(), every=True)
    assert again.digests(SAMPLE_SHA256, "seeds") is None
    assert again.digests(SAMPLE_SHA256, "link_checks") is None
    assert again.digests(TWO, "numbers") is None
    numbers = again.digests(SAMPLE_SHA256, "numbers")
    assert numbers and all(len(d) == 64 for d in numbers)
    assert set(REEXTRACTED_TABLES) == {"articles", "blocks", "numbers", "links", "dates", "texts"}


def test_each_seed_is_extracted_once_and_the_cache_stays_bounded(
    seeds_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A seed's digests serve every table from one extraction; past ``keep`` seeds the oldest is dropped
    and extracted again when asked for."""
    shutil.copy(SAMPLE, seeds_dir / "copy.txt")
    calls = count_calls(monkeypatch, reextract, "process_seed")
    paths = {SAMPLE_SHA256: SAMPLE.name, TWO: "copy.txt"}
    again = Reextraction(seeds_dir, paths, _options(), every=True, keep=1)
    for table in REEXTRACTED_TABLES:
        again.digests(SAMPLE_SHA256, table)
    assert calls == [SAMPLE.name]
    again.digests(TWO, "numbers")  # the same bytes under another recorded digest: its own extraction
    again.digests(SAMPLE_SHA256, "numbers")
    assert calls == [SAMPLE.name, "copy.txt", SAMPLE.name]


def test_no_reextraction_needs_no_policy(tmp_path: Path) -> None:
    """`--reextract none` extracts nothing, so a missing policy file is no error."""
    assert reextraction(Reextract.NONE, tmp_path, {}, tmp_path / "missing.json", {}) is None
