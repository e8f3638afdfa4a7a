"""Records extracted again from their seeds at validation, to check values no span reproduces.

A span check proves a row's ``text`` is in its seed; values computed from it (a link's ``url``, a number's
``value``, a date's resolution) are only as trustworthy as the extraction that made them. ``audit validate``
therefore extracts every seed again (``--reextract all``, the default) and checks that each stored row of
those seeds is, digest for digest, a row the extraction makes: an edited value fails even when its
``record_sha256`` was recomputed. ``--reextract sample`` extracts one seed in 16, chosen by an HMAC of its
sha256 under a key drawn afresh for each validation and never written down, so someone editing the tables
cannot know which seeds will be looked at (a public rule, such as "sha256 starts with 0", tells them).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa

from audit.config import Reextract
from audit.errors import ConfigError
from audit.extract import ExtractOptions
from audit.extract.number_policy import load_policy
from audit.forking import forked_pool
from audit.fsio import sha256_file
from audit.ingest import DEFAULT_MAX_BYTES, IngestLimits, recorded_limits
from audit.process import process_seed
from audit.records import RejectReason
from audit.store import DIGEST_COLUMN, record_digest
from audit.validate.spans import codes_of

REEXTRACTED_TABLES = ("articles", "blocks", "numbers", "links", "dates", "texts")
SAMPLE_ONE_IN = 16  # --reextract sample: the share of seeds extracted again


class Reextraction:
    """Each chosen seed's records extracted again, as the digests of each table's rows, a few seeds kept.

    ``prefetch`` extracts the chosen ones of the next seeds in worker processes while ``workers`` is open
    (the provenance walk asks for the seeds of each window before checking their rows).
    """

    # not a dataclass: a cache around extraction, and its worker pool

    def __init__(
        self,
        root: Path,
        paths: Mapping[str, str],
        options: ExtractOptions,
        every: bool,
        keep: int = 2048,
        max_bytes: int = DEFAULT_MAX_BYTES,
        key: bytes | None = None,
    ) -> None:
        self._root, self._paths, self._options, self._every = root, dict(paths), options, every
        self._keep = keep
        self._key = key if key is not None else secrets.token_bytes(32)  # the sample's secret
        # the run's size limit; no clock: a time limit would make the outcome depend on the machine's load
        self._limits = IngestLimits(max_bytes=max_bytes, timeout_s=None)
        self._done: OrderedDict[str, _Digests] = OrderedDict()
        self._pool: ProcessPoolExecutor | None = None

    def for_seeds(self, paths: Mapping[str, str]) -> Reextraction:
        """The same re-extraction (policy, sample, size limit) for these seeds only, with nothing cached:
        what a Spark task needs for its seed."""
        return Reextraction(
            self._root, paths, self._options, self._every, self._keep, self._limits.max_bytes, self._key
        )

    def chosen(self, sha: str) -> bool:
        """Whether this seed is extracted again: every seed, or one in SAMPLE_ONE_IN by the secret key."""
        if self._every:
            return True
        mac = hmac.new(self._key, sha.encode("ascii", "replace"), hashlib.sha256).digest()
        return int.from_bytes(mac[:4], "big") % SAMPLE_ONE_IN == 0

    def digests(self, sha: str, table: str) -> frozenset[str] | None:
        """The record digests extraction makes for this seed in this table; None if the seed is not chosen
        (or not in the seeds table, which the seed checks report)."""
        if table not in REEXTRACTED_TABLES or not self.chosen(sha) or sha not in self._paths:
            return None
        if sha not in self._done:
            self._keep_found(sha, _digests_of(self._root, self._paths[sha], self._limits, self._options))
        found = self._done[sha]
        return None if found is None else found.get(table, frozenset())

    @contextlib.contextmanager
    def workers(self, jobs: int) -> Iterator[None]:
        """Extract prefetched seeds in ``jobs`` forked processes while the block runs (one: in this one)."""
        if jobs < 2:
            yield
            return
        with forked_pool(jobs) as pool:
            self._pool = pool
            try:
                yield
            finally:
                self._pool = None

    def prefetch(self, shas: Iterable[str]) -> None:
        """Extract the chosen ones of these seeds now, in the workers if there are (at most ``keep``)."""
        todo = [s for s in shas if s in self._paths and self.chosen(s) and s not in self._done]
        todo = todo[: self._keep]
        if self._pool is None or len(todo) < _PARALLEL_MIN:
            return  # extracted one by one as their rows are checked
        jobs = [(self._root, self._paths[sha], self._limits, self._options) for sha in todo]
        for sha, found in zip(todo, self._pool.map(_digests_job, jobs, chunksize=4), strict=True):
            self._keep_found(sha, found)

    def _keep_found(self, sha: str, found: _Digests) -> None:
        self._done[sha] = found
        if len(self._done) > self._keep:
            self._done.popitem(last=False)


_Digests = dict[str, frozenset[str]] | None
_PARALLEL_MIN = 8  # fewer seeds than this are not worth a round trip to the workers


def _digests_of(root: Path, rel: str, limits: IngestLimits, options: ExtractOptions) -> _Digests:
    """A seed's rows' digests by table; None when it is over the size limit (tables made before the
    manifest recorded the run's limit may hold a seed accepted with a larger --max-seed-bytes)."""
    done = process_seed(root, rel, limits, options)
    if done.row.reason == RejectReason.TOO_LARGE:
        return None
    return {name: frozenset(b.column(DIGEST_COLUMN).to_pylist()) for name, b in done.batches.items()}


def _digests_job(job: tuple[Path, str, IngestLimits, ExtractOptions]) -> _Digests:
    return _digests_of(*job)


def reextraction(
    mode: Reextract, root: Path, paths: Mapping[str, str], policy_path: Path, manifest: Mapping[str, object]
) -> Reextraction | None:
    """The re-extraction ``mode`` asks for, with the number policy the tables were made with.

    Raises ConfigError when the policy file is not the one the manifest names: rows extracted under
    another policy would all differ.
    """
    if mode is Reextract.NONE:
        return None
    recorded = manifest.get("policy")
    fix = "Restore that policy file, or pass --reextract none to validate without extracting seeds again."
    if not policy_path.is_file():
        raise ConfigError(f"{policy_path}: no such number policy file, needed to extract seeds again. {fix}")
    digest = sha256_file(policy_path)
    if isinstance(recorded, Mapping) and digest not in recorded.values():
        raise ConfigError(
            f"{policy_path}: not the number policy the tables were made with (the manifest records "
            f"{', '.join(f'{k} {v}' for k, v in recorded.items())}; this file's sha256 is {digest}). {fix}"
        )
    options = ExtractOptions(policy=load_policy(policy_path))
    max_bytes = recorded_limits(manifest).max_bytes
    return Reextraction(root, paths, options, mode is Reextract.ALL, max_bytes=max_bytes)


def reextracted_ok(
    table: pa.Table, expected: Callable[[str], frozenset[str] | None] | None
) -> pa.BooleanArray:
    """Per row: is it a row its seed's re-extraction makes (null: seed not extracted again).

    Compared by the digest of the row's values, computed here, not by its stored ``record_sha256``: an
    edited value left beside its old digest would otherwise pass, since that digest is extraction's own
    (and ``record_ok`` is recomputed only for a file whose sha256 differs from the manifest's, which an
    editor can rewrite)."""
    n = table.num_rows
    if expected is None or n == 0 or "seed_sha256" not in table.column_names:
        return pa.nulls(n, pa.bool_())
    codes, shas = codes_of(table.column("seed_sha256").combine_chunks())
    wanted = [None if sha is None else expected(sha) for sha in shas]
    out: list[bool | None] = [None] * n
    chosen = np.flatnonzero(np.asarray([w is not None for w in wanted] + [False])[codes]).tolist()
    if chosen:
        for i, row in zip(chosen, table.take(pa.array(chosen)).to_pylist(), strict=True):
            out[i] = record_digest(row) in (wanted[codes[i]] or ())
    return pa.array(out, pa.bool_())
