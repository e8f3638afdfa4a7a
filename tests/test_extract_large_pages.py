"""Large pages: the analysers' bisection helpers agree with the plain comparisons they replaced.

Each helper replaced a loop that compared every item with every other: a 2.4 MB page of 300,000
paragraphs took over 60 s (a `timeout` rejection); a paragraph with a link and "said" every few words
took 19.5 s at 2,000 links. `python -m benchmarks shapes` measures how time grows with such pages.
"""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from audit.extract import ExtractOptions, extract_seed
from audit.extract.date_patterns import Match, take_disjoint
from audit.extract.links import _matches
from audit.extract.number_policy import default_policy_path, load_policy
from audit.extract.offsets import Ranges
from audit.extract.sentences import MAX_SENTENCE, split_sentences
from audit.ingest import decode_seed
from audit.records import Extraction

spans = st.tuples(st.integers(0, 300), st.integers(0, 40)).map(lambda t: (t[0], t[0] + t[1]))


@given(st.lists(spans, max_size=30), spans)
def test_ranges_overlap_as_the_plain_test_does(ranges: list[tuple[int, int]], probe: tuple[int, int]) -> None:
    start, end = probe
    assert Ranges(ranges).overlaps(start, end) == any(start < b and a < end for a, b in ranges)


@given(st.lists(st.tuples(spans, st.sampled_from(["iso", "mdy", "time"])), max_size=30))
def test_take_disjoint_takes_what_the_plain_loop_takes(items: list[tuple[tuple[int, int], str]]) -> None:
    candidates = [Match(kind, a, b, (), "body") for (a, b), kind in items if b > a]
    plain: list[Match] = []
    for c in candidates:
        if all(c.end <= t.start or c.start >= t.end for t in plain):
            plain.append(c)
    assert take_disjoint(candidates) == sorted(plain, key=lambda m: m.start)


@given(st.text(alphabet="ab .", max_size=9_000))
def test_long_sentences_are_cut_at_spaces_and_cover_the_text(text: str) -> None:
    pieces = split_sentences(text, 0, len(text))
    assert all(b - a <= MAX_SENTENCE for a, b in pieces)
    assert all(a1 <= b1 <= a2 for (a1, b1), (a2, _) in itertools.pairwise(pieces))
    # only the spaces between pieces are left out
    covered = "".join(text[a:b] for a, b in pieces)
    assert covered.replace(" ", "") == text.replace(" ", "")


def test_a_short_text_is_split_as_before() -> None:
    text = "The minister said 5 people came. Others disagreed! Why? Nobody knows."
    assert [text[a:b] for a, b in split_sentences(text, 0, len(text))] == [
        "The minister said 5 people came.",
        "Others disagreed!",
        "Why?",
        "Nobody knows.",
    ]


def test_a_bare_domain_inside_a_url_is_not_a_second_link() -> None:
    text = "See https://www.example.com/a and www.other.org, not https://x.org/www.inside.net/ again."
    assert [url for _, _, url in _matches(text, 0, len(text))] == [
        "https://www.example.com/a",
        "https://x.org/www.inside.net/",
        "https://www.other.org/",
    ]


def test_a_page_of_thousands_of_paragraphs_is_extracted_whole() -> None:
    para = "More than 200,000 people fled on March 3, 2022, the minister said. See https://example.com/a/{i}."
    html = "<html><head><title>T</title></head><body><article>{}</article></body></html>".format(
        "".join(f"<p>{para.format(i=i)}</p>" for i in range(3_000))
    )
    result = extract_seed(
        decode_seed(html.encode(), "page.html"), ExtractOptions(policy=load_policy(default_policy_path()))
    )
    assert isinstance(result, Extraction)
    assert sum(1 for n in result.numbers if n.text == "200,000") == 3_000
