"""What each value's colour means: the legends of numbers, links and dates (legend key -> label and
explanation), which keys are bad ones, and ``number_class``, ``link_class`` and ``date_class``, which give
a record its legend key.
"""

from __future__ import annotations

from audit.records import Article, DateMention, Link, NumberMention

NUMBER_LEGEND = {
    "none": ("needs a source", "the policy says this figure needs a source and none was found"),
    "explicit": ("explicit", "a named source with a cue such as 'said' or 'according to'"),
    "contextual": ("contextual", "a source named nearby in the story"),
    "self": ("self", "the publisher's own reporting"),
    "derived": ("derived", "computed from other attributed figures"),
    "not-assessed": ("not assessed", "the story's language is not assessed"),
    "exempt": ("no source needed", "the policy exempts this kind of number"),
}
LINK_LEGEND = {
    "broken": ("broken", "4xx/5xx, no connection or a redirect loop"),
    "bad-syntax": ("bad syntax", "not a well-formed URL"),
    "timeout": ("timeout", "no answer in time"),
    "refused": ("refused", "refused by the guard or the server"),
    "redirected": ("redirected", "answered after redirects"),
    "ok": ("ok", "answered 2xx"),
    "not_checked": ("not checked", "offline run or not an http(s) URL"),
}
DATE_LEGEND = {
    "flagged": ("rule failed", "a date rule failed on this date"),
    "implausible": ("after capture", "resolves to after the page was captured"),
    "unresolved": ("unresolved", "could not be placed on the calendar"),
    "ok": ("plausible", "resolved, and not after capture"),
    "span": ("duration or time", "a length of time or a clock time, not a calendar date"),
}
BAD_STATES = frozenset(
    {"none", "broken", "bad-syntax", "timeout", "refused", "flagged", "implausible", "unresolved"}
)
# block kinds that describe the article (not page furniture), shown undimmed though outside the story
METADATA_KINDS = frozenset({"page-date", "section", "byline", "publisher", "relative-date", "tags"})
UNDATED_ROLES = frozenset({"duration", "time"})
_FUTURE_ROLES = frozenset({"plan", "deadline"})


def number_class(n: NumberMention) -> str:
    """The legend key of a number: its attribution kind, or 'exempt' when the policy needs no source."""
    if not n.requires_attribution:
        return "exempt"
    return n.attribution_kind if n.attribution_kind in NUMBER_LEGEND else "none"


def link_class(link: Link) -> str:
    """The legend key of a link: its status, or 'bad-syntax'."""
    if not link.syntax_ok:
        return "bad-syntax"
    return link.status if link.status in LINK_LEGEND else "not_checked"


def date_class(d: DateMention, article: Article | None, flagged: bool) -> str:
    """The legend key of a date: how plausible it is."""
    if flagged:
        return "flagged"
    if d.role in UNDATED_ROLES:
        return "span"
    if d.resolved is None:
        return "unresolved"
    captured = article.captured_at if article else None
    if captured is not None and d.resolved > captured and d.role not in _FUTURE_ROLES:
        return "implausible"
    return "ok"
