"""Link extraction and offline checks: spans, roles, syntax, IDN, credentials, unwrapping, duplicates, suite."""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.extract.build import carried
from audit.extract.links import (
    LinkFact,
    LinkRole,
    check_syntax,
    find_links,
    link_from_markup,
    mark_duplicates,
    unwrap_url,
)
from audit.extract.segments import Segment
from audit.records import PROVENANCE_COLUMNS, Link

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "seeds" / "000_9fc08baae7766353.txt"
SUITE = REPO / "expectations" / "links.json"


def sample_text() -> str:
    """The bundled sample seed, decoded."""
    return SAMPLE.read_text(encoding="utf-8")


def line_segment(text: str, line: str, kind: str) -> Segment:
    """A segment covering the first line of the text equal to ``line`` (stripped)."""
    pos = 0
    for raw in text.splitlines(keepends=True):
        if raw.strip() == line:
            start = pos + raw.index(line)
            return Segment(start, start + len(line), kind)
        pos += len(raw)
    raise AssertionError(f"no line {line!r}")


def sample_segments(text: str) -> list[Segment]:
    """Segments as a reader would give them for the lines that hold links."""
    return [
        line_segment(text, "https://img.particlenews.com/image.php?url=4TD4nd_0iLT5yif00", "image"),
        line_segment(text, "msn.com", "teaser-source"),
        line_segment(text, "americanmilitarynews.com", "teaser-source"),
        line_segment(text, "iheart.com", "teaser-source"),
        line_segment(text, "https://www.newsweek.com", "publisher-home"),
    ]


def test_sample_seed_links_and_roles() -> None:
    """The sample seed yields its image proxy URL, three teaser-source domains and the publisher's home."""
    text = sample_text()
    got = [(f.text, f.role, f.url, f.registrable_domain) for f in find_links(text, sample_segments(text))]
    assert got == [
        ("https://img.particlenews.com/image.php?url=4TD4nd_0iLT5yif00", "image",
         "https://img.particlenews.com/image.php?url=4TD4nd_0iLT5yif00", "particlenews.com"),
        ("msn.com", "teaser-source", "https://msn.com/", "msn.com"),
        ("americanmilitarynews.com", "teaser-source", "https://americanmilitarynews.com/", "americanmilitarynews.com"),
        ("iheart.com", "teaser-source", "https://iheart.com/", "iheart.com"),
        ("https://www.newsweek.com", "publisher-home", "https://www.newsweek.com", "newsweek.com"),
    ]  # fmt: skip


def test_sample_seed_facts() -> None:
    """Every sample link passes the offline checks, spans round-trip, and the image proxy is marked opaque."""
    text = sample_text()
    facts = find_links(text, sample_segments(text))
    assert all(f.syntax_ok and not f.is_duplicate and text[f.start : f.end] == f.text for f in facts)
    image = facts[0]
    assert (image.unwrapped_url, image.wrapper, image.block_kind) == (None, "opaque-param:url", "image")


def test_links_outside_segments_are_kept() -> None:
    """Without segments every link is still found, with role 'page' and block kind 'unsegmented'."""
    facts = find_links(sample_text(), [])
    assert len(facts) == 5
    assert {(f.role, f.block_kind) for f in facts} == {("page", "unsegmented")}


def test_roles_follow_block_kinds() -> None:
    """A URL in a body paragraph is inline; in a teaser's text it is a teaser link."""
    text = "See https://example.com/a now.\nMore at example.org/b."
    segments = [Segment(0, 31, "body"), Segment(31, len(text), "teaser-text")]
    assert [(f.text, f.role) for f in find_links(text, segments)] == [
        ("https://example.com/a", "inline"),
        ("example.org/b", "teaser"),
    ]


@pytest.mark.parametrize(
    "text, found",
    [
        ("(see https://en.wikipedia.org/wiki/Foo_(bar)).", ["https://en.wikipedia.org/wiki/Foo_(bar)"]),
        ("Read it at bbc.co.uk/news, then stop.", ["bbc.co.uk/news"]),
        ("“https://example.com/q?a=1”", ["https://example.com/q?a=1"]),
        ("Go to www.Example.com.", ["www.Example.com"]),
        ("Mail editor@newsweek.com today", []),
        ("U.S. officials, e.g. in St. Petersburg, said 2.0 or 1.5.", []),
        ("open report.pdf or index.html", []),
        (
            "a URL in a URL: https://a.example.com/x?next=b.example.org",
            ["https://a.example.com/x?next=b.example.org"],
        ),
        ("visit https://bücher.de/straße!", ["https://bücher.de/straße"]),
    ],
)
def test_boundaries_in_prose(text: str, found: list[str]) -> None:
    """URLs and domains are cut at prose punctuation; e-mail, abbreviations and file names are not links."""
    assert [f.text for f in find_links(text, [])] == found


@pytest.mark.parametrize(
    "url, ok, code",
    [
        ("https://www.newsweek.com/path?q=1#frag", True, None),
        ("http://example.co.uk", True, None),
        ("ftp://example.com/file", False, "scheme-not-allowed"),
        ("mailto:editor@example.com", False, "scheme-not-allowed"),
        ("javascript:alert(1)", False, "scheme-not-allowed"),
        ("//example.com/a", False, "bad-syntax"),
        ("https://example.com/a b", False, "bad-character"),
        ("https://example.com/a<b", False, "bad-character"),
        ("https://example.com/%zz", False, "bad-percent-escape"),
        ("https://example.com:99999/", False, "bad-syntax"),
        ("https://example.com/#a#b", False, "bad-syntax"),
        ("https://-bad-.com/", False, "bad-host"),
        ("https://a..com/", False, "bad-host"),
        ("https://user:secret@example.com/", False, "credentials"),
        ("https://localhost/", False, "no-registrable-domain"),
        ("http://10.0.0.1/", False, "no-registrable-domain"),
        ("https://[::1]/", False, "no-registrable-domain"),
        ("https://example.invalid/", False, "no-registrable-domain"),
        ("https://co.uk/", False, "no-registrable-domain"),
    ],
)
def test_check_syntax_cases(url: str, ok: bool, code: str | None) -> None:
    """Each offline check gives its own stable code and a human-readable reason."""
    facts = check_syntax(url)
    assert (facts.syntax_ok, facts.syntax_error_code) == (ok, code)
    assert (facts.syntax_error is None) is ok


def test_idn_hosts_are_normalised() -> None:
    """Unicode, upper-case and full-width hosts become their lower-case A-label; a bad A-label fails."""
    assert check_syntax("https://BÜCHER.de/x").host == "xn--bcher-kva.de"
    assert check_syntax("https://ｅｘａｍｐｌｅ.com/").registrable_domain == "example.com"
    assert check_syntax("https://www.xn--bcher-kva.de/").registrable_domain == "xn--bcher-kva.de"
    bad = check_syntax("https://xn--zz.com/")
    assert bad.syntax_error_code == "bad-host" and "internationalised" in (bad.syntax_error or "")


def test_credentials_are_flagged_whatever_else_holds() -> None:
    """has_credentials is set for a user name alone, and the host facts are still reported."""
    facts = check_syntax("https://token@example.com/feed")
    assert facts.has_credentials and facts.syntax_error_code == "credentials"
    assert (facts.host, facts.registrable_domain) == ("example.com", "example.com")


@pytest.mark.parametrize(
    "url, unwrapped, wrapper",
    [
        ("https://img.particlenews.com/image.php?url=4TD4nd_0iLT5yif00", None, "opaque-param:url"),
        ("https://www.google.com/url?q=https%3A%2F%2Fexample.com%2Fa%3Fb%3D1&sa=D",
         "https://example.com/a?b=1", "param:q"),
        ("https://l.facebook.com/l.php?u=https%3A%2F%2Fnam.safelinks.protection.outlook.com%2F%3Furl%3D"
         "https%253A%252F%252Fexample.org%252Fx", "https://example.org/x", "param:u+param:url"),
        ("https://proxy.example.net/fetch/https://example.org/img.png", "https://example.org/img.png", "path"),
        ("https://www.google.com/amp/s/example.com/story.amp", "https://example.com/story.amp", "amp"),
        ("https://example.com/search?q=putin", None, None),
        ("https://example.com/plain", None, None),
    ],
)  # fmt: skip
def test_unwrap(url: str, unwrapped: str | None, wrapper: str | None) -> None:
    """Redirect, tracking and proxy wrappers are unwrapped (nested too); an opaque proxy id is only named."""
    assert unwrap_url(url) == (unwrapped, wrapper)


def test_unwrapped_form_is_kept_beside_the_link() -> None:
    """A wrapped link keeps the URL as written and the target it wraps."""
    (fact,) = find_links("https://t.example.net/r?url=https%3A%2F%2Fnews.example.org%2Fstory", [])
    assert (
        fact.url.startswith("https://t.example.net/")
        and fact.unwrapped_url == "https://news.example.org/story"
    )


def test_duplicates_are_flagged_after_the_first() -> None:
    """The same normalised URL again (case, default port, fragment, bare form) is a duplicate."""
    text = (
        "https://Example.com/a and https://example.com:443/a#top and example.com/a and https://example.com/b"
    )
    assert [f.is_duplicate for f in find_links(text, [])] == [False, True, True, False]


def test_markup_links_resolve_and_combine() -> None:
    """An href from markup resolves against the base URL and joins the duplicate check with text links."""
    markup = link_from_markup(
        start=0, end=9, text="/a?x=1#f", raw_url="/a?x=1#f", role=LinkRole.CANONICAL,
        block_kind="head", base_url="https://example.com/news/",
    )  # fmt: skip
    assert (markup.url, markup.role, markup.syntax_ok) == ("https://example.com/a?x=1#f", "canonical", True)
    text_fact = find_links("xxxxxxxxxx https://example.com/a?x=1", [])[0]
    assert [f.is_duplicate for f in mark_duplicates([text_fact, markup])] == [False, True]


URL_PIECES = [*"ab.c/:?=#%@-_ ()[]w\n\tä1xn-", "https://", "www.", ".com", "%2F", "?url=", "xn--"]
URLISH = st.lists(st.sampled_from(URL_PIECES), max_size=40).map("".join)


@st.composite
def text_and_segments(draw: st.DrawFn) -> tuple[str, list[Segment]]:
    """Arbitrary text, sometimes URL-like, with arbitrary (possibly overlapping, out-of-range) segments."""
    text = draw(st.one_of(st.text(), URLISH))
    bounds = st.integers(min_value=-3, max_value=len(text) + 3)
    kinds = st.sampled_from(["body", "image", "teaser-source", "publisher-home", "boilerplate"])
    segments = draw(st.lists(st.builds(Segment, bounds, bounds, kinds), max_size=5))
    return text, segments


@settings(max_examples=300, deadline=None)
@given(text_and_segments())
def test_find_links_never_crashes_and_spans_round_trip(case: tuple[str, list[Segment]]) -> None:
    """On any text and any segments, extraction does not raise and text[start:end] == fact.text."""
    text, segments = case
    facts = find_links(text, segments)
    for fact in facts:
        assert text[fact.start : fact.end] == fact.text and fact.start < fact.end
        assert fact.syntax_ok is (fact.syntax_error is None)
    assert [f.start for f in facts] == sorted(f.start for f in facts)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), URLISH.map(lambda s: "https://" + s)))
def test_check_syntax_never_crashes(url: str) -> None:
    """check_syntax answers every string with facts, never an exception."""
    facts = check_syntax(url)
    assert facts.syntax_ok is (facts.syntax_error_code is None)


# --- the links suite, run by Great Expectations 1.24 on a frame of Link records ---------------------------


def link_row(fact: LinkFact, n: int, **live: Any) -> dict[str, Any]:
    """A Link record (as a dict) for an extracted fact, offline unless live fields are given."""
    link = Link(
        **carried(fact, Link), link_id=f"l-{n}", article_id="a-1", seed_sha256="0" * 64, span_start=fact.start,
        span_end=fact.end, status="not_checked",
    )  # fmt: skip
    return dataclasses.asdict(dataclasses.replace(link, **live))


def _with_provenance(frame: Any) -> Any:
    """The columns validation adds by re-reading the seeds, here all true: these tests are about link facts."""
    for column in PROVENANCE_COLUMNS:
        frame[column] = True
    return frame


def failed_rules(rows: list[dict[str, Any]]) -> set[str]:
    """rule_ids of the links suite that fail on these rows."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    import pandas as pd

    from audit.validate.gx import gx_context

    raw = json.loads(SUITE.read_text(encoding="utf-8"))
    context = gx_context()
    with warnings.catch_warnings():
        # GX >= 1.9 deprecates condition_parser="pandas"; it still works in the pinned 1.24 (DESIGN.md)
        warnings.simplefilter("ignore", DeprecationWarning)
        suite = gx.ExpectationSuite(**raw)
        assert len(suite.expectations) == len(raw["expectations"])  # GX drops what it cannot build
        batch = (
            context.data_sources.add_pandas("links")
            .add_dataframe_asset("links")
            .add_batch_definition_whole_dataframe("all")
            .get_batch(batch_parameters={"dataframe": _with_provenance(pd.DataFrame(rows))})
        )
        result = batch.validate(suite)
    assert not [r for r in result.results if r.exception_info.get("raised_exception")]
    return {r.expectation_config.meta["rule_id"] for r in result.results if not r.success}


@pytest.fixture(scope="module")
def sample_rows() -> list[dict[str, Any]]:
    """Offline Link rows for the sample seed plus one inline article link."""
    text = sample_text() + "\nSee https://www.newsweek.com/putin-mobilization-1747640 for more."
    segments = [*sample_segments(text), Segment(len(sample_text()) + 1, len(text), "body")]
    return [link_row(f, i) for i, f in enumerate(find_links(text, segments))]


def test_suite_passes_offline_facts(sample_rows: list[dict[str, Any]]) -> None:
    """Offline (status not_checked) the sample's links fail no rule but the info rule on the opaque proxy."""
    assert failed_rules(sample_rows) == {"link-wrapper-target-known"}


def test_suite_flags_live_and_syntax_problems(sample_rows: list[dict[str, Any]]) -> None:
    """A broken or redirected article link, an unreachable image and a credentialed URL fail their rules."""
    rows = [dict(r) for r in sample_rows]
    inline = next(r for r in rows if r["role"] == "inline")
    image = next(r for r in rows if r["role"] == "image")
    inline.update(status="broken", http_status=404, checked_at="2026-01-01T00:00:00+00:00")
    image.update(status="timeout", checked_at="2026-01-01T00:00:00+00:00")
    redirected = dict(inline, link_id="l-r", status="redirected", http_status=200)
    bad = link_row(check_and_fact("https://user:pw@example.com/x"), 99)
    assert failed_rules([*rows, redirected, bad]) == {
        "link-wrapper-target-known", "link-article-not-broken", "link-image-reachable",
        "link-article-redirected", "link-no-credentials", "link-article-syntax-valid",
    }  # fmt: skip


def check_and_fact(url: str) -> LinkFact:
    """An inline LinkFact for a URL in a body paragraph."""
    (fact,) = find_links(url, [Segment(0, len(url), "body")])
    return fact
