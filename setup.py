"""Build hook only (pyproject.toml holds the metadata): the wheel carries the default suites and schemas.

Git keeps them once, at the top of the repository (expectations/, schemas/), where people edit them; the
wheel gets a copy in audit/_defaults/, which audit/defaults.py reads when installed.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

DATA = ("expectations", "schemas")


class BuildWithDefaults(build_py):
    """build_py, plus expectations/*.json and schemas/*.json into audit/_defaults/ of the build."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout's own copies
        for name in DATA:
            target = Path(self.build_lib, "audit", "_defaults", name)
            self.mkpath(str(target))
            for source in sorted(Path(name).glob("*.json")):
                self.copy_file(str(source), str(target / source.name))


setup(cmdclass={"build_py": BuildWithDefaults})
