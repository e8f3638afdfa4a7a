"""Suites load fail-closed: every mistake in a suite file is an error naming the file and the place."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from audit.errors import SuiteError
from audit.validate import gx, gx_types
from audit.validate.suites import check_builds, load_suite, load_suites
from tests.conftest import ROOT


def _edit(suites_dir: Path, table: str, index: int, **changes: object) -> Path:
    path = suites_dir / f"{table}.json"
    doc = json.loads(path.read_text())
    doc["expectations"][index].update(changes)
    path.write_text(json.dumps(doc))
    return path


def test_repository_suites_load(suites_dir: Path) -> None:
    """The suites in expectations/ load, with a unique rule_id on every expectation."""
    suites = load_suites(suites_dir)
    ids = [r.rule_id for s in suites for r in s.rules]
    assert len(ids) == len(set(ids)) and "article-has-title" in ids


def test_misspelt_expectation_type_is_named_with_a_suggestion(suites_dir: Path) -> None:
    """A misspelt type names the file, the index and the closest real type."""
    _edit(suites_dir, "articles", 0, type="expect_column_values_to_not_be_nul")
    with pytest.raises(SuiteError, match=r'articles\.json: /expectations/0/type: "expect_column_values_to_not_be_nul" is unknown\. Did you mean "expect_column_values_to_not_be_null"\?'):
        load_suites(suites_dir)


def test_bad_severity_is_an_error(suites_dir: Path) -> None:
    """A severity GX does not know is an error, not a silently dropped expectation."""
    _edit(suites_dir, "articles", 1, severity="fatal")
    with pytest.raises(SuiteError, match=r"articles\.json: /expectations/1/severity: 'fatal' is not one of"):
        load_suites(suites_dir)


def test_missing_rule_id_is_an_error(suites_dir: Path) -> None:
    """Every expectation must carry meta.rule_id."""
    _edit(suites_dir, "seeds", 0, meta={"description": "no id"})
    with pytest.raises(SuiteError, match=r"seeds\.json: /expectations/0/meta: 'rule_id' is a required property"):
        load_suites(suites_dir)


def test_unknown_column_is_named(suites_dir: Path) -> None:
    """A column the table does not have is an error with a suggestion."""
    _edit(suites_dir, "articles", 0, kwargs={"column": "titel"})
    with pytest.raises(SuiteError, match=r'articles\.json: /expectations/0/kwargs: column "titel" is not in the articles table\. Did you mean "title"\?'):
        load_suites(suites_dir)


def test_bad_kwargs_are_reported_by_index(suites_dir: Path) -> None:
    """Kwargs GX rejects are reported with the expectation's index instead of being dropped."""
    _edit(suites_dir, "articles", 0, kwargs={"column": "title", "mostly": 7})
    with pytest.raises(SuiteError, match=r"articles\.json: /expectations/0: expect_column_values_to_not_be_null: "):
        load_suites(suites_dir)


def test_json_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    """A suite with a JSON syntax error names the line and column."""
    path = tmp_path / "articles.json"
    path.write_text('{"name": "articles",\n "expectations": [,]}')
    with pytest.raises(SuiteError, match=r"articles\.json: line 2 column 19: invalid JSON"):
        load_suite(path, "articles")


def test_duplicate_rule_id_across_suites(suites_dir: Path) -> None:
    """A rule_id used twice is an error naming both files."""
    _edit(suites_dir, "blocks", 0, meta={"rule_id": "article-has-title", "description": "dup"})
    with pytest.raises(SuiteError, match=r'blocks\.json: /expectations/0/meta/rule_id: "article-has-title" is also used in'):
        load_suites(suites_dir)


def test_missing_suite_file(suites_dir: Path) -> None:
    """Every contract table needs a suite file."""
    (suites_dir / "tables.json").unlink()
    with pytest.raises(SuiteError, match=r"tables\.json: missing"):
        load_suites(suites_dir)


def test_pinned_expectation_types_are_gx_registry() -> None:
    """The expectation types suites are checked against without GX are GX's own registry, for the GX
    installed (after an upgrade: pin the new list and version, as gx_types says)."""
    assert importlib.metadata.version("great_expectations") == gx_types.GX_VERSION
    assert list(gx_types.EXPECTATION_TYPES) == gx.known_expectation_types()
    assert gx.expectation_types() == gx.known_expectation_types()


def test_another_gx_version_is_checked_against_its_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a GX other than the pinned one installed, the types come from GX's registry, not the pin."""
    monkeypatch.setattr(gx, "_installed_gx", lambda: "1.99.0")
    monkeypatch.setattr(gx, "known_expectation_types", lambda: ["expect_only_this"])
    assert gx.expectation_types() == ["expect_only_this"]


def test_loading_suites_unbuilt_imports_no_gx_and_still_names_a_misspelt_type(suites_dir: Path) -> None:
    """build=False checks types, columns and ids without importing GX: a misspelt type is the same error."""
    _edit(suites_dir, "articles", 0, type="expect_column_values_to_not_be_nul")
    code = (
        "import sys; from pathlib import Path; from audit.validate.suites import load_suites; "
        f"ok = load_suites(Path({str(ROOT / 'expectations')!r}), build=False); "
        "print(len(ok), 'great_expectations' in sys.modules, 'pandas' in sys.modules); "
        f"load_suites(Path({str(suites_dir)!r}), build=False)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert done.stdout.split() == ["8", "False", "False"], done.stderr[-2000:]
    assert (
        'articles.json: /expectations/0/type: "expect_column_values_to_not_be_nul" is unknown. '
        'Did you mean "expect_column_values_to_not_be_null"?'
    ) in done.stderr


def test_kwargs_gx_rejects_fail_when_the_unbuilt_suites_are_built(suites_dir: Path) -> None:
    """Suites loaded with build=False are not yet built: check_builds raises the error loading them would."""
    _edit(suites_dir, "articles", 0, kwargs={"column": "title", "mostly": 7})
    with pytest.raises(SuiteError) as loading:
        load_suites(suites_dir)
    unbuilt = load_suites(suites_dir, build=False)
    with pytest.raises(SuiteError) as building:
        check_builds(unbuilt)
    assert str(building.value) == str(loading.value)
    assert "articles.json: /expectations/0: expect_column_values_to_not_be_null: " in str(building.value)
