"""HTML pages (also gzip-compressed): trafilatura for the main text and metadata, htmldate for dates."""

from __future__ import annotations

import html as htmllib
import re
from functools import cache
from importlib.metadata import version
from typing import Any

from audit.extract.date_html import page_dates_from_html
from audit.extract.documents import Composer, Document, MarkupLink, derivation_for
from audit.extract.page import Page

EXTRACTOR = "trafilatura"
_CANONICAL = re.compile(
    r"<link\b[^>]*?\brel\s*=\s*[\"']?canonical[\"']?[^>]*?\bhref\s*=\s*(?P<q>[\"'])(?P<url>[^\"'<>]+)(?P=q)",
    re.I,
)
_OG_IMAGE = re.compile(
    r"<meta\b[^>]*?\bproperty\s*=\s*[\"']og:image[\"'][^>]*?\bcontent\s*=\s*(?P<q>[\"'])(?P<url>[^\"'<>]+)(?P=q)",
    re.I,
)
_ANCHOR = re.compile(
    r"<a\b[^>]*?\bhref\s*=\s*(?P<q>[\"'])(?P<url>[^\"'<>]+)(?P=q)[^>]*>(?P<label>.*?)</a\s*>", re.I | re.S
)
_TAG = re.compile(r"<[^>]+>")
_OTHER_SCHEME = re.compile(r"(?:mailto|tel|sms|javascript|data|about|file|ftp):", re.I)
_HAS_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_MIN_ANCHOR = 4


@cache
def extractor_version() -> str:
    """The installed trafilatura version, recorded with every derived text (read once: ~2.5 ms a call)."""
    return version("trafilatura")


def read_html(page_html: str, n_bytes: int) -> Document | str:
    """The article in an HTML page as a derived text document, or why none was found."""
    doc = _trafilatura(page_html)
    if isinstance(doc, str):
        return doc
    comp = _compose(doc)
    text = comp.text()
    canonical = _first(_CANONICAL, page_html)
    base = htmllib.unescape(canonical.raw) if canonical else doc.url
    return Document(
        text=text,
        page=Page(
            segments=tuple(comp.segments),
            title=comp.fields.get("title"),
            byline=comp.fields.get("byline"),
            publisher=comp.fields.get("publisher"),
            canonical_url=base,
            language=doc.language,
        ),
        derivation=derivation_for(text, EXTRACTOR, extractor_version(), 0, n_bytes),
        page_dates=page_dates_from_html(page_html, url=base),
        markup_links=_markup_links(page_html, text, base),
        base_url=base,
    )


def derived_text(page_html: str) -> str | None:
    """The text read_html derives from a page, made the same way but without dates and links; None if none."""
    doc = _trafilatura(page_html)
    return None if isinstance(doc, str) else _compose(doc).text()


def _trafilatura(page_html: str) -> Any:
    """trafilatura's result for the page (a Document, as output_format is python), or why there is none."""
    import trafilatura  # imported late: it loads lxml and its models (~0.3 s)

    doc: Any = trafilatura.bare_extraction(
        page_html,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        deduplicate=False,
        output_format="python",
        date_extraction_params={"extensive_search": False, "max_date": "2030-12-31"},
    )
    if doc is None or not (doc.text or "").strip():
        return "trafilatura found no main text in the page"
    return doc


def _compose(doc: Any) -> Composer:
    """The derived text: title, byline, publisher, then the body's paragraphs."""
    comp = Composer()
    comp.add(doc.title, "title", "title")
    comp.add(doc.author, "byline", "byline")
    comp.add(doc.sitename, "publisher", "publisher", sep="\n")
    for para in _paragraphs(doc.text, doc.title):
        comp.add(para, "body")
    return comp


def _paragraphs(body: str, title: str | None) -> list[str]:
    paras = [p.strip() for p in body.split("\n") if p.strip()]
    if paras and title and paras[0] == title.strip():
        paras = paras[1:]  # trafilatura repeats the headline as the first line of some pages
    return paras


def _first(pattern: re.Pattern[str], page_html: str) -> MarkupLink | None:
    m = pattern.search(page_html)
    return None if m is None else MarkupLink(m.start("url"), m.end("url"), m.group("url"), "canonical")


def _markup_links(page_html: str, text: str, base_url: str | None) -> tuple[MarkupLink, ...]:
    """Canonical and og:image URLs, and anchors whose label appears in the extracted main text."""
    links = [link for link in (_first(_CANONICAL, page_html),) if link]
    if image := _first(_OG_IMAGE, page_html):
        links.append(MarkupLink(image.start, image.end, image.raw, "image"))
    for m in _ANCHOR.finditer(page_html):
        label = " ".join(htmllib.unescape(_TAG.sub("", m.group("label"))).split())
        href = m.group("url").strip()
        if len(label) >= _MIN_ANCHOR and label in text and _is_web_reference(href, base_url):
            links.append(MarkupLink(m.start("url"), m.end("url"), m.group("url"), "inline"))
    return tuple(links)


def _is_web_reference(href: str, base_url: str | None) -> bool:
    """An anchor that names a web page: not mailto:, tel:, javascript: or a fragment, and resolvable."""
    if _OTHER_SCHEME.match(href) or href.startswith("#"):
        return False
    # a relative reference can only be checked against the page's own URL
    return bool(_HAS_SCHEME.match(href)) or base_url is not None
