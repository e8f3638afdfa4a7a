"""Processed seeds -> the tables directory of the pandas engine: deduplicated, link-checked, with its manifest.

One writer per table streams the chunks in seed order (``store.TablesWriter``); a later copy of a seed's
bytes is rejected as a duplicate (``process.reject_duplicates``, the Spark engine's rule too). The whole
directory is staged and swapped in at once: all or nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.cache import CacheStats
from audit.config import Progress
from audit.fsio import atomic_dir, sha256_file
from audit.linkcheck import LinkChecker, is_live_candidate
from audit.manifest import embedded_manifest, seed_entry, write_manifest
from audit.process import Chunk, reject_duplicates
from audit.signing import sign_manifest
from audit.store import SPECS, TablesWriter, to_batch
from audit.validate import DerivedTexts


def write_tables(
    directory: Path,
    processed: Iterable[Chunk],
    core: dict[str, Any],
    started: float,
    check_links: LinkChecker | None = None,
    *,
    before_swap: Callable[[], None] | None = None,
    key: Ed25519PrivateKey | None = None,
) -> DerivedTexts:
    """Stream every seed's batches into the tables, then live link checks if asked, then the manifest
    (signed with ``key`` if given).

    All or nothing: everything is written into a staging directory that replaces ``directory`` whole
    (``before_swap`` runs just before).
    Returns the derived texts written (as many as memory allows), for the run's validation.
    """
    derived = DerivedTexts()
    cached: CacheStats | None = None  # what the extraction cache supplied, summed over the chunks
    seen: dict[str, str] = {}
    seeds: list[dict[str, Any]] = []
    urls: set[str] = set()
    with atomic_dir(
        directory,
        "choose another directory with --tables",
        kind="tables",
        place="--tables",
        before_swap=before_swap,
    ) as staging:
        writer = TablesWriter(staging)
        try:
            for chunk in processed:
                if chunk.cache is not None:
                    cached = cached or CacheStats()
                    cached.add(chunk.cache)
                rows, rejected = reject_duplicates(chunk.rows, seen)
                dropped = {sha for i in rejected if (sha := rows[i].seed_sha256) is not None}
                writer.write("seeds", to_batch(SPECS["seeds"], rows))
                for name, batch in chunk.batches.items():
                    kept = _without_seeds(batch, dropped)
                    writer.write(name, kept)
                    if name == "texts":
                        derived.add(kept)
                if check_links is not None and "links" in chunk.batches:
                    urls.update(checkable_urls(_without_seeds(chunk.batches["links"], dropped)))
                seeds.extend(seed_entry(row) for row in rows)
            link_hosts = None
            if check_links is not None:
                checks = check_links(sorted(urls))
                writer.write("link_checks", to_batch(SPECS["link_checks"], checks))
                link_hosts = checks.hosts  # each host's pacing statistics: run-time facts
            embedded = embedded_manifest(core, seeds)
            writer.close(embedded)
        except BaseException:
            writer.abort()
            raise
        tables = {
            name: {"file": f"{name}.parquet", "sha256": sha256_file(staging / f"{name}.parquet"), "n_rows": n}
            for name, n in writer.n_rows.items()
        }
        write_manifest(
            staging, core, embedded, seeds, tables, started, link_hosts, cached.as_dict() if cached else None
        )
        if key is not None:
            sign_manifest(staging, key)
    return derived


def with_progress(chunks: Iterable[Chunk], total: int, progress: Progress | None) -> Iterable[Chunk]:
    """The chunks, calling ``progress(seeds done, total)`` as each is handed on."""
    done = 0
    for chunk in chunks:
        done += len(chunk.rows)
        if progress is not None:
            progress(done, total)
        yield chunk


def _without_seeds(batch: pa.RecordBatch, dropped: set[str]) -> pa.RecordBatch:
    """The batch without the records of the given seeds (copies of seeds already written)."""
    if not dropped or batch.num_rows == 0:
        return batch
    keep = pc.invert(pc.is_in(batch.column("seed_sha256"), value_set=pa.array(sorted(dropped))))
    return batch.filter(keep)


def checkable_urls(batch: pa.RecordBatch) -> list[str]:
    """URLs of a links batch that pass the offline syntax checks, or fail them only by being IP literals."""
    rows = batch.select(["url", "syntax_ok", "syntax_error_code", "host"]).to_pylist()
    return [r["url"] for r in rows if is_live_candidate(r["syntax_ok"], r["syntax_error_code"], r["host"])]
