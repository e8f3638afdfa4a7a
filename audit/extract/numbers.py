"""Number detection: every figure in the main story, with its value, unit, qualifier and kind.

Attribution (who says so) is added by ``audit.extract.attribution``; which numbers need a source is
the policy's call (``audit.extract.number_policy``).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from audit.extract import number_patterns as P
from audit.extract.attribution import attribute
from audit.extract.number_fact import NumberFact, evolve
from audit.extract.number_policy import NumberPolicy, decide, default_policy_path, load_policy
from audit.extract.offsets import Ranges
from audit.extract.segments import Segment
from audit.extract.sentences import Quotes, split_sentences

__all__ = [
    "NumberPolicy",
    "default_policy_path",
    "detect_numbers",
    "find_numbers",
    "load_policy",
]


_CAPITAL_NEXT = re.compile(r"\s+[A-Z]")
_WORD_SEP = re.compile(r"[\s-]+")
_ALL_DIGITS = re.compile(r"\d+")
_BETWEEN = re.compile(r"\bbetween\s+$", re.I)
_SPACES = re.compile(r"\s+")
_LAST_TOKEN = re.compile(r"([\w.]+)\s+$")


@dataclass(frozen=True, slots=True)
class _Atom:
    """A single numeral as matched, before ranges are joined."""

    start: int
    end: int
    value: float | None
    kind: str
    unit: str | None


def find_numbers(
    text: str,
    segments: Sequence[Segment],
    *,
    language: str | None = "en",
    policy: NumberPolicy,
    exclude: Sequence[tuple[int, int]] = (),
) -> tuple[NumberFact, ...]:
    """Detect every number in the main-story segments and attribute those the policy says need a source."""
    facts = detect_numbers(text, segments, language=language, policy=policy, exclude=exclude)
    assessed = language is None or language.split("-")[0].lower() in policy.attributed_languages
    if not assessed:
        return tuple(evolve(f, attribution_kind="not-assessed") for f in facts)
    return attribute(text, segments, facts, policy)


def detect_numbers(
    text: str,
    segments: Sequence[Segment],
    *,
    language: str | None = "en",
    policy: NumberPolicy,
    exclude: Sequence[tuple[int, int]] = (),
) -> tuple[NumberFact, ...]:
    """Detect numbers (no attribution yet), each with its sentence and the policy's verdict."""
    english = language is None or language.lower().startswith("en")
    main = sorted(
        (s for s in segments if s.is_main and 0 <= s.start < s.end <= len(text)), key=lambda s: s.start
    )
    facts: list[NumberFact] = []
    lede_seen = False
    low = text.lower()
    excluded = Ranges(exclude)
    for seg in main:
        contexts_seg = {seg.kind} if seg.kind in ("title", "caption") else set()
        if seg.kind == "body" and not lede_seen:
            contexts_seg.add("lede")
            lede_seen = True
        atoms = _atoms(text, low, seg, english)
        if not atoms:
            continue
        guarded = Ranges(_guarded(text, seg, atoms))
        atoms = [
            a for a in atoms if not (excluded.overlaps(a.start, a.end) or guarded.overlaps(a.start, a.end))
        ]
        sentences = split_sentences(text, seg.start, seg.end)
        starts = [a for a, _ in sentences]
        quotes = Quotes(text, seg.start, starts)
        for start, end, value, vmax, kind, unit in _join_ranges(text, atoms):
            qualifier = _qualifier(text, start, seg.start)
            s_start, s_end = _sentence_of(sentences, starts, start, (seg.start, seg.end))
            contexts = frozenset(contexts_seg | _contexts(text, start, end, (s_start, s_end), quotes, value))
            needs, rule = decide(policy, kind, contexts, value)
            facts.append(
                NumberFact(
                    start=start,
                    end=end,
                    text=text[start:end],
                    value=value,
                    value_max=vmax,
                    unit=unit,
                    qualifier=qualifier,
                    kind=kind,
                    sentence_start=s_start,
                    sentence_end=s_end,
                    block_kind=seg.kind,
                    requires_attribution=needs,
                    policy_rule=rule,
                    contexts=contexts,
                )
            )
    return tuple(facts)


def _sentence_of(
    sentences: Sequence[tuple[int, int]], starts: Sequence[int], at: int, default: tuple[int, int]
) -> tuple[int, int]:
    """The sentence (in order, not overlapping) holding offset ``at``, or default; by bisection."""
    i = bisect.bisect_right(starts, at) - 1
    if i >= 0 and sentences[i][0] <= at < sentences[i][1]:
        return sentences[i]
    return default


_DATE_REACH = 64  # characters past a numeral a date holding it can end (no date is 30 characters long)


def _guarded(text: str, seg: Segment, atoms: list[_Atom]) -> list[tuple[int, int]]:
    """Ranges no number may overlap: calendar dates, URLs, e-mail addresses, hashtags and handles."""
    out: list[tuple[int, int]] = []
    done = seg.start
    for a in atoms:  # a date holds digits, so look for one only around numerals (no date is 30 chars long)
        if a.end <= done or not any(c.isdigit() for c in text[a.start : a.end]):
            continue
        # the window ends well past any date that starts before the numeral ends: searching to the end of
        # the segment instead costs a scan of the rest of it per numeral (quadratic on long segments)
        for m in P.DATE.finditer(text, max(done, a.start - 30), min(seg.end, a.end + _DATE_REACH)):
            if m.start() >= a.end:
                break
            out.append(m.span())
            done = m.end()
    if any(marker in text[seg.start : seg.end] for marker in P.URL_MARKERS):  # the URL pattern is slow
        out += [m.span() for m in P.URLISH.finditer(text, seg.start, seg.end)]
    return out


def _atoms(text: str, low: str, seg: Segment, english: bool) -> list[_Atom]:
    """Every single numeral in the segment, with value, kind and unit; a time of day is a date part."""
    atoms = []
    for m in _number_matches(text, low, seg):
        if m.re is P.TIME:
            atoms.append(_Atom(m.start(), m.end(), None, "date-part", None))
        elif (atom := _atom(text, m, english)) is not None:
            atoms.append(atom)
    return atoms


def _number_matches(text: str, low: str, seg: Segment) -> Iterator[re.Match[str]]:
    """``P.TIME`` and ``P.NUMBER`` matches in the segment, the pattern tried only where a number can start."""
    done = seg.start
    candidates = P.CANDIDATE if len(low) == len(text) else P.CANDIDATE_ANY_CASE
    source = low if len(low) == len(text) else text
    for c in candidates.finditer(source, seg.start, seg.end):
        at = c.start()
        if at < done:
            continue
        time = P.TIME.match(text, at, seg.end) if source[at].isdigit() else None
        for start in _starts(text, low, at, done) if time is None else ():
            m = P.NUMBER.match(text, start, seg.end)
            if m is not None:
                time = _time_inside(text, m, seg.end)  # '9.30 A.M.': the time pattern wins, as it always did
                if time is None:
                    done = m.end()
                    yield m
                break
        if time is not None:
            done = time.end()
            yield time


def _time_inside(text: str, m: re.Match[str], end: int) -> re.Match[str] | None:
    """A time of day starting at a digit run inside a number match."""
    for i in range(m.start() + 1, m.end()):
        if text[i].isdigit() and not text[i - 1].isalnum() and (time := P.TIME.match(text, i, end)):
            return time
    return None


def _starts(text: str, low: str, at: int, floor: int) -> list[int]:
    """Where a match reaching a candidate at ``at`` can begin: a currency sign, 'a ' before it, or ``at``."""
    cur = P.CURRENCY_BEFORE.search(text, max(floor, at - 6), at)
    starts = [cur.start()] if cur is not None else []
    if at - 2 >= floor and low[at - 2 : at] in ("a ", "a-"):
        starts.append(at - 2)
    starts.append(at)
    return starts


def _atom(text: str, m: re.Match[str], english: bool) -> _Atom | None:
    """Read one regex match into an atom; None when it is a label, a pronoun or part of a word."""
    num, glued = m["num"], m["glued"] or ""
    is_digit = num[0].isdigit()
    if not is_digit and not english:
        return None
    start, end = m.start(), m.end()
    before = text[max(0, start - 40) : start]
    if is_digit and (before[-1:].isalpha() or (before[-2:-1].isalpha() and before[-1:] in "-/")):
        return None  # A380, COVID-19, H1N1: a label with digits in it
    if end < len(text) and text[end].isalnum():
        return None  # 3D, 5Gs: digits inside a word
    if glued == "G" or (glued.lower() in ("s",) and not (len(num) == 4 and num.endswith("0"))):
        return None  # 5G, 3s
    if num.lower() == "one" and _pronoun_one(text, start, end):
        return None
    if num[0].isupper() and not is_digit and _in_name(text, start, end):
        return None  # 'One Home Depot', 'Four Seasons': a number word inside a name
    value = _value(m)
    kind, unit = _kind(text, m, value, before)
    return _Atom(start, end, value, kind, unit)


def _in_name(text: str, start: int, end: int) -> bool:
    """True for a capitalised number word mid-sentence followed by a capitalised word."""
    before = text[max(0, start - 3) : start].rstrip(" \"“‘'(")
    mid_sentence = bool(before) and before[-1] not in ".!?:\n"
    return mid_sentence and bool(_CAPITAL_NEXT.match(text, end, end + 3))


def _pronoun_one(text: str, start: int, end: int) -> bool:
    """True for 'one' used as a pronoun ('no one', 'one of the', 'one another')."""
    nxt = P.NEXT_WORD.match(text, end)
    if P.ONE_SKIP_BEFORE.search(text[max(0, start - 20) : start]):
        return True
    if text[end : end + 1] in (",", ".", ";", ":", "?", "!", "") or nxt is None:
        return True
    return text[end : end + 8].lower().startswith((" of", " another", " or ", " and ")) or (
        nxt.group(1).lower() in P.ONE_SKIP_AFTER
    )


def _value(m: re.Match[str]) -> float | None:
    """The normalised value of a match: magnitudes applied, percentages as given (12% -> 12.0)."""
    num = m["num"].lower()
    mag = (m["mag"] or "").strip().lower()
    value: float | None
    if num[0].isdigit():
        value = float(num.replace(",", ""))
    elif num.startswith(("hundreds", "thousands", "millions", "billions", "tens", "dozens")):
        return None
    elif num.startswith("half of"):
        return 0.5
    else:
        value = _word_value(num)
    if value is not None and mag and not _is_metres(m):
        value *= P.MAGNITUDES.get(mag, 1.0)
    return value


def _is_metres(m: re.Match[str]) -> bool:
    """A lower-case 'm' glued to a number without a currency is metres ('100m'), not millions."""
    return m["mag"] == "m" and not m["cur"]


def _word_value(words: str) -> float | None:
    """Value of a number phrase in words: 'two hundred thousand' -> 200000, 'two-thirds' -> 0.667."""
    parts = [w for w in _WORD_SEP.split(words) if w and w != "and"]
    if len(parts) == 2 and parts[1] in P.FRACTIONS:
        return P.WORD_VALUES.get(parts[0], 1.0) * P.FRACTIONS[parts[1]]
    if parts[:1] == ["half"]:
        return 0.5 * P.WORD_VALUES.get(parts[-1], 1.0)
    total, current = 0.0, 0.0
    for w in parts:
        v = P.WORD_VALUES.get(w)
        if v is None:
            return None
        if w == "hundred" or w == "dozen":
            current = max(current, 1.0) * v
        elif v >= 1000:
            total += max(current, 1.0) * v
            current = 0.0
        else:
            current += v
    return total + current


def _kind(text: str, m: re.Match[str], value: float | None, before: str) -> tuple[str, str | None]:
    """The kind of a number and its unit or counted noun."""
    num, glued = m["num"], (m["glued"] or "")
    nxt = P.NEXT_WORD.match(text, m.end())
    word = nxt.group(1) if nxt and nxt.group(1).lower() not in P.NOT_UNITS else None
    unit = glued.lower() or ("m" if _is_metres(m) else None) or word
    head = (unit or "").lower().split("-")[0].rstrip("'’")
    if m["pct"]:
        return "percent", "percent"
    if m["cur"] or m["cursuf"]:
        return "money", (m["cur"] or m["cursuf"] or "").strip()
    if glued.lower() in ("st", "nd", "rd", "th"):
        return "ordinal", None
    if num.isdigit() and len(num) == 4 and glued.lower() == "s":
        return "year", None
    if (
        ("ag" in before[-12:].lower() and P.AGE_BEFORE.search(before))
        or P.AGE_AFTER.match(text, m.end())
        or (text[m.end() : m.end() + 1] == "," and before[-2:-1] == "," and P.NAME_COMMA.search(before))
    ):
        return "age", "years"
    if head in P.DURATION_UNITS:
        return "duration", unit
    if head in P.MEASURE_UNITS or glued:
        return "measure", unit
    last = _LAST_TOKEN.search(before, max(0, len(before) - 24))
    if (
        _ALL_DIGITS.fullmatch(num)
        and last
        and last.group(1) in P.ID_LAST_WORDS
        and P.ID_BEFORE.search(before)
    ):
        return "identifier", None
    if _is_year(num, value, before, head):
        return "year", None
    if (
        num.lower().replace("-", " ").split()[0] in ("two", "three", "four", "a")
        and num.lower().endswith(tuple(P.FRACTIONS))
    ) or num.lower().startswith("half of"):
        return "fraction", unit
    return "count", unit


def _is_year(num: str, value: float | None, before: str, head: str) -> bool:
    """A bare four-digit number from 1800 to 2099 that is not followed by a counted plural noun."""
    if not (len(num) == 4 and num.isdigit() and value is not None and 1800 <= value <= 2099):
        return False
    return bool(P.YEAR_BEFORE.search(before)) or not (head.endswith("s") and head.isalpha())


def _join_ranges(
    text: str, atoms: list[_Atom]
) -> list[tuple[int, int, float | None, float | None, str, str | None]]:
    """Join 'between 10 and 20', '10-20', '10 to 20' and 'two or three' into one number with a maximum."""
    out: list[tuple[int, int, float | None, float | None, str, str | None]] = []
    i = 0
    while i < len(atoms):
        a = atoms[i]
        b = atoms[i + 1] if i + 1 < len(atoms) else None
        if (
            b is not None
            and text[a.end : b.start] in ("/", "-")
            and a.value is not None
            and b.value is not None
            and (text[a.end] == "/" or b.value < a.value)
        ):
            # 7/32 or 1-1/2 is one fraction, 2022/23 a season, 787-9 a model number
            slash = text[a.end] == "/" and b.value > a.value
            kind = "fraction" if slash else ("year" if a.kind == "year" else "identifier")
            out.append((a.start, b.end, a.value / b.value if slash else a.value, None, kind, None))
            i += 2
            continue
        if b is not None and _is_range(text, a, b):
            kind = b.kind if a.kind == "count" else a.kind
            out.append((a.start, b.end, a.value, b.value, kind, b.unit))
            i += 2
            continue
        out.append((a.start, a.end, a.value, None, a.kind, a.unit))
        i += 1
    return out


def _is_range(text: str, a: _Atom, b: _Atom) -> bool:
    """True when two neighbouring atoms form one range."""
    join = text[a.end : b.start]
    if not P.RANGE_JOIN.fullmatch(join) or a.value is None or b.value is None or b.value <= a.value:
        return False
    if a.kind in ("year", "date-part", "identifier", "ordinal") or b.kind in ("identifier", "ordinal"):
        return False
    word = join.strip().lower()
    before = text[max(0, a.start - 30) : a.start]
    if word == "and":
        return bool(_BETWEEN.search(before))
    if word == "to":
        return not P.CHANGE_VERB.search(before)
    return True


def _qualifier(text: str, start: int, floor: int) -> str | None:
    """The qualifier right before a number ('more than', 'up to', 'between', ...), lower-cased."""
    last = _LAST_TOKEN.search(text, max(floor, start - 16), start)
    if last is None or last.group(1).lower() not in P.QUALIFIER_LAST_WORDS:
        return None
    m = P.QUALIFIER.search(text, max(floor, start - 30), start)
    if m is None or m.end() != start:
        return None
    return _SPACES.sub(" ", m.group(0).strip().lower())


def _contexts(
    text: str, start: int, end: int, sentence: tuple[int, int], quotes: Quotes, value: float | None
) -> set[str]:
    """Contexts the policy may condition on: penalty, vague, quote (a quotation open at the number, opened
    in its sentence or earlier in its paragraph)."""
    s_start, s_end = sentence
    out: set[str] = set()
    near = text[max(s_start, start - 30) : min(s_end, end + 30)].lower()
    if any(w in near for w in P.PENALTY_STEMS) and P.PENALTY.search(
        text, max(s_start, start - 30), min(s_end, end + 30)
    ):
        out.add("penalty")
    if value is None:
        out.add("vague")
    if quotes.open_at(start):
        out.add("quote")
    return out
