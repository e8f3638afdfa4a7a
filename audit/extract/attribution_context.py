"""Attribution beyond one sentence: who a pronoun is, credit lines, quotes that run on, carried sources.

``attribution`` finds the cues of one sentence; this module decides what a cue means for the sentences and
paragraphs around it. Every rule here is one a careful reader applies:

- a pronoun ('it said', 'he said') names the latest subject it can stand for: 'it' an organisation,
  'he'/'she' a person (someone with a title, or a surname seen with one);
- a credit line under an embedded post ('— Dianna E. Anderson (@handle) November 18, 2019') credits the
  paragraph above it;
- a paragraph that opens a quote and names no one continues the last speaker's quote.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# `\s*+`: the blanks after the dash are not given back to the name (a run of them was quadratic)
CREDIT_LINE = re.compile(r"[—–]\s*+([^()@\n]{2,60}?)\s*\(@\w+\)")
_NAME_CHARS = re.compile(r"[^\w .&'’-]+")
_OPENS_QUOTE = re.compile(r"[\"“]")
_INTRO = re.compile(
    r"(?:As|In|On|At|When|After|Before|Since|While|Although|Though|If|Because|Despite|With|"
    r"For|By|Following|Earlier|Later|Last|This|Meanwhile|Now|Then|However|But|And|Also|Still)\b"
    r"[^,]{0,140},\s*"
)
_NAME_RUN = re.compile(
    r"(?:[Tt]he\s+)?(?:(?:Mr|Mrs|Ms|Dr|Gov|Sen|Rep|Prof|St)\.\s+)?"
    r"(?:[A-Z][\w&'’.-]*\s+){0,4}[A-Z][\w&-]*"
)
TITLE = re.compile(
    r"\b(?:Mr|Mrs|Ms|Dr|Gov|Sen|Rep|Prof)\.|\b(?:President|Prime\s+Minister|Chancellor|CEO|"
    r"Chairman|Chairwoman|Secretary|Minister|Governor|Senator|Mayor|Judge|Director|"
    r"Commissioner|Spokesman|Spokeswoman|Professor|Coach|Pope|King|Queen|Prince)\s+[A-Z]"
)
_ORG_WORDS = re.compile(
    r"\b(?:Office|Department|Inc|Corp|Co|Group|Agency|Bank|University|Association|Commission|"
    r"Council|Ministry|Authority|Company|Times|News|Post|Journal|Institute|Center|Centre|"
    r"Service|Board|Court|House|Party|Fund|Airlines?|Motors?|Capital|Partners|Foundation|"
    r"Reserve|Administration|Government|Police|Army|Union|League|Club|Exchange)\b"
)
_NOT_SUBJECTS = frozenset({"The", "A", "An", "It", "He", "She", "They", "This", "That", "There", "We", "I"})
MAX_PARAGRAPHS_BACK = 3  # a quote rarely runs on for more than three paragraphs without its speaker


@dataclass(frozen=True, slots=True)
class Cue:
    """A reporting cue in a sentence: the source entity, the cue words, and the character ranges it covers."""

    source: str
    source_start: int
    source_end: int
    cue_start: int
    cue_end: int
    scope: tuple[tuple[int, int], ...]
    verb: str = ""
    carries: bool = True  # False: it credits its own sentence only (a poll named in passing)


@dataclass(frozen=True, slots=True)
class Mention:
    """A named subject at the start of a sentence: where it is, what it says, and whether it is a person."""

    start: int
    end: int
    name: str
    is_person: bool
    could_be_person: bool = False


def credit_line(text: str, start: int, end: int) -> tuple[int, int, str] | None:
    """The credited name of a paragraph that is an embedded post's credit line, as (start, end, name)."""
    m = CREDIT_LINE.match(text, start, end)
    if m is None:
        return None
    name = _NAME_CHARS.sub("", m.group(1)).strip()
    if not name or not name[0].isupper():
        return None
    a = m.start(1) + m.group(1).find(name.split()[0])
    return a, a + len(name), name


def opens_quote(text: str, start: int) -> bool:
    """True when a paragraph starts with an opening quotation mark."""
    return bool(_OPENS_QUOTE.match(text, start))


def speaker_before(
    paragraphs: Sequence[tuple[int, int]], index: int, text: str, last_cue: Callable[[int], object | None]
) -> object | None:
    """The latest cue of the paragraphs before ``index`` that a run-on quote can belong to."""
    for j in range(index - 1, max(-1, index - 1 - MAX_PARAGRAPHS_BACK), -1):
        cue = last_cue(j)
        if cue is not None:
            return cue
        a, b = paragraphs[j]
        if not (opens_quote(text, a) or credit_line(text, a, b) or len(text[a:b].split()) <= 4):
            return None  # narration between the quote and its speaker: the quote is not run on
    return None


def subject_mention(text: str, start: int, end: int) -> Mention | None:
    """The named subject of a sentence, after an introductory phrase ('As of October, Emirates had')."""
    intro = _INTRO.match(text, start, end)
    m = _NAME_RUN.match(text, intro.end() if intro else start, end)
    if m is None:
        return None
    words = m.group(0).split()
    if (words[0] in _NOT_SUBJECTS and len(words) == 1) or _INTRO.match(words[0] + ","):
        return None
    return Mention(m.start(), m.end(), m.group(0), bool(TITLE.search(m.group(0))))


def people(text: str) -> frozenset[str]:
    """Surnames the article gives a title to ('Emirates President Tim Clark' -> 'Clark')."""
    out = set()
    for m in TITLE.finditer(text):
        run = _NAME_RUN.match(text, m.end() - 1)
        if run:
            out.add(run.group(0).split()[-1])
    return frozenset(out)


def could_be_person(name: str) -> bool:
    """True for a bare two- or three-word capitalised name with no organisation word ('Montell Figgins')."""
    words = name.split()
    return (
        2 <= len(words) <= 3
        and all(w[:1].isupper() and not w.isupper() for w in words)
        and (words[0] not in ("The", "A", "An") and not _ORG_WORDS.search(name))
    )


def resolve_pronoun(pronoun: str, at: int, mentions: Sequence[Mention]) -> Mention | None:
    """The latest mention before ``at`` that the pronoun can stand for; None when there is none."""
    want_person = pronoun in ("he", "she")
    if pronoun not in ("he", "she", "it"):
        return None
    best = None
    for m in mentions:
        if m.start >= at:
            break
        if not m.name.split()[-1][:1].isupper():
            continue
        if (m.is_person or m.could_be_person) if want_person else not m.is_person:
            best = m
    return best


_NOT_NAMES = frozenset({"According", "In", "The", "A", "An"})
_NOMINAL = re.compile(r"(?:the|this|that)\s+([a-z]+)", re.I)
_WORK_NOUNS = frozenset(
    {"report", "study", "survey", "poll", "analysis", "audit", "review", "census", "paper"}
)


def is_nominal(phrase: str) -> bool:
    """True for a nominal reference: 'the agency', 'this survey'."""
    return _NOMINAL.fullmatch(phrase.strip()) is not None


def resolve_nominal(text: str, phrase: str, at: int, mentions: Sequence[Mention]) -> Mention | None:
    """The named mention a nominal reference stands for: 'the agency' -> the latest '... Agency' before it,
    'the survey' -> the latest source named with the word 'survey' ('a Pew survey found'); else None."""
    m = _NOMINAL.fullmatch(phrase.strip())
    if m is None:
        return None
    noun = m.group(1).lower()
    for mention in reversed(mentions):
        if mention.start >= at or mention.name == phrase or mention.name in _NOT_NAMES:
            continue
        words = mention.name.split()
        if noun.capitalize() in words or noun.upper() in words:
            return mention
        near = text[mention.start : mention.end + 12].lower()
        if noun in _WORK_NOUNS and re.search(rf"\b{noun}\b", near) and mention.name[:1].isupper():
            return mention
    return None


_LABEL = re.compile(r"((?:[A-Z][\w.'’-]*\s+){0,3}[A-Z][\w.'’-]*)\s*(?:\([^()]{1,20}\))?:\s")
NOT_LABELS = frozenset(
    {
        "Update",
        "UPDATE",
        "Note",
        "NOTE",
        "Related",
        "RELATED",
        "Watch",
        "WATCH",
        "Photo",
        "Correction",
        "CORRECTION",
        "Editor's Note",
        "Read",
        "Source",
        "Sources",
        "Q",
        "A",
    }
)


def speaker_label(text: str, start: int, end: int) -> Cue | None:
    """The speaker of a transcript-style paragraph ('CLINTON: I feel ...', 'Matthews: Here is ...'): one
    name, or a name in capitals."""
    m = _LABEL.match(text, start, end)
    if m is None or m.group(1) in NOT_LABELS or m.end() >= end:
        return None
    if len(m.group(1).split()) > 1 and not m.group(1).isupper():
        return None  # 'Elizabeth A. Burton: possession of ...' is a list entry; transcripts use 'MATTHEWS:'

    return Cue(m.group(1), m.start(1), m.end(1), m.end() - 2, m.end() - 1, ((start, end),), "label")


def colon_speaker(text: str, start: int, end: int) -> Cue | None:
    """The short name a paragraph ending in a colon gives before it ('Transcript as follows:'), or None."""
    body = text[start:end].rstrip()
    words = body[:-1].split()
    if not 1 <= len(words) <= 6 or not words[0][:1].isupper():
        return None
    colon = start + len(body) - 1
    return Cue(body[:-1].strip(), start, colon, colon, colon + 1, ((start, end),), "label")
