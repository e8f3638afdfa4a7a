"""Live link checks in words: progress lines while a run goes on, a line per slow or rate-limiting host after.

Only the CLI writes these out; the library hands over values (``LinkProgress``, the hosts' statistics).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from audit.link_pacing import LinkProgress

__all__ = ["ProgressPrinter", "host_summary_lines"]

SLOW_LATENCY_S = 1.0  # a host whose mean answer takes this long is named in the summary
CI_EVERY_S = 10.0  # seconds between progress lines when stderr is not a terminal


class ProgressPrinter:
    # not a dataclass: where progress goes, and when it last went there
    def __init__(self, stream: TextIO, every: float | None = None) -> None:
        self.stream = stream
        self.is_tty = stream.isatty()
        self.every = (0.0 if self.is_tty else CI_EVERY_S) if every is None else every
        self.last: float | None = None  # elapsed time of the last line written

    def __call__(self, progress: LinkProgress) -> None:
        """Write a progress line: on a terminal in place, elsewhere a new line every ``every`` seconds."""
        final = progress.done == progress.total
        if final and self.last is None:
            return  # a run too short to have shown progress needs no closing line either
        if not final and progress.elapsed_s - (self.last or 0.0) < self.every:
            return
        self.last = progress.elapsed_s
        line = progress_line(progress)
        if self.is_tty:
            self.stream.write(f"\r{line}\033[K" + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def progress_line(progress: LinkProgress) -> str:
    """links: done/total URLs (share), URLs per second, requests, and the time left or taken."""
    share = 100 * progress.done // max(progress.total, 1)
    head = f"links: {progress.done:,}/{progress.total:,} URLs ({share}%), {progress.rate:.1f} URLs/s"
    eta = progress.eta_s
    if progress.done == progress.total:
        tail = f"done in {_duration(progress.elapsed_s)}"
    else:
        tail = "ETA unknown" if eta is None else f"ETA {_duration(eta)}"
    return f"{head}, {progress.requests:,} requests, {tail}"


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def host_summary_lines(hosts: Sequence[Mapping[str, Any]]) -> list[str]:
    """A line per host that rate-limited the checks (429/503) or answered slowly; none for the others."""
    lines = []
    for host in hosts:
        limited = host.get("rate_limited", 0) or host.get("slowdowns", 0)
        latency = host.get("mean_latency_s")
        slow = latency is not None and latency >= SLOW_LATENCY_S
        if not (limited or slow):
            continue
        facts = [f"{host.get('requests', 0):,} requests"]
        if latency is not None:
            facts.append(f"mean answer {latency:.2f} s")
        if limited:
            facts.append(
                f"{host.get('rate_limited', 0)} x 429, slowed {host.get('slowdowns', 0)} times, "
                f"waited {host.get('retry_after_wait_s', 0):.1f} s for Retry-After, "
                f"paced down to {_rate(host.get('slowest_rate'))}, ended at {_rate(host.get('final_rate'))}"
            )
        kind = "rate-limited" if limited else "slow"
        lines.append(f"link host {host.get('host', '?')}: {kind}: " + "; ".join(facts))
    return lines


def _rate(rate: float | None) -> str:
    return "no ceiling" if rate is None else f"{rate:g} requests/s"
