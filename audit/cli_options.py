"""The command line's options: one argparse parser per command, each option's type, help and default.

``cli.py`` runs the commands; this module only says what they accept. Defaults from a settings file
(audit/settings.py) are laid over these by ``parse_args`` before the command line is read.
"""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from audit.settings import Settings, apply_options
from audit.version import __version__

_EXIT_CODES = """exit codes:
  0  passed: no critical rule fails after waivers (warnings allowed)
  1  gate failed: a critical rule has findings
  2  usage or configuration error (bad option, bad suite, waiver or table file)
  3  internal error (a bug: rerun with --debug and report it)"""

_RUN_EXAMPLE = """example:
  news-audit run seeds/ --tables build/tables --report reports/

Defaults for any option can be set in news-audit.toml or pyproject.toml's [tool.news-audit]
(see docs/configuration.md); the command line wins over the file.
"""


class Parser(argparse.ArgumentParser):
    """argparse without abbreviations, whose errors show this (sub)command's usage and a "did you mean"."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        """Print usage, the message and a suggestion for an unknown option; exit 2."""
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}{self.suggestion(message)}\n")

    def suggestion(self, message: str) -> str:
        """A "did you mean" for an unknown option or choice close to a known one (else "")."""
        choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if choice:
            close = difflib.get_close_matches(choice[1], re.findall(r"'([^']*)'", choice[2]), n=1)
            return f" (did you mean {close[0]}?)" if close else ""
        if not message.startswith("unrecognized arguments:"):
            return ""
        known = [s for a in self._actions for s in a.option_strings if s.startswith("--")]
        for word in message.split(":", 1)[1].split():
            if word.startswith("-"):
                close = difflib.get_close_matches(word.split("=", 1)[0], known, n=1, cutoff=0.6)
                if close:
                    return f" (did you mean {close[0]}?)"
        return ""


def build_parser() -> tuple[Parser, dict[str, Parser]]:
    """The parser and each command's sub-parser, by command name."""
    parser = Parser(
        prog=_prog(),
        description="Audit a news-article dataset: seeds -> Parquet tables -> Great Expectations -> report -> exit code.",
        epilog=_EXIT_CODES,
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
        epilog=_RUN_EXAMPLE + "\n" + _EXIT_CODES,
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
        type=_positive,
        default=None,
        metavar="N",
        help="worker processes for extraction, validation and the report (default: one per CPU)",
    )
    run.add_argument(
        "--max-seed-bytes",
        type=_positive,
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
        type=_seconds,
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
    _cache_dir_option(run)
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
        epilog="example:\n  news-audit validate --tables build/tables --report reports/\n\n" + _EXIT_CODES,
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
        type=_positive,
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
    commands = {"run": run, "validate": validate, "publish": _publish_parser(sub)}
    commands["waive"] = _waive_parser(sub)
    commands["init"] = _init_parser(sub)
    commands["cache"] = _cache_parser(sub)
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


_PUBLISH_EXIT_CODES = """exit codes:
  0  published (or the same tables republished to the same release)
  1  refused: the verdict of publish's own validation is not "passed", the suites are not the audited
     ones or hold no rule, or a table's sha256 is not the one the report recorded
  2  usage or configuration error: REPORT/results.json or TABLES/manifest.json missing or corrupt,
     bad release config, a --version already used for other tables
  3  internal error (a bug: rerun with --debug and report it)"""


def _at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``minimum`` (argparse reports the error and exits 2)."""

    def whole(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is less than {minimum}")
        return value

    return whole


_positive = _at_least(1)
_count = _at_least(0)


def _seconds(text: str) -> float:
    """A number of seconds, 0 or more and finite, for argparse."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} is not 0 or more seconds (0 means no limit)")
    return value


def _publish_parser(sub: argparse._SubParsersAction[Parser]) -> Parser:
    publish = sub.add_parser(
        "publish",
        help="release the audited tables with their report, a Croissant description and provenance",
        description="Publish exactly what passed: check that REPORT/results.json names tables whose sha256 "
        "equals that of the files in TABLES now, validate them again with SUITES (the audited suites; every "
        "seed extracted again) and, only if that verdict is passed, write RELEASES/<name>/ atomically with "
        "the tables, the report, croissant.jsonld, provenance.intoto.json (in-toto Statement v1), "
        "CHANGELOG.md and changes.json (diff against the previous release), and point RELEASES/latest.json "
        "at it.",
        epilog="example:\n  python -m audit run seeds/ && python -m audit publish --tables build/tables "
        "--report reports --to releases\n\n" + _PUBLISH_EXIT_CODES,
    )
    publish.add_argument(
        "--tables",
        type=Path,
        default=Path("build/tables"),
        metavar="DIR",
        help="the audited tables and their manifest.json (default: build/tables/)",
    )
    publish.add_argument(
        "--report",
        type=Path,
        default=Path("reports"),
        metavar="DIR",
        help="the audit's report; its results.json holds the verdict and the audited digests (default: reports/)",
    )
    publish.add_argument(
        "--to",
        dest="release_root",
        type=Path,
        default=Path("releases"),
        metavar="RELEASES",
        help="folder of releases; the release goes in RELEASES/<name>/ and RELEASES/latest.json (default: releases/)",
    )
    publish.add_argument(
        "--version",
        default=None,
        metavar="NAME",
        help="the release's name and Croissant version, e.g. 1.2.0 (default: the audit run's date, "
        "YYYY-MM-DD, then YYYY-MM-DD.2 ... if that name already holds other tables)",
    )
    publish.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help="dataset name, description, license, url, citation, creators, keywords "
        "(schemas/release.schema.json; default: release.json if present, else the schema's defaults)",
    )
    publish.add_argument(
        "--suites",
        type=Path,
        default=None,
        metavar="DIR",
        help="the suites the tables were audited with; publish validates again with them (default: "
        "./expectations/ if present, else the packaged defaults)",
    )
    publish.add_argument(
        "--waivers",
        type=Path,
        default=None,
        metavar="FILE",
        help="waivers file (default: SUITES/waivers.json if present)",
    )
    publish.add_argument(
        "--seeds",
        type=Path,
        default=None,
        metavar="DIR",
        help="where the seeds are now, if not where the manifest says",
    )
    publish.add_argument(
        "--jobs",
        type=_positive,
        default=None,
        metavar="N",
        help="worker processes for the validation (default: one per CPU)",
    )
    publish.add_argument(
        "--trust-key",
        type=Path,
        default=None,
        metavar="PUB",
        help="refuse tables whose manifest this Ed25519 public key (PEM) did not sign (`run --sign-key`)",
    )
    publish.add_argument(
        "--schemas",
        type=Path,
        default=None,
        metavar="DIR",
        help="JSON Schemas: results.schema.json, release.schema.json and <table>.schema.json, read at "
        "publish time for the Croissant record sets (default: the schemas/ beside the audit package)",
    )
    return publish


def _waive_parser(sub: argparse._SubParsersAction[Parser]) -> Parser:
    waive = sub.add_parser(
        "waive",
        help="accept failing records of a rule: write their waivers from REPORT/results.json",
        description="Write waivers for failing records of RULE, as the report found them: each pinned to "
        "its record's seed digest (read from the audited tables), with the reason and the expiry date. "
        "An existing waiver for the same rule and record is replaced.",
        epilog="example:\n  news-audit waive number-has-source --records n-3f2a n-77c1 "
        '--reason "figures quoted from the court filing" --expires 2027-06-30\n\n' + _EXIT_CODES_WAIVE,
    )
    waive.add_argument("rule_id", metavar="RULE", help="the rule id, as results.json and the report name it")
    waive.add_argument(
        "--records",
        nargs="+",
        required=True,
        metavar="ID",
        help="failing record ids of the rule (results.json: rules[].failed_ids), or: all",
    )
    waive.add_argument(
        "--reason", required=True, help="why the exception is accepted (at least 10 characters)"
    )
    waive.add_argument(
        "--expires",
        required=True,
        type=_date,
        metavar="YYYY-MM-DD",
        help="the day after which the waiver lapses",
    )
    waive.add_argument(
        "--report", type=Path, default=Path("reports"), metavar="DIR", help="the report (default: reports/)"
    )
    waive.add_argument(
        "--tables",
        type=Path,
        default=Path("build/tables"),
        metavar="DIR",
        help="the audited tables, where each record's seed digest is read (default: build/tables/)",
    )
    waive.add_argument("--suites", type=Path, default=None, metavar="DIR", help=argparse.SUPPRESS)
    waive.add_argument(
        "--waivers",
        type=Path,
        default=None,
        metavar="FILE",
        help="the waivers file to add to (default: SUITES/waivers.json; ./waivers.json with the packaged suites)",
    )
    return waive


def _cache_dir_option(parser: Parser) -> None:
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        metavar="DIR",
        help="the extraction cache: a seed whose bytes, policy and extraction code were seen before is not "
        "extracted again (default: $XDG_CACHE_HOME/news-audit/extraction, ~/.cache/news-audit/extraction)",
    )


def _cache_parser(sub: argparse._SubParsersAction[Parser]) -> Parser:
    cache = sub.add_parser(
        "cache",
        help="show the extraction cache's size, or prune entries not used for a while",
        description="The extraction cache keeps each seed's extracted rows under the seed's sha256 and what "
        "shapes extraction (see docs/performance.md). `size` shows its entries and bytes; `prune` removes "
        "entries no run has used for --older-than, and files left by killed runs.",
        epilog="examples:\n  news-audit cache size\n  news-audit cache prune --older-than 30d\n\n"
        + _EXIT_CODES_CACHE,
    )
    cache.add_argument(
        "action", choices=["size", "prune"], help="size: entries and bytes; prune: remove old ones"
    )
    cache.add_argument(
        "--older-than",
        type=_age,
        default=None,
        metavar="AGE",
        help="with prune: entries not used for AGE (a whole number and s, m, h, d or w, e.g. 30d)",
    )
    _cache_dir_option(cache)
    return cache


_EXIT_CODES_CACHE = """exit codes:
  0  done
  2  usage error: prune without --older-than, or a bad AGE"""


def _age(text: str) -> str:
    """AGE as typed, once it parses (the message then says it as the user wrote it)."""
    from audit.cache import parse_age

    try:
        parse_age(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text.strip()


def _init_parser(sub: argparse._SubParsersAction[Parser]) -> Parser:
    init = sub.add_parser(
        "init",
        help="copy the default suites and number policy into DIR/expectations/ to edit them",
        description="Write an editable copy of the packaged suites and number policy into DIR/expectations/ "
        "(refused if it exists). Runs in DIR then use them instead of the packaged defaults.",
        epilog="example:\n  news-audit init .\n\n" + _EXIT_CODES,
    )
    init.add_argument("directory", nargs="?", type=Path, default=Path(), metavar="DIR", help="default: .")
    return init


_EXIT_CODES_WAIVE = """exit codes:
  0  waivers written
  2  usage error: no reason, a past date, an unknown rule or record, tables other than the audited ones"""


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: write YYYY-MM-DD") from None


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
        type=_positive,
        metavar="N",
        help="requests in flight per host (default: 4)",
    )
    add(
        "--link-interval",
        type=_seconds,
        metavar="SECONDS",
        help="least time between request starts on one host, its rate's ceiling; pacing slows down on "
        "429/503 and comes back to it (default: 0.1, 10 requests/s; 0: no ceiling but the concurrency)",
    )
    add(
        "--link-concurrency",
        type=_positive,
        metavar="N",
        help="requests in flight over all hosts (default: 64)",
    )
    add("--link-timeout", type=_seconds, metavar="SECONDS", help="per request (default: 10)")
    add(
        "--link-retries",
        type=_count,
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
