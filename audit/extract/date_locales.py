"""htmldate's dateparser, with a cheap test that rules a locale out before dateparser compiles it.

htmldate reads a date string it cannot parse itself ('24 сентября 2018, 10:00') with a dateparser parser
that knows no language, so dateparser tries every locale in turn and asks each whether it can read the
string. Asking compiles that locale's patterns: the first such string in a process costs about 1.6 s,
most of it spent on 200 locales that could never read a Cyrillic string.

A locale can read a string only if every letter of the string is a letter the locale knows: dateparser
accepts a token as a number, as a word of the locale's dictionary or as a match of the locale's patterns,
and all of those come from the locale's data. So before dateparser's own test, a locale is ruled out when
the string (as dateparser sees it: decomposed, accents dropped, lower case) holds a non-ASCII letter that
appears nowhere in the locale's data. ASCII letters never rule a locale out (time zone names and
dateparser's own tokens are ASCII and valid in every locale), and neither does anything in a locale that
translates letters (Arabic, Persian) or whose patterns match letters they do not spell out (``\\w``, a
range, a dot). The answers are dateparser's: only locales that would have said no are skipped
(tests/test_date_locales.py compares both parsers on every locale's month and day names).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterator
from typing import Any

# a pattern that can match a letter it does not spell out: a class escape, a code point escape, a
# negated class, a range of letters in a class, or a dot outside a class
_OPEN_ESCAPE = re.compile(r"\\[wWSDpPXNuUx]")
_CLASS = re.compile(r"\[(\^?)((?:\\.|[^\]\\])*)\]")
_ESCAPED = re.compile(r"\\.")
_RANGE = re.compile(r"(.)-(.)")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _fold(text: str) -> str:
    """The text as dateparser compares it with NORMALIZE on: decomposed, marks dropped, lower case."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn").lower()


def is_open_pattern(pattern: str) -> bool:
    """Whether a pattern of a locale's data could match a letter that it does not spell out."""
    if _OPEN_ESCAPE.search(pattern):
        return True
    for negated, body in _CLASS.findall(pattern):
        if negated or any(a.isalpha() or b.isalpha() for a, b in _RANGE.findall(_ESCAPED.sub("", body))):
            return True
    return "." in _ESCAPED.sub("", _CLASS.sub("", pattern))


def _known_letters(info: Any, translates: bool) -> frozenset[str] | None:
    """Every non-ASCII letter the locale's data spells, or None when the locale could read any letter."""
    if translates:
        return None
    patterns = [*_strings([next(iter(s)) for s in info.get("simplifications", ())])]
    if any(is_open_pattern(p) for p in [*patterns, *_strings(info.get("relative-type-regex", {}))]):
        return None
    text = "\n".join(_strings(info))
    return frozenset(c for c in {*text.lower(), *_fold(text)} if c.isalpha() and not c.isascii())


# by the identity of a locale's data (dateparser builds each locale once per process), kept with the data
_LETTERS: dict[int, tuple[Any, frozenset[str] | None]] = {}


def could_apply(locale: Any, date_string: str) -> bool:
    """False only when the locale cannot read the string: it holds a non-ASCII letter the locale lacks."""
    wanted = {c for c in _fold(date_string) if c.isalpha() and not c.isascii()}
    if not wanted:
        return True
    info = locale.info
    entry = _LETTERS.get(id(info))
    if entry is None or entry[0] is not info:
        entry = (info, _known_letters(info, bool(getattr(locale, "_translates_letters", True))))
        _LETTERS[id(info)] = entry
    known = entry[1]
    return known is None or wanted <= known


def narrowed(parser: Any) -> Any:
    """The dateparser parser, asking `could_apply` before its own (costly) test of each locale."""
    if not parser._settings.NORMALIZE:  # the letters compared are the normalised ones
        return parser
    applicable: Callable[..., bool] = parser._is_applicable_locale

    def is_applicable_locale(locale: Any, date_string: str, ignore_surrounding_text: bool = False) -> bool:
        return could_apply(locale, date_string) and applicable(locale, date_string, ignore_surrounding_text)

    parser._is_applicable_locale = is_applicable_locale
    return parser


def narrow_htmldate() -> None:
    """Make htmldate's external parser ask `could_apply` first (once per process; htmldate stays lazy)."""
    import htmldate.extractors as extractors

    original = extractors.get_external_parser
    if getattr(original, "narrowed", False):
        return

    @functools.cache
    def get_external_parser() -> Any:
        return narrowed(original())

    get_external_parser.narrowed = True  # type: ignore[attr-defined]
    get_external_parser.original = original  # type: ignore[attr-defined]
    extractors.get_external_parser = get_external_parser
