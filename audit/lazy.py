"""What the interpreter would spend on a run without need: modules Great Expectations imports for
expectations the suites may never use (loaded on first use instead), and the search for garbage among
everything still alive when the process exits.

GX imports ``scipy.stats`` (and with it ``scipy.spatial`` and ``scipy.linalg``) when it loads its
distribution expectations (KL divergence, KS tests); it touches the module only when one of them runs.
Loading it lazily takes about 30% off GX's import (2.4 to 1.7 s of CPU here); a suite that uses one of
those expectations loads it then, at the same cost as before. (``altair``, imported for the same
expectations, is not deferred: other GX modules load its submodules anyway.)
"""

from __future__ import annotations

import gc
import importlib.util
import sys
from typing import NoReturn

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


def exit_fast(code: int) -> NoReturn:
    """Exit with ``code`` as ``sys.exit`` does (atexit handlers, flushed streams), without the garbage
    collector searching the whole heap again while the interpreter tears its modules down.

    After a run the heap holds Great Expectations' classes and the run's objects (about 265k on the bundled
    seed); the teardown's collections searched them all, about 0.6 s of CPU of a 4 s run. Frozen objects
    are still freed as their modules are cleared; only the search for cycles among them is skipped, and the
    outputs are written and closed before this is called.
    """
    gc.freeze()
    sys.exit(code)
