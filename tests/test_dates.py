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
     "03/04/2022", "February 29", "in 2018", "the 1990s", "3 p.m.", "two weeks", "yesterday", "\n", " ", "İ", ".",
     "last spring", "over the weekend", "a year earlier", "fiscal 2019", "from 1995 to 1997", "the end of May last year",
     "19th century", "early January", "last night", "winter of 2019", "FY19", "her 2008 bid"]
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
        row["span_start"], row["span_end"] = row.pop("start"), row.pop("end")
        row["is_inferred"] = is_inferred(row["resolution"])
        rows.append(row)
    return rows


def _run_suite(name: str, rows: list[dict[str, object]], only: frozenset[str] | None = None) -> dict[str, list[int]]:
    """Failing row indices per rule_id of one suite run by GX on a pandas frame built through Arrow."""
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    import great_expectations as gx
    import pyarrow as pa

    from audit.validate.gx import gx_context

    raw = json.loads((ROOT / "expectations" / f"{name}.json").read_text())
    if only is not None:
        raw["expectations"] = [e for e in raw["expectations"] if e["meta"]["rule_id"] in only]
    suite = gx.ExpectationSuite(**raw)
    assert len(suite.expectations) == len(raw["expectations"])
    context = gx_context()
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
    """The dates suite runs in GX 1.24: the sample passes every rule and doctored rows fail the intended ones
    (a yearless date 340 days outside the story's timeline fails the timeline rule)."""
    _, facts, _ = sample
    rows = _rows(facts)
    assert not any(_run_suite("dates", rows).values())
    n = len(rows)
    late = {**rows[3], "resolution": "absolute", "is_inferred": False, "days_from_published": 5, "after_publication": True,
            "weekday_ok": False}  # fmt: skip
    old_plan = {**rows[3], "role": "plan", "days_from_published": -100, "resolution": "numeric-ambiguous-mdy"}
    line = {**rows[0], "days_from_published": 1}
    far = {**rows[3], "days_outside_timeline": 340}
    failed = _run_suite("dates", [*rows, late, old_plan, line, far])
    assert failed["date-event-not-after-publication"] == [n]
    assert failed["date-weekday-matches"] == [n]
    assert failed["date-plan-not-long-past"] == [n + 1]
    assert failed["date-order-unambiguous"] == [n + 1]
    assert failed["date-publication-lines-agree"] == [n + 2]
    assert failed["date-yearless-within-story-timeline"] == [n + 3]


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


def plain(text: str) -> tuple[tuple[DateFact, ...], Clock]:
    """find_dates on a plain-text seed as the plain-text reader classifies it."""
    from audit.extract.textdump import read_plain_text

    return find_dates(text, read_plain_text(text).segments)


def test_plain_text_byline_date_is_the_publication_date() -> None:
    """'By Sam Lee, The River Gazette, May 14, 2024' gives the byline, the publisher and the publication date."""
    from audit.extract.textdump import read_plain_text

    text = "Council approves plan\n\nBy Sam Lee, The River Gazette, May 14, 2024\n\nThe council voted on Tuesday.\n"
    page = read_plain_text(text)
    assert (page.title and page.title.value, page.byline and page.byline.value) == ("Council approves plan", "Sam Lee")
    assert page.publisher is not None and page.publisher.value == "The River Gazette"
    facts, clock = plain(text)
    assert (clock.published_at, clock.published_method) == (D(2024, 5, 14), "dateline-line")
    assert fact(facts, "on Tuesday").resolved == D(2024, 5, 14)


def test_plain_text_wire_dateline_takes_its_year_from_the_story() -> None:
    """'WASHINGTON, Nov. 19 (Reuters) -' is the publication date; its year is the first after the story's full dates."""
    from audit.extract.textdump import read_plain_text

    text = "Senate passes bill\n\nWASHINGTON, Nov. 19 (Reuters) - The bill, filed on November 20, 2018, passed on Tuesday.\n"
    kinds = [(s.kind, text[s.start : s.end]) for s in read_plain_text(text).segments]
    assert ("dateline", "WASHINGTON, Nov. 19 (Reuters) -") in kinds
    facts, clock = plain(text)
    assert clock.published_at == D(2019, 11, 19)
    assert fact(facts, "Nov. 19").resolution == "yearless-inferred-dateline"
    assert fact(facts, "on Tuesday").resolved == D(2019, 11, 19)


def test_plain_text_without_a_date_leaves_relative_dates_unanchored() -> None:
    """A text with no date line has no publication date, and its relative dates stay unresolved."""
    facts, clock = plain("Senate passes bill\n\nThe Senate passed the bill on Tuesday, two days ago.\n")
    assert (clock.published_at, clock.published_method) == (None, "none")
    assert fact(facts, "on Tuesday").resolution == "relative-no-anchor"
    assert fact(facts, "two days ago").resolved is None


def test_aggregator_title_line_deleted_leaves_title_missing() -> None:
    """Regression: with the title line gone the byline is not promoted to title; a long lone line is a title."""
    from audit.extract.textdump import read_aggregator_text

    no_title = read_aggregator_text(" date 2022-10-04 X\nPolitics\n\nBy Ann Lee\nNews\n 5 days ago\n\nText.\n")
    assert (no_title.title, no_title.byline and no_title.byline.value) == (None, "Ann Lee")
    no_section = read_aggregator_text(" date 2022-10-04 X\nPutin's plan backfires at the border\n\nBy Ann Lee\n\nText.\n")
    assert no_section.title is not None and no_section.section is None


def test_yearless_date_far_outside_the_story_timeline_is_measured() -> None:
    """'By October 22 ... had entered' in an October 4 story about late September lands a year back, 71 days
    before the story's timeline (which reaches back to the publication year's first day); 'October 2' and
    'March 3' (in the year of publication, as a yearless date should be) sit inside it; a yearless date
    with no past tense is not judged against the timeline."""
    facts, _ = story(
        "2022-10-04",
        "Crowds gathered on September 27, 2022. By October 22, 12,000 had entered. By October 2, 9,000 had left. "
        "The law was passed on March 3. Talks start on May 9.",
    )
    assert (fact(facts, "October 22").resolved, fact(facts, "October 22").days_outside_timeline) == (D(2021, 10, 22), 71)
    assert fact(facts, "October 2").days_outside_timeline == 0
    assert fact(facts, "March 3").days_outside_timeline == 0
    assert fact(facts, "May 9").days_outside_timeline is None  # no past tense: the text does not place it back
    assert fact(facts, "September 27, 2022").days_outside_timeline is None


@pytest.mark.parametrize(
    ("published", "body", "text", "resolved", "resolved_end"),
    [
        ("2022-10-05", "He spoke on Wednesday.", "on Wednesday", D(2022, 10, 5), None),
        ("2022-10-05", "They will meet on Wednesday.", "on Wednesday", D(2022, 10, 12), None),
        ("2016-09-26", "On Monday, the site announced it will rate both.", "On Monday", D(2016, 9, 26), None),
        ("2016-09-20", "It was weaker than in 2015 and the 1951 treaty.", "1951", D(1951, 1, 1), D(1951, 12, 31)),
        ("2016-09-20", "A 2014 study found it.", "2014", D(2014, 1, 1), D(2014, 12, 31)),
        ("2016-09-12", "He led it from 1995 to 1997.", "1995 to 1997", D(1995, 1, 1), D(1997, 12, 31)),
        ("2016-09-12", "Sales rose in fiscal 2019.", "fiscal 2019", D(2019, 1, 1), D(2019, 12, 31)),
        ("2022-10-04", "Prices fell last spring.", "last spring", D(2022, 3, 1), D(2022, 5, 31)),
        ("2022-04-10", "Prices fell last spring.", "last spring", D(2021, 3, 1), D(2021, 5, 31)),
        ("2022-10-04", "Talks stalled during the winter of 2019.", "winter of 2019", D(2019, 12, 1), D(2020, 2, 29)),
        ("2016-09-20", "It grew over the past decade.", "past decade", D(2006, 9, 20), D(2016, 9, 20)),
        ("2016-09-20", "Mills closed in the 19th century.", "19th century", D(1800, 1, 1), D(1899, 12, 31)),
        ("2016-09-20", "Mills closed in the 1800s.", "1800s", D(1800, 1, 1), D(1899, 12, 31)),
        ("2016-09-28", "Something went on last night.", "last night", D(2016, 9, 27), None),
        ("2022-10-04", "Protesters gathered over the weekend.", "over the weekend", D(2022, 10, 1), D(2022, 10, 2)),
        ("2022-10-04", "It closed at the end of May last year.", "the end of May last year", D(2021, 5, 21), D(2021, 5, 31)),
        ("2024-05-14", "Work will start in early January.", "early January", D(2025, 1, 1), D(2025, 1, 10)),
        ("2024-05-14", "The law takes effect in early January.", "early January", D(2025, 1, 1), D(2025, 1, 10)),
        ("2016-09-30", "A poll released in late August found it.", "late August", D(2016, 8, 21), D(2016, 8, 31)),
        ("2016-09-12", "It will expire at the end of this month.", "the end of this month", D(2016, 9, 21), D(2016, 9, 30)),
        ("2016-09-12", "It opened on November 20, 2018, and a year earlier it was planned.", "a year earlier",
         D(2017, 11, 20), None),
        ("2016-09-26", "The statement by Trump on June 11: it was wrong.", "June 11", D(2016, 6, 11), None),
        ("2019-11-20", "The summit ran Nov. 3-5, 2019, in Bangkok.", "Nov. 3-5, 2019", D(2019, 11, 3), D(2019, 11, 5)),
        ("2019-11-20", "The summit ran Nov. 3-5 in Bangkok.", "Nov. 3-5", D(2019, 11, 3), D(2019, 11, 5)),
    ],
)  # fmt: skip
def test_expressions_resolve_to_the_granularity_given(
    published: str, body: str, text: str, resolved: D, resolved_end: D | None
) -> None:
    """Weekdays, bare and fiscal years, ranges, seasons, decades, centuries, parts of day, weekends, parts of a
    month and offsets from the previous date resolve to the interval the text gives and no finer."""
    facts, _ = story(published, body)
    f = [x for x in facts if text in x.text]
    assert len(f) == 1, [x.text for x in facts]
    assert (f[0].resolved, f[0].resolved_end) == (resolved, resolved_end)


LOCAL_PAGE = """<html><head><meta property="article:published_time" content="2023-11-09T02:11:03+00:00">
<title>Two stabbed</title></head><body><article><h1>Two stabbed</h1>
<time datetime="2023-11-08T21:11:03-05:00">November 8, 2023</time><p>Police are investigating.</p>
</article></body></html>"""


def test_utc_metadata_written_in_local_time_too_gives_the_local_date() -> None:
    """Metadata in UTC (the 9th, 02:11Z) and the same instant in local time beside the byline (the 8th, 21:11
    -05:00): the publication date is the publisher's calendar date, the 8th."""
    page = page_dates_from_html(LOCAL_PAGE, captured_at=D(2023, 12, 1))
    assert (page.published_at, page.published_source) == (D(2023, 11, 8), "html-local-date")


def test_placeholder_and_unreadable_published_claims() -> None:
    """A placeholder datePublished (0001-01-01) is dropped; a non-ISO one is read and outweighs htmldate within a year."""
    from audit.extract.date_html import explicit_date, published_claims

    html = '{"datePublished": "0001-01-01T00:00:00Z", "x": 1} {"datePublished": "Tue, Sep 15 2020 10:01:41 EDT"}'
    claims = published_claims(html)
    assert [(c.day, c.iso) for c in claims] == [(D(2020, 9, 15), False)]
    assert explicit_date(D(2020, 5, 20), claims) == D(2020, 9, 15)
    assert explicit_date(D(2017, 5, 20), claims) is None


def test_visible_published_label_wins() -> None:
    """'Published: Monday, November 18th, 2019' on the page is the publication date, not a date quoted in the story."""
    html = """<html><head><title>Fact check</title></head><body><article><h1>Fact check</h1>
    <p>"Drugs are coming across the border." - a statement on Sunday, October 13th, 2019 in a newspaper</p>
    <p>The claim is mostly true.</p><p>Published: Monday, November 18th, 2019 at 11:08 a.m.</p></article></body></html>"""
    page = page_dates_from_html(html, captured_at=D(2019, 12, 1))
    assert (page.published_at, page.published_source) == (D(2019, 11, 18), "html-published-label")


def test_utc_claim_at_midday_names_its_day() -> None:
    """A UTC datePublished at 10:04Z is the 9th in every zone from UTC-10 to UTC+10, so it outweighs an answer a
    day off; at 02:54Z (the evening before in America) it does not."""
    from audit.extract.date_html import Claim, explicit_date

    midday = Claim("2020-07-09T10:04:04Z", D(2020, 7, 9), 0, True, 10)
    night = Claim("2020-05-02T02:54:29Z", D(2020, 5, 2), 0, True, 2)
    assert explicit_date(D(2020, 7, 8), [midday]) == D(2020, 7, 9)
    assert explicit_date(D(2020, 5, 1), [night]) is None


def test_date_before_the_updated_stamp_is_the_publication_date() -> None:
    """'January 19, 2020 / 12:25 PM / Updated 8 hours ago' dates the story the 19th, whatever the metadata says."""
    html = """<html><head><meta property="og:article:published_time" content="2020-01-20T09:49:32+0000">
    <title>Parasite wins</title></head><body><article><h1>Parasite wins</h1>
    <div>Entertainment News</div><div>January 19, 2020 / 12:25 PM / Updated 8 hours ago</div>
    <p>The cast celebrated backstage.</p></article></body></html>"""
    page = page_dates_from_html(html, captured_at=D(2020, 2, 1))
    assert (page.published_at, page.published_source) == (D(2020, 1, 19), "html-published-label")


@pytest.mark.parametrize("body", ["The 2000 troops left.", "She wrote a 1800-word essay.", "Their 1900 students voted."])
def test_a_count_after_a_determiner_is_not_a_year(body: str) -> None:
    """Regression: 'the 2000 troops' and 'a 1800-word essay' are counts, not years (the number analyser keeps them)."""
    facts, _ = story("2016-09-20", body)
    assert not [f for f in facts if f.form == "year"]


def test_yearless_dateline_with_nothing_to_date_it_stays_a_date_line() -> None:
    """'WASHINGTON, Nov. 19 (Reuters) -' over a story with no full date: an unresolved publication line
    (which date-line-resolved reports), not a story event, and no publication date."""
    facts, clock = plain("Senate passes bill\n\nWASHINGTON, Nov. 19 (Reuters) - The Senate passed the bill on Tuesday.\n")
    line = fact(facts, "Nov. 19")
    assert (line.role, line.resolved, line.resolution) == ("publication", None, "yearless-no-anchor")
    assert clock.published_at is None
