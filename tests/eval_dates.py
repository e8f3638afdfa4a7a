"""Evaluate the date analyser on three sets; prints the share right and, with --show-misses, each miss.

    python -m tests.eval_dates [htmldate] [--with-text]   # 278 htmldate-en pages: published_at == gold day
    python -m tests.eval_dates unseen                     # 25 held-out benchmark pages, tests/gold/dates/unseen_pages.json
    python -m tests.eval_dates intext [--split tune|held-out|all]   # in-text dates, tests/gold/dates/intext_polnear_dev.json

``htmldate`` reads the page's metadata only (``--with-text`` also gives the clock the page's main text as
the real reader derives it); ``unseen`` runs the real HTML reader. ``intext`` resolves the dates in PolNeAR dev
articles (plain text) against the publication date in the corpus's metadata.tsv, given as a page-date line,
and counts a gold expression right when a date fact covering it has the gold first and last day.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import time
from pathlib import Path

from audit.extract.dates import find_dates, page_dates_from_html
from audit.extract.html import read_html
from audit.extract.segments import Segment
from audit.extract.textdump import read_plain_text

SHARED = Path(os.environ.get("AUDIT_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "corpus"))
GOLD = Path(__file__).resolve().parent / "gold" / "dates"


def published_at(html: str, url: str, with_text: bool) -> dt.date | None:
    """The clock's published_at for one page: from its metadata, or (with_text) as the real reader sees it."""
    if with_text:
        doc = read_html(html, len(html.encode("utf-8")))
        if isinstance(doc, str):
            return page_dates_from_html(html, url=url).published_at
        return find_dates(doc.text, doc.page.segments, page=doc.page_dates)[1].published_at
    return find_dates("", [], page=page_dates_from_html(html, url=url))[1].published_at


def score_pages(pages: list[tuple[str, str, str]], with_text: bool, show: bool) -> tuple[int, int, int]:
    """(right, no date, total) over (file, url, gold date) triples."""
    right = missing = 0
    for path, url, gold in pages:
        html = gzip.decompress(Path(path).read_bytes()).decode("utf-8", errors="replace")
        found = published_at(html, url, with_text)
        right += str(found) == gold
        missing += found is None
        if show and str(found) != gold:
            print(f"miss {Path(path).name} gold={gold} found={found} {url[:80]}")
    return right, missing, len(pages)


def htmldate_pages(corpus: Path) -> list[tuple[str, str, str]]:
    """The htmldate-en pages that have a gold date."""
    gold = json.loads((corpus / "dates.json").read_text())
    return [(str(corpus / e["file"]), url, e["date"]) for url, e in sorted(gold.items()) if e["date"]]


def unseen_pages(corpus: Path) -> list[tuple[str, str, str]]:
    """The 25 hand-dated article-extraction-benchmark pages."""
    gold = json.loads((GOLD / "unseen_pages.json").read_text())["pages"]
    return [(str(corpus / e["file"]), e["url"], e["date"]) for _, e in sorted(gold.items())]


def score_intext(corpus: Path, split: str, show: bool) -> tuple[int, int, int]:
    """(right, not found, total) over the gold in-text dates of the chosen split."""
    gold = json.loads((GOLD / "intext_polnear_dev.json").read_text())["articles"]
    right = missing = total = 0
    for name, article in sorted(gold.items()):
        if split != "all" and article["split"] != split:
            continue
        line = f"date {article['published']}\n"
        body = (corpus / "dev" / "text" / f"{name}.txt").read_text(encoding="utf-8")
        shifted = [Segment(s.start + len(line), s.end + len(line), s.kind) for s in read_plain_text(body).segments]
        facts, _ = find_dates(line + body, [Segment(0, len(line) - 1, "page-date"), *shifted])
        for g in article["dates"]:
            if body[g["start"] : g["end"]] != g["text"]:
                raise SystemExit(f"{name}: the gold span {g['start']}-{g['end']} is not {g['text']!r}: a different corpus?")
            start, end = g["start"] + len(line), g["end"] + len(line)
            cover = [f for f in facts if f.start < end and start < f.end]
            want = (g["resolved"], g["resolved_end"] or g["resolved"])
            got = [(str(f.resolved), str(f.resolved_end or f.resolved)) for f in cover]
            total += 1
            right += want in got
            missing += not cover
            if show and want not in got:
                print(f"miss {name[:40]} {g['text']!r} gold={want} found={got}")
    return right, missing, total


def main(argv: list[str] | None = None) -> int:
    """Score one set and print the share right."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("set", nargs="?", default="htmldate", choices=["htmldate", "unseen", "intext"])
    parser.add_argument("--corpus", type=Path, help="the set's corpus directory (default: under ../shared/corpus)")
    parser.add_argument("--with-text", action="store_true", help="htmldate: give the clock the page's main text too")
    parser.add_argument("--split", default="all", choices=["tune", "held-out", "all"], help="intext: which articles")
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.set == "intext":
        right, missing, n = score_intext(args.corpus or SHARED / "polnear", args.split, args.show_misses)
        print(f"in-text dates ({args.split}): {n}")
        print(f"resolved right: {right} ({right / n:.2%}); not found: {missing}; wrong: {n - right - missing}")
        return 0
    if args.set == "unseen":
        pages = unseen_pages(args.corpus or SHARED / "article-extraction-benchmark")
        right, missing, n = score_pages(pages, True, args.show_misses)
    else:
        pages = htmldate_pages(args.corpus or SHARED / "htmldate-en")
        right, missing, n = score_pages(pages, args.with_text, args.show_misses)
    print(f"pages with a gold date: {n}")
    print(f"published_at == gold: {right} ({right / n:.2%}); no date: {missing}; wrong date: {n - right - missing}")
    print(f"{(time.perf_counter() - started) / n * 1000:.1f} ms per page")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
