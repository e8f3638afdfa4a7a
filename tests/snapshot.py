"""Behaviour snapshot: what a run produces, with its clock readings left out, to compare two versions.

    python -m tests.snapshot OUT.json [SET ...]

runs ``audit run`` on each set (``sample``: the bundled seeds; ``robustness``: tests/data/robustness;
``bench``: the 181-page corpus; ``htmldate``: the 283 htmldate pages) and writes one digest per table
(its schema without metadata, and its rows), the embedded manifest and ``results.json`` without the
run's times, ids and table file hashes (which hold the times), and the exit code. Two versions behave
the same on a set when their snapshots are equal: ``python -m tests.snapshot --diff A.json B.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("AUDIT_CORPUS", ROOT.parent / "shared" / "corpus"))
SETS = {
    "sample": ROOT / "seeds",
    "robustness": ROOT / "tests" / "data" / "robustness",
    "bench": CORPUS / "article-extraction-benchmark" / "html",
    "htmldate": CORPUS / "htmldate-en" / "html",
}
_CLOCK = ("run", "started_at", "finished_at", "duration_s", "run_id", "generated_at")


def _scrub(value: Any) -> Any:
    """``value`` without clock readings, run ids and file hashes (which cover embedded clock readings)."""
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items() if k not in _CLOCK and k != "sha256"}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def table_digest(path: Path) -> dict[str, Any]:
    table = pq.read_table(path)
    embedded = (table.schema.metadata or {}).get(b"news_audit.manifest")
    return {
        "schema": str(table.schema.remove_metadata()),
        "rows": table.num_rows,
        "data": _digest(table.to_pylist()),
        "manifest": _digest(_scrub(json.loads(embedded))) if embedded else None,
    }


def snapshot(name: str, seeds: Path, work: Path) -> dict[str, Any]:
    tables, report = work / name / "tables", work / name / "report"
    if seeds.is_relative_to(ROOT):  # read from the working folder, so the recorded seeds root compares
        seeds = Path(shutil.copytree(seeds, work / name / "seeds"))
    env = {**os.environ, "GX_ANALYTICS_ENABLED": "false", "PYTHONHASHSEED": "0", "PYTHONPATH": str(ROOT)}
    args = [
        sys.executable,
        "-m",
        "audit",
        "run",
        str(seeds),
        "--tables",
        str(tables),
        "--report",
        str(report),
    ]
    code = subprocess.run(args, env=env, capture_output=True, text=True, check=False).returncode
    found = report / "results.json"
    # the working folder differs between runs: paths under it are compared from it
    results = json.loads(found.read_text().replace(str(work), "<work>")) if found.is_file() else None
    return {
        "exit": code,
        "tables": {p.name: table_digest(p) for p in sorted(tables.glob("*.parquet"))},
        "results": _scrub(results),
    }


def diff(a: Any, b: Any, where: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            out += diff(a.get(key), b.get(key), f"{where}/{key}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            line for i, (x, y) in enumerate(zip(a, b, strict=True)) for line in diff(x, y, f"{where}[{i}]")
        ]
    return [] if a == b else [f"{where}: {str(a)[:160]!s} != {str(b)[:160]!s}"]


def main(argv: list[str]) -> int:
    if argv[:1] == ["--diff"]:
        a, b = (json.loads(Path(p).read_text()) for p in argv[1:3])
        common = sorted(set(a) & set(b))  # the sets both snapshots ran
        print(f"sets compared: {', '.join(common)}")
        a, b = ({k: shot[k] for k in common} for shot in (a, b))
        lines = diff(a, b)
        print("\n".join(lines) if lines else "identical")
        return 1 if lines else 0
    out, names = Path(argv[0]), argv[1:] or ["sample", "robustness"]
    with tempfile.TemporaryDirectory() as work:
        shots = {name: snapshot(name, SETS[name], Path(work)) for name in names}
    out.write_text(json.dumps(shots, indent=1, sort_keys=True))
    codes = ", ".join(f"{name} exit {shot['exit']}" for name, shot in shots.items())
    print(f"{out}: {codes}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
