"""The words and patterns attribution reads a sentence with: reporting verbs, cues, lead-ins and tails.

``audit.extract.attribution`` holds the logic that applies them; a list here changes what counts as a cue,
not how a cue is used. Patterns bound their repeats (see the comments): ``tests/test_regex_safety.py``
runs every one on adversarial text.
"""

from __future__ import annotations

import re

from audit.extract import number_patterns as P

# reporting verbs: "X said", "..., said X", "X estimates", "X plans to"
_VERB_WORDS = [
    "said",
    "says",
    "say",
    "told",
    "tells",
    "reported",
    "reports",
    "estimated",
    "estimates",
    "announced",
    "announces",
    "found",
    "finds",
    "showed",
    "shows",
    "show",
    "stated",
    "states",
    "noted",
    "notes",
    "added",
    "adds",
    "wrote",
    "writes",
    "confirmed",
    "confirms",
    "claimed",
    "claims",
    "predicted",
    "predicts",
    "projected",
    "projects",
    "forecast",
    "forecasts",
    "calculated",
    "counted",
    "recorded",
    "revealed",
    "reveals",
    "disclosed",
    "indicated",
    "indicates",
    "suggested",
    "suggests",
    "explained",
    "estimate",
    "acknowledged",
    "testified",
    "tweeted",
    "posted",
    "warned",
    "recounted",
    "argued",
    "admitted",
    "asserted",
    "alleged",
    "alleges",
    "insisted",
    "explains",
    "argues",
    "warns",
    "admits",
    "insists",
    "sees",
    "expects",
    "expect",
    "expected",
    "expecting",
    "anticipates",
    "believes",
    "telling",
    "saying",
    "adding",
    "noting",
    "arguing",
    "insisting",
    "warning",
    "claiming",
    "argue",
    "believe",
    "believes",
    "believed",
    "concluded",
    "concludes",
    "continued",
    "observed",
    "blamed",
    "cited",
    "cites",
    "boasted",
    "bragged",
    "responded",
    "replied",
    "countered",
    "stressed",
    "emphasized",
    "touted",
    "complained",
    "lamented",
    "conceded",
    "contended",
    "maintained",
    "declared",
    "recalled",
    "mentioned",
    "wants",
    "plans",
    "aims",
    "intends",
    "seeks",
]
_VERBS = (
    rf"{P.word_trie(_VERB_WORDS)}|pointed\s+out|points\s+out|"
    r"put(?:s|ting)?\s+the\s+(?:figure|number|toll|total)\s+at"
)
# verbs that are also nouns or other verbs ('added 20 points', 'an original estimate of'): a cue only
# when followed by 'that', a comma, a colon or a quote
AMBIGUOUS = frozenset(
    [
        "notes",
        "reports",
        "report",
        "estimates",
        "estimate",
        "states",
        "claims",
        "shows",
        "show",
        "projects",
        "forecasts",
        "forecast",
        "finds",
        "find",
        "records",
        "recorded",
        "counts",
        "counted",
        "posts",
        "posted",
        "added",
        "adds",
        "put",
    ]
)
# what makes an ambiguous word a reporting verb: a clause follows ('claims he is', 'estimate there could be'),
# or it ends the sentence ("..., she added.")
AMBIG_NEXT = re.compile(r"\s*+(?:,|:|[\"“]|that\b|(?:he|she|they|we|there)\b|to\s++[A-Z]|[.!?]?\s*+$)")
# a reporting verb with its own content after it ('Sanders declared on television that ...'): the text
# before its subject is not what it reports ('In one memorable moment, Sanders declared that ...')
CONTENT_AFTER = re.compile(r"(?:\s++(?!that\b)[\w’'-]++){0,6}?\s++that\b")
# 'Pollsters agree - Carl Bialik: “One of ...': a name, a colon and a quotation it opens
NAME_COLON_QUOTE = re.compile(
    r"(?:^|(?<=[-–—]\s)|(?<=[.!?]\s))((?:[A-Z][\w.'’-]*+\s++){0,3}[A-Z][\w'’-]*+):\s*+[“\"]", re.M
)
# '..., saying ...': a participle after a comma reports for the sentence's subject
PARTICIPLES = frozenset({"saying", "adding", "noting", "arguing", "insisting", "warning", "claiming"})
COMMA_BEFORE = re.compile(r",\s*+$")
SUBJECT_PRONOUN = re.compile(r"(?:He|She|They|We|I)\b")
# after a name ('Schweizer notes', 'Bloomberg estimates', 'the Associated Press reports') these report
NAMED_REPORTS = frozenset({"notes", "estimates", "reports", "claims", "projects", "forecasts", "finds"})
NAME_JUST_BEFORE = re.compile(r"(?<![\w.’'-])(?:[A-Z][\w.&’'-]*+\s++){0,3}[A-Z](?=[\w&-]*[a-z])[\w&-]*+\s++$")
_PASSIVE_WORDS = [
    "said",
    "reported",
    "announced",
    "estimated",
    "released",
    "published",
    "compiled",
    "confirmed",
    "identified",
    "cited",
    "provided",
    "calculated",
    "projected",
    "proposed",
    "planned",
    "recorded",
    "unveiled",
    "touted",
]
PASSIVE = re.compile(rf"\b{P.word_trie(_PASSIVE_WORDS)}\s+by\s+")
# a relative clause or apposition between a subject and its verb (', who heads the agency,')
REL_OR_APPOS = re.compile(
    r",\s+(?:which|who|whose|where|the|a|an|his|her|its|their|deputy|chief|head|director|"
    r"president|spokesman|spokeswoman|spokesperson|professor|senior|executive|chairman|"
    r"founder|co-founder|former|minister|secretary|analyst|economist)\s+[^,]*,\s*$",
    re.I,
)
# a relative pronoun right before the verb: its antecedent is the source ('Clinton, who announced')
RELATIVE_TAIL = re.compile(r",\s+(?:who|which)\s+(?:(?:also|has|have|had|then|later|previously)\s+)*$")
# auxiliaries between a subject's aside and its verb ('X, a consulting firm, has calculated')
AUX_TAIL = re.compile(r",\s*(?:has|have|had|also|has\s+also|had\s+also)\s*$")
# an aside between a subject and its verb ('Rep. Chris Collins, R-NY, says') is a few words at most
MAX_ASIDE_WORDS = 8
# a phrase opening with a preposition is not a source
PREPOSITION = re.compile(
    r"^(?i:in|on|at|for|by|from|with|during|after|before|since|despite|among|of|as|to)\b"
)
# 'is expected to': a participle after an auxiliary is not a report
PASSIVE_AUX = re.compile(r"\b(?:is|are|was|were|be|been|being)\s+$")
# a document noun shortly before an ambiguous verb ('the report shows'): the verb is a cue
DOC_BEFORE = re.compile(
    r"\b(?:figures|data|statistics|numbers|estimates|reports?|surveys?|study|studies|analysis|analyses|"
    r"polls?|polling|census|records|research|filings|documents|results|tally|average|emails?)\b[^,.]{0,40}$",
    re.I,
)
NOT_COMMA = re.compile(r"[^,]+")
PAREN = re.compile(r"\([^()]*\)")
DETS = frozenset({"the", "a", "an", "this", "that", "these", "those", "its", "their", "his", "her"})
VERB = re.compile(rf"\b(?:{_VERBS})\b")
ACCORDING = re.compile(r"\b[Aa]ccording\s+to\s+")
POSSESSIVE = re.compile(
    r"\b((?:[A-Z][\w.-]*\s+){0,4}[A-Z][\w.-]*)['’]s\s+(?:call|plan|order|pledge|promise|target|goal|decree|"
    r"proposal|estimate|estimates|forecast|figures|data|count|tally|announcement|report|survey|study|analysis|"
    r"projection|budget|offer|bid)\s+(?:for|of|that|shows|showed|found|puts|put)?\b"
)
LAW = re.compile(
    r"\b(?:a|the)\s+(?:new\s+)?(?:law|bill|decree|statute|regulation|ordinance)\b"
    r"(?:\s+(?:signed|passed|approved|introduced)\s+by\s++[^,;.]{1,200}?)?(?=\s+(?:that|which)\b)"
)
# One scan finds where any cue can be; each kind is then read with its own pattern from that place.
POSSESSIVE_TAIL = re.compile("['’]s\\s+" + POSSESSIVE.pattern.split("['’]s\\s+", 1)[1])
# the first letters any trigger can start with: a cheap look-ahead that spares most words the alternatives
_FIRST = "".join(sorted({w[0] for w in _VERB_WORDS + _PASSIVE_WORDS} | set("Aapt")))
TRIGGER = re.compile(
    rf"\b(?=[{_FIRST}])(?:(?P<according>[Aa]ccording\s+to\s+)|(?P<passive>{PASSIVE.pattern[2:]})|(?P<verb>(?:{_VERBS})\b)"
    rf"|(?P<law>(?:a|the)\s+(?:new\s+)?(?:law|bill|decree|statute|regulation|ordinance)\b))|(?P<possessive>['’]s\s)"
)
NAME_BEFORE = re.compile(r"(?<![\w.-])(?:[A-Z][\w.-]*\s+){0,4}[A-Z][\w.-]*$")
LAW_VERB = re.compile(r"\s++(?:that|which)\s++(\w+)")
# where the clause holding a verb's subject starts
BOUNDARY = re.compile(
    r"[;:—–“”\"]|\b(?i:that(?!['’]s)|which|who|but|while|after|because|as|when|if|though|although|"
    r"where|whom|since)\b|\band\s+(?=[a-z])(?!his\b|her\b|their\b|its\b|other\b)"
)
# 'a study by X', 'figures released by X': the source is X
DOC_PREFIX = re.compile(
    r"^.*?\b(?:search|study|survey|report|analysis|poll|review|data|figures|statistics|estimates?|count|tally|"
    r"investigation|research|numbers|census|statement|records|audit|assessment|filing)\s+"
    r"(?:(?:released|published|compiled|conducted|carried\s+out|issued|commissioned)\s+)?(?:by|from|of)\s+",
    re.I,
)
# 'X's data', 'X figures': the source is X
DOC_SUFFIX = re.compile(
    r"(?:['’]s)?\s+(?:data|figures|statistics|numbers|estimates|report|survey|study|"
    r"analysis|records|research|poll)$"
)
# intention verbs: the party's own target, a cue only as 'X plans to <verb>'
INTENT = frozenset({"wants", "plans", "aims", "intends", "seeks"})
TO_VERB = re.compile(r"\s+to\s+[a-z]")
CLAUSE_BREAK = re.compile(r"[,;:—–()\"“”]|\b(?:that|which|who|and|but)\b")
# a coordinating word before the subject: a new clause
COORDINATE = re.compile(r"\b(?:yet|but|and|so|while|whereas)\s+$", re.I)
# lead-in words trimmed off the front of a source
LEAD = re.compile(r"^(?:(?:and|but|so|yet|also|meanwhile|however|now|then)\s+)+", re.I)
# each trailing word is matched once, atomically, longest form first ("had been" before "had", "in a
# statement" before "in X"): "previously" is both itself and \w+ly, and retrying every such choice when the
# tail does not reach the end backtracked exponentially. `\s++`: what follows blanks is never a blank
TAIL = re.compile(
    r"(?:(?>\s++(?:has|have|had\s+been|had|also|previously|earlier|recently|later|then|would|will|"
    r"were|was|are|is|\w+ly|today|yesterday|last\s+\w+|on\s+\w+|this\s+\w+|in\s+a\s+(?:statement|report|release)|"
    r"at\s+the\s+time|"
    r"in\s+\w+)\b|\s*+\([^()]*\)))+$",
    re.I,
)
# names and noun phrases are at most 200 characters: each lazy step's lookahead rescans the blanks after
# it, so an unbounded one was quadratic over a long run of them. NP_AFTER's one character class is what
# its three alternatives matched (the first already takes "."): their overlap backtracked exponentially
INVERTED_SOURCE = re.compile(r"\s+((?:[^,.;:\"“”()]|\.(?=\w)){1,200}?)(?=\s*[,.;:\"“”()]|\s*$)")
NP_AFTER = re.compile(
    r"([^,;:\"“”()—–]{1,200}?)(?=\s*[,;:\"“”()—–]|\s-\s|\.\s|\.$|$|"
    r"\s+(?:that|which|who|on\s+\w+day|in\s+(?:a|its|their|the)\s+\w+|in\s+[A-Z][a-z]+\s|as\s+of|"
    r"since|include|includes|will|would|has|have|had|is|are|was|were)\b)"
)
# 'there are reports of', 'amid reports that': the verb is a noun here
NOUN_USE = re.compile(
    r"\b(?:there\s+(?:are|were|is|was)|of|the|a|an|amid|with|new|and|these|those|recent|"
    r"many|some|no|its|their|his|her|our|by|in|to|for|be|been|being|original|initial|latest|"
    r"preliminary)\s+$",
    re.I,
)
# references resolved to the entity named earlier
PRONOUNS = frozenset({"he", "she", "they", "it", "him", "her", "them", "this", "that", "i", "you"})
# a phrase opening with a count is a quantity, not a source ('More than six [in 10]', 'Another eight')
COUNT_LEAD = re.compile(
    r"(?:another|more\s+than|fewer\s+than|less\s+than|at\s+least|nearly|almost)\s+(?:one|two|three|four|five|six|seven|eight|nine|ten|a\s+dozen|dozens|hundreds|thousands|\d)\b",
    re.I,
)
# a finite verb or a dash inside a phrase makes it a clause ('Anderson Cooper 360 was the'), not a name
INNER_VERB = re.compile(
    r"\s(?:was|were|is|are|has|have|had|will|would|can|could|should|must|seems?|than)\s|\s(?:--|—|–)\s"
)
# no party ('Nobody', 'No one'), a clause's verb ('is why I'), or a subject whose verb is negated or
# propped up by 'do' ('The Foundation did not [want]', 'You don't [want]', 'Cruz did [hope]')
NOT_A_PARTY = re.compile(
    r"^(?:nobody|no\s+one|none|neither|is|was|are|were)\b|\s(?:do|does|did|don['’]t|doesn['’]t|didn['’]t|not)$",
    re.I,
)
# pronouns that also open a noun phrase ('her friend said')
POSSESSIVE_DETS = frozenset({"her", "his", "its", "their", "our", "my", "your"})
# the publisher's own voice
SELF = frozenset({"we", "our", "us"})
# words a source's noun phrase may open with ('the agency', 'some economists')
OPENING_WORDS = frozenset(
    [
        "the",
        "a",
        "an",
        "this",
        "that",
        "these",
        "those",
        "its",
        "their",
        "his",
        "her",
        "our",
        "my",
        "your",
        "some",
        "many",
        "most",
        "several",
        "both",
        "all",
        "each",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "few",
        "no",
        "other",
        "another",
        "any",
        "every",
        "such",
    ]
)
# words that open a clause, not a name ('what they feel')
CLAUSE_WORDS = frozenset(["what", "how", "why", "when", "whether", "about", "if", "because"])
# a share of respondents ('Six in 10 voters said'): a poll's result, not its source
SHARE = re.compile(r"\b(?:in\s+(?:10|ten|\d+)|percent|per\s+cent)\b|%", re.I)
# a verb after "'s" is a noun; after a comma, a participle whose subject is elsewhere
AFTER_POSSESSIVE_OR_COMMA = re.compile(r"(?:['’]s|,)\s+$")
# a forecast is the forecaster's own figure: it does not carry to the sentences after it
FORECAST = frozenset(
    {
        "expects",
        "expect",
        "expected",
        "expecting",
        "predicted",
        "predicts",
        "forecast",
        "forecasts",
        "anticipates",
        "projected",
        "projects",
        "sees",
    }
)
# 'reportedly': the article says the source is unnamed
HEARSAY = re.compile(r"\b(?:reportedly|allegedly|purportedly)\b")
