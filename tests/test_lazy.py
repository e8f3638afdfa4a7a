"""Modules deferred to first use: Great Expectations imports without loading scipy.stats, which still works."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT


def test_gx_imports_without_scipy_stats_and_stats_still_work() -> None:
    """After defer_unused_imports, importing GX leaves scipy.stats unloaded; its first use loads it."""
    code = (
        "import sys; from audit.lazy import defer_unused_imports; defer_unused_imports(); "
        "import great_expectations; "
        "print('scipy.stats._stats_py' in sys.modules); "
        "from scipy import stats; print(round(float(stats.entropy([0.5, 0.5])), 4)); "
        "print('scipy.stats._stats_py' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GX_ANALYTICS_ENABLED": "false"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert done.stdout.split() == ["False", "0.6931", "True"], done.stderr[-2000:]
