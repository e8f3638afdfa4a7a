"""The package's structure, held: no import loops, one engine boundary, one module that touches GX.

Read from the source (ast), nothing imported: a move that breaks one of these fails here, not in review.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "audit"


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p): p for p in sorted(PACKAGE.rglob("*.py")) if "_defaults" not in p.parts}


def _imports(path: Path) -> Iterator[tuple[str, list[str], bool]]:
    """(module imported, names taken, at the top level) for every import in a file, relative ones resolved;
    imports under ``if TYPE_CHECKING:`` are left out (they run no code)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _module(path) if path.name == "__init__.py" else _module(path).rpartition(".")[0]
    checking = {
        id(node)
        for guard in ast.walk(tree)
        if isinstance(guard, ast.If) and "TYPE_CHECKING" in ast.unparse(guard.test)
        for node in ast.walk(guard)
    }
    top = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if id(node) in checking:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, [], id(node) in top
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            yield base, [a.name for a in node.names], id(node) in top


def _edges(top_level_only: bool) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for target, names, at_top in _imports(path):
            if top_level_only and not at_top:
                continue
            candidates = [f"{target}.{n}" for n in names] + [target]
            found = next((c for c in candidates if c in MODULES and c != name), None)
            if found:
                edges[name].add(found)
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_no_import_loops_among_modules() -> None:
    """Not at the top of files, and not through imports inside functions either. (The package's face,
    audit/__init__.py, hands on names from the pipeline on first use: it is the top of the house and the
    modules below only take ``__version__`` from it, so its edges down are left out.)"""
    edges = _edges(top_level_only=False)
    edges["audit"] = set()
    assert _cycles(edges) == []


def test_spark_never_imports_the_pipeline() -> None:
    """Both engines import config, manifest and finish; the pipeline chooses the engine, not the reverse."""
    for name, path in MODULES.items():
        if name.startswith("audit.spark"):
            imported = {target for target, _, _ in _imports(path)}
            assert "audit.pipeline" not in imported, name


def test_only_the_gx_module_touches_great_expectations() -> None:
    users = sorted(
        name
        for name, path in MODULES.items()
        if any(t == "great_expectations" or t.startswith("great_expectations.") for t, _, _ in _imports(path))
    )
    assert len(users) == 1 and users[0].endswith(".gx"), users


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_imports_another_modules_private_names(name: str) -> None:
    private = [
        f"{target}.{n}"
        for target, names, _ in _imports(MODULES[name])
        if target.startswith("audit")
        for n in names
        if n.startswith("_") and not n.startswith("__")
    ]
    assert private == [], name


def test_the_package_has_one_error_tree() -> None:
    """Every exception class the user can cause is an AuditError defined in errors.py (tests/test_errors.py
    checks the tree); a class named *Error elsewhere is a bug type, not a user's mistake."""
    stray = []
    for name, path in MODULES.items():
        if name == "audit.errors":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(b, ast.Name) and b.id in {"AuditError", "UsageError", "ConfigError", "SuiteError"}
                for b in node.bases
            ):
                stray.append(f"{name}.{node.name}")
    assert stray == []
