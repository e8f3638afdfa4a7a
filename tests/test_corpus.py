"""Real pages: five captured news pages from article-extraction-benchmark audited end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from audit.cli import main
from audit.config import ValidateConfig
from audit.fsio import sha256_bytes, sha256_file
from audit.pipeline import validate_tables
from audit.validate import provenance
from audit.validate import seeds as seed_files
from tests.conftest import SUITES, run_args
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


def _rules(report: Path) -> dict[str, Any]:
    return {r["rule_id"]: r for r in json.loads((report / "results.json").read_text())["rules"]}


def test_run_checks_the_texts_it_derived_and_validate_derives_them_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`run` checks its tables against the texts its own extraction derived (no second trafilatura pass for
    these five pages, none of whose digests is in the re-derived sample); `validate` derives all five again
    and reaches the same results, rule by rule, finding by finding."""
    derived_again: list[str] = []
    rederive = seed_files._rederive

    def counted(seed: Any) -> dict[str, bytes]:
        derived_again.append(seed.seed_sha256)
        return rederive(seed)

    monkeypatch.setattr(seed_files, "_rederive", counted)
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for page in CORPUS.glob("*.html.gz"):
        shutil.copy(page, seeds / page.name)
    assert not any(sha256_file(p).startswith(seed_files.SAMPLE_PREFIX) for p in seeds.iterdir())
    main(run_args(tmp_path, seeds, SUITES))
    assert derived_again == []
    again = tmp_path / "validated"
    # one job: the checks run in this process, where the count is kept
    validate = ["validate", "--tables", str(tmp_path / "tables"), "--report", str(again), "--suites", str(SUITES)]
    main([*validate, "--jobs", "1"])
    assert len(derived_again) == 5
    ran, validated = _rules(tmp_path / "report"), _rules(again)
    for rule_id in [r for r in ran if r.endswith("-matches-reextraction")]:
        # validate extracts every seed again (run does not: it has just extracted them)
        assert validated[rule_id]["passed"] and validated[rule_id]["n_checked"] > ran[rule_id]["n_checked"] == 0
        del ran[rule_id]["n_checked"], validated[rule_id]["n_checked"]
    assert ran == validated


def test_kept_texts_are_keyed_by_their_bytes_bounded_and_sampled() -> None:
    """Texts are keyed by the sha256 of their bytes; a seed whose texts pass the memory limit keeps none
    (validation derives them again), and a seed in the sample is never kept."""
    one, two, sampled = "a" * 64, "b" * 64, seed_files.SAMPLE_PREFIX + "c" * 63
    batch = pa.table(
        {"seed_sha256": [one, two, two, sampled], "text": ["first text", "second", "x" * 40, "sampled text"]}
    )
    kept = seed_files.DerivedTexts(limit=30)
    kept.add(batch)
    assert kept.of(one) == {sha256_bytes(b"first text"): b"first text"}
    assert kept.of(two) is None  # "second" fitted, the 40-byte text did not: none of the seed's texts kept
    assert kept.of(sampled) is None
    assert kept.of("f" * 64) is None


def test_a_stored_text_unlike_the_one_the_run_derived_fails(corpus_run: tuple[Path, int], tmp_path: Path) -> None:
    """The in-run check is not vacuous: a derived text that differs from what the run's extraction made (here,
    one word changed in the kept copy) fails text-rederives-from-seed, and spans into it no longer match."""
    tmp, _ = corpus_run
    texts = pq.read_table(tmp / "tables" / "texts.parquet")
    victim = texts.column("seed_sha256")[0].as_py()
    changed = [t.replace(" the ", " a ", 1) if s == victim else t for s, t in
               zip(texts.column("seed_sha256").to_pylist(), texts.column("text").to_pylist(), strict=True)]
    kept = seed_files.DerivedTexts()
    kept.add(texts.set_column(texts.column_names.index("text"), "text", pa.array(changed)))
    config = ValidateConfig(tables_dir=tmp / "tables", report_dir=tmp_path / "report", suites_dir=SUITES,
                            waivers_path=None, seeds_dir=tmp / "seeds")
    rules = {r.rule_id: r for r in validate_tables(config, derived=kept).results}
    assert [f.seed_sha256 for f in rules["text-rederives-from-seed"].findings] == [victim]
    assert not rules["article-span-matches-seed"].passed


def test_each_page_is_derived_once_for_every_table(
    corpus_run: tuple[Path, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Validation derives each page's text again once, not once per table, even when the seed cache holds
    fewer pages than the run has (five pages, a cache of two; six tables point into the texts)."""
    tmp, _ = corpus_run
    derived: list[str] = []
    rederive = seed_files._rederive

    def counted(seed: Any) -> dict[str, bytes]:
        derived.append(seed.seed_sha256)
        return rederive(seed)

    monkeypatch.setattr(seed_files, "_rederive", counted)
    rows = pq.read_table(tmp / "tables" / "seeds.parquet").to_pylist()
    paths = {r["seed_sha256"]: r["path"] for r in rows}
    seeds = seed_files.SeedCache(tmp / "seeds", paths, size=2)
    names = ["articles", "blocks", "numbers", "links", "dates", "texts"]
    order = {sha: i for i, sha in enumerate(paths)}
    found = provenance.tables_provenance(tmp / "tables", names, seeds, order, dict.fromkeys(names, True))
    assert sorted(derived) == sorted(paths)
    assert all(all(found[name]["span_ok"].to_pylist()) for name in names)
