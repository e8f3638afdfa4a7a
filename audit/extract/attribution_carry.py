"""Attribution carried over from outside a figure's own cue: quotes, paragraphs, studies, run-on quotes.

``attribution`` finds the cues of each sentence; this module decides which of them credit a figure in
another sentence, and why (``quote``, ``paragraph``, ``study``), as docs/attribution.md states:

- a figure inside a quotation belongs to its speaker, named before or after it in the paragraph, or in an
  earlier paragraph when the quotation runs on, or introduced by a colon or a transcript's label; a cue
  inside the quotation is the speaker's own words;
- a study named earlier (in the paragraph, or up to three paragraphs back with no other source since)
  covers the figures that follow;
- an attribution opening the paragraph, closing it, or naming the same source on both sides of the figure
  covers the paragraph's other figures, unless another source is named in between.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from typing import Protocol

from audit.extract import attribution_context as C
from audit.extract import attribution_scope as S
from audit.extract import attribution_words as W
from audit.extract.attribution_context import Cue
from audit.extract.number_fact import NumberFact
from audit.extract.sentences import Quotes


class Story(Protocol):
    """What the carry-over rules read of a story: its paragraphs, sentences and cues, worked out lazily."""

    text: str
    paragraphs: list[tuple[int, int]]

    def index(self, pos: int) -> int: ...
    def sentences(self, i: int) -> list[tuple[int, int]]: ...
    def cues(self, sent: tuple[int, int]) -> list[Cue]: ...
    def agents(self, sent: tuple[int, int]) -> list[Cue]: ...
    def last_cue(self, i: int) -> Cue | None: ...
    def has_cue(self, i: int) -> bool: ...
    def quotes(self, i: int) -> Quotes: ...
    def cued(self, i: int) -> tuple[list[int], list[tuple[tuple[int, int], list[Cue]]]]: ...


def quoted(doc: Story, cue: Cue) -> bool:
    """True when a cue stands inside a quotation: it is the quoted speaker's words."""
    i = doc.index(cue.cue_start)
    return i >= 0 and doc.quotes(i).open_at(min(cue.source_start, cue.cue_start))


_NONE: tuple[Cue | None, str] = (None, "")


def contextual(doc: Story, fact: NumberFact, allowed: frozenset[str]) -> tuple[Cue | None, str]:
    """A cue carried from around the number's sentence, and why (see ``_in_paragraph``, ``_across_paragraphs``
    and ``_study_before``); only the carry-overs the policy allows."""
    i = doc.index(fact.start)
    if i < 0 or W.HEARSAY.search(doc.text, fact.sentence_start, fact.sentence_end):
        return _NONE  # 'reportedly': the article says the source is unnamed
    found = _in_paragraph(doc, fact, i)
    if found[0] is None:
        found = _across_paragraphs(doc, fact, i)
    if found[0] is None and not doc.has_cue(i):
        found = _study_before(doc, i)
    return found if found[1] in allowed else _NONE


def _study_before(doc: Story, i: int) -> tuple[Cue | None, str]:
    """A study named in one of the paragraphs before paragraph i, with no other source named since."""
    for j in range(i - 1, max(-1, i - 1 - S.MAX_STUDY_PARAGRAPHS), -1):
        cued = doc.cued(j)[1]
        if cued:
            last = max(cued[-1][1], key=lambda c: c.cue_start)
            return (last, "study") if S.is_study(doc.text, last) else _NONE
        if C.opens_quote(doc.text, doc.paragraphs[j][0]):
            return _NONE
    return _NONE


def _in_paragraph(doc: Story, fact: NumberFact, i: int) -> tuple[Cue | None, str]:
    """A cue carried within paragraph i, and why: the speaker of the quotation the figure sits in
    (quote); a study named earlier (study); an attribution opening the paragraph, closing it, or named on
    both sides of the figure (paragraph). Another source in between stops it; a forecast does not carry.
    Only cues outside quotations count (a cue inside one is the speaker's words: 'I said, "What ..."')."""
    sentences = doc.sentences(i)
    starts, cued = doc.cued(i)
    k = bisect_left(starts, fact.sentence_start)  # sentences with cues before the figure's: cued[:k]
    j = bisect_left(starts, fact.sentence_end)  # and after it: cued[j:]
    before = (max(cued[k - 1][1], key=_at), cued[k - 1][0]) if k > 0 else None
    after = (min(cued[j][1], key=_at), cued[j][0]) if j < len(cued) else None
    in_quote = "quote" in fact.contexts
    if before is not None:
        cue, sent = before
        if cue.verb in W.FORECAST:
            return _NONE
        if in_quote:
            return cue, "quote"  # the quotation the figure sits in runs on from its speaker's sentence
        if S.is_study(doc.text, cue):
            return cue, "study"
        if sent == sentences[0] or (after is not None and _same_source(cue, after[0])):
            return cue, "paragraph"
    if after is not None:
        cue, sent = after
        if in_quote:
            return cue, "quote"
        # a paragraph-final '..., according to X.' closing its last sentence covers the paragraph
        if (
            sent == sentences[-1]
            and any(a <= sent[0] < b for a, b in cue.scope)
            and _closes(doc.text, cue, sent[1])
        ):
            return cue, "paragraph"
    return _NONE


def _at(cue: Cue) -> int:
    return cue.cue_start


def cued_sentences(doc: Story, i: int) -> tuple[list[int], list[tuple[tuple[int, int], list[Cue]]]]:
    """The sentences of paragraph i with a cue (or a study's) outside quotations, with those cues, and
    their starts for bisection."""
    quotes = doc.quotes(i)
    out: list[tuple[tuple[int, int], list[Cue]]] = []
    for sent in doc.sentences(i):
        cues = doc.cues(sent) + [c for c in doc.agents(sent) if c.verb == "study" and c.carries]
        if cues := [c for c in cues if not quotes.open_at(min(c.cue_start, c.source_start))]:
            out.append((sent, cues))
    return [sent[0] for sent, _ in out], out


def _same_source(a: Cue, b: Cue) -> bool:
    """True when two cues name the same source ('according to Toyota' ... 'Toyota says')."""
    x, y = a.source.lower().removeprefix("the "), b.source.lower().removeprefix("the ")
    return x == y or x.split()[-1] == y.split()[-1]


_CLOSING = re.compile(r"[\s.)\"”’]*$")


def _closes(text: str, cue: Cue, end: int) -> bool:
    """True when the cue's source or cue ends its sentence ('..., according to Autodata.', '..., she said.')."""
    return bool(_CLOSING.match(text, max(cue.source_end, cue.cue_end), end))


def _across_paragraphs(doc: Story, fact: NumberFact, i: int) -> tuple[Cue | None, str]:
    """A cue from a neighbouring paragraph: a credit line below, or the speaker of a run-on quote."""
    if i + 1 < len(doc.paragraphs) and C.credit_line(doc.text, *doc.paragraphs[i + 1]):
        return doc.last_cue(i + 1), "quote"
    a, b = doc.paragraphs[i]
    label = C.speaker_label(doc.text, a, b)
    if label is not None:
        return label, "quote"  # 'MATTHEWS: Here's the irony ...': a transcript's speaker
    if doc.has_cue(i) or i == 0:
        return _NONE
    intro = _introduced_by(doc, i)
    if intro is not None:
        return intro, "quote"
    if C.opens_quote(doc.text, a):
        cue = C.speaker_before(doc.paragraphs, i, doc.text, doc.last_cue)
        return (cue, "quote") if isinstance(cue, Cue) else _NONE
    return _NONE


def _introduced_by(doc: Story, i: int) -> Cue | None:
    """The speaker of a paragraph the previous one introduces with a colon ('Cruz continued:', 'Transcript
    as follows:'): its last cue, or the words before the colon when they are a short name."""
    a, b = doc.paragraphs[i - 1]
    if not doc.text[a:b].rstrip().endswith(":"):
        return None
    return doc.last_cue(i - 1) or C.colon_speaker(doc.text, a, b)
