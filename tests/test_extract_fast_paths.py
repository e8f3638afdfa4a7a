"""Fast paths of extraction give exactly what the plain code they replace gives."""

from __future__ import annotations

import hashlib
import random
from enum import StrEnum

import pytest

from audit import records
from audit.extract import links
from audit.extract.date_patterns import PATTERNS, has_trigger
from audit.extract.offsets import ByteMap, make_id, span_id
from audit.extract.segments import Segment
from audit.store import SPECS, to_batch

_PIECES = [
    "http://",
    "https://ex.com/a",
    "www.bbc.co.uk",
    "x.org",
    ".",
    "a.b",
    "://",
    " ",
    "\n",
    "é.ü",
    "x.中国",
    "1.5",
    "said",
]


def _unfiltered(text: str, segments: list[Segment]) -> tuple[links.LinkFact, ...]:
    """find_links without the hint prefilter: every region scanned."""
    facts = [
        links._fact(s, e, text[s:e], url, links.role_for_kind(kind).value, kind)
        for r_start, r_end, kind in links._regions(text, segments)
        for s, e, url in links._matches(text, r_start, r_end)
    ]
    return links.mark_duplicates(facts)


@pytest.mark.parametrize("seed", range(20))
def test_links_prefilter_finds_what_a_scan_of_every_region_finds(seed: int) -> None:
    rng = random.Random(seed)
    text = "".join(rng.choice(_PIECES) for _ in range(60))
    # segments cut anywhere, also through '://' and 'a.b', with gaps and overlaps
    segments = []
    for _ in range(12):
        a, b = sorted(rng.sample(range(len(text) + 1), 2))
        segments.append(Segment(a, b, rng.choice(["body", "image", "navigation"])))
    assert links.find_links(text, segments) == _unfiltered(text, segments)


def test_trigger_check_is_any_substring() -> None:
    rng = random.Random(5)
    groups = [p.triggers for p in PATTERNS if p.triggers] + [("aaaa", "baaa", "caa", "daa", "a")]
    for _ in range(20_000):
        chunk = "".join(rng.choice("0123456789 apm.noidght") for _ in range(rng.randrange(12)))
        for triggers in groups:
            assert has_trigger(chunk, triggers) == any(t in chunk for t in triggers)


@pytest.mark.parametrize("text_sha", [None, "ab" * 32])
def test_span_id_is_make_id_of_the_span(text_sha: str | None) -> None:
    span = records.Span(start=3, end=17)
    assert span_id("n", "f" * 64, text_sha, span) == make_id("n", "f" * 64, text_sha, 3, 17)


class _Kind(StrEnum):
    BODY = "body"


def test_a_str_enum_is_stored_and_digested_as_its_plain_string() -> None:
    def block(kind: str) -> records.Block:
        return records.Block(
            block_id="b-1", article_id="a-1", seed_sha256="0" * 64, span_start=0, span_end=4, text="text",
            kind=kind, position=0, is_main=True,
        )  # fmt: skip

    plain, enum = to_batch(SPECS["blocks"], [block("body")]), to_batch(SPECS["blocks"], [block(_Kind.BODY)])
    assert plain.equals(enum)
    row = plain.to_pylist()[0]
    values = tuple(v for k, v in row.items() if k != "record_sha256")
    assert row["record_sha256"] == hashlib.sha256(repr(values).encode("utf-8")).hexdigest()


_CHARS = "ab \n\x7f\x80é€’日本Тек😀\ud800\udfff"


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "UTF8", "cp1252", "utf-16-le"])
def test_byte_map_gives_each_offset_its_byte_offset(seed: int, encoding: str) -> None:
    """Every character offset maps to the length of the text before it, encoded (the UTF-8 table is built
    from the encoded bytes at once; the other encodings character by character)."""
    rng = random.Random(seed)
    pool = _CHARS if encoding.lower().startswith("utf") else "ab \n\x7féü€’"
    text = "".join(rng.choice(pool) for _ in range(rng.randint(0, 80)))
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    bmap = ByteMap(text, encoding)
    shift = 3 if encoding == "utf-8-sig" else 0
    for i in range(len(text) + 1):
        assert bmap.byte(i) == len(text[:i].encode(codec, "surrogatepass")) + shift
