"""Validation: the tables, with provenance recomputed from the seeds, run through the suites -> CheckResults.

    gx.py          the only code that touches Great Expectations: context, suites, runs, plain outcomes
    frames.py      the tables as pandas frames, batch by batch, with the provenance columns
    run.py         each suite over its table's frames (in worker processes when asked)
    results.py     outcomes -> CheckResult and Finding records, with their evidence
    facts.py       the ``tables`` frame: each table's file against the manifest (both engines)
    provenance.py  seed_ok, span_ok, record_ok and reextracted_ok of every row, one walk over the seeds
    seeds.py       seed files read again, and the texts derived from them
    spans.py       whether each row's span decodes to its value
    reextract.py   seeds extracted again, their rows compared digest for digest

The names below load their module on first use: ``audit.validate.suites`` builds its GX suites with ``gx.py``, and
``frames.py`` and ``run.py`` read ``audit.validate.suites``' rules, so this package's face imports neither.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from audit.validate.frames import Frames, load_frames, rows_where
    from audit.validate.reextract import reextraction
    from audit.validate.run import run_suites
    from audit.validate.seeds import DerivedTexts, reread_seed


def __getattr__(name: str) -> Any:
    if name in ("Frames", "load_frames", "rows_where"):
        from audit.validate import frames

        return getattr(frames, name)
    if name == "run_suites":
        from audit.validate import run

        return run.run_suites
    if name == "reextraction":
        from audit.validate import reextract

        return reextract.reextraction
    if name in ("DerivedTexts", "reread_seed"):
        from audit.validate import seeds

        return getattr(seeds, name)
    raise AttributeError(f"module 'audit.validate' has no attribute {name!r}")


__all__ = ["DerivedTexts", "Frames", "load_frames", "reextraction", "reread_seed", "rows_where", "run_suites"]
