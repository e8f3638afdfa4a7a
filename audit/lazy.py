"""Modules loaded on first use instead of at import: what Great Expectations imports for expectations the
suites may never use.

GX imports ``scipy.stats`` (and with it ``scipy.spatial`` and ``scipy.linalg``) when it loads its
distribution expectations (KL divergence, KS tests); it touches the module only when one of them runs.
Loading it lazily takes about 30% off GX's import (2.4 to 1.7 s of CPU here); a suite that uses one of
those expectations loads it then, at the same cost as before. (``altair``, imported for the same
expectations, is not deferred: other GX modules load its submodules anyway.)
"""

from __future__ import annotations

import importlib.util
import sys

DEFERRED = ("scipy.stats",)


def defer_unused_imports() -> None:
    """Put lazy modules for DEFERRED in sys.modules (no-op for any already imported or not installed)."""
    for name in DEFERRED:
        if name in sys.modules:
            continue
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            continue
        loader = importlib.util.LazyLoader(spec.loader)
        spec.loader = loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        loader.exec_module(module)  # runs nothing yet: the first attribute access does
        parent, _, child = name.rpartition(".")
        if parent:  # `from scipy import stats` reads the attribute of the parent package
            setattr(sys.modules[parent], child, module)
