"""Pools of forked worker processes, started without losing a Ctrl-C.

Workers are forked so they inherit what the parent has loaded (modules, compiled templates, the tables
being validated) instead of having it pickled. A signal that arrives while a worker is being forked runs
its handler inside an at-fork callback (logging has one), which prints the KeyboardInterrupt and drops
it: the run would go on as if it had not been interrupted. So every worker is forked at once, with SIGINT
and SIGTERM held back, and a signal caught meanwhile is raised again straight after.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import multiprocessing
import os
import signal
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pyarrow as pa

# handlers of the signals held while workers are forked (each worker puts them back first thing)
_HELD: dict[signal.Signals, Any] = {}


@contextlib.contextmanager
def forked_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """A pool of ``workers`` forked processes, all forked before it is returned; on leaving, work not yet
    started is cancelled and the running work is waited for."""
    fork = multiprocessing.get_context("fork")
    release_memory()  # each worker starts from the parent's pages: fewer of them, less memory in all
    pool = ProcessPoolExecutor(workers, mp_context=fork, initializer=_start_worker, initargs=(os.getpid(),))
    try:
        with _signals_held():  # a pool of forked workers forks them all at its first submit
            pool.submit(_nothing).result()
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def release_memory() -> None:
    """Give memory freed but kept by the allocators back to the system: Arrow's pool, and C's heap."""
    pa.default_memory_pool().release_unused()
    libc = ctypes.util.find_library("c")
    if libc is not None:
        with contextlib.suppress(OSError, AttributeError):  # malloc_trim is glibc's: absent elsewhere
            ctypes.CDLL(libc).malloc_trim(0)


def _start_worker(parent: int) -> None:
    """First thing in a forked worker: die with the parent, the held signals' handlers back, and what it
    inherited frozen.

    ``gc.freeze`` leaves the parent's objects (about 275k once Great Expectations is imported) out of the
    worker's full garbage collections: each walked them all (0.15 s), about 5% of extraction's time. The
    worker's own objects are collected as usual, and the parent's are left untouched, pages included.
    """
    die_with_parent(parent)
    _restore_signals()
    gc.freeze()


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(parent: int) -> None:
    """Have the kernel SIGKILL this worker when its parent ends, however it ends (Linux's
    PR_SET_PDEATHSIG); a worker whose parent is already gone ends now.

    Without it, workers of a parent killed with SIGKILL went on with their chunks for minutes, holding
    the memory and the CPUs the next run needs. Elsewhere than Linux the worker only checks its parent.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the signal was asked for
        os._exit(1)


def _nothing() -> None:
    return None


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM held back while worker processes are forked, then raised again."""
    caught: list[int] = []
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(sig) is not None:  # None: a handler not set from Python, left alone
                _HELD[sig] = signal.signal(sig, lambda n, _: caught.append(n))
    try:
        yield
    finally:
        _restore_signals()
        for n in caught:
            signal.raise_signal(n)


def _restore_signals() -> None:
    while _HELD:
        sig, handler = _HELD.popitem()
        signal.signal(sig, handler)
