"""Records: every table's rows round-trip through Arrow, facts become records by their shared fields, and a
column has one name and one type wherever it appears."""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import shutil
import types
import typing
from typing import Any

import pytest

from audit.extract import ExtractOptions, read_documents
from audit.extract.build import carried
from audit.extract.dates import DateFact, find_dates
from audit.extract.links import LinkFact, find_links
from audit.extract.number_fact import NumberFact
from audit.extract.numbers import default_policy_path, find_numbers, load_policy
from audit.extract.segments import Segment
from audit.ingest import DEFAULT_LIMITS, ingest_seed
from audit.process import seed_records
from audit.records import DateMention, Extraction, Link, LiveResult, NumberMention, Seed, SeedRow, Span
from audit.store import DIGEST_COLUMN, SPECS, TABLES, TableSpec, record_digest, to_batch
from tests.conftest import ROOT, SAMPLE

POLICY = load_policy(default_policy_path())
HTML_SEED = next((ROOT / "tests" / "data" / "corpus").glob("*.html.gz"))

# each fact and the record it becomes; the fields the record gets from elsewhere than the fact: ids, byte
# spans and what only the document knows (build places them), or left to the record's default
FACT_RECORDS = {
    NumberFact: (
        NumberMention,
        {
            "number_id", "article_id", "seed_sha256", "span_start", "span_end", "sentence", "sentence_span",
            "source_span", "cue_span", "source_named_span", "components", "linked_number_id", "text_sha256",
        },
    ),
    DateFact: (
        DateMention,
        {"date_id", "article_id", "seed_sha256", "span_start", "span_end", "is_inferred", "text_sha256"},
    ),
    LinkFact: (
        Link,
        {
            "link_id", "article_id", "seed_sha256", "span_start", "span_end", "text_sha256",
            # live facts, set only when links are checked
            "status", "http_status", "final_url", "n_redirects", "checked_at", "error", "redirect_chain",
            "soft_404",
        },
    ),
}  # fmt: skip


def _in_record(name: str, record: type) -> str | None:
    """The record field an extraction-only fact field becomes: a character range ``X_start``/``X_end`` the
    byte span ``X_span`` (``start``/``end``: ``span_start``/``span_end``), an index of another fact
    ``X_index``/``X_indices`` an id or ids; None for what no record keeps (the policy's ``contexts``)."""
    columns = {f.name for f in dataclasses.fields(record)}
    if name in ("start", "end"):
        return f"span_{name}"
    if name.endswith(("_start", "_end")):
        return name.rsplit("_", 1)[0] + "_span"
    if name.endswith("_indices"):
        return name.removesuffix("_indices") + "s"
    if name.endswith("_index"):
        return next(c for c in columns if c.startswith(name.removesuffix("_index")) and c.endswith("_id"))
    return None


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[SeedRow], list[Extraction]]:
    """The rows and records of three seeds: the bundled plain-text one, an HTML page and an empty file."""
    root = tmp_path_factory.mktemp("seeds")
    shutil.copy(SAMPLE, root / SAMPLE.name)
    (root / "page.html").write_bytes(gzip.decompress(HTML_SEED.read_bytes()))
    (root / "empty.txt").write_bytes(b"")
    rows, results = [], []
    for rel in (SAMPLE.name, "page.html", "empty.txt"):
        row, result = seed_records(root, rel, DEFAULT_LIMITS, ExtractOptions(policy=POLICY))
        rows.append(row)
        if result is not None:
            results.append(result)
    return rows, results


def _examples(spec: TableSpec, extracted: tuple[list[SeedRow], list[Extraction]]) -> list[Any]:
    rows, results = extracted
    if spec.name == "seeds":
        return rows
    if spec.name == "link_checks":
        return [
            LiveResult(
                url="https://example.com/a", status="redirected", http_status=200, final_url="https://example.com/b",
                n_redirects=1, redirect_chain=("https://example.com/b",), checked_at="2024-05-01T00:00:00Z",
                error=None, soft_404=None,
            ),
            LiveResult(
                url="https://example.org/", status="timeout", http_status=None, final_url=None, n_redirects=0,
                redirect_chain=(), checked_at="2024-05-01T00:00:01Z", error="no answer in 10 s", soft_404=None,
                from_cache=True,
            ),
        ]  # fmt: skip
    return [r for result in results for r in getattr(result, spec.name)]


def _from_row(record: type, row: dict[str, Any]) -> Any:
    """The record a table row was made from: span structs back to Span, lists back to tuples."""
    values = {}
    for f in dataclasses.fields(record):
        value = row[f.name]
        if isinstance(value, dict):
            value = Span(**value)
        elif isinstance(value, list):
            value = tuple(Span(**v) if isinstance(v, dict) else v for v in value)
        values[f.name] = value
    return record(**values)


@pytest.mark.parametrize("spec", TABLES, ids=lambda s: s.name)
def test_records_round_trip_through_table_rows(
    spec: TableSpec, extracted: tuple[list[SeedRow], list[Extraction]]
) -> None:
    """A record written as a table row reads back as the same record, and the row's digest is its own."""
    examples = _examples(spec, extracted)
    assert examples, f"no {spec.name} rows to test with"
    for record, row in zip(examples, to_batch(spec, examples).to_pylist(), strict=True):
        assert _from_row(spec.record, row) == record
        assert row[DIGEST_COLUMN] == record_digest(row)


def test_every_table_row_is_a_record() -> None:
    """The row type of every table lives in audit.records, the one vocabulary."""
    assert {spec.record.__module__ for spec in TABLES} == {"audit.records"}
    assert SPECS["link_checks"].record is LiveResult


@pytest.fixture(scope="module")
def sample() -> tuple[Seed, Extraction]:
    """The bundled seed and its records."""
    seed = ingest_seed(SAMPLE.parent, SAMPLE.name, DEFAULT_LIMITS)
    assert isinstance(seed, Seed)
    _, result = seed_records(SAMPLE.parent, SAMPLE.name, DEFAULT_LIMITS, ExtractOptions(policy=POLICY))
    assert result is not None
    return seed, result


def _assert_carried(fact: Any, record: Any, seed: Seed) -> None:
    """Every field the fact shares with its record is handed over unchanged, and the record's byte span
    holds the fact's characters."""
    shared = {f.name for f in dataclasses.fields(fact)} & {f.name for f in dataclasses.fields(record)}
    assert {n: getattr(record, n) for n in shared} == {n: getattr(fact, n) for n in shared}
    assert seed.data[record.span_start : record.span_end].decode(seed.encoding) == fact.text


def test_facts_become_records_by_their_shared_fields(sample: tuple[Seed, Extraction]) -> None:
    """The records of the bundled seed carry their facts' shared fields unchanged, in the facts' order."""
    seed, extraction = sample
    docs = read_documents(seed)
    assert not isinstance(docs, str)
    (doc,) = docs
    date_facts, _ = find_dates(doc.text, doc.page.segments, page=doc.page_dates)
    claimed = [(d.start, d.end) for d in date_facts if d.role != "duration"]
    language = extraction.articles[0].language
    number_facts = find_numbers(
        doc.text, doc.page.segments, language=language, policy=POLICY, exclude=claimed
    )
    link_facts = find_links(doc.text, doc.page.segments)
    assert number_facts and date_facts and link_facts
    for facts, mentions in (
        (number_facts, extraction.numbers),
        (date_facts, extraction.dates),
        (link_facts, extraction.links),
    ):
        for fact, mention in zip(facts, mentions, strict=True):
            _assert_carried(fact, mention, seed)
    derived = [(f, n) for f, n in zip(number_facts, extraction.numbers, strict=True) if f.component_indices]
    assert derived, "the bundled seed has a derived total"
    for fact, mention in derived:  # indices of facts become the ids of the records made from them
        assert mention.components == tuple(extraction.numbers[i].number_id for i in fact.component_indices)


def test_carried_fields_and_placed_ones_make_the_record() -> None:
    """carried() gives the fields a fact shares with its record; the rest are placed by the caller, and a
    column given both ways, or neither, is an error rather than a silent choice."""
    text = "The vote is on March 3, 2024."
    (fact,), _ = find_dates(text, [Segment(0, len(text), "body")])
    place: dict[str, Any] = {
        "date_id": "d-1",
        "article_id": "a-1",
        "seed_sha256": "0" * 64,
        "span_start": 15,
        "span_end": 28,
    }
    shared = carried(fact, DateMention)
    assert "text" in shared and not {"start", "end", "date_id", "is_inferred"} & set(shared)
    mention = DateMention(**shared, **place, is_inferred=False, text_sha256=None)
    assert (mention.text, mention.resolved, mention.block_kind) == (
        "March 3, 2024",
        dt.date(2024, 3, 3),
        "body",
    )
    with pytest.raises(TypeError, match="multiple values for keyword argument 'text'"):
        DateMention(**shared, **place, is_inferred=False, text=fact.text)
    with pytest.raises(TypeError, match="date_id"):
        DateMention(**shared, is_inferred=False)


def _hint(record: type, name: str) -> Any:
    return typing.get_type_hints(record)[name]


@pytest.mark.parametrize("fact", list(FACT_RECORDS), ids=lambda t: t.__name__)
def test_a_fact_is_its_record_before_placement(fact: type) -> None:
    """A fact shares each of its columns with its record under the same name and type; its other fields are
    extraction's own (offsets, indices, contexts), and the record's other fields are placed by build."""
    record, placed = FACT_RECORDS[fact]
    fact_fields = {f.name for f in dataclasses.fields(fact)}
    record_fields = {f.name for f in dataclasses.fields(record)}
    shared = fact_fields & record_fields
    for name in shared:  # the same type, or the record's allows None where the fact always has a value
        in_fact, in_record = _hint(fact, name), _hint(record, name)
        assert in_record in (in_fact, in_fact | None), (
            f"{fact.__name__}.{name} is not {record.__name__}.{name}"
        )
    becomes = {name: _in_record(name, record) for name in fact_fields - shared}
    assert {n for n, column in becomes.items() if column is None} <= {"contexts"}
    assert {c for c in becomes.values() if c is not None} <= placed, becomes
    assert record_fields - shared == placed


def _base(hint: Any) -> Any:
    """A type without its None: a column nullable in one table is the same column."""
    if isinstance(hint, types.UnionType):
        args = tuple(a for a in typing.get_args(hint) if a is not type(None))
        return args[0] if len(args) == 1 else args
    return hint


def test_one_name_one_type_across_tables() -> None:
    """A column name means one thing: wherever it appears, in any table or fact, it has one type."""
    seen: dict[str, tuple[Any, str]] = {}
    for owner in [*(spec.record for spec in TABLES), *FACT_RECORDS]:
        for name, hint in typing.get_type_hints(owner).items():
            if name in seen:
                assert _base(hint) == seen[name][0], f"{owner.__name__}.{name} vs {seen[name][1]}"
            else:
                seen[name] = (_base(hint), f"{owner.__name__}.{name}")


def test_block_kind_has_one_name() -> None:
    """Regression: the kind of the block a mention sits in was 'segment_kind' in extract and 'block_kind' in
    the tables; it is 'block_kind' everywhere."""
    sources = [p.read_text(encoding="utf-8") for p in (ROOT / "audit").rglob("*.py")]
    assert not [s for s in sources if "segment_kind" in s]
    for fact in FACT_RECORDS:
        assert "block_kind" in {f.name for f in dataclasses.fields(fact)}
