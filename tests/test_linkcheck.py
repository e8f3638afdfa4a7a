"""Live link checks against a real HTTP server on 127.0.0.1, and the SSRF guard in a network namespace."""

from __future__ import annotations

import datetime as dt
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

from audit.link_policy import LinkPolicy
from audit.linkcheck import LiveOptions, LiveResult, check_links, is_public_address
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
     ("::ffff:10.0.0.1", False), ("64:ff9b::a00:1", False), ("224.0.0.1", False), ("0.0.0.0", False)],
)  # fmt: skip
def test_is_public_address(address: str, public: bool) -> None:
    """Only globally routable addresses are public, including through mapped and NAT64 forms."""
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
@pytest.mark.parametrize("path", ["/to-intranet", "/to-metadata", "/to-mapped", "/to-decimal"])
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
