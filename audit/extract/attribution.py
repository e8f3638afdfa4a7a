"""Attribution: the source of each number and the cue that says so, both as character spans.

For each number, in order: a reporting cue in the same sentence whose scope covers it (explicit; 'X plans
to' only when no report covers it, and recorded as the acting party's); the acting party of a plan, offer
or commitment in the sentence, or a study the sentence names (``attribution_scope``); a source carried
over from a quotation's speaker, a study named earlier or the paragraph's attribution (contextual, see
``attribution_carry``); the publisher as the source (self); a total or difference of attributed numbers
(derived, in ``number_links``). A headline or lede figure is linked to the same figure attributed in the
body. References ('she', 'the agency') are resolved to the entity named earlier (``attribution_context``),
and each carried attribution records why in ``carried_by`` (docs/attribution.md states the convention).
The words and patterns a cue is read with are in ``attribution_words``; this module applies them.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import replace

from audit.extract import attribution_carry as K
from audit.extract import attribution_context as C
from audit.extract import attribution_scope as S
from audit.extract import attribution_words as W
from audit.extract.attribution_context import Cue
from audit.extract.number_fact import NumberFact, evolve
from audit.extract.number_links import derive_and_link
from audit.extract.number_policy import NumberPolicy
from audit.extract.segments import Segment
from audit.extract.sentences import Quotes, split_sentences

_MAX_SOURCE_WORDS = 14


def sentence_cues(text: str, s_start: int, s_end: int) -> list[Cue]:
    """Every reporting cue in one sentence with its source and scope."""
    found: dict[str, list[Cue]] = {"according": [], "verb": [], "passive": [], "possessive": [], "law": []}
    for t in W.TRIGGER.finditer(text, s_start, s_end):
        kind = t.lastgroup or ""
        if kind == "verb" and text[t.end() : t.end() + 3] == " by":
            kind = "passive"  # 'said by X': the verb cue would refuse it; read it as a passive
        cue = _READERS[kind](text, s_start, s_end, t.start(kind) if kind != "passive" else t.start())
        if cue is not None:
            found[kind].append(cue)
    out = [c for cues in found.values() for c in cues]
    if text.find(":", s_start, s_end) >= 0:  # 'Pollsters agree - Carl Bialik: “One of the ...'
        out.extend(
            Cue(m.group(1), m.start(1), m.end(1), m.end(1), m.end(1) + 1, ((m.end(), s_end),), "label")
            for m in W.NAME_COLON_QUOTE.finditer(text, s_start, s_end)
            if m.group(1) not in C.NOT_LABELS
        )
    return out


def _according_cue(text: str, s_start: int, s_end: int, at: int) -> Cue | None:
    """'according to X': X covers the whole sentence."""
    m = W.ACCORDING.match(text, at, s_end)
    src = _np_after(text, m.end(), s_end) if m else None
    if m is None or src is None:
        return None
    return Cue(
        src[2], src[0], src[1], m.start(), m.end() - 1 - (text[m.end() - 1] != " "), ((s_start, s_end),)
    )


def _verb_at(text: str, s_start: int, s_end: int, at: int) -> Cue | None:
    """A reporting verb at ``at``."""
    m = W.VERB.match(text, at, s_end)
    return _verb_cue(text, s_start, s_end, m) if m else None


def _passive_cue(text: str, s_start: int, s_end: int, at: int) -> Cue | None:
    """'announced by X': X covers the whole sentence."""
    m = W.PASSIVE.match(text, at, s_end)
    src = _np_after(text, m.end(), s_end) if m else None
    if m is None or src is None:
        return None
    return Cue(src[2], src[0], src[1], m.start(), m.end() - 4, ((s_start, s_end),), "passive")


def _possessive_cue(text: str, s_start: int, s_end: int, at: int) -> Cue | None:
    """ "X's plan for ...": X covers the next few words."""
    if not W.POSSESSIVE_TAIL.match(text, at, s_end):
        return None  # most "'s" are not 'X's plan/estimate/...'
    name = W.NAME_BEFORE.search(text, max(s_start, at - 80), at)
    m = W.POSSESSIVE.match(text, name.start(), s_end) if name else None
    if m is None or m.end(1) != at:
        return None
    return Cue(m.group(1), m.start(1), m.end(1), m.end(1), m.end(), ((m.end(), m.end() + 30),))


def _law_cue(text: str, s_start: int, s_end: int, at: int) -> Cue | None:
    """'a new law that bans ...': the law is the source of what it sets."""
    m = W.LAW.match(text, at, s_end)
    verb = W.LAW_VERB.match(text, m.end(), s_end) if m else None
    if m is None or verb is None:
        return None
    return Cue(m.group(0), m.start(), m.end(), verb.start(1), verb.end(1), ((m.end(), s_end),))


_READERS = {
    "according": _according_cue,
    "verb": _verb_at,
    "passive": _passive_cue,
    "possessive": _possessive_cue,
    "law": _law_cue,
}


def _verb_cue(text: str, s_start: int, s_end: int, m: re.Match[str]) -> Cue | None:
    """A 'X said' / '..., said X' cue: the subject (or inverted subject) and the span it covers."""
    if text[m.end() : m.end() + 3] == " by" or W.NOUN_USE.search(
        text, max(s_start, m.start() - 16), m.start()
    ):
        return None  # passive ('announced by X', see W.PASSIVE) or a noun ('amid reports')
    if m.group(0) in W.PARTICIPLES:
        return _participle_cue(text, s_start, s_end, m)
    if m.group(0) in W.INTENT and not W.TO_VERB.match(text, m.end(), s_end):
        return None  # 'wants Trump to', 'abandoned plans for': only 'X plans to <verb>' states X's own target
    if m.group(0).endswith("ed") and W.PASSIVE_AUX.search(text, max(s_start, m.start() - 8), m.start()):
        return None  # 'NASA is expected to': not a report
    masked = W.PAREN.sub(lambda p: "x" * len(p.group(0)), text[s_start : m.start()])
    relative = W.RELATIVE_TAIL.search(masked)
    if relative is not None:
        return _relative_cue(text, s_start, s_end, m, s_start + relative.start())
    aux = W.AUX_TAIL.search(masked)  # 'The Rhodium Group, a consulting firm, has calculated'
    core = masked[: aux.start() + 1] if aux else masked
    rel = W.REL_OR_APPOS.search(core)
    left = core[: rel.start()] if rel else core.rstrip()
    if rel is None and (not left or left.endswith(("\u201d", '"', ",", "''"))):
        src = _inverted_source(text, m.end(), s_end)
        if src is None:
            return _appositive_cue(text, s_start, s_end, m, left)
        return Cue(src[2], src[0], src[1], m.start(), m.end(), ((s_start, m.start()),), m.group(0))
    if (
        m.group(0) in W.AMBIGUOUS
        and not W.AMBIG_NEXT.match(text, m.end(), s_end)
        and not W.DOC_BEFORE.search(text, max(s_start, m.start() - 60), m.start())
        and not (
            m.group(0) in W.NAMED_REPORTS
            and W.NAME_JUST_BEFORE.search(text, max(s_start, m.start() - 60), m.start())
        )
    ):
        return None
    b_end, b_kind = s_start, "start"
    for b in W.BOUNDARY.finditer(masked, 0, len(left)):
        b_end, b_kind = s_start + b.end(), b.group(0).lower()
    subj = _subject(text, b_end, s_start + len(left))
    if subj is None:
        return None
    scope = [(m.end(), s_end)]
    coordinate = bool(W.COORDINATE.search(text, max(s_start, subj[0] - 10), subj[0]))
    if coordinate:
        pass  # '..., yet Nissan says it will': a new clause, its cue looks forward only
    elif (b_kind == "start" or b_kind in '\u201d"' or subj[3]) and not W.CONTENT_AFTER.match(
        text, m.end(), s_end
    ):
        scope.append((s_start, subj[0]))  # '..., the agency said.': what comes before is what it said
    elif b_kind == "that":
        scope.append((max(s_start, b_end - 40), b_end))
    return Cue(subj[2], subj[0], subj[1], m.start(), m.end(), tuple(scope), m.group(0))


def _forward_cue(source: tuple[int, int, str], m: re.Match[str], s_end: int) -> Cue:
    """A cue at verb ``m`` for ``source`` (start, end, text) covering what follows the verb."""
    return Cue(source[2], source[0], source[1], m.start(), m.end(), ((m.end(), s_end),), m.group(0))


def _participle_cue(text: str, s_start: int, s_end: int, m: re.Match[str]) -> Cue | None:
    """'Podesta reiterated that approach, saying Clinton was committed to a 50-state strategy': after a
    comma, the participle reports for the sentence's subject (a name or a personal pronoun opening it)."""
    if not W.COMMA_BEFORE.search(text, max(s_start, m.start() - 4), m.start()):
        return None
    named = C.subject_mention(text, s_start, s_end)
    if named is not None and named.end <= m.start():
        return _forward_cue((named.start, named.end, named.name), m, s_end)
    pronoun = W.SUBJECT_PRONOUN.match(text, s_start, s_end)
    return (
        None
        if pronoun is None
        else _forward_cue((pronoun.start(), pronoun.end(), pronoun.group(0)), m, s_end)
    )


def _relative_cue(text: str, s_start: int, s_end: int, m: re.Match[str], comma: int) -> Cue | None:
    """'Clinton, who announced a $275 billion plan', 'said Borges, who predicted': the relative pronoun
    stands for the name (or noun phrase) just before its comma."""
    name = W.NAME_BEFORE.search(text, max(s_start, comma - 80), comma)
    if name is not None:
        subj = _clean_entity(text, name.start(), name.end())
    else:
        subj = _subject(text, s_start, comma)
    return None if subj is None else _forward_cue(subj[:3], m, s_end)


def _appositive_cue(text: str, s_start: int, s_end: int, m: re.Match[str], left: str) -> Cue | None:
    """'Rep. Chris Collins, R-NY, says ...', 'Cement makers, for instance, argue that ...': no source after
    the verb, so the subject is the phrase before the aside set off by commas before it."""
    parts = left.rstrip(" ,").split(",")
    if len(parts) < 2 or len(parts[-1].split()) > W.MAX_ASIDE_WORDS:
        return None
    start = s_start + len(",".join(parts[:-2])) + (1 if len(parts) > 2 else 0)
    subj = _clean_entity(text, start, start + len(parts[-2]))
    if subj is None or any(c.isdigit() for c in subj[2]) or len(subj[2].split()) > W.MAX_ASIDE_WORDS:
        return None
    return _forward_cue(subj[:3], m, s_end)


def _subject(text: str, start: int, end: int) -> tuple[int, int, str, bool] | None:
    """The entity before a reporting verb: (start, end, text, came-after-a-comma)."""
    parts = [(mm.start(), mm.group(0)) for mm in W.NOT_COMMA.finditer(text[start:end]) if mm.group(0).strip()]
    if not parts:
        return None
    off, body = parts[-1]
    return _clean_entity(text, start + off, start + off + len(body), len(parts) > 1)


def _clean_entity(text: str, a: int, b: int, flag: bool = False) -> tuple[int, int, str, bool] | None:
    """Trim an entity span of lead-ins, auxiliaries and document nouns; None if it is not an entity."""
    s = text[a:b]
    for pat in (W.LEAD, W.DOC_PREFIX):
        m = pat.match(s.lstrip())
        if m:
            a += len(s) - len(s.lstrip()) + m.end()
            s = text[a:b]
    for pat in (W.TAIL, W.DOC_SUFFIX):
        m = pat.search(s.rstrip())
        rest = s[: m.start()].strip(" '\"“‘") if m else ""
        if m and rest and rest.lower() not in W.DETS and (pat is W.TAIL or _names_the_work(rest)):
            b = a + m.start()  # 'the agency's data' -> 'the agency'; 'campaign finance records' stays whole
            s = text[a:b]
    lead = len(s) - len(s.lstrip(" '\"“‘"))
    a, b = a + lead, a + len(s.rstrip())
    s = text[a:b]
    if not s or not any(c.isalpha() for c in s) or len(s.split()) > _MAX_SOURCE_WORDS or not _plausible(s):
        return None
    if W.PREPOSITION.match(s) or (s.split()[-1].endswith("ly") and s.split()[-1].islower()):
        return None
    if s[0].isdigit() or s.lower() in W.DETS or s in ("there", "which", "what", "who", "the number"):
        return None
    return a, b, s, flag


def _names_the_work(rest: str) -> bool:
    """True when what comes before a document noun names whose work it is ('the agency' of 'the agency's
    data', 'Labor Department' of 'Labor Department figures'); not when the noun is the phrase's own head
    ('the results of a survey': cut there, the source would read 'the results of a')."""
    last = rest.split()[-1].lower()
    return last not in W.DETS and not W.PREPOSITION.match(last) and _plausible(rest)


def _plausible(name: str) -> bool:
    """True for a phrase that can name a source: a name, a pronoun, a determined noun phrase ('the
    agency', 'some economists') or a short plural ('officials'); not a clause ('they feel that way') nor a
    share of respondents ('Six in 10 voters said', '46 percent said': a poll's result, not its source)."""
    words = name.split()
    # 'More than six', 'Another eight': a count; 'Clinton seems to', 'X -- was not': a clause; 'Nobody',
    # 'is why I', 'The Foundation did not', 'You don't': no party
    if (
        W.SHARE.search(name)
        or W.COUNT_LEAD.match(name)
        or W.INNER_VERB.search(name, len(words[0]))
        or W.NOT_A_PARTY.search(name)
    ):
        return False
    first = words[0].lower()
    if first in W.CLAUSE_WORDS or (
        first in W.PRONOUNS and first not in W.POSSESSIVE_DETS and len(words) > 1 and not name[0].isupper()
    ):
        return False
    verb = S.RESEARCH.search(name) or S.AGENT.search(name)
    if verb and not name.startswith(" by", verb.end()):
        return False  # a clause ('The team looked at data on'), not a name ('analysts surveyed by Refinitiv')
    if any(c.isupper() for c in name) or first in W.OPENING_WORDS or first in W.PRONOUNS or first in W.SELF:
        return True
    return len(words) <= 3 and ((words[-1].endswith("s") and len(words[-1]) > 3) or S.is_party_noun(name))


def _agent_subject(text: str, s_start: int, s_end: int, at: int) -> tuple[int, int, str] | None:
    """The subject of the verb at ``at`` in its own clause ('the city plans to'); None after a noun use
    ("Clinton's support") or for a participle after a comma ('..., promising to'), whose subject is elsewhere."""
    if W.NOUN_USE.search(text, max(s_start, at - 16), at) or W.AFTER_POSSESSIVE_OR_COMMA.search(
        text, max(s_start, at - 4), at
    ):
        return None
    masked = W.PAREN.sub(lambda p: "x" * len(p.group(0)), text[s_start:at])
    b_end = s_start
    for b in W.BOUNDARY.finditer(masked):
        b_end = s_start + b.end()
    subj = _subject(text, b_end, at)
    return None if subj is None else subj[:3]


def _inverted_source(text: str, start: int, end: int) -> tuple[int, int, str, bool] | None:
    """The entity after an inverted cue: '..., said Hickman.'"""
    m = W.INVERTED_SOURCE.match(text, start, end)
    if m is None or len(m.group(1).split()) > 8 or any(c.isdigit() for c in m.group(1)):
        return None  # a long run or one holding a figure is the clause the verb reports, not its speaker
    return _clean_entity(text, m.start(1), m.end(1))


def _np_after(text: str, start: int, end: int) -> tuple[int, int, str, bool] | None:
    """The entity after 'according to', up to the clause's end."""
    m = W.NP_AFTER.match(text, start, end)
    return _clean_entity(text, m.start(1), m.end(1)) if m else None


def attribute(
    text: str, segments: Sequence[Segment], facts: tuple[NumberFact, ...], policy: NumberPolicy
) -> tuple[NumberFact, ...]:
    """Attribute every fact: explicit, contextual, self, then derived and headline links."""
    doc = _Story(text, segments)
    out = [_attribute_one(doc, f, policy) for f in facts]
    return derive_and_link(text, tuple(out), policy)


class _Story:
    """The story's paragraphs, with sentences and cues worked out only where a number needs them.

    Not a dataclass: it memoises per paragraph and per sentence, so a story with few numbers costs little.
    """

    def __init__(self, text: str, segments: Sequence[Segment]) -> None:
        self.text = text
        self.paragraphs = sorted(((s.start, s.end) for s in segments if s.is_main), key=lambda p: p[0])
        self.starts = [a for a, _ in self.paragraphs]
        self.publishers = frozenset(
            text[s.start : s.end].strip().lower() for s in segments if s.kind == "publisher"
        )
        self._sentences: dict[int, list[tuple[int, int]]] = {}
        self._cues: dict[tuple[int, int], list[Cue]] = {}
        self._agents: dict[tuple[int, int], list[Cue]] = {}
        self._quotes: dict[int, Quotes] = {}
        self._has_cue: dict[int, bool] = {}
        self._cued: dict[int, tuple[list[int], list[tuple[tuple[int, int], list[Cue]]]]] = {}
        self._mentions: list[C.Mention] | None = None

    def index(self, pos: int) -> int:
        """Index of the paragraph holding character ``pos`` (-1 when none does)."""
        i = bisect_right(self.starts, pos) - 1
        return i if i >= 0 and pos < self.paragraphs[i][1] else -1

    def sentences(self, i: int) -> list[tuple[int, int]]:
        """Sentence ranges of paragraph i."""
        if i not in self._sentences:
            self._sentences[i] = split_sentences(self.text, *self.paragraphs[i])
        return self._sentences[i]

    def cues(self, sent: tuple[int, int]) -> list[Cue]:
        """Cues of one sentence."""
        if sent not in self._cues:
            self._cues[sent] = sentence_cues(self.text, *sent)
        return self._cues[sent]

    def last_cue(self, i: int) -> Cue | None:
        """The last cue of paragraph i, or its credit line's name."""
        a, b = self.paragraphs[i]
        credit = C.credit_line(self.text, a, b)
        if credit is not None:
            return Cue(credit[2], credit[0], credit[1], a, a + 1, ((a, b),), "credit")
        for sent in reversed(self.sentences(i)):
            if cues := self.cues(sent):
                return max(cues, key=lambda c: c.cue_start)
        return None

    def agents(self, sent: tuple[int, int]) -> list[Cue]:
        """Acting-party cues of one sentence."""
        if sent not in self._agents:
            self._agents[sent] = S.agent_cues(self.text, *sent, _agent_subject)
        return self._agents[sent]

    def quotes(self, i: int) -> Quotes:
        """Where quotations are open in paragraph i."""
        if i not in self._quotes:
            self._quotes[i] = Quotes(self.text, self.paragraphs[i][0], [a for a, _ in self.sentences(i)])
        return self._quotes[i]

    def has_cue(self, i: int) -> bool:
        """True when any sentence of paragraph i has a cue."""
        if i not in self._has_cue:
            self._has_cue[i] = any(self.cues(s) for s in self.sentences(i))
        return self._has_cue[i]

    def cued(self, i: int) -> tuple[list[int], list[tuple[tuple[int, int], list[Cue]]]]:
        """Sentences of paragraph i with cues outside quotations (see ``attribution_carry.cued_sentences``)."""
        if i not in self._cued:
            self._cued[i] = K.cued_sentences(self, i)
        return self._cued[i]

    def mentions(self) -> list[C.Mention]:
        """Named sentence subjects and named cue sources of the whole story, in text order."""
        if self._mentions is None:
            persons = C.people(self.text)
            found: list[C.Mention] = []
            for i in range(len(self.paragraphs)):
                for sent in self.sentences(i):
                    m = C.subject_mention(self.text, *sent)
                    if m is not None:
                        found.append(
                            C.Mention(
                                m.start,
                                m.end,
                                m.name,
                                m.is_person or m.name.split()[-1] in persons,
                                C.could_be_person(m.name),
                            )
                        )
                    for c in self.cues(sent):
                        if c.source.lower() not in W.PRONOUNS:
                            person = bool(C.TITLE.search(c.source)) or c.source.split()[-1] in persons
                            found.append(
                                C.Mention(
                                    c.source_start,
                                    c.source_end,
                                    c.source,
                                    person,
                                    C.could_be_person(c.source),
                                )
                            )
            self._mentions = sorted(found, key=lambda m: m.start)
        return self._mentions


def _attribute_one(doc: _Story, fact: NumberFact, policy: NumberPolicy) -> NumberFact:
    """The best cue for one number, resolved and classified, with why it carries when it is not its own."""
    sent = (fact.sentence_start, fact.sentence_end)
    kind, cue, why = "explicit", _in_scope(doc.text, fact, doc.cues(sent)), ""
    if cue is not None and "quote" in fact.contexts and K.quoted(doc, cue):
        outer = K.contextual(doc, fact, policy.carry_over)  # 'we believe' inside a quote: the speaker's 'we'
        if outer[1] == "quote":
            kind, (cue, why) = "contextual", outer
    if cue is not None and cue.verb in W.INTENT:
        why = "agent"  # 'the city plans to add 300 buses': the party's own plan
        if why not in policy.carry_over:
            cue, why = None, ""
    passing: Cue | None = None
    if cue is None:
        cue = S.agent_cue(fact.start, doc.agents(sent))
        why = "" if cue is None else cue.verb  # 'agent', or 'study' for 'researchers looked at ...'
        if why not in policy.carry_over:
            cue, why = None, ""
        elif cue is not None and not cue.carries:
            passing, cue, why = cue, None, ""  # a poll named in passing: a source carried here comes first
    if cue is None:
        kind, (cue, why) = "contextual", K.contextual(doc, fact, policy.carry_over)
    if cue is None and passing is not None:
        kind, cue, why = "explicit", passing, "study"
    if cue is None:
        return fact
    carried: tuple[str, ...] = (why,) if why else ()
    named = cue
    if "reference" in policy.carry_over:
        named = _resolve(doc, cue)
        if named is not cue:
            carried += ("reference",)
    name = named.source.lower()
    if name in W.SELF or name.removeprefix("the ") in doc.publishers or name in doc.publishers:
        kind = "self"
    return evolve(
        fact,
        attribution_kind=kind,
        source=named.source,
        source_start=cue.source_start,
        source_end=cue.source_end,
        source_named_start=named.source_start,
        source_named_end=named.source_end,
        carried_by=carried,
        cue=doc.text[cue.cue_start : cue.cue_end],
        cue_start=cue.cue_start,
        cue_end=cue.cue_end,
    )


def _in_scope(text: str, fact: NumberFact, cues: list[Cue]) -> Cue | None:
    """The nearest cue whose scope covers the number; an intention ('plans to') only if no report does."""
    best: Cue | None = None
    best_d = 1 << 30
    for cue in cues:
        if not any(a <= fact.start < b for a, b in cue.scope):
            continue
        if cue.source_start <= fact.start < cue.source_end:
            continue
        d = min(abs(fact.start - cue.cue_end), abs(cue.cue_start - fact.end)) + (1 << 20) * (
            cue.verb in W.INTENT
        )
        if (
            cue.verb == "passive"
            and fact.end <= cue.cue_start
            and not W.CLAUSE_BREAK.search(text, fact.end, cue.cue_start)
        ):
            d = 0  # 'the $40 billion ... touted by Trump': a passive agent owns the noun phrase before it
        if d < best_d:
            best, best_d = cue, d
    return best


def _resolve(doc: _Story, cue: Cue) -> Cue:
    """Replace a reference by the entity named earlier: 'it' by the latest organisation subject, 'he'/'she'
    by the latest person, other pronouns by the latest named source; 'the agency' or 'the survey' by the
    latest mention that names an agency or a survey (see ``attribution_context.resolve_nominal``)."""
    pronoun = cue.source.lower()
    if pronoun not in W.PRONOUNS:
        if not C.is_nominal(cue.source):
            return cue  # a name: nothing to resolve, and the story's mentions need not be read
        found = C.resolve_nominal(doc.text, cue.source, cue.source_start, doc.mentions())
    else:
        mentions = doc.mentions()
        found = C.resolve_pronoun(pronoun, cue.source_start, mentions)
        if found is None:
            named = [m for m in mentions if m.start < cue.source_start and m.name.lower() not in W.PRONOUNS]
            found = named[-1] if named else None
    if found is None:
        return cue
    return replace(cue, source=found.name, source_start=found.start, source_end=found.end)
