"""Small inline charts: the records failing each rule with findings (``rules_chart``) and the seeds with
the most findings by severity (``seeds_chart``) as HTML bars, which reflow to any width (an SVG scaled down
to a phone's width shrinks its text with it), and an article's dates on one axis as SVG (``timeline_svg``,
scrolled sideways on a narrow screen); each bar or dot links to what it counts.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from markupsafe import Markup, escape

from audit.records import Article, CheckResult, DateMention
from audit.report.colours import UNDATED_ROLES
from audit.report.marks import slug


def _svg(width: int, height: int, label: str, body: Iterable[str]) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg"><title>{escape(label)}</title>'
        + "".join(body)
        + "</svg>"
    )


def _trim(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _bars(label: str, rows: Iterable[str]) -> Markup:
    """Bar rows as an HTML list: each row's label wraps and sits above its bar on a narrow screen."""
    return Markup(f'<ol class="bars" aria-label="{escape(label)}">' + "".join(rows) + "</ol>")


def _bar_row(
    href: str | None,
    label: str,
    segments: Iterable[tuple[str, float]],
    words: str,
    track: str = "",
) -> str:
    """One bar: its label, its segments (css class, percent of the bar), its counts in words; track: the bar's own class."""
    bar = "".join(
        f'<span class="seg {css}" style="width:{pct:.2f}%"></span>' for css, pct in segments if pct > 0
    )
    inner = (
        f'<span class="lbl">{escape(label)}</span>'
        f'<span class="bar {track}" aria-hidden="true">{bar}</span><span class="num">{escape(words)}</span>'
    )
    return (
        f'<li><a href="{escape(href)}">{inner}</a></li>'
        if href
        else f'<li><span class="row">{inner}</span></li>'
    )


def rules_chart(results: Sequence[CheckResult]) -> Markup | None:
    """Per rule with findings: failed, waived and passing records as one stacked bar, with the counts in words."""
    rows = [r for r in results if not r.passed or r.n_waived]
    if not rows:
        return None
    body = []
    for r in rows:
        total = max(r.n_checked, r.n_failed + r.n_waived, 1)
        failed = 0.0 if r.error else max(0.8, 100 * r.n_failed / total) if r.n_failed else 0.0
        waived = max(0.8, 100 * r.n_waived / total) if r.n_waived else 0.0
        words = "could not run" if r.error else f"{r.n_failed:,} of {r.n_checked:,} fail"
        words += f", {r.n_waived:,} waived" if r.n_waived else ""
        segments = ((r.severity.value, failed), ("waived", waived))
        track = "err" if r.error else "okbar"
        body.append(_bar_row(f"#rule-{slug(r.rule_id)}", r.rule_id, segments, words, track))
    return _bars("Records failing each rule with findings", body)


def seeds_chart(
    counts: Sequence[tuple[str, str, Mapping[str, int]]], linked: Iterable[str], top: int = 15
) -> Markup | None:
    """The seeds with the most findings, stacked by severity, each bar a link to the seed's page."""
    rows = sorted(counts, key=lambda c: (-sum(c[2].values()), c[1]))[:top]
    if not rows:
        return None
    pages = set(linked)
    most = max(sum(c[2].values()) for c in rows)
    body = []
    for sha, path, by_sev in rows:
        segments = [(sev, 100 * by_sev.get(sev, 0) / most) for sev in ("critical", "warning", "info")]
        words = ", ".join(f"{by_sev[s]:,} {s}" for s in ("critical", "warning", "info") if by_sev.get(s))
        href = f"seeds/{sha}.html" if sha in pages else None
        body.append(_bar_row(href, path, segments, words))
    return _bars("Seeds with the most findings, by severity", body)


def timeline_svg(article: Article, dates: Sequence[DateMention], classes: Mapping[str, str]) -> Markup | None:
    """An article's dates on one axis: publication, capture and update as labelled lines, dated events as dots."""
    keys = [
        (n, d)
        for n, d in (
            ("published", article.published_at),
            ("captured", article.captured_at),
            ("updated", article.updated_at),
        )
        if d is not None
    ]
    by_day: dict[dt.date, list[DateMention]] = defaultdict(list)
    for d in dates:
        if d.resolved is not None and d.role not in UNDATED_ROLES:
            by_day[d.resolved].append(d)
    days = (
        [d for _, d in keys]
        + list(by_day)
        + [e.resolved_end for es in by_day.values() for e in es if e.resolved_end]
    )
    if not days:
        return None
    lo, hi = min(days), max(days)
    span, width, left = max((hi - lo).days, 1), 760, 90

    def x(day: dt.date) -> float:
        return left + (day - lo).days / span * (width - 2 * left)

    def anchor(cx: float) -> str:
        return "start" if cx < left + 40 else "end" if cx > width - left - 40 else "middle"

    conflict = " conflict" if article.date_conflicts else ""
    body = [f'<line x1="{left - 10}" y1="70" x2="{width - left + 10}" y2="70" class="axis"/>']
    rows: list[float] = []
    for name, day in sorted(keys, key=lambda k: k[1]):
        cx, text = x(day), f"{name} {day.isoformat()}"
        w, a = 7.4 * len(text), anchor(cx)
        lo_x = cx - (0 if a == "start" else w if a == "end" else w / 2)
        row = next((k for k, end in enumerate(rows) if end < lo_x - 8), len(rows))
        rows[row : row + 1] = [lo_x + w]
        y = 12 + 15 * min(row, 2)
        body.append(
            f'<g class="key{conflict}"><title>{name}: {day.isoformat()}</title>'
            f'<line x1="{cx:.1f}" y1="{y + 4}" x2="{cx:.1f}" y2="80"/>'
            f'<text x="{cx:.1f}" y="{y}" text-anchor="{a}">{escape(text)}</text></g>'
        )
    lanes: list[float] = []
    for day, group in sorted(by_day.items()):
        cx, first = x(day), group[0]
        label = _trim(first.text, 20) + (f" +{len(group) - 1}" if len(group) > 1 else "")
        w, a = 6.2 * len(label), anchor(cx)
        lo_x = cx - (0 if a == "start" else w if a == "end" else w / 2)
        lane = next((k for k, end in enumerate(lanes) if end < lo_x - 8), len(lanes))
        lanes[lane : lane + 1] = [lo_x + w]
        css = (
            "flagged"
            if any(classes.get(e.date_id) == "flagged" for e in group)
            else classes.get(first.date_id, "ok")
        )
        bars = "".join(
            f'<line x1="{cx:.1f}" y1="70" x2="{x(e.resolved_end):.1f}" y2="70" class="range"/>'
            for e in group
            if e.resolved_end
        )
        said = "; ".join(f"{e.text} ({e.role})" for e in group)
        body.append(
            f'<a href="#r-{escape(slug(first.date_id))}" data-r="{escape(slug(first.date_id))}" class="ev k-{escape(css)}">'
            f'<title>{day.isoformat()}: {escape(said)}</title>{bars}<circle cx="{cx:.1f}" cy="70" r="6"/>'
            f'<text x="{cx:.1f}" y="{98 + 15 * lane}" text-anchor="{a}">{escape(label)}</text></a>'
        )
    return _svg(
        width, 106 + 15 * len(lanes), f"Timeline of the dates in {article.title or article.article_id}", body
    )
