"""The command line's options: one argparse parser per command, each option's type, help and default.

``cli.py`` runs the commands; this module only says what they accept: run's and validate's options here,
the other commands' in ``cli_commands``, the parser class and the option types in ``cli_types``.
Defaults from a settings file (audit/settings.py) are laid over these by ``parse_args`` before the
command line is read.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from audit.cli_commands import cache_dir_option, cache_parser, init_parser, publish_parser, waive_parser
from audit.cli_types import EXIT_CODES, Parser, count, positive, seconds
from audit.settings import Settings, apply_options
from audit.version import __version__

_RUN_EXAMPLE = """example:
  news-audit run seeds/ --tables build/tables --report reports/

Defaults for any option can be set in news-audit.toml or pyproject.toml's [tool.news-audit]
(see docs/configuration.md); the command line wins over the file.
"""


def build_parser() -> tuple[Parser, dict[str, Parser]]:
    """The parser and each command's sub-parser, by command name."""
    parser = Parser(
        prog=_prog(),
        description="Audit a news-article dataset: seeds -> Parquet tables -> Great Expectations -> report -> exit code.",
        epilog=EXIT_CODES,
    )
    parser.add_argument("--version", action="version", version=f"news-audit {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an internal error")
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="{run,validate,publish,waive,init,cache}", parser_class=Parser
    )
    run = sub.add_parser(
        "run",
        help="extract the seeds, write the tables, validate them and write the report",
        description="Ingest every file under SEEDS_DIR, extract articles and their numbers, links and dates, "
        "write Parquet tables with a provenance manifest, validate them with the suites and write the report.",
        epilog=_RUN_EXAMPLE + "\n" + EXIT_CODES,
    )
    run.add_argument(
        "seeds_dir",
        nargs="?",
        type=Path,
        default=Path("seeds"),
        metavar="SEEDS_DIR",
        help="directory of seed files, read recursively (default: seeds/)",
    )
    run.add_argument(
        "--tables",
        type=Path,
        default=Path("build/tables"),
        metavar="DIR",
        help="where the Parquet tables and manifest.json go (default: build/tables/)",
    )
    run.add_argument(
        "--jobs",
        type=positive,
        default=None,
        metavar="N",
        help="worker processes for extraction, validation and the report (default: one per CPU)",
    )
    run.add_argument(
        "--max-seed-bytes",
        type=positive,
        default=None,
        metavar="N",
        help="reject seeds larger than N bytes (default: 20 MiB)",
    )
    run.add_argument(
        "--links",
        choices=["offline", "live"],
        default="offline",
        help="offline: syntax and Public Suffix List checks only (default, what CI uses); "
        "live: also fetch each distinct URL (HEAD, GET fallback), politely, with a disk cache",
    )
    run.add_argument(
        "--allow-private-links",
        action="store_true",
        help="with --links live, also fetch private, loopback and link-local addresses (refused by default)",
    )
    run.add_argument(
        "--link-cache",
        type=Path,
        default=Path("build/link-cache"),
        metavar="DIR",
        help="where live results are cached for a day, so a rerun does not fetch again (default: build/link-cache/)",
    )
    _link_options(run)
    run.add_argument(
        "--seed-timeout",
        type=seconds,
        default=None,
        metavar="SECONDS",
        help="reject a seed whose extraction takes longer (default: 60; 0 for no limit)",
    )
    run.add_argument(
        "--sign-key",
        type=Path,
        default=None,
        metavar="KEY",
        help="sign TABLES/manifest.json with this Ed25519 private key (PEM) into TABLES/manifest.sig, for "
        "`publish --trust-key` (see docs/security.md)",
    )
    run.add_argument(
        "--policy",
        type=Path,
        default=None,
        metavar="FILE",
        help="number attribution policy (default: SUITES/number_policy.json)",
    )
    cache_dir_option(run)
    run.add_argument(
        "--no-cache",
        action="store_true",
        help="extract every seed again and leave the extraction cache alone",
    )
    _common(run)
    _engine(run)
    _output(run)
    validate = sub.add_parser(
        "validate",
        help="re-audit existing tables against the seeds named in their manifest",
        description="Re-read the seeds named in TABLES/manifest.json, recompute provenance, extract every "
        "seed again, run the suites on the existing tables and write the report. Catches tables "
        "edited after extraction.",
        epilog="example:\n  news-audit validate --tables build/tables --report reports/\n\n" + EXIT_CODES,
    )
    validate.add_argument(
        "--tables",
        type=Path,
        default=Path("build/tables"),
        metavar="DIR",
        help="directory written by `run` (default: build/tables/)",
    )
    validate.add_argument(
        "--seeds",
        type=Path,
        default=None,
        metavar="DIR",
        help="where the seeds are now, if not where the manifest says",
    )
    validate.add_argument(
        "--jobs",
        type=positive,
        default=None,
        metavar="N",
        help="worker processes for validation and the report (default: one per CPU)",
    )
    validate.add_argument(
        "--reextract",
        choices=["all", "sample", "none"],
        default="all",
        help="seeds extracted again, whose stored rows must be rows extraction makes (catches an edited "
        "value whose digests were recomputed): all (default), a sample of one in 16 drawn with a key "
        "kept secret for this validation only, or none (see docs/security.md)",
    )
    validate.add_argument(
        "--policy",
        type=Path,
        default=None,
        metavar="FILE",
        help="the number policy the tables were made with, for --reextract (default: SUITES/number_policy.json)",
    )
    _common(validate)
    _engine(validate)
    _output(validate)
    commands = {"run": run, "validate": validate, "publish": publish_parser(sub)}
    commands["waive"] = waive_parser(sub)
    commands["init"] = init_parser(sub)
    commands["cache"] = cache_parser(sub)
    for command in commands.values():
        command.add_argument(
            "--config-file",
            type=Path,
            default=None,
            metavar="FILE",
            help="settings file (default: the nearest news-audit.toml, or pyproject.toml with [tool.news-audit])",
        )
        command.add_argument("--no-config", action="store_true", help="read no settings file")
        command.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
        )
    return parser, commands


def parse_args(argv: Sequence[str] | None, settings: Settings | None = None) -> argparse.Namespace:
    """Parse the given argument list (sys.argv only when None), with the settings file's defaults."""
    parser, commands = build_parser()
    if settings is not None:
        apply_options(settings, commands)
    args, extra = parser.parse_known_args(argv)
    if extra:
        commands[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def _prog() -> str:
    return "python -m audit" if Path(sys.argv[0]).name == "__main__.py" else "news-audit"


def _output(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--fail-on",
        choices=("critical", "warning"),
        default="critical",
        help="the least severity that fails the gate (default: critical; warning: warnings block too)",
    )
    p.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text: the verdict and the failing rules (default); json: results.json's summary on stdout",
    )
    loud = p.add_mutually_exclusive_group()
    loud.add_argument("-q", "--quiet", action="store_true", help="only the verdict line and errors")
    loud.add_argument(
        "-v", "--verbose", action="store_true", help="more findings per rule, and lapsed waivers"
    )


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--report",
        type=Path,
        default=Path("reports"),
        metavar="DIR",
        help="where index.html, results.json and junit.xml go (default: reports/)",
    )
    p.add_argument(
        "--suites",
        type=Path,
        default=None,
        metavar="DIR",
        help="directory of <table>.json expectation suites (default: ./expectations/ if present, else the "
        "packaged defaults)",
    )
    p.add_argument(
        "--waivers",
        type=Path,
        default=None,
        metavar="FILE",
        help="waivers file (default: SUITES/waivers.json if present)",
    )


def _engine(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--engine",
        choices=("pandas", "spark"),
        default="pandas",
        help="pandas: one machine (default); spark: extraction in Spark tasks, tables written and validated "
        "by Spark (needs the [spark] extra and Java 17+; see docs/spark.md)",
    )
    p.add_argument(
        "--spark-master",
        default=None,
        metavar="URL",
        help="Spark master URL with --engine spark, e.g. spark://host:7077 (default: local[2], or the "
        "master spark-submit was given)",
    )


# --- live link checks (docs/links.md) ------------------------------------------------------------------

_LINK_FLAGS = {  # flag's dest -> key of the [tool.news-audit.links] table
    "link_host_concurrency": "per-host-concurrency",
    "link_interval": "per-host-interval",
    "link_concurrency": "global-concurrency",
    "link_timeout": "timeout",
    "link_retries": "retries",
    "link_user_agent": "user-agent",
}


def _link_options(run: argparse.ArgumentParser) -> None:
    group = run.add_argument_group("live link checks (with --links live; docs/links.md)")
    add = group.add_argument
    add(
        "--link-host-concurrency",
        type=positive,
        metavar="N",
        help="requests in flight per host (default: 4)",
    )
    add(
        "--link-interval",
        type=seconds,
        metavar="SECONDS",
        help="least time between request starts on one host, its rate's ceiling; pacing slows down on "
        "429/503 and comes back to it (default: 0.1, 10 requests/s; 0: no ceiling but the concurrency)",
    )
    add(
        "--link-concurrency",
        type=positive,
        metavar="N",
        help="requests in flight over all hosts (default: 64)",
    )
    add("--link-timeout", type=seconds, metavar="SECONDS", help="per request (default: 10)")
    add(
        "--link-retries",
        type=count,
        metavar="N",
        help="retries of a 5xx answer; 429s have their own budget of 6 (default: 2)",
    )
    add("--link-user-agent", metavar="TEXT", help="User-Agent header (default: news-audit-linkcheck/0.1)")
    add(
        "--link-host",
        action="append",
        default=[],
        metavar="HOST:KEY=VALUE[,KEY=VALUE]",
        help="limits of one host and its subdomains, e.g. news.example.com:interval=1,concurrency=1 (repeatable)",
    )


def link_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The link flags given, as a [tool.news-audit.links] table (a config file's table is overridden by it)."""
    from audit.link_policy import host_option

    table = {key: getattr(args, dest) for dest, key in _LINK_FLAGS.items() if getattr(args, dest) is not None}
    hosts = dict(map(host_option, args.link_host))
    return table | ({"hosts": hosts} if hosts else {})
