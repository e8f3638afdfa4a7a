"""Shared fixtures: the bundled seed, a seeds directory per test, the repository's suites."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests check behaviour, not speed (speed is measured under benchmarks/): no per-example deadline,
# which a loaded machine would miss at random.
settings.register_profile("news-audit", deadline=None)
settings.load_profile("news-audit")

os.environ["GX_ANALYTICS_ENABLED"] = "false"
# every run the tests start, here or in a child process (whose environment may be copied at import), keeps
# its extraction cache in a folder of the test session's, never in the user's ~/.cache
_CACHE_HOME = tempfile.mkdtemp(prefix="news-audit-test-cache-")
os.environ["XDG_CACHE_HOME"] = _CACHE_HOME
atexit.register(shutil.rmtree, _CACHE_HOME, ignore_errors=True)

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "seeds" / "000_9fc08baae7766353.txt"
SAMPLE_SHA256 = "e3fc530b46d1eb63c166e47441f3a62cd469f4ecc9353b88a43399585ba2c9b9"
SUITES = ROOT / "expectations"


@pytest.fixture(autouse=True)
def private_extraction_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Each test's runs use a cache of their own (empty at the start), never the user's ~/.cache."""
    home = tmp_path_factory.mktemp("xdg-cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    return home / "news-audit" / "extraction"


@pytest.fixture
def sample_bytes() -> bytes:
    """The bundled sample seed's bytes."""
    return SAMPLE.read_bytes()


@pytest.fixture
def seeds_dir(tmp_path: Path) -> Path:
    """A seeds directory holding a copy of the bundled sample seed."""
    d = tmp_path / "seeds"
    d.mkdir()
    shutil.copy(SAMPLE, d / SAMPLE.name)
    return d


@pytest.fixture
def suites_dir(tmp_path: Path) -> Path:
    """A private copy of the repository's suites, safe to edit in a test."""
    d = tmp_path / "expectations"
    shutil.copytree(SUITES, d, ignore=shutil.ignore_patterns("waivers.json"))
    return d


# the one line a run prints for the expectation break_first_expectation leaves GX to reject
GX_REJECTED = "articles.json: /expectations/0: expect_column_values_to_not_be_null: "


def break_first_expectation(suites: Path) -> None:
    """Give the first expectation of a suites copy kwargs that pass the suite schema and GX rejects."""
    path = suites / "articles.json"
    doc = json.loads(path.read_text())
    doc["expectations"][0]["kwargs"] = {"column": "title", "mostly": 7}
    path.write_text(json.dumps(doc))


def run_args(tmp_path: Path, seeds: Path, suites: Path, *extra: str) -> list[str]:
    """CLI arguments for `run` writing into tmp_path."""
    return [
        "run",
        str(seeds),
        "--tables",
        str(tmp_path / "tables"),
        "--report",
        str(tmp_path / "report"),
        "--suites",
        str(suites),
        "--jobs",
        "1",
        *extra,
    ]


def namespace_unavailable(*unshare_flags: str, tools: tuple[str, ...] = ("unshare",)) -> str | None:
    """Why a test cannot run in a private namespace (``unshare --net``, ``--mount``), or None if it can."""
    if missing := [t for t in tools if shutil.which(t) is None]:
        return f"needs {', '.join(missing)}"
    if os.geteuid() != 0:
        return "needs root to create a namespace"
    probe = subprocess.run(["unshare", *unshare_flags, "true"], capture_output=True, check=False)
    return None if probe.returncode == 0 else f"unshare failed: {probe.stderr.decode().strip()}"


def key_pair(directory: Path) -> tuple[Path, Path]:
    """An Ed25519 key pair as PEM files: (private, public)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private, public = directory / "team.pem", directory / "team.pub.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def count_calls(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> list[str]:
    """The relative paths a ``(root, rel, ...)`` function of a module is called with from now on, in order."""
    calls: list[str] = []
    real = getattr(module, name)

    def counted(root: Path, rel: str, *args: object) -> object:
        calls.append(rel)
        return real(root, rel, *args)

    monkeypatch.setattr(module, name, counted)
    return calls
