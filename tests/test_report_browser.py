"""The report in a real headless browser (Debian's chromium driven by Playwright): offline, safe, readable, fast."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from audit.cli import main
from audit.report import ReportLimits, write_report
from tests.conftest import SAMPLE, SAMPLE_SHA256
from tests.test_report import _big_verdict

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DATA = Path(__file__).parent / "data" / "report"
SHOTS = Path(__file__).parent / "screenshots"
# every element or attribute a payload in tests/data/report/seeds could inject, if it were not escaped (the
# report's own data files, data/seeds.js and data/findings-<rule>.js, are not counted as scripts)
INJECTED = """() => { const OWN_DATA = /^(\\.\\.\\/)?data\\/(seeds|findings-[A-Za-z0-9_-]+)\\.js$/; return {
  scripts: [...document.querySelectorAll("script")].filter(s => !OWN_DATA.test(s.getAttribute("src") || "")).length,
  on_attrs: [...document.querySelectorAll("*")].filter(e => [...e.attributes].some(a => a.name.startsWith("on"))).length,
  bad: document.querySelectorAll("iframe, img, object, embed, form, textarea, base, meta[http-equiv=refresh], math, svg script, details[ontoggle]").length,
  js_links: document.querySelectorAll("a[href^='javascript:' i], [src^='javascript:' i]").length,
  xss: window.__xss === undefined ? null : window.__xss,
}; }"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Debian chromium; skipped when absent unless AUDIT_REQUIRE_BROWSER=1 (as in CI)."""
    if not CHROMIUM.exists():
        if os.environ.get("AUDIT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing and AUDIT_REQUIRE_BROWSER=1: apt-get install -y chromium")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium to run the browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report over the bundled seed plus text and HTML seeds full of HTML and JavaScript payloads."""
    root = tmp_path_factory.mktemp("browser")
    seeds = root / "seeds"
    seeds.mkdir()
    shutil.copy(SAMPLE, seeds / SAMPLE.name)
    for p in (DATA / "seeds").iterdir():
        shutil.copy(p, seeds / p.name)
    code = main(
        [
            "run",
            str(seeds),
            "--tables",
            str(root / "tables"),
            "--report",
            str(root / "report"),
            "--suites",
            str(DATA / "suites"),
            "--jobs",
            "1",
        ]
    )
    assert code == 1, "the test suites include a critical rule that fails on the sample"
    return root / "report"


class Visit:
    """One page load with every request, console message, page error and dialog recorded."""

    def __init__(self, browser: Any, url: str, js: bool = True, width: int = 1300, height: int = 900) -> None:
        self.context = browser.new_context(
            java_script_enabled=js, viewport={"width": width, "height": height}
        )
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.context.route("**/*", self._route)
        self.page.on(
            "console", lambda m: self.errors.append(m.text) if m.type in ("error", "warning") else None
        )
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", self._dialog)
        self.page.goto(url, wait_until="load")

    def _route(self, route: Any) -> None:
        self.requests.append(route.request.url)
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            route.abort()

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def assert_clean(self) -> None:
        """No request left file://, nothing was logged as an error or warning, no dialog opened."""
        assert [u for u in self.requests if not u.startswith("file://")] == []
        assert self.errors == [] and self.dialogs == []

    def close(self) -> None:
        """Close the page's context."""
        self.context.close()


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


def test_index_shows_verdict_and_hashes_offline(browser: Any, report: Path) -> None:
    """The index loads with no external request and no console error; the verdict and the seed hashes are visible."""
    v = Visit(browser, (report / "index.html").as_uri())
    page = v.page
    assert page.get_by_text("Not publishable", exact=True).is_visible()
    assert page.locator("#verdict").inner_text() == "Not publishable"
    assert page.get_by_text(SAMPLE_SHA256).first.is_visible()
    assert page.locator("ol.bars").count() == 2
    assert page.evaluate(INJECTED)["scripts"] == 1
    _shot(page, "index.png")
    v.assert_clean()
    v.close()


def test_seed_pages_are_safe_and_state_their_hash(browser: Any, report: Path) -> None:
    """Every seed page, payload seeds included, runs nothing injected, makes no request and shows the seed's sha256."""
    pages = sorted((report / "seeds").iterdir())
    assert len(pages) == 3
    for path in pages:
        v = Visit(browser, path.as_uri())
        sha = path.stem
        assert v.page.locator("#seed-sha256").inner_text() == sha
        assert "byte range" in v.page.locator(".proof").inner_text()
        found = v.page.evaluate(INJECTED)
        assert found == {"scripts": 1, "on_attrs": 0, "bad": 0, "js_links": 0, "xss": None}, path.name
        v.page.locator("a.m").first.click()  # selecting a value must not run anything either
        v.assert_clean()
        name = (
            "seed.png" if sha == SAMPLE_SHA256 else f"seed-xss-{v.page.title().split()[1].split('.')[-1]}.png"
        )
        _shot(v.page, name)
        v.close()


def test_payload_text_is_shown_as_text(browser: Any, report: Path) -> None:
    """A seed's <script> and onerror= payloads appear on its page as the characters of the file."""
    index = (report / "index.html").read_text()
    page_of = next(
        p for p in (report / "seeds").iterdir() if "xss.txt" in p.read_text() and p.stem != SAMPLE_SHA256
    )
    v = Visit(browser, page_of.as_uri())
    text = v.page.locator("#seed-text").inner_text()
    assert '<script>window.__xss = 1; alert("script")</script>' in text
    assert "<img src=x onerror=\"window.__xss=2;alert('img')\">" in text
    assert "\u2401\u241b\u2407" in text  # control bytes as visible pictures
    v.assert_clean()
    v.close()
    assert "<script>alert" not in index


def test_selecting_a_value_shows_its_record(browser: Any, report: Path) -> None:
    """Clicking (or pressing Enter on) a highlighted value selects its card, which shows its rule outcomes and byte span."""
    v = Visit(browser, (report / "seeds" / f"{SAMPLE_SHA256}.html").as_uri())
    page = v.page
    mark = page.locator("a.m.number.k-none").first
    rid = mark.get_attribute("data-r")
    mark.focus()
    page.keyboard.press("Enter")
    card = page.locator(f"#r-{rid}")
    assert "sel" in (card.get_attribute("class") or "") and card.is_visible()
    assert "report-number-attributed" in card.inner_text() and "bytes [" in card.inner_text()
    _shot(page, "seed-selected.png")
    v.assert_clean()
    v.close()


def test_essentials_readable_without_javascript(browser: Any, report: Path) -> None:
    """With JavaScript off, the verdict, the hashes, the seed text and a value's card (via its link) all work."""
    v = Visit(browser, (report / "index.html").as_uri(), js=False)
    assert v.page.locator("#verdict").is_visible() and v.page.get_by_text(SAMPLE_SHA256).first.is_visible()
    v.close()
    v = Visit(browser, (report / "seeds" / f"{SAMPLE_SHA256}.html").as_uri(), js=False, width=800)
    assert v.page.locator("#seed-text").is_visible() and v.page.locator("#seed-sha256").is_visible()
    assert v.page.locator("#filters").is_hidden()  # the JS-only controls stay out of the way
    v.page.locator("a.m.number").first.click()
    assert v.page.evaluate("location.hash").startswith("#r-")
    _shot(v.page, "seed-nojs-narrow.png")
    v.close()


def test_large_report_opens_fast(browser: Any, tmp_path: Path) -> None:
    """A run over 100k records with 5,000 findings over 20k seeds gives an index that loads in under 2 s."""
    verdict = _big_verdict(100_000, 5_000, 20_000)
    write_report(tmp_path, verdict, verdict.manifest["seeds"], limits=ReportLimits())
    v = Visit(browser, (tmp_path / "index.html").as_uri())
    started = time.monotonic()
    v.page.reload(wait_until="load")
    elapsed = time.monotonic() - started
    assert elapsed < 2.0, f"index took {elapsed:.2f} s"
    assert (tmp_path / "index.html").stat().st_size < 300_000
    started = time.monotonic()
    v.page.goto((tmp_path / "findings" / "big.html").as_uri() + "#page-10", wait_until="load")
    assert v.page.get_by_text("Findings 4,501–5,000 of 5,000").is_visible()
    assert time.monotonic() - started < 2.0
    assert v.page.locator("#data-rows tbody tr").count() == 500
    _shot(v.page, "findings-page.png")
    v.assert_clean()
    v.close()


def _on_first_screen(locator: Any, height: int) -> bool:
    """Whether the element is drawn, whole, within the first viewport of the page (no scrolling)."""
    box = locator.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height


def _overflow(page: Any) -> int:
    """How many pixels the page is wider than its viewport (0: it never scrolls sideways)."""
    return int(page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth"))


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_first_screen_shows_the_verdict_and_the_first_blocking_finding(
    browser: Any, report: Path, width: int, height: int
) -> None:
    """On a desktop and on a phone, the first screen holds the verdict and the first blocking finding: its sentence with the value highlighted, its seed path and byte span."""
    v = Visit(browser, (report / "index.html").as_uri(), width=width, height=height)
    page = v.page
    assert _on_first_screen(page.locator("#verdict"), height)
    finding = page.locator(".blocking figure.finding").first
    value = finding.locator("blockquote .hl-num")
    assert value.inner_text().strip() and _on_first_screen(value, height)
    where = finding.locator("figcaption")
    assert _on_first_screen(where, height)
    assert re.search(r"\.(txt|html) · bytes \[\d+, \d+\) · record n-", where.inner_text())
    assert page.locator(".blocking h3").first.inner_text().startswith("CRITICAL")
    assert _overflow(page) == 0
    _shot(page, f"index-first-screen-{width}.png")
    page.screenshot(path=str(SHOTS / f"index-first-screen-{width}-viewport.png"))
    v.assert_clean()
    v.close()


def test_nothing_scrolls_sideways_on_a_phone(browser: Any, report: Path, tmp_path: Path) -> None:
    """At 390 px wide, the index, every seed page, a findings page and the seed list fit the width: wide tables stack or scroll inside themselves."""
    verdict = _big_verdict(1_000, 600, 50)
    write_report(tmp_path, verdict, verdict.manifest["seeds"], limits=ReportLimits(seeds_inline=10))
    pages = [
        report / "index.html",
        *sorted((report / "seeds").iterdir()),
        tmp_path / "findings" / "big.html",
        tmp_path / "manifest" / "seeds.html",
    ]
    for path in pages:
        v = Visit(browser, path.as_uri(), width=390, height=844)
        assert _overflow(v.page) == 0, path.name
        v.close()


def test_passing_rules_are_folded_and_open_without_javascript(browser: Any, report: Path) -> None:
    """Passing rules sit in a closed fold under the failing ones; a click opens it, with JavaScript off."""
    v = Visit(browser, (report / "index.html").as_uri(), js=False)
    page = v.page
    failing = page.locator("#rules + p + table.rules tbody tr")
    assert failing.count() >= 1 and failing.first.is_visible()
    passing = page.locator("#rules-passing tbody tr")
    assert passing.count() >= 1 and not passing.first.is_visible()
    page.locator("#rules-passing > summary").click()
    assert passing.first.is_visible() and "pass" in passing.first.inner_text()
    v.close()


def test_a_rule_that_checked_nothing_reads_not_applicable(browser: Any, report: Path) -> None:
    """The critical rule that checks 0 records in a run is folded under "not applicable" and is never called a pass."""
    v = Visit(browser, (report / "index.html").as_uri(), width=390, height=844)
    page = v.page
    page.locator("#rules-na > summary").click()
    row = page.locator("#rules-na tr", has_text="report-link-reextracted")
    assert row.is_visible()
    assert row.locator("td").first.inner_text().strip() == "not applicable"
    assert row.locator("td[data-label=checked]").inner_text().strip() == "0"
    assert page.locator("tr", has_text="report-link-reextracted").count() == 1
    _shot(page, "index-not-applicable-390.png")
    v.assert_clean()
    v.close()


def test_charts_are_readable_on_a_phone(browser: Any, report: Path) -> None:
    """At 390 px wide each bar's label and counts are drawn at full text size, inside the screen's width."""
    v = Visit(browser, (report / "index.html").as_uri(), width=390, height=844)
    texts = v.page.locator("ol.bars .lbl, ol.bars .num")
    assert texts.count() >= 4
    for i in range(texts.count()):
        box = texts.nth(i).bounding_box()
        assert box is not None and box["height"] >= 12 and box["x"] >= 0 and box["x"] + box["width"] <= 390
    v.page.locator("#chart-rules").scroll_into_view_if_needed()
    v.page.screenshot(path=str(SHOTS / "index-charts-390.png"))
    v.close()


# ---------------------------------------------------------------------------------------------------------
# The long lists: findings and seeds as data files the report's own script renders, a page at a time.


@pytest.fixture(scope="module")
def paged_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The browser report's run with lists cut short, so every rule with findings and the seed list have their own data-driven page."""
    import functools

    import audit.finish

    root = tmp_path_factory.mktemp("paged")
    seeds = root / "seeds"
    seeds.mkdir()
    shutil.copy(SAMPLE, seeds / SAMPLE.name)
    for p in (DATA / "seeds").iterdir():
        shutil.copy(p, seeds / p.name)
    short = ReportLimits(findings_inline=2, findings_per_page=3, seeds_inline=1, seeds_per_page=2)
    args = ["run", str(seeds), "--tables", str(root / "t"), "--report", str(root / "r")]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(audit.finish, "write_report", functools.partial(write_report, limits=short))
        assert main([*args, "--suites", str(DATA / "suites"), "--jobs", "1"]) == 1
    return root / "r"


def _shown_rows(v: Visit) -> list[dict[str, Any]]:
    """Each row of the list on the page: its cells' text and its links."""
    return v.page.evaluate(
        """() => [...document.querySelectorAll("#data-rows tbody tr")].map(tr => ({
          cells: [...tr.cells].map(td => td.innerText),
          links: [...tr.querySelectorAll("a")].map(a => a.getAttribute("href")),
          marked: [...tr.querySelectorAll(".hl-num")].map(m => m.textContent),
        }))"""
    )


def _all_pages(v: Visit) -> list[dict[str, Any]]:
    """Every row of every page of the list, following the pager's "next" link to the end."""
    rows = _shown_rows(v)
    page = 1
    while v.page.locator("nav.pager a[rel=next]").count():
        v.page.locator("nav.pager a[rel=next]").first.click()
        page += 1  # the page is drawn again on hashchange, which comes after the click returns
        v.page.wait_for_function(
            "n => document.querySelector('nav.pager .cur').textContent === n", arg=str(page)
        )
        rows += _shown_rows(v)
    return rows


def test_findings_pages_show_every_finding_of_their_data(browser: Any, paged_report: Path) -> None:
    """Page by page, each rule's findings page shows exactly the records of its data file, in order; together they are results.json's failing and waived ids."""
    from audit.report.data import finding_rows, read_data_script

    results = json.loads((paged_report / "results.json").read_text())
    expected = {
        r["rule_id"]: r["failed_ids"] + [w["record_id"] for w in r["waived"]]
        for r in results["rules"]
        if len(r["failed_ids"]) + len(r["waived"]) > 2
    }
    seen = {}
    for path in sorted((paged_report / "findings").iterdir()):
        doc = read_data_script((paged_report / "data" / f"findings-{path.stem}.js").read_text())[1]
        data = finding_rows(doc)
        v = Visit(browser, path.as_uri())
        rows = _all_pages(v)
        assert [r["cells"][0].split("\n")[0] for r in rows] == [rid for rid, _, _ in data], path.name
        marked = [r["marked"] for r in rows]
        assert marked == [
            [doc["sentences"][ev["e"][0]][ev["e"][1] :][: ev["e"][2]]]
            if ev and len(ev.get("e", ())) == 3
            else []
            for _, _, ev in data
        ]
        seen[doc["rule_id"]] = sorted(rid for rid, _, _ in data)
        v.assert_clean()
        v.close()
    assert seen == {k: sorted(ids) for k, ids in expected.items()} and seen


def test_script_rows_match_the_rows_without_javascript(browser: Any, paged_report: Path) -> None:
    """The first rows the script builds from the data read and link exactly as the rows written into the page for readers without JavaScript."""
    for path in [*sorted((paged_report / "findings").iterdir()), paged_report / "manifest" / "seeds.html"]:
        plain = Visit(browser, path.as_uri(), js=False)
        without = _shown_rows(plain)
        plain.close()
        v = Visit(browser, path.as_uri())
        with_js = _shown_rows(v)
        assert without and with_js[: len(without)] == without, path.name
        v.assert_clean()
        v.close()


def test_seed_list_shows_every_seed(browser: Any, paged_report: Path) -> None:
    """The seed list's pages show every seed of the run, with its sha256, the ones with most findings first."""
    results = json.loads((paged_report / "results.json").read_text())
    v = Visit(browser, (paged_report / "manifest" / "seeds.html").as_uri() + "#page-1")
    rows = _all_pages(v)
    assert sorted(r["cells"][2] for r in rows) == sorted(
        s["seed_sha256"] for s in results["manifest"]["seeds"]
    )
    counts = [int(r["cells"][4].replace(",", "") or 0) for r in rows]
    assert counts == sorted(counts, reverse=True)
    v.assert_clean()
    v.close()


def test_a_page_link_opens_that_page(browser: Any, paged_report: Path) -> None:
    """#page-N opens page N, the pager marks it, and going back shows the page before; a page past the end shows the last."""
    path = max((paged_report / "findings").iterdir(), key=lambda p: p.stat().st_size)
    v = Visit(browser, path.as_uri() + "#page-2")
    assert v.page.locator("nav.pager .cur").first.inner_text() == "2"
    assert v.page.locator("#showing").inner_text().startswith("Findings 4–")
    v.page.go_back()  # to about:blank: the page is gone, nothing crashes
    v.page.goto(path.as_uri() + "#page-999")
    last = v.page.locator("nav.pager .cur").first.inner_text()
    assert v.page.locator("nav.pager a[rel=next]").count() == 0 and int(last) >= 2
    _shot(v.page, "findings-page-last.png")
    v.assert_clean()
    v.close()


def test_without_javascript_the_index_lists_the_first_findings_of_every_rule(
    browser: Any, paged_report: Path
) -> None:
    """JavaScript off: the index lists the first findings of every rule with findings, and each findings page its first ones with a note saying where the rest are."""
    results = json.loads((paged_report / "results.json").read_text())
    v = Visit(browser, (paged_report / "index.html").as_uri(), js=False)
    for r in results["rules"]:
        ids = r["failed_ids"] + [w["record_id"] for w in r["waived"]]
        if not ids:
            continue
        section = v.page.locator(f"#rule-{r['rule_id']}")
        if not section.evaluate("d => d.open"):
            section.locator("summary").click()
        shown = section.locator("tbody tr td:first-child code").all_inner_texts()
        assert shown == ids[:2], r["rule_id"]
    v.close()
    for path in sorted((paged_report / "findings").iterdir()):
        v = Visit(browser, path.as_uri(), js=False)
        assert v.page.locator("#data-rows tbody tr").count() == 2
        assert "results.json" in v.page.locator("#showing").inner_text()
        assert v.page.locator("nav.pager").count() == 0
        if path == sorted((paged_report / "findings").iterdir())[0]:
            _shot(v.page, "findings-page-nojs.png")
        v.close()


def test_a_missing_data_file_is_said_not_hidden(browser: Any, paged_report: Path, tmp_path: Path) -> None:
    """A findings page copied without data/, or beside another rule's data, keeps its first rows and says its data file is missing or does not match."""
    page = sorted((paged_report / "findings").iterdir())[0]
    (tmp_path / "findings").mkdir()
    shutil.copy(page, tmp_path / "findings" / page.name)
    v = Visit(browser, (tmp_path / "findings" / page.name).as_uri())
    assert "missing" in v.page.locator("#showing").inner_text()
    assert v.page.locator("#data-rows tbody tr").count() == 2
    assert [e for e in v.errors if "ERR_FILE_NOT_FOUND" not in e] == [] and v.dialogs == []
    v.close()
    # another rule's data in its place is refused the same way
    pages = sorted((paged_report / "findings").iterdir())
    shutil.copytree(paged_report / "data", tmp_path / "data")
    other = (paged_report / "data" / f"findings-{pages[1].stem}.js").read_text()
    (tmp_path / "data" / f"findings-{page.stem}.js").write_text(other)
    v = Visit(browser, (tmp_path / "findings" / page.name).as_uri())
    assert "does not match" in v.page.locator("#showing").inner_text()
    v.assert_clean()
    v.close()
