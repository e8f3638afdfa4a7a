"""Extraction cost per article, this tree against a baseline revision, in the same run on the same machine.

``python -m benchmarks attribution`` (or ``bench_attribution.main(baseline=REV, rounds=N)``): the baseline
revision's package is exported with ``git archive`` into a temporary folder; each round measures, in a
fresh process per tree and alternating the two, the CPU time (``time.process_time``: the machine is
shared, and wall time moved by a third between runs) of ``extract_seed`` (the whole extraction of a
plain-text seed: numbers with attribution, dates, links) and of ``find_numbers`` alone, over every PolNeAR
article (train and dev, 924 texts). The fastest round of each tree is reported, and the ratio.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "polnear"
BASELINE = "4b052f9"  # the revision before attribution carried sources across sentences (issue 18)


def time_tree(corpus: str) -> dict[str, float]:
    """Seconds per article of extract_seed and of find_numbers over the corpus, in this process's tree."""
    from audit.extract import ExtractOptions, extract_seed, read_documents
    from audit.extract.numbers import default_policy_path, find_numbers, load_policy
    from audit.ingest import decode_seed
    from audit.records import Seed

    policy = load_policy(default_policy_path())
    options = ExtractOptions(policy=policy)
    seeds = [decode_seed(p.read_bytes(), p.name) for p in sorted(Path(corpus).glob("*/text/*.txt"))]
    texts = [s for s in seeds if isinstance(s, Seed)]
    docs = [d for s in texts for d in read_documents(s) if not isinstance(d, str)]  # type: ignore[union-attr]
    started = time.process_time()
    for seed in texts:
        extract_seed(seed, options)
    whole = time.process_time() - started
    started = time.process_time()
    for doc in docs:
        find_numbers(doc.text, doc.page.segments, policy=policy)
    numbers = time.process_time() - started
    return {"extract_seed": whole / len(texts), "find_numbers": numbers / len(texts), "articles": len(texts)}


def _export(rev: str, into: Path) -> None:
    """The package, expectations and schemas of revision ``rev`` under ``into``."""
    data = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "audit", "expectations", "schemas"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(into, filter="data")


def _run(tree: Path, cwd: Path) -> dict[str, float]:
    """time_tree in a fresh Python that imports ``audit`` from ``tree`` (cwd is kept off the path's head)."""
    code = (
        "import json, audit; from benchmarks.bench_attribution import time_tree; "
        f"print(json.dumps({{**time_tree({str(CORPUS)!r}), 'package': audit.__file__}}))"
    )
    env = {**os.environ, "PYTHONPATH": f"{tree}{os.pathsep}{ROOT}"}
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env, cwd=cwd
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    if not str(got.pop("package")).startswith(str(tree)):
        raise RuntimeError(f"the timed process did not import audit from {tree}")
    return dict(got)


def main(baseline: str = BASELINE, rounds: int = 5) -> None:
    """Print per-article extraction cost of the baseline and of this tree, and their ratio."""
    if not (CORPUS / "dev" / "text").is_dir():
        print(f"PolNeAR not found at {CORPUS}: skipped")
        return
    with tempfile.TemporaryDirectory(prefix="audit-base-") as tmp, tempfile.TemporaryDirectory() as cwd:
        _export(baseline, Path(tmp))
        best: dict[str, dict[str, float]] = {}
        for _ in range(rounds):
            for name, tree in (("baseline", Path(tmp)), ("this tree", ROOT)):
                got = _run(tree, Path(cwd))
                mine = best.setdefault(name, got)
                for key in ("extract_seed", "find_numbers"):
                    mine[key] = min(mine[key], got[key])
    for key in ("extract_seed", "find_numbers"):
        a, b = best["baseline"][key] * 1000, best["this tree"][key] * 1000
        print(
            f"{key:<13} baseline {baseline}: {a:.2f} ms/article  this tree: {b:.2f} ms/article  ratio {b / a:.2f}"
        )
    print(f"({int(best['this tree']['articles'])} PolNeAR articles, fastest of {rounds} alternating rounds)")
