"""Path -> Seed | Rejection: read once, hash, decode, sniff the format. Never raises for a bad seed."""

from __future__ import annotations

import codecs
import gzip
import io
import os
import re
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from charset_normalizer import from_bytes

from audit.errors import UsageError
from audit.fsio import not_a_file, read_regular, sha256_bytes, sha256_file, shown
from audit.records import Rejection, RejectReason, Seed

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_TIMEOUT_S = 60.0
_SNIFF = 8192
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13))  # all but tab, LF, FF, CR
# UTF-32 before UTF-16: the UTF-32-LE mark starts with the UTF-16-LE one
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_BOM_NAMES = {
    "utf-8-sig": "UTF-8",
    "utf-32-le": "UTF-32",
    "utf-32-be": "UTF-32",
    "utf-16-le": "UTF-16",
    "utf-16-be": "UTF-16",
}
_PAGE_DATE_LINE = re.compile(r"\A\W{0,3}date \d{4}-\d{2}-\d{2}\b")
# the start of an HTML document after a byte-order mark, blanks and comments; comments are skipped by
# find(), not by a pattern: `(?:<!--.*?-->\s*)*` backtracks exponentially over a run of empty comments
_HTML_TAG = re.compile(rb"<(?:!doctype\s+html|html|head|body)\b", re.I)
_BLANKS = b" \t\n\r\x0b\x0c"


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestLimits:
    """Per-seed resource limits: the largest file accepted, and the seconds one seed may take to extract."""

    max_bytes: int = DEFAULT_MAX_BYTES
    timeout_s: float | None = DEFAULT_TIMEOUT_S


DEFAULT_LIMITS = IngestLimits()


def recorded_limits(manifest: Mapping[str, Any]) -> IngestLimits:
    """The size policy a run recorded in its manifest (``limits.max_seed_bytes``), for every later read of
    its seeds; the default for tables made before it was recorded. No clock: a time limit at validation
    would make the verdict depend on the machine's load."""
    limits = manifest.get("limits")
    size = limits.get("max_seed_bytes") if isinstance(limits, Mapping) else None
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        size = DEFAULT_MAX_BYTES
    return IngestLimits(max_bytes=size, timeout_s=None)


def list_seed_files(root: Path) -> list[str]:
    """Every file under root, recursively, as sorted POSIX paths relative to root."""
    if not root.exists():
        raise UsageError(
            f"{root}: the seeds directory does not exist. Pass an existing directory of seed files."
        )
    if not root.is_dir():
        raise UsageError(f"{root}: is not a directory. Pass the directory that holds the seed files.")
    return sorted(_walk(root))


def _walk(root: Path) -> Iterator[str]:
    """Everything under root but directories, as POSIX paths relative to root; a symlink is listed, not
    followed, and a named pipe, socket or device is listed too (ingest rejects it by name).

    A stack, not recursion: a tree thousands of folders deep is walked like a shallow one.
    """
    stack = [""]
    while stack:
        rel = stack.pop()
        try:
            entries = list(os.scandir(root / rel if rel else root))
        except PermissionError:  # as rglob did: an unreadable folder is skipped
            continue
        for entry in entries:
            name = f"{rel}/{entry.name}" if rel else entry.name
            if entry.is_dir(follow_symlinks=False):
                stack.append(name)
            else:
                yield name


def ingest_seed(root: Path, rel: str, limits: IngestLimits = IngestLimits()) -> Seed | Rejection:
    """Read one seed file under root; return a Seed, or a Rejection saying why in plain words."""
    if (name := shown(rel)) != rel:
        detail = "the file name is not UTF-8 (shown with \\x escapes), which the tables cannot hold; rename the file"
        return _unread(name, RejectReason.BAD_NAME, detail)
    path = root / rel
    try:
        resolved = path.resolve(strict=True)
        if not resolved.is_relative_to(root.resolve()):
            detail = (
                f"a symlink leading outside the seeds directory (to {resolved}); copy the file in instead"
            )
            return _unread(rel, RejectReason.OUTSIDE_ROOT, detail)
        status = resolved.stat()
        if kind := not_a_file(status.st_mode):  # reading a named pipe would wait for a writer forever
            return _unread(rel, RejectReason.UNREADABLE, f"not a regular file ({kind}); only files are read")
        size = status.st_size
        if size > limits.max_bytes:
            return Rejection(
                seed_sha256=sha256_file(resolved),
                path=rel,
                size_bytes=size,
                reason=RejectReason.TOO_LARGE,
                detail=f"{size} bytes is over the {limits.max_bytes}-byte limit (raise --max-seed-bytes to accept it)",
            )
        data = read_seed_file(resolved, limits.max_bytes)
        if len(data) > limits.max_bytes:  # it grew since it was measured
            return Rejection(
                seed_sha256=sha256_file(resolved),
                path=rel,
                size_bytes=resolved.stat().st_size,
                reason=RejectReason.TOO_LARGE,
                detail=f"over the {limits.max_bytes}-byte limit (raise --max-seed-bytes to accept it)",
            )
    except (OSError, RuntimeError) as exc:
        # RuntimeError (a symlink loop on Python 3.11) has no strerror
        return _unread(
            rel, RejectReason.UNREADABLE, f"cannot be read: {getattr(exc, 'strerror', None) or exc}"
        )
    return decode_seed(data, rel, limits)


def read_seed_file(path: Path, max_bytes: int) -> bytes:
    """A regular file's first ``max_bytes + 1`` bytes (more than ``max_bytes``: the file is over the limit),
    or OSError for anything else (a plain read of a named pipe would wait for a writer forever).

    Bounded, so a seed swapped for a huge (or sparse) file never takes that much memory.
    """
    return read_regular(path, max_bytes + 1)


def timed_out(root: Path, rel: str, limits: IngestLimits, seed: Seed | None) -> Rejection:
    """The rejection of a seed whose ingest or extraction ran past the per-seed time limit."""
    detail = f"extraction took longer than the {limits.timeout_s:g}-second limit (raise --seed-timeout to allow more)"
    if seed is not None:
        return Rejection(
            seed_sha256=seed.seed_sha256,
            path=rel,
            size_bytes=seed.size_bytes,
            reason=RejectReason.TIMEOUT,
            detail=detail,
            encoding=seed.encoding,
            format=seed.format,
        )
    try:  # stopped while it was read or decoded: its digest is taken from the file, outside the clock
        path = root / rel
        return Rejection(
            seed_sha256=sha256_file(path),
            path=rel,
            size_bytes=path.stat().st_size,
            reason=RejectReason.TIMEOUT,
            detail=detail,
        )
    except OSError as exc:
        return _unread(rel, RejectReason.UNREADABLE, f"cannot be read: {exc.strerror or exc}")


def decode_seed(data: bytes, rel: str, limits: IngestLimits = IngestLimits()) -> Seed | Rejection:
    """Hash, decompress if gzip, detect binary, decode text and sniff the format of a seed's bytes."""
    digest = sha256_bytes(data)
    if not data.strip():
        return _reject(data, rel, RejectReason.EMPTY, "the file is empty or holds only whitespace", digest)
    payload = data
    if data[:2] == b"\x1f\x8b":
        try:
            payload = _gunzip(data, limits.max_bytes)
        except _TooLarge as exc:
            return _reject(
                data, rel, RejectReason.TOO_LARGE, f"{exc} (raise --max-seed-bytes to accept it)", digest
            )
        except (OSError, EOFError, zlib.error, ValueError) as exc:
            return _reject(
                data, rel, RejectReason.UNREADABLE, f"a gzip file that cannot be decompressed: {exc}", digest
            )
    if bom_length(payload) < 2 and _looks_binary(payload):  # UTF-16/32 text is full of NUL bytes
        return _reject(
            data, rel, RejectReason.BINARY, "binary data, not text: it holds NUL or control bytes", digest
        )
    decoded = decode_text(payload)
    if isinstance(decoded, str):
        return _reject(data, rel, RejectReason.UNDECODABLE, decoded, digest)
    text, encoding = decoded
    fmt = sniff_format(payload, text)
    if payload is not data:
        fmt = f"{fmt}+gzip"
    return Seed(seed_sha256=digest, path=rel, data=payload, text=text, encoding=encoding, format=fmt)


def decode_text(data: bytes) -> tuple[str, str] | str:
    """Decode bytes as UTF-8, else as the legacy encoding detected; return (text, encoding) or a reason."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding), encoding
            except UnicodeDecodeError as exc:
                name = _BOM_NAMES[encoding]
                return f"invalid {name} at byte {exc.start + len(bom)} (the file starts with a {name} byte-order mark)"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        error = exc
    if _is_damaged_utf8(data):
        # valid multi-byte UTF-8 next to invalid bytes: a damaged UTF-8 file, not a legacy encoding
        return f"invalid UTF-8 at byte {error.start}: {error.reason} (the rest of the file is UTF-8)"
    best = from_bytes(data[: 1 << 20]).best()
    if best is None or best.encoding in {"utf_8", "ascii"}:
        return f"not UTF-8 (invalid byte at {error.start}) and no other text encoding fits"
    encoding = codecs.lookup(best.encoding).name
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError as exc:
        return f"not UTF-8 and not valid {encoding} either (byte {exc.start})"


def sniff_format(data: bytes, text: str) -> str:
    """Name the seed's format from its content."""
    if _starts_as_html(data[:_SNIFF]) or re.search(rb"<html[\s>]", data[:_SNIFF], re.I):
        return "html"
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("{") and _is_json_lines(stripped):
        return "jsonl"
    if _PAGE_DATE_LINE.match(stripped):
        return "aggregator-text"
    return "plain-text"


def _starts_as_html(head: bytes) -> bool:
    """Whether the bytes open with an HTML document tag, after a UTF-8 mark, blanks and comments."""
    at = len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0
    while True:
        while at < len(head) and head[at] in _BLANKS:
            at += 1
        if not head.startswith(b"<!--", at):
            return _HTML_TAG.match(head, at) is not None
        end = head.find(b"-->", at + 4)
        if end < 0:
            return False
        at = end + 3


def iter_lines(text: str) -> Iterator[tuple[int, str]]:
    """Yield (char offset, line without its newline) for every line of text."""
    pos = 0
    for line in text.splitlines(keepends=True):
        yield pos, line.rstrip("\r\n")
        pos += len(line)


def _is_json_lines(text: str) -> bool:
    first = text.split("\n", 1)[0].strip()
    return first.startswith("{") and first.endswith("}")


def _looks_binary(data: bytes) -> bool:
    head = data[:_SNIFF]
    if b"\x00" in head:
        return True
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return controls > len(head) // 100 + 2


_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def _is_damaged_utf8(data: bytes) -> bool:
    """Mostly valid multi-byte UTF-8 with a few bad bytes; a legacy double-byte encoding fails far more often."""
    n_valid = len(_UTF8_MULTIBYTE.findall(data))
    n_invalid = data.decode("utf-8", "replace").count("\ufffd") - data.decode("utf-8", "ignore").count(
        "\ufffd"
    )
    return n_valid >= 1 and n_invalid <= n_valid


def bom_length(data: bytes) -> int:
    """Length of the byte-order mark the data starts with (0 if none): span offsets count it."""
    return next((len(bom) for bom, _ in _BOMS if data.startswith(bom)), 0)


class _TooLarge(ValueError):
    """A compressed seed that decompresses past the size limit."""


def _gunzip(data: bytes, max_bytes: int) -> bytes:
    with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
        out = fh.read(max_bytes + 1)
    if len(out) > max_bytes:
        raise _TooLarge(f"decompresses to more than the {max_bytes}-byte limit")
    return out


def _reject(data: bytes, rel: str, reason: RejectReason, detail: str, digest: str | None = None) -> Rejection:
    return Rejection(
        seed_sha256=digest or sha256_bytes(data), path=rel, size_bytes=len(data), reason=reason, detail=detail
    )


def _unread(rel: str, reason: RejectReason, detail: str) -> Rejection:
    # nothing was read, so there is no digest to record
    return Rejection(seed_sha256=None, path=rel, size_bytes=0, reason=reason, detail=detail)
