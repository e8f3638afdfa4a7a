"""htmldate's dateparser with locales ruled out by their letters: the same answers, fewer locales compiled."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import htmldate.extractors
import pytest
from dateparser.languages.loader import default_loader

from audit.extract.date_locales import could_apply, is_open_pattern, narrow_htmldate, narrowed

# words no locale reads, in several scripts, that make a date string a full search over every locale
STRAY = ("Текст:", "Κείμενο:", "文字:", "טקסט:", "Teksti:", "متن:", "Автор Ерофеева·")


def _plain() -> Any:
    narrow_htmldate()
    return htmldate.extractors.get_external_parser.original.__wrapped__()  # type: ignore[attr-defined]


def _names(locale: Any, key: str) -> list[str]:
    names = [w for w in locale.info.get(key, []) if w and not w.isdigit()]
    return sorted(names, key=len)[-1:]  # the full name, where the letters are


def _strings() -> list[str]:
    """Dates in every locale's own month and day names, bare and behind a word in another script."""
    out: list[str] = []
    for n, locale in enumerate(default_loader.get_locales()):
        for month, day in itertools.product(_names(locale, "september"), _names(locale, "tuesday")):
            out += [f"24 {month} 2018", f"{day}, 3 {month} 2019 10:00", f"{month} 5, 2017"]
            out.append(f"{STRAY[n % len(STRAY)]} 24 {month} 2018")
    return [*out, "24 сентября 2018 MSK", "November 20 15:23 2019", "xyz 1 2 2019 blah", "2020年3月5日"]


def _answer(parser: Any, text: str) -> tuple[dt.datetime | None, str | None, str]:
    data = parser.get_date_data(text)
    return data.date_obj, data.locale, data.period


@pytest.fixture(scope="module")
def parsers() -> tuple[Any, Any]:
    return _plain(), narrowed(_plain())


def test_narrowed_parser_answers_as_dateparser_does(parsers: tuple[Any, Any]) -> None:
    plain, narrow = parsers
    strings = _strings()
    assert len(strings) > 600
    expected = [_answer(plain, s) for s in strings]
    got = [_answer(narrow, s) for s in strings]
    assert [(s, a, b) for s, a, b in zip(strings, expected, got, strict=True) if a != b] == []
    assert sum(a[0] is not None for a in expected) > 400  # most are dates, some are not


def test_a_cyrillic_string_is_not_tried_in_latin_locales() -> None:
    latin = next(iter(default_loader.get_locales(languages=["de"])))
    cyrillic = next(iter(default_loader.get_locales(languages=["ru"])))
    text = "Текст: Венера Ерофеева·24 сентября 2018"
    assert not could_apply(latin, text)
    assert could_apply(cyrillic, text)
    assert could_apply(latin, "24 September 2018 MSK")  # ASCII letters never rule a locale out
    parser = _plain()
    tried: list[str] = []
    applicable = parser._is_applicable_locale
    parser._is_applicable_locale = lambda loc, *a: tried.append(loc.shortname) or applicable(loc, *a)
    assert narrowed(parser).get_date_data(text).date_obj is None  # no locale reads it
    assert "ru" in tried
    assert "de" not in tried
    assert 0 < len(set(tried)) < 40  # of 205 locales


@pytest.mark.parametrize(
    ("pattern", "is_open"),
    [
        ("(\\d++[.,]?\\d*+) dae gelede", False),
        ("секунд[уы]", False),
        ("\\bat ([01]?\\d|2[0-3])h\\b", False),
        ("(오전|오후)(\\d\\w*)", True),
        ("[а-я]+", True),
        ("(?<=[^\\d]\\s+)час", True),
        ("r.", True),
        ("r\\.", False),
        ("\\u0430", True),
    ],
)
def test_open_patterns(pattern: str, is_open: bool) -> None:
    assert is_open_pattern(pattern) is is_open


def test_htmldate_uses_the_narrowed_parser_once_installed() -> None:
    narrow_htmldate()
    narrow_htmldate()  # a second call changes nothing
    getter = htmldate.extractors.get_external_parser
    assert getter.narrowed  # type: ignore[attr-defined]
    assert not getattr(getter.original, "narrowed", False)  # type: ignore[attr-defined]
    assert getter() is getter()
    found = htmldate.extractors.external_date_parser("24 сентября 2018", "%Y-%m-%d")
    assert found == "2018-09-24"
