"""The number policy: a declarative file saying which numbers need a source, by kind and context."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit.defaults import SCHEMAS_DIR, SUITES_DIR
from audit.errors import ConfigError, pointer
from audit.jsonfile import JsonKind, load_json_file

# why a source named away from a figure's own cue may credit it (see docs/attribution.md); each can be
# switched off in the policy's "carry_over" object
CARRY_KINDS = frozenset({"quote", "paragraph", "study", "reference", "agent"})


def default_policy_path() -> Path:
    """Path of the bundled policy file, ``expectations/number_policy.json``."""
    return SUITES_DIR / "number_policy.json"


def policy_schema_path() -> Path:
    """Path of the JSON Schema every policy file is validated against."""
    return SCHEMAS_DIR / "number_policy.schema.json"


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyRule:
    """One policy rule: numbers of these kinds (and contexts, and value range) do or do not need a source."""

    rule_id: str
    kinds: frozenset[str]
    contexts: frozenset[str]
    min_value: float | None
    max_value: float | None
    requires_attribution: bool
    why: str


@dataclass(frozen=True, slots=True, kw_only=True)
class NumberPolicy:
    """A validated policy: rules tried in order, the fallback, and the thresholds the suite relies on."""

    policy_id: str
    version: int
    description: str
    rules: tuple[PolicyRule, ...]
    default_requires_attribution: bool
    attributed_languages: frozenset[str] = frozenset({"en"})
    large_figure: float = 10000.0
    reconcile_tolerance: float = 0.01
    carry_over: frozenset[str] = CARRY_KINDS
    path: str | None = None

    @classmethod
    def from_dict(cls, raw: dict[str, Any], *, path: str | None = None) -> NumberPolicy:
        """Build a policy from an already schema-validated dict."""
        return cls(
            policy_id=raw["policy_id"],
            version=raw["version"],
            description=raw["description"],
            rules=tuple(_rule_from(r) for r in raw["rules"]),
            default_requires_attribution=raw["default_requires_attribution"],
            attributed_languages=frozenset(raw.get("attributed_languages", ["en"])),
            large_figure=float(raw.get("large_figure", 10000)),
            reconcile_tolerance=float(raw.get("reconcile_tolerance", 0.01)),
            carry_over=frozenset(k for k in CARRY_KINDS if raw.get("carry_over", {}).get(k, True)),
            path=path,
        )


def _rule_from(raw: dict[str, Any]) -> PolicyRule:
    """One rule from its JSON object."""
    return PolicyRule(
        rule_id=raw["rule_id"],
        kinds=frozenset(raw["kinds"]),
        contexts=frozenset(raw.get("contexts", ())),
        min_value=raw.get("min_value"),
        max_value=raw.get("max_value"),
        requires_attribution=raw["requires_attribution"],
        why=raw["why"],
    )


def load_policy(path: Path) -> NumberPolicy:
    """Read and validate a policy file; a bad file raises ConfigError naming the file, place and fix."""
    kind = JsonKind(
        what="number policy",
        schema=policy_schema_path(),
        missing_fix=f"Check the path, or omit it to use {default_policy_path()}.",
    )
    raw = load_json_file(path, kind)
    _check_unique_ids(path, raw)
    return NumberPolicy.from_dict(raw, path=str(path))


def _check_unique_ids(path: Path, raw: dict[str, Any]) -> None:
    """Rule ids are reported per number, so two rules must not share one."""
    seen: set[str] = set()
    for i, rule in enumerate(raw["rules"]):
        if rule["rule_id"] in seen:
            raise ConfigError.at(
                path,
                pointer(("rules", i, "rule_id")),
                f"'{rule['rule_id']}' is used twice",
                "Give every rule its own rule_id.",
            )
        seen.add(rule["rule_id"])


def decide(
    policy: NumberPolicy, kind: str, contexts: frozenset[str], value: float | None
) -> tuple[bool, str]:
    """Whether a number of this kind and context needs a source, and the id of the rule that said so."""
    for rule in policy.rules:
        if kind not in rule.kinds or (rule.contexts and not rule.contexts & contexts):
            continue
        if rule.min_value is not None and (value is None or value < rule.min_value):
            continue
        if rule.max_value is not None and (value is None or value > rule.max_value):
            continue
        return rule.requires_attribution, rule.rule_id
    return policy.default_requires_attribution, "default"
