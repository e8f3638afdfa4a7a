"""JSON Lines seeds: one already-extracted article per line (schemas/jsonl_article.schema.json)."""

from __future__ import annotations

import datetime as dt
import json
import re
from functools import cache
from typing import Any

import jsonschema

from audit.defaults import SCHEMAS_DIR
from audit.extract.date_html import PageDates
from audit.extract.documents import Composer, Document, derivation_for
from audit.extract.page import Page
from audit.version import __version__

EXTRACTOR = "news-audit-jsonl"
_SCHEMA = SCHEMAS_DIR / "jsonl_article.schema.json"


@cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(_SCHEMA.read_text(encoding="utf-8")))


def read_jsonl(data: bytes) -> list[Document] | str:
    """One derived document per non-blank line; or why the file is not valid JSON Lines of articles."""
    docs = []
    pos = 0
    for n, raw in enumerate(data.splitlines(keepends=True), 1):
        start, pos = pos, pos + len(raw)
        if not raw.strip():
            continue
        record = _parse_line(raw, n)
        if isinstance(record, str):
            return record
        docs.append(_document(record, start, start + len(raw.rstrip(b"\r\n"))))
    return docs or "no JSON object in the file"


def _parse_line(raw: bytes, n: int) -> dict[str, Any] | str:
    try:
        record = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        return f"line {n} is not valid JSON: {exc}"
    if (bad := _not_text(record)) is not None:
        return (
            f"line {n}: {bad[0]}: holds {bad[1]}, half of a surrogate pair: not text any UTF-8 file can "
            "hold (a character cut in two?); fix the line"
        )
    error = jsonschema.exceptions.best_match(_validator().iter_errors(record))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "the object"
        return f"line {n}: {where}: {error.message} (see schemas/jsonl_article.schema.json)"
    return dict(record)


def _not_text(value: object, path: str = "the object") -> tuple[str, str] | None:
    """Where a string in the parsed line holds a lone surrogate (JSON allows "\\ud800"), and its escape."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            return path, value[exc.start].encode("unicode_escape").decode("ascii")
        return None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = _not_text(key, path) or _not_text(item, f"{path}/{key}".removeprefix("the object/"))
        if found:
            return found
    return None


def _document(record: dict[str, Any], seed_start: int, seed_end: int) -> Document:
    comp = Composer()
    comp.add(record["title"], "title", "title")
    comp.add(record.get("byline"), "byline", "byline")
    comp.add(record.get("publisher"), "publisher", "publisher", sep="\n")
    comp.add(record.get("section"), "section", "section", sep="\n")
    body = record["body"]
    for para in body if isinstance(body, list) else re.split(r"\n\s*\n", body):
        comp.add(para, "body")
    text = comp.text()
    return Document(
        text=text,
        page=Page(
            segments=tuple(comp.segments),
            title=comp.fields.get("title"),
            byline=comp.fields.get("byline"),
            publisher=comp.fields.get("publisher"),
            section=comp.fields.get("section"),
            canonical_url=record.get("url"),
            language=record.get("language"),
        ),
        derivation=derivation_for(text, EXTRACTOR, __version__, seed_start, seed_end),
        page_dates=PageDates(
            published_at=_day(record.get("published_at")),
            published_source="jsonl-published_at" if record.get("published_at") else None,
            published_raw=record.get("published_at"),
            captured_at=_day(record.get("captured_at")),
        ),
    )


def _day(value: object) -> dt.date | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None
