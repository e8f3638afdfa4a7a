"""The documentation's examples work as written: each JSON example in the README and docs/ loads through the
same fail-closed loaders."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from audit.validate.suites import load_suite
from audit.waivers import load_waivers
from tests.conftest import ROOT, SUITES


def _json_examples() -> list[Any]:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    text = "".join(page.read_text(encoding="utf-8") for page in pages)
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", text, re.S)]


def test_the_readme_expectation_example_loads_as_written(tmp_path: Path) -> None:
    """Regression: the README's example rule (it had a string row_condition, which the suite schema rejects)
    loads into a numbers suite as written, beside the suite's own rules."""
    examples = [e for e in _json_examples() if "type" in e and "kwargs" in e]
    assert examples
    suite = json.loads((SUITES / "numbers.json").read_text(encoding="utf-8"))
    for example in examples:
        suite["expectations"] = [
            e for e in suite["expectations"] if e["meta"]["rule_id"] != example["meta"]["rule_id"]
        ] + [example]
    path = tmp_path / "numbers.json"
    path.write_text(json.dumps(suite), encoding="utf-8")
    loaded = load_suite(path, "numbers")
    assert {e["meta"]["rule_id"] for e in examples} <= {r.rule_id for r in loaded.rules}


def test_the_readme_waiver_example_loads_with_a_digest_in_its_placeholder(tmp_path: Path) -> None:
    """The README's waiver example loads once its "…64 hex digits…" placeholder holds a digest."""
    (example,) = [e for e in _json_examples() if "waivers" in e]
    path = tmp_path / "waivers.json"
    path.write_text(json.dumps(example, ensure_ascii=False).replace("…64 hex digits…", "0" * 64), encoding="utf-8")
    (waiver,) = load_waivers(path)
    assert waiver.rule_id == example["waivers"][0]["rule_id"]
