"""Extraction time of one large page as it grows: a ratio near 4 for 4x the input means linear.

Each shape is a page an analyser could be quadratic on: thousands of paragraphs with numbers, dates and
links; one paragraph (one "sentence") with a reporting verb every few words; a lede of equal figures.
The baseline is the same shape at a quarter of the size, measured in the same run.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from audit.extract import ExtractOptions, extract_seed
from audit.extract.number_policy import default_policy_path, load_policy
from audit.ingest import decode_seed
from benchmarks.generate import SAMPLE

_PARA = (
    "More than 200,000 people, or 12% of the city, fled on March 3, 2022, the interior minister said. "
    "See https://example.com/a/{i} and www.site{i}.org for $4.5 million in aid."
)
_HTML = "<html><head><title>T</title></head><body><article>{}</article></body></html>"

SHAPES: dict[str, tuple[str, Callable[[int], str]]] = {
    "html: paragraphs with numbers, dates, links": (
        "page.html",
        lambda n: _HTML.format("".join(f"<p>{_PARA.format(i=i)}</p>" for i in range(n))),
    ),
    "html: one paragraph, a link and 'said' every few words": (
        "page.html",
        lambda n: _HTML.format(
            "<p>"
            + " ".join(f'<a href="https://ex{i}.com/p">link {i}</a> said 5 people' for i in range(n))
            + "</p>"
        ),
    ),
    "text: paragraphs with numbers, dates, links": (
        "page.txt",
        lambda n: (
            SAMPLE.read_text(encoding="utf-8") + "\n\n" + "\n\n".join(_PARA.format(i=i) for i in range(n))
        ),
    ),
    "text: all of it in one paragraph": (
        "page.txt",
        lambda n: SAMPLE.read_text(encoding="utf-8") + "\n\n" + " ".join(_PARA.format(i=i) for i in range(n)),
    ),
}


def _seconds(name: str, text: str, options: ExtractOptions) -> float:
    seed = decode_seed(text.encode("utf-8"), name)
    start = time.perf_counter()
    extract_seed(seed, options)
    return time.perf_counter() - start


def main(size: int = 8_000) -> None:
    """Print each shape's time at size/4 and size, and their ratio."""
    options = ExtractOptions(policy=load_policy(default_policy_path()))
    print(f"{'shape':58s} {'n/4':>8s} {'n':>8s} {'ratio':>6s}   (n = {size}; linear is 4)")
    for label, (name, make) in SHAPES.items():
        small = _seconds(name, make(size // 4), options)
        large = _seconds(name, make(size), options)
        print(f"{label:58s} {small:7.2f}s {large:7.2f}s {large / small:6.1f}", flush=True)
