"""Every regular expression the audit package compiles, found by running it: ``python -m tests.regex_census``.

``re`` compiles each pattern through ``re._compile``; wrapping it while every module of the package is imported
and the extractors run over the test seeds records module-level patterns (f-strings and joined word lists
included) and those compiled inline in functions. Printed as JSON: [pattern, flags, is_bytes, where].
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "audit"
_RE_DIR = Path(re.__file__).parent
SAMPLES = (
    ROOT / "seeds",
    ROOT / "tests" / "data" / "tamper",
    ROOT / "tests" / "data" / "report" / "seeds",
    ROOT / "tests" / "data" / "corpus",
    ROOT / "tests" / "data" / "dates",
)


def census() -> list[tuple[str, int, bool, str]]:
    """Import every module of the package and extract the sample seeds, recording each pattern compiled."""
    found: dict[tuple[Any, int], str] = {}
    original = re._compile  # type: ignore[attr-defined]

    def recording(pattern: Any, flags: Any) -> Any:
        where = _caller()
        if where is not None and isinstance(pattern, str | bytes):
            found.setdefault((pattern, int(flags)), where)
        return original(pattern, flags)

    re._compile = recording  # type: ignore[attr-defined]
    import audit

    for info in pkgutil.walk_packages(audit.__path__, "audit."):
        if info.name not in ("audit.__main__",) and not info.name.startswith("audit.spark"):
            importlib.import_module(info.name)
    _extract_samples()
    re._compile = original  # type: ignore[attr-defined]
    return [
        (p.decode("latin-1") if isinstance(p, bytes) else p, f, isinstance(p, bytes), w)
        for (p, f), w in found.items()
    ]


def _caller() -> str | None:
    """file:line of the nearest frame in the audit package, if the compile came from there."""
    frame = sys._getframe(2)
    while frame is not None:
        path = Path(frame.f_code.co_filename)
        if path.is_relative_to(PACKAGE):
            return f"{path.relative_to(ROOT)}:{frame.f_lineno}"
        if path.parent != _RE_DIR:  # a compile by another library
            return None
        frame = frame.f_back
    return None


def _extract_samples() -> None:
    from audit.extract import ExtractOptions, extract_seed
    from audit.extract.numbers import load_policy
    from audit.ingest import decode_seed
    from audit.records import Seed

    options = ExtractOptions(policy=load_policy(ROOT / "expectations" / "number_policy.json"))
    for folder in SAMPLES:
        for path in sorted(folder.iterdir()):
            if path.is_file():
                seed = decode_seed(path.read_bytes(), path.name)
                if isinstance(seed, Seed):
                    extract_seed(seed, options)


if __name__ == "__main__":
    sys.stdout.write(json.dumps(census()) + "\n")
