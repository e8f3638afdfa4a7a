"""Run inside a private network namespace (see tests/test_linkcheck.py): SSRF-guard cases, JSON on stdout.

Servers listen on a "public" address (93.184.216.34, public.test) and on private and link-local
addresses (10.1.2.3 intranet.test, 169.254.169.254), all on this namespace's own loopback device, so no
packet can leave it whatever the guard does. The private servers count the requests that reach them.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from audit.link_policy import LinkPolicy
from audit.linkcheck import LiveOptions, check_links

PORT = 8080
REDIRECTS = {
    "/to-intranet": "http://intranet.test:8080/ok",
    "/to-metadata": "http://169.254.169.254:8080/latest/meta-data/",
    "/to-mapped": "http://[::ffff:10.1.2.3]:8080/ok",
    "/to-decimal": "http://167838211:8080/ok",
    "/to-public": "http://public.test:8080/ok",
    # IPv4-embedded IPv6 forms of 127.0.0.1: compatible, 6to4, local-use NAT64
    "/to-compatible": "http://[::7f00:1]:8080/ok",
    "/to-6to4": "http://[2002:7f00:1::]:8080/ok",
    "/to-nat64-local": "http://[64:ff9b:1::7f00:1]:8080/ok",
}
EMBEDDED_NAMES = ("compatible.test", "sixtofour.test", "nat64.test")
HITS: dict[str, int] = {}
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    """200 on /ok, a 302 for each REDIRECTS path; counts requests per listening address."""

    def do_HEAD(self) -> None:
        """Answer a HEAD like a GET, without a body."""
        with LOCK:
            address = self.server.server_address[0]
            HITS[address] = HITS.get(address, 0) + 1
        target = REDIRECTS.get(self.path)
        self.send_response(302 if target else 200)
        if target:
            self.send_header("Location", target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_HEAD

    def log_message(self, format: str, *args: object) -> None:
        """Keep stderr quiet."""


def serve(address: str) -> ThreadingHTTPServer:
    """Start a server on address:PORT in a daemon thread."""
    server = ThreadingHTTPServer((address, PORT), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def facts(urls: list[str], allow_private: bool) -> dict[str, dict[str, object]]:
    """Check the URLs with the guard on or off; results as plain dicts."""
    policy = LinkPolicy(timeout=2.0, per_host_interval=0.0, retries=0)
    options = LiveOptions(policy=policy, allow_private=allow_private)
    return {url: asdict(result) for url, result in check_links(urls, options).items()}


def main() -> int:
    """Refuse to run outside a loopback-only namespace; then run every case and print the facts."""
    interfaces = [name for _, name in socket.if_nameindex()]
    if interfaces != ["lo"]:
        sys.stderr.write(f"refusing to run: interfaces {interfaces} (expected only 'lo')\n")
        return 2
    servers = [serve(a) for a in ("93.184.216.34", "10.1.2.3", "169.254.169.254")]
    default_urls = [
        "http://public.test:8080/ok",
        *(f"http://public.test:8080{path}" for path in REDIRECTS),
        "http://intranet.test:8080/ok",
        "http://mixed.test:8080/ok",
        "http://10.1.2.3:8080/ok",
        "http://167838211:8080/ok",
        "http://[::ffff:10.1.2.3]:8080/ok",
        "http://169.254.169.254:8080/latest/meta-data/",
        *(f"http://{name}:8080/ok" for name in EMBEDDED_NAMES),
    ]
    default = facts(default_urls, allow_private=False)
    private_hits_default = HITS.get("10.1.2.3", 0) + HITS.get("169.254.169.254", 0)
    allowed = facts(
        ["http://intranet.test:8080/ok", "http://public.test:8080/to-intranet", "http://10.1.2.3:8080/ok"],
        allow_private=True,
    )
    out = {
        "default": default,
        "allowed": allowed,
        "private_hits_default": private_hits_default,
        "private_hits_total": HITS.get("10.1.2.3", 0) + HITS.get("169.254.169.254", 0),
    }
    for server in servers:
        server.shutdown()
        server.server_close()
    sys.stdout.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
