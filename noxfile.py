"""Sessions: audit (the CLI on seeds/), audit-spark (the same on Spark), tests, lint, typecheck, eval, bench.

Every install is constrained by requirements/lock.txt, so a dependency's new release cannot change a
verdict unnoticed (`nox -s lock` writes it again from pyproject.toml). A session's environment is reused,
and its install skipped, while pyproject.toml, setup.py and the lock file are unchanged.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "tests"]
nox.options.reuse_venv = "yes"  # built once; the stamp below says when to install again

LOCK = "requirements/lock.txt"
STAMPED = ("pyproject.toml", "setup.py", LOCK)

PYPROJECT = nox.project.load_toml("pyproject.toml")
ENV = {
    "GX_ANALYTICS_ENABLED": "false",  # older GX releases sent usage analytics
    "UV_COMPILE_BYTECODE": "1",  # GX imports in 2 s compiled, 4 s without
    "PYTHONHASHSEED": "0",
}
os.environ.update(ENV)


def _install(session: nox.Session, *groups: str, extra: str = "", package: bool = True) -> None:
    """The package (editable) and the dependency groups, pinned by the lock; skipped when already done."""
    digest = hashlib.sha256(repr((groups, extra, package)).encode())
    for name in STAMPED:
        digest.update(Path(name).read_bytes())
    stamp = Path(str(session.virtualenv.location)) / ".news-audit-installed"
    if stamp.is_file() and stamp.read_text() == digest.hexdigest():
        session.log(f"up to date with {', '.join(STAMPED)}: install skipped")
        return
    wanted = ["-e", f".{extra}"] if package else []
    for group in groups:
        wanted += nox.project.dependency_groups(PYPROJECT, group)
    session.install("-c", LOCK, *wanted)
    stamp.write_text(digest.hexdigest())


@nox.session
def audit(session: nox.Session) -> None:
    """Audit the bundled seeds: tables in build/tables/, report in reports/, exit code is the verdict."""
    _install(session)
    session.run("python", "-m", "audit", "run", *session.posargs, env=ENV)


@nox.session(name="audit-spark")
def audit_spark(session: nox.Session) -> None:
    """Audit the bundled seeds on Apache Spark (local[2]; pass --spark-master URL after --); needs Java 17+."""
    _install(session, extra="[spark]")
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
    _install(session, "dev", package=False)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", "audit", "benchmarks", "noxfile.py")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the audit package, spark/ included (so the [spark] extra is installed)."""
    _install(session, "dev", extra="[spark]")
    session.run("mypy", "audit")


@nox.session(name="eval")
def eval_(session: nox.Session) -> None:
    """Accuracy against the gold sets: numbers (detection, attribution P/R/F1), publication and in-text dates,
    and PolNeAR number->source pairs (train tuned on, dev held out)."""
    _install(session, "test")
    session.run("python", "-m", "tests.eval_numbers", *session.posargs, env=ENV)
    session.run("python", "-m", "tests.eval_dates", env=ENV)
    session.run("python", "-m", "tests.eval_dates", "unseen", env=ENV)
    for split in ("tune", "held-out"):
        session.run("python", "-m", "tests.eval_dates", "intext", "--split", split, env=ENV)
    session.run("python", "-m", "tests.eval_polnear", env=ENV)  # last: it fails while dev misses its targets


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks under benchmarks/ (all, or those named after --: cli scale gx corpus links shapes attribution spark);
    cli: the usage-error latency and one seed end to end."""
    _install(session, "test")
    session.run("python", "-m", "benchmarks", *session.posargs, env=ENV)


@nox.session(venv_backend="none")
def lock(session: nox.Session) -> None:
    """Write requirements/lock.txt again from pyproject.toml (every extra and group), with uv."""
    session.run(
        "python3", "-m", "uv", "pip", "compile", "pyproject.toml", "--all-extras", "--group", "test",
        "--group", "dev", "--python-version", "3.11", "--no-header", "--annotation-style", "line",
        "-o", LOCK, external=True,
    )  # fmt: skip


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
