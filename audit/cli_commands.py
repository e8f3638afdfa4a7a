"""The options of the commands around an audit: publish, waive, init and cache (``cli_options`` builds
the parser with them, beside run and validate)."""

from __future__ import annotations

import argparse
from pathlib import Path

from audit.cli_types import EXIT_CODES, Parser, age, date, positive


def cache_dir_option(parser: Parser) -> None:
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        metavar="DIR",
        help="the extraction cache: a seed whose bytes, policy and extraction code were seen before is not "
        "extracted again (default: $XDG_CACHE_HOME/news-audit/extraction, ~/.cache/news-audit/extraction)",
    )


_PUBLISH_EXIT_CODES = """exit codes:
  0  published (or the same tables republished to the same release)
  1  refused: the verdict of publish's own validation is not "passed", the suites are not the audited
     ones or hold no rule, or a table's sha256 is not the one the report recorded
  2  usage or configuration error: REPORT/results.json or TABLES/manifest.json missing or corrupt,
     bad release config, a --version already used for other tables
  3  internal error (a bug: rerun with --debug and report it)"""


def publish_parser(sub: argparse._SubParsersAction[Parser]) -> Parser:
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
        type=positive,
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


def waive_parser(sub: argparse._SubParsersAction[Parser]) -> Parser:
    waive = sub.add_parser(
        "waive",
        help="accept failing records of a rule: write their waivers from REPORT/results.json",
        description="Write waivers for failing records of RULE, as the report found them: each pinned to "
        "its record's seed digest (read from the audited tables), with the reason and the expiry date. "
        "An existing waiver for the same rule and record is replaced.",
        epilog="example:\n  news-audit waive number-has-source --records n-3f2a n-77c1 "
        '--reason "figures quoted from the court filing" --expires 2027-06-30\n\n' + _WAIVE_EXIT_CODES,
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
        type=date,
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


def cache_parser(sub: argparse._SubParsersAction[Parser]) -> Parser:
    cache = sub.add_parser(
        "cache",
        help="show the extraction cache's size, or prune entries not used for a while",
        description="The extraction cache keeps each seed's extracted rows under the seed's sha256 and what "
        "shapes extraction (see docs/performance.md). `size` shows its entries and bytes; `prune` removes "
        "entries no run has used for --older-than, and files left by killed runs.",
        epilog="examples:\n  news-audit cache size\n  news-audit cache prune --older-than 30d\n\n"
        + _CACHE_EXIT_CODES,
    )
    cache.add_argument(
        "action", choices=["size", "prune"], help="size: entries and bytes; prune: remove old ones"
    )
    cache.add_argument(
        "--older-than",
        type=age,
        default=None,
        metavar="AGE",
        help="with prune: entries not used for AGE (a whole number and s, m, h, d or w, e.g. 30d)",
    )
    cache_dir_option(cache)
    return cache


_CACHE_EXIT_CODES = """exit codes:
  0  done
  2  usage error: prune without --older-than, or a bad AGE"""


def init_parser(sub: argparse._SubParsersAction[Parser]) -> Parser:
    init = sub.add_parser(
        "init",
        help="copy the default suites and number policy into DIR/expectations/ to edit them",
        description="Write an editable copy of the packaged suites and number policy into DIR/expectations/ "
        "(refused if it exists). Runs in DIR then use them instead of the packaged defaults.",
        epilog="example:\n  news-audit init .\n\n" + EXIT_CODES,
    )
    init.add_argument("directory", nargs="?", type=Path, default=Path(), metavar="DIR", help="default: .")
    return init


_WAIVE_EXIT_CODES = """exit codes:
  0  waivers written
  2  usage error: no reason, a past date, an unknown rule or record, tables other than the audited ones"""
