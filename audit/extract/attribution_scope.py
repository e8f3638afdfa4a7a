"""Attribution by scope: the acting party of a plan or commitment, and a study that later figures summarise.

- **agent**: a figure in an action, plan, offer or commitment the sentence attributes to a party is that
  party's ('Lakeside agreed to pay $4 million', 'the city plans to add 300 buses'). The party must be named,
  a pronoun, or an organisation noun ('the city'); a figure the reporter narrates with no party stays
  unsourced.
- **study**: once the article names a body of work as its source ('a Pew survey found', 'in the new
  Post-ABC poll', 'researchers analysed 12,000 records'), the figures of the following sentences and
  paragraphs belong to it until another source is named or the story leaves it (see ``study_source``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from audit.extract import attribution_words as W
from audit.extract import number_patterns as P
from audit.extract.attribution_context import Cue

_AGENT_WORDS = [
    *(
        f"{stem}{end}"
        for stem in ("propos", "pledg", "promis", "urg", "oppos", "endors", "approv", "introduc")
        for end in ("e", "es", "ed", "ing")
    ),
    *(
        f"{stem}{end}"
        for stem in ("offer", "vow", "demand", "ask", "support", "favor", "unveil")
        for end in ("", "s", "ed", "ing")
    ),
    "backs",
    "backed",
    "backing",
    "budgeted",
    "seek",
    "seeks",
    "sought",
    "seeking",
    "allocated",
    "earmarked",
]
_AGENT_TO = [
    "agree",
    "agrees",
    "agreed",
    "plan",
    "plans",
    "planned",
    "planning",
    "commit",
    "commits",
    "committed",
    "aim",
    "aims",
    "aimed",
    "intend",
    "intends",
    "intended",
    "hope",
    "hopes",
    "hoped",
    "hoping",
    "want",
    "wants",
    "wanted",
    "vote",
    "votes",
    "voted",
    "voting",
]
_AGENT_FOR = [
    "call",
    "calls",
    "called",
    "calling",
    "push",
    "pushes",
    "pushed",
    "pushing",
    "vote",
    "votes",
    "voted",
    "voting",
]
AGENT = re.compile(
    rf"\b(?:{P.word_trie(_AGENT_WORDS)}|(?:{P.word_trie(_AGENT_TO)})\s+to|(?:{P.word_trie(_AGENT_FOR)})\s+"
    r"(?:for|against))\b"
)
# a party: a capitalised name, a pronoun, or an organisation noun ('the city', 'the company')
_PARTY_NOUN = re.compile(
    r"\b(?:city|state|county|company|firm|agency|government|administration|campaign|committee|council|"
    r"board|department|ministry|party|union|bank|court|university|school|district|group|coalition|"
    r"lawmakers|legislature|congress|senate|house|commission|authority|officials|team|club|league|"
    r"governor|mayor|president|senator|candidate|nominee|democrats|republicans|leaders?|police|staff|"
    r"management|military|army|navy|press|media|public|industry|market)$",
    re.I,
)
STUDY_NOUN = re.compile(
    r"\b(?:polls?|polling|surveys?|study|studies|reports?|analysis|analyses|audit|census|research|"
    r"researchers|data|statistics|estimates|records|filings|review|investigation|paper|authors|"
    r"scientists|economists)\b",
    re.I,
)
# 'researchers looked at ...', 'the team analysed ...': the body of work states its own figures
RESEARCH = re.compile(
    r"\b(?:looked\s+at|analy[sz]ed|examined|studied|surveyed|reviewed|tracked|compared|interviewed|"
    r"polled|followed|measured|tested|sampled)\b"
)
# 'In the new Post-ABC poll, ...': a work named as where the sentence's figures come from
IN_WORK = re.compile(
    r"[Ii]n\s+((?:a|an|the|its|their)\s+(?:[\w./&'’-]+\s+){0,6}?(?i:poll|survey|study|report|analysis|audit|census))\b"
)
# '... held a 24-point lead in a CNN national poll', '... near 10 percent in New Hampshire surveys', '... in the
# RealClearPolitics average of recent polls': a poll or survey named anywhere in the sentence, after 'in'; named
# in passing, it credits its own sentence only (a study introduced as the source carries: 'the survey found')
IN_POLL = re.compile(
    r"\b[Ii]n\s+((?:(?:a|an|the|its|their)\s+)?(?:[\w./&'’-]+\s+){0,6}?"
    r"(?i:polls?|surveys?|(?:polling\s+)?average\s+of\s+(?:[\w./&'’-]+\s+){0,4}?polls))\b"
)
_COMMA = re.compile(r",\s+(?=[Ii]n\s)")
MAX_STUDY_PARAGRAPHS = 3  # a study's figures rarely run on for more paragraphs without naming it again
_PERSON_PRONOUNS = frozenset({"he", "she", "they", "it", "we", "i"})
_CLAUSE_END = re.compile(
    r"[;:]|\s+(?:but|while|whereas|although|whose|which|who)\s|,\s+(?:and|but)\s+(?=[A-Z])"
)
_PASSIVE_AFTER = re.compile(r"\s+by\b")


def is_party_noun(name: str) -> bool:
    """True when a phrase ends in a word for an organisation or a group ('police', 'the city')."""
    return bool(_PARTY_NOUN.search(name))


def is_party(name: str) -> bool:
    """True when a subject can be a party that acts: a name, a pronoun or an organisation noun."""
    if any(c.isdigit() for c in name):
        return False
    words = name.split()
    if name.lower() in _PERSON_PRONOUNS:
        return True
    return any(w[:1].isupper() for w in words) or bool(_PARTY_NOUN.search(name) or STUDY_NOUN.search(name))


def agent_cues(
    text: str,
    s_start: int,
    s_end: int,
    subject: Callable[[str, int, int, int], tuple[int, int, str] | None],
) -> list[Cue]:
    """Every acting-party cue of a sentence: the party, the verb, and the clause after it as scope."""
    out: list[Cue] = []
    for kind, pattern in (("agent", AGENT), ("study", RESEARCH)):
        for m in pattern.finditer(text, s_start, s_end):
            if _PASSIVE_AFTER.match(text, m.end(), s_end) or W.PASSIVE_AUX.search(
                text, max(s_start, m.start() - 12), m.start()
            ):
                continue  # 'the budget approved by Republicans', 'Mourners were offered': a passive, not the party's act
            subj = subject(text, s_start, s_end, m.start())
            if subj is None or not is_party(subj[2]) or (kind == "study" and not STUDY_NOUN.search(subj[2])):
                continue
            stop = _CLAUSE_END.search(text, m.end(), s_end)
            scope = ((m.end(), stop.start() if stop else s_end),)
            out.append(Cue(subj[2], subj[0], subj[1], m.start(), m.end(), scope, kind))
    # only as the sentence's frame ('In the new poll, ...', '..., in the survey, ...'), not 'X said in a report'
    for at in [s_start, *(c.end() for c in _COMMA.finditer(text, s_start, s_end))]:
        frame = IN_WORK.match(text, at, s_end)
        if frame is not None:
            work = (frame.group(1), frame.start(1), frame.end(1))
            out.append(Cue(*work, frame.start(), frame.start(1), ((s_start, s_end),), "study"))
    if not out:
        poll = IN_POLL.search(text, s_start, s_end)
        if poll is not None and _named_poll(poll.group(1)):
            work = (poll.group(1), poll.start(1), poll.end(1))
            out.append(Cue(*work, poll.start(), poll.start(1), ((s_start, s_end),), "study", carries=False))
    return out


def _named_poll(phrase: str) -> bool:
    """A poll the sentence identifies: a named one ('a CNN poll', 'New Hampshire surveys') or one
    determined by 'the latest', not any poll ('in polls')."""
    words = phrase.split()
    return len(words) > 1 and (
        any(w[:1].isupper() for w in words) or words[0].lower() in ("the", "its", "their")
    )


def is_study(text: str, cue: Cue) -> bool:
    """True when a cue names a body of work: 'a Pew survey found', 'researchers', 'according to the report'."""
    if cue.verb == "study":
        return True
    # the work is the source itself ('a CBS poll', 'FEC filings'), not where a person said it ('in a note')
    return " in " not in cue.source and bool(
        STUDY_NOUN.search(text, cue.source_start, min(len(text), cue.source_end + 12))
    )


def agent_cue(start: int, cues: Sequence[Cue]) -> Cue | None:
    """The nearest acting-party cue before a figure whose clause holds it."""
    best: Cue | None = None
    for cue in cues:
        if any(a <= start < b for a, b in cue.scope) and (best is None or cue.cue_start > best.cue_start):
            best = cue
    return best
