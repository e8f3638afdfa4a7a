"""The settings file: discovery, precedence (command line > file > defaults), checks, option groups."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from audit import settings as settings_module
from audit.cli import main
from audit.cli_options import parse_args
from audit.errors import ConfigError
from audit.records import Severity
from audit.settings import find_settings, load_settings, register_section


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_command_line_beats_file_beats_default(tmp_path: Path) -> None:
    """An option in the file replaces the built-in default; the same option on the command line wins."""
    settings = load_settings(_write(tmp_path / "news-audit.toml", "jobs = 2\nlinks = 'live'\n"))
    assert parse_args(["run"]).jobs is None
    assert parse_args(["run"], settings).jobs == 2
    assert parse_args(["run", "--jobs", "3"], settings).jobs == 3
    assert parse_args(["run"], settings).links == "live"
    assert parse_args(["validate"], settings).jobs == 2  # a top-level key sets every command that has it


def test_command_table_applies_to_that_command_only(tmp_path: Path) -> None:
    """[tool.news-audit.run] sets run's options, not validate's; paths are read from the file's folder."""
    (tmp_path / "proj").mkdir()
    text = '[tool.news-audit.run]\nreport = "out/report"\nfail-on = "warning"\n'
    settings = load_settings(_write(tmp_path / "proj" / "pyproject.toml", text))
    run = parse_args(["run"], settings)
    assert run.fail_on == "warning"
    assert run.report.resolve() == (tmp_path / "proj" / "out" / "report").resolve()
    assert parse_args(["validate"], settings).fail_on == "critical"


def test_options_by_dest_or_flag_name(tmp_path: Path) -> None:
    """A key may be the option's dest (seed_timeout, release_root) or its flag (seed-timeout, to)."""
    text = "seed_timeout = 5\n[publish]\nto = 'rel'\n"
    settings = load_settings(_write(tmp_path / "news-audit.toml", text))
    assert parse_args(["run"], settings).seed_timeout == 5.0
    assert parse_args(["publish"], settings).release_root.name == "rel"


def test_nearest_file_is_found_upwards(tmp_path: Path) -> None:
    """news-audit.toml or a pyproject.toml with [tool.news-audit] in the folder or a parent is found."""
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    _write(tmp_path / "pyproject.toml", "[project]\nname = 'x'\n")
    assert find_settings(deep) is None
    _write(tmp_path / "a" / "pyproject.toml", "[tool.news-audit]\njobs = 1\n")
    assert find_settings(deep) == tmp_path / "a" / "pyproject.toml"
    _write(deep / "news-audit.toml", "jobs = 1\n")
    assert find_settings(deep) == deep / "news-audit.toml"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("jobz = 2\n", r"news-audit.toml: unknown option 'jobz'\. Did you mean \"jobs\"\?"),
        ("jobs = 0\n", r"news-audit.toml: jobs = 0: 0 is less than 1"),
        ("jobs = true\n", r"jobs = True: Write what --jobs takes"),
        ("links = 'sometimes'\n", r"links = 'sometimes': not one of 'offline', 'live'"),
        ("allow-private-links = 'yes'\n", r"allow-private-links = 'yes': write true or false"),
        ("jobs = [1]\n", r"takes one value, not a list"),
        ("[lnks]\nx = 1\n", r"news-audit.toml.lnks: no such table\."),
        ("[rules.number-has-source]\nmax-rate = 2\n", r"max-rate = 2: not a fraction"),
        ("[rules.number-has-source]\nseverity = 'fatal'\n", r"severity = 'fatal': use \"critical\""),
        ("[rules.number-has-source]\nmax_rate = 0.1\n", r"unknown key 'max_rate'\. Did you mean \"max-rate\"\?"),
        ("[rules.number-has-source]\nper = 'article'\n", r"per and within need a max-rate or max-count"),
        ("[rules.x]\nmax-rate = 0.1\nmax-count = 2\n", r"max-rate or max-count for the dataset, not both"),
        ("jobs = \n", r"invalid TOML"),
    ],
)
def test_bad_settings_name_file_key_and_fix(tmp_path: Path, text: str, message: str) -> None:
    """Each bad setting is a ConfigError naming the file and the key, with the fix."""
    path = _write(tmp_path / "news-audit.toml", text)
    with pytest.raises(ConfigError, match=message):
        parse_args(["run"], load_settings(path))


def test_bad_settings_exit_2_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The CLI turns a bad settings file into exit 2 and one line on stderr, before anything runs."""
    _write(tmp_path / "pyproject.toml", "[tool.news-audit]\nfail-on = 'never'\n")
    monkeypatch.chdir(tmp_path)
    assert main(["run", "seeds"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "pyproject.toml [tool.news-audit]: fail-on = 'never'" in err


def test_config_file_option_and_no_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--config-file names the file; --no-config ignores the one found; a missing named file is exit 2."""
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "news-audit.toml", "jobz = 1\n")  # bad: found, unless skipped
    assert main(["run", "--no-config", "missing-seeds"]) == 2  # the seeds error, not the settings one
    _write(tmp_path / "other.toml", "jobs = 2\n")
    assert main(["run", "--config-file", "nothere.toml"]) == 2


def test_rules_become_the_gate_policy(tmp_path: Path) -> None:
    """[rules.ID] gives severities and tolerances; ``within`` defaults to warning."""
    text = (
        "[rules.number-has-source]\nmax-rate = 0.02\nper = 'article'\n"
        "[rules.article-has-byline]\nseverity = 'critical'\n"
    )
    gate = load_settings(_write(tmp_path / "news-audit.toml", text)).gate
    tolerance = gate.rules["number-has-source"].tolerance
    assert tolerance is not None and (tolerance.max_rate, tolerance.per) == (0.02, "article")
    assert tolerance.within is Severity.WARNING
    assert gate.rules["article-has-byline"].severity is Severity.CRITICAL
    assert gate.source == str(tmp_path / "news-audit.toml")


def test_option_groups_reach_their_hook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A table claimed with register_section is handed to its parser, and its result kept by name."""
    monkeypatch.setattr(settings_module, "_SECTIONS", {})
    seen: list[tuple[Mapping[str, Any], str]] = []

    def parse(table: Mapping[str, Any], where: str) -> Any:
        seen.append((table, where))
        return {"per_host": table["per-host"]}

    register_section("crawl", parse)
    settings = load_settings(_write(tmp_path / "pyproject.toml", "[tool.news-audit.crawl]\nper-host = 2\n"))
    assert settings.sections == {"crawl": {"per_host": 2}}
    assert seen == [({"per-host": 2}, f"{tmp_path / 'pyproject.toml'} [tool.news-audit].crawl")]
    with pytest.raises(ValueError, match="reserved"):
        register_section("run", parse)


def test_every_option_is_settable(tmp_path: Path) -> None:
    """Every option of every command can be named in the file (nothing the command line has is missing)."""
    from audit.cli_options import build_parser

    _, commands = build_parser()
    for name, parser in commands.items():
        for action in parser._actions:
            if action.dest in ("help", "config_file", "no_config", "debug") or action.default is argparse.SUPPRESS:
                continue
            assert settings_module._action(parser, action.dest) is action, (name, action.dest)


def test_python_3_11_tomllib_is_used() -> None:
    """The loader needs no third-party TOML reader (tomllib is in the standard library from 3.11)."""
    assert sys.version_info >= (3, 11) and settings_module.tomllib.__name__ == "tomllib"


def test_option_group_owner_is_imported_when_its_table_is_present(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SECTION_OWNERS names the module to import for a table; importing it registers the parser."""
    module = tmp_path / "crawl_owner.py"
    module.write_text(
        "from audit.settings import register_section\n"
        "register_section('crawl', lambda table, where: dict(table))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(settings_module, "_SECTIONS", {})
    monkeypatch.setattr(settings_module, "SECTION_OWNERS", {"crawl": "crawl_owner"})
    settings = load_settings(_write(tmp_path / "news-audit.toml", "[crawl]\ntimeout = 3\n"))
    assert settings.sections == {"crawl": {"timeout": 3}}


def test_help_and_version_answer_despite_a_broken_settings_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A pyproject.toml that is not TOML stops a run (exit 2, naming it) but not --version or --help."""
    _write(tmp_path / "pyproject.toml", "[tool.news-audit\n")
    monkeypatch.chdir(tmp_path)
    assert main(["--version"]) == 0
    assert main(["run", "--help"]) == 0
    capsys.readouterr()
    assert main(["run"]) == 2
    assert "pyproject.toml: invalid TOML" in capsys.readouterr().err


def test_links_table_reaches_the_live_checker(tmp_path: Path) -> None:
    """[tool.news-audit.links] is checked when read, and the --link-* flags are laid over it."""
    from audit.cli import _live_options

    text = (
        '[tool.news-audit.run]\nlinks = "live"\n'
        "[tool.news-audit.links]\nper-host-interval = 0.5\ntimeout = 3\n"
        '[tool.news-audit.links.hosts."example.com"]\nconcurrency = 1\n'
    )
    settings = load_settings(_write(tmp_path / "pyproject.toml", text))
    args = parse_args(["run", "--link-timeout", "7"], settings)
    policy = _live_options(args, settings.sections["links"]).policy
    assert policy.per_host_interval == 0.5  # from the file
    assert policy.timeout == 7  # the flag wins over the file
    assert policy.limits_for("news.example.com").concurrency == 1


def test_bad_links_table_names_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A typo in the links table is exit 2 before any work, naming the table, the key and the nearest name."""
    _write(tmp_path / "news-audit.toml", "[links]\nper-host-intervall = 0.5\n")
    code = main(["--config-file", str(tmp_path / "news-audit.toml"), "run", str(tmp_path / "missing")])
    err = capsys.readouterr().err
    assert code == 2
    assert "links" in err and "per-host-intervall" in err and "per-host-interval" in err
