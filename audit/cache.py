"""A content-addressed cache of extraction: one seed's rows, stored under its bytes and what shapes them.

A seed's rows depend only on its bytes and on what extraction is made of: the package's extraction code,
the versions of the libraries it calls, the Python it runs on, the number policy and the size limit.
``extraction_context`` digests all of these; an entry's key is that digest joined with the seed's sha256,
so a run with another policy, another trafilatura or edited extraction code never reads an entry written
by this one. A seed's path is not part of its rows (the seeds table takes it from the run), so a renamed
seed is still found.

Layout: ``ROOT/v1/<key[:2]>/<key>.entry``, one file per seed::

    b"news-audit-cache 1\\n" | 8-byte big-endian header length | header (JSON) | payload

The header names the key, the seed, its seeds-table row (without the path), each table's slice of the
payload (an Arrow IPC stream) and the payload's sha256. An entry is written to a temporary file in its
folder and renamed into place, so concurrent runs may share a cache and a killed run leaves no half
entry (only a temporary file, which ``prune`` removes). An entry whose header or payload does not match
its key is ignored and counted; the seed is extracted again and the entry replaced.

Nothing here is trusted by validation: rows from the cache are checked like any other (spans against the
seed's bytes, and the re-extraction `validate` does).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import importlib.metadata
import json
import os
import re
import sys
import time
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from audit.fsio import atomic_write, sha256_bytes
from audit.store import ipc_stream
from audit.version import __version__

LAYOUT = "v1"
MAGIC = b"news-audit-cache 1\n"
_SUFFIX = ".entry"
_HEADER_LEN = 8
# libraries whose behaviour shapes extracted rows (their versions are in the key)
EXTRACTION_LIBRARIES = (
    "trafilatura",
    "htmldate",
    "justext",
    "lxml",
    "charset-normalizer",
    "dateparser",
    "tldextract",
    "idna",
    "rfc3986",
    "pyarrow",
)
# the package's own code that extraction runs: its source is digested into the key, so an edit (or a
# development build with an unchanged version number) never reads entries of other code
_CODE = ("extract", "ingest.py", "process.py", "records.py", "store.py", "fsio.py")
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/news-audit/extraction`` (``~/.cache/news-audit/extraction`` by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "news-audit" / "extraction"


def code_digest(package: Path | None = None) -> str:
    """sha256 over the package's extraction source files (name and bytes, in name order)."""
    root = package or Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for name in _CODE:
        path = root / name
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            digest.update(file.relative_to(root).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def extraction_context(policy_sha256: str, max_seed_bytes: int) -> dict[str, Any]:
    """Everything besides a seed's bytes that its rows depend on (the key digests it)."""
    return {
        "layout": LAYOUT,
        "news-audit": __version__,
        "code": code_digest(),
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "unicode": unicodedata.unidata_version,
        "libraries": {name: _version(name) for name in EXTRACTION_LIBRARIES},
        "policy_sha256": policy_sha256,
        "max_seed_bytes": max_seed_bytes,
    }


def context_digest(context: Mapping[str, Any]) -> str:
    return sha256_bytes(json.dumps(context, sort_keys=True, separators=(",", ":")).encode("utf-8"))


@dataclass(frozen=True, slots=True)
class CachedSeed:
    """One seed's cached extraction: its seeds-table row without the path, and its batches per table."""

    row: dict[str, Any]
    batches: dict[str, pa.RecordBatch]


@dataclass
class CacheStats:
    """What one process did with the cache (summed over workers by the caller)."""

    hits: int = 0
    misses: int = 0
    ignored: int = 0  # entries whose content did not match their key (or could not be read)
    written: int = 0

    def add(self, other: CacheStats) -> None:
        self.hits += other.hits
        self.misses += other.misses
        self.ignored += other.ignored
        self.written += other.written

    def as_dict(self) -> dict[str, int]:
        return {"hits": self.hits, "misses": self.misses, "ignored": self.ignored, "written": self.written}


@dataclass
class ExtractionCache:
    """The cache under ``root`` for one extraction context."""

    root: Path
    context: str  # context_digest(extraction_context(...))
    schemas: Mapping[str, pa.Schema] | None = None  # each table's schema: an entry with others is ignored
    stats: CacheStats = field(default_factory=CacheStats)
    _messages: dict[str, tuple[bytes, pa.Schema]] | None = field(default=None, repr=False, compare=False)

    def key(self, seed_sha256: str) -> str:
        return sha256_bytes(f"{self.context}\0{seed_sha256}".encode())

    def path(self, key: str) -> Path:
        return self.root / LAYOUT / key[:2] / f"{key}{_SUFFIX}"

    def get(self, seed_sha256: str) -> CachedSeed | None:
        """The seed's cached rows, or None (a miss, or an entry ignored because it does not match)."""
        key = self.key(seed_sha256)
        path = self.path(key)
        try:
            data = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):  # no entry (or no cache folder where it would be)
            self.stats.misses += 1
            return None
        except OSError:
            self.stats.ignored += 1
            return None
        found = decode_entry(data, key, seed_sha256, self._schema_messages())
        if found is None or not self._fits(found):
            self.stats.ignored += 1
            return None
        self.stats.hits += 1
        with contextlib.suppress(OSError):
            os.utime(path)  # last used: what prune --older-than measures
        return found

    def _schema_messages(self) -> dict[str, tuple[bytes, pa.Schema]] | None:
        """Each table's schema as the IPC message an entry's stream starts with (computed once)."""
        if self.schemas is None:
            return None
        if self._messages is None:
            self._messages = {name: (s.serialize().to_pybytes(), s) for name, s in self.schemas.items()}
        return self._messages

    def _fits(self, found: CachedSeed) -> bool:
        """The entry's batches have the tables' schemas (rows of another layout would break the writer)."""
        if self.schemas is None or not found.batches:
            return True
        return set(found.batches) == set(self.schemas) and all(
            batch.schema.equals(self.schemas[name], check_metadata=True)
            for name, batch in found.batches.items()
        )

    def put(self, seed_sha256: str, row: Mapping[str, Any], batches: Mapping[str, pa.RecordBatch]) -> None:
        """Store the seed's rows (atomically; a failure to write is not an error of the run)."""
        key = self.key(seed_sha256)
        path = self.path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, encode_entry(key, seed_sha256, row, batches), durable=False)
        except OSError:
            return
        self.stats.written += 1


def encode_entry(
    key: str, seed_sha256: str, row: Mapping[str, Any], batches: Mapping[str, pa.RecordBatch]
) -> bytes:
    """One entry's bytes: magic, header length, header, payload (one Arrow IPC stream per table)."""
    payload, slices = bytearray(), {}
    for name in sorted(batches):
        blob = ipc_stream(batches[name])
        slices[name] = [len(payload), len(blob)]
        payload += blob
    header = json.dumps(
        {
            "key": key,
            "seed_sha256": seed_sha256,
            "row": dict(row),
            "tables": slices,
            "payload_sha256": sha256_bytes(bytes(payload)),
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode("utf-8")
    return MAGIC + len(header).to_bytes(_HEADER_LEN, "big") + header + bytes(payload)


def decode_entry(
    data: bytes, key: str, seed_sha256: str, schemas: Mapping[str, tuple[bytes, pa.Schema]] | None = None
) -> CachedSeed | None:
    """An entry's rows if it is whole and is the entry of ``key`` for ``seed_sha256``; else None.

    ``schemas``: each table's expected schema with its IPC message; a table's stream that starts with that
    message has its batch read against the schema as it is (not parsed again, the slower part of a hit)."""
    if not data.startswith(MAGIC):
        return None
    at = len(MAGIC) + _HEADER_LEN
    size = int.from_bytes(data[len(MAGIC) : at], "big")
    try:
        header = json.loads(data[at : at + size])
    except ValueError:
        return None
    payload = data[at + size :]
    if (
        not isinstance(header, dict)
        or header.get("key") != key
        or header.get("seed_sha256") != seed_sha256
        or header.get("payload_sha256") != sha256_bytes(payload)
        or not isinstance(header.get("row"), dict)
        or not isinstance(header.get("tables"), dict)
    ):
        return None
    batches = {}
    try:
        for name, (start, length) in header["tables"].items():
            batches[name] = _read_batch(payload[start : start + length], (schemas or {}).get(name))
    except (pa.ArrowInvalid, StopIteration, ValueError, TypeError):
        return None
    return CachedSeed(row=header["row"], batches=batches)


def _read_batch(stream: bytes, expected: tuple[bytes, pa.Schema] | None) -> pa.RecordBatch:
    """The one batch of an Arrow IPC stream; read against ``expected``'s schema if the stream starts with
    its message (byte for byte, so the same schema, metadata included), else parsed from the stream."""
    if expected is not None and stream.startswith(expected[0]):
        body = pa.py_buffer(stream)[len(expected[0]) :]
        with contextlib.suppress(pa.ArrowInvalid, ValueError, OSError):
            return pa.ipc.read_record_batch(body, expected[1])
    with pa.ipc.open_stream(pa.py_buffer(stream)) as reader:
        return reader.read_next_batch()


def parse_age(text: str) -> dt.timedelta:
    """``30d``, ``12h``, ``2w``, ``90m``, ``45s`` as a duration; ValueError naming the accepted forms."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration: use a whole number and s, m, h, d or w (e.g. 30d)")
    return dt.timedelta(seconds=int(match[1]) * _UNITS[match[2]])


def _entries(root: Path) -> Iterator[os.DirEntry[str]]:
    folder = root / LAYOUT
    if not folder.is_dir():
        return
    for shard in sorted(os.scandir(folder), key=lambda e: e.name):
        if shard.is_dir(follow_symlinks=False):
            yield from sorted(os.scandir(shard.path), key=lambda e: e.name)


@dataclass(frozen=True, slots=True)
class CacheUsage:
    """Entries in a cache and their bytes (temporary files of unfinished writes counted apart)."""

    entries: int
    bytes: int
    temporary: int


def usage(root: Path) -> CacheUsage:
    entries = size = temporary = 0
    for entry in _entries(root):
        if entry.name.startswith("."):  # fsio.atomic_write's temporary file
            temporary += 1
        elif entry.name.endswith(_SUFFIX) and entry.is_file(follow_symlinks=False):
            entries += 1
            size += entry.stat(follow_symlinks=False).st_size
    return CacheUsage(entries=entries, bytes=size, temporary=temporary)


def prune(root: Path, older_than: dt.timedelta, now: float | None = None) -> CacheUsage:
    """Remove entries not used for ``older_than``, and temporary files left by killed runs (an hour old).

    Returns what was removed. Only files the cache writes are touched: ``*.entry`` and temporary files
    in the cache's own folders.
    """
    now = time.time() if now is None else now
    removed = freed = stale = 0
    for entry in _entries(root):
        if not entry.is_file(follow_symlinks=False):
            continue
        info = entry.stat(follow_symlinks=False)
        temporary = entry.name.startswith(".")
        if temporary and now - info.st_mtime > 3600:
            stale += _remove(entry.path)
        elif (
            entry.name.endswith(_SUFFIX)
            and now - info.st_mtime > older_than.total_seconds()
            and _remove(entry.path)
        ):
            removed += 1
            freed += info.st_size
    return CacheUsage(entries=removed, bytes=freed, temporary=stale)


def _remove(path: str) -> int:
    try:
        os.unlink(path)
    except FileNotFoundError:
        return 0
    return 1
