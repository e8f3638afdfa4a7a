"""The tool as a team installs it: build the wheel (via the sdist), install it into a fresh venv with the
locked dependencies, and audit a seed from an empty directory with the packaged suites."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLE

pytestmark = pytest.mark.slow

ENV = {**os.environ, "GX_ANALYTICS_ENABLED": "false", "UV_COMPILE_BYTECODE": "1"}


def _uv(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "uv", *args], cwd=cwd, env=ENV, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ directory of a fresh venv holding the wheel built from this checkout."""
    pytest.importorskip("uv")
    root = tmp_path_factory.mktemp("wheel")
    source = root / "src"  # a clean copy: the build must not depend on files git does not hold
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    _uv("build", "--out-dir", str(root / "dist"), str(source))  # sdist, then the wheel from the sdist
    [wheel] = (root / "dist").glob("*.whl")
    _uv("venv", "--python", sys.executable, str(root / "venv"))
    python = root / "venv" / "bin" / "python"
    _uv("pip", "install", "--python", str(python), "-c", str(ROOT / "requirements" / "lock.txt"), str(wheel))
    return root / "venv" / "bin"


def _run(bin_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bin_dir / "news-audit"), *args], cwd=cwd, env=ENV, capture_output=True, text=True, check=False
    )


def test_wheel_audits_from_an_empty_directory(installed: Path, tmp_path: Path) -> None:
    """With no expectations/ here, the packaged suites are used and said so; the report is whole."""
    (tmp_path / "seeds").mkdir()
    shutil.copy(SAMPLE, tmp_path / "seeds" / SAMPLE.name)
    done = _run(installed, tmp_path, "run")
    assert done.returncode in (0, 1), done.stderr
    assert "suites: the packaged defaults" in done.stdout
    doc = json.loads((tmp_path / "reports" / "results.json").read_text())
    assert doc["manifest"]["suites_origin"] == "packaged" and len(doc["rules"]) > 50
    assert (tmp_path / "reports" / "index.html").stat().st_size > 10_000
    assert (tmp_path / "reports" / "junit.xml").is_file()


def test_wheel_init_then_run_uses_the_copy(installed: Path, tmp_path: Path) -> None:
    """init writes an editable copy of the suites (once); the next run reads it, not the packaged ones."""
    assert _run(installed, tmp_path, "--version").stdout.startswith("news-audit ")
    assert _run(installed, tmp_path, "init").returncode == 0
    assert sorted(p.name for p in (tmp_path / "expectations").iterdir()) == sorted(
        p.name for p in (ROOT / "expectations").glob("*.json")
    )
    again = _run(installed, tmp_path, "init")
    assert again.returncode == 2 and "never overwrites" in again.stderr
    (tmp_path / "seeds").mkdir()
    shutil.copy(SAMPLE, tmp_path / "seeds" / SAMPLE.name)
    done = _run(installed, tmp_path, "run", "--format", "json")
    assert done.returncode in (0, 1), done.stderr
    assert json.loads(done.stdout)["suites_origin"] == "expectations"


def test_wheel_usage_error_is_fast_and_light(installed: Path, tmp_path: Path) -> None:
    """A missing seeds directory is exit 2 with one line, without importing GX, pandas or pyarrow."""
    code = (
        "import sys; from audit.cli import main; rc = main(['run', 'nope']); "
        "heavy = [m for m in ('great_expectations', 'pandas', 'pyarrow', 'trafilatura') if m in sys.modules]; "
        "print(rc, heavy)"
    )
    done = subprocess.run(
        [str(installed / "python"), "-c", code], cwd=tmp_path, env=ENV, capture_output=True, text=True, check=False
    )
    assert done.stdout.strip() == "2 []", done.stderr
    assert done.stderr.strip() == "error: nope: the seeds directory does not exist. Pass an existing directory of seed files."
