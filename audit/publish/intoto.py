"""The release's provenance: an in-toto Statement v1 binding every released file to the audit that passed it.

The statement is unsigned JSON; wrap it in a DSSE envelope (e.g. with ``cosign attest-blob``) where a
signature is needed. Layout: https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from audit.publish.croissant import ReleasedFile

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://news-audit.invalid/attestation/audit-verdict/v1"


def provenance_statement(
    files: Sequence[ReleasedFile],
    results: Mapping[str, Any],
    *,
    release: str,
    previous: str | None,
) -> dict[str, Any]:
    """The in-toto Statement: subjects are the released files; the predicate is the audit and its verdict."""
    manifest = results["manifest"]
    return {
        "_type": STATEMENT_TYPE,
        "subject": [
            {"name": f.path, "digest": {"sha256": f.sha256}} for f in sorted(files, key=lambda f: f.path)
        ],
        "predicateType": PREDICATE_TYPE,
        "predicate": audit_predicate(results, manifest, release=release, previous=previous),
    }


def audit_predicate(
    results: Mapping[str, Any], manifest: Mapping[str, Any], *, release: str, previous: str | None
) -> dict[str, Any]:
    """What was audited, with which tool and suites, and what the audit concluded."""
    return {
        "release": {"name": release, "previous": previous},
        "verdict": results["verdict"],
        "summary": results["summary"],
        "tool": manifest["tool"],
        "suites": manifest.get("validated_suites", manifest.get("suites", {})),
        "policy": manifest.get("policy", {}),
        "seeds": [
            {k: s.get(k) for k in ("path", "seed_sha256", "size_bytes", "status", "reason")}
            for s in manifest["seeds"]
        ],
        "tables": {
            name: {"sha256": t["sha256"], "n_rows": t["n_rows"]}
            for name, t in sorted(manifest["tables"].items())
        },
        "run": manifest.get("run", {}),
        "rules": {
            "n_rules": len(results["rules"]),
            "with_findings": [
                {"rule_id": r["rule_id"], "severity": r["severity"], "n_failed": r["n_failed"]}
                for r in results["rules"]
                if not r["passed"]
            ],
            "waived": sum(r["n_waived"] for r in results["rules"]),
        },
    }
