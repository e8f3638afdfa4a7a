"""Realistic defects made in a copy of the bundled seed fail a rule of their own family, through the real pipeline.

Each case edits one thing in the sample seed, runs ``audit run`` on the copy, and compares the findings
(table, rule, row text) with those of the clean seed: the edit must add the finding its family's rule
should make, and every finding it adds must be about the defect's own table (numbers, links, dates,
articles; the article-level date rules count as dates): nothing else moves.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from audit.cli import main
from tests.conftest import SAMPLE, run_args

pytestmark = pytest.mark.slow

KEYS = {"articles": "article_id", "numbers": "number_id", "links": "link_id", "dates": "date_id"}
TEXT = {"articles": "title", "numbers": "text", "links": "text", "dates": "text"}


def findings(tmp_path: Path, seed_text: str) -> set[tuple[str, str, str]]:
    """(table, rule_id, text of the failing row) for every finding of a run on one seed with this text."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / SAMPLE.name).write_text(seed_text, encoding="utf-8")
    main(run_args(tmp_path, seeds, SAMPLE.parent.parent / "expectations"))
    results = json.loads((tmp_path / "report" / "results.json").read_text())
    texts: dict[str, str] = {}
    for table, key in KEYS.items():
        for row in pq.read_table(tmp_path / "tables" / f"{table}.parquet").to_pylist():
            texts[row[key]] = str(row[TEXT[table]])
    return {(r["table"], r["rule_id"], texts.get(i, i)) for r in results["rules"] for i in r["failed_ids"]}


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> set[tuple[str, str, str]]:
    """The findings of the unedited bundled seed."""
    return findings(tmp_path_factory.mktemp("clean"), SAMPLE.read_text(encoding="utf-8"))


def edit(old: str, new: str) -> str:
    """The sample seed's text with one exact passage replaced."""
    text = SAMPLE.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    return text.replace(old, new)


# the article-level date rules belong to the date family as well (a story date after publication is a conflict)
ALSO = {("dates", "article-dates-consistent")}

CASES = {
    "attribution-removed": (
        # a paragraph of its own, so that no quote, paragraph or report scope can carry another source to it
        edit("had entered Mongolia, according to border officials.", "had entered Mongolia."),
        "numbers",
        ("number-has-source", "12,000"),
    ),
    "link-scheme-mistyped": (
        edit("https://img.particlenews.com/image.php", "htps://img.particlenews.com/image.php"),
        "links",
        ("link-article-syntax-valid", "htps://img.particlenews.com/image.php?url=4TD4nd_0iLT5yif00"),
    ),
    "date-into-the-future": (
        edit("on September 27, 2022.", "on September 27, 2023."),
        "dates",
        ("date-event-not-after-publication", "September 27, 2023"),
    ),
    "date-outside-the-timeline": (
        edit("By October 2, at least", "By October 22, at least"),
        "dates",
        ("date-yearless-within-story-timeline", "October 22"),
    ),
    "title-line-deleted": (
        edit("Putin's Mobilization Backfires as 370,000 Flee Russia in Two Weeks\n\n", ""),
        "articles",
        ("article-has-title", "None"),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_defect_fails_its_own_family(case: str, clean: set[tuple[str, str, str]], tmp_path: Path) -> None:
    """The edited seed adds its family's expected finding, and findings about its own table only."""
    text, table, expected = CASES[case]
    added = findings(tmp_path, text) - clean
    assert (table, *expected) in added, sorted(added)
    assert all(t == table or (table, r) in ALSO for t, r, _ in added), sorted(added)


def test_title_deletion_is_not_hidden_by_promoting_another_line(tmp_path: Path) -> None:
    """Regression: with the title line gone, the byline stays the byline (no line is promoted to title)."""
    text, _, _ = CASES["title-line-deleted"]
    found = findings(tmp_path, text)
    assert ("articles", "article-has-byline", "None") not in found
    assert ("articles", "article-has-title", "None") in found


def test_clean_seed_fails_no_date_or_article_rule(clean: set[tuple[str, str, str]]) -> None:
    """The clean seed has no finding from the date and article families (the defects' rules stay quiet)."""
    assert not {f for f in clean if f[0] in ("dates", "articles")}, sorted(clean)
