"""Verdict -> the report people read: index.html, a page per seed, finding pages, results.json, junit.xml.

Every HTML file is self-contained (inline CSS, one inline script allowed by its hash in the page's CSP,
nothing from outside the report's folder) and readable without JavaScript: a highlight is a link to its
record's card. Seed content only ever reaches the page through ``markupsafe.escape`` (or, in the lists the
script draws, as text nodes). The report's size grows with the findings, not with the records, and slowly
with them: a rule's findings past the first few and the full seed list are compact data files
(``data/*.js``) that a findings page and the seed-list page render, and seed pages are written for seeds
with findings plus a bounded number of others. This package sees records only (no GX, no pandas);
``finish`` hands it ``SeedPage`` values (through a loader, which forked workers call for their share of
the seed pages when there are many).

Its modules, each importing only from those before it: ``inputs`` (limits, seed pages, rows to records),
``machine`` (rule order, the verdict sentence, results.json, junit.xml), ``marks`` (highlighting seed
bytes), ``colours`` (what each value's colour means), ``seed_view`` (a seed page's cards), ``charts``
(bars and a timeline), ``evidence`` (a finding's evidence), ``data`` (the data files of the long lists),
``in_force`` (the policy in force) and ``pages`` (the pages, and writing them). What other
packages use is re-exported here; what the report's modules share with each other is imported from the
module that defines it (no module takes another's private names: tests/test_structure.py).
"""

from audit.report.charts import rules_chart, seeds_chart, timeline_svg
from audit.report.colours import DATE_LEGEND, LINK_LEGEND, NUMBER_LEGEND, date_class, link_class, number_class
from audit.report.evidence import evidence_extras, evidence_html
from audit.report.inputs import PageLoader, ReportLimits, SeedPage, record_from_row
from audit.report.machine import junit_xml, ordered_results, results_document, verdict_sentence
from audit.report.marks import Mark, render_marked, visible_text
from audit.report.pages import PARALLEL_PAGES, render_html, render_seed_page, write_report, write_seed_pages
from audit.report.seed_view import Card, Outcome

__all__ = [
    "DATE_LEGEND",
    "LINK_LEGEND",
    "NUMBER_LEGEND",
    "PARALLEL_PAGES",
    "Card",
    "Mark",
    "Outcome",
    "PageLoader",
    "ReportLimits",
    "SeedPage",
    "date_class",
    "evidence_extras",
    "evidence_html",
    "junit_xml",
    "link_class",
    "number_class",
    "ordered_results",
    "record_from_row",
    "render_html",
    "render_marked",
    "render_seed_page",
    "results_document",
    "rules_chart",
    "seeds_chart",
    "timeline_svg",
    "verdict_sentence",
    "visible_text",
    "write_report",
    "write_seed_pages",
]
