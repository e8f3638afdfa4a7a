"""Seed pages rendered in forked workers: the same files byte for byte, each worker its own seeds, errors raised."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from audit.cli import main
from audit.finish import seed_pages
from audit.forking import _signals_held
from audit.records import CheckResult, Finding, Severity, Verdict
from audit.report import (
    PARALLEL_PAGES,
    Mark,
    PageLoader,
    ReportLimits,
    SeedPage,
    render_marked,
    write_report,
)
from audit.store import read_table
from benchmarks.generate import generate
from tests.conftest import SUITES, run_args

N_SEEDS = 40  # more than PARALLEL_PAGES: two workers with two jobs


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tables and a report (one job: pages rendered in this process) of generated seeds."""
    root = tmp_path_factory.mktemp("parallel")
    generate(root / "seeds", N_SEEDS)
    assert main(run_args(root, root / "seeds", SUITES)) in (0, 1)
    return root


def _files(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()
    }


def _spy(loader: PageLoader, log: Path) -> PageLoader:
    """The loader, noting in log which process asked it for which seeds."""

    def load(shas: Sequence[str]) -> Iterator[tuple[str, SeedPage | None]]:
        (log / f"{os.getpid()}-{uuid.uuid4().hex}").write_text("\n".join(shas))
        yield from loader(shas)

    return load


def test_pages_are_the_same_bytes_with_two_workers(audited: Path, tmp_path: Path) -> None:
    """validate --jobs 2 writes the seed pages in two worker processes; every file equals the one-job report's."""
    assert PARALLEL_PAGES < N_SEEDS
    report = tmp_path / "report"
    code = main(
        [
            "validate",
            "--tables",
            str(audited / "tables"),
            "--report",
            str(report),
            "--suites",
            str(SUITES),
            "--jobs",
            "2",
            "--reextract",
            "none",  # as `run` did: its re-extraction rules checked no rows
        ]
    )
    assert code in (0, 1)
    serial, parallel = _files(audited / "report"), _files(report)
    assert len([n for n in serial if n.startswith("seeds/")]) == N_SEEDS
    assert parallel.keys() == serial.keys()
    assert [n for n in serial if parallel[n] != serial[n]] == []


def test_each_worker_loads_its_own_seeds(audited: Path, tmp_path: Path) -> None:
    """With two jobs the loader is asked twice, in two other processes, for disjoint seeds that are all the pages."""
    seeds = read_table(audited / "tables", "seeds").to_pylist()
    verdict = _verdict(audited)
    log = tmp_path / "log"
    log.mkdir()
    loader = _spy(seed_pages(audited / "tables", audited / "seeds", seeds), log)
    write_report(tmp_path / "report", verdict, seeds, pages=loader, jobs=2)
    calls = [(p.name.split("-")[0], p.read_text().split("\n")) for p in log.iterdir()]
    assert len(calls) == 2 and len({pid for pid, _ in calls}) == 2
    assert str(os.getpid()) not in {pid for pid, _ in calls}
    shards = [shas for _, shas in calls]
    assert not set(shards[0]) & set(shards[1])
    written = {p.stem for p in (tmp_path / "report" / "seeds").iterdir()}
    assert set(shards[0]) | set(shards[1]) == written and len(written) == N_SEEDS


def _verdict(root: Path) -> Verdict:
    """A verdict with a finding on every seed of the tables (each then gets a page)."""
    seeds = read_table(root / "tables", "seeds").to_pylist()
    return _verdict_on([s["seed_sha256"] for s in seeds], seeds)


def _verdict_on(shas: Sequence[str], seeds: list[dict]) -> Verdict:
    findings = tuple(
        Finding(rule_id="r", table="numbers", record_id=f"n-{i}", seed_sha256=sha, evidence={"text": "1"})
        for i, sha in enumerate(shas)
    )
    rule = CheckResult(
        rule_id="r",
        table="numbers",
        severity=Severity.WARNING,
        expectation_type="expect_x",
        description="d",
        kwargs={},
        n_checked=len(shas),
        findings=findings,
    )
    manifest = {"tool": {"name": "news-audit", "version": "0"}, "seeds": seeds, "run": {}}
    return Verdict(results=(rule,), manifest=manifest)


def _synthetic(n: int) -> tuple[Verdict, list[dict]]:
    seeds = [
        {
            "path": f"s{i:03}.txt",
            "seed_sha256": f"{i:064x}",
            "size_bytes": 3,
            "status": "extracted",
            "reason": None,
        }
        for i in range(n)
    ]
    return _verdict_on([s["seed_sha256"] for s in seeds], seeds), seeds


def _page(sha: str) -> SeedPage:
    return SeedPage(
        seed_sha256=sha,
        path=f"{sha[-3:]}.txt",
        size_bytes=3,
        format="plain-text",
        encoding="utf-8",
        data=b"a<b",
    )


def test_a_few_pages_are_rendered_in_this_process(tmp_path: Path) -> None:
    """Up to PARALLEL_PAGES pages, however many jobs: one loader call, here (tests and small reports)."""
    verdict, seeds = _synthetic(PARALLEL_PAGES)
    log = tmp_path / "log"
    log.mkdir()

    def load(shas: Sequence[str]) -> Iterator[tuple[str, SeedPage | None]]:
        return ((sha, _page(sha)) for sha in shas)

    write_report(tmp_path / "r", verdict, seeds, pages=_spy(load, log), jobs=8)
    assert [p.name.split("-")[0] for p in log.iterdir()] == [str(os.getpid())]
    assert len(list((tmp_path / "r" / "seeds").iterdir())) == PARALLEL_PAGES


def _failing_load(shas: Sequence[str]) -> Iterator[tuple[str, SeedPage | None]]:
    for sha in shas:
        if sha.endswith("29"):
            raise ValueError(f"cannot load {sha}")
        yield sha, _page(sha)


def _dying_load(shas: Sequence[str]) -> Iterator[tuple[str, SeedPage | None]]:
    for sha in shas:
        if sha.endswith("29"):
            os._exit(3)  # a worker killed mid-shard (e.g. out of memory)
        yield sha, _page(sha)


@pytest.mark.parametrize(
    ("load", "error"),
    [(_failing_load, ValueError), (_dying_load, BrokenProcessPool)],
    ids=["raises", "dies"],
)
def test_a_failing_worker_fails_the_report(tmp_path: Path, load: PageLoader, error: type[Exception]) -> None:
    """An error loading or rendering a page in a worker, or a worker dying, is raised: no page silently missing."""
    verdict, seeds = _synthetic(PARALLEL_PAGES * 2)
    with pytest.raises(error):
        write_report(tmp_path / "r", verdict, seeds, pages=load, jobs=2, limits=ReportLimits())
    assert not (tmp_path / "r" / "index.html").exists()


def test_text_holding_the_join_separator_is_rendered_the_same() -> None:
    """Pieces are escaped in one pass joined by U+FFFF; a text holding U+FFFF itself is escaped piece by piece."""
    data = "a\uffffb<c\x00d".encode()
    marks = [Mark(start=1, end=4, layer=1, css="hl")]
    assert (
        str(render_marked(data, "utf-8", 0, len(data), marks))
        == 'a<span class="hl">\uffff</span>b&lt;c\u2400d'
    )
    data = b"a&b<c\x00d"
    assert (
        str(render_marked(data, "utf-8", 0, len(data), marks))
        == 'a<span class="hl">&amp;b&lt;</span>c\u2400d'
    )


def test_a_signal_while_workers_are_forked_is_raised_once_they_are() -> None:
    """SIGINT during the forks is held (an at-fork callback would drop its KeyboardInterrupt), then raised."""
    reached = False
    # Python's own handler, also where the test process inherited SIGINT ignored (a background job)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt), _signals_held():
            signal.raise_signal(signal.SIGINT)
            reached = True
        assert reached and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, previous)


def _freeze_count(_: int) -> int:
    import gc

    return gc.get_freeze_count()


def test_workers_freeze_what_they_inherit_and_the_parent_does_not() -> None:
    """A forked worker leaves the parent's objects out of its garbage collections; the parent's own
    collector is not touched (it may run audit after audit)."""
    import gc

    from audit.forking import forked_pool

    with forked_pool(2) as pool:
        counts = list(pool.map(_freeze_count, range(4)))
    assert min(counts) > 1_000 and gc.get_freeze_count() == 0
