"""A deterministic generator of text seeds: N variations of the bundled sample seed."""

from __future__ import annotations

import argparse
import datetime as dt
import random
import re
from pathlib import Path

SAMPLE = Path(__file__).resolve().parent.parent / "seeds" / "000_9fc08baae7766353.txt"
_FIGURE = re.compile(r"\b\d{1,3}(?:,\d{3})+\b")
_PAGE_DATE = re.compile(r"date (\d{4}-\d{2}-\d{2})")


def variant(template: str, i: int) -> str:
    """The i-th variation: other figures, another page date, paragraphs of the story in another order."""
    rng = random.Random(i)
    text = _FIGURE.sub(lambda m: f"{rng.randrange(1, 999):,},{rng.randrange(0, 999):03d}", template)
    day = dt.date(2022, 10, 4) + dt.timedelta(days=rng.randrange(-900, 900))
    text = _PAGE_DATE.sub(f"date {day.isoformat()}", text, count=1)
    head, sep, rest = text.partition("Comments / ")
    paras = head.split("\n\n")
    if len(paras) > 8:
        middle = paras[5:-3]
        rng.shuffle(middle)
        head = "\n\n".join([*paras[:5], *middle, *paras[-3:]])
    return f"{head}{sep}{rest}\n<!-- variant {i} -->\n" if i % 97 == 0 else f"{head}{sep}{rest}"


def generate(directory: Path, n: int) -> list[Path]:
    """Write n seed files into directory (in subfolders of 1,000) and return their paths."""
    template = SAMPLE.read_text(encoding="utf-8")
    paths = []
    for i in range(n):
        path = directory / f"{i // 1000:04d}" / f"seed_{i:07d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(variant(template, i), encoding="utf-8")
        paths.append(path)
    return paths


def main() -> None:
    """Command line: python -m benchmarks.generate DIR N."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("n", type=int)
    args = parser.parse_args()
    generate(args.directory, args.n)


if __name__ == "__main__":
    main()
