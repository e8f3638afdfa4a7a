"""The audit never deletes what it did not write: user files in every output place survive every command.

An output folder is the audit's own only by its marker (``.news-audit.json``), which lists what the audit
put there; staging folders beside it are removed only when marked. Each test puts a user's files
(thesis.tex, data/important.csv) where a command writes, runs the real command, and checks they are intact.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from audit.cli import main
from audit.errors import UsageError
from audit.fsio import atomic_dir, recover_dir, retire_dir, write_owned_file
from audit.marks import MARKER, marker_text, read_marker
from tests.conftest import SAMPLE, SUITES

# GX 1.24 deprecates the string row conditions the suites use; that is the suites' concern, not this file's
pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated as of GX Core 1.9:DeprecationWarning")


def _user_files(folder: Path) -> None:
    """A user's files in folder: a thesis, and a data folder holding a CSV."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "thesis.tex").write_text("\\documentclass{article}")
    (folder / "data").mkdir(exist_ok=True)
    (folder / "data" / "important.csv").write_text("a,b\n1,2\n")


def _snapshot(root: Path) -> dict[str, str]:
    """sha256 of every file under root (lock files aside), by relative path."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.endswith(".lock")
    }


def _passing_suites(directory: Path) -> Path:
    """The repository's suites with every rule a warning, so that the bundled seed passes and can be published."""
    shutil.copytree(SUITES, directory, ignore=shutil.ignore_patterns("waivers.json"))
    for path in directory.glob("*.json"):
        suite = json.loads(path.read_text())
        for exp in suite.get("expectations", ()):
            exp["severity"] = "warning" if exp.get("severity") == "critical" else exp.get("severity")
        path.write_text(json.dumps(suite, indent=2))
    return directory


def _run(base: Path, *extra: str) -> list[str]:
    return [
        "run",
        str(base / "seeds"),
        "--tables",
        str(base / "tables"),
        "--report",
        str(base / "report"),
        "--suites",
        str(base / "expectations"),
        "--jobs",
        "1",
        *extra,
    ]


@pytest.fixture(scope="module")
def audited_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One passing run of the bundled seed: seeds/, expectations/, tables/ and report/."""
    base = tmp_path_factory.mktemp("marks")
    (base / "seeds").mkdir()
    shutil.copy(SAMPLE, base / "seeds" / SAMPLE.name)
    _passing_suites(base / "expectations")
    assert main(_run(base)) == 0
    return base


@pytest.fixture
def audited(audited_once: Path, tmp_path: Path) -> Path:
    """A private copy of the passing run (markers included), safe to change."""
    for name in ("seeds", "expectations", "tables", "report"):
        shutil.copytree(audited_once / name, tmp_path / name)
    return tmp_path


def _refused(capsys: pytest.CaptureFixture[str], argv: list[str], *words: str) -> str:
    """Run argv; it must exit 2 with one line holding every one of words."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert all(w in err for w in words), err
    return err


# -- output folders ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "name", "sentinel"),
    [("--report", "report", "results.json"), ("--tables", "tables", "manifest.json")],
)
def test_a_folder_holding_the_audits_file_name_is_not_the_audits(
    audited: Path, capsys: pytest.CaptureFixture[str], flag: str, name: str, sentinel: str
) -> None:
    """Regression: a --report folder holding a results.json (--tables: a manifest.json) counted as the audit's, and thesis.tex and data/important.csv beside it were deleted."""
    target = audited / "mine"
    _user_files(target)
    (target / sentinel).write_text("{}")
    before = _snapshot(audited)
    argv = _run(audited)
    argv[argv.index(flag) + 1] = str(target)
    _refused(capsys, argv, f"{flag} {target}", "no audit marker", "delete or move it yourself; otherwise")
    assert _snapshot(audited) == before


@pytest.mark.parametrize("name", ["tables", "report"])
def test_files_a_user_adds_to_the_audits_folder_are_never_deleted(
    audited: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    """A file the audit's marker does not list is the user's: the run that would replace its folder is refused, naming it."""
    _user_files(audited / name)
    before = _snapshot(audited)
    flag = f"--{name}"
    _refused(
        capsys, _run(audited), f"{flag} {audited / name}: holds {audited / name / 'data'}", "Move it out"
    )
    assert _snapshot(audited) == before
    (audited / name / "thesis.tex").unlink()
    shutil.rmtree(audited / name / "data")
    assert main(_run(audited)) == 0  # once moved out, the folder is the audit's again


def test_validate_refuses_a_report_over_the_user_files_of_a_report_folder(
    audited: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`validate` replaces only a report folder of the audit's that holds nothing else."""
    _user_files(audited / "report")
    before = _snapshot(audited)
    argv = ["validate", "--tables", str(audited / "tables"), "--report", str(audited / "report")]
    _refused(capsys, [*argv, "--suites", str(audited / "expectations")], f"--report {audited / 'report'}")
    assert _snapshot(audited) == before


def test_validate_never_replaces_the_seeds_folder(audited: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Regression: `validate --report SEEDS` replaced the seeds folder when a seed was named results.json."""
    (audited / "seeds" / "results.json").write_text('{"verdict": "passed"}')
    _user_files(audited / "seeds")
    before = _snapshot(audited)
    argv = ["validate", "--tables", str(audited / "tables"), "--report", str(audited / "seeds")]
    err = _refused(
        capsys, [*argv, "--suites", str(audited / "expectations")], f"--report {audited / 'seeds'}"
    )
    assert "Choose a new or empty folder" in err or "otherwise choose another --report" in err
    assert _snapshot(audited) == before


def test_a_report_is_not_written_over_the_audits_tables(
    audited: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The marker names the folder's kind: a report never replaces tables, even the audit's own."""
    shutil.copytree(audited / "tables", audited / "more-tables")
    before = _snapshot(audited)
    argv = ["validate", "--tables", str(audited / "tables"), "--report", str(audited / "more-tables")]
    _refused(
        capsys, [*argv, "--suites", str(audited / "expectations")], "holds the audit's tables, not a report"
    )
    assert _snapshot(audited) == before


def test_outputs_of_an_earlier_version_are_refused_not_deleted(
    audited: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Outputs written before the marker existed carry none: the run says to move or delete them, and deletes nothing."""
    for name in ("tables", "report"):
        (audited / name / MARKER).unlink()
    before = _snapshot(audited)
    _refused(capsys, _run(audited), "no audit marker", "an output of an earlier version")
    assert _snapshot(audited) == before


def test_every_output_folder_carries_the_runs_marker(audited: Path) -> None:
    """Tables and report carry the marker with the run's id (the one in the manifest) and list every path they hold."""
    manifest = json.loads((audited / "tables" / "manifest.json").read_text())
    results = json.loads((audited / "report" / "results.json").read_text())
    for name, kind in (("tables", "tables"), ("report", "report")):
        marker = read_marker(audited / name)
        assert marker is not None and marker["kind"] == kind
        assert marker["run_id"] == manifest["run"]["run_id"] == results["manifest"]["run"]["run_id"]
        held = sorted(p.relative_to(audited / name).as_posix() for p in (audited / name).rglob("*"))
        assert marker["files"] == [p for p in held if p != MARKER]


# -- staging folders and recovery -----------------------------------------------------------------------


@pytest.mark.parametrize("name", [".report.old-4242", ".tables.new-mine", ".report.new-x1"])
def test_recovery_never_deletes_a_users_folder_named_like_a_staging_folder(
    audited: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    """Regression: sibling folders named `.NAME.old-*` / `.NAME.new-*` that the user made were removed by recovery."""
    _user_files(audited / name)
    before = _snapshot(audited)
    _refused(capsys, _run(audited), str(audited / name), "no audit marker", "Rename or move it")
    assert _snapshot(audited) == before


def test_a_swap_journal_the_audit_did_not_write_is_refused(
    audited: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A `.NAME.swap` file that does not name one of the audit's backups is the user's: left alone, and the run refused."""
    (audited / ".report.swap").write_text("../thesis")
    before = _snapshot(audited)
    _refused(capsys, _run(audited), str(audited / ".report.swap"), "not written by it")
    assert _snapshot(audited) == before


def _leftover(parent: Path, name: str, marker: str | None) -> Path:
    path = parent / name
    path.mkdir()
    (path / "seeds.parquet").write_bytes(b"half written")
    if marker is not None:
        (path / MARKER).write_text(marker)
    return path


def test_recovery_removes_only_the_audits_own_leftovers(tmp_path: Path) -> None:
    """Marked staging and backup folders, and empty ones, are the audit's leftovers and go; the journal's backup comes back."""
    target = tmp_path / "tables"
    _leftover(tmp_path, ".tables.new-abc", marker_text("tables", None))
    backup = _leftover(tmp_path, ".tables.old-7", marker_text("tables", ["seeds.parquet"]))
    (tmp_path / ".tables.old-8").mkdir()  # died right after mkdtemp: empty
    (tmp_path / ".tables.swap").write_text(backup.name)
    recover_dir(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tables"]
    assert (target / "seeds.parquet").read_bytes() == b"half written"


def test_a_backup_no_journal_names_is_not_put_back(tmp_path: Path) -> None:
    """A retired folder (renamed aside with no journal, e.g. the report before new tables came in) never returns."""
    _leftover(tmp_path, ".report.old-9", marker_text("report", ["seeds.parquet"]))
    recover_dir(tmp_path / "report")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "setup",
    [
        lambda t: _user_files(t),
        lambda t: (_user_files(t), (t / MARKER).write_text(marker_text("tables", ["seeds.parquet"]))),
        lambda t: (t.mkdir(), (t / MARKER).write_text(marker_text("report", []))),
    ],
    ids=["unmarked", "unlisted-files", "other-kind"],
)
def test_atomic_dir_refuses_before_writing(tmp_path: Path, setup: Callable[[Path], object]) -> None:
    """atomic_dir itself (used by every engine and by publish) refuses a folder that is not its own to replace."""
    target = tmp_path / "tables"
    setup(target)
    before = _snapshot(tmp_path)
    with (
        pytest.raises(UsageError, match=r"^--tables "),
        atomic_dir(target, "x", kind="tables", place="--tables"),
    ):
        raise AssertionError("not reached")
    assert _snapshot(tmp_path) == before


# -- publish --to -------------------------------------------------------------------------------------------


def _publish(base: Path, *extra: str) -> list[str]:
    argv = ["publish", "--tables", str(base / "tables"), "--report", str(base / "report")]
    # publish validates again with the suites the run used (they are not the repository's here)
    return [*argv, "--suites", str(base / "expectations"), "--to", str(base / "releases"), *extra]


def test_publish_never_overwrites_a_users_latest_json(
    audited: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Regression: `publish --to` overwrote a user's latest.json; now it is refused and nothing is written."""
    _user_files(audited / "releases")
    (audited / "releases" / "latest.json").write_text('{"mine": true}')
    before = _snapshot(audited)
    _refused(
        capsys, _publish(audited), f"--to {audited / 'releases'}: latest.json", "was not written by the audit"
    )
    assert _snapshot(audited) == before


def test_publish_keeps_the_users_files_beside_its_releases(audited: Path) -> None:
    """The --to folder is added to file by file: a user's files there are kept, and latest.json is the audit's to rewrite."""
    _user_files(audited / "releases")
    mine = _snapshot(audited / "releases")
    assert main(_publish(audited)) == 0
    assert main(_publish(audited)) == 0  # the latest.json it wrote, it may rewrite
    now = _snapshot(audited / "releases")
    assert {k: now[k] for k in mine} == mine
    assert (read_marker(audited / "releases") or {})["files"] == ["latest.json"]


def test_publish_never_replaces_a_release_folder_holding_user_files(
    audited: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Publishing the same audit again rewrites its release folder only if the folder holds nothing else."""
    assert main(_publish(audited, "--version", "1.0")) == 0
    _user_files(audited / "releases" / "1.0")
    before = _snapshot(audited)
    _refused(capsys, _publish(audited, "--version", "1.0"), f"--to {audited / 'releases' / '1.0'}: holds")
    assert _snapshot(audited) == before
    (audited / "releases" / "1.0" / MARKER).unlink()  # as an earlier version left its releases
    shutil.rmtree(audited / "releases" / "1.0" / "data")
    (audited / "releases" / "1.0" / "thesis.tex").unlink()
    before = _snapshot(audited)
    _refused(
        capsys, _publish(audited, "--version", "1.0"), "no audit marker", "an output of an earlier version"
    )
    assert _snapshot(audited) == before


def test_write_owned_file_lists_it_in_the_marker(tmp_path: Path) -> None:
    """A file written into a folder the audit adds to file by file is listed in that folder's marker."""
    write_owned_file(tmp_path, "latest.json", "{}", "releases")
    write_owned_file(tmp_path, "other.json", "{}", "releases")
    assert (read_marker(tmp_path) or {})["files"] == ["latest.json", "other.json"]


def test_a_retired_folder_leaves_its_empty_successor_and_kept_names(tmp_path: Path) -> None:
    """Retiring a report leaves an empty folder of the audit's holding only .gitkeep; if the retiring run died between its renames, recovery puts that successor in, not the old report."""
    report = tmp_path / "report"
    with atomic_dir(report, "x", kind="report", place="--report") as staging:
        (staging / "index.html").write_text("old verdict")
    (report / ".gitkeep").write_text("")
    retire_dir(report, "report", "--report")
    assert sorted(p.name for p in report.iterdir()) == [".gitkeep", MARKER]
    successor = _leftover(tmp_path, ".report.new-abc", marker_text("report", []))
    old = _leftover(tmp_path, ".report.old-5", marker_text("report", ["seeds.parquet"]))
    shutil.rmtree(report)
    (tmp_path / ".report.swap").write_text(successor.name)
    recover_dir(report)
    assert report.is_dir() and not old.exists() and not successor.exists()
