"""pyproject.toml declares what the package needs at run time."""

from __future__ import annotations

import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {canonicalize_name(Requirement(r).name) for r in project["dependencies"]}


def test_the_html_cleaner_justext_imports_is_declared() -> None:
    """Regression: justext imports lxml.html.clean, its own project since lxml 5.2 (`lxml_html_clean`);
    without it declared, an older pip installed none and every HTML seed ended in exit 3."""
    from justext import core  # noqa: F401  (imports lxml.html.clean)

    assert canonicalize_name("lxml_html_clean") in _declared()


def test_the_package_version_is_the_projects() -> None:
    """audit.version (what manifests, cache keys and --version record) says what pyproject.toml says."""
    from audit.version import __version__

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert __version__ == project["version"]
