"""Numbers that come from other numbers: derived totals and differences, and headline/lede links."""

from __future__ import annotations

import re
from bisect import bisect_right
from itertools import combinations

from audit.extract.number_fact import NumberFact, evolve
from audit.extract.number_policy import NumberPolicy

_ATTRIBUTED = frozenset({"explicit", "contextual", "self"})
_LINKABLE = _ATTRIBUTED | {"derived"}
_SUMMABLE = frozenset({"count", "money", "measure"})
_MAX_CANDIDATES = 12
_MAX_PARTS = 5
_MIN_TOTAL = 1000.0  # small totals match sums of small numbers by chance
_MATCH_SLACK = 0.03  # a total within 3% of a sum of figures is taken as derived from them


def derive_and_link(text: str, facts: tuple[NumberFact, ...], policy: NumberPolicy) -> tuple[NumberFact, ...]:
    """Mark unattributed totals and differences of attributed figures as derived, then link headline figures."""
    out = list(facts)
    for i, fact in enumerate(facts):
        if (
            fact.attribution_kind == "none"
            and fact.requires_attribution
            and fact.kind in _SUMMABLE
            and (_is_totalling(text, fact))
        ):
            found = _derivation(i, facts, policy)
            if found is not None:
                parts, ok = found
                out[i] = evolve(fact, attribution_kind="derived", component_indices=parts, reconciles=ok)
    return _link(tuple(out))


_TOTAL_CUE = re.compile(
    r"\b(?:total|in all|altogether|combined|overall|sum|net|difference|more than the)\b", re.I
)


def _is_totalling(text: str, fact: NumberFact) -> bool:
    """Only a headline or lede figure, or one whose sentence speaks of a total, is tried as derived."""
    return (
        fact.block_kind == "title"
        or "lede" in fact.contexts
        or bool(_TOTAL_CUE.search(text, fact.sentence_start, fact.sentence_end))
    )


def _derivation(
    i: int, facts: tuple[NumberFact, ...], policy: NumberPolicy
) -> tuple[tuple[int, ...], bool] | None:
    """Components whose sum (or difference) best matches fact i, and whether it reconciles."""
    total = facts[i]
    if total.value is None or total.value < _MIN_TOTAL:
        return None
    pool = [
        j
        for j, f in enumerate(facts)
        if j != i
        and f.attribution_kind in _ATTRIBUTED
        and f.kind == total.kind
        and f.value is not None
        and 0 < f.value < total.value
        and f.block_kind != "title"
    ][:_MAX_CANDIDATES]
    best: tuple[float, tuple[int, ...]] | None = None
    for n in range(2, min(_MAX_PARTS, len(pool)) + 1):
        for combo in combinations(pool, n):
            err = _rel_err(sum(_v(facts[j]) for j in combo), total.value)
            if err <= _MATCH_SLACK and (best is None or err < best[0]):
                best = (err, combo)
    big = [
        j
        for j, f in enumerate(facts)
        if j != i
        and f.attribution_kind in _ATTRIBUTED
        and f.kind == total.kind
        and f.value is not None
        and f.value > total.value
    ]
    for a in big:
        for b in pool:
            err = _rel_err(_v(facts[a]) - _v(facts[b]), total.value)
            if err <= _MATCH_SLACK and (best is None or err < best[0]):
                best = (err, (a, b))
    if best is None:
        return None
    return best[1], best[0] <= policy.reconcile_tolerance


def _v(fact: NumberFact) -> float:
    """The value of a fact known to have one."""
    return fact.value if fact.value is not None else 0.0


def _rel_err(got: float, want: float) -> float:
    """Relative difference of got from want."""
    return abs(got - want) / want


def _link(facts: tuple[NumberFact, ...]) -> tuple[NumberFact, ...]:
    """Link each headline or lede figure to the same figure attributed later in the body.

    A headline figure links to the first such body figure; a lede figure to the first one after it
    outside the lede, found by bisection (a lede of thousands of equal figures was quadratic).
    """
    out = list(facts)
    first: dict[tuple[float, str], int] = {}  # attributed body figures by value and kind: the first
    later: dict[tuple[float, str], tuple[list[int], list[int]]] = {}  # outside the lede: starts, indices
    for j, other in enumerate(facts):
        if other.value is None or other.block_kind != "body" or other.attribution_kind not in _LINKABLE:
            continue
        key = (other.value, other.kind)
        first.setdefault(key, j)
        if "lede" not in other.contexts:
            starts, indices = later.setdefault(key, ([], []))
            starts.append(other.start)
            indices.append(j)
    for i, fact in enumerate(facts):
        if fact.value is None or not fact.requires_attribution:
            continue
        key = (fact.value, fact.kind)
        if fact.block_kind == "title":
            j = first.get(key, -1)
        elif "lede" in fact.contexts:
            starts, indices = later.get(key, ([], []))
            at = bisect_right(starts, fact.start)
            j = indices[at] if at < len(indices) else -1
        else:
            continue
        if j >= 0:
            out[i] = _linked(out[i], j, out[j])
    return tuple(out)


def _linked(fact: NumberFact, j: int, body: NumberFact) -> NumberFact:
    """The headline fact with its link set and, if it had none, the body figure's attribution."""
    if fact.attribution_kind != "none":
        return evolve(fact, linked_index=j)
    return evolve(
        fact,
        linked_index=j,
        attribution_kind=body.attribution_kind,
        source=body.source,
        source_start=body.source_start,
        source_end=body.source_end,
        cue=body.cue,
        cue_start=body.cue_start,
        cue_end=body.cue_end,
        carried_by=body.carried_by,
        source_named_start=body.source_named_start,
        source_named_end=body.source_named_end,
        component_indices=body.component_indices,
        reconciles=body.reconciles,
    )
