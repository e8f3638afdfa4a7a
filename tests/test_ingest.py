"""Ingest: every file is hashed, decoded or rejected with a reason; nothing raises for a bad seed."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.errors import UsageError
from audit.ingest import IngestLimits, decode_seed, ingest_seed, list_seed_files
from audit.records import Rejection, RejectReason, Seed
from tests.conftest import SAMPLE_SHA256


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
