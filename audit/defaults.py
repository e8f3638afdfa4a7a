"""Where the default suites, number policy and JSON Schemas are.

Git keeps one copy of each, at the top of the repository (``expectations/``, ``schemas/``). A wheel carries
them inside the package, in ``audit/_defaults/`` (``setup.py`` copies them there at build time); a source
checkout or an editable install reads the repository's own.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
BUNDLED = _PACKAGE / "_defaults"


def data_dir(name: str) -> Path:
    """The directory of packaged data ``name`` ("expectations" or "schemas"): in the wheel, else the checkout's."""
    bundled = BUNDLED / name
    return bundled if bundled.is_dir() else _PACKAGE.parent / name


SUITES_DIR = data_dir("expectations")
SCHEMAS_DIR = data_dir("schemas")
