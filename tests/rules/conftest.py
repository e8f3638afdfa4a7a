"""The clean dataset every rule case edits a copy of: one `audit run` per test session."""

from __future__ import annotations

import pytest

from tests.rules.runner import Base, CheckResult, build_base, validate


@pytest.fixture(scope="session")
def base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    """The base seeds audited once; cases copy its tables (and seeds, if they edit one)."""
    return build_base(tmp_path_factory.mktemp("rules-base"))


@pytest.fixture(scope="session")
def clean_results(base: Base) -> dict[str, CheckResult]:
    """Every rule's result on the unedited dataset, all suites in one validation, every seed extracted again
    (`audit validate`'s default)."""
    return validate(base.tables, base.seeds, base.suites, again=True)
