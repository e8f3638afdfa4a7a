"""Sessions: audit (the CLI on seeds/), audit-spark (the same on Spark), tests, lint, typecheck, eval, bench."""

from __future__ import annotations

import os

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "tests"]

PYPROJECT = nox.project.load_toml("pyproject.toml")
ENV = {
    "GX_ANALYTICS_ENABLED": "false",  # older GX releases sent usage analytics
    "UV_COMPILE_BYTECODE": "1",  # GX imports in 2 s compiled, 4 s without
    "PYTHONHASHSEED": "0",
}
os.environ.update(ENV)


def _install(session: nox.Session, *groups: str, extra: str = "") -> None:
    session.install("-e", f".{extra}")
    for group in groups:
        session.install(*nox.project.dependency_groups(PYPROJECT, group))


@nox.session
def audit(session: nox.Session) -> None:
    """Audit the bundled seeds: tables in build/tables/, report in reports/, exit code is the verdict."""
    _install(session)
    session.run("python", "-m", "audit", "run", *session.posargs, env=ENV)


@nox.session(name="audit-spark")
def audit_spark(session: nox.Session) -> None:
    """Audit the bundled seeds on Apache Spark (local[2]; pass --spark-master URL after --); needs Java 17+."""
    session.install("-e", ".[spark]")
    session.run("python", "-m", "audit", "run", "--engine", "spark", *session.posargs, env=ENV)


@nox.session
def publish(session: nox.Session) -> None:
    """Publish build/tables/ to releases/ if reports/ passed for exactly those tables (exit 1 if not)."""
    _install(session)
    paths = ["--tables", "build/tables", "--report", "reports", "--to", "releases"]
    session.run("python", "-m", "audit", "publish", *paths, *session.posargs, env=ENV)


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite (pass pytest options after --); the Spark tests skip where Java is missing."""
    _install(session, "test", extra="[spark]")
    session.run("pytest", *session.posargs, env=ENV)


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff lint, and the format check on the package, benchmarks and noxfile."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "dev"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", "audit", "benchmarks", "noxfile.py")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the audit package."""
    _install(session, "dev")
    session.run("mypy", "audit")


@nox.session(name="eval")
def eval_(session: nox.Session) -> None:
    """Accuracy against the gold sets: numbers, publication dates, and PolNeAR number->source pairs (dev held out)."""
    _install(session, "test")
    session.run("python", "-m", "tests.eval_numbers", *session.posargs, env=ENV)
    session.run("python", "-m", "tests.eval_dates", env=ENV)
    session.run("python", "-m", "tests.eval_polnear", env=ENV)  # last: it fails while dev misses its targets


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks under benchmarks/: figures and ratios against baselines measured in the same run."""
    _install(session, "test")
    session.run("python", "-m", "benchmarks", *session.posargs, env=ENV)


@nox.session
def corpus(session: nox.Session) -> None:
    """Audit the whole real corpus (../shared/corpus or $AUDIT_CORPUS) and score bodies and dates against it."""
    _install(session)
    root = os.environ.get("AUDIT_CORPUS", "../shared/corpus")
    runs = {
        "article-extraction-benchmark": ("html", "bodies", "ground-truth.json"),
        "htmldate-en": ("html", "dates", "dates.json"),
    }
    for name, (pages, score, truth) in runs.items():
        out = f"build/corpus/{name}"
        session.run(
            "python", "-m", "audit", "run", f"{root}/{name}/{pages}", "--tables", f"{out}/tables",
            "--report", f"{out}/report", *session.posargs, env=ENV, success_codes=[0, 1],
        )  # fmt: skip
        session.run(
            "python", "-m", "tests.eval_corpus", score, f"{out}/tables", f"{root}/{name}/{truth}", env=ENV
        )
