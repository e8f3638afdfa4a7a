"""Modules deferred to first use: Great Expectations imports without loading scipy.stats, which still works;
`audit run` forks its extraction workers before importing GX, pandas or Jinja2."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from audit import process
from audit.cli import main
from tests.conftest import GX_REJECTED, ROOT, break_first_expectation, run_args


def _python(code: str) -> subprocess.CompletedProcess[str]:
    """Run code in a fresh interpreter on this checkout, its output captured."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GX_ANALYTICS_ENABLED": "false"}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)


def test_gx_imports_without_scipy_stats_and_stats_still_work() -> None:
    """After defer_unused_imports, importing GX leaves scipy.stats unloaded; its first use loads it."""
    code = (
        "import sys; from audit.lazy import defer_unused_imports; defer_unused_imports(); "
        "import great_expectations; "
        "print('scipy.stats._stats_py' in sys.modules); "
        "from scipy import stats; print(round(float(stats.entropy([0.5, 0.5])), 4)); "
        "print('scipy.stats._stats_py' in sys.modules)"
    )
    done = _python(code)
    assert done.stdout.split() == ["False", "0.6931", "True"], done.stderr[-2000:]


def test_run_forks_its_extraction_workers_before_importing_gx_or_jinja() -> None:
    """`audit run` starts its extraction workers without GX or Jinja2: the parent imports GX while they
    extract (building the suites), and both are in place for validation and the report. pandas is there
    at the fork: pyarrow imports it to convert records, which every worker does."""
    code = (
        "import sys, contextlib; from audit import cli, process; process._PARALLEL_MIN = 1; "
        "seen = []; pool = process.forked_pool\n"
        "@contextlib.contextmanager\n"
        "def spy(n):\n"
        "    seen.append(sorted(m for m in ('great_expectations', 'pandas', 'jinja2') if m in sys.modules))\n"
        "    with pool(n) as p: yield p\n"
        "process.forked_pool = spy\n"
        f"code = cli.main(['run', {str(ROOT / 'seeds')!r}, '--tables', sys.argv[1] + '/t', "
        "'--report', sys.argv[1] + '/r', '--jobs', '2', '--no-cache', '-q'])\n"
        "print(code, seen, all(m in sys.modules for m in ('great_expectations', 'pandas', 'jinja2')))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GX_ANALYTICS_ENABLED": "false"}
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            [sys.executable, "-c", code, tmp], env=env, capture_output=True, text=True, check=False
        )
    assert done.stdout.splitlines()[-1] == "1 [['pandas']] True", done.stderr[-2000:]  # (the seed fails)


def test_a_suite_gx_rejects_stops_a_run_in_workers_before_anything_is_written(
    tmp_path: Path, suites_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Kwargs GX rejects, found while the workers extract: exit 2, the same one line, no tables or report."""
    monkeypatch.setattr(process, "_PARALLEL_MIN", 1)
    break_first_expectation(suites_dir)
    seeds = tmp_path / "in"
    seeds.mkdir()
    for i in range(3):
        (seeds / f"{i}.txt").write_text(f"Title {i}\n\nBody {i} said 3 people on 2024-01-0{i + 1}.\n")
    args = run_args(tmp_path, seeds, suites_dir, "--no-cache")
    args[args.index("--jobs") + 1] = "2"
    assert main(args) == 2
    err = capsys.readouterr().err
    assert GX_REJECTED in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "tables").exists() and not (tmp_path / "report").exists()


def test_an_extraction_worker_freezes_what_its_first_chunk_left() -> None:
    """A worker's first chunk runs as it is; before its second, what the first left alive (what
    extraction builds on first use) is collected and frozen, out of later collections' way."""
    code = (
        "import gc; from pathlib import Path; from audit import process; "
        "from audit.extract import ExtractOptions; from audit.extract.numbers import load_policy; "
        "from audit.ingest import DEFAULT_LIMITS; "
        f"root = Path({str(ROOT / 'seeds')!r}); rels = [p.name for p in root.iterdir()]; "
        f"options = ExtractOptions(policy=load_policy(Path({str(ROOT / 'expectations' / 'number_policy.json')!r}))); "
        "counts = []\n"
        "for _ in range(3):\n"
        "    chunk = process._chunk_in_worker(root, rels, DEFAULT_LIMITS, options, None)\n"
        "    counts.append(gc.get_freeze_count())\n"
        "print(counts[0], counts[1] > 1000, counts[2] == counts[1], [str(r.status) for r in chunk.rows])"
    )
    done = _python(code)
    assert done.stdout.strip() == "0 True True ['extracted']", done.stderr[-2000:]
