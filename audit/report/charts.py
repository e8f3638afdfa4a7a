"""Small inline SVG charts: the records failing each rule with findings (``rules_chart``), the seeds with
the most findings by severity (``seeds_chart``) and an article's dates on one axis (``timeline_svg``);
each bar or dot links to what it counts.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from markupsafe import Markup, escape

from audit.records import Article, CheckResult, DateMention
from audit.report.colours import _UNDATED_ROLES
from audit.report.marks import _slug

_SEV_FILL = {"critical": "#c62828", "warning": "#b26a00", "info": "#1f6feb"}


def _svg(width: int, height: int, label: str, body: Iterable[str]) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg"><title>{escape(label)}</title>'
        + "".join(body)
        + "</svg>"
    )


def _trim(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def rules_chart(results: Sequence[CheckResult]) -> Markup | None:
    """Per rule with findings: failed, waived and passing records as one stacked bar, with the counts in words."""
    rows = [r for r in results if not r.passed or r.n_waived]
    if not rows:
        return None
    label_w, bar_w, row_h = 250, 280, 24
    body = []
    for i, r in enumerate(rows):
        y = i * row_h
        total = max(r.n_checked, r.n_failed + r.n_waived, 1)
        failed = 0 if r.error else max(2.0, bar_w * r.n_failed / total) if r.n_failed else 0.0
        waived = max(2.0, bar_w * r.n_waived / total) if r.n_waived else 0.0
        words = "could not run" if r.error else f"{r.n_failed:,} of {r.n_checked:,} fail"
        words += f", {r.n_waived:,} waived" if r.n_waived else ""
        body.append(
            f'<a href="#rule-{escape(_slug(r.rule_id))}"><g transform="translate(0,{y})">'
            f"<title>{escape(r.rule_id)} ({r.severity.value}): {escape(words)}</title>"
            f'<text x="0" y="16" class="lbl">{escape(_trim(r.rule_id, 34))}</text>'
            f'<rect x="{label_w}" y="5" width="{bar_w}" height="14" class="{"err" if r.error else "okbar"}"/>'
            f'<rect x="{label_w}" y="5" width="{failed:.1f}" height="14" fill="{_SEV_FILL[r.severity.value]}"/>'
            f'<rect x="{label_w + failed:.1f}" y="5" width="{waived:.1f}" height="14" class="waived"/>'
            f'<text x="{label_w + bar_w + 8}" y="16" class="num">{escape(words)}</text></g></a>'
        )
    return _svg(label_w + bar_w + 190, len(rows) * row_h, "Records failing each rule with findings", body)


def seeds_chart(
    counts: Sequence[tuple[str, str, Mapping[str, int]]], linked: Iterable[str], top: int = 15
) -> Markup | None:
    """The seeds with the most findings, stacked by severity, each bar a link to the seed's page."""
    rows = sorted(counts, key=lambda c: (-sum(c[2].values()), c[1]))[:top]
    if not rows:
        return None
    pages = set(linked)
    most = max(sum(c[2].values()) for c in rows)
    label_w, bar_w, row_h = 250, 280, 24
    body = []
    for i, (sha, path, by_sev) in enumerate(rows):
        x, parts = float(label_w), []
        for sev in ("critical", "warning", "info"):
            w = bar_w * by_sev.get(sev, 0) / most
            if w:
                parts.append(
                    f'<rect x="{x:.1f}" y="5" width="{max(w, 2):.1f}" height="14" fill="{_SEV_FILL[sev]}"/>'
                )
                x += max(w, 2)
        words = ", ".join(f"{by_sev[s]:,} {s}" for s in ("critical", "warning", "info") if by_sev.get(s))
        row = (
            f'<g transform="translate(0,{i * row_h})"><title>{escape(path)}: {escape(words)}</title>'
            f'<text x="0" y="16" class="lbl">{escape(_trim(path, 34))}</text>{"".join(parts)}'
            f'<text x="{x + 8:.1f}" y="16" class="num">{escape(words)}</text></g>'
        )
        body.append(f'<a href="seeds/{sha}.html">{row}</a>' if sha in pages else row)
    return _svg(label_w + bar_w + 220, len(rows) * row_h, "Seeds with the most findings, by severity", body)


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
        if d.resolved is not None and d.role not in _UNDATED_ROLES:
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
            f'<a href="#r-{escape(_slug(first.date_id))}" data-r="{escape(_slug(first.date_id))}" class="ev k-{escape(css)}">'
            f'<title>{day.isoformat()}: {escape(said)}</title>{bars}<circle cx="{cx:.1f}" cy="70" r="6"/>'
            f'<text x="{cx:.1f}" y="{98 + 15 * lane}" text-anchor="{a}">{escape(label)}</text></a>'
        )
    return _svg(
        width, 106 + 15 * len(lanes), f"Timeline of the dates in {article.title or article.article_id}", body
    )
