"""Live link checks against a real HTTP server on 127.0.0.1, and the SSRF guard in a network namespace."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from audit.cli import main
from audit.cli_options import link_settings, parse_args
from audit.errors import ConfigError
from audit.link_pacing import HostStats, LinkProgress
from audit.link_policy import HostLimits, LinkPolicy
from audit.link_report import ProgressPrinter, host_summary_lines
from audit.linkcheck import (
    LiveOptions,
    check_links,
    is_live_candidate,
    is_public_address,
    run_checks,
)
from audit.records import LiveResult
from tests.conftest import namespace_unavailable

REPO = Path(__file__).resolve().parents[1]
NETNS_SCRIPT = REPO / "tests" / "data" / "links" / "netns_guard.py"
# loopback is private: these tests allow it explicitly; the guard's own tests say otherwise
QUICK = LinkPolicy(timeout=0.5, per_host_interval=0.0, retries=2, backoff=0.01, per_host_concurrency=4)
LOOPBACK = LiveOptions(allow_private=True, policy=QUICK)


def loopback(**policy: object) -> LiveOptions:
    """LOOPBACK with some policy fields changed."""
    return replace(LOOPBACK, policy=replace(QUICK, **policy))


class Handler(BaseHTTPRequestHandler):
    """Routes for each case; the server keeps per-path hit counts, arrival times and peak concurrency."""

    server: LoopbackServer

    def do_HEAD(self) -> None:
        """Answer a HEAD request (no body)."""
        self._answer(with_body=False)

    def do_GET(self) -> None:
        """Answer a GET request."""
        self._answer(with_body=True)

    def _answer(self, with_body: bool) -> None:
        n = self.server.enter(self.command, self.path)
        try:
            code, headers, body = route(self.command, self.path, n)
            if self.path.startswith("/slow"):
                time.sleep(1.5 if self.path == "/slow" else 0.05)
            self.send_response(code)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if with_body:
                self.wfile.write(body)
        finally:
            self.server.leave()

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""


def route(method: str, path: str, n: int) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) for the n-th request (1-based) to a path."""
    page = b"<html><title>Fine</title><p>ok</p></html>"
    redirects = {"/moved": "/ok", "/loop-a": "/loop-b", "/loop-b": "/loop-a", "/deep/story": "/"}
    if path in redirects:
        return 301 if path == "/moved" else 302, {"Location": redirects[path]}, b""
    if path.startswith("/chain/"):
        left = int(path.rsplit("/", 1)[1])
        return (302, {"Location": f"/chain/{left - 1}"}, b"") if left else (200, {}, page)
    if path.startswith("/rate-long/"):
        return 429, {"Retry-After": "3600"}, b""
    if path.startswith("/rate/") and n == 1:
        return 429, {"Retry-After": "1"}, b""
    if path.startswith("/flaky/") and n == 1:
        return 500, {}, b""
    if path.startswith("/busy/") and n == 1:
        return 503, {}, b""
    if path == "/head-405" and method == "HEAD":
        return 405, {"Allow": "GET"}, b""
    if path == "/soft-title":
        return (405, {}, b"") if method == "HEAD" else (200, {}, b"<title>Page not found</title>")
    fixed = {"/missing": 404, "/gone": 410, "/denied": 403}
    return fixed.get(path, 200), {"Content-Type": "text/html"}, page


class LoopbackServer(ThreadingHTTPServer):
    """A threading HTTP server on 127.0.0.1 that records what reached it."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.lock = threading.Lock()
        self.hits: dict[str, int] = {}
        self.log: list[tuple[float, str, str]] = []
        self.active = 0
        self.peak = 0

    def enter(self, method: str, path: str) -> int:
        """Record a request; return how many times this path has been requested, this one included."""
        with self.lock:
            self.hits[path] = self.hits.get(path, 0) + 1
            self.log.append((time.monotonic(), method, path))
            self.active += 1
            self.peak = max(self.peak, self.active)
            return self.hits[path]

    def leave(self) -> None:
        """Record the end of a request."""
        with self.lock:
            self.active -= 1

    def url(self, path: str) -> str:
        """Absolute URL of a path on this server."""
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    """A fresh loopback server per test, so hit counts start at zero."""
    srv = LoopbackServer()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join()


def check_one(url: str, options: LiveOptions = LOOPBACK) -> LiveResult:
    """Check a single URL."""
    return check_links([url], options)[url]


def test_200_is_ok(server: LoopbackServer) -> None:
    """A 200 answer is ok, with the status, final URL and an ISO timestamp recorded."""
    result = check_one(server.url("/ok"))
    assert (result.status, result.http_status, result.final_url) == ("ok", 200, server.url("/ok"))
    assert dt.datetime.fromisoformat(result.checked_at).tzinfo is not None
    assert result.n_redirects == 0 and result.error is None and result.soft_404 is None


def test_301_then_200_is_redirected(server: LoopbackServer) -> None:
    """A 301 to a 200 is redirected, with the hop recorded."""
    result = check_one(server.url("/moved"))
    assert (result.status, result.http_status, result.n_redirects) == ("redirected", 200, 1)
    assert result.redirect_chain == (server.url("/ok"),) and result.final_url == server.url("/ok")


@pytest.mark.parametrize("path, code", [("/missing", 404), ("/gone", 410)])
def test_client_errors_are_broken(server: LoopbackServer, path: str, code: int) -> None:
    """404 and 410 are broken, confirmed by a GET after the HEAD."""
    result = check_one(server.url(path))
    assert (result.status, result.http_status, result.error) == ("broken", code, f"HTTP {code}")
    assert [m for _, m, p in server.log if p == path] == ["HEAD", "GET"]


def test_429_waits_for_retry_after(server: LoopbackServer) -> None:
    """A 429 with Retry-After: 1 is retried after about a second (not the 10 ms backoff) and then ok."""
    started = time.monotonic()
    result = check_one(server.url("/rate/a"))
    assert result.status == "ok" and server.hits["/rate/a"] == 2
    assert time.monotonic() - started >= 0.95


def test_retry_after_beyond_the_cap_is_not_waited_for(server: LoopbackServer) -> None:
    """A Retry-After longer than max_retry_after is not honoured by sleeping: the link is not_checked."""
    result = check_one(server.url("/rate-long/a"), loopback(max_retry_after=5.0))
    assert (result.status, result.http_status, server.hits["/rate-long/a"]) == ("not_checked", 429, 1)


def test_500_then_200_is_retried(server: LoopbackServer) -> None:
    """A 500 followed by a 200 is retried with backoff and ends ok."""
    result = check_one(server.url("/flaky/a"))
    assert (result.status, result.http_status, server.hits["/flaky/a"]) == ("ok", 200, 2)


def test_head_5xx_is_confirmed_with_get(server: LoopbackServer) -> None:
    """With retries=0 a HEAD answered 500 is asked again with GET before the link is judged."""
    result = check_one(server.url("/flaky/b"), loopback(retries=0))
    assert result.status == "ok"
    assert [m for _, m, p in server.log if p == "/flaky/b"] == ["HEAD", "GET"]


def test_slow_response_times_out(server: LoopbackServer) -> None:
    """An answer slower than the timeout is a timeout, reported within about the timeout."""
    started = time.monotonic()
    result = check_one(server.url("/slow"))
    assert (result.status, result.http_status) == ("timeout", None)
    assert time.monotonic() - started < 1.4


def test_redirect_loop_is_broken(server: LoopbackServer) -> None:
    """A redirect loop is broken, with the loop visible in the chain."""
    result = check_one(server.url("/loop-a"))
    assert (result.status, result.error) == ("broken", "redirect loop")
    assert result.redirect_chain == (server.url("/loop-b"), server.url("/loop-a"))


def test_redirects_beyond_the_limit_are_broken(server: LoopbackServer) -> None:
    """A chain longer than max_redirects is broken; one within it is followed."""
    assert check_one(server.url("/chain/2"), loopback(max_redirects=2)).status == "redirected"
    result = check_one(server.url("/chain/5"), loopback(max_redirects=2))
    assert (result.status, result.error, result.n_redirects) == ("broken", "more than 2 redirects", 3)


def test_head_405_falls_back_to_get(server: LoopbackServer) -> None:
    """A server that refuses HEAD is asked again with GET."""
    assert check_one(server.url("/head-405")).status == "ok"
    assert [m for _, m, p in server.log if p == "/head-405"] == ["HEAD", "GET"]


def test_soft_404_hints(server: LoopbackServer) -> None:
    """A deep link redirected to the home page, or a 200 titled 'not found', carries a soft-404 hint."""
    home = check_one(server.url("/deep/story"))
    assert (home.status, home.soft_404) == ("redirected", "a deep link redirected to the site's home page")
    titled = check_one(server.url("/soft-title"))
    assert (titled.status, titled.soft_404) == ("ok", "the page's title says it was not found")


def test_403_is_refused_by_the_server(server: LoopbackServer) -> None:
    """401/403 mean access was denied (often a bot wall): refused, not broken."""
    result = check_one(server.url("/denied"))
    assert (result.status, result.http_status, result.error) == ("refused", 403, "access denied (HTTP 403)")


def test_closed_port_is_broken() -> None:
    """Nothing listening on the port is broken, with the connection error recorded."""
    srv = LoopbackServer()
    url = srv.url("/ok")
    srv.server_close()
    result = check_one(url)
    assert result.status == "broken" and result.error and "ConnectError" in result.error


def test_non_http_urls_are_not_checked() -> None:
    """Only http(s) URLs are requested; anything else is not_checked."""
    result = check_one("ftp://example.com/file")
    assert (result.status, result.error) == ("not_checked", "not an http(s) URL")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_loopback_is_refused_by_default(server: LoopbackServer, host: str) -> None:
    """By default the guard refuses loopback targets, by address or by name, before connecting."""
    url = server.url("/ok").replace("127.0.0.1", host)
    result = check_one(url, replace(LOOPBACK, allow_private=False))
    assert result.status == "refused" and result.error and result.error.startswith("guard:")
    assert server.hits == {}


@pytest.mark.parametrize(
    "address, public",
    [("93.184.216.34", True), ("2606:2800:220:1::1", True), ("10.0.0.1", False), ("127.0.0.1", False),
     ("169.254.169.254", False), ("100.64.0.1", False), ("::1", False), ("fe80::1%lo", False),
     ("::ffff:10.0.0.1", False), ("64:ff9b::a00:1", False), ("224.0.0.1", False), ("0.0.0.0", False),
     # IPv4-embedded IPv6 forms are judged by the IPv4 address they carry (regression: these were public)
     ("::7f00:1", False), ("::a9fe:a9fe", False), ("2002:7f00:1::", False), ("2002:a00:1::1", False),
     ("64:ff9b:1::7f00:1", False), ("64:ff9b:1:7f00:1::", False), ("64:ff9b::7f00:1", False),
     ("::ffff:7f00:1", False), ("2002:5db8:d822::1", True), ("64:ff9b::5db8:d822", True),
     ("::5db8:d822", True), ("::", False)],
)  # fmt: skip
def test_is_public_address(address: str, public: bool) -> None:
    """Only globally routable addresses are public, also through mapped, compatible, 6to4 and NAT64 forms."""
    assert is_public_address(address) is public


def test_per_host_limit_holds(server: LoopbackServer) -> None:
    """With per_host_concurrency=2, the server never sees more than two requests at once (and does see two)."""
    urls = [server.url(f"/slowish/{i}") for i in range(12)]
    results = check_links(urls, loopback(per_host_concurrency=2))
    assert {r.status for r in results.values()} == {"ok"}
    assert server.peak == 2


def test_politeness_delay_spaces_requests(server: LoopbackServer) -> None:
    """Five requests to one host, per_host_interval 0.15 s apart, span at least four delays at the server."""
    urls = [server.url(f"/ok?{i}") for i in range(5)]
    check_links(urls, loopback(per_host_interval=0.15))
    starts = sorted(t for t, _, _ in server.log)
    # the span, not the least gap: a handler thread waking late on a busy machine shortens one gap only
    assert len(starts) == 5 and starts[-1] - starts[0] >= 4 * 0.15 - 0.05


def test_host_override_is_stricter_than_the_default(server: LoopbackServer) -> None:
    """A host override with concurrency 1 keeps that host to one request in flight (the default allows 4)."""
    policy = replace(QUICK, hosts=(("127.0.0.1", HostLimits(concurrency=1, interval=0.0)),))
    check_links([server.url(f"/slowish/{i}") for i in range(6)], replace(LOOPBACK, policy=policy))
    assert server.peak == 1


def test_retry_after_closes_the_whole_host(server: LoopbackServer) -> None:
    """After a 429 with Retry-After: 1 no request reaches the host for a second, whichever URL it is for."""
    urls = [server.url("/rate/a"), *(server.url(f"/ok?{i}") for i in range(12))]
    results = check_links(urls, loopback(per_host_interval=0.05, per_host_concurrency=1))
    assert {r.status for r in results.values()} == {"ok"}
    limited_at = next(t for t, _, p in server.log if p == "/rate/a")
    # the 429 leaves as the request arrives; a request already on its way may land just after it
    assert not [t for t, _, _ in server.log if limited_at + 0.05 < t < limited_at + 0.95]


def test_rate_limits_draw_on_their_own_retries(server: LoopbackServer) -> None:
    """With retries=0 a 429 with Retry-After is still waited for and retried: being paced is not failing."""
    assert check_one(server.url("/rate/b"), loopback(retries=0)).status == "ok"
    assert server.hits["/rate/b"] == 2


def test_pacing_slows_on_503_and_recovers(server: LoopbackServer) -> None:
    """503s slow a host's pacing below its ceiling; good answers bring it back to the ceiling, never past."""
    urls = [server.url(f"/busy/{i}") for i in range(3)] + [server.url(f"/ok?{i}") for i in range(12)]
    checks = run_checks(urls, loopback(per_host_interval=0.02, per_host_concurrency=1))
    (host,) = checks.hosts
    assert {r.status for r in checks} == {"ok"}
    assert host["slowdowns"] == 3 and host["ceiling_rate"] == 50.0
    assert host["slowest_rate"] < 50.0 and host["final_rate"] == 50.0


def test_host_statistics_count_what_happened(server: LoopbackServer, tmp_path: Path) -> None:
    """Requests, statuses, retries, 429s, latency and rate per host match the server's log; a rerun counts cache hits."""
    options = replace(LOOPBACK, cache_dir=tmp_path)
    urls = [server.url("/ok"), server.url("/missing"), server.url("/rate/c"), server.url("/flaky/c")]
    (host,) = run_checks(urls, options).hosts
    assert host["host"] == "127.0.0.1" and host["urls"] == 4 and host["cache_hits"] == 0
    assert host["requests"] == len(server.log) == 7  # ok, HEAD+GET missing, 429+200, 500+200
    assert host["statuses"] == {"200": 3, "404": 2, "429": 1, "500": 1}
    assert (host["retries"], host["rate_limited"], host["slowdowns"]) == (2, 1, 1)
    assert host["retry_after_wait_s"] >= 0.9 and host["mean_latency_s"] > 0 and host["effective_rate"] > 0
    (again,) = run_checks(urls, options).hosts
    assert (again["urls"], again["cache_hits"], again["requests"]) == (4, 4, 0)


def test_rate_timeline_shows_a_drop_and_its_recovery() -> None:
    """The timeline gives requests per second in equal windows; a pause shows as a dip between busy windows."""
    stats = HostStats(host="h", limits=HostLimits(concurrency=1, interval=0.1))
    stats.starts = [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 8.0, 8.5, 9.0, 9.5, 10.0, 10.5, 11.0, 11.5, 12.0]
    assert stats.timeline(n_windows=6) == [2.0, 2.0, 0.0, 0.0, 2.0, 2.0, 0.5]


def test_ip_literals_are_refused_without_a_request_unless_allowed(server: LoopbackServer) -> None:
    """Without allow_private an IP-literal URL is refused before any request, a public one too; with it, checked."""
    public = check_one("http://93.184.216.34:9/ok", replace(LOOPBACK, allow_private=False))
    local = check_one(server.url("/ok"), replace(LOOPBACK, allow_private=False))
    for result in (public, local):
        assert result.status == "refused" and result.http_status is None
        assert result.error == "guard: the host is an IP address (fetched only with --allow-private-links)"
    assert server.hits == {}
    assert check_one(server.url("/ok")).status == "ok"


@pytest.mark.parametrize(
    "syntax_ok, code, host, candidate",
    [(True, None, "example.com", True), (False, "no-registrable-domain", "127.0.0.1", True),
     (False, "no-registrable-domain", "::1", True), (False, "no-registrable-domain", "localhost", False),
     (False, "credentials", "127.0.0.1", False), (False, "bad-syntax", None, False)],
)  # fmt: skip
def test_ip_literal_links_go_to_the_live_check(
    syntax_ok: bool, code: str | None, host: str | None, candidate: bool
) -> None:
    """A link failing the offline checks only by being an IP literal is still a live candidate."""
    assert is_live_candidate(syntax_ok, code, host) is candidate


def test_progress_reaches_the_callback(server: LoopbackServer) -> None:
    """The progress callback hears of every URL and last of all of them being done."""
    seen: list[LinkProgress] = []
    options = replace(LOOPBACK, progress=seen.append, progress_every=0.0)
    check_links([server.url(f"/ok?{i}") for i in range(5)], options)
    assert seen[-1].done == seen[-1].total == 5 and seen[-1].requests == 5
    assert [p.done for p in seen] == sorted(p.done for p in seen)


def test_progress_lines_in_ci_are_periodic() -> None:
    """Off a terminal a progress line is written every 10 s and once at the end; a short run writes none."""
    stream = io.StringIO()
    printer = ProgressPrinter(stream)
    for elapsed, done in [(1, 10), (5, 50), (10.5, 100), (15, 150), (21, 210), (24, 240)]:
        printer(LinkProgress(done=done, total=1000, requests=done, elapsed_s=elapsed))
    printer(LinkProgress(done=1000, total=1000, requests=1100, elapsed_s=100))
    assert stream.getvalue().splitlines() == [
        "links: 100/1,000 URLs (10%), 9.5 URLs/s, 100 requests, ETA 1 min 34 s",
        "links: 210/1,000 URLs (21%), 10.0 URLs/s, 210 requests, ETA 1 min 19 s",
        "links: 1,000/1,000 URLs (100%), 10.0 URLs/s, 1,100 requests, done in 1 min 40 s",
    ]
    short = io.StringIO()
    ProgressPrinter(short)(LinkProgress(done=3, total=3, requests=3, elapsed_s=0.2))
    assert short.getvalue() == ""


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_is_one_line_rewritten() -> None:
    """On a terminal each progress call rewrites the same line; the last one ends it."""
    stream = _Terminal()
    printer = ProgressPrinter(stream)
    printer(LinkProgress(done=1, total=4, requests=1, elapsed_s=1.0))
    printer(LinkProgress(done=4, total=4, requests=5, elapsed_s=2.0))
    assert stream.getvalue() == (
        "\rlinks: 1/4 URLs (25%), 1.0 URLs/s, 1 requests, ETA 3 s\033[K"
        "\rlinks: 4/4 URLs (100%), 2.0 URLs/s, 5 requests, done in 2 s\033[K\n"
    )


def test_summary_names_slow_and_rate_limiting_hosts() -> None:
    """A line per host that answered 429/503 or slowly; a host that answered well is not named."""
    base = {"requests": 10, "mean_latency_s": 0.02, "rate_limited": 0, "slowdowns": 0, "retry_after_wait_s": 0,
            "slowest_rate": 10.0, "final_rate": 10.0}  # fmt: skip
    hosts = [
        base | {"host": "fine.example"},
        base
        | {
            "host": "busy.example",
            "rate_limited": 3,
            "slowdowns": 3,
            "retry_after_wait_s": 3.0,
            "slowest_rate": 2.5,
        },
        base | {"host": "slow.example", "mean_latency_s": 2.5},
    ]
    assert host_summary_lines(hosts) == [
        "link host busy.example: rate-limited: 10 requests; mean answer 0.02 s; 3 x 429, slowed 3 times, "
        "waited 3.0 s for Retry-After, paced down to 2.5 requests/s, ended at 10 requests/s",
        "link host slow.example: slow: 10 requests; mean answer 2.50 s",
    ]


def test_policy_from_mapping_reads_the_table() -> None:
    """Every key of [tool.news-audit.links] lands in its field; a host override covers its subdomains."""
    policy = LinkPolicy.from_mapping({
        "per-host-concurrency": 2, "per-host-interval": 0, "global-concurrency": 10, "timeout": 5,
        "retries": 0, "rate-limit-retries": 3, "backoff": 0.1, "max-retry-after": 60, "max-redirects": 5,
        "user-agent": "my-audit/1.0",
        "hosts": {"example.com": {"interval": 1.0}, "news.example.com": {"concurrency": 1, "interval": 2}},
    })  # fmt: skip
    assert (policy.per_host_concurrency, policy.per_host_interval, policy.global_concurrency) == (2, 0.0, 10)
    assert (policy.timeout, policy.retries, policy.rate_limit_retries, policy.max_redirects) == (5.0, 0, 3, 5)
    assert policy.user_agent == "my-audit/1.0" and policy.max_retry_after == 60.0
    assert policy.limits_for("www.example.com") == HostLimits(concurrency=2, interval=1.0)
    assert policy.limits_for("News.Example.com") == HostLimits(concurrency=1, interval=2.0)
    assert policy.limits_for("example.org") == HostLimits(concurrency=2, interval=0.0)
    assert LinkPolicy.from_mapping({}) == LinkPolicy()


@pytest.mark.parametrize(
    "table, message",
    [({"per-host-intervall": 1}, r'\[tool.news-audit.links\]: unknown key "per-host-intervall". Did you mean "per-host-interval"\?'),
     ({"per-host-interval": -1}, r"per-host-interval: -1 is not a number of seconds, 0 or more"),
     ({"per-host-concurrency": 0}, r"per-host-concurrency: 0 is not a whole number of at least 1"),
     ({"retries": True}, r"retries: True is not a whole number"),
     ({"timeout": 0}, r"timeout: 0 would give up at once"),
     ({"user-agent": ""}, r"user-agent: '' is not a one-line, non-empty string"),
     ({"hosts": {"example.com": {"rate": 1}}}, r'hosts."example.com": unknown key "rate"'),
     ({"hosts": {"https://example.com/": {"interval": 1}}}, r'is not a host name. Give the bare host'),
     ({"hosts": {"example.com": {}}}, r'hosts."example.com": no setting'),
     ({"hosts": ["example.com"]}, r"hosts: expected a table of host names")],
)  # fmt: skip
def test_policy_from_mapping_names_the_key_and_the_fix(table: dict[str, object], message: str) -> None:
    """A bad key or value is a ConfigError naming the table, the key and what to give instead."""
    with pytest.raises(ConfigError, match=message):
        LinkPolicy.from_mapping(table)


def test_cache_answers_a_rerun_without_the_network(server: LoopbackServer, tmp_path: Path) -> None:
    """A rerun within the TTL is answered from disk; an expired entry is checked again."""
    options = replace(LOOPBACK, cache_dir=tmp_path / "cache")
    urls = [server.url("/ok"), server.url("/missing")]
    first = check_links(urls, options)
    n_requests = len(server.log)
    second = check_links(urls, options)
    assert len(server.log) == n_requests
    assert all(r.from_cache for r in second.values())
    assert {u: replace(r, from_cache=False) for u, r in second.items()} == first
    assert not [p for p in (tmp_path / "cache").iterdir() if p.suffix != ".json"]  # no temp files left
    check_links(urls, replace(options, cache_ttl=0.0))
    assert len(server.log) > n_requests


def test_cache_key_includes_the_guard_setting(server: LoopbackServer, tmp_path: Path) -> None:
    """A refusal cached with the guard on does not answer a run that allows private targets."""
    options = replace(LOOPBACK, cache_dir=tmp_path, allow_private=False)
    assert check_one(server.url("/ok"), options).status == "refused"
    assert check_one(server.url("/ok"), replace(options, allow_private=True)).status == "ok"


def test_unreadable_cache_entry_is_a_miss(server: LoopbackServer, tmp_path: Path) -> None:
    """A corrupt cache file is ignored and replaced, not an error."""
    options = replace(LOOPBACK, cache_dir=tmp_path)
    check_one(server.url("/ok"), options)
    (entry,) = tmp_path.iterdir()
    entry.write_text("{not json", encoding="utf-8")
    assert check_one(server.url("/ok"), options).from_cache is False
    assert json.loads(entry.read_text(encoding="utf-8"))["status"] == "ok"


# --- SSRF guard in a private network namespace --------------------------------------------------------

HOSTS = """127.0.0.1 localhost
::1 localhost
93.184.216.34 public.test
10.1.2.3 intranet.test
93.184.216.34 mixed.test
10.1.2.3 mixed.test
::7f00:1 compatible.test
2002:7f00:1:: sixtofour.test
64:ff9b:1::7f00:1 nat64.test
"""


@pytest.fixture(scope="module")
def netns_facts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Run tests/data/links/netns_guard.py in a loopback-only namespace and return its JSON."""
    if reason := namespace_unavailable("--net", "--mount", tools=("unshare", "ip")):
        pytest.skip(reason)
    hosts = tmp_path_factory.mktemp("netns") / "hosts"
    hosts.write_text(HOSTS, encoding="utf-8")
    setup = " && ".join(
        ["ip link set lo up"]
        + [f"ip addr add {a}/32 dev lo" for a in ("93.184.216.34", "10.1.2.3", "169.254.169.254")]
        + [f"mount --bind {hosts} /etc/hosts", f'exec "{sys.executable}" "{NETNS_SCRIPT}"']
    )
    env = os.environ | {"PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        ["unshare", "--net", "--mount", "sh", "-c", setup],
        capture_output=True, text=True, timeout=120, cwd=REPO, env=env, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    facts: dict[str, object] = json.loads(proc.stdout)
    return facts


@pytest.mark.netns
def test_netns_public_host_is_checked(netns_facts: dict[str, dict[str, dict[str, object]]]) -> None:
    """In default mode a public host is checked, and a public-to-public redirect is followed."""
    default = netns_facts["default"]
    assert default["http://public.test:8080/ok"]["status"] == "ok"
    assert default["http://public.test:8080/to-public"]["status"] == "redirected"


@pytest.mark.netns
@pytest.mark.parametrize(
    "path",
    [
        "/to-intranet",
        "/to-metadata",
        "/to-mapped",
        "/to-decimal",
        "/to-compatible",
        "/to-6to4",
        "/to-nat64-local",
    ],
)
def test_netns_redirect_to_private_is_refused(
    netns_facts: dict[str, dict[str, dict[str, object]]], path: str
) -> None:
    """A redirect from a public host to a private or link-local target is refused, hop recorded."""
    result = netns_facts["default"][f"http://public.test:8080{path}"]
    assert result["status"] == "refused" and str(result["error"]).startswith("guard:")
    assert result["n_redirects"] == 1 and result["http_status"] == 302


@pytest.mark.netns
@pytest.mark.parametrize(
    "url",
    ["http://intranet.test:8080/ok", "http://mixed.test:8080/ok", "http://10.1.2.3:8080/ok",
     "http://167838211:8080/ok", "http://[::ffff:10.1.2.3]:8080/ok", "http://169.254.169.254:8080/latest/meta-data/"],
)  # fmt: skip
def test_netns_private_targets_are_refused(
    netns_facts: dict[str, dict[str, dict[str, object]]], url: str
) -> None:
    """Private targets are refused by address, by a name resolving there, or with one private address of two."""
    assert netns_facts["default"][url]["status"] == "refused"


@pytest.mark.netns
@pytest.mark.parametrize("name", ["compatible.test", "sixtofour.test", "nat64.test"])
def test_netns_names_resolving_to_embedded_ipv4_are_refused(
    netns_facts: dict[str, dict[str, dict[str, object]]], name: str
) -> None:
    """Regression: a name resolving to ::7f00:1, 2002:7f00:1:: or 64:ff9b:1::7f00:1 is refused as loopback."""
    result = netns_facts["default"][f"http://{name}:8080/ok"]
    assert result["status"] == "refused" and "non-public address" in str(result["error"])


@pytest.mark.netns
def test_netns_guard_never_connected(netns_facts: dict[str, object]) -> None:
    """In default mode no request reached a private server; allowing private targets reaches it."""
    assert netns_facts["private_hits_default"] == 0
    assert netns_facts["private_hits_total"] > 0


@pytest.mark.netns
def test_netns_allow_private_opens_the_guard(netns_facts: dict[str, dict[str, dict[str, object]]]) -> None:
    """With allow_private the same private targets are checked like any other."""
    allowed = netns_facts["allowed"]
    assert allowed["http://intranet.test:8080/ok"]["status"] == "ok"
    assert allowed["http://public.test:8080/to-intranet"]["status"] == "redirected"
    assert allowed["http://10.1.2.3:8080/ok"]["status"] == "ok"  # an IP-literal URL is checked like any other


def test_link_flags_become_the_settings_table() -> None:
    """The --link-* flags given (and only those) form a [tool.news-audit.links] table LinkPolicy reads."""
    args = parse_args(["run", "--links", "live", "--link-interval", "0", "--link-retries", "0",
                       "--link-host", "news.example.com:interval=2,concurrency=1"])  # fmt: skip
    table = link_settings(args)
    assert table == {"per-host-interval": 0.0, "retries": 0,
                     "hosts": {"news.example.com": {"interval": 2, "concurrency": 1}}}  # fmt: skip
    policy = LinkPolicy.from_mapping(table)
    assert policy.limits_for("news.example.com") == HostLimits(concurrency=1, interval=2.0)
    assert (policy.per_host_interval, policy.retries, policy.per_host_concurrency) == (0.0, 0, 4)


@pytest.mark.parametrize(
    "flags, message",
    [(["--link-host", "news.example.com:intervl=1"], 'unknown key "intervl". Did you mean "interval"?'),
     (["--link-interval", "-1"], "argument --link-interval: -1 is not 0 or more seconds"),
     (["--link-host-concurrency", "0"], "argument --link-host-concurrency: 0 is less than 1"),
     (["--link-timeout", "0"], "timeout: 0 would give up at once")],
)  # fmt: skip
def test_bad_link_flags_exit_2_naming_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    """A bad --link-* value is a usage error (exit 2) whose one line names the flag or key and the fix."""
    assert main(["run", str(tmp_path), "--links", "live", *flags]) == 2
    assert message in capsys.readouterr().err
