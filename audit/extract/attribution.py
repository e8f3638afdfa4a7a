"""Attribution: the source of each number and the cue that says so, both as character spans.

Rules, tried in order for each number: a reporting cue in the same sentence whose scope covers the number
(explicit), a cue in an earlier sentence of the same paragraph or the speaker of the quote the number sits in
(contextual); the publisher as the source (self); a total or difference of attributed numbers (derived, in
``number_links``). A headline or lede figure is linked to the same figure attributed in the body.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from audit.extract import number_patterns as P
from audit.extract.number_policy import NumberPolicy
from audit.extract.numbers import NumberFact
from audit.extract.segments import Segment

_VERBS = (r"said|says|say|told|tells|reported|reports|estimated|estimates|announced|announces|found|finds|"
          r"showed|shows|show|stated|states|noted|notes|added|adds|wrote|writes|confirmed|confirms|claimed|"
          r"claims|predicted|predicts|projected|projects|forecast|forecasts|calculated|counted|recorded|"
          r"revealed|reveals|disclosed|indicated|indicates|suggested|suggests|explained|estimate|announced|"
          r"acknowledged|testified|tweeted|posted|warned|put\s+the\s+(?:figure|number|toll|total)\s+at")
_VERB = re.compile(rf"\b(?:{_VERBS})\b")
_ACCORDING = re.compile(r"\b[Aa]ccording\s+to\s+")
_POSSESSIVE = re.compile(
    r"\b((?:[A-Z][\w.-]*\s+){0,4}[A-Z][\w.-]*)['’]s\s+(?:call|plan|order|pledge|promise|target|goal|decree|"
    r"proposal|estimate|estimates|forecast|figures|data|count|tally|announcement|report|survey|study|analysis|"
    r"projection|budget|offer|bid)\s+(?:for|of|that|shows|showed|found|puts|put)?\b")
_LAW = re.compile(r"\b(?:a|the)\s+(?:new\s+)?(?:law|bill|decree|statute|regulation|ordinance)\b"
                  r"(?:\s+(?:signed|passed|approved|introduced)\s+by\s+[^,;.]+?)?(?=\s+(?:that|which)\b)")
_LAW_VERB = re.compile(r"\s+(?:that|which)\s+(\w+)")
_BOUNDARY = re.compile(r"[;:—–“”\"]|\b(?:that|which|who|but|while|after|because|as|when|if|though|although|"
                       r"where|whom|since|and\s+(?=[a-z]))\b")
_DOC_PREFIX = re.compile(
    r"^.*?\b(?:search|study|survey|report|analysis|poll|review|data|figures|statistics|estimates?|count|tally|"
    r"investigation|research|numbers|census|statement|records|audit|assessment|filing)\s+"
    r"(?:(?:released|published|compiled|conducted|carried\s+out|issued|commissioned)\s+)?(?:by|from|of)\s+",
    re.I)
_DOC_SUFFIX = re.compile(r"(?:['’]s)?\s+(?:data|figures|statistics|numbers|estimates|report|survey|study|"
                         r"analysis|records|research|poll)$")
_LEAD = re.compile(r"^(?:(?:and|but|so|yet|also|meanwhile|however|now|then)\s+)+", re.I)
_TAIL = re.compile(r"(?:\s+(?:has|have|had|also|previously|earlier|recently|later|then|had\s+been|would|will|"
                   r"last\s+\w+|on\s+\w+day|this\s+\w+|in\s+a\s+(?:statement|report|release))\b)+$", re.I)
_APPOSITIVE = re.compile(r"^(?:the|a|an|his|her|its|their)\s+[a-z]")
_NAME = re.compile(r"^(?:[A-Z][\w.'’-]*\s*)+$")
_NOT_NAME = re.compile(r"^(?:On|In|Last|This|Earlier|Later|At|By|For|Since|After|Before|During|Meanwhile|"
                       r"However|Still|Yet|Also|Then|Now|Today|Yesterday|Monday|Tuesday|Wednesday|Thursday|"
                       r"Friday|Saturday|Sunday)\b")
_INVERTED_SOURCE = re.compile(r"\s+((?:[^,.;:\"“”()]|\.(?=\w))+?)(?=\s*[,.;:\"“”()]|\s*$)")
_NP_AFTER = re.compile(r"((?:[^,;:\"“”()]|\.(?=\w|\s[a-z])|(?<=\b[A-Z])\.)+?)(?=\s*[,;:\"“”()]|\.\s|\.$|$|"
                       r"\s+(?:that|which|who|on\s+\w+day|in\s+(?:a|its|their)\s+\w+|as\s+of|since)\b)")
# 'there are reports of', 'amid reports that': the verb is a noun here
_NOUN_USE = re.compile(r"\b(?:are|were|is|was|of|the|a|an|amid|with|new|and|these|those|recent|many|some|no|"
                       r"its|their|his|her|our|by|in|to|for)\s+$", re.I)
_PRONOUNS = frozenset({"he", "she", "they", "it", "him", "her", "them", "this", "that"})
_SELF = frozenset({"we", "our", "us"})
_MAX_SOURCE_WORDS = 14


@dataclass(frozen=True, slots=True)
class Cue:
    """A reporting cue in a sentence: the source entity, the cue words, and the character ranges it covers."""

    source: str
    source_start: int
    source_end: int
    cue_start: int
    cue_end: int
    scope: tuple[tuple[int, int], ...]


def split_sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence ranges [start, end) of text[start:end], not splitting after common abbreviations."""
    out: list[tuple[int, int]] = []
    s = start
    for m in P.SENTENCE_END.finditer(text, start, end):
        word = re.search(r"([\w.]+)[.!?]*$", text[max(s, m.start() - 12):m.start() + 1])
        w = word.group(1).lower().rstrip(".") if word else ""
        if text[m.start()] == "." and (w in P.ABBREVIATIONS or len(w) == 1):
            continue
        out.append((s, m.start() + len(m.group(0).rstrip())))
        s = m.end()
    if s < end:
        out.append((s, end))
    return out


def sentence_cues(text: str, s_start: int, s_end: int) -> list[Cue]:
    """Every reporting cue in one sentence with its source and scope."""
    cues: list[Cue] = []
    for m in _ACCORDING.finditer(text, s_start, s_end):
        src = _np_after(text, m.end(), s_end)
        if src:
            cues.append(Cue(src[2], src[0], src[1], m.start(), m.end() - 1 - (text[m.end() - 1] != " "),
                            ((s_start, s_end),)))
    for m in _VERB.finditer(text, s_start, s_end):
        cue = _verb_cue(text, s_start, s_end, m)
        if cue is not None:
            cues.append(cue)
    for m in _POSSESSIVE.finditer(text, s_start, s_end):
        cues.append(Cue(m.group(1), m.start(1), m.end(1), m.end(1), m.end(), ((m.end(), m.end() + 30),)))
    for m in _LAW.finditer(text, s_start, s_end):
        verb = _LAW_VERB.match(text, m.end(), s_end)
        if verb:
            cues.append(Cue(m.group(0), m.start(), m.end(), verb.start(1), verb.end(1), ((m.end(), s_end),)))
    return cues


def _verb_cue(text: str, s_start: int, s_end: int, m: re.Match[str]) -> Cue | None:
    """A 'X said' / '..., said X' cue: the subject (or inverted subject) and the span it covers."""
    left = text[s_start:m.start()].rstrip()
    if not left or left.endswith(("\u201d", '"')) or (left.endswith(",") and not _has_appositive(left[:-1])):
        src = _inverted_source(text, m.end(), s_end)
        if src is None:
            return None
        return Cue(src[2], src[0], src[1], m.start(), m.end(), ((s_start, m.start()),))
    b_end, b_kind = s_start, "start"
    for b in _BOUNDARY.finditer(text, s_start, m.start()):
        b_end, b_kind = b.end(), b.group(0)
    subj = _subject(text, b_end, m.start())
    if subj is None or _NOUN_USE.search(text, max(s_start, m.start() - 12), m.start()):
        return None
    scope = [(m.end(), s_end)]
    if b_kind in (",", "start") or b_kind in "\u201d\"" or subj[3]:
        scope.append((s_start, subj[0]))
    elif b_kind == "that":
        scope.append((max(s_start, b_end - 40), b_end))
    return Cue(subj[2], subj[0], subj[1], m.start(), m.end(), tuple(scope))


def _has_appositive(left: str) -> bool:
    """True when text ends 'Name, the job title' (so a following ', told' is not an inverted cue)."""
    parts = [p.strip() for p in left.split(",")]
    return len(parts) >= 2 and bool(_APPOSITIVE.match(parts[-1])) and bool(_NAME.match(parts[-2]))


def _subject(text: str, start: int, end: int) -> tuple[int, int, str, bool] | None:
    """The entity before a reporting verb: (start, end, text, came-after-a-comma)."""
    chunk = text[start:end]
    parts = [(mm.start(), mm.group(0)) for mm in re.finditer(r"[^,]+", chunk)]
    parts = [(o, t) for o, t in parts if t.strip()]
    if not parts:
        return None
    off, body = parts[-1]
    after_comma = len(parts) > 1
    if len(parts) > 1 and _APPOSITIVE.match(body.strip()):
        prev_off, prev = parts[-2]
        if _NAME.match(prev.strip()) and not _NOT_NAME.match(prev.strip()):
            off, body = prev_off, prev
    return _clean_entity(text, start + off, start + off + len(body), after_comma)


def _clean_entity(text: str, a: int, b: int, flag: bool = False) -> tuple[int, int, str, bool] | None:
    """Trim an entity span of lead-ins, auxiliaries and document nouns; None if it is not an entity."""
    s = text[a:b]
    for pat in (_LEAD, _DOC_PREFIX):
        m = pat.match(s.lstrip())
        if m:
            a += len(s) - len(s.lstrip()) + m.end()
            s = text[a:b]
    for pat in (_TAIL, _DOC_SUFFIX):
        m = pat.search(s.rstrip())
        if m:
            b = a + m.start()
            s = text[a:b]
    lead = len(s) - len(s.lstrip())
    a, b = a + lead, a + len(s.rstrip())
    s = text[a:b]
    if not s or not any(c.isalpha() for c in s) or len(s.split()) > _MAX_SOURCE_WORDS:
        return None
    if s[0].isdigit() or s.lower() in ("there", "which", "what", "who", "reports", "the number"):
        return None
    return a, b, s, flag


def _inverted_source(text: str, start: int, end: int) -> tuple[int, int, str, bool] | None:
    """The entity after an inverted cue: '..., said Hickman.'"""
    m = _INVERTED_SOURCE.match(text, start, end)
    return _clean_entity(text, m.start(1), m.end(1)) if m else None


def _np_after(text: str, start: int, end: int) -> tuple[int, int, str, bool] | None:
    """The entity after 'according to', up to the clause's end."""
    m = _NP_AFTER.match(text, start, end)
    return _clean_entity(text, m.start(1), m.end(1)) if m else None


def attribute(
    text: str, segments: Sequence[Segment], facts: tuple[NumberFact, ...], policy: NumberPolicy
) -> tuple[NumberFact, ...]:
    """Attribute every fact: explicit, contextual, self, then derived and headline links."""
    from audit.extract.number_links import derive_and_link

    publishers = _publishers(text, segments)
    cache: dict[tuple[int, int], list[Cue]] = {}
    history: list[Cue] = []
    out: list[NumberFact] = []
    main = [s for s in segments if s.is_main]
    for fact in facts:
        seg = next((s for s in main if s.start <= fact.start < s.end), None)
        out.append(_attribute_one(text, fact, seg, cache, history, publishers))
    return derive_and_link(text, tuple(out), policy)


def _publishers(text: str, segments: Sequence[Segment]) -> frozenset[str]:
    """Names the publisher goes by on the page, lower-cased, for recognising self-attribution."""
    return frozenset(text[s.start:s.end].strip().lower() for s in segments if s.kind == "publisher")


def _cues_for(text: str, s: tuple[int, int], cache: dict[tuple[int, int], list[Cue]]) -> list[Cue]:
    """Cues of a sentence, computed once."""
    if s not in cache:
        cache[s] = sentence_cues(text, *s)
    return cache[s]


def _attribute_one(
    text: str, fact: NumberFact, seg: Segment | None, cache: dict[tuple[int, int], list[Cue]],
    history: list[Cue], publishers: frozenset[str],
) -> NumberFact:
    """The best cue for one number, resolved and classified."""
    sent = (fact.sentence_start, fact.sentence_end)
    kind, cue = "explicit", _in_scope(fact, _cues_for(text, sent, cache))
    if cue is None and seg is not None:
        kind, cue = "contextual", _contextual(text, fact, seg, cache)
    if cue is None:
        return fact
    cue = _resolve(cue, history)
    if cue.source.lower() not in _PRONOUNS:
        history.append(cue)
    if cue.source.lower() in _SELF or cue.source.lower().removeprefix("the ") in publishers:
        kind = "self"
    return replace(fact, attribution_kind=kind, source=cue.source, source_start=cue.source_start,
                   source_end=cue.source_end, cue=text[cue.cue_start:cue.cue_end], cue_start=cue.cue_start,
                   cue_end=cue.cue_end)


def _in_scope(fact: NumberFact, cues: list[Cue]) -> Cue | None:
    """The nearest cue whose scope covers the number."""
    best: Cue | None = None
    best_d = 1 << 30
    for cue in cues:
        if not any(a <= fact.start < b for a, b in cue.scope):
            continue
        if cue.source_start <= fact.start < cue.source_end:
            continue
        d = min(abs(fact.start - cue.cue_end), abs(cue.cue_start - fact.end))
        if d < best_d:
            best, best_d = cue, d
    return best


def _contextual(
    text: str, fact: NumberFact, seg: Segment, cache: dict[tuple[int, int], list[Cue]]
) -> Cue | None:
    """A cue carried from an earlier sentence of the paragraph, or the speaker of the quote around it."""
    sentences = split_sentences(text, seg.start, seg.end)
    earlier = [s for s in sentences if s[1] <= fact.sentence_start]
    for s in reversed(earlier):
        cues = _cues_for(text, s, cache)
        if cues:
            return max(cues, key=lambda c: c.cue_start)
    if "quote" in fact.contexts:
        for s in sentences:
            if s[0] >= fact.sentence_end and (cues := _cues_for(text, s, cache)):
                return min(cues, key=lambda c: c.cue_start)
    return None


def _resolve(cue: Cue, history: list[Cue]) -> Cue:
    """Replace a pronoun source ('he said') by the latest named source before it."""
    if cue.source.lower() not in _PRONOUNS:
        return cue
    for prev in reversed(history):
        if prev.source_start < cue.source_start:
            return replace(cue, source=prev.source, source_start=prev.source_start, source_end=prev.source_end)
    return cue
