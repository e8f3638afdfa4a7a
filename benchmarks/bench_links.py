"""Benchmark the live link checker on loopback servers: throughput, per-host limit, politeness, cache.

Eight HTTP servers listen on 127.0.0.1 ... 127.0.0.8 (one "host" each; nothing leaves loopback). 1,000 URLs
(mostly 200, some 301 -> 200, 404, and 500-then-200) are checked with ``per_host_limit`` 4; every server
records the most requests it had in flight at once, which must never exceed the limit, and with 64 slow
URLs queued on one host the peak must equal the limit. The baseline, measured in the same run, is a plain
sequential ``httpx.Client`` loop over the first 200 URLs, scaled to 1,000. A second run must be answered
from the disk cache with zero requests, and in a politeness run n request starts on a host must span
(n - 1) x 0.1 s (less 50 ms for the servers' own scheduling jitter).

Run: ``python -m benchmarks.bench_links`` (exit 0 when every proof holds). Prints one JSON line last.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import multiprocessing
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx

from audit.linkcheck import LiveOptions, check_links

N_HOSTS = 8
SERVICE_TIME = 0.005  # seconds each answer takes, so that concurrency is visible to the servers
SATURATING_SERVICE_TIME = 0.1  # /slow/N: slow enough that demand on one host far exceeds the limit
POLITENESS_DELAY = 0.1
BASELINE_URLS = 200


class Handler(BaseHTTPRequestHandler):
    """/item/N: 200; /moved/N: 301 to /item/N; /missing/N: 404; /flaky/N: 500 once, then 200; /slow/N: 200."""

    protocol_version = "HTTP/1.1"
    server: CountingServer

    def do_HEAD(self) -> None:
        """Answer without a body."""
        self._answer(with_body=False)

    def do_GET(self) -> None:
        """Answer with a small body."""
        self._answer(with_body=True)

    def _answer(self, with_body: bool) -> None:
        n = self.server.enter(self.path)
        try:
            kind, _, rest = self.path.strip("/").partition("/")
            time.sleep(SATURATING_SERVICE_TIME if kind == "slow" else SERVICE_TIME)
            code = {"moved": 301, "missing": 404}.get(kind, 500 if kind == "flaky" and n == 1 else 200)
            body = b"<title>item</title>" if with_body and code == 200 else b""
            self.send_response(code)
            if code == 301:
                self.send_header("Location", f"/item/{rest}")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        finally:
            self.server.leave()

    def log_message(self, format: str, *args: object) -> None:
        """Keep the benchmark's output to its figures."""


class CountingServer(ThreadingHTTPServer):
    """A loopback server that counts requests, keeps their start times and its peak concurrency."""

    daemon_threads = True

    def __init__(self, address: str) -> None:
        super().__init__((address, 0), Handler)
        self.lock = threading.Lock()
        self.hits: dict[str, int] = {}
        self.starts: list[float] = []
        self.active = 0
        self.peak = 0

    def enter(self, path: str) -> int:
        """Record a request start; return the path's hit count including this one."""
        with self.lock:
            self.hits[path] = self.hits.get(path, 0) + 1
            self.starts.append(time.monotonic())
            self.active += 1
            self.peak = max(self.peak, self.active)
            return self.hits[path]

    def leave(self) -> None:
        """Record a request end."""
        with self.lock:
            self.active -= 1

    def reset(self) -> None:
        """Forget counts between runs."""
        with self.lock:
            self.hits, self.starts, self.peak = {}, [], 0


def serve_all(n: int, conn: Connection) -> None:
    """Child process: serve on 127.0.0.1 ... 127.0.0.n and answer 'stats', 'reset' and 'stop' on the pipe."""
    servers = [CountingServer(f"127.0.0.{i + 1}") for i in range(n)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    conn.send([server.server_address[:2] for server in servers])
    while (command := conn.recv()) != "stop":
        if command == "reset":
            for server in servers:
                server.reset()
        with contextlib.ExitStack() as stack:
            for server in servers:
                stack.enter_context(server.lock)
            conn.send([{"peak": s.peak, "starts": list(s.starts)} for s in servers])
    for server in servers:
        server.shutdown()
        server.server_close()
    conn.send("stopped")


class Servers:
    # not a dataclass: owns the server process and the pipe to it
    def __init__(self, n: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        # in its own process, so the servers do not compete with the checker for the GIL
        self.process = context.Process(target=serve_all, args=(n, child), daemon=True)
        self.process.start()
        self.addresses: list[tuple[str, int]] = self.conn.recv()

    def stats(self, command: str = "stats") -> list[dict[str, Any]]:
        """Per-host peak concurrency and request start times (monotonic, this machine's clock)."""
        self.conn.send(command)
        stats: list[dict[str, Any]] = self.conn.recv()
        return stats

    def reset(self) -> None:
        """Forget counts between runs."""
        self.stats("reset")

    def requests(self) -> int:
        """Requests seen by all hosts since the last reset."""
        return sum(len(host["starts"]) for host in self.stats())

    def stop(self) -> None:
        """Stop the servers and their process."""
        self.conn.send("stop")
        self.conn.recv()
        self.process.join(timeout=10)


def make_urls(addresses: list[tuple[str, int]], n: int, prefix: str = "") -> list[str]:
    """n distinct URLs spread round-robin over the hosts: 85% 200, 5% each 301, 404, 500-then-200."""
    kinds = ["item"] * 17 + ["moved", "missing", "flaky"]
    pairs = zip(itertools.cycle(addresses), itertools.cycle(kinds), strict=False)
    return [
        f"http://{host}:{port}/{kind}/{prefix}{i}"
        for i, ((host, port), kind) in zip(range(n), pairs, strict=False)
    ]


def baseline(urls: list[str]) -> float:
    """Seconds for a plain sequential httpx.Client HEAD loop (redirects followed) over the URLs."""
    started = time.perf_counter()
    with httpx.Client(follow_redirects=True, trust_env=False, timeout=5.0) as client:
        for url in urls:
            client.head(url)
    return time.perf_counter() - started


def min_gap(starts: list[float]) -> float:
    """Smallest interval between consecutive request starts."""
    ordered = sorted(starts)
    return min((b - a for a, b in itertools.pairwise(ordered)), default=float("inf"))


def throughput(servers: Servers, n_urls: int, options: LiveOptions) -> dict[str, Any]:
    """Check n_urls over every host, cold and then from the cache; also the sequential baseline."""
    urls = make_urls(servers.addresses, n_urls)
    servers.reset()
    started = time.perf_counter()
    results = check_links(urls, options)
    cold = time.perf_counter() - started
    hosts = servers.stats()
    n_requests = sum(len(host["starts"]) for host in hosts)
    servers.reset()
    started = time.perf_counter()
    check_links(urls, options)
    warm = time.perf_counter() - started
    warm_requests = servers.requests()
    sample = urls[:BASELINE_URLS]
    servers.reset()
    base = baseline(sample) / len(sample) * n_urls  # sequential is slow: time a sample, scale it
    return {
        "cold_seconds": round(cold, 3), "urls_per_second": round(n_urls / cold, 1),
        "requests": n_requests, "requests_per_second": round(n_requests / cold, 1),
        "statuses": dict(sorted(Counter(r.status for r in results.values()).items())),
        "peak_in_flight_per_host": [host["peak"] for host in hosts],
        "warm_seconds": round(warm, 3), "warm_requests": warm_requests,
        "baseline_sequential_seconds": round(base, 3), "speedup_vs_sequential": round(base / cold, 2),
    }  # fmt: skip


def saturation(servers: Servers, options: LiveOptions) -> int:
    """Peak in flight on one host when 16 times the limit of slow URLs are queued for it."""
    host, port = servers.addresses[0]
    servers.reset()
    check_links([f"http://{host}:{port}/slow/{i}" for i in range(16 * options.per_host_limit)], options)
    peak: int = servers.stats()[0]["peak"]
    return peak


def politeness(servers: Servers, options: LiveOptions) -> list[dict[str, float]]:
    """For each of two hosts, with the politeness delay on: span of its request starts and the least gap."""
    servers.reset()
    check_links(make_urls(servers.addresses[:2], 20, prefix="p"), options)
    return [
        {
            "n": len(host["starts"]),
            "span": max(host["starts"]) - min(host["starts"]),
            "min_gap": min_gap(host["starts"]),
        }
        for host in servers.stats()[:2]
    ]


def run(n_urls: int, per_host_limit: int) -> dict[str, Any]:
    """All measurements; the 'ok' key says whether every proof held."""
    servers = Servers(N_HOSTS)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            options = LiveOptions(
                allow_private=True,  # loopback test servers; the guard would rightly refuse them
                per_host_limit=per_host_limit, politeness_delay=0.0, timeout=5.0, retries=2, backoff=0.01,
                max_connections=N_HOSTS * per_host_limit, cache_dir=Path(tmp) / "cache",
            )  # fmt: skip
            figures = throughput(servers, n_urls, options)
            saturated_peak = saturation(servers, replace(options, cache_dir=None))
            polite = politeness(servers, replace(options, politeness_delay=POLITENESS_DELAY, cache_dir=None))
    finally:
        servers.stop()
    # Request starts are stamped by the servers' handler threads, which can wake tens of ms late on a busy
    # machine and so shorten one gap; the span of n starts is (n - 1) delays and is hardly moved by that.
    spaced = all(h["span"] >= (h["n"] - 1) * POLITENESS_DELAY - 0.05 for h in polite)
    ok = (
        max(figures["peak_in_flight_per_host"]) <= per_host_limit
        and saturated_peak == per_host_limit
        and figures["warm_requests"] == 0
        and spaced
    )
    return {
        "bench": "links", "n_urls": n_urls, "n_hosts": N_HOSTS, "per_host_limit": per_host_limit, **figures,
        "saturated_peak_in_flight": saturated_peak, "politeness_delay": POLITENESS_DELAY,
        "politeness_span_per_host": [round(h["span"], 3) for h in polite],
        "politeness_requests_per_host": [h["n"] for h in polite],
        "min_start_gap_per_host": [round(h["min_gap"], 4) for h in polite], "ok": ok,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print its figures and a JSON line; 0 when every proof held, else 1."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_links", description=__doc__)
    parser.add_argument("--urls", type=int, default=1000, help="URLs to check (default 1000)")
    parser.add_argument("--per-host-limit", type=int, default=4, help="concurrent requests per host")
    args = parser.parse_args(argv)
    figures = run(args.urls, args.per_host_limit)
    print(
        f"links: {figures['n_urls']} URLs on {N_HOSTS} loopback hosts in {figures['cold_seconds']} s "
        f"({figures['urls_per_second']} URLs/s, {figures['requests_per_second']} requests/s), "
        f"{figures['speedup_vs_sequential']}x a sequential httpx loop"
    )
    print(
        f"  per-host limit {args.per_host_limit}: peak in flight per host {figures['peak_in_flight_per_host']}"
    )
    print(f"  cached rerun: {figures['warm_seconds']} s, {figures['warm_requests']} requests")
    print(
        f"  politeness {figures['politeness_delay']} s: {figures['politeness_requests_per_host']} requests "
        f"spanning {figures['politeness_span_per_host']} s, least gap {figures['min_start_gap_per_host']}"
    )
    print(json.dumps(figures, sort_keys=True))
    return 0 if figures["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
