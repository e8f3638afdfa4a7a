"""The commands: settings file and options (cli_options.py) -> config -> pipeline -> exit code; no logic."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import signal
import sys
import threading
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from audit.cli_options import link_settings, parse_args
from audit.errors import AuditError, ConfigError, ExitCode, UsageError
from audit.records import Severity
from audit.settings import Settings, find_settings, load_settings

if TYPE_CHECKING:
    from audit.config import Progress, RunConfig, ValidateConfig
    from audit.records import Verdict


class Terminated(BaseException):
    """Raised in the main process on SIGTERM, so that half-written outputs are cleaned up as on Ctrl-C."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated


def entry() -> NoReturn:
    """The ``news-audit`` command: main, then a quick exit (see lazy.exit_fast)."""
    from audit.lazy import exit_fast

    exit_fast(main())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; return the exit code."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        settings = _settings(argv)
        args = parse_args(argv, settings)
    except SystemExit as exc:  # argparse exits 2 on usage errors and 0 on --help
        return int(exc.code or 0)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    try:
        return _command(args, settings)
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


def _settings(argv: Sequence[str]) -> Settings:
    """The settings file named by --config-file, or the nearest one; none with --no-config (nor for --help
    and --version, which must answer whatever state the project's files are in)."""
    if {"--no-config", "--help", "-h", "--version"} & set(argv):
        return Settings()
    for i, word in enumerate(argv):
        if word == "--config-file" and i + 1 < len(argv):
            return load_settings(_settings_file(Path(argv[i + 1])))
        if word.startswith("--config-file="):
            return load_settings(_settings_file(Path(word.split("=", 1)[1])))
    return load_settings(find_settings(Path.cwd()))


def _settings_file(path: Path) -> Path:
    if not path.is_file():
        raise ConfigError(
            f"--config-file {path}: no such file. Name an existing news-audit.toml or pyproject.toml."
        )
    return path


def _command(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "publish":
        return _publish(args, settings)
    if args.command == "init":
        return _init(args)
    if args.command == "cache":
        return _cache(args)
    if args.command == "waive":
        return _waive(args)
    from audit.project import resolve_suites

    suites_dir, origin = resolve_suites(args.suites)
    _check_inputs(args, suites_dir)
    from audit.lazy import defer_unused_imports

    defer_unused_imports()  # before the pipeline imports Great Expectations
    verdict = _audit(
        config_from(args, settings, suites_dir, origin), progress=None if args.quiet else _progress()
    )
    _show(args, verdict, _notes(settings, origin))
    from audit.gate import exit_code_for

    return int(exit_code_for(verdict))


def _check_inputs(args: argparse.Namespace, suites_dir: Path) -> None:
    """The mistakes worth answering before the heavy imports: inputs that are missing (< 1 s)."""
    if args.command == "run" and not args.seeds_dir.is_dir():
        what = "does not exist" if not args.seeds_dir.exists() else "is not a directory"
        raise UsageError(
            f"{args.seeds_dir}: the seeds directory {what}. Pass an existing directory of seed files."
        )
    if not suites_dir.is_dir():
        raise UsageError(
            f"{suites_dir}: the suites directory does not exist. Pass --suites DIR with <table>.json files, "
            "or leave it out to use ./expectations/ or the packaged defaults."
        )
    if args.waivers is not None and not args.waivers.exists():  # (the same words as the waivers loader)
        raise UsageError(f"{args.waivers}: the waivers file does not exist.")


def _notes(settings: Settings, origin: str) -> list[str]:
    """Where the settings and the suites came from, when not the plain defaults."""
    from audit.project import PACKAGED

    notes = [f"settings: {settings.where}"] if settings.source is not None else []
    if origin == PACKAGED:
        notes.append(
            "suites: the packaged defaults (no ./expectations/; `news-audit init` copies them to edit)"
        )
    return notes


def _show(args: argparse.Namespace, verdict: Any, notes: list[str]) -> None:
    """The verdict for people (text) or machines (json), and GitHub annotations under GitHub Actions."""
    from audit import console
    from audit.gate import summary_line

    github = os.environ.get("GITHUB_ACTIONS") == "true"
    if args.format == "json":
        document = json.loads((args.report / "results.json").read_text(encoding="utf-8"))
        print(json.dumps(console.json_summary(document, args.report), indent=2))
        if github:
            for line in console.github_annotations(verdict):
                print(line, file=sys.stderr)
        return
    print(summary_line(verdict))
    if not args.quiet:
        for line in console.summary_lines(verdict, per_rule=10 if args.verbose else 3):
            print(line)
        if args.verbose:
            for lapsed in verdict.lapsed_waivers:
                print(f"lapsed waiver: {lapsed.waiver.rule_id} {lapsed.waiver.record_id}: {lapsed.why}")
        for line in _link_host_lines(verdict) if args.command == "run" else ():
            print(line)
        if args.command == "run" and (cached := _cache_line(verdict)):
            print(cached)
        for note in notes:
            print(note)
    if github:
        for line in console.github_annotations(verdict):
            print(line)
    print(f"report: {args.report / 'index.html'}")


def config_from(
    args: argparse.Namespace, settings: Settings, suites_dir: Path, origin: str
) -> RunConfig | ValidateConfig:
    """`run`'s or `validate`'s settings as plain values, resolved once: the command line over the settings
    file over the defaults; ``suites_dir`` and ``origin`` as ``project.resolve_suites`` found them."""
    from audit.cache import default_cache_dir
    from audit.config import Reextract, RunConfig, ValidateConfig
    from audit.ingest import DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT_S, IngestLimits
    from audit.project import default_waivers

    waivers = args.waivers or _if_exists(default_waivers(suites_dir, origin))
    policy = args.policy or suites_dir / "number_policy.json"
    gate = dataclasses.replace(settings.gate, fail_on=Severity(args.fail_on))
    if args.command == "run":
        return RunConfig(
            seeds_dir=args.seeds_dir,
            tables_dir=args.tables,
            report_dir=args.report,
            suites_dir=suites_dir,
            waivers_path=waivers,
            policy_path=policy,
            jobs=args.jobs,
            live_links=_live_options(args, settings.sections.get("links", {})),
            signing_key=args.sign_key,
            cache_dir=None if args.no_cache else args.cache or default_cache_dir(),
            engine=args.engine,
            spark_master=args.spark_master,
            limits=IngestLimits(
                max_bytes=args.max_seed_bytes or DEFAULT_MAX_BYTES,
                timeout_s=DEFAULT_TIMEOUT_S if args.seed_timeout is None else args.seed_timeout,
            ),
            gate=gate,
            suites_origin=origin,
        )
    return ValidateConfig(
        tables_dir=args.tables,
        report_dir=args.report,
        suites_dir=suites_dir,
        waivers_path=waivers,
        seeds_dir=args.seeds,
        engine=args.engine,
        spark_master=args.spark_master,
        jobs=args.jobs,
        reextract=Reextract(args.reextract),
        policy_path=policy,
        gate=gate,
        suites_origin=origin,
    )


def _audit(config: RunConfig | ValidateConfig, progress: Progress | None) -> Verdict:
    """`run` or `validate`, as the config says."""
    from audit.config import RunConfig
    from audit.pipeline import run_audit, validate_tables

    if isinstance(config, RunConfig):
        return run_audit(config, progress=progress)
    return validate_tables(config)


def _cache(args: argparse.Namespace) -> int:
    from audit.cache import default_cache_dir, parse_age, prune, usage

    root = args.cache or default_cache_dir()
    if args.action == "prune":
        if args.older_than is None:
            raise UsageError("cache prune needs --older-than AGE (e.g. --older-than 30d): entries older go.")
        removed = prune(root, parse_age(args.older_than))
        print(
            f"{root}: removed {removed.entries:,} entries ({_megabytes(removed.bytes)}) not used for "
            f"{args.older_than}, and {removed.temporary:,} files left by killed runs"
        )
    found = usage(root)
    print(f"{root}: {found.entries:,} entries, {_megabytes(found.bytes)}")
    return int(ExitCode.PASSED)


def _megabytes(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"


def _cache_line(verdict: Any) -> str | None:
    """How many seeds the extraction cache saved extracting, when the run used it."""
    counts = verdict.manifest.get("run", {}).get("cache")
    if not counts:
        return None
    looked_up = counts["hits"] + counts["misses"] + counts["ignored"]
    ignored = f"; {counts['ignored']:,} damaged entries ignored" if counts["ignored"] else ""
    return f"extraction cache: {counts['hits']:,} of {looked_up:,} seeds read from it, the rest extracted{ignored}"


def _init(args: argparse.Namespace) -> int:
    from audit.project import init_project

    written = init_project(args.directory)
    print(
        f"wrote {len(written)} files to {written[0].parent}/: edit them; runs in {args.directory} now use them"
    )
    return int(ExitCode.PASSED)


def _waive(args: argparse.Namespace) -> int:
    from audit.project import WaiveRequest, default_waivers, resolve_suites, waive

    suites_dir, origin = resolve_suites(args.suites)
    target = args.waivers or default_waivers(suites_dir, origin)
    new = waive(
        WaiveRequest(
            rule_id=args.rule_id,
            records=args.records,
            reason=args.reason,
            expires=args.expires,
            report_dir=args.report,
            tables_dir=args.tables,
            waivers_path=target,
            today=dt.date.today(),
        )
    )
    print(
        f"wrote {len(new)} waiver{'s' if len(new) != 1 else ''} for {args.rule_id} to {target} (expires {args.expires})"
    )
    return int(ExitCode.PASSED)


def _if_exists(path: Path) -> Path | None:
    return path if path.exists() else None


def _publish(args: argparse.Namespace, settings: Settings) -> int:
    from audit.errors import PublishRefused
    from audit.project import default_waivers, resolve_suites
    from audit.publish.config import SCHEMAS_DIR
    from audit.publish.release import PublishConfig, publish, summary_lines

    default_config = Path("release.json")
    suites_dir, origin = resolve_suites(args.suites)
    try:
        release = publish(
            PublishConfig(
                tables_dir=args.tables,
                report_dir=args.report,
                release_root=args.release_root,
                config_path=args.config or (default_config if default_config.is_file() else None),
                schemas_dir=args.schemas or SCHEMAS_DIR,
                version=args.version,
                suites_dir=suites_dir,
                waivers_path=args.waivers or _if_exists(default_waivers(suites_dir, origin)),
                gate=settings.gate,
                suites_origin=origin,
                seeds_dir=args.seeds,
                jobs=args.jobs,
                trust_key=args.trust_key,
            )
        )
    except PublishRefused as refused:  # an outcome, not an error: the gate stays shut
        print(refused, file=sys.stderr)
        return int(ExitCode.GATE_FAILED)
    for line in summary_lines(release):
        print(line)
    return int(ExitCode.PASSED)


# --- live link checks (docs/links.md) ------------------------------------------------------------------


def _live_options(args: argparse.Namespace, file_table: Mapping[str, Any]) -> Any:
    """The live checker's settings: the settings file's [tool.news-audit.links] table, the --link-* flags
    over it (a --link-host list replaces the file's whole hosts table)."""
    if args.links != "live":
        return None
    from audit.link_policy import LinkPolicy
    from audit.link_report import ProgressPrinter
    from audit.linkcheck import LiveOptions

    return LiveOptions(
        policy=LinkPolicy.from_mapping(
            {**file_table, **link_settings(args)}, where="the --link-* options and [tool.news-audit.links]:"
        ),
        allow_private=args.allow_private_links,
        cache_dir=args.link_cache,
        progress=ProgressPrinter(sys.stderr),
    )


def _link_host_lines(verdict: Any) -> list[str]:
    from audit.link_report import host_summary_lines

    return host_summary_lines(verdict.manifest.get("run", {}).get("link_hosts", ()))


def _progress() -> Any:
    from audit.console import Progress

    return Progress(sys.stderr, tty=sys.stderr.isatty())
