"""What the audit wrote: the marker in each output folder, and the checks that keep it off the user's files.

An output folder (--tables, --report, a release, the --to folder) is the audit's own only if it holds
MARKER, which the audit writes: the tool, the folder's kind, the id of the run that wrote it and every path
that run put there. A folder is replaced whole only if it is the audit's own and holds nothing else: a file
the user added is named, and the command refused. Staging and backup folders beside an output
(``.NAME.new-*``, ``.NAME.old-*``) carry a marker from their first moment; recovery touches only those.
Nothing here writes: ``fsio`` does.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

MARKER = ".news-audit.json"
TOOL = "news-audit"
# names in an output directory that are not ours and must survive a swap (e.g. reports/.gitkeep)
KEPT = frozenset({".gitkeep", ".gitignore"})
_WHAT = {
    "tables": "tables",
    "report": "report",
    "release": "release",
    "releases": "releases folder",
}

# the file every output of a kind held before markers existed (a hint for the message, never a proof)
_LEGACY = {
    "tables": "manifest.json",
    "report": "results.json",
    "release": "provenance.intoto.json",
    "releases": "latest.json",
}

_RUN_ID: list[str] = []


def new_run_id() -> str:
    """Start a new run: a fresh id (UTC time and 8 random hex digits), returned and kept for ``run_id``."""
    _RUN_ID[:] = [f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{secrets.token_hex(4)}"]
    return _RUN_ID[0]


def run_id() -> str:
    """The id of this process's current run (one is started if none was)."""
    return _RUN_ID[0] if _RUN_ID else new_run_id()


def marker_text(kind: str, files: Iterable[str] | None, run: str | None = None) -> str:
    """The marker of a folder of ``kind``: complete with the paths it holds, or staging (``files`` None).

    ``run`` is the id of the run the folder is of (default: this one's); a release names the audited run's,
    so that publishing the same audit again writes the same bytes.
    """
    body: dict[str, Any] = {"tool": TOOL, "kind": kind, "run_id": run or run_id()}
    body["state"] = "staging" if files is None else "complete"
    if files is not None:
        body["files"] = sorted(files)
    return json.dumps(body, indent=1, sort_keys=True)


def read_marker(directory: Path) -> dict[str, Any] | None:
    """The audit's marker in directory, or None if there is none that the audit wrote."""
    try:
        body = json.loads((directory / MARKER).read_bytes())
    except (OSError, ValueError):
        return None
    ok = isinstance(body, dict) and body.get("tool") == TOOL and isinstance(body.get("kind"), str)
    return body if ok and isinstance(body.get("run_id"), str) else None


def listing(directory: Path) -> list[str]:
    """Every path under directory (files, folders, links; not followed), relative, except the marker."""
    found: list[str] = []
    root = os.fspath(directory)
    for top, dirs, files in os.walk(root):
        prefix = "" if top == root else os.path.relpath(top, root).replace(os.sep, "/") + "/"
        found += [prefix + name for name in (*dirs, *files)]
    return sorted(p for p in found if p != MARKER and not _is_marker_temp(p))


def _is_marker_temp(rel: str) -> bool:
    # atomic_write's temp file of the marker, left if a run died while writing it
    return rel.startswith(f".{MARKER}.") and rel.endswith(".tmp")


def foreign_paths(directory: Path) -> list[str]:
    """Paths in an output folder the audit did not write there (KEPT names excepted); [] if all are its."""
    body = read_marker(directory)
    written = set(body.get("files") or ()) if body is not None else set()
    return [p for p in listing(directory) if p not in written and p not in KEPT]


def is_leftover_of_ours(path: Path) -> bool:
    """Whether a staging or backup folder beside an output is the audit's (marked, or empty)."""
    return (
        path.is_dir() and not path.is_symlink() and (read_marker(path) is not None or not foreign_paths(path))
    )


def ownership_problem(name: str, path: Path, kind: str) -> str | None:
    """Why the audit may not replace path whole with a new ``kind`` folder (one line), or None if it may."""
    if not path.exists() and not path.is_symlink():
        return None
    if not path.is_dir():
        return f"{name} {path}: is a file, and the audit writes a folder there. Choose another {name}."
    body = read_marker(path)
    foreign = foreign_paths(path)
    if body is None and foreign and (path / _LEGACY[kind]).is_file():
        return (
            f"{name} {path}: carries no audit marker ({MARKER}). It may be an output of an earlier version "
            f"(they carry none), but it may hold your files (e.g. {foreign[0]}), and the audit replaces {name} "
            f"whole. If it is an old output, delete or move it yourself; otherwise choose another {name}."
        )
    if body is None and foreign:
        return (
            f"{name} {path}: holds files the audit did not write (e.g. {foreign[0]}) and carries no audit "
            f"marker ({MARKER}), and the audit replaces {name} whole. Choose a new or empty folder for {name}."
        )
    if body is not None and body["kind"] != kind:
        return (
            f"{name} {path}: holds the audit's {_WHAT.get(body['kind'], body['kind'])}, not a {_WHAT[kind]}; "
            f"it is not replaced. Choose another {name}."
        )
    if foreign:
        return (
            f"{name} {path}: holds {path / foreign[0]}, which the audit did not write, and the audit replaces "
            f"{name} whole. Move it out of {path}, or choose another {name}."
        )
    return None


def file_problem(name: str, root: Path, file: str, kind: str) -> str | None:
    """Why the audit may not overwrite root/file (one line), or None: it must be absent or listed in
    root's marker (a folder of ``kind`` that the audit adds to file by file, e.g. the releases folder)."""
    path = root / file
    if not path.exists() and not path.is_symlink():
        return None
    body = read_marker(root)
    if body is not None and body["kind"] == kind and file in (body.get("files") or ()):
        return None
    return (
        f"{name} {root}: {file} there was not written by the audit (no {MARKER} lists it), and it would "
        f"be overwritten. Move {path} away (a file of an earlier version's release can be deleted), or "
        f"choose another {name}."
    )
