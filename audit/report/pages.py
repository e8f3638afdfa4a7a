"""Pages and writing: the Jinja environment (templates from ``audit/templates``), ``_Run`` (what every
page of one report shares), the index, seed, findings and seed-list pages, and ``write_report``, which
writes them with results.json and junit.xml. When there are many seed pages, forked workers write them:
the job they share (``_SHARED``) is set in this module before the fork.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from audit.forking import forked_pool
from audit.fsio import atomic_write, atomic_write_text
from audit.records import CheckResult, Finding, Severity, Verdict
from audit.report.charts import rules_chart, seeds_chart, timeline_svg
from audit.report.colours import DATE_LEGEND, LINK_LEGEND, NUMBER_LEGEND
from audit.report.data import data_script, findings_data, seed_table
from audit.report.evidence import evidence_extras, evidence_html
from audit.report.in_force import policy_in_force, severity_changes
from audit.report.inputs import PageLoader, ReportLimits, SeedPage
from audit.report.machine import (
    is_not_applicable,
    junit_xml,
    ordered_results,
    plural,
    results_document,
    verdict_sentence,
)
from audit.report.marks import slug
from audit.report.seed_view import SeedView

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("audit", "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,  # package templates do not change while a report is written: no stat per render
)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Run:
    """What every page of one report shares."""

    verdict: Verdict
    results: tuple[CheckResult, ...]
    seeds: Sequence[Mapping[str, Any]]
    paths: Mapping[str, str]  # seed_sha256 -> path
    by_seed: Mapping[str, Sequence[Finding]]
    severity: Mapping[str, str]  # rule_id -> severity
    limits: ReportLimits
    sentence: str  # the verdict in one sentence (counted once: every page shows it)
    # seed_counts, counted once (the index and the seed list read it: at 100k seeds, 0.9 s a count)
    counts: tuple[tuple[str, str, Mapping[str, int]], ...]

    @classmethod
    def from_verdict(cls, verdict: Verdict, seeds: Sequence[Mapping[str, Any]], limits: ReportLimits) -> _Run:
        """Index the verdict's findings by seed once."""
        by_seed: dict[str, list[Finding]] = defaultdict(list)
        for r in verdict.results:
            for f in r.findings:
                if f.seed_sha256:
                    by_seed[f.seed_sha256].append(f)
        paths: dict[str, str] = {}
        for s in seeds:
            if s.get("seed_sha256"):
                paths.setdefault(s["seed_sha256"], s["path"])
        severity = {r.rule_id: r.severity.value for r in verdict.results}
        return cls(
            verdict=verdict,
            results=tuple(ordered_results(verdict)),
            seeds=seeds,
            paths=paths,
            by_seed=by_seed,
            severity=severity,
            limits=limits,
            sentence=verdict_sentence(verdict),
            counts=_seed_counts(by_seed, paths, severity),
        )

    def seed_counts(self) -> list[tuple[str, str, Mapping[str, int]]]:
        """(sha, path, unwaived findings by severity) for every seed with findings."""
        return list(self.counts)

    def pages_wanted(self) -> list[str]:
        """Seeds that get a page: those with the most critical findings (bounded), then a few without, by path."""
        critical = {r.rule_id for r in self.results if r.severity is Severity.CRITICAL}
        worst = sorted(
            self.by_seed,
            key=lambda s: (
                -_n_critical(self.by_seed[s], critical),
                -len(self.by_seed[s]),
                self.paths.get(s, s),
            ),
        )
        with_findings = sorted(worst[: self.limits.finding_seed_pages], key=lambda s: self.paths.get(s, s))
        others = sorted((s for s in self.paths if s not in self.by_seed), key=lambda s: self.paths[s])
        extracted = {s["seed_sha256"] for s in self.seeds if s.get("status") == "extracted"}
        return with_findings + [s for s in others if s in extracted][: self.limits.clean_seed_pages]


def _seed_counts(
    by_seed: Mapping[str, Sequence[Finding]], paths: Mapping[str, str], severity: Mapping[str, str]
) -> tuple[tuple[str, str, Mapping[str, int]], ...]:
    out: list[tuple[str, str, Mapping[str, int]]] = []
    for sha, fs in by_seed.items():
        c = Counter(severity[f.rule_id] for f in fs if f.waived_by is None)
        if c:
            out.append((sha, paths.get(sha, sha[:12]), c))
    return tuple(out)


def _n_critical(findings: Sequence[Finding], critical: set[str]) -> int:
    return sum(1 for f in findings if f.waived_by is None and f.rule_id in critical)


@functools.cache
def _script(name: str) -> tuple[Markup, str]:
    """An inline script and the CSP source expression that allows exactly it."""
    source = _ENV.loader.get_source(_ENV, name)[0] if _ENV.loader else ""
    digest = base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode("ascii")
    return Markup(source), f"'sha256-{digest}'"


def _render(template: str, run: _Run, prefix: str, data_files: Sequence[str] = (), **context: Any) -> str:
    """A page; ``data_files`` are the scripts of ``data/`` it renders with lists.js instead of report.js."""
    script, script_hash = _script("lists.js" if data_files else "report.js")
    return _ENV.get_template(template).render(
        verdict=run.verdict,
        run=run,
        prefix=prefix,
        script=script,
        script_hash=script_hash,
        sentence=run.sentence,
        why=_why(run.sentence),
        data_files=data_files,
        manifest=run.verdict.manifest,
        slug=slug,
        evidence_html=evidence_html,
        evidence_extras=evidence_extras,
        plural=plural,
        not_applicable=is_not_applicable,
        **context,
    )


def render_seed_page(page: SeedPage, run: _Run) -> str:
    """One seed's page: its text with every value highlighted, and a card per value."""
    rules: dict[str, list[CheckResult]] = defaultdict(list)
    for r in run.results:
        rules[r.table].append(r)
    rank = {"critical": 0, "warning": 1, "info": 2}
    findings = sorted(
        run.by_seed.get(page.seed_sha256, ()),
        key=lambda f: (f.waived_by is not None, rank[run.severity[f.rule_id]], f.rule_id, f.record_id),
    )
    view = SeedView(page, findings, rules)
    numbers, links, dates, articles = (
        view.number_cards(),
        view.link_cards(),
        view.date_cards(),
        view.article_cards(),
    )
    documents = view.documents([*numbers, *links, *dates], run.limits.text_bytes)
    texts = {t.text_sha256: t for t in page.texts}
    classes = {c.record_id: c.css for c in dates}
    timelines = [
        (a, timeline_svg(a, [d for d in page.dates if d.article_id == a.article_id], classes))
        for a in page.articles
    ]
    link_groups = [(k, [c for c in links if c.css == k]) for k in LINK_LEGEND]
    carded = {c.record_id for c in (*numbers, *links, *dates, *articles)}
    return _render(
        "seed.html.j2",
        run,
        "../",
        page=page,
        documents=documents,
        texts=texts,
        numbers=numbers,
        link_groups=[g for g in link_groups if g[1]],
        n_links=len(links),
        dates=dates,
        articles=articles,
        timelines=timelines,
        findings=findings,
        carded=carded,
        table_rules=[(t, rules[t]) for t in ("numbers", "links", "dates", "articles") if rules.get(t)],
        number_legend=NUMBER_LEGEND,
        link_legend=LINK_LEGEND,
        date_legend=DATE_LEGEND,
    )


def _why(sentence: str) -> str:
    """The verdict sentence without its leading verdict, for under the banner's heading."""
    tail = sentence.split(": ", 1)[-1]
    return tail[:1].upper() + tail[1:]


def _finding_file(rule_id: str) -> str:
    return f"findings/{slug(rule_id)}.html"


def _write_file(path: Path, data: str | bytes) -> None:
    """Write one file of the report atomically, without an fsync of its own: the report is written into
    a staging folder that ``fsio.atomic_dir`` syncs whole (its files at once) before swapping it in."""
    if isinstance(data, str):
        atomic_write_text(path, data, durable=False)
    else:
        atomic_write(path, data, durable=False)


def write_report(
    directory: Path,
    verdict: Verdict,
    seeds: Sequence[Mapping[str, Any]],
    pages: PageLoader | None = None,
    policy_path: Path | None = None,
    limits: ReportLimits = ReportLimits(),  # noqa: B008 (frozen: one shared default is safe)
    jobs: int | None = None,
) -> None:
    """Write index.html, seeds/*.html, findings/*.html, manifest/seeds.html, data/*.js, results.json and
    junit.xml into directory, atomically each (unsynced: see _write_file).

    ``jobs``: worker processes for the seed pages when there are many (None: one per CPU).
    """
    document = results_document(verdict)
    _write_file(directory / "results.json", json.dumps(document, indent=2, sort_keys=True))
    _write_file(directory / "junit.xml", junit_xml(verdict, limits))
    run = _Run.from_verdict(verdict, seeds, limits)
    written = write_seed_pages(directory, run, pages, jobs) if pages is not None else set()
    _write_lists(directory, run, written)
    _write_file(
        directory / "index.html", render_html(verdict, seeds, written, policy_path, limits, run, document)
    )


def _write_lists(directory: Path, run: _Run, written: set[str]) -> None:
    """The lists longer than the index shows: each such rule's findings and the seed list, as data files
    (``data/``) and the pages that render them (``findings/<rule>.html``, ``manifest/seeds.html``)."""
    limits = run.limits
    counts = _seed_findings(run)
    order = _seed_order(run, counts)
    paged = [r for r in run.results if len(r.findings) > limits.findings_inline]
    if not paged and len(order) <= limits.seeds_inline:
        return
    table, index = seed_table(run.seeds, counts, order, written)
    _write_file(directory / "data" / "seeds.js", data_script("seeds", table))
    for r in paged:
        data = f"findings-{slug(r.rule_id)}.js"
        _write_file(directory / "data" / data, data_script("findings", findings_data(r, index)))
        html = _render(
            "findings.html.j2",
            run,
            "../",
            rule=r,
            findings=r.findings[: limits.findings_inline],
            written=written,
            data_files=("seeds.js", data),
        )
        _write_file(directory / _finding_file(r.rule_id), html)
    if len(order) > limits.seeds_inline:
        html = _render(
            "seedlist.html.j2",
            run,
            "../",
            seed_rows=[(run.seeds[i], counts[i]) for i in order[: limits.seeds_inline]],
            n_seed_rows=len(order),
            written=written,
            data_files=("seeds.js",),
        )
        _write_file(directory / "manifest" / "seeds.html", html)


# seed pages are rendered in forked workers only when there are more than PARALLEL_PAGES of them, at
# least _PAGES_PER_WORKER each: every worker reads the tables once more, for its own seeds
PARALLEL_PAGES = 32
_PAGES_PER_WORKER = 16


@dataclass(frozen=True, slots=True, kw_only=True)
class _PageJob:
    """Where and how seed pages are written: what every worker shares."""

    directory: Path
    run: _Run
    pages: PageLoader


# the job forked workers do: set before the pool starts, so the run and the loader are not pickled
_SHARED: dict[str, _PageJob] = {}


def write_seed_pages(directory: Path, run: _Run, pages: PageLoader, jobs: int | None = None) -> set[str]:
    """Render and write the page of each seed that gets one; return the seeds whose page was written.

    Many pages are shared out between forked worker processes (the seeds dealt out in turn); each loads
    its own seeds' pages and writes them. The files are the same, byte for byte, whatever the jobs.
    """
    job = _PageJob(directory=directory, run=run, pages=pages)
    wanted = run.pages_wanted()
    workers = min(jobs or os.cpu_count() or 1, len(wanted) // _PAGES_PER_WORKER)
    if len(wanted) <= PARALLEL_PAGES or workers < 2:
        return _write_pages(job, wanted)
    _compile_templates()
    _SHARED["job"] = job
    try:
        with forked_pool(workers) as pool:
            done = [pool.submit(_write_shard, wanted[i::workers]) for i in range(workers)]
            return set().union(*(d.result() for d in done))
    finally:
        _SHARED.clear()


def _compile_templates() -> None:
    """Compile every template and hash the script now, once, for the forked workers to inherit."""
    for name in _ENV.list_templates(extensions=["j2", "css"]):
        _ENV.get_template(name)
    _script("report.js")


def _write_shard(shas: Sequence[str]) -> set[str]:
    """In a forked worker: write these seeds' pages."""
    return _write_pages(_SHARED["job"], shas)


def _write_pages(job: _PageJob, shas: Sequence[str]) -> set[str]:
    written: set[str] = set()
    for sha, page in job.pages(shas):
        if page is not None:
            _write_file(job.directory / "seeds" / f"{sha}.html", render_seed_page(page, job.run))
            written.add(sha)
    return written


def _seed_rows(run: _Run) -> list[tuple[Mapping[str, Any], int]]:
    """Every seed with its number of unwaived findings, the ones with most findings first."""
    counts = _seed_findings(run)
    return [(run.seeds[i], counts[i]) for i in _seed_order(run, counts)]


def _seed_findings(run: _Run) -> list[int]:
    """Each seed's number of unwaived findings, in the run's order (0 for a seed not extracted)."""
    counts = {sha: sum(c.values()) for sha, _, c in run.seed_counts()}
    return [
        counts.get(s.get("seed_sha256") or "", 0) if s.get("status") == "extracted" else 0 for s in run.seeds
    ]


def _seed_order(run: _Run, counts: Sequence[int]) -> list[int]:
    """The seed list's order: most findings first, then seeds not extracted, then by path."""
    seeds = run.seeds
    return sorted(
        range(len(seeds)), key=lambda i: (-counts[i], seeds[i]["status"] == "extracted", seeds[i]["path"])
    )


def render_html(
    verdict: Verdict,
    seeds: Sequence[Mapping[str, Any]],
    written: Iterable[str] = (),
    policy_path: Path | None = None,
    limits: ReportLimits = ReportLimits(),  # noqa: B008 (frozen: one shared default is safe)
    run: _Run | None = None,
    document: Mapping[str, Any] | None = None,
) -> str:
    """The self-contained index page (no external CSS, JS or fonts).

    ``document``: results.json's document as written (made from the verdict when None); the gate policy and
    suites origin it records (``manifest.gate``, ``manifest.suites_origin``, or top-level ``policy`` and
    ``suites_origin``) are shown as the policy in force.
    """
    run = run or _Run.from_verdict(verdict, seeds, limits)
    document = results_document(verdict) if document is None else document
    written = set(written)
    counts = run.seed_counts()
    rows = _seed_rows(run)
    n_extracted = sum(1 for s in seeds if s.get("status") == "extracted")
    return _render(
        "index.html.j2",
        run,
        "",
        results=run.results,
        failing=[r for r in run.results if r.findings or r.error],
        blocking=[
            (r, [f for f in r.findings if f.waived_by is None][: limits.first_findings])
            for r in run.results
            if r.severity is Severity.CRITICAL and not r.passed
        ],
        failing_rules=[r for r in run.results if not r.passed],
        passing_rules=[r for r in run.results if r.passed and not is_not_applicable(r)],
        na_rules=[r for r in run.results if is_not_applicable(r)],
        in_force=policy_in_force(document),
        suite_severity=severity_changes(document),
        rules_chart=rules_chart(run.results),
        seeds_chart=seeds_chart(counts, written),
        written=written,
        seed_rows=rows[: limits.seeds_inline],
        n_seed_rows=len(rows),
        n_with_findings=len(run.by_seed),
        n_extracted=n_extracted,
        finding_file=_finding_file,
        waived=[f for r in run.results for f in r.findings if f.waived_by is not None],
        policy=_policy(policy_path, verdict.manifest),
        n_findings=sum(r.n_failed for r in run.results),
        n_clean_pages=len(written - set(run.by_seed)),
        n_finding_pages=len(written & set(run.by_seed)),
    )


def _policy(path: Path | None, manifest: Mapping[str, Any]) -> dict[str, Any] | None:
    """The number policy file as applied: its rules, and whether its hash is the one the manifest recorded."""
    if path is None or not path.is_file():
        return None
    raw = path.read_bytes()
    try:
        doc = json.loads(raw)
    except ValueError:
        return None
    recorded = manifest.get("policy", {}).get(path.name)
    sha = hashlib.sha256(raw).hexdigest()
    return {"name": path.name, "sha256": sha, "recorded": recorded, "matches": recorded == sha, "doc": doc}
