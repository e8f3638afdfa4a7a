"""Per-host pacing that adapts, and what each host's pacing saw (its statistics).

Every host has its own ``HostPacer``: at most ``concurrency`` requests in flight, request starts at least
``interval`` seconds apart. The interval starts at the host's ceiling (its configured least interval), is
doubled on each 429 or 503 answer, and shrinks back towards the ceiling, never past it, with every good
answer. A Retry-After closes the host (not only the URL that got it) until the time asked for. Hosts are
paced independently; one global semaphore bounds the requests in flight over all hosts.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from audit.link_policy import HostLimits

__all__ = ["HostPacer", "HostStats", "LinkProgress"]

SLOW_CODES = frozenset({429, 503})
SLOWEST_INTERVAL = 5.0  # seconds: how slow a host that keeps answering 429 or 503 is paced at worst
FIRST_STEP = 0.05  # the interval a host with no ceiling (interval 0) is slowed to on its first 429/503
RECOVERY = 0.7  # each good answer shrinks the interval by this factor, back towards the ceiling


@dataclass(slots=True, kw_only=True)
class HostStats:
    """What the checks of one host saw; mutable while the run goes on, then turned into a document."""

    host: str
    limits: HostLimits
    urls: int = 0
    cache_hits: int = 0
    requests: int = 0
    errors: int = 0  # requests with no answer (timeout, connection refused or reset)
    retries: int = 0
    slowdowns: int = 0
    retry_after_wait_s: float = 0.0
    latency_s: float = 0.0  # summed over answered requests
    slowest_interval: float = 0.0
    final_interval: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    starts: list[float] = field(default_factory=list)  # monotonic request start times
    last_end: float = 0.0

    def document(self) -> dict[str, Any]:
        """The statistics as JSON-ready values (manifest.json run.link_hosts, results.json, the report)."""
        answered = sum(self.statuses.values())
        span = self.last_end - self.starts[0] if self.starts else 0.0
        return {
            "host": self.host,
            "urls": self.urls,
            "cache_hits": self.cache_hits,
            "requests": self.requests,
            "statuses": {str(code): n for code, n in sorted(self.statuses.items())},
            "errors": self.errors,
            "retries": self.retries,
            "rate_limited": self.statuses.get(429, 0),
            "slowdowns": self.slowdowns,
            "retry_after_wait_s": round(self.retry_after_wait_s, 3),
            "mean_latency_s": round(self.latency_s / answered, 4) if answered else None,
            "effective_rate": round(self.requests / span, 2) if span > 0 else None,
            "concurrency": self.limits.concurrency,
            "ceiling_rate": _rate(self.limits.interval),
            "slowest_rate": _rate(self.slowest_interval),
            "final_rate": _rate(self.final_interval),
            "rate_timeline": self.timeline(),
        }

    def timeline(self, n_windows: int = 12) -> list[float]:
        """Requests per second in equal windows over the host's busy time (at least 2 s each)."""
        if len(self.starts) < 2:
            return []
        first, last = self.starts[0], self.starts[-1]  # the last window holds the last start, never empty
        width = max(2.0, (last - first) / n_windows)
        counts = Counter(int((t - first) // width) for t in self.starts)
        return [round(counts.get(i, 0) / width, 2) for i in range(int((last - first) // width) + 1)]


def _rate(interval: float) -> float | None:
    """Requests per second an interval allows; None for no interval (no ceiling but the concurrency)."""
    return round(1.0 / interval, 3) if interval > 0 else None


class HostPacer:
    # not a dataclass: the host's adaptive interval, its slots, and the time its next request may start
    def __init__(self, stats: HostStats, max_retry_after: float) -> None:
        self.stats = stats
        self.ceiling = stats.limits.interval
        self.interval = self.ceiling
        self.paused_until = 0.0
        self._slots = asyncio.Semaphore(stats.limits.concurrency)
        self._turn = asyncio.Lock()
        self._next_start = 0.0
        self._max_retry_after = max_retry_after
        self.in_flight = 0
        stats.slowest_interval = stats.final_interval = self.interval

    @contextlib.asynccontextmanager
    async def slot(self, shared: asyncio.Semaphore) -> AsyncIterator[Callable[[], None]]:
        """Hold one of the host's slots and one shared slot; yield the callback to call once the request is sent.

        While the host has an interval, its turn stays taken until the request is on the wire, so the time
        a new connection takes to open cannot bunch two requests closer than the interval at the server.
        """
        loop = asyncio.get_running_loop()
        async with self._slots:
            await self._turn.acquire()
            is_open = False

            def sent() -> None:
                nonlocal is_open
                if not is_open:
                    is_open = True
                    self._next_start = loop.time() + self.interval
                    self._turn.release()

            try:
                await self._wait_turn(shared, loop)
                self.in_flight += 1
                try:
                    self.stats.starts.append(time.monotonic())
                    if self.interval <= 0:
                        sent()  # nothing to keep apart: the next request may open its connection now
                    yield sent
                finally:
                    self.in_flight -= 1
                    shared.release()
                    self.stats.last_end = time.monotonic()
            finally:
                sent()

    async def _wait_turn(self, shared: asyncio.Semaphore, loop: asyncio.AbstractEventLoop) -> None:
        """Wait until the host may be sent to again and a shared slot is free (a pause may begin meanwhile)."""
        while True:
            while (wait := max(self._next_start, self.paused_until) - loop.time()) > 0:
                await asyncio.sleep(wait)
            await shared.acquire()
            if max(self._next_start, self.paused_until) <= loop.time():
                return
            shared.release()  # a Retry-After arrived while waiting for the shared slot

    def answered(self, code: int, latency: float, retry_after: float | None) -> None:
        """Adapt to an answer: slow down on 429/503 (closing the host for its Retry-After), else speed up."""
        stats = self.stats
        stats.requests += 1
        stats.statuses[code] += 1
        stats.latency_s += latency
        if code in SLOW_CODES:
            stats.slowdowns += 1
            self.interval = min(SLOWEST_INTERVAL, max(self.interval * 2, self.ceiling, FIRST_STEP))
            if retry_after is not None and retry_after <= self._max_retry_after:
                now = asyncio.get_running_loop().time()
                until = max(self.paused_until, now + retry_after)
                stats.retry_after_wait_s += until - max(self.paused_until, now)
                self.paused_until = until
        elif self.interval > self.ceiling:
            shrunk = self.interval * RECOVERY
            self.interval = self.ceiling if shrunk < max(self.ceiling, FIRST_STEP) else shrunk
        stats.slowest_interval = max(stats.slowest_interval, self.interval)
        stats.final_interval = self.interval

    def failed(self) -> None:
        """Count a request that got no answer (neither slows nor speeds the host)."""
        self.stats.requests += 1
        self.stats.errors += 1


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkProgress:
    """How far a live check is: URLs done of the total, requests sent, seconds since it began."""

    done: int
    total: int
    requests: int
    elapsed_s: float

    @property
    def rate(self) -> float:
        """URLs per second so far."""
        return self.done / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the rate so far, or None before the first URL is done."""
        return (self.total - self.done) / self.rate if self.rate > 0 else None
