"""Seed -> Article + mentions: facts only. Readers make documents; analysers find numbers, dates, links."""

from __future__ import annotations

from dataclasses import dataclass

from audit.extract.build import build_extraction, merge_extractions
from audit.extract.documents import Document
from audit.extract.html import read_html
from audit.extract.jsonl import read_jsonl
from audit.extract.numbers import NumberPolicy
from audit.extract.page import Page
from audit.extract.textdump import read_aggregator_text, read_plain_text
from audit.records import Extraction, Rejection, RejectReason, Seed

__all__ = ["ExtractOptions", "extract_seed", "read_documents"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ExtractOptions:
    """What extraction needs besides the seed: the number policy."""

    policy: NumberPolicy


def read_documents(seed: Seed) -> list[Document] | str:
    """Run the reader for the seed's format; return its documents, or why no article could be read."""
    base = seed.format.removesuffix("+gzip")
    if base == "aggregator-text":
        return [Document(text=seed.text, page=read_aggregator_text(seed.text))]
    if base == "plain-text":
        return [Document(text=seed.text, page=read_plain_text(seed.text))]
    if base == "html":
        doc = read_html(seed.text, len(seed.data))
        return doc if isinstance(doc, str) else [doc]
    if base == "jsonl":
        return read_jsonl(seed.data)
    return f"no reader for the {seed.format!r} format"


def extract_seed(seed: Seed, options: ExtractOptions) -> Extraction | Rejection:
    """Extract every article of one seed and its mentions, or reject the seed with the reason."""
    docs = read_documents(seed)
    if isinstance(docs, str):
        return _reject(seed, docs)
    if not any(_has_article(d.page) for d in docs):
        return _reject(seed, "no title and no paragraph of text were found")
    return merge_extractions(
        build_extraction(seed, doc, index, policy=options.policy) for index, doc in enumerate(docs)
    )


def _has_article(page: Page) -> bool:
    return page.title is not None or bool(page.body)


def _reject(seed: Seed, detail: str) -> Rejection:
    return Rejection(
        seed_sha256=seed.seed_sha256,
        path=seed.path,
        size_bytes=seed.size_bytes,
        reason=RejectReason.NO_ARTICLE,
        detail=detail,
        encoding=seed.encoding,
        format=seed.format,
    )
