"""Accuracy of number detection and source attribution against the gold set in tests/gold/numbers/.

Run ``python -m tests.eval_numbers [-v]``. Detection: a predicted number matches a gold number when their
character spans overlap (one-to-one). Source attribution, over gold numbers that require a source: a
prediction is correct when its source names the gold entity (case-, article- and possessive-insensitive,
either name containing the other) or, for gold "<derived>", when it is derived. A gold source missed because
the number was not detected counts as a miss. Exits 1 when a figure is below its target.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audit.extract.number_fact import NumberFact
from audit.extract.numbers import default_policy_path, find_numbers, load_policy
from audit.extract.segments import Segment

GOLD = Path(__file__).parent / "gold" / "numbers"
TARGETS = {"detection precision": 0.97, "detection recall": 0.97, "source F1": 0.90}


@dataclass
class Tally:
    """Counts accumulated over the gold set."""

    det_tp: int = 0
    det_fp: int = 0
    det_fn: int = 0
    src_tp: int = 0
    src_fp: int = 0
    src_fn: int = 0
    req_agree: int = 0
    req_total: int = 0
    errors: list[str] = field(default_factory=list)


def build_input(gold: dict[str, Any]) -> tuple[str, list[Segment], int]:
    """The text find_numbers sees: a publisher line, then the story's paragraphs; and the story's offset."""
    pub = gold.get("publisher") or ""
    offset = len(pub) + 2 if pub else 0
    text = (pub + "\n\n" if pub else "") + gold["text"]
    segs = [Segment(0, len(pub), "publisher")] if pub else []
    if "segments" in gold:
        segs += [Segment(a + offset, b + offset, k) for a, b, k in gold["segments"]]
    else:
        pos = 0
        for line in gold["text"].split("\n"):
            if line.strip():
                segs.append(Segment(offset + pos, offset + pos + len(line), "body"))
            pos += len(line) + 1
    return text, segs, offset


def _norm(name: str) -> str:
    """A source name for comparison: lower case, no leading article, possessive or punctuation."""
    s = re.sub(r"['’]s\b", "", name.lower())
    s = re.sub(r"[^\w\s&.-]", " ", s)
    s = re.sub(r"^\s*(?:the|a|an)\s+", "", s)
    return re.sub(r"\s+", " ", s).strip(" .")


def source_ok(gold_source: str | list[str], fact: NumberFact) -> bool:
    """True when the predicted attribution names the gold source (or is derived, for '<derived>')."""
    names = gold_source if isinstance(gold_source, list) else [gold_source]
    if names == ["<derived>"]:
        return fact.attribution_kind == "derived"
    if fact.source is None:
        return False
    got = _norm(fact.source)
    for name in names:
        want = _norm(name)
        if got == want or re.search(rf"\b{re.escape(want)}\b", got) or re.search(rf"\b{re.escape(got)}\b", want):
            return True
    return False


def _match(golds: list[dict[str, Any]], facts: tuple[NumberFact, ...], offset: int) -> dict[int, int]:
    """One-to-one matching of gold numbers to facts by overlapping spans, largest overlap first."""
    pairs = []
    for gi, g in enumerate(golds):
        gs, ge = g["start"] + offset, g["end"] + offset
        for fi, f in enumerate(facts):
            ov = min(ge, f.end) - max(gs, f.start)
            if ov > 0:
                pairs.append((ov, gi, fi))
    out: dict[int, int] = {}
    used: set[int] = set()
    for _, gi, fi in sorted(pairs, reverse=True):
        if gi not in out and fi not in used:
            out[gi] = fi
            used.add(fi)
    return out


def score_article(gold: dict[str, Any], policy: Any, tally: Tally) -> None:
    """Add one article's detection and attribution counts to the tally."""
    text, segs, offset = build_input(gold)
    facts = find_numbers(text, segs, language=gold.get("language", "en"), policy=policy)
    golds = gold["numbers"]
    for g in golds:
        assert gold["text"][g["start"]:g["end"]] == g["text"], (gold["id"], g)
    match = _match(golds, facts, offset)
    tally.det_tp += len(match)
    tally.det_fn += len(golds) - len(match)
    tally.det_fp += len(facts) - len(match)
    for fi, f in enumerate(facts):
        if fi not in match.values():
            tally.errors.append(f"{gold['id']}: extra    {f.text!r} ({f.kind}) in {text[f.sentence_start:f.sentence_end][:90]!r}")
    for gi, g in enumerate(golds):
        fact = facts[match[gi]] if gi in match else None
        if fact is None:
            tally.errors.append(f"{gold['id']}: missed   {g['text']!r} ({g['kind']})")
        else:
            tally.req_total += 1
            tally.req_agree += fact.requires_attribution == g["requires_attribution"]
        if not g["requires_attribution"]:
            continue
        _score_source(gold["id"], g, fact, tally)


def _score_source(gid: str, g: dict[str, Any], fact: NumberFact | None, tally: Tally) -> None:
    """Count one gold number's source outcome."""
    has_gold = g["source"] is not None
    has_pred = fact is not None and (fact.source is not None or fact.attribution_kind == "derived")
    ok = has_gold and fact is not None and source_ok(g["source"], fact)
    if ok:
        tally.src_tp += 1
        return
    if has_pred:
        tally.src_fp += 1
    if has_gold:
        tally.src_fn += 1
    if has_pred or has_gold:
        got = None if fact is None else (fact.attribution_kind, fact.source)
        tally.errors.append(f"{gid}: source   {g['text']!r} want {g['source']!r} got {got!r}")


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Precision, recall and F1."""
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def main(argv: list[str] | None = None) -> int:
    """Score every gold file, print the figures, and return 1 if any is below its target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="list every error")
    args = parser.parse_args(argv)
    policy = load_policy(default_policy_path())
    tally = Tally()
    files = sorted(GOLD.glob("*.json"))
    started = time.perf_counter()
    for path in files:
        score_article(json.loads(path.read_text(encoding="utf-8")), policy, tally)
    elapsed = time.perf_counter() - started
    dp, dr, df = _prf(tally.det_tp, tally.det_fp, tally.det_fn)
    sp, sr, sf = _prf(tally.src_tp, tally.src_fp, tally.src_fn)
    figures = {"detection precision": dp, "detection recall": dr, "source F1": sf}
    print(f"gold: {len(files)} articles, {tally.det_tp + tally.det_fn} numbers ({elapsed * 1000:.0f} ms)")
    print(f"detection         P={dp:.3f} R={dr:.3f} F1={df:.3f}  (tp={tally.det_tp} fp={tally.det_fp} fn={tally.det_fn})")
    print(f"source attribution P={sp:.3f} R={sr:.3f} F1={sf:.3f}  (tp={tally.src_tp} fp={tally.src_fp} fn={tally.src_fn})")
    print(f"requires_attribution agreement {tally.req_agree}/{tally.req_total}")
    if args.verbose:
        print("\n".join(tally.errors))
    below = [f"{k} {v:.3f} < {TARGETS[k]}" for k, v in figures.items() if v < TARGETS[k]]
    for line in below:
        print(f"BELOW TARGET: {line}")
    return 1 if below else 0


if __name__ == "__main__":
    sys.exit(main())
