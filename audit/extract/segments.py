"""Segments: classified character ranges of a seed's decoded text, the input of every analyser."""

from __future__ import annotations

from dataclasses import dataclass

# Kinds that belong to the main story: numbers, dates and links in them are the article's own.
MAIN_KINDS = frozenset({"title", "body", "caption", "dateline"})

# Every kind a format reader may emit, with what it means.
KINDS = {
    "page-date": "the page's own date line (e.g. 'date 2022-10-04')",
    "section": "the section or category label",
    "title": "the headline",
    "byline": "the author line",
    "publisher": "the publisher's name",
    "relative-date": "a relative date line such as '5 days ago'",
    "dateline": "an absolute date line printed with the story",
    "image": "an image URL line",
    "caption": "an image caption",
    "body": "a paragraph of the main story",
    "counter": "a counter such as 'Comments / 19' or '1M+ Followers'",
    "teaser-source": "the source of a related-article teaser",
    "teaser-title": "a related-article teaser's headline",
    "teaser-text": "a related-article teaser's summary",
    "teaser-label": "a related-article teaser's section label",
    "tags": "the article's tag list",
    "navigation": "navigation or channel labels",
    "publisher-box": "the publisher's box: name, place, counters, about text",
    "publisher-home": "the publisher's home page line",
    "boilerplate": "any other page furniture",
}


@dataclass(frozen=True, slots=True)
class Segment:
    """A classified range [start, end) of *characters* of the decoded seed text."""

    start: int
    end: int
    kind: str

    @property
    def is_main(self) -> bool:
        """True when the segment belongs to the main story."""
        return self.kind in MAIN_KINDS
