"""Seed -> Article + mentions: facts only. Format readers classify; analysers find numbers, dates, links."""

from __future__ import annotations

from dataclasses import dataclass

from audit.extract.build import build_extraction
from audit.extract.numbers import NumberPolicy
from audit.extract.page import Page
from audit.extract.textdump import read_aggregator_text, read_plain_text
from audit.records import Extraction, Rejection, RejectReason, Seed

__all__ = ["ExtractOptions", "extract_seed", "read_page"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ExtractOptions:
    """What extraction needs besides the seed: the number policy."""

    policy: NumberPolicy


def read_page(seed: Seed) -> Page | str:
    """Run the reader for the seed's format; return the Page or why no article could be read."""
    base = seed.format.removesuffix("+gzip")
    if base == "aggregator-text":
        return read_aggregator_text(seed.text)
    if base == "plain-text":
        return read_plain_text(seed.text)
    return f"no reader for the {seed.format!r} format yet"


def extract_seed(seed: Seed, options: ExtractOptions) -> Extraction | Rejection:
    """Extract one seed's article and its mentions, or reject it with the reason."""
    page = read_page(seed)
    if isinstance(page, str):
        return _reject(seed, RejectReason.NO_ARTICLE, page)
    if page.title is None and not page.body:
        return _reject(seed, RejectReason.NO_ARTICLE, "no title and no paragraph of text were found")
    return build_extraction(seed, page, policy=options.policy)


def _reject(seed: Seed, reason: RejectReason, detail: str) -> Rejection:
    return Rejection(
        seed_sha256=seed.seed_sha256,
        path=seed.path,
        size_bytes=seed.size_bytes,
        reason=reason,
        detail=detail,
        encoding=seed.encoding,
        format=seed.format,
    )
