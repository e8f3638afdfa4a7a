"""A finding's evidence as the report shows it: its text highlighted inside its sentence, found by its
byte span when it can be (``evidence_html``; ``evidence_parts`` gives the same as plain text for the
report's data files), and the evidence fields worth reading beside it (``evidence_extras``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup, escape

from audit.records import Finding
from audit.report.seed_view import highlighted, show

_EXTRA_KEYS = (
    "reason",
    "detail",
    "kind",
    "attribution_kind",
    "source",
    "cue",
    "url",
    "status",
    "http_status",
    "syntax_error",
    "resolved",
    "resolution",
    "anchor",
    "role",
)


def evidence_parts(finding: Finding) -> tuple[str, str | None, str]:
    """The finding's evidence as (before, text, after): its text inside its sentence, found by its byte span
    when it can be; text is None when nothing is highlighted (no text, or not found in the sentence)."""
    ev = finding.evidence
    text, sentence = ev.get("text"), ev.get("sentence")
    if not isinstance(text, str):
        title = ev.get("title")
        return (title if isinstance(title, str) else "", None, "")
    if not isinstance(sentence, str):
        return ("", text, "")
    at = _char_offset(sentence, ev.get("sentence_span"), ev.get("span_start"), text)
    if at is None:
        if not text or text not in sentence:
            return (sentence, None, "")
        at = sentence.index(text)
    return (sentence[:at], text, sentence[at + len(text) :])


def evidence_html(finding: Finding) -> Markup:
    """The finding's text inside its sentence (found by its byte span when it can be), the text highlighted."""
    before, text, after = evidence_parts(finding)
    return escape(before) if text is None else highlighted(before, text, after)


def _char_offset(sentence: str, sentence_span: Any, start: Any, text: str) -> int | None:
    if not isinstance(sentence_span, Mapping) or not isinstance(start, int):
        return None
    head = sentence.encode("utf-8")[: start - int(sentence_span["start"])]
    try:
        at = len(head.decode("utf-8"))
    except UnicodeDecodeError:
        return None
    return at if sentence[at : at + len(text)] == text else None


def evidence_extras(finding: Finding) -> list[tuple[str, str]]:
    """The evidence fields worth reading beside the text, in a fixed order."""
    return [
        (k, show(finding.evidence[k])) for k in _EXTRA_KEYS if finding.evidence.get(k) not in (None, "", [])
    ]
