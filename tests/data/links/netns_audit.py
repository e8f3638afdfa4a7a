"""Run inside a loopback-only network namespace (see tests/test_links_live.py): the whole audit with --links live.

A server on 93.184.216.34 (named news.example.com in the namespace's /etc/hosts) answers /ok with 200,
/moved with a 301 to /ok and /gone with 404. The audit runs on a seed linking to the three and writes its
tables and report into the directory given as the first argument, twice (the second from the cache), then
once more with --allow-private-links, which also fetches the seed's IP-literal link (/ip on the same server);
the exit codes and the requests /ip received are printed as JSON.
"""

from __future__ import annotations

import contextlib
import io
import json
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from audit.cli import main as audit_main

SEED = """Council budget passes

The council approved a budget of $2.3 billion on Monday, the mayor's office said in a statement at
http://news.example.com:8080/ok and the earlier draft at http://news.example.com:8080/moved was replaced.

The old page http://news.example.com:8080/gone is no longer online, according to the city clerk.

The raw figures were posted at http://93.184.216.34:8080/ip by the finance department, with notes at
http://news.example.com:8080/busy for readers.
"""
HITS: dict[str, int] = {}


class Handler(BaseHTTPRequestHandler):
    """200 on /ok and /ip, 301 to /ok on /moved, 429 then 200 on /busy, 404 elsewhere; counts requests."""

    def do_HEAD(self) -> None:
        """Answer a HEAD like a GET, without a body."""
        HITS[self.path] = HITS.get(self.path, 0) + 1
        if self.path == "/busy" and HITS[self.path] == 1:
            self.send_response(429)
            self.send_header("Retry-After", "1")
        elif self.path == "/moved":
            self.send_response(301)
            self.send_header("Location", "http://news.example.com:8080/ok")
        else:
            self.send_response(200 if self.path in ("/ok", "/ip", "/busy") else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_HEAD

    def log_message(self, format: str, *args: object) -> None:
        """Keep stderr quiet."""


def main() -> int:
    """Refuse to run outside a loopback-only namespace; serve, audit, print the exit code."""
    if [name for _, name in socket.if_nameindex()] != ["lo"]:
        sys.stderr.write("refusing to run: not in a loopback-only network namespace\n")
        return 2
    out = Path(sys.argv[1])
    seeds = out / "seeds"
    seeds.mkdir(parents=True)
    (seeds / "budget.txt").write_text(SEED, encoding="utf-8")
    server = ThreadingHTTPServer(("93.184.216.34", 8080), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    args = ["run", str(seeds), "--tables", str(out / "tables"), "--report", str(out / "report"),
            "--links", "live", "--link-cache", str(out / "cache"), "--jobs", "1"]  # fmt: skip
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        first = audit_main(args)
    (out / "first-stdout.txt").write_text(printed.getvalue(), encoding="utf-8")
    (out / "first-results.json").write_bytes((out / "report" / "results.json").read_bytes())
    ip_hits_refused = HITS.get("/ip", 0)
    second = audit_main(args)  # answered from the cache
    allowed = out / "allowed"
    third = audit_main([*args[:2], "--tables", str(allowed / "tables"), "--report", str(allowed / "report"),
                        "--links", "live", "--allow-private-links", "--link-cache", str(allowed / "cache"),
                        "--jobs", "1"])  # fmt: skip
    server.shutdown()
    codes = {"first": first, "second": second, "allowed": third}
    sys.stdout.write(
        json.dumps({**codes, "ip_hits_refused": ip_hits_refused, "ip_hits": HITS.get("/ip", 0)}) + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
