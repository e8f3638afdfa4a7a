"""The one JSON loader: every failure is one line naming the file, the place (a JSON Pointer) and the fix."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from audit.errors import ConfigError, SuiteError, pointer
from audit.jsonfile import JsonKind, load_json_file

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "a/b": {"type": "object", "properties": {"c~d": {"type": "integer"}}},
        "items": {"type": "array", "items": {"enum": ["x", "y"]}},
    },
}


@pytest.fixture
def kind(tmp_path: Path) -> JsonKind:
    schema = tmp_path / "thing.schema.json"
    schema.write_text(json.dumps(SCHEMA), encoding="utf-8")
    return JsonKind(what="thing file", schema=schema, error=SuiteError, missing_fix="Make one.")


def _load(tmp_path: Path, kind: JsonKind, text: str | bytes) -> Any:
    path = tmp_path / "thing.json"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return load_json_file(path, kind)


def test_a_valid_document_is_returned(tmp_path: Path, kind: JsonKind) -> None:
    """A document valid against its schema comes back parsed."""
    assert _load(tmp_path, kind, '{"name": "n", "items": ["x"]}') == {"name": "n", "items": ["x"]}


def test_a_missing_file_names_it_and_the_fix(tmp_path: Path, kind: JsonKind) -> None:
    """A missing file is the kind's error, with no place, and the kind's fix."""
    with pytest.raises(SuiteError) as caught:
        load_json_file(tmp_path / "nope.json", kind)
    assert str(caught.value) == f"{tmp_path / 'nope.json'}: the thing file does not exist. Make one."
    assert caught.value.place is None


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_says_why(tmp_path: Path, kind: JsonKind) -> None:
    """A file the user may not read is an error naming it and the OS's reason, not a traceback."""
    path = tmp_path / "thing.json"
    path.write_text("{}")
    path.chmod(0)
    with pytest.raises(SuiteError, match=r"thing\.json: cannot read the thing file \(Permission denied\)\."):
        load_json_file(path, kind)


def test_a_path_through_a_file_is_unreadable_not_a_crash(tmp_path: Path, kind: JsonKind) -> None:
    """A path that cannot be opened for another reason (here, through a file) names the OS's reason."""
    (tmp_path / "plain").write_text("")
    with pytest.raises(
        SuiteError, match=r"plain/thing\.json: cannot read the thing file \(Not a directory\)\. Make one\.$"
    ):
        load_json_file(tmp_path / "plain" / "thing.json", kind)


def test_a_file_that_is_not_json_names_its_line_and_column(tmp_path: Path, kind: JsonKind) -> None:
    """A syntax error is placed by line and column (no pointer exists in a file that does not parse)."""
    with pytest.raises(SuiteError) as caught:
        _load(tmp_path, kind, '{"name": "n",\n "items": [,]}')
    assert caught.value.place == "line 2 column 12"
    assert str(caught.value).endswith(
        ": line 2 column 12: invalid JSON: Expecting value. Fix the syntax there."
    )


def test_a_file_that_is_not_utf8_names_the_byte(tmp_path: Path, kind: JsonKind) -> None:
    """Bytes that are not UTF-8 name the first bad byte and the fix."""
    with pytest.raises(
        SuiteError, match=r"thing\.json: not UTF-8 text \(byte 10\)\. Save the thing file as UTF-8"
    ):
        _load(tmp_path, kind, b'{"name": "\xff"}')


@pytest.mark.parametrize(
    ("document", "place", "problem"),
    [
        ({"items": ["x", "z"]}, "/items/1", "'z' is not one of ['x', 'y']"),
        ({"a/b": {"c~d": "1"}}, "/a~1b/c~0d", "'1' is not of type 'integer'"),
        ([], "/", "[] is not of type 'object'"),
    ],
    ids=["array-item", "escaped-keys", "whole-document"],
)
def test_a_schema_violation_is_placed_by_json_pointer(
    tmp_path: Path, kind: JsonKind, document: Any, place: str, problem: str
) -> None:
    """The first schema failure is named by its JSON Pointer (RFC 6901 escapes; / for the whole document)."""
    with pytest.raises(SuiteError) as caught:
        _load(tmp_path, kind, json.dumps(document))
    path = tmp_path / "thing.json"
    assert str(caught.value) == f"{path}: {place}: {problem}. Fix it to match schemas/thing.schema.json."
    assert (caught.value.path, caught.value.place) == (path, place)


def test_a_misspelt_key_gets_a_did_you_mean(tmp_path: Path, kind: JsonKind) -> None:
    """An unknown key close to a known one suggests it; one close to none lists the known keys."""
    with pytest.raises(SuiteError, match=r'/: .*\(\'nme\' was unexpected\)\. Did you mean "name"\? Fix it'):
        _load(tmp_path, kind, '{"nme": "n"}')
    with pytest.raises(SuiteError, match=r"Known keys: a/b, items, name\. Fix it"):
        _load(tmp_path, kind, '{"zzzzzz": 1}')


def test_the_kind_may_give_its_own_fix_for_an_invalid_document(tmp_path: Path, kind: JsonKind) -> None:
    """A kind's invalid_fix replaces the schema hint (a report is rewritten, not edited)."""
    own = JsonKind(what="report", schema=kind.schema, invalid_fix="Rerun the audit.")
    with pytest.raises(
        ConfigError, match=r"thing\.json: /items/0: 'q' is not one of \['x', 'y'\]\. Rerun the audit\.$"
    ):
        _load(tmp_path, own, '{"items": ["q"]}')


def test_a_broken_schema_of_the_tool_says_to_restore_it(tmp_path: Path, kind: JsonKind) -> None:
    """The audit's own schema, damaged, is a ConfigError naming it, not a traceback."""
    kind.schema.write_text("{", encoding="utf-8")
    with pytest.raises(
        ConfigError, match=r"thing\.schema\.json: unreadable schema \(.*\)\. Restore it from git\."
    ):
        _load(tmp_path, kind, "{}")


def test_pointer_escapes_and_roots() -> None:
    """pointer() writes RFC 6901 pointers: ~ as ~0, / as ~1, and / for the whole document."""
    assert (pointer(()), pointer(("rules", 2, "kinds")), pointer(("a/b", "c~d"))) == (
        "/",
        "/rules/2/kinds",
        "/a~1b/c~0d",
    )


def test_json_s_own_words_do_not_dangle(tmp_path: Path, kind: JsonKind) -> None:
    """json says "Unterminated string starting at" and then the place; the place comes first here."""
    with pytest.raises(SuiteError) as caught:
        _load(tmp_path, kind, '{"name": "n')
    assert str(caught.value).endswith(
        ": line 1 column 10: invalid JSON: Unterminated string starting. Fix the syntax there."
    )
