"""Ingest: every file is hashed, decoded or rejected with a reason; nothing raises for a bad seed."""

from __future__ import annotations

import gzip
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.errors import UsageError
from audit.ingest import (
    DEFAULT_MAX_BYTES,
    IngestLimits,
    decode_seed,
    ingest_seed,
    list_seed_files,
    read_seed_file,
    recorded_limits,
)
from audit.records import Rejection, RejectReason, Seed
from audit.validate.seeds import reread_seed
from tests.conftest import ROOT, SAMPLE_SHA256


def test_sample_seed_is_hashed_and_sniffed(seeds_dir: Path) -> None:
    """The bundled seed hashes to its published sha256 and is read as the aggregator text format."""
    seed = ingest_seed(seeds_dir, "000_9fc08baae7766353.txt")
    assert isinstance(seed, Seed)
    assert seed.seed_sha256 == SAMPLE_SHA256
    assert (seed.format, seed.encoding) == ("aggregator-text", "utf-8")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", RejectReason.EMPTY),
        (b"  \n\t\n", RejectReason.EMPTY),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", RejectReason.BINARY),
        ("caf\u00e9 ol\u00e9 \u2014 ok".encode() + b"\xff\xfe broken", RejectReason.UNDECODABLE),
    ],
)
def test_bad_bytes_are_rejected_with_a_reason(data: bytes, reason: RejectReason) -> None:
    """Empty, binary and damaged-UTF-8 files are rejected with a reason code and a sentence."""
    result = decode_seed(data, "x.txt")
    assert isinstance(result, Rejection)
    assert result.reason is reason
    assert result.detail and result.seed_sha256 == hashlib.sha256(data).hexdigest()


def test_legacy_encoding_is_detected_and_recorded() -> None:
    """A cp1252 text is decoded with its encoding recorded, not rejected."""
    text = "Le président a annoncé que la réforme coûterait près de 3 milliards d'euros à l'État français."
    seed = decode_seed((text + "\n") .encode("cp1252") * 3, "fr.txt")
    assert isinstance(seed, Seed)
    assert seed.text.startswith("Le président")
    assert seed.encoding in {"cp1252", "iso8859-1", "latin-1", "iso8859-15"}


def test_utf8_bom_is_kept_out_of_the_text() -> None:
    """A UTF-8 byte-order mark is recorded as utf-8-sig and not part of the text."""
    seed = decode_seed(b"\xef\xbb\xbfTitle\n\nBody.", "bom.txt")
    assert isinstance(seed, Seed) and seed.encoding == "utf-8-sig" and seed.text.startswith("Title")


def test_gzip_seed_is_decompressed_and_hashed_as_stored() -> None:
    """A gzip file's digest is of the file as stored; its text is the decompressed content."""
    raw = gzip.compress(b"<html><body><p>Hello</p></body></html>", mtime=0)
    seed = decode_seed(raw, "page.html.gz")
    assert isinstance(seed, Seed)
    assert seed.seed_sha256 == hashlib.sha256(raw).hexdigest() and seed.format == "html+gzip"


def test_size_limit_rejects_large_seed(tmp_path: Path) -> None:
    """A file over the size limit is rejected with the limit named, and still hashed."""
    (tmp_path / "big.txt").write_bytes(b"a" * 100)
    result = ingest_seed(tmp_path, "big.txt", IngestLimits(max_bytes=10))
    assert isinstance(result, Rejection) and result.reason is RejectReason.TOO_LARGE
    assert "10-byte limit" in result.detail and result.seed_sha256


def test_symlink_out_of_root_is_rejected(tmp_path: Path) -> None:
    """A symlink that leads outside the seeds directory is rejected, not followed."""
    root = tmp_path / "seeds"
    root.mkdir()
    (tmp_path / "secret.txt").write_text("outside")
    (root / "link.txt").symlink_to(tmp_path / "secret.txt")
    result = ingest_seed(root, "link.txt")
    assert isinstance(result, Rejection) and result.reason is RejectReason.OUTSIDE_ROOT


def test_unreadable_file_is_rejected(tmp_path: Path) -> None:
    """A file that cannot be opened (here a dangling symlink) is rejected as unreadable, with no digest."""
    (tmp_path / "gone.txt").symlink_to(tmp_path / "missing-target.txt")
    assert list_seed_files(tmp_path) == ["gone.txt"]
    result = ingest_seed(tmp_path, "gone.txt")
    assert isinstance(result, Rejection) and result.reason is RejectReason.UNREADABLE
    assert result.seed_sha256 is None


def test_listing_is_recursive_and_sorted(tmp_path: Path) -> None:
    """Seed files are found recursively and listed in sorted order."""
    for rel in ["b.txt", "a/z.txt", "a/c.txt"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    assert list_seed_files(tmp_path) == ["a/c.txt", "a/z.txt", "b.txt"]


def test_missing_seeds_dir_is_a_usage_error(tmp_path: Path) -> None:
    """A seeds directory that does not exist is a usage error naming it."""
    with pytest.raises(UsageError, match=r"does not exist"):
        list_seed_files(tmp_path / "nope")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048))
def test_any_bytes_give_a_seed_or_a_rejection(data: bytes) -> None:
    """Arbitrary bytes never raise: they become a Seed or a Rejection with the file's digest."""
    result = decode_seed(data, "fuzz.bin")
    assert isinstance(result, Seed | Rejection)
    assert result.seed_sha256 == hashlib.sha256(data).hexdigest()


# -- hangs, depth and size (issue 19) ---------------------------------------------------------------------

_HANG_SEED = b"<!---->" * 40 + b"x\n"  # 282 bytes: the old sniffing pattern never finished on it


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (_HANG_SEED, "plain-text"),
        (b"<!---->" * 40 + b"<html><body><p>Hi</p></body></html>", "html"),
        (b"\xef\xbb\xbf \n<!-- a -->\n<!---->  <!DOCTYPE html><title>t</title>", "html"),
        (b"<!-- never closed <html>", "html"),  # the <html> search still finds it
        (b"<!-- never closed", "plain-text"),
        (b"<!-- a --> <p>no document tag</p>", "plain-text"),
    ],
)
def test_html_sniffing_is_linear_and_unchanged(data: bytes, fmt: str) -> None:
    """Regression: the 282-byte seed of 40 empty comments is sniffed at once, and comments before a document
    tag are still skipped; a 100,000-comment prefix takes well under a second."""
    started = time.perf_counter()
    result = decode_seed(data, "x.txt")
    assert isinstance(result, Seed) and result.format == fmt
    long = decode_seed(b"<!---->" * 100_000 + b"x\n", "long.txt")
    assert isinstance(long, Seed) and long.format == "plain-text"
    assert time.perf_counter() - started < 1.0


_OLD_SNIFF = r"""
import re, sys, time
from pathlib import Path
from audit import ingest
from audit.ingest import IngestLimits
from audit.process import seed_records
old = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.I | re.S)
ingest._starts_as_html = lambda head: old.match(head) is not None  # a step that backtracks for hours
started = time.perf_counter()
row, result = seed_records(Path(sys.argv[1]), "a.txt", IngestLimits(timeout_s=1.0), None)
print(row.status, row.reason, row.seed_sha256, round(time.perf_counter() - started))
"""


def test_a_hanging_ingest_step_is_stopped_by_the_seed_timeout(tmp_path: Path) -> None:
    """Regression: reading, decoding and sniffing run on the per-seed clock too: with a sniffing step that
    backtracks for hours, the seed is rejected as a timeout (with its digest) after --seed-timeout."""
    (tmp_path / "a.txt").write_bytes(_HANG_SEED)
    done = subprocess.run(
        [sys.executable, "-c", _OLD_SNIFF, str(tmp_path)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    status, reason, sha, took = done.stdout.split()
    assert (status, reason) == ("rejected", "timeout")
    assert sha == hashlib.sha256(_HANG_SEED).hexdigest() and int(took) <= 3


def test_a_very_deep_seeds_tree_is_listed(tmp_path: Path) -> None:
    """Regression: a tree 1,300 folders deep is walked without recursion (rglob ended in RecursionError)."""
    levels = [str(tmp_path) + "/d" * n for n in range(1, 1_301)]
    try:
        for level in levels:  # one at a time: Path.mkdir(parents=True) and shutil.rmtree recurse too
            os.mkdir(level)
        Path(levels[-1], "seed.txt").write_text("x")
        (tmp_path / "top.txt").write_text("x")
        assert list_seed_files(tmp_path) == ["/".join(["d"] * 1_300 + ["seed.txt"]), "top.txt"]
    finally:
        Path(levels[-1], "seed.txt").unlink(missing_ok=True)
        for level in reversed(levels):
            if os.path.isdir(level):
                os.rmdir(level)


def test_listing_keeps_symlinks_and_does_not_follow_them(tmp_path: Path) -> None:
    """A symlink to a folder is listed as an entry (ingest judges it), not walked into."""
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "a.txt").write_text("x")
    (tmp_path / "loop").symlink_to(tmp_path, target_is_directory=True)
    assert list_seed_files(tmp_path) == ["loop", "real/a.txt"]


def test_a_seed_that_grows_past_the_limit_is_not_read_whole(tmp_path: Path) -> None:
    """read_seed_file reads at most the limit and one byte, so a caller can tell a file over it."""
    (tmp_path / "big.txt").write_bytes(b"x" * 5_000)
    assert len(read_seed_file(tmp_path / "big.txt", 1_000)) == 1_001
    assert len(read_seed_file(tmp_path / "big.txt", 10_000)) == 5_000


_RSS = r"""
import resource, sys
from pathlib import Path
from audit.validate.seeds import reread_seed
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
found = reread_seed(Path(sys.argv[1]), "a.txt", "0" * 64)
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(found.seed is None, found.sha256_now is not None, grown // 1024)
"""


def test_a_seed_swapped_for_a_huge_sparse_file_is_not_read_into_memory(tmp_path: Path) -> None:
    """Regression: validation re-reads a seed under the size limit: a seed replaced by a 400 MB sparse file fails
    its digest without taking 400 MB of memory (it was read whole: 2.4 GB RSS for 2 GB)."""
    with (tmp_path / "a.txt").open("wb") as fh:
        fh.truncate(400 << 20)
    done = subprocess.run(
        [sys.executable, "-c", _RSS, str(tmp_path)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    no_seed, hashed, grown_mb = done.stdout.split()
    assert (no_seed, hashed) == ("True", "True")
    assert int(grown_mb) < 100, f"peak RSS grew by {grown_mb} MB"


def test_rereading_follows_the_size_limit_the_run_recorded(tmp_path: Path) -> None:
    """Regression: a gzip seed that decompresses past the default 20 MiB, accepted by a run with a larger
    --max-seed-bytes, is decoded again under the limit its manifest records (the default rejected it)."""
    data = gzip.compress(b"Title\n\n" + b"A line of text.\n" * 1_400_000)  # 22.4 MB decompressed
    (tmp_path / "big.txt.gz").write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    recorded = recorded_limits({"limits": {"max_seed_bytes": 30_000_000}})
    assert recorded.max_bytes == 30_000_000 and recorded.timeout_s is None
    assert reread_seed(tmp_path, "big.txt.gz", sha, limits=recorded).seed is not None
    assert reread_seed(tmp_path, "big.txt.gz", sha).seed is None  # the default limit: too large
    assert recorded_limits({}).max_bytes == DEFAULT_MAX_BYTES
    assert recorded_limits({"limits": {"max_seed_bytes": True}}).max_bytes == DEFAULT_MAX_BYTES
