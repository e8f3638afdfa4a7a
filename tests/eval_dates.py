"""Evaluate published_at on the htmldate-en corpus (283 real English pages with gold publication dates).

Run: ``python -m tests.eval_dates [--corpus DIR] [--with-text] [--show-misses]``. Prints accuracy (exact day)
over the pages with a gold date, how often no date was found, and the per-page cost. ``--with-text`` also
feeds the page's main text (trafilatura) and its story dates to the clock.
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
from audit.extract.segments import Segment

CORPUS = Path(os.environ.get("AUDIT_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "corpus")) / "htmldate-en"


def evaluate_page(html: str, url: str, with_text: bool) -> dt.date | None:
    """The clock's published_at for one page, from its metadata (and optionally its main text)."""
    page = page_dates_from_html(html, url=url)
    text, segments = "", []
    if with_text:
        import trafilatura

        text = trafilatura.extract(html, url=url) or ""
        segments = [Segment(0, len(text), "body")] if text else []
    _, clock = find_dates(text, segments, page=page)
    return clock.published_at


def main(argv: list[str] | None = None) -> int:
    """Score every page with a gold date and print the accuracy."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--with-text", action="store_true")
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args(argv)
    gold = json.loads((args.corpus / "dates.json").read_text())
    n = hits = missing = 0
    started = time.perf_counter()
    for url, entry in sorted(gold.items()):
        if entry["date"] is None:
            continue
        html = gzip.decompress((args.corpus / entry["file"]).read_bytes()).decode("utf-8", errors="replace")
        found = evaluate_page(html, url, args.with_text)
        n += 1
        hits += found == dt.date.fromisoformat(entry["date"])
        missing += found is None
        if args.show_misses and found != dt.date.fromisoformat(entry["date"]):
            print(f"miss {entry['file']} gold={entry['date']} found={found} {url[:80]}")
    elapsed = time.perf_counter() - started
    print(f"pages with a gold date: {n}")
    print(
        f"published_at == gold: {hits} ({hits / n:.1%}); no date: {missing}; wrong date: {n - hits - missing}"
    )
    print(f"{elapsed / n * 1000:.1f} ms per page")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
