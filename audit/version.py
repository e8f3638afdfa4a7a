"""The package's version: one place, imported by the modules that record it (manifest, cache, CLI)."""

__version__ = "0.1.0"  # pyproject.toml's [project] version; tests/test_packaging.py keeps them equal
