"""Where a run reads and where it writes must not overlap.

An output directory is replaced whole (``fsio.atomic_dir``), so one that holds the seeds, the suites or
another output would delete them; one inside the seeds directory would be read as seeds by the next run.
Both are refused before anything is read or written, as is an output directory that is not the audit's
own by its marker (``--report docs`` would delete docs/; see ``marks``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from audit.errors import UsageError
from audit.marks import ownership_problem


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


def check_replaceable(name: str, path: Path, kind: str) -> None:
    """Raise UsageError unless path is absent, empty, or the audit's own folder of ``kind`` (its marker,
    ``marks.MARKER``, lists everything in it): the audit never replaces a folder holding files it did not
    write, nor one an earlier version wrote (no marker), nor its own folder of another kind."""
    if problem := ownership_problem(name, path, kind):
        raise UsageError(problem)
