"""Nothing lost, nothing crashes: bad inputs are rejected with a reason, bad configuration is exit 2, any bytes are safe.

The bad-input catalogue in docs/robustness.md points at the tests here, one per input.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from audit.cli import main
from audit.extract import ExtractOptions
from audit.extract.numbers import load_policy
from audit.fsio import shown
from audit.ingest import IngestLimits
from audit.process import process_seed
from audit.records import RejectReason
from audit.store import SPECS
from audit.validate.provenance import record_ok
from audit.validate.seeds import reread_seed
from audit.validate.spans import article_spans_ok, derived_text_ok, mention_spans_ok
from tests.conftest import ROOT, SAMPLE, SUITES, run_args

DATA = Path(__file__).parent / "data" / "robustness"
SCHEMAS = ROOT / "schemas"
CORPUS_PAGE = Path(__file__).parent / "data" / "dates" / "feeds.mashable.com.9SVJRKMUwTI.html.gz"
MAX_BYTES = 5_000  # the catalogue run's --max-seed-bytes, so a "too large" seed stays tiny
_MENTION_TABLES = ("blocks", "numbers", "links", "dates")
_SPAN_CHECKS = {"articles": article_spans_ok, "texts": derived_text_ok} | dict.fromkeys(
    _MENTION_TABLES, mention_spans_ok
)


def _validators() -> dict[str, jsonschema.Draft202012Validator]:
    return {
        name: jsonschema.Draft202012Validator(json.loads((SCHEMAS / f"{name}.schema.json").read_text()))
        for name in SPECS
    }


VALIDATORS = _validators()


def _jsonable(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _schema_errors(name: str, rows: list[dict[str, Any]]) -> list[str]:
    """JSON Schema errors of a table's rows, as 'table[row]: message'."""
    return [
        f"{name}[{i}]: {e.message}"
        for i, row in enumerate(rows)
        for e in VALIDATORS[name].iter_errors(_jsonable(row))
    ]


def _rows(tables: Path, name: str) -> list[dict[str, Any]]:
    return pq.read_table(tables / f"{name}.parquet").to_pylist()


def _results(report: Path) -> dict[str, Any]:
    return json.loads((report / "results.json").read_text())


def _failed(report: Path) -> set[tuple[str, str]]:
    return {(r["rule_id"], i) for r in _results(report)["rules"] for i in r["failed_ids"]}


# ---------------------------------------------------------------------------------------------------------
# The catalogue run: every bad seed in one seeds directory, audited once.


def _make_catalogue(root: Path) -> Path:
    """A seeds directory holding every bad seed of the catalogue, plus one good seed and its duplicate."""
    seeds = root / "seeds"
    seeds.mkdir()
    for p in DATA.iterdir():
        if p.suffix not in (".json", ".parquet"):
            shutil.copy(p, seeds / p.name)
    shutil.copy(DATA / "good_en.txt", seeds / "zz_duplicate_of_good_en.txt")
    (seeds / "too_large.txt").write_bytes((DATA / "good_en.txt").read_bytes() * (MAX_BYTES // 200 + 1))
    outside = root / "outside.txt"
    outside.write_bytes((DATA / "good_en.txt").read_bytes())
    (seeds / "symlink_out_of_root.txt").symlink_to(outside)
    (seeds / "symlink_dotdot.txt").symlink_to(Path("..") / "outside.txt")
    (seeds / "symlink_dangling.txt").symlink_to(seeds / "no-such-file.txt")
    (seeds / "symlink_inside.txt").symlink_to(seeds / "good_en.txt")
    (seeds / "nested" / "deeper").mkdir(parents=True)
    shutil.copy(DATA / "cp1251_ru.txt", seeds / "nested" / "deeper" / "copy_of_cp1251_ru.txt")
    unreadable = seeds / "unreadable.txt"
    unreadable.write_bytes(b"Title\n\nA paragraph.\n")
    unreadable.chmod(0)
    return seeds


@pytest.fixture(scope="module")
def catalogue(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, int, dict[str, dict[str, Any]]]]:
    """The catalogue seeds audited once: (run directory, exit code, seeds-table rows by path)."""
    root = tmp_path_factory.mktemp("catalogue")
    seeds = _make_catalogue(root)
    code = main(run_args(root, seeds, SUITES, "--max-seed-bytes", str(MAX_BYTES)))
    rows = {r["path"]: r for r in _rows(root / "tables", "seeds")}
    yield root, code, rows
    (seeds / "unreadable.txt").chmod(0o644)


_IS_ROOT = os.geteuid() == 0

# (path, status, reason, regex the detail must match, encoding)
CATALOGUE = [
    pytest.param("empty.txt", "rejected", "empty", r"empty or holds only whitespace", None, id="empty"),
    pytest.param("whitespace_only.txt", "rejected", "empty", r"only whitespace", None, id="whitespace"),
    pytest.param("binary.png", "rejected", "binary", r"binary data, not text", None, id="binary"),
    pytest.param(
        "too_large.txt",
        "rejected",
        "too-large",
        rf"over the {MAX_BYTES}-byte limit.*--max-seed-bytes",
        None,
        id="too-large",
    ),
    pytest.param(
        "gzip_bomb.txt.gz",
        "rejected",
        "too-large",
        r"more than the 5000-byte limit",
        None,
        id="gzip-bomb",
    ),
    pytest.param(
        "corrupt_gzip.html.gz",
        "rejected",
        "unreadable",
        r"gzip file that cannot be decompressed",
        None,
        id="corrupt-gzip",
    ),
    pytest.param(
        "invalid_utf8.txt", "rejected", "undecodable", r"invalid UTF-8 at byte 60", None, id="invalid-utf8"
    ),
    pytest.param(
        "bom_invalid_utf8.txt",
        "rejected",
        "undecodable",
        r"invalid UTF-8 at byte 43 .*byte-order mark",
        None,
        id="bom-invalid-utf8",
    ),
    pytest.param("cp1252_fr.txt", "extracted", None, None, "cp1252", id="cp1252"),
    pytest.param("cp1251_ru.txt", "extracted", None, None, "cp1251", id="cp1251"),
    pytest.param("shift_jis_ja.txt", "extracted", None, None, ("shift_jis", "cp932"), id="shift-jis"),
    pytest.param("utf16_bom_en.txt", "extracted", None, None, ("utf-16", "utf-16-le"), id="utf-16"),
    pytest.param(
        "jsonl_bad_line.jsonl",
        "rejected",
        "no-article",
        r"line 2 is not valid JSON",
        "utf-8",
        id="jsonl-bad-line",
    ),
    pytest.param(
        "jsonl_missing_body.jsonl",
        "rejected",
        "no-article",
        r"line 1: .*'body' is a required property",
        "utf-8",
        id="jsonl-no-body",
    ),
    pytest.param(
        "jsonl_lone_surrogate.jsonl",
        "rejected",
        "no-article",
        r"line 2: title: holds \\ud83d, half of a surrogate pair",
        "utf-8",
        id="jsonl-lone-surrogate",
    ),
    pytest.param(
        "zz_duplicate_of_good_en.txt",
        "rejected",
        "duplicate",
        r"same bytes as good_en\.txt",
        "utf-8",
        id="duplicate",
    ),
    pytest.param(
        "symlink_out_of_root.txt",
        "rejected",
        "outside-root",
        r"symlink leading outside the seeds directory",
        None,
        id="symlink-out",
    ),
    pytest.param(
        "symlink_dotdot.txt",
        "rejected",
        "outside-root",
        r"symlink leading outside",
        None,
        id="symlink-dotdot",
    ),
    pytest.param(
        "symlink_dangling.txt", "rejected", "unreadable", r"cannot be read", None, id="symlink-dangling"
    ),
    pytest.param(
        "unreadable.txt",
        "rejected",
        "unreadable",
        r"cannot be read: Permission denied",
        None,
        id="unreadable",
        marks=pytest.mark.skipif(
            _IS_ROOT, reason="root reads a mode-000 file; the dangling and looping symlinks cover unreadable"
        ),
    ),
]


@pytest.mark.parametrize(("path", "status", "reason", "detail", "encoding"), CATALOGUE)
def test_catalogue_seed_is_accounted_for(
    catalogue: tuple[Path, int, dict[str, dict[str, Any]]],
    path: str,
    status: str,
    reason: str | None,
    detail: str | None,
    encoding: str | tuple[str, ...] | None,
) -> None:
    """Each bad seed gets one seeds-table row with its status, reason code, a plain-words detail and its encoding."""
    _, _, rows = catalogue
    row = rows[path]
    assert (row["status"], row["reason"]) == (status, reason), row["detail"]
    if detail is not None:
        assert row["detail"] and re.search(detail, row["detail"]), row["detail"]
    if encoding is not None:
        assert row["encoding"] in ((encoding,) if isinstance(encoding, str) else encoding)


_TITLES = {
    "cp1252_fr.txt": "Le gouvernement dévoile un plan de 3 milliards d'euros",
    "cp1251_ru.txt": "Правительство представило план на 3 миллиарда рублей",
    "shift_jis_ja.txt": "東京都、新たに1万2000人の感染を確認",
    "utf16_bom_en.txt": "Council approves a 3 million pound budget",
}


@pytest.mark.parametrize(
    "path",
    [
        "cp1252_fr.txt",
        "cp1251_ru.txt",
        pytest.param("shift_jis_ja.txt"),
        pytest.param("utf16_bom_en.txt"),
    ],
)
def test_other_encodings_are_decoded_to_the_right_text(
    catalogue: tuple[Path, int, dict[str, dict[str, Any]]], path: str
) -> None:
    """A seed in a legacy encoding is decoded to the characters its author wrote, and its spans hold in that encoding."""
    root, _, rows = catalogue
    sha = rows[path]["seed_sha256"]
    (article,) = [a for a in _rows(root / "tables", "articles") if a["seed_sha256"] == sha]
    assert article["title"] == _TITLES[path]
    data = (DATA / path).read_bytes()
    blocks = [b for b in _rows(root / "tables", "blocks") if b["seed_sha256"] == sha]
    assert blocks and all(
        data[b["span_start"] : b["span_end"]].decode(rows[path]["encoding"]) == b["text"] for b in blocks
    )


def test_catalogue_every_file_has_exactly_one_row(
    catalogue: tuple[Path, int, dict[str, dict[str, Any]]],
) -> None:
    """Every file and symlink under the seeds directory, nested ones included, is one row of the seeds table, and the manifest lists the same."""
    root, code, rows = catalogue
    seeds = root / "seeds"
    on_disk = sorted(
        p.relative_to(seeds).as_posix() for p in seeds.rglob("*") if p.is_file() or p.is_symlink()
    )
    assert sorted(rows) == on_disk
    assert len(_rows(root / "tables", "seeds")) == len(on_disk)
    manifest = json.loads((root / "tables" / "manifest.json").read_text())
    assert sorted(s["path"] for s in manifest["seeds"]) == on_disk
    assert rows["symlink_inside.txt"]["status"] in {"extracted", "rejected"}
    assert rows["nested/deeper/copy_of_cp1251_ru.txt"]["reason"] == "duplicate"
    assert code in (0, 1)


def test_catalogue_rejections_are_in_the_report(
    catalogue: tuple[Path, int, dict[str, dict[str, Any]]],
) -> None:
    """Every rejected seed appears in the report with its reason code and its detail, and in the seed-extracted findings."""
    root, _, rows = catalogue
    index = (root / "report" / "index.html").read_text()
    failed = _failed(root / "report")
    for path, row in rows.items():
        if row["status"] == "rejected":
            assert str(escape(path)) in index and f"<code>{row['reason']}</code>" in index
            assert str(escape(row["detail"])) in index, path
            assert ("seed-extracted", path) in failed


def test_catalogue_tables_validate_against_their_schemas(
    catalogue: tuple[Path, int, dict[str, dict[str, Any]]],
) -> None:
    """Every row written for the catalogue is valid under its table's JSON Schema, and no provenance rule fails."""
    root, _, _ = catalogue
    for name in SPECS:
        assert _schema_errors(name, _rows(root / "tables", name)) == []
    provenance = {
        r
        for r, _ in _failed(root / "report")
        if r.endswith(
            (
                "-hash-matches",
                "-unchanged",
                "-matches-seed",
                "-rederives-from-seed",
                "-manifest",
                "-manifest-matches",
            )
        )
    }
    assert provenance == set()


def test_symlink_loop_is_rejected_as_unreadable(tmp_path: Path) -> None:
    """A symlink that points at itself is one rejected row ("unreadable"), not a crash of the whole run."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "good.txt").write_bytes((DATA / "good_en.txt").read_bytes())
    (seeds / "loop.txt").symlink_to(seeds / "loop.txt")
    assert main(run_args(tmp_path, seeds, SUITES)) in (0, 1)
    row = next(r for r in _rows(tmp_path / "tables", "seeds") if r["path"] == "loop.txt")
    assert (row["status"], row["reason"]) == ("rejected", "unreadable") and "cannot be read" in row["detail"]


def test_symlink_target_outside_is_never_read(tmp_path: Path) -> None:
    """A symlink out of the seeds directory is rejected without reading the target: no digest, no size, no text."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("Secret title\n\nThe password is hunter2, the council said.\n")
    (seeds / "good.txt").write_bytes((DATA / "good_en.txt").read_bytes())
    (seeds / "leak.txt").symlink_to(secret)
    main(run_args(tmp_path, seeds, SUITES))
    row = next(r for r in _rows(tmp_path / "tables", "seeds") if r["path"] == "leak.txt")
    assert (row["seed_sha256"], row["size_bytes"]) == (None, 0)
    for p in (tmp_path / "tables").iterdir():
        assert b"hunter2" not in p.read_bytes()
    for p in (tmp_path / "report").rglob("*"):
        assert not p.is_file() or b"hunter2" not in p.read_bytes()


def test_a_file_name_that_is_not_utf8_is_rejected_and_the_run_goes_on(tmp_path: Path) -> None:
    """A name the OS gives as bytes that are not UTF-8 is one "bad-name" row, shown with \\x escapes.

    Before, the run stopped with exit 3: Parquet strings are UTF-8, and the name could not be written.
    """
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "good.txt").write_bytes((DATA / "good_en.txt").read_bytes())
    with open(os.fsencode(seeds) + b"/caf\xe9-\xff.txt", "wb") as fh:
        fh.write((DATA / "good_en.txt").read_bytes())
    assert main(run_args(tmp_path, seeds, SUITES)) in (0, 1)
    rows = {r["path"]: r for r in _rows(tmp_path / "tables", "seeds")}
    assert rows["good.txt"]["status"] == "extracted"
    bad = rows["caf\\xe9-\\xff.txt"]
    assert (bad["status"], bad["reason"], bad["seed_sha256"]) == ("rejected", "bad-name", None)
    assert "rename the file" in bad["detail"]
    assert "caf\\xe9-\\xff.txt" in (tmp_path / "report" / "index.html").read_text(encoding="utf-8")
    assert main(["validate", *run_args(tmp_path, seeds, SUITES)[2:]]) in (0, 1)


def test_names_are_shown_with_escapes_for_what_is_not_utf8() -> None:
    assert shown("caf\udce9-\udcff.txt") == "caf\\xe9-\\xff.txt"  # bytes the OS gave undecoded
    assert shown("x\ud800y") == "x\\ud800y"  # a lone surrogate of another kind
    assert shown("café ☕.txt") == "café ☕.txt"


def test_a_seeds_directory_whose_name_is_not_utf8_is_audited(tmp_path: Path) -> None:
    """Its name reaches the report (as \\xe9) and the manifest (as JSON escapes, so `validate` finds it)."""
    seeds = Path(os.fsdecode(os.fsencode(tmp_path) + b"/dir\xe9"))
    seeds.mkdir()
    shutil.copy(SAMPLE, seeds / SAMPLE.name)
    assert main(run_args(tmp_path, seeds, SUITES)) == 1  # the bundled seed's verdict
    assert "dir\\xe9" in (tmp_path / "report" / "index.html").read_text(encoding="utf-8")
    assert (
        main(
            [
                "validate",
                "--tables",
                str(tmp_path / "tables"),
                "--report",
                str(tmp_path / "again"),
                "--suites",
                str(SUITES),
            ]
        )
        == 1
    )
    results = json.loads((tmp_path / "again" / "results.json").read_text(encoding="utf-8"))
    assert results["verdict"] == "failed"


def _audit_in_subprocess(tmp_path: Path, command: str, seeds: Path) -> subprocess.CompletedProcess[str]:
    """`python -m audit` in a subprocess with a time limit: a read that blocks fails the test, not the suite."""
    argv = run_args(tmp_path, seeds, SUITES)
    argv = argv if command == "run" else ["validate", *argv[2:], "--seeds", str(seeds)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GX_ANALYTICS_ENABLED": "false"}
    return subprocess.run(
        [sys.executable, "-m", "audit", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_named_pipes_and_links_to_them_are_rejected_not_read(tmp_path: Path) -> None:
    """Reading a named pipe waits for a writer forever: before, one in the seeds directory was skipped
    unlisted, and a symlink to one hung the run."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(SAMPLE, seeds / SAMPLE.name)
    os.mkfifo(seeds / "pipe.txt")
    (seeds / "link.txt").symlink_to("pipe.txt")
    proc = _audit_in_subprocess(tmp_path, "run", seeds)
    assert proc.returncode == 1, proc.stderr
    rows = {r["path"]: r for r in _rows(tmp_path / "tables", "seeds")}
    for name in ("pipe.txt", "link.txt"):
        assert (rows[name]["status"], rows[name]["reason"]) == ("rejected", "unreadable")
        assert rows[name]["detail"] == "not a regular file (a named pipe); only files are read"


def test_a_seed_replaced_by_a_named_pipe_fails_validation_without_hanging(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(SAMPLE, seeds / SAMPLE.name)
    assert main(run_args(tmp_path, seeds, SUITES)) == 1
    (seeds / SAMPLE.name).unlink()
    os.mkfifo(seeds / SAMPLE.name)
    proc = _audit_in_subprocess(tmp_path, "validate", seeds)
    assert proc.returncode == 1, proc.stderr
    failed = {
        r["rule_id"]
        for r in json.loads((tmp_path / "report" / "results.json").read_text())["rules"]
        if not r["passed"]
    }
    assert "seed-hash-matches" in failed


def test_seeds_dir_that_is_a_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A seeds path that is a file, not a directory, is a usage error that says so and writes nothing."""
    path = tmp_path / "seeds.txt"
    path.write_text("not a directory")
    assert main(run_args(tmp_path, path, SUITES)) == 2
    assert "is not a directory" in capsys.readouterr().err
    assert not (tmp_path / "tables").exists() and not (tmp_path / "report").exists()


def test_seeds_dir_with_only_subdirectories_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A seeds directory holding only empty subdirectories has no seed files: usage error, not an empty pass."""
    (tmp_path / "seeds" / "a" / "b").mkdir(parents=True)
    assert main(run_args(tmp_path, tmp_path / "seeds", SUITES)) == 2
    assert "no seed files found" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------------
# Configuration errors: exit 2, one line naming the file and the place, and the previous outputs untouched.


def _snapshot(*dirs: Path) -> dict[str, str]:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest()
        for d in dirs
        for p in sorted(d.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def previous(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete earlier run over one good seed, for config-error tests to leave untouched."""
    root = tmp_path_factory.mktemp("previous")
    (root / "seeds").mkdir()
    shutil.copy(DATA / "good_en.txt", root / "seeds" / "good_en.txt")
    assert main(run_args(root, root / "seeds", SUITES)) in (0, 1)
    return root


def _suites_with(tmp_path: Path, table: str, bad: str) -> Path:
    suites = tmp_path / "suites"
    shutil.copytree(SUITES, suites, ignore=shutil.ignore_patterns("waivers.json"))
    shutil.copy(DATA / bad, suites / f"{table}.json")
    return suites


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        # the place is Python's json module's: 3.11-3.12 point after the trailing comma, 3.13 at it
        (
            "suite_syntax_error.json",
            r"seeds\.json: line (18 column 5|17 column 29): invalid JSON: .*Fix the syntax there",
        ),
        (
            "suite_unknown_type.json",
            r'seeds\.json: /expectations/0/type: "expect_column_values_to_be_in_sett" is unknown\. Did you mean "expect_column_values_to_be_in_set"\?',
        ),
        ("suite_bad_severity.json", r"seeds\.json: /expectations/0/severity: 'blocker' is not one of"),
        (
            "suite_unknown_column.json",
            r'seeds\.json: /expectations/0/kwargs: column "staus" is not in the seeds table\. Did you mean "status"\?',
        ),
        (
            "suite_missing_rule_id.json",
            r"seeds\.json: /expectations/0/meta: 'rule_id' is a required property",
        ),
    ],
)
def test_bad_suite_exits_2_and_keeps_previous_outputs(
    tmp_path: Path, previous: Path, bad: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A suite with a syntax error, an unknown expectation, a bad severity, an unknown column or no rule_id is exit 2 with the place named; the previous outputs stay."""
    before = _snapshot(previous / "tables", previous / "report")
    suites = _suites_with(tmp_path, "seeds", bad)
    assert main(run_args(previous, previous / "seeds", suites)) == 2
    err = capsys.readouterr().err
    assert re.search(message, err), err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert _snapshot(previous / "tables", previous / "report") == before


def test_missing_suite_file_exits_2(
    tmp_path: Path, previous: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A suites directory without one of the required tables' suites is exit 2 naming the missing file."""
    suites = tmp_path / "suites"
    shutil.copytree(SUITES, suites)
    (suites / "numbers.json").unlink()
    assert main(run_args(previous, previous / "seeds", suites)) == 2
    assert "numbers.json: missing: every table needs a suite" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("waivers_syntax_error.json", r"waivers_syntax_error\.json: line \d+ column \d+: invalid JSON"),
        ("waivers_missing_reason.json", r"waivers_missing_reason\.json: /waivers/0: 'reason' is a required property"),
        (
            "waivers_bad_date.json",
            r'waivers_bad_date\.json: /waivers/0/expires: "2030-02-30" is not a calendar date\. Use YYYY-MM-DD\.',
        ),
    ],
)
def test_bad_waiver_file_exits_2_and_keeps_previous_outputs(
    previous: Path, bad: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A waivers file with a syntax error, a missing reason or an impossible date is exit 2 naming the place; the previous outputs stay."""
    before = _snapshot(previous / "tables", previous / "report")
    code = main([*run_args(previous, previous / "seeds", SUITES), "--waivers", str(DATA / bad)])
    err = capsys.readouterr().err
    assert code == 2 and re.search(message, err), err
    assert _snapshot(previous / "tables", previous / "report") == before


def test_missing_waiver_file_exits_2(previous: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A --waivers path that does not exist is exit 2 naming it, not a silent run without waivers."""
    assert (
        main([*run_args(previous, previous / "seeds", SUITES), "--waivers", str(previous / "nope.json")]) == 2
    )
    assert "nope.json: the waivers file does not exist" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------------
# `validate` on damaged tables: exit 2 naming the file, never a crash, never a report over garbage.


def _damage(tables: Path, how: str) -> str:
    """Damage the tables directory in one way; return the file the message must name."""
    path = tables / "numbers.parquet"
    if how == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif how == "zero-bytes":
        path.write_bytes(b"")
    elif how == "not-parquet":
        shutil.copy(DATA / "not_parquet.parquet", path)
    elif how == "magic-flipped":
        data = bytearray(path.read_bytes())
        data[-1] ^= 0xFF  # the trailing PAR1 magic
        path.write_bytes(bytes(data))
    elif how == "other-schema":
        pq.write_table(pa.table({"number_id": ["n-1"], "value": ["not a float"]}), path)
    elif how == "other-types":  # the right columns, one of another type: found only when the rows are read
        table = pq.read_table(path)
        i = table.schema.get_field_index("value")
        pq.write_table(table.set_column(i, "value", pa.array(["not a float"] * table.num_rows)), path)
    elif how == "missing":
        path.unlink()
    elif how == "manifest-missing":
        (tables / "manifest.json").unlink()
        return "manifest.json"
    elif how == "manifest-corrupt":
        (tables / "manifest.json").write_text('{"tables": ')
        return "manifest.json"
    return "numbers.parquet"


@pytest.mark.parametrize(
    "how",
    [
        "truncated",
        "zero-bytes",
        "not-parquet",
        "magic-flipped",
        "other-schema",
        "other-types",
        "missing",
        "manifest-missing",
        "manifest-corrupt",
    ],
)
def test_validate_on_damaged_tables_exits_2(
    tmp_path: Path, previous: Path, how: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`validate` over a truncated, corrupt, foreign or missing table or manifest exits 2 naming the file, and writes no report."""
    tables = tmp_path / "tables"
    shutil.copytree(previous / "tables", tables)
    named = _damage(tables, how)
    report = tmp_path / "report"
    code = main(["validate", "--tables", str(tables), "--report", str(report), "--suites", str(SUITES)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert named in err and "Traceback" not in err and "internal error" not in err
    assert "python -m audit run" in err or "--tables" in err  # the message says how to fix it
    assert not report.exists()


# ---------------------------------------------------------------------------------------------------------
# Resource limits: a seed that takes too long is rejected as "timeout", and the run goes on.


def _slow_text(n: int = 3000) -> str:
    """A 370 kB story with 6,000 figures, links and dates: about 3 s of extraction (10 ms for a normal seed)."""
    return "Council budget story\n\n" + "\n\n".join(
        f"On March {i % 28 + 1}, 2023, the council said {i * 37:,} people paid ${i * 3}.5 million, "
        f"according to https://example.org/{i} and the mayor."
        for i in range(n)
    )


def test_slow_seed_is_rejected_as_timeout_and_the_run_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With --seed-timeout, a seed whose extraction runs past the limit is rejected as "timeout" with the limit named, and the other seeds are extracted."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(DATA / "good_en.txt", seeds / "a_small.txt")
    (seeds / "b_huge.txt").write_text(_slow_text())
    code = main(run_args(tmp_path, seeds, SUITES, "--seed-timeout", "0.3"))
    rows = {r["path"]: r for r in _rows(tmp_path / "tables", "seeds")}
    assert rows["a_small.txt"]["status"] == "extracted"
    huge = rows["b_huge.txt"]
    assert (huge["status"], huge["reason"]) == ("rejected", "timeout")
    assert "0.3-second limit" in huge["detail"] and "--seed-timeout" in huge["detail"]
    assert huge["seed_sha256"] == hashlib.sha256((seeds / "b_huge.txt").read_bytes()).hexdigest()
    assert not [a for a in _rows(tmp_path / "tables", "articles") if a["seed_sha256"] == huge["seed_sha256"]]
    assert code in (0, 1)


def test_seed_timeout_applies_in_worker_processes(tmp_path: Path) -> None:
    """The per-seed time limit also holds when seeds are extracted in worker processes (--jobs 2, 64+ seeds)."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for i in range(70):
        (seeds / f"s{i:03d}.txt").write_text(
            f"Story {i} of the council\n\nThe council said {i} people came.\n"
        )
    (seeds / "s999_huge.txt").write_text(_slow_text())
    args = run_args(tmp_path, seeds, SUITES, "--seed-timeout", "0.5")
    args[args.index("--jobs") + 1] = "2"
    main(args)
    rows = {r["path"]: r for r in _rows(tmp_path / "tables", "seeds")}
    assert rows["s999_huge.txt"]["reason"] == "timeout"
    assert sum(r["status"] == "extracted" for r in rows.values()) == 70


# ---------------------------------------------------------------------------------------------------------
# Property-based: arbitrary, mutated and real seeds never crash the run and never break provenance.

_POLICY = load_policy(SUITES / "number_policy.json")
_OPTIONS = ExtractOptions(policy=_POLICY)
_REAL = [
    SAMPLE.read_bytes(),
    (DATA / "good_en.txt").read_bytes(),
    (DATA / "cp1252_fr.txt").read_bytes(),
    gzip.decompress(CORPUS_PAGE.read_bytes())[:40_000],
    b'{"title": "Council approves budget", "byline": "By A. Writer", "publisher": "The Gazette", '
    b'"body": ["The council approved 3 million pounds, its treasurer said.", "About 1,200 people came."]}\n'
    b'{"title": "Second story", "body": "It cost 45 euros, according to the mayor."}\n',
]


@st.composite
def mutated_real(draw: st.DrawFn) -> bytes:
    """A real seed with a few bytes flipped, inserted, deleted, or cut short."""
    data = bytearray(draw(st.sampled_from(_REAL)))
    for op, where, chunk in draw(
        st.lists(
            st.tuples(
                st.sampled_from(["flip", "insert", "delete", "truncate", "splice-text"]),
                st.integers(0, 1 << 20),
                st.binary(min_size=1, max_size=12),
            ),
            max_size=4,
        )
    ):
        pos = where % (len(data) + 1)
        if op == "flip" and data:
            data[pos % len(data)] ^= chunk[0] or 1
        elif op == "insert":
            data[pos:pos] = chunk
        elif op == "delete":
            del data[pos : pos + len(chunk)]
        elif op == "truncate":
            del data[pos:]
        elif op == "splice-text":
            data[pos:pos] = draw(st.text(max_size=20)).encode("utf-8")
    return bytes(data)


seed_bytes = st.one_of(
    st.binary(max_size=3000),
    st.text(max_size=1500).map(lambda s: s.encode("utf-8")),
    st.text(st.characters(codec="latin-1"), max_size=800).map(lambda s: s.encode("latin-1")),
    st.lists(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=120), max_size=8).map(
        lambda ps: "\n\n".join(ps).encode("utf-8")
    ),
    mutated_real(),
    mutated_real(),  # weighted: mutated real seeds reach the readers and analysers, random bytes mostly do not
    mutated_real(),
)
seed_names = st.sampled_from(
    ["a.txt", "b.html", "c.jsonl", "d", "e.txt.gz", "é space.txt", "<x onerror=1>.txt"]
)


def _check_processed(root: Path, rel: str, data: bytes) -> None:
    """One seed's outcome: a valid row for its bytes; every record valid, with spans and digests that hold."""
    item = process_seed(root, rel, IngestLimits(max_bytes=1 << 20, timeout_s=None), _OPTIONS)
    row = item.row
    event(f"{row.status}: {row.reason or row.format}")
    assert row.path == rel and row.size_bytes == len(data)
    assert row.seed_sha256 == hashlib.sha256(data).hexdigest()
    assert row.status in ("extracted", "rejected")
    if row.status == "rejected":
        assert row.reason in set(RejectReason) and row.detail and not item.batches
    seeds_row = {f: getattr(row, f) for f in row.__dataclass_fields__}
    seeds_row = {k: (v.value if hasattr(v, "value") else v) for k, v in seeds_row.items()}
    seeds_row["record_sha256"] = "0" * 64
    assert _schema_errors("seeds", [seeds_row]) == []
    found = {row.seed_sha256: reread_seed(root, rel, row.seed_sha256)}
    for name, batch in item.batches.items():
        table = pa.Table.from_batches([batch])
        assert _schema_errors(name, table.to_pylist()) == []
        assert all(record_ok(r) for r in table.to_pylist()), name
        if table.num_rows and name in _SPAN_CHECKS:
            assert all(_SPAN_CHECKS[name](table, found)), name


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=seed_bytes, name=seed_names)
def test_any_seed_gives_a_valid_row_and_spans_that_hold(data: bytes, name: str) -> None:
    """For any bytes, a seed is extracted or rejected with a reason, and every record it yields is schema-valid with spans and digests that re-read true."""
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / name).write_bytes(data)
        _check_processed(Path(d), name, data)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=st.dictionaries(seed_names, seed_bytes, min_size=1, max_size=4), dup=st.booleans())
def test_any_seeds_dir_runs_to_a_verdict_with_every_seed_accounted_for(
    files: dict[str, bytes], dup: bool
) -> None:
    """For any set of seeds, `run` exits 0 or 1, lists every file once, writes schema-valid tables, and no provenance rule fails."""
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        seeds = root / "seeds"
        seeds.mkdir()
        for name, data in files.items():
            (seeds / name).write_bytes(data)
        if dup:
            name, data = next(iter(files.items()))
            (seeds / f"zz_copy_{name}").write_bytes(data)
        code = main(run_args(root, seeds, SUITES))
        assert code in (0, 1)
        rows = _rows(root / "tables", "seeds")
        assert sorted(r["path"] for r in rows) == sorted(p.name for p in seeds.iterdir())
        for name in SPECS:
            assert _schema_errors(name, _rows(root / "tables", name)) == []
        doc = _results(root / "report")
        assert doc["passed"] == (code == 0)
        broken = {
            (r["rule_id"], i)
            for r in doc["rules"]
            for i in r["failed_ids"]
            if r["rule_id"].endswith(
                (
                    "-hash-matches",
                    "-unchanged",
                    "-matches-seed",
                    "-rederives-from-seed",
                    "-manifest",
                    "-manifest-matches",
                )
            )
        }
        assert broken == set()
        if dup:
            copy = next(r for r in rows if r["path"].startswith("zz_copy_"))
            first = next(r for r in rows if r["path"] == next(iter(files)))
            if first["status"] == "extracted":
                assert copy["reason"] == "duplicate"


# ---------------------------------------------------------------------------------------------------------
# Report safety beyond tests/test_report_browser.py: payloads in file names, JSON Lines fields and
# rejection details, on every page the report can have (findings and seed-list pages included).

_NAME_PAYLOAD = "<img src=x onerror=window.__xss=21>.txt"
_JSONL_PAYLOADS = [
    {
        "url": "javascript:window.__xss=25",
        "title": "<script>window.__xss=22</script> Council spends 3 million",
        "byline": "<img src=x onerror=window.__xss=23>",
        "publisher": '"><svg onload=window.__xss=24>',
        "section": "</style><script>window.__xss=27</script>",
        "body": [
            "The council spent 3 million pounds <iframe srcdoc='<script>parent.__xss=28</script>'></iframe>.",
            "About 1,200 people <a href=javascript:window.__xss=29>came</a> to https://x.example/'><script>window.__xss=30</script>.",
        ],
        "tags": ["<b onmouseover=window.__xss=31>tag</b>"],
    },
    {"title": "x", "body": "y", "byline": {"<img src=x onerror=window.__xss=26>": 1}},
]


@pytest.fixture(scope="module")
def payload_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report over payload file names and JSON Lines fields, paginated to the extreme so every kind of page exists."""
    import functools

    import audit.finish
    from audit.report import ReportLimits, write_report

    root = tmp_path_factory.mktemp("payloads")
    seeds = root / "seeds"
    seeds.mkdir()
    (seeds / _NAME_PAYLOAD).write_bytes((DATA / "good_en.txt").read_bytes())
    (seeds / "fields.jsonl").write_text(json.dumps(_JSONL_PAYLOADS[0]) + "\n")
    (seeds / "rejected.jsonl").write_text(json.dumps(_JSONL_PAYLOADS[1]) + "\n")
    shutil.copy(SAMPLE, seeds / SAMPLE.name)
    tiny = ReportLimits(
        findings_inline=0, findings_per_page=1, seeds_inline=0, seeds_per_page=1, clean_seed_pages=5
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(audit.finish, "write_report", functools.partial(write_report, limits=tiny))
        assert main(run_args(root, seeds, SUITES)) == 1
    return root / "report"


@pytest.mark.browser
def test_payloads_in_names_fields_and_details_run_nothing_on_any_page(payload_report: Path) -> None:
    """Every page of the report (index, seed, findings and seed-list pages) shows payloads from file names, JSON Lines fields and rejection details as text, and runs none of them."""
    from tests.test_report_browser import ARGS, CHROMIUM, INJECTED, Visit

    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium to run the browser tests")
    from playwright.sync_api import sync_playwright

    pages = sorted(payload_report.rglob("*.html"))
    kinds = {p.parent.name for p in pages}
    assert {"seeds", "findings", "manifest", payload_report.name} <= kinds, kinds
    texts = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            for path in pages:
                v = Visit(browser, path.as_uri())
                found = v.page.evaluate(INJECTED)
                assert found["scripts"] <= 1, path
                assert {k: found[k] for k in ("on_attrs", "bad", "js_links", "xss")} == {
                    "on_attrs": 0,
                    "bad": 0,
                    "js_links": 0,
                    "xss": None,
                }, path
                texts.append(v.page.locator("body").inner_text())
                v.assert_clean()
                v.close()
        finally:
            browser.close()
    shown = "\n".join(texts)
    assert _NAME_PAYLOAD in shown and "<script>window.__xss=22</script>" in shown
    assert "<img src=x onerror=window.__xss=26>" in shown  # the rejection detail, shown as text


# ---------------------------------------------------------------------------------------------------------
# Determinism beyond tests/test_end_to_end.py: worker count, file creation order, where the seeds are.


def _table_digests(root: Path) -> dict[str, str]:
    manifest = json.loads((root / "tables" / "manifest.json").read_text())
    return {name: t["sha256"] for name, t in manifest["tables"].items()}


def _write_seeds(seeds: Path, order: list[int]) -> None:
    from benchmarks.generate import SAMPLE as TEMPLATE
    from benchmarks.generate import variant

    template = TEMPLATE.read_text(encoding="utf-8")
    seeds.mkdir(parents=True)
    for i in order:
        (seeds / f"s{i:03d}.txt").write_text(variant(template, i), encoding="utf-8")
    shutil.copy(DATA / "cp1252_fr.txt", seeds / "zz_cp1252_fr.txt")
    (seeds / "zz_empty.txt").write_bytes(b"")


def test_jobs_and_creation_order_do_not_change_the_tables(tmp_path: Path) -> None:
    """70 seeds (past the parallel threshold) give byte-identical tables and the same exit code with --jobs 1 and files created in order, and --jobs 2 and files created in reverse order."""
    seeds = tmp_path / "seeds"
    outcomes = []
    for n, (jobs, order) in enumerate([("1", range(70)), ("2", reversed(range(70)))]):
        if seeds.exists():
            shutil.rmtree(seeds)
        _write_seeds(seeds, list(order))
        out = tmp_path / f"run{n}"
        args = run_args(out, seeds, SUITES)
        args[args.index("--jobs") + 1] = jobs
        code = main(args)
        outcomes.append((code, _table_digests(out)))
    assert outcomes[0] == outcomes[1]


def test_the_same_seeds_elsewhere_give_the_same_tables(tmp_path: Path) -> None:
    """The same seed files audited from another directory give byte-identical tables: where they sit is a run-time fact, kept in manifest.json only."""
    digests = []
    for where in ("here", "there"):
        seeds = tmp_path / where / "seeds"
        _write_seeds(seeds, [0, 1, 2])
        main(run_args(tmp_path / where, seeds, SUITES))
        digests.append(_table_digests(tmp_path / where))
    assert digests[0] == digests[1]
