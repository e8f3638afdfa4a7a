"""What the terminal and CI logs show: the failing rules with their first findings, GitHub Actions
annotations, the JSON summary, and progress (a bar on a terminal, a line every few seconds in CI).

Records in, text out: it reads a Verdict, never the tables.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from audit.records import CheckResult, Finding, Severity, Verdict

_ORDER = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}
_TEXT_KEYS = ("sentence", "text", "title", "url", "reason", "detail")
_ANNOTATION = {Severity.CRITICAL: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
MAX_ANNOTATIONS = 50  # GitHub shows 10 of each kind per step and 50 per job; more only fill the log


def failing_rules(verdict: Verdict) -> list[CheckResult]:
    """Rules with unwaived findings (or that could not run): critical first, then by number of findings."""
    failing = [r for r in verdict.results if not r.passed]
    return sorted(failing, key=lambda r: (_ORDER[r.severity], -r.n_failed, r.rule_id))


def seed_paths(verdict: Verdict) -> dict[str, str]:
    """seed_sha256 -> the seed's path as the run was given it (seeds directory joined), for messages."""
    root = verdict.manifest.get("seeds_root")
    paths: dict[str, str] = {}
    for seed in verdict.manifest.get("seeds", ()):
        sha = seed.get("seed_sha256")
        if sha and sha not in paths:
            paths[sha] = str(Path(root, seed["path"])) if root else str(seed["path"])
    return paths


def summary_lines(verdict: Verdict, *, per_rule: int = 3, width: int | None = None) -> list[str]:
    """Each failing rule with its severity and counts, then its first ``per_rule`` findings: seed path, byte
    span and the evidence sentence; every line cut to ``width`` (default: the terminal's)."""
    width = width or shutil.get_terminal_size((100, 24)).columns
    paths = seed_paths(verdict)
    lines = []
    for r in failing_rules(verdict):
        if r.error:
            lines.append(f"{r.severity.value.upper():8} {r.rule_id} ({r.table}): could not run: {r.error}")
            continue
        waived = f", {r.n_waived} waived" if r.n_waived else ""
        lines.append(
            f"{r.severity.value.upper():8} {r.rule_id} ({r.table}): {r.n_failed} of {r.n_checked} "
            f"record{'s' if r.n_checked != 1 else ''} fail{waived}"
        )
        unwaived = [f for f in r.findings if f.waived_by is None]
        for f in unwaived[:per_rule]:
            lines.append(f"  {finding_place(f, paths)}  {evidence_text(f)}")
        if len(unwaived) > per_rule:
            lines.append(f"  ... and {len(unwaived) - per_rule} more (report, or -v)")
    return [cut(line, width) for line in lines]


def finding_place(f: Finding, paths: Mapping[str, str]) -> str:
    """Where a finding is: seed path and byte span, e.g. ``seeds/a.html:120-134``."""
    path = paths.get(f.seed_sha256 or "", f.record_id)
    start, end = f.evidence.get("span_start"), f.evidence.get("span_end")
    return f"{path}:{start}-{end}" if isinstance(start, int) and isinstance(end, int) else path


def evidence_text(f: Finding) -> str:
    """The finding's evidence in one line: its sentence (or text, title, URL), quoted; else its record id."""
    for key in _TEXT_KEYS:
        value = f.evidence.get(key)
        if isinstance(value, str) and value.strip():
            return f"“{' '.join(value.split())}”"
    return f.record_id


def cut(line: str, width: int) -> str:
    """The line, shortened with an ellipsis to fit ``width`` columns."""
    return line if len(line) <= width else line[: max(1, width - 1)] + "…"


def github_annotations(verdict: Verdict, seeds_root: Path | None = None) -> Iterator[str]:
    """GitHub Actions workflow commands: one ``::error``/``::warning``/``::notice`` per failing record
    (at most MAX_ANNOTATIONS), on its seed file, at its line when the span is one of the file's bytes."""
    paths = seed_paths(verdict)
    n = 0
    for r in failing_rules(verdict):
        for f in (f for f in r.findings if f.waived_by is None):
            if n == MAX_ANNOTATIONS:
                return
            n += 1
            path = paths.get(f.seed_sha256 or "")
            props = {}
            if path:
                props["file"] = path
                line = _line_of(Path(path), f)
                if line:
                    props["line"] = str(line)
            props["title"] = f"{r.rule_id} ({r.severity.value})"
            text = f"{r.description} {evidence_text(f)}"
            fields = ",".join(f"{k}={_escape(v, prop=True)}" for k, v in props.items())
            yield f"::{_ANNOTATION[r.severity]} {fields}::{_escape(text)}"


def _line_of(path: Path, f: Finding) -> int | None:
    """The 1-based line of the finding's span start, when the span counts bytes of the seed file itself."""
    start = f.evidence.get("span_start")
    if not isinstance(start, int) or f.evidence.get("text_sha256"):
        return None
    try:
        with path.open("rb") as handle:
            return handle.read(start).count(b"\n") + 1
    except OSError:
        return None


def _escape(text: str, *, prop: bool = False) -> str:
    """Escape a workflow command's message (or property value) as the Actions runner expects."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def json_summary(document: Mapping[str, Any], report: Path) -> dict[str, Any]:
    """The short form of results.json for stdout: verdict, sentence, suites, policy and the failing rules."""
    manifest = document.get("manifest", {})
    return {
        "verdict": document["verdict"],
        "passed": document["passed"],
        "summary": document["summary"],
        "report": str(report / "index.html"),
        "results": str(report / "results.json"),
        "suites_origin": manifest.get("suites_origin"),
        "gate": manifest.get("gate"),
        "failing": [
            {
                k: rule[k]
                for k in ("rule_id", "table", "severity", "n_checked", "n_failed", "n_waived", "error")
            }
            for rule in document["rules"]
            if not rule["passed"]
        ],
    }


class Progress:
    """Extraction progress: a bar redrawn in place on a terminal; elsewhere (CI logs) a line every
    ``interval`` seconds with seeds done, rate and time left. Silent for runs shorter than that, and for
    runs done in one step."""

    # not a dataclass: holds a clock and a stream

    def __init__(
        self,
        stream: TextIO,
        *,
        tty: bool,
        interval: float = 5.0,
        stage: str = "extract",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._out, self._tty, self._interval, self._stage, self._clock = stream, tty, interval, stage, clock
        self._started = clock()
        self._shown = self._started
        self._drawn = False

    def __call__(self, done: int, total: int) -> None:
        now = self._clock()
        last = done >= total
        # the last call draws only to finish what was drawn: a run done in one step prints nothing
        if self._tty:
            if (now - self._shown >= 0.1 and not last) or (last and self._drawn):
                self._draw(done, total, now)
            return
        if (now - self._shown >= self._interval and not last) or (last and self._drawn):
            self._out.write(self._status(done, total, now) + "\n")
            self._out.flush()
            self._shown, self._drawn = now, True

    def _draw(self, done: int, total: int, now: float) -> None:
        width = 24
        filled = width * done // max(1, total)
        bar = "#" * filled + "-" * (width - filled)
        end = "\n" if done >= total else ""
        self._out.write(f"\r[{bar}] {self._status(done, total, now)}\x1b[K{end}")
        self._out.flush()
        self._shown, self._drawn = now, True

    def _status(self, done: int, total: int, now: float) -> str:
        elapsed = max(1e-9, now - self._started)
        rate = done / elapsed
        left = (total - done) / rate if rate > 0 else float("inf")
        eta = "done" if done >= total else f"ETA {_duration(left)}"
        return f"{self._stage}: {done}/{total} seeds, {rate:.1f} seeds/s, {_duration(elapsed)} elapsed, {eta}"


def _duration(seconds: float) -> str:
    if seconds == float("inf"):
        return "?"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
