"""Real pages: five captured news pages from article-extraction-benchmark audited end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from audit.cli import main
from tests.conftest import run_args
from tests.eval_corpus import body_scores, token_scores

CORPUS = Path(__file__).parent / "data" / "corpus"


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """The audit of the five pages (gzip-compressed HTML) with the repository's suites."""
    tmp = tmp_path_factory.mktemp("corpus")
    seeds = tmp / "seeds"
    seeds.mkdir()
    for page in CORPUS.glob("*.html.gz"):
        shutil.copy(page, seeds / page.name)
    code = main(run_args(tmp, seeds, Path(__file__).parent.parent / "expectations"))
    return tmp, code


def test_every_page_yields_an_article_with_a_derived_text(corpus_run: tuple[Path, int]) -> None:
    """Each page is extracted; its article's spans point into a derived text whose derivation is recorded."""
    tmp, _ = corpus_run
    seeds = pq.read_table(tmp / "tables" / "seeds.parquet").to_pylist()
    assert {s["status"] for s in seeds} == {"extracted"} and {s["format"] for s in seeds} == {"html+gzip"}
    texts = pq.read_table(tmp / "tables" / "texts.parquet").to_pylist()
    articles = pq.read_table(tmp / "tables" / "articles.parquet").to_pylist()
    assert len(texts) == len(articles) == 5
    assert {t["extractor"] for t in texts} == {"trafilatura"}
    assert {a["text_sha256"] for a in articles} == {t["text_sha256"] for t in texts}


def test_provenance_holds_for_real_pages(corpus_run: tuple[Path, int]) -> None:
    """No provenance rule fails: every span reproduces its text, every derived text re-derives from its page."""
    tmp, _ = corpus_run
    results = json.loads((tmp / "report" / "results.json").read_text())
    provenance = [r for r in results["rules"] if r["rule_id"].endswith(("-span-matches-seed", "-seed-hash-matches",
                                                                       "-record-unchanged", "rederives-from-seed"))]
    assert provenance and all(r["passed"] for r in provenance), [r["rule_id"] for r in provenance if not r["passed"]]


def test_bodies_match_the_human_checked_text(corpus_run: tuple[Path, int]) -> None:
    """Body extraction reaches a mean token F1 of at least 0.9 against the benchmark's ground truth."""
    tmp, _ = corpus_run
    scores = body_scores(tmp / "tables", CORPUS / "ground-truth.json")
    assert scores["extracted"] == 5 and scores["f1"] >= 0.9, scores


def test_verdict_and_exit_code_agree(corpus_run: tuple[Path, int]) -> None:
    """The exit code is the report's verdict, and the report names the derived text of each page."""
    tmp, code = corpus_run
    results = json.loads((tmp / "report" / "results.json").read_text())
    assert code == (0 if results["passed"] else 1)
    texts = pq.read_table(tmp / "tables" / "texts.parquet").to_pylist()
    pages = " ".join(p.read_text() for p in (tmp / "report" / "seeds").glob("*.html"))
    assert all(t["text_sha256"] in pages for t in texts)


def test_token_scores() -> None:
    """Token precision and recall count repeated words as a multiset, case-insensitively."""
    assert token_scores("the cat the", "The cat sat") == (2 / 3, 2 / 3, 2 / 3)
    assert token_scores("", "anything") == (0.0, 0.0, 0.0)
