"""python -m benchmarks [cli|scale|gx|corpus|links|shapes|report ...] [--sizes N ...]: figures with same-run baselines."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from benchmarks import bench_corpus, bench_gx, bench_scale


def _gx(rows: int) -> None:
    from audit.cli import main as audit_main

    with tempfile.TemporaryDirectory(prefix="audit-gx-") as tmp:
        root = Path(__file__).resolve().parent.parent
        audit_main(
            [
                "run",
                str(root / "seeds"),
                "--tables",
                f"{tmp}/tables",
                "--report",
                f"{tmp}/report",
                "--jobs",
                "1",
            ]
        )
        bench_gx.main(rows, Path(tmp) / "tables")


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks (all by default)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "which",
        nargs="*",
        default=["cli", "scale", "gx", "corpus", "links", "shapes"],
        choices=[
            "cli",
            "scale",
            "gx",
            "corpus",
            "links",
            "shapes",
            "attribution",
            "spark",
            "cache",
            "report",
        ],
    )
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000], help="seed counts for scale"
    )
    parser.add_argument(
        "--spark-sizes",
        type=int,
        nargs="+",
        default=[200, 2_000],
        help="seed counts for spark (standalone cluster)",
    )
    parser.add_argument(
        "--cache-sizes",
        type=int,
        nargs="+",
        default=[10_000],
        help="seed counts for cache (rerun, 1%% changed)",
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="number rows for gx")
    args = parser.parse_args(argv)
    for which in args.which:
        print(f"== {which}", flush=True)
        if which == "cli":
            from benchmarks import bench_cli

            bench_cli.main()
        elif which == "scale":
            bench_scale.main(args.sizes)
        elif which == "gx":
            _gx(args.rows)
        elif which == "corpus":
            bench_corpus.main()
        elif which == "links":
            from benchmarks import bench_links

            bench_links.main()
        elif which == "attribution":
            from benchmarks import bench_attribution

            bench_attribution.main()
        elif which == "spark":
            from benchmarks import bench_spark

            bench_spark.main(args.spark_sizes)
        elif which == "cache":
            from benchmarks import bench_cache

            bench_cache.main(args.cache_sizes)
        elif which == "report":
            from benchmarks import bench_report

            bench_report.main(args.sizes if args.sizes != parser.get_default("sizes") else [2_000])
        elif which == "shapes":
            from benchmarks import bench_shapes

            bench_shapes.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
