"""--links live end to end: live results are joined to the link records and gate the verdict."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pyarrow.parquet as pq
import pytest

from tests.conftest import namespace_unavailable

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "tests" / "data" / "links" / "netns_audit.py"


@pytest.fixture(scope="module")
def live_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run the audit with --links live inside a loopback-only namespace; return its output directory."""
    if reason := namespace_unavailable("--net", "--mount", tools=("unshare", "ip")):
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("live")
    hosts = out / "hosts"
    hosts.write_text("127.0.0.1 localhost\n93.184.216.34 news.example.com\n", encoding="utf-8")
    setup = " && ".join([
        "ip link set lo up", "ip addr add 93.184.216.34/32 dev lo", f"mount --bind {hosts} /etc/hosts",
        f'exec "{sys.executable}" "{SCRIPT}" "{out / "run"}"',
    ])  # fmt: skip
    env = os.environ | {"PYTHONPATH": str(REPO), "GX_ANALYTICS_ENABLED": "false"}
    proc = subprocess.run(["unshare", "--net", "--mount", "sh", "-c", setup], capture_output=True, text=True,
                          timeout=240, cwd=REPO, env=env, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (out / "codes.json").write_text(proc.stdout.strip().splitlines()[-1])
    return out


@pytest.mark.netns
def test_broken_article_link_fails_the_gate(live_run: Path) -> None:
    """A 404 inline link is a critical finding naming that link; the rerun from cache gives the same verdict."""
    codes = json.loads((live_run / "codes.json").read_text())
    assert (codes["first"], codes["second"]) == (1, 1)
    links = {r["url"]: r for r in pq.read_table(live_run / "run" / "tables" / "links.parquet").to_pylist()}
    results = json.loads((live_run / "run" / "report" / "results.json").read_text())
    failed = {(r["rule_id"], i) for r in results["rules"] for i in r["failed_ids"]}
    gone = links["http://news.example.com:8080/gone"]["link_id"]
    moved = links["http://news.example.com:8080/moved"]["link_id"]
    ok = links["http://news.example.com:8080/ok"]["link_id"]
    assert ("link-article-not-broken", gone) in failed
    assert ("link-article-redirected", moved) in failed
    blocking = {i for r in results["rules"] if r["severity"] != "info" for i in r["failed_ids"]}
    assert ok not in blocking  # only the info rule link-article-https notes its plain http


@pytest.mark.netns
def test_live_results_are_a_table_of_their_own(live_run: Path) -> None:
    """Live results go to link_checks (run-time facts); the links table keeps its offline, deterministic facts."""
    checks = {
        r["url"]: r for r in pq.read_table(live_run / "run" / "tables" / "link_checks.parquet").to_pylist()
    }
    assert checks["http://news.example.com:8080/gone"]["status"] == "broken"
    assert checks["http://news.example.com:8080/gone"]["http_status"] == 404
    assert checks["http://news.example.com:8080/moved"]["final_url"] == "http://news.example.com:8080/ok"
    assert all(r["from_cache"] for r in checks.values())  # the table is the second run's: all from cache
    statuses = {r["status"] for r in pq.read_table(live_run / "run" / "tables" / "links.parquet").to_pylist()}
    assert statuses == {"not_checked"}


@pytest.mark.netns
def test_ip_literal_links_are_checked_only_with_allow_private(live_run: Path) -> None:
    """An IP-literal link is refused with no request by default, fetched with --allow-private-links; its offline finding stays."""
    facts = json.loads((live_run / "codes.json").read_text())
    url = "http://93.184.216.34:8080/ip"
    default = {
        r["url"]: r for r in pq.read_table(live_run / "run" / "tables" / "link_checks.parquet").to_pylist()
    }
    allowed_dir = live_run / "run" / "allowed" / "tables"
    allowed = {r["url"]: r for r in pq.read_table(allowed_dir / "link_checks.parquet").to_pylist()}
    assert default[url]["status"] == "refused" and facts["ip_hits_refused"] == 0
    assert allowed[url]["status"] == "ok" and facts["ip_hits"] >= 1
    link = next(r for r in pq.read_table(allowed_dir / "links.parquet").to_pylist() if r["url"] == url)
    assert (link["syntax_ok"], link["syntax_error_code"]) == (False, "no-registrable-domain")


@pytest.mark.netns
def test_host_statistics_reach_results_and_report(live_run: Path) -> None:
    """results.json (manifest.run.link_hosts) and the report carry each host's statistics; a cached rerun counts hits."""
    first = json.loads((live_run / "run" / "first-results.json").read_text())["manifest"]["run"]["link_hosts"]
    hosts = {h["host"]: h for h in first}
    news = hosts["news.example.com"]
    # /ok, /moved (then /ok), /gone (HEAD and GET), /busy (429, then 200): seven requests for four URLs
    assert (news["urls"], news["requests"], news["cache_hits"]) == (4, 7, 0)
    assert news["statuses"] == {"200": 3, "301": 1, "404": 2, "429": 1} and news["mean_latency_s"] > 0
    assert (news["rate_limited"], news["retries"], news["slowdowns"]) == (1, 1, 1)
    assert hosts["93.184.216.34"]["requests"] == 0  # the IP literal, refused without a request
    second = json.loads((live_run / "run" / "report" / "results.json").read_text())["manifest"]["run"][
        "link_hosts"
    ]
    assert {h["host"]: h["cache_hits"] for h in second} == {"93.184.216.34": 1, "news.example.com": 4}
    html = (live_run / "run" / "report" / "index.html").read_text(encoding="utf-8")
    assert 'id="link-hosts"' in html and "news.example.com" in html
    schema = json.loads((REPO / "schemas" / "results.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(json.loads((live_run / "run" / "first-results.json").read_text()), schema)


@pytest.mark.netns
def test_terminal_summary_names_the_rate_limiting_host(live_run: Path) -> None:
    """After the verdict, `run` prints a line for the host that answered 429, and none for the others."""
    printed = (live_run / "run" / "first-stdout.txt").read_text(encoding="utf-8").splitlines()
    hosts = [line for line in printed if line.startswith("link host ")]
    assert len(hosts) == 1 and hosts[0].startswith("link host news.example.com: rate-limited: 7 requests;")
    assert "1 x 429" in hosts[0] and "waited 1.0 s for Retry-After" in hosts[0]
