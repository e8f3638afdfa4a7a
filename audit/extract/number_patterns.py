"""Precompiled patterns for number detection: numerals, number words, units, qualifiers and date guards."""

from __future__ import annotations

import re

_UNITS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    "sixteen|seventeen|eighteen|nineteen"
)
_TENS = "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
_CARD = rf"(?:(?:{_TENS})(?:[- ](?:{_UNITS}))?|{_UNITS})"
_SCALE = "hundred|thousand|million|billion|trillion"
_WORDNUM = (
    rf"(?:(?:{_CARD}|a)(?:[- ](?:{_SCALE}))+(?:(?:\s+and)?[- ]{_CARD})?"
    rf"|half\s+a\s+(?:million|billion|dozen)|(?:a|one|two|three|four|five|six)\s+dozen|dozens"
    rf"|{_CARD}|dozen)"
)
_VAGUE = (
    r"(?:tens\s+of\s+(?:thousands|millions|billions)|(?:hundreds|thousands|millions|billions)"
    r"(?:\s+of\s+(?:thousands|millions|billions))?)"
)
_FRACTION = (
    r"(?:(?:one|two|three|four|a)[- ](?:third|thirds|quarter|quarters|fifth|fifths)(?=\s+of\b)"
    r"|(?:two|three|four)-(?:thirds|quarters|fifths)|half\s+of(?=\s))"
)
_DIGITS = r"(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
_CUR_PRE = r"(?:US\$|U\.S\.\s?\$|C\$|A\$|AU\$|NZ\$|HK\$|S\$|R\$|Rs\.?\s?|[$£€¥₹₩])"
_MAG = r"(?:\s?(?:million|billion|trillion|thousand|bn|mn|tn)\b|[kKmMbB](?![\w]))"
_PCT = r"(?:\s?%|\s(?:percent|per\s+cent|percentage\s+points?|pct)\b)"
_CUR_SUF = r"(?:\s(?:dollars|euros|yen|yuan|rupees|pesos|won|francs|cents|pounds\s+sterling|USD|EUR|GBP)\b)"
_GLUED = (
    r"(?:st|nd|rd|th|s|km|kg|mm|cm|mi|mph|kph|lbs?|oz|ft|gb|tb|mb|ghz|mhz|hz|mah|kw|kwh|mw|gw|gwh|"
    r"twh|fps|p|x|hrs?|mins?|g|m|w|v)(?![\w])"
)

# A time of day is a date part; a calendar date is the date analyser's and is never emitted.
TIME = re.compile(r"\b\d{1,2}(?::\d{2})?\s?(?:[ap]\.m\.|[ap]m\b)|\b\d{1,2}:\d{2}\b", re.I)
_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
DATE = re.compile(
    rf"\b{_MONTH}\s\d{{1,2}}(?:st|nd|rd|th)?\b(?:,?\s\d{{4}}\b)?"
    rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s(?:of\s)?{_MONTH}(?:,?\s\d{{4}}\b)?"
    rf"|\b{_MONTH},?\s\d{{4}}\b|\b\d{{4}}-\d{{2}}-\d{{2}}\b|\b\d{{1,2}}/\d{{1,2}}/\d{{2,4}}\b"
)
URLISH = re.compile(
    r"\bhttps?://\S+|\bwww\.\S+|\S+@\S+\.\w+|(?<![\w])[#@]\w+|\b10\.\d{4,}/\S+|\b\S+\.com/\S+"
)

NUMBER = re.compile(
    rf"(?P<cur>{_CUR_PRE})?(?P<num>(?<![\d.]){_DIGITS}(?!\d|[.,]\d)|(?<![\w-])(?:{_VAGUE}|{_FRACTION}|{_WORDNUM})(?!\w))"
    rf"(?P<mag>{_MAG})?(?P<glued>{_GLUED})?(?P<plus>\+)?(?P<pct>{_PCT})?(?P<cursuf>{_CUR_SUF})?",
    re.I,
)
# Where a number can start: a digit or a number word (on lower-cased text, so no re.I in the hot loop). A
# NUMBER match starts at one of these, at a currency sign just before it, or at the 'a ' of 'a dozen'.
_STARTS = (
    rf"{_UNITS}|{_TENS}|hundred|hundreds|thousand|thousands|million|millions|billion|billions|trillion|"
    r"tens|dozen|dozens|half|third|thirds|quarter|quarters|fifth|fifths"
)


def word_trie(words: list[str]) -> str:
    """A regex alternation of words as a trie ('tw(?:elve|enty|o)'): the engine tries far fewer branches."""
    tree: dict[str, dict] = {}  # type: ignore[type-arg]
    for w in words:
        node = tree
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict) -> str:  # type: ignore[type-arg]
        alts = [re.escape(ch) + emit(sub) for ch, sub in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if "" in node else body

    return emit(tree)


_FIRST = "".join(sorted({w[0] for w in _STARTS.split("|")}))
CANDIDATE = re.compile(rf"\d+|\b(?=[{_FIRST}]){word_trie(_STARTS.split('|'))}\b")
CANDIDATE_ANY_CASE = re.compile(
    rf"\d+|\b(?=[{_FIRST}{_FIRST.upper()}]){word_trie(_STARTS.split('|'))}\b", re.I
)
CURRENCY_BEFORE = re.compile(rf"{_CUR_PRE}$", re.I)
URL_MARKERS = ("/", "www.", "@", "#")
QUALIFIER = re.compile(
    r"(?:\b(?:more|fewer|less|greater|higher|lower)\s+than|\bat\s+(?:least|most)|\bup\s+to|\bas\s+"
    r"(?:many|much|few|little|high|low)\s+as|\bnearly|\balmost|\babout|\baround|\bapproximately|\broughly"
    r"|\bsome|\bover|\bunder|\bclose\s+to|\bupwards\s+of|\ban\s+estimated|\bestimated|\bbelow|\babove"
    r"|\bbetween|\bjust\s+(?:over|under)|\ba\s+total\s+of|\ban\s+average\s+of|\bonly|\bexactly|\balmost)\s+$",
    re.I,
)
# the last word of every QUALIFIER alternative, and stems every PENALTY word contains: cheap tests first
QUALIFIER_LAST_WORDS = frozenset(
    [
        "than",
        "least",
        "most",
        "to",
        "as",
        "nearly",
        "almost",
        "about",
        "around",
        "approximately",
        "roughly",
        "some",
        "over",
        "under",
        "of",
        "estimated",
        "below",
        "above",
        "between",
        "only",
        "exactly",
    ]
)
PENALTY_STEMS = ("prison", "jail", "sentenc", "fine", "penalt", "punish")
RANGE_JOIN = re.compile(r"\s?(?:-|–|—|to)\s?|\s(?:and|or)\s", re.I)
CHANGE_VERB = re.compile(
    r"\b(?:rose|rise|rises|fell|falls|fall|up|down|increased|decreased|climbed|jumped|dropped|grew|slipped|"
    r"gained|lost|declined|risen|fallen|surged|plunged|soared|slid|from)\s+$",
    re.I,
)
# `[\s-]++`: what follows never starts with a blank or a hyphen, so the run is never given back
NEXT_WORD = re.compile(
    r"[\s-]++(?:of\s+)?(?:(?:the|these|those|its|their|more|new|other|additional|extra)\s+)?"
    r"([A-Za-z][A-Za-z'’-]*)"
)
AGE_BEFORE = re.compile(r"(?:\baged?|\bages)\s+$", re.I)
NAME_COMMA = re.compile(r"[A-Z][a-z]+,\s$")
AGE_AFTER = re.compile(r"(?:-|\s)years?[- ]old\b", re.I)
PENALTY = re.compile(
    r"\b(?:prison|jail|sentenced?|sentences|imprison\w*|fined?|fines|penalt\w+|punish\w*)\b", re.I
)
YEAR_BEFORE = re.compile(
    r"\b(?:in|since|by|of|from|until|till|before|after|during|through|to|and|the|mid|"
    r"early|late|year|between|for|fiscal|season)\s+$|[(\u2019']\s*$",
    re.I,
)

WORD_VALUES = {
    **{w: float(i) for i, w in enumerate(_UNITS.split("|"), start=1)},
    **{w: float(10 * i) for i, w in enumerate(_TENS.split("|"), start=2)},
    "a": 1.0,
    "dozen": 12.0,
    "hundred": 100.0,
    "thousand": 1e3,
    "million": 1e6,
    "billion": 1e9,
    "trillion": 1e12,
}
MAGNITUDES = {
    "thousand": 1e3,
    "million": 1e6,
    "billion": 1e9,
    "trillion": 1e12,
    "bn": 1e9,
    "mn": 1e6,
    "tn": 1e12,
    "k": 1e3,
    "m": 1e6,
    "b": 1e9,
}
FRACTIONS = {
    "half": 0.5,
    "third": 1 / 3,
    "thirds": 1 / 3,
    "quarter": 0.25,
    "quarters": 0.25,
    "fifth": 0.2,
    "fifths": 0.2,
}
DURATION_UNITS = frozenset(
    [
        "second",
        "seconds",
        "minute",
        "minutes",
        "hour",
        "hours",
        "day",
        "days",
        "week",
        "weeks",
        "month",
        "months",
        "year",
        "years",
        "decade",
        "decades",
        "century",
        "centuries",
        "hrs",
        "hr",
        "mins",
        "min",
        "yr",
        "yrs",
        "night",
        "nights",
    ]
)
MEASURE_UNITS = frozenset(
    [
        "mile",
        "miles",
        "km",
        "kilometer",
        "kilometers",
        "kilometre",
        "kilometres",
        "meter",
        "meters",
        "metre",
        "metres",
        "foot",
        "feet",
        "ft",
        "inch",
        "inches",
        "yard",
        "yards",
        "acre",
        "acres",
        "hectare",
        "hectares",
        "square",
        "degree",
        "degrees",
        "pound",
        "pounds",
        "lb",
        "lbs",
        "ton",
        "tons",
        "tonne",
        "tonnes",
        "kilogram",
        "kilograms",
        "kg",
        "gram",
        "grams",
        "g",
        "ounce",
        "ounces",
        "oz",
        "liter",
        "liters",
        "litre",
        "litres",
        "gallon",
        "gallons",
        "barrel",
        "barrels",
        "mph",
        "kph",
        "mw",
        "megawatts",
        "megawatt",
        "gw",
        "gigawatt",
        "gigawatts",
        "kw",
        "kilowatt",
        "kilowatts",
        "kwh",
        "gwh",
        "twh",
        "watts",
        "watt",
        "volts",
        "gb",
        "tb",
        "mb",
        "ghz",
        "mhz",
        "hz",
        "mah",
        "fps",
        "p",
        "x",
        "points",
        "point",
        "calories",
        "m",
        "mm",
        "cm",
        "mi",
        "w",
        "v",
    ]
)
ONE_SKIP_AFTER = frozenset(
    [
        "of",
        "another",
        "or",
        "and",
        "that",
        "who",
        "which",
        "is",
        "was",
        "has",
        "had",
        "will",
        "would",
        "can",
        "could",
        "to",
        "in",
        "on",
        "at",
        "for",
        "by",
        "another's",
        "more",
        "thing",
    ]
)
ONE_SKIP_BEFORE = re.compile(
    r"\b(?:no|any|every|each|the|this|that|which|someone|anyone|everyone|only)\s+$", re.I
)
_ID_WORDS = (
    r"No\.|Nos\.|Number|Section|Article|Chapter|Route|Highway|Interstate|Flight|Game|Week|Stage|Level|"
    r"Room|Suite|Episode|Season|Vol\.|Volume|Part|Title|Model|Series|iPhone|iPad|Windows|Pixel|Galaxy|Xbox|"
    r"PlayStation|Boeing|Airbus|Formula|Phase|Gen|version|Version|Apollo|Proposition|Prop\.|District|"
    r"Station|Terminal|Gate|Platform|Pier|Lot|Unit|Box|Ward|Precinct|Street|Avenue|Road|Exit|Channel|"
    r"Act|Rule|Catch|Type|Class|Category|COVID|Covid|G|P|Mark|MacBook\s+Pro|Watch|iOS|macOS|Android|"
    r"Euro|World\s+Cup|Super\s+Bowl|Top|Fortune|Ryzen|Core"
)
ID_BEFORE = re.compile(rf"\b(?:{_ID_WORDS})\s+$")
# the last word of every ID_BEFORE alternative: a cheap test before the pattern's search
ID_LAST_WORDS = frozenset(
    alt.split(r"\s+")[-1].replace("\\", "") for alt in _ID_WORDS.replace("\n", "").split("|")
)
NOT_UNITS = frozenset(
    [
        "that",
        "have",
        "has",
        "had",
        "were",
        "was",
        "are",
        "is",
        "of",
        "in",
        "to",
        "and",
        "or",
        "the",
        "a",
        "an",
        "who",
        "which",
        "said",
        "says",
        "will",
        "would",
        "could",
        "can",
        "may",
        "might",
        "should",
        "be",
        "been",
        "being",
        "than",
        "as",
        "at",
        "by",
        "for",
        "from",
        "on",
        "with",
        "this",
        "these",
        "those",
        "it",
        "its",
        "their",
        "there",
    ]
)
