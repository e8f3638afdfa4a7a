"""The gate opens: publish exactly the tables a passing audit saw, with their report and provenance.

``publish`` decides for itself before it writes anything. REPORT/results.json must be readable and valid
and the sha256 of every table in TABLES now must equal the digest it recorded (a stale report is refused),
but its verdict is not taken on its word: publish validates the tables again (``gate.revalidate``),
with the suites of --suites (which must be the suites the run and the report name, and hold at least one
rule), extracting every seed again, and releases only on that verdict, with the report it wrote. A release
is then staged and moved into RELEASES/<name>/ whole (``fsio.atomic_dir``)::

    RELEASES/latest.json             which release is current (a small JSON file, not a symlink)
    RELEASES/<name>/tables/          the audited Parquet tables and their manifest.json
    RELEASES/<name>/report/          the audit report (index.html, results.json, junit.xml)
    RELEASES/<name>/CHANGELOG.md     records and rules changed since the previous release
    RELEASES/<name>/changes.json     the same, for machines
    RELEASES/<name>/croissant.jsonld Croissant 1.0 description: every file with sha256 and size, every table
    RELEASES/<name>/provenance.intoto.json  in-toto Statement: every file above, and the audit as predicate

The name is the audit run's date (``2026-11-26``, then ``2026-11-26.2`` …) unless ``--version`` gives one.
Publishing the same tables again rewrites the same release with the same bytes.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from audit.errors import ConfigError, PublishRefused, UsageError
from audit.fsio import (
    atomic_dir,
    atomic_write,
    atomic_write_text,
    check_owned_file,
    in_use,
    sha256_file,
    write_owned_file,
    writing,
)
from audit.gate import GatePolicy
from audit.places import check_apart
from audit.publish.config import SCHEMAS_DIR, ReleaseConfig, load_release_config
from audit.publish.croissant import PARQUET, ReleasedFile, TableShape, croissant_document
from audit.publish.diff import (
    ReleaseDiff,
    RuleDiff,
    TableDiff,
    changelog_markdown,
    changes_document,
    diff_rules,
    diff_table,
    rule_states,
)
from audit.publish.gate import Audit, AuditedTable, Revalidation, check_audit, revalidate
from audit.publish.intoto import provenance_statement
from audit.signing import check_signature
from audit.store import SPECS, check_single_files

LATEST = "latest.json"
CROISSANT = "croissant.jsonld"
PROVENANCE = "provenance.intoto.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
_MEDIA_TYPES = {
    ".parquet": PARQUET,
    ".json": "application/json",
    ".jsonld": "application/ld+json",
    ".html": "text/html",
    ".xml": "application/xml",
    ".js": "text/javascript",  # the report's data files and list script
    ".md": "text/markdown",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class PublishConfig:
    """Everything `audit publish` needs."""

    tables_dir: Path
    report_dir: Path
    release_root: Path
    config_path: Path | None = None
    schemas_dir: Path = SCHEMAS_DIR
    version: str | None = None
    suites_dir: Path = Path("expectations")  # the suites the release is validated with again
    waivers_path: Path | None = None
    seeds_dir: Path | None = None  # where the seeds are now, if not where the manifest says
    jobs: int | None = None
    trust_key: Path | None = None  # refuse tables whose manifest this Ed25519 public key did not sign
    gate: GatePolicy = field(
        default_factory=GatePolicy
    )  # the settings file's policy (severities, tolerances)
    suites_origin: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Release:
    """What publish wrote."""

    name: str
    path: Path
    files: tuple[ReleasedFile, ...]
    diff: ReleaseDiff
    is_latest: bool


def publish(config: PublishConfig) -> Release:
    """Check the audit, then write the release atomically and point latest.json at it."""
    root = config.release_root
    if root.exists() and not root.is_dir():
        raise UsageError(f"--to {root}: is a file, and releases go in a folder there. Choose another --to.")
    inputs = {"--tables": config.tables_dir, "--report": config.report_dir}
    check_apart(
        {
            **inputs,
            "--suites": config.suites_dir,
            "--waivers": config.waivers_path,
            "--seeds": config.seeds_dir,
        },
        {"--to": root},
        file_by_file=frozenset({"--to"}),  # releases are added one by one
    )
    with in_use({"--to": root}, inputs):
        check_owned_file("--to", root, LATEST, "releases")  # a latest.json of the user's is not overwritten
        release_config = load_release_config(config.config_path, config.schemas_dir / "release.schema.json")
        if config.trust_key is not None:
            check_signature(config.tables_dir, config.trust_key)
        check_single_files(
            config.tables_dir,
            "publish",
            "To publish, audit the seeds with the local engine (`python -m audit run SEEDS`, no --engine).",
        )
        stale = check_audit(config.tables_dir, config.report_dir, config.schemas_dir, verdict=False)
        with tempfile.TemporaryDirectory(prefix="audit-publish-") as scratch:
            audit = revalidate(
                stale,
                Revalidation(
                    suites_dir=config.suites_dir,
                    waivers_path=config.waivers_path,
                    seeds_dir=config.seeds_dir,
                    jobs=config.jobs,
                    schemas_dir=config.schemas_dir,
                    gate=config.gate,
                    suites_origin=config.suites_origin,
                ),
                Path(scratch) / "report",
            )
            return _publish(config, release_config, audit)


def _publish(config: PublishConfig, release_config: ReleaseConfig, audit: Audit) -> Release:
    digests = {t.name: t.sha256 for t in audit.tables}
    root = config.release_root
    name = release_name(root, digests, config.version, audit.run_at[:10])
    check_apart({"--tables": config.tables_dir, "--report": config.report_dir}, {"--to": root / name})
    existed = (root / name).is_dir()
    previous = _recorded_previous(root / name) if existed else read_latest(root)
    run = (audit.results["manifest"].get("run") or {}).get("run_id") or audit.run_at  # same bytes again
    with atomic_dir(
        root / name, "choose another folder with --to", kind="release", place="--to", run=run
    ) as staging:
        files, diff = write_release(staging, audit, release_config, config.schemas_dir, name, previous)
    latest = read_latest(root)
    is_latest = not existed or latest in (None, name)
    if is_latest:
        write_latest(root, name, audit)
    return Release(name=name, path=root / name, files=files, diff=diff, is_latest=is_latest)


# -- naming and the latest pointer ------------------------------------------------------------------------


def release_name(root: Path, digests: Mapping[str, str], version: str | None, date: str) -> str:
    """The release's folder name: --version, or the run date with .2, .3 … when that holds other tables."""
    if version is not None:
        if not _NAME.match(version) or version == LATEST:
            raise UsageError(
                f"--version {version!r}: use letters, digits, '.', '_', '+' or '-' (at most 64), e.g. 1.2.0 or {date}."
            )
        if released_tables(root / version) in (None, digests):
            return version
        raise UsageError(
            f"{root / version}: a release of other tables already has this name. "
            "Choose another --version, or omit it for a date-based name."
        )
    for n in itertools.count(1):
        name = date if n == 1 else f"{date}.{n}"
        if released_tables(root / name) in (None, digests):
            return name
    raise AssertionError("unreachable")


def released_tables(release: Path) -> dict[str, str] | None:
    """Table digests of an existing release (None if there is none; {} if the folder is not a release)."""
    if not release.exists():
        return None
    try:
        statement = json.loads((release / PROVENANCE).read_text(encoding="utf-8"))
        tables = statement["predicate"]["tables"]
        return {name: str(t["sha256"]) for name, t in tables.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def read_latest(root: Path) -> str | None:
    """The name latest.json points at, if it points at a release that exists."""
    try:
        name = json.loads((root / LATEST).read_text(encoding="utf-8"))["release"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return name if isinstance(name, str) and _NAME.match(name) and (root / name).is_dir() else None


def write_latest(root: Path, name: str, audit: Audit) -> None:
    """Point latest.json at a release."""
    pointer = {
        "release": name,
        "path": f"{name}/",
        "croissant": f"{name}/{CROISSANT}",
        "provenance": f"{name}/{PROVENANCE}",
        "provenance_sha256": sha256_file(root / name / PROVENANCE),
        "verdict": audit.results["verdict"],
        "audited_at": audit.run_at,
    }
    with writing(root / LATEST, "choose another folder with --to"):
        write_owned_file(root, LATEST, _json(pointer), "releases")


def _released_table_names(release: Path) -> set[str]:
    try:
        return set(json.loads((release / "tables" / "manifest.json").read_text(encoding="utf-8"))["tables"])
    except (OSError, ValueError, KeyError, TypeError):
        return set()


def _recorded_previous(release: Path) -> str | None:
    """A release being rewritten keeps the previous release it was first compared with."""
    try:
        previous = json.loads((release / "changes.json").read_text(encoding="utf-8"))["previous"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return previous if isinstance(previous, str) and (release.parent / previous).is_dir() else None


# -- writing the release --------------------------------------------------------------------------------


def write_release(
    staging: Path, audit: Audit, config: ReleaseConfig, schemas_dir: Path, name: str, previous: str | None
) -> tuple[tuple[ReleasedFile, ...], ReleaseDiff]:
    """Fill the staging folder: tables, report, changelog, Croissant, provenance; return the files."""
    copy_tables(staging / "tables", audit)
    copy_report(staging / "report", audit)
    previous_dir = None if previous is None else staging.parent / previous
    diff = release_diff(staging, audit, name, previous_dir)
    atomic_write_text(staging / "changes.json", _json(changes_document(diff)))
    atomic_write_text(
        staging / "CHANGELOG.md",
        changelog_markdown(diff, audit.results, audit.run_at[:10], _read_text(previous_dir, "CHANGELOG.md")),
    )
    files = list_files(staging)
    shapes = table_shapes(staging, audit, files, schemas_dir)
    croissant = croissant_document(
        config,
        version=name,
        date_published=audit.run_at,
        files=files,
        tables=shapes,
        citation=config.citation or default_citation(config, name, audit.run_at[:4]),
    )
    atomic_write_text(staging / CROISSANT, _json(croissant))
    files = list_files(staging)
    statement = provenance_statement(files, audit.results, release=name, previous=previous)
    atomic_write_text(staging / PROVENANCE, _json(statement))
    return list_files(staging), diff


def copy_tables(directory: Path, audit: Audit) -> None:
    """Copy the audited tables and their manifest; a copy whose digest is not the audited one is refused."""
    directory.mkdir(parents=True, exist_ok=True)
    # the staging folder becomes visible only whole (atomic_dir), so plain copies inside it are safe
    for table in audit.tables:
        copy = directory / table.path.name
        shutil.copyfile(table.path, copy)
        if sha256_file(copy) != table.sha256:
            raise PublishRefused(f"refused: {table.path} changed while it was being published. Re-audit it.")
    shutil.copyfile(audit.manifest_path, directory / "manifest.json")


def copy_report(directory: Path, audit: Audit) -> None:
    """Copy the report's files; results.json is written from the very bytes that were checked."""
    for path in sorted(audit.report_dir.rglob("*")):
        rel = path.relative_to(audit.report_dir)
        if path.is_file() and not any(part.startswith(".") for part in rel.parts):
            (directory / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, directory / rel)
    atomic_write(directory / "results.json", audit.results_bytes)


def release_diff(staging: Path, audit: Audit, name: str, previous_dir: Path | None) -> ReleaseDiff:
    """Compare the staged tables and rules with the previous release's."""
    tables = tuple(
        diff_table(
            t.name,
            SPECS[t.name].id_column if t.name in SPECS else None,
            staging / "tables" / t.path.name,
            None if previous_dir is None else previous_dir / "tables" / t.path.name,
        )
        for t in _in_table_order(audit.tables)
    )
    if previous_dir is None:
        return ReleaseDiff(release=name, previous=None, tables=tables, rules=RuleDiff())
    tables += tuple(
        TableDiff(table=gone, id_column=None, note="table no longer released")
        for gone in sorted(_released_table_names(previous_dir) - {t.name for t in audit.tables})
    )
    try:
        old = json.loads((previous_dir / "report" / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        old = {}
    rules = diff_rules(rule_states(old), rule_states(audit.results))
    return ReleaseDiff(release=name, previous=previous_dir.name, tables=tables, rules=rules)


def table_shapes(
    staging: Path, audit: Audit, files: Sequence[ReleasedFile], schemas_dir: Path
) -> tuple[TableShape, ...]:
    """Each released table's file, Arrow schema, id column and JSON Schema (read now, if there is one)."""
    by_path = {f.path: f for f in files}
    return tuple(
        TableShape(
            name=t.name,
            file=by_path[f"tables/{t.path.name}"],
            arrow=pq.read_schema(staging / "tables" / t.path.name),
            id_column=SPECS[t.name].id_column if t.name in SPECS else None,
            json_schema=read_table_schema(schemas_dir / f"{t.name}.schema.json"),
            n_rows=t.n_rows,
        )
        for t in _in_table_order(audit.tables)
    )


def read_table_schema(path: Path) -> dict[str, Any] | None:
    """A table's JSON Schema, None if it is not written yet, ConfigError if it is broken."""
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(
            f"{path}: unreadable table schema ({exc}). Fix it, or move it aside to publish."
        ) from None


def list_files(root: Path) -> tuple[ReleasedFile, ...]:
    """Every visible file under root, with its digest, size and media type, in path order."""
    return tuple(
        ReleasedFile(
            path=p.relative_to(root).as_posix(),
            sha256=sha256_file(p),
            size_bytes=p.stat().st_size,
            encoding_format=_MEDIA_TYPES.get(p.suffix, "application/octet-stream"),
        )
        for p in sorted(root.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def default_citation(config: ReleaseConfig, version: str, year: str) -> str:
    """A BibTeX @misc entry for the release, used when release.json gives no citation."""
    key = re.sub(r"[^a-z0-9]+", "_", f"{config.name}_{version}".lower()).strip("_")
    authors = " and ".join("{" + c.name + "}" for c in config.creators)
    return (
        f"@misc{{{key},\n  title = {{{config.name}}},\n  author = {{{authors}}},\n"
        f"  year = {{{year}}},\n  note = {{Version {version}}},\n  url = {{{config.url}}}\n}}"
    )


def summary_lines(release: Release) -> list[str]:
    """What the CLI prints after publishing."""
    diff = release.diff
    lines = [f"published {release.path}: {len(release.files)} files, provenance in {PROVENANCE}"]
    if diff.previous is None:
        lines.append("first release: nothing to compare with")
    else:
        counts = "; ".join(
            f"{t.table} +{len(t.added)} -{len(t.removed)} ~{len(t.changed)}"
            for t in diff.tables
            if t.note is None
        )
        rules = f"rules: {len(diff.rules.newly_failing)} newly failing, {len(diff.rules.newly_passing)} newly passing"
        lines.append(f"compared with {diff.previous}: {counts}; {rules}")
    lines.append(
        f"latest -> {release.name}"
        if release.is_latest
        else f"latest unchanged (rewrote {release.name} in place)"
    )
    return lines


def _in_table_order(tables: Sequence[AuditedTable]) -> list[AuditedTable]:
    order = {name: i for i, name in enumerate(SPECS)}
    return sorted(tables, key=lambda t: (order.get(t.name, len(order)), t.name))


def _read_text(directory: Path | None, name: str) -> str | None:
    if directory is None:
        return None
    try:
        return (directory / name).read_text(encoding="utf-8")
    except OSError:
        return None


def _json(doc: Any) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
