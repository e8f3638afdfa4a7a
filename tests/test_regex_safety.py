"""Regular expressions: no pattern the package compiles backtracks super-linearly on adversarial text.

The patterns are enumerated by running the package (``tests/regex_census.py``), so f-strings, joined word
lists and patterns compiled inside functions are all found. For every repeated part of a pattern, the test
builds the text that leads to it, repeats the part (its branches drawn by hypothesis) thousands of times and
ends it with a character that breaks the match, the shape that makes a backtracking engine go exponential
(``(?:<!--.*?-->\\s*)*`` over 40 empty comments ran for hours). Two bounds:

- ``match`` from the start of a ``MATCH_CHARS`` text (the package matches at a position): linear, so fast;
- ``search`` over a ``SEARCH_CHARS`` text: Python's engine tries every start, so a pattern that opens with
  ``\\s+`` is quadratic there; cubic or exponential blows the bound.

Every seed's processing also runs under ``--seed-timeout``: a pattern this misses stops one seed, not the run.
"""

from __future__ import annotations

import functools
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from re import _constants as C  # type: ignore[attr-defined]
from re import _parser as P  # type: ignore[attr-defined]
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT

MATCH_CHARS = 4_000
SEARCH_CHARS = 1_000
LIMIT_S = 0.25  # linear work on 4,000 characters takes well under a millisecond
# linear, but with a constant of up to 200 steps per character: a lazy part bounded to 200 characters whose
# lookahead rescans the blanks after it (at most 200 times); allowed four times the limit, and not searched
# (the package only matches them at a position: a search would be 200 times quadratic)
_LAZY_BOUNDED = ("{1,200}?",)
_TAILS = ("", "!", "\x00", "\n", " ", "a")
_PROBES = "a5 .,-'\"\n<>!A_é:/()@#"
_CATEGORY = {
    C.CATEGORY_DIGIT: "5",
    C.CATEGORY_NOT_DIGIT: "a",
    C.CATEGORY_SPACE: " ",
    C.CATEGORY_NOT_SPACE: "a",
    C.CATEGORY_WORD: "a",
    C.CATEGORY_NOT_WORD: " ",
}


@functools.cache
def census() -> tuple[tuple[str, int, bool, str], ...]:
    """Every (pattern, flags, is_bytes, where) the package compiles, found in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GX_ANALYTICS_ENABLED": "false"}
    out = subprocess.run(
        [sys.executable, "-m", "tests.regex_census"], cwd=ROOT, env=env, capture_output=True, check=True
    )
    return tuple(tuple(p) for p in json.loads(out.stdout))  # type: ignore[misc]


class _Slow(Exception):
    """A match ran past the hard stop."""


def _timed(call: Any, text: Any, limit: float = LIMIT_S) -> float:
    """Seconds one call takes (the least of three tries when over ``limit``: the machine may be busy)."""
    took = _timed_once(call, text)
    for _ in range(2):
        if took < limit:
            break
        took = min(took, _timed_once(call, text))
    return took


def _timed_once(call: Any, text: Any) -> float:
    """Seconds one call takes, stopped (and reported as over any limit) after 20 times LIMIT_S."""

    def stop(signum: int, frame: object) -> None:
        raise _Slow

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, LIMIT_S * 20)
    started = time.perf_counter()
    try:
        call(text)
    except _Slow:
        return LIMIT_S * 20
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return time.perf_counter() - started


def sample(items: Any, rnd: random.Random, depth: int = 0) -> str:
    """A text the parsed items match (best effort), branches and class members drawn from ``rnd``."""
    return "".join(_one(op, av, rnd, depth) for op, av in items)


def _one(op: Any, av: Any, rnd: random.Random, depth: int) -> str:
    if op is C.LITERAL:
        return chr(av)
    if op is C.NOT_LITERAL:
        return next(c for c in _PROBES if ord(c) != av)
    if op is C.ANY:
        return rnd.choice("a .")
    if op is C.IN:
        return _member(av, rnd)
    if op is C.BRANCH:
        return sample(rnd.choice(av[1]), rnd, depth)
    if op is C.SUBPATTERN:
        return sample(av[-1], rnd, depth)
    if op is C.ATOMIC_GROUP:
        return sample(av, rnd, depth)
    if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
        low, high, item = av
        n = min(3, low) if low else int(depth < 3 and rnd.random() < 0.7)
        return "".join(sample(item, rnd, depth + 1) for _ in range(min(n, high)))
    if op is C.GROUPREF_EXISTS:
        return sample(av[1], rnd, depth)
    return ""  # anchors, lookarounds, group references: no text of their own


def _member(av: Any, rnd: random.Random) -> str:
    if any(o is C.NEGATE for o, _ in av):
        return next((c for c in _PROBES if not _in_class(av, c)), "\x01")
    op, arg = rnd.choice([x for x in av if x[0] is not C.NEGATE])
    if op is C.LITERAL:
        return chr(arg)
    if op is C.RANGE:
        return chr(rnd.randint(arg[0], arg[1]))
    return _CATEGORY.get(arg, "a") if op is C.CATEGORY else "a"


def _in_class(av: Any, c: str) -> bool:
    tests = {
        C.CATEGORY_DIGIT: c.isdigit(),
        C.CATEGORY_NOT_DIGIT: not c.isdigit(),
        C.CATEGORY_SPACE: c.isspace(),
        C.CATEGORY_NOT_SPACE: not c.isspace(),
        C.CATEGORY_WORD: c.isalnum() or c == "_",
        C.CATEGORY_NOT_WORD: not (c.isalnum() or c == "_"),
    }
    for op, arg in av:
        if (op is C.LITERAL and ord(c) == arg) or (op is C.RANGE and arg[0] <= ord(c) <= arg[1]):
            return True
        if op is C.CATEGORY and tests.get(arg, False):
            return True
    return False


def repeats(items: Any, rnd: random.Random, before: str = "") -> Iterator[tuple[str, Any]]:
    """(a text leading up to it, its repeated item) for every part of the pattern that may repeat."""
    for i, (op, av) in enumerate(items):
        lead = before + sample(items[:i], rnd)
        if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            if av[1] > 1:
                yield lead, av[2]
            yield from repeats(av[2], rnd, lead)
        elif op is C.SUBPATTERN:
            yield from repeats(av[-1], rnd, lead)
        elif op is C.ATOMIC_GROUP:
            yield from repeats(av, rnd, lead)
        elif op is C.BRANCH:
            for branch in av[1]:
                yield from repeats(branch, rnd, lead)
        elif op in (C.ASSERT, C.ASSERT_NOT):
            yield from repeats(av[1], rnd, lead)


def adversarial(pattern: str, flags: int, rnd: random.Random, length: int) -> Iterator[str]:
    """Texts that lead into each repeated part, repeat it (one drawn form, or three alternating) to about
    ``length`` characters and end with a character that may break the match."""
    for lead, item in repeats(list(P.parse(pattern, flags)), rnd):
        forms = [sample(item, rnd) or "a" for _ in range(3)]
        for unit in (forms[0], "".join(forms)):
            body = lead + unit * max(1, length // len(unit))
            yield from (body + tail for tail in _TAILS)


def _compiled(pattern: str, flags: int, is_bytes: bool) -> re.Pattern[Any]:
    return re.compile(pattern.encode("latin-1") if is_bytes else pattern, flags)


def _as_input(text: str, is_bytes: bool) -> Any:
    return text.encode("utf-8", "surrogatepass") if is_bytes else text


def test_the_census_finds_the_package_patterns() -> None:
    """The census sees patterns of every module that compiles them, the sniffing and date patterns among them."""
    where = {w.rsplit(":", 1)[0] for *_, w in census()}
    assert {"audit/ingest.py", "audit/extract/date_patterns.py", "audit/extract/attribution_words.py"} <= where
    assert len(census()) > 100


def _ids() -> list[str]:
    return [w for *_, w in census()]


@pytest.mark.parametrize("index", range(len(census())), ids=_ids())
@settings(
    max_examples=4,
    deadline=None,
    # adversarial texts are long on purpose
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example],
)
@given(rnd=st.randoms(use_true_random=False))
def test_no_pattern_backtracks_super_linearly(index: int, rnd: random.Random) -> None:
    """Regression: matching a pattern at the start of adversarial text is linear in its length, and searching
    it (every start) no worse than quadratic: each takes well under LIMIT_S."""
    pattern, flags, is_bytes, where = census()[index]
    compiled = _compiled(pattern, flags, is_bytes)
    lazy = any(part in pattern for part in _LAZY_BOUNDED)
    limit = LIMIT_S * (4 if lazy else 1)
    for text in adversarial(pattern, flags, rnd, MATCH_CHARS):
        took = _timed(compiled.match, _as_input(text, is_bytes), limit)
        assert took < limit, f"{where}: match took {took:.2f} s on {text[:40]!r}… ({len(text)} chars)"
    for text in () if lazy else adversarial(pattern, flags, rnd, SEARCH_CHARS):
        took = _timed(compiled.search, _as_input(text, is_bytes), limit)
        assert took < limit, f"{where}: search took {took:.2f} s on {text[:40]!r}… ({len(text)} chars)"


def test_the_old_sniffing_pattern_is_caught() -> None:
    """The adversarial texts find the exponential backtracking of the HTML sniffing pattern this replaced."""
    old = r"\A(?:\xef\xbb\xbf)?\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b"
    compiled = re.compile(old.encode("latin-1"), re.I | re.S)
    texts = adversarial(old, re.I | re.S, random.Random(0), 300)
    assert any(_timed_once(compiled.match, t.encode()) >= LIMIT_S for t in texts)
