"""Where a run reads and where it writes must not overlap.

An output directory is replaced whole (``fsio.atomic_dir``), so one that holds the seeds, the suites or
another output would delete them; one inside the seeds directory would be read as seeds by the next run.
Both are refused before anything is read or written, as is an output directory that holds files no
audit wrote (``--report docs`` would delete docs/).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from audit.errors import UsageError
from audit.fsio import KEPT


def check_apart(
    reads: Mapping[str, Path | None],
    writes: Mapping[str, Path | None],
    *,
    file_by_file: frozenset[str] = frozenset(),
) -> None:
    """Raise UsageError if a written directory is, holds or lies inside a read place or another written one.

    Keys name each place as the user gave it ("--tables", "the seeds directory"); None values are skipped.
    Written places are replaced whole, except those named in ``file_by_file`` (a cache): for them only
    being inside a read place, or the same place, is refused.
    """
    read = {name: path.resolve() for name, path in reads.items() if path is not None}
    written = {name: path.resolve() for name, path in writes.items() if path is not None}
    for out_name, out in written.items():
        whole = out_name not in file_by_file
        for in_name, place in read.items():
            if problem := _overlap(out_name, out, in_name, place, whole=whole, reading=True):
                raise UsageError(problem)
        for other_name, other in written.items():
            if other_name == out_name:
                continue
            if problem := _overlap(out_name, out, other_name, other, whole=whole, reading=False):
                raise UsageError(problem)


def _overlap(out_name: str, out: Path, name: str, place: Path, *, whole: bool, reading: bool) -> str | None:
    if out == place:
        return f"{out_name} and {name} are the same directory ({out}). Choose another {out_name}."
    if whole and place.is_relative_to(out):
        return (
            f"{out_name} ({out}) holds {name} ({place}), and the audit replaces {out_name} whole on each "
            f"run: {name} would be deleted. Choose a {out_name} that does not hold it."
        )
    if reading and out.is_relative_to(place):  # (one output inside another: the outer one "holds" it)
        return (
            f"{out_name} ({out}) lies inside {name} ({place}): the next run would read the audit's "
            f"own outputs as its input. Choose a {out_name} outside it."
        )
    return None


def check_replaceable(name: str, path: Path, written_by_audit: str) -> None:
    """Raise UsageError unless path is absent, an empty directory, or one an earlier run wrote.

    ``written_by_audit`` is the file every such directory holds ("manifest.json" for tables).
    """
    if not path.exists() and not path.is_symlink():
        return
    if not path.is_dir():
        raise UsageError(
            f"{name} {path}: is a file, and the audit writes a directory there. Choose another {name}."
        )
    if (path / written_by_audit).is_file():
        return
    foreign = sorted(p.name for p in path.iterdir() if p.name not in KEPT)
    if foreign:
        raise UsageError(
            f"{name} {path}: holds files no audit wrote (e.g. {foreign[0]}), and the audit replaces {name} "
            f"whole on each run: they would be deleted. Choose a new or empty directory, or one an earlier run wrote."
        )
