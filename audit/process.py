"""Seeds -> record batches, in parallel processes, in seed order (so output is deterministic)."""

from __future__ import annotations

import collections
import contextlib
import gc
import os
import signal
import threading
import types
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow as pa

from audit.cache import CacheStats, ExtractionCache, context_digest, extraction_context
from audit.extract import ExtractOptions, extract_seed
from audit.forking import forked_pool
from audit.fsio import sha256_bytes, shown
from audit.ingest import IngestLimits, ingest_seed, read_seed_file, timed_out
from audit.records import Extraction, Rejection, RejectReason, Seed, SeedRow, SeedStatus
from audit.store import SPECS, arrow_schema, to_batch

EXTRACTED_TABLES = ("articles", "blocks", "numbers", "links", "dates", "texts")  # a seed's tables, in order
_PARALLEL_MIN = 64  # below this many seeds, starting processes costs more than it saves
_CHUNK = 32
_IN_FLIGHT = 3  # chunks submitted per worker ahead of the one being written


@dataclass(frozen=True, slots=True, kw_only=True)
class Processed:
    """One seed's row for the seeds table and its records as Arrow batches (empty if rejected)."""

    row: SeedRow
    batches: dict[str, pa.RecordBatch]


_UNRAISABLE_FRAMES = frozenset({"__del__", "gc_callback", "callback"})


class SeedTimeout(Exception):
    """Raised inside a seed's extraction when it runs past the per-seed time limit."""


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise SeedTimeout in the block after `seconds` of wall time (main thread only; else no limit)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: types.FrameType | None) -> None:
        # an exception raised in a finalizer or gc callback would be swallowed: wait for the next tick
        if frame is not None and frame.f_code.co_name in _UNRAISABLE_FRAMES:
            return
        raise SeedTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    # repeat every 50 ms: a SeedTimeout raised inside a __del__ or gc callback is swallowed by Python
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.05)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def seed_records(
    root: Path, rel: str, limits: IngestLimits, options: ExtractOptions
) -> tuple[SeedRow, Extraction | None]:
    """Ingest and extract one seed: its seeds-table row and its records (None if rejected); never raises."""
    row, result, _ = _ingest_and_extract(root, rel, limits, options)
    return row, result


def _ingest_and_extract(
    root: Path, rel: str, limits: IngestLimits, options: ExtractOptions
) -> tuple[SeedRow, Extraction | None, bool]:
    """seed_records, and whether the outcome depends on the seed's bytes alone (may be cached): not a
    time-out, and not a file that could not be read."""
    seed: Seed | None = None
    try:
        # every step runs on the clock: reading, decoding and sniffing a seed as well as extracting it
        with time_limit(limits.timeout_s):
            ingested = ingest_seed(root, rel, limits)
            if isinstance(ingested, Rejection):
                return rejected_row(ingested), None, False
            seed = ingested
            result = extract_seed(seed, options)
    except SeedTimeout:
        return rejected_row(timed_out(root, rel, limits, seed)), None, False
    if isinstance(result, Rejection):
        return rejected_row(result), None, True
    row = SeedRow(
        seed_sha256=seed.seed_sha256,
        path=rel,
        size_bytes=seed.size_bytes,
        format=seed.format,
        encoding=seed.encoding,
        status=SeedStatus.EXTRACTED,
        reason=None,
        detail=None,
        n_articles=len(result.articles),
    )
    return row, result, True


def process_seed(root: Path, rel: str, limits: IngestLimits, options: ExtractOptions) -> Processed:
    """Ingest and extract one seed into its row and record batches; a bad seed is a rejected row."""
    row, result = seed_records(root, rel, limits, options)
    return Processed(row=row, batches={} if result is None else _batches([result]))


def _batches(results: Sequence[Extraction]) -> dict[str, pa.RecordBatch]:
    return {
        name: to_batch(SPECS[name], [r for result in results for r in getattr(result, name)])
        for name in EXTRACTED_TABLES
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class Chunk:
    """Consecutive seeds processed together: their rows, all their records as one batch per table, and
    what the extraction cache did for them."""

    rows: tuple[SeedRow, ...]
    batches: dict[str, pa.RecordBatch]
    cache: CacheStats | None = None


def process_chunk(
    root: Path,
    rels: Sequence[str],
    limits: IngestLimits,
    options: ExtractOptions,
    cache: ExtractionCache | None = None,
) -> Chunk:
    """Process consecutive seeds; a copy of a seed earlier in the chunk is rejected as a duplicate.

    With a cache, a seed whose entry is there is not ingested again past its digest, nor extracted; the
    chunk's batches are then its seeds' batches joined in seed order, the same rows as without it.
    """
    if cache is not None:
        return _cached_chunk(root, rels, limits, options, cache)
    found = [seed_records(root, rel, limits, options) for rel in rels]
    rows, dropped = reject_duplicates([row for row, _ in found], {})
    gone = set(dropped)
    results = [result for i, (_, result) in enumerate(found) if result is not None and i not in gone]
    return Chunk(rows=tuple(rows), batches=_batches(results))


def _cached_chunk(
    root: Path, rels: Sequence[str], limits: IngestLimits, options: ExtractOptions, cache: ExtractionCache
) -> Chunk:
    cache.stats = CacheStats()  # this chunk's counts (a forked worker's cache object is its own)
    found = [cached_seed(root, rel, limits, options, cache) for rel in rels]
    rows, dropped = reject_duplicates([row for row, _ in found], {})
    gone = set(dropped)
    parts = [batches for i, (_, batches) in enumerate(found) if batches and i not in gone]
    return Chunk(rows=tuple(rows), batches=_joined(parts), cache=cache.stats)


def reject_duplicates(rows: Sequence[SeedRow], seen: dict[str, str]) -> tuple[list[SeedRow], list[int]]:
    """The rows with each later copy of an extracted seed's bytes rejected as a duplicate, and the indices of
    those rejected. ``seen`` maps a digest to the path of its first copy; it is updated, so that chunks
    of seeds given in order are deduplicated against the earlier ones."""
    out, dropped = [], []
    for index, row in enumerate(rows):
        sha = row.seed_sha256
        if sha is not None and row.status == SeedStatus.EXTRACTED and sha in seen:
            row = duplicate_of(Processed(row=row, batches={}), seen[sha]).row
            dropped.append(index)
        elif sha is not None and row.status == SeedStatus.EXTRACTED:
            seen[sha] = row.path
        out.append(row)
    return out, dropped


def cached_seed(
    root: Path, rel: str, limits: IngestLimits, options: ExtractOptions, cache: ExtractionCache
) -> tuple[SeedRow, dict[str, pa.RecordBatch]]:
    """One seed's row and batches: from the cache when its digest has an entry, else extracted and stored."""
    sha = seed_digest(root, rel, limits)
    if sha is not None and (found := cache.get(sha)) is not None:
        return SeedRow(**{**found.row, "path": rel}), found.batches
    row, result, cacheable = _ingest_and_extract(root, rel, limits, options)
    batches = {} if result is None else _batches([result])
    if cacheable and row.seed_sha256 is not None:
        cache.put(row.seed_sha256, {k: v for k, v in asdict(row).items() if k != "path"}, batches)
    return row, batches


def seed_digest(root: Path, rel: str, limits: IngestLimits) -> str | None:
    """The sha256 of a seed's bytes if it is a readable regular file within the size limit under root;
    else None (ingest says why). The cache is looked up by it before any decoding or extraction."""
    if shown(rel) != rel:  # a name the tables cannot hold: ingest rejects it
        return None
    try:
        path = (root / rel).resolve(strict=True)
        if not path.is_relative_to(root.resolve()):
            return None
        data = read_seed_file(path, limits.max_bytes)
    except (OSError, RuntimeError):
        return None
    return None if len(data) > limits.max_bytes else sha256_bytes(data)


def extraction_cache(directory: Path, policy_sha256: str, max_seed_bytes: int) -> ExtractionCache:
    """The extraction cache under ``directory`` for runs with this number policy, size limit and code."""
    return ExtractionCache(
        directory,
        context_digest(extraction_context(policy_sha256, max_seed_bytes)),
        schemas={name: arrow_schema(SPECS[name]) for name in EXTRACTED_TABLES},
    )


def _joined(parts: Sequence[dict[str, pa.RecordBatch]]) -> dict[str, pa.RecordBatch]:
    """Per-seed batches joined table by table, in seed order (a table no seed has: an empty batch)."""
    joined = {}
    for name in EXTRACTED_TABLES:
        batches = [p[name] for p in parts if name in p and p[name].num_rows]
        table = pa.Table.from_batches(batches, schema=arrow_schema(SPECS[name])).combine_chunks()
        joined[name] = table.to_batches()[0] if table.num_rows else _batches([])[name]
    return joined


def rejected_row(rejection: Rejection) -> SeedRow:
    """The seeds-table row of a rejected seed."""
    return SeedRow(
        seed_sha256=rejection.seed_sha256,
        path=rejection.path,
        size_bytes=rejection.size_bytes,
        format=rejection.format,
        encoding=rejection.encoding,
        status=SeedStatus.REJECTED,
        reason=rejection.reason.value,
        detail=rejection.detail,
        n_articles=0,
    )


def duplicate_of(processed: Processed, first_path: str) -> Processed:
    """A seed whose bytes were already seen: rejected, pointing at the first copy."""
    rejection = Rejection(
        seed_sha256=processed.row.seed_sha256,
        path=processed.row.path,
        size_bytes=processed.row.size_bytes,
        reason=RejectReason.DUPLICATE,
        detail=f"the same bytes as {first_path}, which is audited instead",
        encoding=processed.row.encoding,
        format=processed.row.format,
    )
    return Processed(row=rejected_row(rejection), batches={})


_WORKER_CHUNKS = [0]  # chunks this process has processed as a worker


def _chunk_in_worker(
    root: Path,
    rels: Sequence[str],
    limits: IngestLimits,
    options: ExtractOptions,
    cache: ExtractionCache | None,
) -> Chunk:
    """process_chunk in a forked worker; from its second chunk on, what the first left alive is frozen.

    A worker's first chunk loads what extraction builds on first use (trafilatura, htmldate and pandas
    imported, dateparser's locales compiled, regex caches): about 120k objects that every later
    collection of the garbage collector walked again, a sixth of a worker's time (1.6 s of 9.7 s of
    CPU over the 181 corpus pages in one process; 1.0 s with them frozen). The first chunk's garbage
    is collected before the freeze; what is frozen is still freed when nothing refers to it.
    """
    if _WORKER_CHUNKS[0] == 1:
        gc.collect()
        gc.freeze()
    _WORKER_CHUNKS[0] += 1
    return process_chunk(root, rels, limits, options, cache)


@contextlib.contextmanager
def processing(
    root: Path,
    files: Sequence[str],
    limits: IngestLimits,
    options: ExtractOptions,
    jobs: int | None = None,
    cache: ExtractionCache | None = None,
) -> Iterator[Iterator[Chunk]]:
    """Process every seed in chunks, in forked worker processes when there are many; gives the chunks in
    the order given. On leaving early (an error, Ctrl-C), chunks not yet started are cancelled."""
    jobs = jobs or os.cpu_count() or 1
    chunks = [files[i : i + _CHUNK] for i in range(0, len(files), _CHUNK)]
    if jobs == 1 or len(files) < _PARALLEL_MIN:
        yield (process_chunk(root, chunk, limits, options, cache) for chunk in chunks)
        return
    # pyarrow imports pandas the first time it converts Python values into a batch: done here, before the
    # fork, the workers share that import instead of each making it (about 0.3 s of CPU each)
    _batches([])
    # a few chunks in flight per worker, not all: results the writer has not taken yet wait in memory
    pending: collections.deque[Future[Chunk]] = collections.deque()
    todo = iter(chunks)
    with forked_pool(jobs) as pool:  # on leaving early (an error, Ctrl-C), chunks not started are cancelled

        def submit() -> None:
            while len(pending) < _IN_FLIGHT * jobs and (chunk := next(todo, None)) is not None:
                pending.append(pool.submit(_chunk_in_worker, root, chunk, limits, options, cache))

        def results() -> Iterator[Chunk]:
            while pending:
                done = pending.popleft().result()
                submit()
                yield done

        submit()
        yield results()
