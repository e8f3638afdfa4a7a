"""argparse -> pipeline -> exit code; no logic."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

from audit.errors import AuditError, ExitCode

_EXIT_CODES = """exit codes:
  0  passed: no critical rule fails after waivers (warnings allowed)
  1  gate failed: a critical rule has findings
  2  usage or configuration error (bad option, bad suite, waiver or table file)
  3  internal error (a bug: rerun with --debug and report it)"""

_RUN_EXAMPLE = """example:
  python -m audit run seeds/ --tables build/tables --report reports/
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the given argument list (never sys.argv implicitly when a list is given)."""
    parser = argparse.ArgumentParser(
        prog="python -m audit",
        description="Audit a news-article dataset: seeds -> Parquet tables -> Great Expectations -> report -> exit code.",
        epilog=_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an internal error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{run,validate,publish}")
    run = sub.add_parser(
        "run",
        help="extract the seeds, write the tables, validate them and write the report",
        description="Ingest every file under SEEDS_DIR, extract articles and their numbers, links and dates, "
        "write Parquet tables with a provenance manifest, validate them with the suites and write the report.",
        epilog=_RUN_EXAMPLE + "\n" + _EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
    _common(run)
    _engine(run)
    validate = sub.add_parser(
        "validate",
        help="re-audit existing tables against the seeds named in their manifest",
        description="Re-read the seeds named in TABLES/manifest.json, recompute provenance, extract every "
        "seed again, run the suites on the existing tables and write the report. Catches tables "
        "edited after extraction.",
        epilog="example:\n  python -m audit validate --tables build/tables --report reports/\n\n"
        + _EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
    _publish_parser(sub)
    return parser.parse_args(argv)


_PUBLISH_EXIT_CODES = """exit codes:
  0  published (or the same tables republished to the same release)
  1  refused: the verdict of publish's own validation is not "passed", the suites are not the audited
     ones or hold no rule, or a table's sha256 is not the one the report recorded
  2  usage or configuration error: REPORT/results.json or TABLES/manifest.json missing or corrupt,
     bad release config, a --version already used for other tables
  3  internal error (a bug: rerun with --debug and report it)"""


def _positive(text: str) -> int:
    """A whole number of at least 1, for argparse (which reports the error and exits 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is less than 1")
    return value


def _seconds(text: str) -> float:
    """A number of seconds, 0 or more and finite, for argparse."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} is not 0 or more seconds (0 means no limit)")
    return value


def _publish_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
        default=Path("expectations"),
        metavar="DIR",
        help="the suites the tables were audited with; publish validates again with them (default: expectations/)",
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
        default=Path("expectations"),
        metavar="DIR",
        help="directory of <table>.json expectation suites (default: expectations/)",
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
        "by Spark (needs the [spark] extra and Java 17+; see the README's Spark section)",
    )
    p.add_argument(
        "--spark-master",
        default=None,
        metavar="URL",
        help="Spark master URL with --engine spark, e.g. spark://host:7077 (default: local[2], or the "
        "master spark-submit was given)",
    )


class Terminated(BaseException):
    """Raised in the main process on SIGTERM, so that half-written outputs are cleaned up as on Ctrl-C."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated


def main(argv: list[str] | None = None) -> int:
    """Run the command; return the exit code."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        args = parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors and 0 on --help
        return int(exc.code or 0)
    try:
        if args.command == "publish":
            return _publish(args)
        from audit.gate import exit_code_for, summary_line

        verdict = _dispatch(args)
    except AuditError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except (KeyboardInterrupt, Terminated) as exc:
        print(
            "interrupted: each output directory holds either its previous complete contents or the new "
            "complete ones; rerun to finish",
            file=sys.stderr,
        )
        return 143 if isinstance(exc, Terminated) else 130
    except Exception as exc:  # a bug: one line, or the traceback with --debug
        if args.debug:
            traceback.print_exc()
        else:
            print(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug)", file=sys.stderr)
        return int(ExitCode.INTERNAL_ERROR)
    print(summary_line(verdict))
    print(f"report: {args.report / 'index.html'}")
    return int(exit_code_for(verdict))


def _dispatch(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from audit.ingest import DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT_S, IngestLimits
    from audit.pipeline import RunConfig, ValidateConfig, run_audit, validate_tables
    from audit.reextract import Reextract

    waivers = args.waivers or _default_waivers(args.suites)
    if args.command == "run":
        config = RunConfig(
            seeds_dir=args.seeds_dir,
            tables_dir=args.tables,
            report_dir=args.report,
            suites_dir=args.suites,
            waivers_path=waivers,
            policy_path=args.policy or args.suites / "number_policy.json",
            jobs=args.jobs,
            live_links=_live_options(args),
            signing_key=args.sign_key,
            engine=args.engine,
            spark_master=args.spark_master,
            limits=IngestLimits(
                max_bytes=args.max_seed_bytes or DEFAULT_MAX_BYTES,
                timeout_s=DEFAULT_TIMEOUT_S if args.seed_timeout is None else args.seed_timeout,
            ),
        )
        return run_audit(config, progress=_progress)
    return validate_tables(
        ValidateConfig(
            tables_dir=args.tables,
            report_dir=args.report,
            suites_dir=args.suites,
            waivers_path=waivers,
            seeds_dir=args.seeds,
            engine=args.engine,
            spark_master=args.spark_master,
            jobs=args.jobs,
            reextract=Reextract(args.reextract),
            policy_path=args.policy or args.suites / "number_policy.json",
        )
    )


def _publish(args: argparse.Namespace) -> int:
    from audit.publish import PublishConfig, publish, summary_lines
    from audit.release_config import SCHEMAS_DIR

    default_config = Path("release.json")
    release = publish(
        PublishConfig(
            tables_dir=args.tables,
            report_dir=args.report,
            release_root=args.release_root,
            config_path=args.config or (default_config if default_config.is_file() else None),
            schemas_dir=args.schemas or SCHEMAS_DIR,
            version=args.version,
            suites_dir=args.suites,
            waivers_path=args.waivers or _default_waivers(args.suites),
            seeds_dir=args.seeds,
            jobs=args.jobs,
            trust_key=args.trust_key,
        )
    )
    for line in summary_lines(release):
        print(line)
    return int(ExitCode.PASSED)


def _live_options(args: argparse.Namespace) -> Any:
    if args.links != "live":
        return None
    from audit.linkcheck import LiveOptions

    return LiveOptions(allow_private=args.allow_private_links, cache_dir=args.link_cache)


def _default_waivers(suites: Path) -> Path | None:
    path = suites / "waivers.json"
    return path if path.exists() else None


def _progress(done: int, total: int) -> None:
    if total >= 1000 and sys.stderr.isatty():
        print(f"\r{done}/{total} seeds", end="\n" if done == total else "", file=sys.stderr, flush=True)
