"""Benchmark live link checks against loopback servers: pacing limits, throughput, Retry-After.

The servers (an asyncio HTTP/1.1 server per address, 127.0.0.1 ... 127.0.0.N, in a process of their own so
they do not compete with the checker for the GIL) answer every request after ``SERVICE_TIME`` and stamp its
arrival (when its header block is read), count the requests each host has in flight, and keep when each
429 was sent. When it can (root, ``unshare``), the whole benchmark runs inside a private network namespace
with only a loopback device, so nothing can leave the machine whatever the checker does.

Scenarios (each a proof, judged from what the servers saw):
- ``one-host``: 1,000 URLs on one host, default options: at most 150 s, never more in flight than the
  per-host limit, never two request arrivals closer than the configured interval; then, with no interval
  and 16 times the limit of URLs queued, the peak in flight must equal the limit.
- ``many-hosts``: 10,000 URLs over 100 hosts, default options: at least 200 URLs/s overall, each host
  within its limit and its interval; a rerun is answered from the cache with no request.
- ``rate-limited``: one host answers 429 with ``Retry-After: 1`` to every third request during its first
  ``LIMITED_REQUESTS`` requests, then answers well: every URL ends ok, no request for a URL before its
  Retry-After has passed, no request at all to the host while a Retry-After runs (past ``IN_FLIGHT_SLACK``,
  for requests the checker sent before it had read the 429; their number is reported), and the host's
  statistics show its rate drop and recover.

Run: ``python -m benchmarks.bench_links [--quick]`` (exit 0 when every proof holds). Prints a JSON line last.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import multiprocessing
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from audit.link_policy import LinkPolicy
from audit.linkcheck import LiveOptions, run_checks

SERVICE_TIME = 0.020  # seconds each answer takes
RETRY_AFTER = 1  # seconds the rate-limited host asks for
LIMITED_REQUESTS = 45  # the rate-limited host answers 429 to every third of its first this many requests
# s after a 429 leaves in which a request may still arrive that the checker sent before it had read the 429
# (on this loaded machine its event loop can take tens of ms to get to an answer already on its socket)
IN_FLIGHT_SLACK = 0.25
INSIDE = "NEWS_AUDIT_BENCH_NETNS"
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux; Python 3.11 does not name it


class HostLog:
    # not a dataclass: one listening address's counters, shared by its connections (one event loop);
    # times are the wall clock: arrivals as the kernel stamped them, 429s when they were written
    def __init__(self, rate_limited: bool) -> None:
        self.rate_limited = rate_limited
        self.arrivals: list[float] = []
        self.by_path: dict[str, list[float]] = defaultdict(list)
        self.limited_at: list[tuple[float, str]] = []  # (when the 429 was written, path)
        self.active = 0
        self.peak = 0

    def to_dict(self) -> dict[str, Any]:
        """What the checker is judged on."""
        return {"arrivals": self.arrivals, "by_path": dict(self.by_path), "limited_at": self.limited_at,
                "peak": self.peak}  # fmt: skip


class ServerConnection:
    # not a dataclass: one accepted socket, read with recvmsg so each request carries the kernel's arrival time
    def __init__(
        self, loop: asyncio.AbstractEventLoop, sock: socket.socket, logs: list[HostLog], i: int
    ) -> None:
        self.loop, self.sock, self.logs, self.i = loop, sock, logs, i
        self.buffer = b""
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        loop.add_reader(sock.fileno(), self.readable)

    def readable(self) -> None:
        """Read what arrived; answer each complete request after SERVICE_TIME."""
        try:
            data, ancillary, _, _ = self.sock.recvmsg(65536, socket.CMSG_SPACE(16))
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.loop.remove_reader(self.sock.fileno())
            self.sock.close()
            return
        stamp = _kernel_time(ancillary)
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            self.request(head, stamp)

    def request(self, head: bytes, arrived: float) -> None:
        """Record the request; answer it after SERVICE_TIME (the next one may arrive meanwhile)."""
        log = self.logs[self.i]  # read per request: 'reset' replaces the counters between scenarios
        method, path = head.decode("latin-1").split(" ", 2)[:2]
        log.arrivals.append(arrived)
        log.by_path[path].append(arrived)
        log.active += 1
        log.peak = max(log.peak, log.active)
        n = len(log.arrivals)
        limited = log.rate_limited and n <= LIMITED_REQUESTS and n % 3 == 0
        self.loop.call_later(SERVICE_TIME, self.answer, log, method, path, limited)

    def answer(self, log: HostLog, method: str, path: str, limited: bool) -> None:
        """Write the answer (small enough for one send) and count the request as done."""
        body = b"" if method == "HEAD" or limited else b"<title>item</title>"
        status = "429 Too Many Requests" if limited else "200 OK"
        extra = f"Retry-After: {RETRY_AFTER}\r\n" if limited else ""
        head = f"HTTP/1.1 {status}\r\n{extra}Content-Length: {len(body)}\r\n\r\n".encode()
        with contextlib.suppress(OSError):
            self.sock.send(head + body)
        log.active -= 1
        if limited:
            log.limited_at.append((time.time(), path))


def _kernel_time(ancillary: list[tuple[int, int, bytes]]) -> float:
    """When the kernel received the data (SCM_TIMESTAMPNS, wall clock), else now."""
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
            seconds, nanoseconds = struct.unpack("qq", data[:16])
            return seconds + nanoseconds / 1e9
    return time.time()


def serve_all(n_hosts: int, conn: Connection) -> None:
    """Child process: serve on 127.0.0.1 ... 127.0.0.n; answer 'stats', 'reset', 'limit' and 'stop' on the pipe."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        logs = [HostLog(rate_limited=False) for _ in range(n_hosts)]
        listeners = []
        for i in range(n_hosts):
            listener = socket.create_server((f"127.0.0.{i + 1}", 0), backlog=1024)
            listener.setblocking(False)
            loop.add_reader(listener.fileno(), _accept, loop, listener, logs, i)
            listeners.append(listener)
        conn.send([listener.getsockname()[:2] for listener in listeners])
        while (command := await loop.run_in_executor(None, conn.recv)) != "stop":
            if command in ("reset", "limit"):
                logs[:] = [HostLog(rate_limited=command == "limit" and i == 0) for i in range(n_hosts)]
            conn.send([log.to_dict() for log in logs] if command == "stats" else "ok")
        for listener in listeners:
            loop.remove_reader(listener.fileno())
            listener.close()
        conn.send("stopped")

    asyncio.run(main())


def _accept(loop: asyncio.AbstractEventLoop, listener: socket.socket, logs: list[HostLog], i: int) -> None:
    with contextlib.suppress(BlockingIOError):
        sock, _ = listener.accept()
        ServerConnection(loop, sock, logs, i)


class Servers:
    # not a dataclass: owns the server process and the pipe to it
    def __init__(self, n_hosts: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=serve_all, args=(n_hosts, child), daemon=True)
        self.process.start()
        self.addresses: list[tuple[str, int]] = self.conn.recv()

    def ask(self, command: str) -> Any:
        """Send a command; return the answer."""
        self.conn.send(command)
        return self.conn.recv()

    def stop(self) -> None:
        """Stop the servers and their process."""
        self.ask("stop")
        self.process.join(timeout=10)


def urls_for(addresses: list[tuple[str, int]], n: int, prefix: str) -> list[str]:
    """n distinct URLs, round-robin over the hosts."""
    pairs = zip(range(n), itertools.cycle(addresses), strict=False)
    return [f"http://{host}:{port}/{prefix}/{i}" for i, (host, port) in pairs]


def min_gap(times: list[float]) -> float:
    """Smallest interval between consecutive arrivals."""
    ordered = sorted(times)
    return min((b - a for a, b in itertools.pairwise(ordered)), default=float("inf"))


def options(policy: LinkPolicy, cache: Path | None = None) -> LiveOptions:
    """Loopback servers are private addresses: the guard must be told to allow them."""
    return LiveOptions(policy=policy, allow_private=True, cache_dir=cache)


def one_host(servers: Servers, n_urls: int) -> dict[str, Any]:
    """n_urls on one host, default options."""
    policy = LinkPolicy()
    servers.ask("reset")
    started = time.perf_counter()
    checks = run_checks(urls_for(servers.addresses[:1], n_urls, "one"), options(policy))
    seconds = time.perf_counter() - started
    host = servers.ask("stats")[0]
    # with no interval and 16 times the limit of URLs queued, the limit is what holds the host back
    servers.ask("reset")
    unpaced = replace(policy, per_host_interval=0.0)
    run_checks(urls_for(servers.addresses[:1], 16 * policy.per_host_concurrency, "sat"), options(unpaced))
    saturated = servers.ask("stats")[0]["peak"]
    return {
        "urls": n_urls, "seconds": round(seconds, 2), "urls_per_second": round(n_urls / seconds, 2),
        "saturated_peak_in_flight": saturated,
        "requests": len(host["arrivals"]), "peak_in_flight": host["peak"],
        "limit": policy.per_host_concurrency, "interval": policy.per_host_interval,
        "min_arrival_gap": round(min_gap(host["arrivals"]), 4),
        "statuses": dict(Counter(r.status for r in checks)),
        "ok": host["peak"] <= policy.per_host_concurrency and min_gap(host["arrivals"]) >= policy.per_host_interval
        and saturated == policy.per_host_concurrency,
    }  # fmt: skip


def many_hosts(servers: Servers, n_urls: int, cache: Path) -> dict[str, Any]:
    """n_urls over every host, default options; then the rerun from the cache."""
    policy = LinkPolicy()
    urls = urls_for(servers.addresses, n_urls, "many")
    servers.ask("reset")
    load_before = os.getloadavg()[0]
    started, cpu = time.perf_counter(), time.process_time()
    checks = run_checks(urls, options(policy, cache))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    load_after = os.getloadavg()[0]
    hosts = servers.ask("stats")
    servers.ask("reset")
    warm = run_checks(urls, options(policy, cache))
    warm_requests = sum(len(h["arrivals"]) for h in servers.ask("stats"))
    peaks = [h["peak"] for h in hosts]
    gaps = [min_gap(h["arrivals"]) for h in hosts]
    return {
        "urls": n_urls, "hosts": len(hosts), "seconds": round(seconds, 2),
        "urls_per_second": round(n_urls / seconds, 1), "checker_cpu_seconds": round(cpu, 2),
        "requests": sum(len(h["arrivals"]) for h in hosts), "max_peak_in_flight_per_host": max(peaks),
        "least_arrival_gap_any_host": round(min(gaps), 4), "statuses": dict(Counter(r.status for r in checks)),
        "warm_requests": warm_requests, "warm_cache_hits": sum(h["cache_hits"] for h in warm.hosts),
        "load_average_1min_before_after": [round(load_before, 2), round(load_after, 2)],
        "ok": max(peaks) <= policy.per_host_concurrency and min(gaps) >= policy.per_host_interval
        and warm_requests == 0,
    }  # fmt: skip


def rate_limited(servers: Servers, n_urls: int) -> dict[str, Any]:
    """One host answering 429 + Retry-After to every third of its first requests."""
    policy = LinkPolicy()
    servers.ask("limit")
    checks = run_checks(urls_for(servers.addresses[:1], n_urls, "limited"), options(policy))
    host = servers.ask("stats")[0]
    stats = checks.hosts[0]
    early_retries = 0  # a URL asked again before the Retry-After its 429 gave
    for sent_at, path in host["limited_at"]:
        early_retries += sum(1 for t in host["by_path"][path] if sent_at < t < sent_at + RETRY_AFTER)
    early_any = sum(
        1 for sent_at, _ in host["limited_at"] for t in host["arrivals"]
        if sent_at + IN_FLIGHT_SLACK < t < sent_at + RETRY_AFTER
    )  # fmt: skip
    crossing = sum(
        1 for sent_at, _ in host["limited_at"] for t in host["arrivals"] if sent_at < t <= sent_at + IN_FLIGHT_SLACK
    )  # fmt: skip
    statuses = Counter(r.status for r in checks)
    dropped = stats["slowest_rate"] is not None and stats["slowest_rate"] < stats["ceiling_rate"]
    recovered = stats["final_rate"] == stats["ceiling_rate"]
    return {
        "urls": n_urls, "requests": len(host["arrivals"]), "answered_429": len(host["limited_at"]),
        "statuses": dict(statuses), "early_retries_same_url": early_retries,
        "early_requests_any_url": early_any, "requests_crossing_a_429": crossing, "host_stats": stats,
        "ok": statuses == Counter({"ok": n_urls}) and early_retries == 0 and early_any == 0
        and dropped and recovered,
    }  # fmt: skip


SCENARIOS = ("one_host", "many_hosts", "rate_limited")


def run(quick: bool, scenarios: tuple[str, ...] = SCENARIOS) -> dict[str, Any]:
    """The chosen scenarios; the 'ok' key says whether every proof held."""
    servers = Servers(20 if quick else 100)
    figures: dict[str, Any] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            if "one_host" in scenarios:
                figures["one_host"] = one_host(servers, 100 if quick else 1000)
            if "many_hosts" in scenarios:
                figures["many_hosts"] = many_hosts(servers, 1000 if quick else 10_000, Path(tmp) / "cache")
            if "rate_limited" in scenarios:
                figures["rate_limited"] = rate_limited(servers, 100 if quick else 200)
    finally:
        servers.stop()
    targets = {}
    if "one_host" in figures:
        targets["one_host_within_150_s"] = figures["one_host"]["seconds"] <= 150 * (0.1 if quick else 1)
    if "many_hosts" in figures:
        targets["many_hosts_at_least_200_urls_per_second"] = figures["many_hosts"]["urls_per_second"] >= 200
    ok = all(f["ok"] for f in figures.values()) and all(targets.values())
    return {"bench": "links", "quick": quick, "netns": bool(os.environ.get(INSIDE)), "cpus": os.cpu_count(),
            **figures, "targets": targets, "ok": ok}  # fmt: skip


def in_namespace(argv: list[str]) -> int | None:
    """Run this benchmark again inside a loopback-only network namespace; None when that is not possible."""
    if os.environ.get(INSIDE) or os.geteuid() != 0 or not (shutil.which("unshare") and shutil.which("ip")):
        return None
    inner = " ".join([sys.executable, "-m", "benchmarks.bench_links", *argv])
    env = os.environ | {INSIDE: "1"}
    command = ["unshare", "--net", "sh", "-c", f"ip link set lo up && exec {inner}"]
    return subprocess.run(command, env=env, check=False).returncode


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print its figures and a JSON line; 0 when every proof held, else 1."""
    argv = [] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_links", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a tenth of the URLs (targets scaled)")
    parser.add_argument("--scenario", action="append", choices=SCENARIOS, help="run only these (repeatable)")
    args = parser.parse_args(argv)
    if (code := in_namespace(argv)) is not None:
        return code
    figures = run(args.quick, tuple(args.scenario or SCENARIOS))
    for name, report in (
        ("one_host", _one_line),
        ("many_hosts", _many_line),
        ("rate_limited", _limited_line),
    ):
        if name in figures:
            print(report(figures[name], figures))
    print(json.dumps(figures, sort_keys=True))
    return 0 if figures["ok"] else 1


def _one_line(one: dict[str, Any], figures: dict[str, Any]) -> str:
    return (
        f"links one host: {one['urls']} URLs in {one['seconds']} s ({one['urls_per_second']} URLs/s), peak in "
        f"flight {one['peak_in_flight']} (limit {one['limit']}), least arrival gap {one['min_arrival_gap']} s "
        f"(interval {one['interval']} s); with no interval and 16x the limit queued, peak "
        f"{one['saturated_peak_in_flight']}"
    )


def _many_line(many: dict[str, Any], figures: dict[str, Any]) -> str:
    return (
        f"links {many['hosts']} hosts: {many['urls']} URLs in {many['seconds']} s ({many['urls_per_second']} "
        f"URLs/s), max peak in flight per host {many['max_peak_in_flight_per_host']}, least arrival gap on any "
        f"host {many['least_arrival_gap_any_host']} s, cached rerun {many['warm_requests']} requests, load "
        f"average {many['load_average_1min_before_after']} on {figures['cpus']} CPUs, checker CPU {many['checker_cpu_seconds']} s"
    )


def _limited_line(limited: dict[str, Any], figures: dict[str, Any]) -> str:
    stats = limited["host_stats"]
    return (
        f"links rate-limited host: {limited['statuses']}, {limited['answered_429']} x 429, early requests "
        f"{limited['early_retries_same_url']} (same URL) / {limited['early_requests_any_url']} (any; "
        f"{limited['requests_crossing_a_429']} crossed a 429 within {IN_FLIGHT_SLACK} s), paced "
        f"{stats['ceiling_rate']} -> {stats['slowest_rate']} -> {stats['final_rate']} requests/s, timeline "
        f"{stats['rate_timeline']}"
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
