"""Quality of the audit on the real corpora, read from the tables an audit run wrote.

- article-extraction-benchmark: body extraction against the human-checked article bodies, as precision,
  recall and F1 of word tokens (bag of words, per page, then averaged), as that benchmark's own evaluation does;
- htmldate-en: the articles' published_at against the human-checked publication dates.

    python -m tests.eval_corpus bodies TABLES_DIR GROUND_TRUTH_JSON
    python -m tests.eval_corpus dates TABLES_DIR DATES_JSON
"""

from __future__ import annotations

import json
import re
import statistics
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

_TOKEN = re.compile(r"\w+", re.UNICODE)


def token_scores(predicted: str, gold: str) -> tuple[float, float, float]:
    """Precision, recall and F1 of the multiset of word tokens of a predicted text against the gold text."""
    pred, true = Counter(_TOKEN.findall(predicted.lower())), Counter(_TOKEN.findall(gold.lower()))
    common = sum((pred & true).values())
    p = common / sum(pred.values()) if pred else 0.0
    r = common / sum(true.values()) if true else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _articles_by_path(tables: Path) -> dict[str, dict[str, Any]]:
    seeds = {r["seed_sha256"]: r["path"] for r in pq.read_table(tables / "seeds.parquet").to_pylist()}
    articles = pq.read_table(tables / "articles.parquet", columns=["seed_sha256", "body", "published_at"]).to_pylist()
    return {seeds[a["seed_sha256"]]: a for a in articles}


def body_scores(tables: Path, ground_truth: Path) -> dict[str, float]:
    """Mean token precision, recall and F1 of the articles' bodies; a page with no article scores 0."""
    truth = json.loads(ground_truth.read_text(encoding="utf-8"))
    articles = {Path(path).name.split(".")[0]: a for path, a in _articles_by_path(tables).items()}
    scores = [token_scores(articles[key]["body"] if key in articles else "", item["articleBody"]) for key, item in truth.items()]
    return {
        "pages": len(scores),
        "extracted": sum(1 for key in truth if key in articles),
        "precision": statistics.fmean(s[0] for s in scores),
        "recall": statistics.fmean(s[1] for s in scores),
        "f1": statistics.fmean(s[2] for s in scores),
    }


def date_scores(tables: Path, dates_json: Path) -> dict[str, float]:
    """Share of pages with a gold date whose article's published_at is that day."""
    gold = {item["file"].removeprefix("html/"): item["date"] for item in json.loads(dates_json.read_text()).values()}
    articles = _articles_by_path(tables)
    dated = {f: d for f, d in gold.items() if d}
    hits = sum(1 for f, d in dated.items() if f in articles and str(articles[f]["published_at"]) == d)
    return {"pages": len(dated), "extracted": sum(1 for f in dated if f in articles), "accuracy": hits / len(dated)}


def main(argv: list[str]) -> int:
    """Print the scores of one corpus run."""
    which, tables, truth = argv[0], Path(argv[1]), Path(argv[2])
    scores = body_scores(tables, truth) if which == "bodies" else date_scores(tables, truth)
    print(json.dumps({which: scores}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
