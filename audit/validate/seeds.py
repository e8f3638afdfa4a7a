"""Seed files read again at validation: each one's digest now, its content decoded as ingest decoded it, and
the texts its extraction derives from it (derived again, or kept from the run that just made them)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from audit.fsio import sha256_bytes, sha256_file
from audit.ingest import DEFAULT_LIMITS, IngestLimits, decode_seed, read_seed_file
from audit.records import Seed

_KEPT_TEXT_BYTES = 128 << 20  # derived texts a run keeps for its validation; past this, derived again
SAMPLE_PREFIX = "0"  # seeds whose texts `audit run` derives again although it kept them (one in 16)


@dataclass(slots=True, kw_only=True)
class SeedFile:
    """What re-reading one seed file found: its digest now, its content, and the texts derived from it again.

    The texts are derived on first use of ``derived`` (trafilatura for HTML): a reader that needs only the
    seed's bytes, like the report, does not pay for the extraction.
    """

    path: str
    sha256_now: str | None
    seed: Seed | None
    _derived: dict[str, bytes] | None = field(default=None, repr=False)

    @property
    def derived(self) -> dict[str, bytes]:
        """The texts derived from the seed again, by their sha256 (empty for a format that derives none)."""
        if self._derived is None:
            self._derived = {} if self.seed is None else _rederive(self.seed)
        return self._derived

    def slice(self, text_sha256: str | None, start: int | None, end: int | None) -> str | None:
        """Bytes [start, end) of the seed (or of the derived text with that hash), decoded; None if invalid."""
        if self.seed is None:
            return None
        if text_sha256 is None:
            data, encoding = self.seed.data, self.seed.encoding.replace("-sig", "")
        elif text_sha256 in self.derived:
            data, encoding = self.derived[text_sha256], "utf-8"
        else:
            return None
        if start is None or end is None or not 0 <= start <= end <= len(data):
            return None
        try:
            return data[start:end].decode(encoding)
        except UnicodeDecodeError:
            return None


class DerivedTexts:
    """The texts a run's extraction derived from each seed, by their sha256, kept for that run's validation.

    ``audit run`` validates the tables it has just written: the derived texts its extraction made are what
    the tables are checked against, so most are not derived from the seeds a second time (trafilatura is
    most of an HTML run's cost). Each text is keyed by the sha256 computed here, from its bytes. A sample
    (seeds whose digest starts with ``SAMPLE_PREFIX``, one in 16) is always derived again, so a
    nondeterministic extractor or a text filed under the wrong seed still fails the run. Memory is bounded:
    past ``limit`` bytes, a seed's texts are not kept and validation derives them again. ``audit validate``
    keeps none and derives every text again.
    """

    # not a dataclass: accumulates texts batch by batch

    def __init__(self, limit: int = _KEPT_TEXT_BYTES) -> None:
        self._texts: dict[str, dict[str, bytes]] = {}
        self._dropped: set[str] = set()
        self._left = limit

    def add(self, texts: pa.Table | pa.RecordBatch) -> None:
        """Keep the texts of a ``texts`` table batch (columns seed_sha256 and text)."""
        for seed, text in zip(
            texts.column("seed_sha256").to_pylist(), texts.column("text").to_pylist(), strict=True
        ):
            if seed is None or text is None or seed in self._dropped or seed.startswith(SAMPLE_PREFIX):
                continue
            data = text.encode("utf-8")
            if len(data) > self._left:
                self._dropped.add(seed)  # all of a seed's texts or none: a partial set would fail its checks
                self._texts.pop(seed, None)
                continue
            self._left -= len(data)
            self._texts.setdefault(seed, {})[sha256_bytes(data)] = data

    def of(self, seed_sha256: str) -> dict[str, bytes] | None:
        """The seed's derived texts by sha256; None if they were not kept (derive them again)."""
        return None if seed_sha256 in self._dropped else self._texts.get(seed_sha256)


def reread_seed(
    root: Path,
    rel: str,
    expected_sha256: str | None,
    derived: dict[str, bytes] | None = None,
    limits: IngestLimits = DEFAULT_LIMITS,
) -> SeedFile:
    """Read a seed file again and decode it the way ingest did, under the run's size limit; its texts are
    derived again when first used, unless ``derived`` gives them (the texts this run's extraction derived
    from a seed with this digest).

    A file now over the limit is hashed in chunks and not decoded: a seed swapped for a huge (or sparse)
    file fails its digest check without taking that much memory.
    """
    path = root / rel
    try:
        data = read_seed_file(path, limits.max_bytes)
        digest = sha256_file(path) if len(data) > limits.max_bytes else sha256_bytes(data)
    except OSError:
        return SeedFile(path=rel, sha256_now=None, seed=None)
    fits = len(data) <= limits.max_bytes
    decoded = decode_seed(data, rel, limits) if fits and digest == expected_sha256 else None
    if not isinstance(decoded, Seed):
        return SeedFile(path=rel, sha256_now=digest, seed=None)
    return SeedFile(path=rel, sha256_now=digest, seed=decoded, _derived=derived)


class SeedCache(Mapping[str, SeedFile]):
    """Seed files re-read on demand, the most recently used kept; tables are in seed order, so few misses.

    Memory stays bounded however many seeds a run has; each seed's digest check is remembered.
    """

    # not a dataclass: an LRU cache around reread_seed

    def __init__(
        self,
        root: Path,
        paths: Mapping[str, str],
        size: int = 2048,
        derived: DerivedTexts | None = None,
        limits: IngestLimits = DEFAULT_LIMITS,
    ) -> None:
        self._root, self._paths, self.size, self._derived = root, dict(paths), size, derived
        self._limits = limits
        self._files: OrderedDict[str, SeedFile] = OrderedDict()
        self._ok: dict[str, bool] = {}

    def __getitem__(self, sha: str) -> SeedFile:
        if sha in self._files:
            self._files.move_to_end(sha)
            return self._files[sha]
        if sha not in self._paths:
            raise KeyError(sha)
        kept = None if self._derived is None else self._derived.of(sha)
        found = reread_seed(self._root, self._paths[sha], sha, kept, self._limits)
        self._ok[sha] = found.sha256_now == sha
        self._files[sha] = found
        if len(self._files) > self.size:
            self._files.popitem(last=False)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)

    def forget(self) -> None:
        """Drop the cached files (their digest checks are kept)."""
        self._files.clear()

    def is_ok(self, sha: str) -> bool:
        """Whether the seed file with this recorded digest still hashes to it."""
        if sha not in self._ok:
            if sha not in self._paths:
                return False
            self[sha]
        return self._ok[sha]


def _rederive(seed: Seed) -> dict[str, bytes]:
    """The texts the readers derive from a seed, by sha256: read_html's text step, or the JSON Lines reader."""
    base = seed.format.removesuffix("+gzip")
    if base == "html":
        from audit.extract.html import derived_text  # read_html's text, without its dates and links

        texts = [text for text in (derived_text(seed.text),) if text is not None]
    elif base == "jsonl":
        from audit.extract.jsonl import read_jsonl

        docs = read_jsonl(seed.data)
        texts = [] if isinstance(docs, str) else [d.text for d in docs]
    else:
        return {}  # text formats are their own documents: spans point into the seed
    return {sha256_bytes(data): data for data in (text.encode("utf-8") for text in texts)}
