"""The error tree: every AuditError lives in errors.py and is drawn in its docstring; outcomes are apart."""

from __future__ import annotations

import ast
from pathlib import Path

import audit.errors as errors
from audit.errors import AuditError, ConfigError, ExitCode, PublishRefused

PACKAGE = Path(errors.__file__).parent


def _error_classes() -> dict[str, str]:
    """Every class in audit/ whose base is AuditError or one of its subclasses (by name), and its module."""
    tree = {c.__name__ for c in _subclasses(AuditError)} | {"AuditError"}
    found: dict[str, str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(b, ast.Name) and b.id in tree for b in node.bases
            ):
                found[node.name] = path.relative_to(PACKAGE).as_posix()
    return found


def _subclasses(cls: type) -> list[type]:
    return [c for sub in cls.__subclasses__() for c in (sub, *_subclasses(sub))]


def test_every_audit_error_is_defined_in_errors_py_and_drawn_in_its_tree() -> None:
    """Regression: PublishRefused was an AuditError in release_gate.py, missing from the tree."""
    classes = _error_classes()
    assert classes and set(classes.values()) == {"errors.py"}, classes
    doc = errors.__doc__ or ""
    tree = doc[: doc.index("An outcome is not an error")]
    assert all(f"── {name} " in tree for name in classes if name != "AuditError"), classes


def test_a_refusal_is_an_outcome_not_an_error() -> None:
    """PublishRefused is no AuditError (the CLI maps it to exit 1); user mistakes are exit 2."""
    assert not issubclass(PublishRefused, AuditError) and "PublishRefused" in (errors.__doc__ or "")
    assert {c.exit_code for c in _subclasses(AuditError)} == {ExitCode.USAGE_ERROR}


def test_config_error_at_is_the_one_shape() -> None:
    """FILE: PLACE: PROBLEM. FIX on one line; no place when the whole file is at fault."""
    path = Path("w.json")
    assert str(ConfigError.at(path, "/waivers/0", "bad.", "Fix it.")) == "w.json: /waivers/0: bad. Fix it."
    assert str(ConfigError.at(path, None, "missing", "")) == "w.json: missing."
