"""Tests for the date analyser: facts, resolution methods, the story's clock, HTML evidence and the suites."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.extract.dates import Clock, DateFact, find_dates, is_inferred, page_dates_from_html
from audit.extract.segments import KINDS, Segment
from tests.test_linkcheck import LoopbackServer

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data" / "dates"
SAMPLE = ROOT / "seeds" / "000_9fc08baae7766353.txt"
D = dt.date


def build(*lines: tuple[str, str]) -> tuple[str, list[Segment]]:
    """A text of one line per (kind, text) pair, with a segment per line."""
    text, segments = "", []
    for kind, line in lines:
        segments.append(Segment(len(text), len(text) + len(line), kind))
        text += line + "\n"
    return text, segments


def story(page_date: str | None, body: str, age: str | None = None) -> tuple[tuple[DateFact, ...], Clock]:
    """find_dates on an aggregator-like page: a page date line, a relative age line and one paragraph."""
    lines = [("page-date", f"date {page_date}")] if page_date else []
    lines += [("title", "A headline"), *([("relative-date", age)] if age else []), ("body", body)]
    text, segments = build(*lines)
    return find_dates(text, segments)


def fact(facts: tuple[DateFact, ...], text: str) -> DateFact:
    """The one fact whose text is `text`."""
    found = [f for f in facts if f.text == text]
    assert len(found) == 1, [f.text for f in facts]
    return found[0]


@pytest.fixture(scope="module")
def sample() -> tuple[str, tuple[DateFact, ...], Clock]:
    """The bundled seed's text, facts and clock (segments as the aggregator reader classified them)."""
    text = SAMPLE.read_text(encoding="utf-8")
    segments = [Segment(*s) for s in json.loads((DATA / "sample_segments.json").read_text())["segments"]]
    facts, clock = find_dates(text, segments)
    return text, facts, clock


def test_sample_clock(sample: tuple[str, tuple[DateFact, ...], Clock]) -> None:
    """The sample's page date is the publication date (story: 'on Tuesday', 'By October 2') and '5 days ago' dates the capture."""
    _, facts, clock = sample
    assert (clock.published_at, clock.captured_at) == (D(2022, 10, 4), D(2022, 10, 9))
    assert clock.published_method == "page-date-line"
    assert clock.captured_method == "page-date-line-plus-relative-age"
    assert clock.conflicts == ()
    assert clock.published_index is not None and facts[clock.published_index].text == "2022-10-04"
    assert clock.captured_index is not None and facts[clock.captured_index].text == "5 days ago"


def test_sample_facts(sample: tuple[str, tuple[DateFact, ...], Clock]) -> None:
    """Every date in the sample story resolves with the expected method, anchor and role."""
    _, facts, _ = sample
    got = {(f.text, f.resolved, f.resolved_end, f.resolution, f.role) for f in facts}
    assert ("September 21", D(2022, 9, 21), None, "yearless-inferred-past", "event") in got
    assert ("September 27, 2022", D(2022, 9, 27), None, "absolute", "event") in got
    assert ("on Tuesday", D(2022, 10, 4), None, "weekday-in-week-before-published", "event") in got
    assert ("Last week", D(2022, 9, 26), D(2022, 10, 2), "relative-to-published", "event") in got
    assert ("October 2", D(2022, 10, 2), None, "yearless-inferred-past", "event") in got
    assert ("the morning after", D(2022, 9, 22), None, "relative-to-previous-mention", "event") in got
    assert ("5 days ago", D(2022, 10, 4), None, "relative-to-captured", "publication") in got
    assert fact(facts, "Two Weeks").duration_days == 14
    assert not any(f.after_publication for f in facts)


def test_sample_spans_stay_in_main_story(sample: tuple[str, tuple[DateFact, ...], Clock]) -> None:
    """No fact comes from the related-article teasers ('by Oct. 10' there is not the story's)."""
    text, facts, _ = sample
    end_of_story = text.index("Comments / 19")
    assert all(f.end <= end_of_story for f in facts)
    assert all(text[f.start : f.end] == f.text for f in facts)


def test_page_date_read_as_capture_when_story_says_so() -> None:
    """When the story's weekdays fit 'page date minus age' better, the page date is read as the capture date and flagged."""
    facts, clock = story(
        "2022-10-09",
        "The minister said on Tuesday that talks failed. Officials met again on Tuesday evening. "
        "On Tuesday the army confirmed it.",
        age="5 days ago",
    )
    assert (clock.published_at, clock.captured_at) == (D(2022, 10, 4), D(2022, 10, 9))
    assert clock.published_method == "page-date-line-as-capture-minus-relative-age"
    assert fact(facts, "2022-10-09").role == "capture"
    assert any("fits the story dates better" in c for c in clock.conflicts)


def test_story_date_after_publication_is_a_conflict() -> None:
    """An event dated after the only publication evidence is kept as a fact and flagged as a conflict."""
    facts, clock = story("2022-10-04", "The court ruled on October 12, 2022, that the law stands.")
    assert clock.published_at == D(2022, 10, 4)
    assert fact(facts, "October 12, 2022").after_publication is True
    assert any("October 12, 2022" in c for c in clock.conflicts)


def test_deadline_and_plan_roles() -> None:
    """'by Oct. 10' with an order is a deadline, 'will ... on Friday' a plan; neither counts as a late event."""
    facts, clock = story(
        "2022-10-04",
        "Japan ordered the consul to leave by Oct. 10, officials said. The envoy will return on Friday.",
    )
    deadline = fact(facts, "Oct. 10")
    assert (deadline.role, deadline.resolved, deadline.after_publication) == (
        "deadline",
        D(2022, 10, 10),
        True,
    )
    plan = fact(facts, "on Friday")
    assert (plan.role, plan.resolved) == ("plan", D(2022, 10, 7))
    assert clock.conflicts == ()


def test_by_date_with_past_perfect_is_an_event() -> None:
    """Regression: 'By October 2, 12,000 had entered' is a count as of a past date, not a deadline."""
    facts, _ = story("2022-10-04", "By October 2, at least 12,000 Russians had entered Mongolia.")
    assert fact(facts, "October 2").role == "event"


@pytest.mark.parametrize(
    ("published", "body", "text", "resolved", "method"),
    [
        ("2024-03-10", "Records fell on February 29, 2024.", "February 29, 2024", D(2024, 2, 29), "absolute"),
        ("2025-03-10", "It opened on February 29.", "February 29", D(2024, 2, 29), "yearless-inferred-past"),
        ("2023-03-10", "It opened on February 29, 2023.", "February 29, 2023", None, "invalid-date"),
        ("2023-01-05", "Shops closed on December 28.", "December 28", D(2022, 12, 28), "yearless-inferred-past"),
        ("2022-12-20", "The school will reopen on January 3.", "January 3", D(2023, 1, 3),
         "yearless-inferred-nearest"),
        ("2022-12-20", "The company announced on January 3 that it had cut jobs.", "January 3", D(2022, 1, 3),
         "yearless-inferred-past"),
        ("2022-12-30", "The vote took place January 3.", "January 3", D(2023, 1, 3),
         "yearless-inferred-near-future"),
        ("2022-04-10", "The form was filed on 03/04/2022.", "03/04/2022", D(2022, 4, 3), "numeric-ambiguous-dmy"),
        ("2022-04-10", "The form was filed on 13/03/2022.", "13/03/2022", D(2022, 3, 13), "numeric-dmy"),
        ("2022-04-10", "The form was filed on 03/13/2022.", "03/13/2022", D(2022, 3, 13), "numeric-mdy"),
        ("2022-04-10", "The form was filed on 05/05/2022.", "05/05/2022", D(2022, 5, 5), "numeric-mdy"),
        ("2022-10-04", "It happened 21 September 2022.", "21 September 2022", D(2022, 9, 21), "absolute"),
        ("2022-10-04", "Two days ago the law passed.", "Two days ago", D(2022, 10, 2), "relative-to-published"),
        ("2022-10-04", "It was signed yesterday.", "yesterday", D(2022, 10, 3), "relative-to-published"),
    ],
)  # fmt: skip
def test_resolution_edge_cases(published: str, body: str, text: str, resolved: D | None, method: str) -> None:
    """Leap days, year boundaries, ambiguous day/month orders and relative words resolve as documented."""
    facts, clock = story(published, body)
    assert clock.published_at == D.fromisoformat(published)
    f = fact(facts, text)
    assert (f.resolved, f.resolution) == (resolved, method)


def test_near_future_yearless_event_is_after_publication() -> None:
    """A December 30 story with an event on 'January 3' resolves to the coming January 3 and is flagged."""
    facts, clock = story("2022-12-30", "The vote took place January 3.")
    assert fact(facts, "January 3").after_publication is True
    assert clock.conflicts


@pytest.mark.parametrize(
    ("body", "text", "ok"),
    [
        ("It began on Wednesday, September 21, 2022.", "Wednesday, September 21, 2022", True),
        ("It began on Tuesday, September 21, 2022.", "Tuesday, September 21, 2022", False),
        ("It began on Tue, 04 Oct 2022 at noon.", "Tue, 04 Oct 2022", True),
    ],
)
def test_weekday_beside_date(body: str, text: str, ok: bool) -> None:
    """A weekday named beside a full date is checked against that date."""
    facts, _ = story("2022-10-04", body)
    f = fact(facts, text)
    assert f.weekday_ok is ok


def test_weekday_names_resolve_in_week_before_publication() -> None:
    """'on Monday' in a Tuesday story is yesterday; 'last Tuesday' is a week back; 'next Monday' is ahead."""
    facts, _ = story("2022-10-04", "He spoke on Monday. They met last Tuesday. They will meet next Monday.")
    assert fact(facts, "on Monday").resolved == D(2022, 10, 3)
    assert fact(facts, "last Tuesday").resolved == D(2022, 9, 27)
    assert fact(facts, "next Monday").resolved == D(2022, 10, 10)


def test_no_date_evidence_gives_no_clock() -> None:
    """Without date lines or metadata, published_at is None and story dates stay unanchored."""
    facts, clock = story(None, "It opened on September 21 and closed on Tuesday.")
    assert (clock.published_at, clock.published_method) == (None, "none")
    assert fact(facts, "September 21").resolved is None


def test_dateline_updated_cue() -> None:
    """A dateline reading 'Published ... Updated ...' yields the publication and the update dates."""
    text, segments = build(
        ("dateline", "Published Oct. 4, 2022 Updated Oct. 6, 2022"), ("body", "Talks ended on Monday.")
    )
    facts, clock = find_dates(text, segments)
    assert (clock.published_at, clock.updated_at) == (D(2022, 10, 4), D(2022, 10, 6))
    assert fact(facts, "Oct. 6, 2022").role == "updated"


HTML_TZ = """<html><head><meta property="article:published_time" content="{stamp}">
<title>t</title></head><body><article><p>Text of the story.</p></article></body></html>"""


@pytest.mark.parametrize(
    ("stamp", "day", "offset"),
    [
        ("2020-02-20T23:30:00-05:00", D(2020, 2, 20), -300),
        ("2020-02-21T04:30:00Z", D(2020, 2, 21), 0),
        ("2020-02-21T09:00:00+05:30", D(2020, 2, 21), 330),
    ],
)
def test_html_time_zones(stamp: str, day: D, offset: int) -> None:
    """HTML metadata dates are the publisher's wall-clock date as written, with the UTC offset recorded."""
    page = page_dates_from_html(HTML_TZ.format(stamp=stamp), captured_at=D(2020, 3, 1))
    assert (page.published_at, page.utc_offset_minutes) == (day, offset)


def test_html_dates_never_after_capture() -> None:
    """A metadata date after the pinned capture date is not accepted, so the answer never depends on today."""
    page = page_dates_from_html(HTML_TZ.format(stamp="2020-02-20T10:00:00Z"), captured_at=D(2020, 1, 1))
    assert page.published_at is None or page.published_at <= D(2020, 1, 1)


def test_page_metadata_feeds_the_clock() -> None:
    """With page metadata and no date line, the clock takes the metadata's date and the story is checked against it."""
    page = page_dates_from_html(HTML_TZ.format(stamp="2020-02-20T23:30:00-05:00"), captured_at=D(2020, 3, 1))
    text, segments = build(("body", "The bill passed on Wednesday, February 19, 2020."))
    facts, clock = find_dates(text, segments, page=page)
    assert (clock.published_at, clock.captured_at) == (D(2020, 2, 20), D(2020, 3, 1))
    assert clock.published_method.startswith("html-meta")
    assert fact(facts, "Wednesday, February 19, 2020").weekday_ok is True


CORPUS = sorted(DATA.glob("*.html.gz"))


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_corpus_pages(path: Path) -> None:
    """Real pages from the htmldate-en corpus: the decided publication date is the gold date."""
    gold = json.loads((DATA / "corpus_gold.json").read_text())[path.name]
    html = gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace")
    page = page_dates_from_html(html, url=gold["url"])
    _, clock = find_dates("", [], page=page)
    assert clock.published_at == D.fromisoformat(gold["date"])


segments_strategy = st.lists(
    st.tuples(st.integers(0, 300), st.integers(0, 80), st.sampled_from(sorted(KINDS))), max_size=8
)
date_words = st.sampled_from(
    ["September 21", "on Tuesday", "5 days ago", "2022-10-04", "by Oct. 10", "last week", "the morning after",
     "03/04/2022", "February 29", "in 2018", "the 1990s", "3 p.m.", "two weeks", "yesterday", "\n", " ", "İ", "."]
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(
    text=st.one_of(st.text(max_size=300), st.lists(date_words, max_size=40).map(" ".join)),
    raw_segments=segments_strategy,
)
def test_find_dates_never_crashes(text: str, raw_segments: list[tuple[int, int, str]]) -> None:
    """On any text and any segments, find_dates returns facts whose text is text[start:end]."""
    segments = [Segment(min(a, len(text)), min(a + n, len(text)), k) for a, n, k in raw_segments]
    facts, clock = find_dates(text, segments)
    assert all(text[f.start : f.end] == f.text and f.start < f.end for f in facts)
    assert clock.published_at is None or isinstance(clock.published_at, D)


def _rows(facts: tuple[DateFact, ...]) -> list[dict[str, object]]:
    rows = []
    for f in facts:
        row = {name: getattr(f, name) for name in f.__slots__}
        row["span_start"], row["span_end"], row["block_kind"] = (
            row.pop("start"),
            row.pop("end"),
            row.pop("segment_kind"),
        )
        row["is_inferred"] = is_inferred(row["resolution"])
        rows.append(row)
    return rows


def _run_suite(name: str, rows: list[dict[str, object]], only: frozenset[str] | None = None) -> dict[str, list[int]]:
    """Failing row indices per rule_id of one suite run by GX on a pandas frame built through Arrow."""
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    import great_expectations as gx
    import pyarrow as pa

    raw = json.loads((ROOT / "expectations" / f"{name}.json").read_text())
    if only is not None:
        raw["expectations"] = [e for e in raw["expectations"] if e["meta"]["rule_id"] in only]
    suite = gx.ExpectationSuite(**raw)
    assert len(suite.expectations) == len(raw["expectations"])
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = gx.data_context.types.base.ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas("p").add_dataframe_asset("a")
    batch = asset.add_batch_definition_whole_dataframe("b").get_batch(
        batch_parameters={"dataframe": pa.Table.from_pylist(rows).to_pandas()}
    )
    result = batch.validate(suite, result_format={"result_format": "COMPLETE"})
    assert all(not r.exception_info.get("raised_exception") for r in result.results)
    return {
        r.expectation_config.meta["rule_id"]: sorted(r.result.get("unexpected_index_list") or [])
        for r in result.results
    }


@pytest.mark.slow
def test_dates_suite_on_facts(sample: tuple[str, tuple[DateFact, ...], Clock]) -> None:
    """The dates suite runs in GX 1.24: the sample passes every rule and doctored rows fail the intended ones."""
    _, facts, _ = sample
    rows = _rows(facts)
    assert not any(_run_suite("dates", rows).values())
    n = len(rows)
    late = {**rows[3], "resolution": "absolute", "is_inferred": False, "days_from_published": 5, "after_publication": True,
            "weekday_ok": False}  # fmt: skip
    old_plan = {**rows[3], "role": "plan", "days_from_published": -100, "resolution": "numeric-ambiguous-mdy"}
    line = {**rows[0], "days_from_published": 1}
    failed = _run_suite("dates", [*rows, late, old_plan, line])
    assert failed["date-event-not-after-publication"] == [n]
    assert failed["date-weekday-matches"] == [n]
    assert failed["date-plan-not-long-past"] == [n + 1]
    assert failed["date-order-unambiguous"] == [n + 1]
    assert failed["date-publication-lines-agree"] == [n + 2]


@pytest.mark.slow
def test_articles_dates_suite() -> None:
    """The article-level date rules fail an article published before 1995, after capture, or undated."""
    rows = [
        {"published_at": D(2022, 10, 4), "captured_at": D(2022, 10, 9), "updated_at": None, "n_date_conflicts": 0},
        {"published_at": D(1990, 1, 1), "captured_at": D(1989, 1, 1), "updated_at": D(1989, 6, 1),
         "n_date_conflicts": 1},
        {"published_at": None, "captured_at": None, "updated_at": None, "n_date_conflicts": 0},
    ]  # fmt: skip
    date_rules = frozenset({"article-has-published-at", "article-published-after-1995", "article-published-not-after-capture",
                            "article-updated-not-before-published", "article-updated-not-after-capture",
                            "article-dates-consistent", "article-has-captured-at"})
    failed = _run_suite("articles", rows, only=date_rules)
    assert failed["article-has-published-at"] == [2]
    assert failed["article-published-after-1995"] == [1]
    assert failed["article-published-not-after-capture"] == [1]
    assert failed["article-updated-not-before-published"] == [1]
    assert failed["article-dates-consistent"] == [1]


def test_a_page_that_looks_like_a_url_is_never_fetched() -> None:
    """htmldate downloads a string that starts with "http" and holds no space, taking it for a URL; the page
    text below (tabs and newlines, no spaces) names a loopback server, which must see no request."""
    server = LoopbackServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        page = server.url("/page") + "\n<html><head><title>T</title></head><body><article><p>Text\twritten"
        page += "\ton\t3\tMarch\t2021.</p></article></body></html>"
        page_dates_from_html(page)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert server.hits == {}
