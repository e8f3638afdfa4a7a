"""The project's settings file: defaults for any command-line option, the gate policy, and option groups.

Read from ``news-audit.toml``, or from the ``[tool.news-audit]`` table of ``pyproject.toml``, in the
working directory or the nearest parent that has one (``--config-file FILE`` names one; ``--no-config``
reads none). Precedence: the command line, then the file, then the built-in defaults. Layout::

    [tool.news-audit]                 # any option of any command, by its name: jobs = 2, fail-on = "warning"
    [tool.news-audit.run]             # options for one command only (run, validate, publish, waive, init)
    [tool.news-audit.rules.RULE-ID]   # severity, max-rate, max-count, per, within: audit/gate.py
    [tool.news-audit.NAME]            # an option group: parsed by the hook registered for NAME

An option group is a table whose name is neither a command nor ``rules``; the module that owns it calls
``register_section(NAME, parse)`` at import time, and ``parse(table, where)`` returns what the group's code
needs (raising ConfigError on a bad key). ``SECTION_OWNERS`` names that module, so it is imported only
when its table is present. A table no hook claims is an error naming the known ones.
This module reads and checks; applying option values to the parser is ``apply_options``.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import math
import os
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audit.errors import ConfigError
from audit.gate import GatePolicy, RulePolicy, Tolerance
from audit.records import Severity

FILE_NAME = "news-audit.toml"
COMMANDS = ("run", "validate", "publish", "waive", "init")
SectionParser = Callable[[Mapping[str, Any], str], Any]
_SECTIONS: dict[str, SectionParser] = {}
# option group -> the module that registers its parser (imported when the table is present)
SECTION_OWNERS: dict[str, str] = {"links": "audit.link_policy"}


def register_section(name: str, parse: SectionParser) -> None:
    """Claim the table ``[tool.news-audit.NAME]``: ``parse(table, where)`` turns it into settings."""
    if name in (*COMMANDS, "rules"):
        raise ValueError(f"{name!r} is a reserved table name")
    _SECTIONS[name] = parse


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """What a settings file says, checked; an empty one when there is no file."""

    source: Path | None = None  # the file read, or None
    where: str = ""  # how messages name the table: "pyproject.toml [tool.news-audit]"
    options: Mapping[str, Mapping[str, Any]] = field(
        default_factory=dict
    )  # command ("" = all) -> key -> value
    gate: GatePolicy = field(default_factory=GatePolicy)
    sections: Mapping[str, Any] = field(default_factory=dict)  # option group name -> its parser's value

    @property
    def base_dir(self) -> Path:
        """The directory relative paths in the file are read from: the file's own."""
        return self.source.parent if self.source else Path()


def find_settings(start: Path) -> Path | None:
    """The nearest news-audit.toml, or pyproject.toml with a [tool.news-audit] table, from start upwards."""
    for directory in (start, *start.parents):
        own = directory / FILE_NAME
        if own.is_file():
            return own
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file() and "news-audit" in _read_toml(pyproject).get("tool", {}):
            return pyproject
    return None


def load_settings(path: Path | None) -> Settings:
    """Read and check a settings file (None: no file, built-in defaults only); ConfigError names the key."""
    if path is None:
        return Settings()
    doc = _read_toml(path)
    if path.name == FILE_NAME:
        table, where = doc, str(path)
    else:
        table, where = doc.get("tool", {}).get("news-audit", {}), f"{path} [tool.news-audit]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table. Write it as [tool.news-audit] with keys under it.")
    options: dict[str, dict[str, Any]] = {"": {}}
    sections: dict[str, Any] = {}
    gate = GatePolicy(source=str(path))
    for key, value in table.items():
        if key == "rules":
            gate = GatePolicy(rules=_rules(value, f"{where}.rules"), source=str(path))
        elif key in COMMANDS:
            options[key] = dict(_table(value, f"{where}.{key}"))
        elif isinstance(value, dict):
            sections[key] = _section(key, value, where)
        else:
            options[""][key] = value
    return Settings(source=path, where=where, options=options, gate=gate, sections=sections)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the settings file ({exc.strerror or exc}).") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}). Save it as UTF-8.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}. Fix the syntax there.") from None


def _table(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: must be a table of options, not {value!r}. Write it as [{where}].")
    return value


def _section(name: str, value: Mapping[str, Any], where: str) -> Any:
    if name not in _SECTIONS and name in SECTION_OWNERS:
        importlib.import_module(SECTION_OWNERS[name])  # registers its parser
    parse = _SECTIONS.get(name)
    if parse is None:
        known = [*COMMANDS, "rules", *sorted({*_SECTIONS, *SECTION_OWNERS})]
        close = difflib.get_close_matches(name, known, n=1)
        hint = f' Did you mean "{close[0]}"?' if close else f" Known tables: {', '.join(known)}."
        raise ConfigError(f"{where}.{name}: no such table.{hint}")
    return parse(value, f"{where}.{name}")


_RULE_KEYS = ("severity", "max-rate", "max-count", "per", "within")


def _rules(value: Any, where: str) -> dict[str, RulePolicy]:
    rules = {}
    for rule_id, body in _table(value, where).items():
        rules[rule_id] = _rule(_table(body, f"{where}.{rule_id}"), f"{where}.{rule_id}")
    return rules


def _rule(body: Mapping[str, Any], where: str) -> RulePolicy:
    for key in body:
        if key not in _RULE_KEYS:
            close = difflib.get_close_matches(key.replace("_", "-"), _RULE_KEYS, n=1)
            hint = f' Did you mean "{close[0]}"?' if close else f" Use {', '.join(_RULE_KEYS)}."
            raise ConfigError(f"{where}: unknown key {key!r}.{hint}")
    severity = _severity(body, "severity", where)
    rate, count = body.get("max-rate"), body.get("max-count")
    if rate is not None and (
        isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate < 1
    ):
        raise ConfigError(
            f"{where}: max-rate = {rate!r}: not a fraction from 0 to below 1. Write e.g. 0.02 for 2%."
        )
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 0):
        raise ConfigError(f"{where}: max-count = {count!r}: not a whole number of 0 or more.")
    per = body.get("per", "dataset")
    if per not in ("dataset", "article"):
        raise ConfigError(f'{where}: per = {per!r}: use "dataset" (default) or "article".')
    if per == "dataset" and rate is not None and count is not None:
        raise ConfigError(f"{where}: give max-rate or max-count for the dataset, not both.")
    tolerance = None
    if rate is not None or count is not None:
        within = _severity(body, "within", where) or Severity.WARNING
        tolerance = Tolerance(max_rate=rate, max_count=count, per=per, within=within)
    elif "per" in body or "within" in body:
        raise ConfigError(f"{where}: per and within need a max-rate or max-count.")
    return RulePolicy(severity=severity, tolerance=tolerance)


def _severity(body: Mapping[str, Any], key: str, where: str) -> Severity | None:
    value = body.get(key)
    if value is None:
        return None
    try:
        return Severity(value)
    except ValueError:
        raise ConfigError(f'{where}: {key} = {value!r}: use "critical", "warning" or "info".') from None


def apply_options(settings: Settings, parsers: Mapping[str, argparse.ArgumentParser]) -> None:
    """Make the file's option values the parsers' defaults, converted and checked as the command line's are.

    A top-level key sets the option in every command that has it; it must name an option of at least one.
    """
    for command, values in settings.options.items():
        targets = {command: parsers[command]} if command else parsers
        where = f"{settings.where}.{command}" if command else settings.where
        for key, value in values.items():
            hits = {name: action for name, p in targets.items() if (action := _action(p, key)) is not None}
            if not hits:
                raise ConfigError(f"{where}: unknown option {key!r}.{_option_hint(key, targets.values())}")
            for name, action in hits.items():
                converted = _convert(action, value, settings.base_dir, f"{where}: {key}")
                targets[name].set_defaults(**{action.dest: converted})


def _names(action: argparse.Action) -> set[str]:
    names = {action.dest.replace("_", "-")}
    names.update(s.lstrip("-") for s in action.option_strings if s.startswith("--"))
    return names


def _settable(action: argparse.Action) -> bool:
    """Options a file may set: not --help, --version, the settings-file options, nor hidden ones."""
    return not isinstance(action, argparse._HelpAction | argparse._VersionAction) and action.dest not in (
        "config_file",
        "no_config",
        "debug",
    )


def _action(parser: argparse.ArgumentParser, key: str) -> argparse.Action | None:
    wanted = key.replace("_", "-")
    for action in parser._actions:
        if _settable(action) and wanted in _names(action):
            return action
    return None


def _option_hint(key: str, parsers: Iterable[argparse.ArgumentParser]) -> str:
    known = sorted({n for p in parsers for a in p._actions if _settable(a) for n in _names(a)})
    close = difflib.get_close_matches(key.replace("_", "-"), known, n=1)
    return f' Did you mean "{close[0]}"?' if close else " See `news-audit COMMAND --help` for the options."


def _convert(action: argparse.Action, value: Any, base: Path, where: str) -> Any:
    """The value as the command line would give it: typed, checked against the choices, paths from base."""
    if isinstance(action, argparse._StoreTrueAction | argparse._StoreFalseAction):
        if not isinstance(value, bool):
            raise ConfigError(f"{where} = {value!r}: write true or false.")
        return value
    if action.nargs in ("+", "*"):
        items = value if isinstance(value, list) else [value]
        return [_convert_one(action, item, base, where) for item in items]
    if isinstance(value, list | dict):
        raise ConfigError(f"{where} = {value!r}: takes one value, not a list or table.")
    return _convert_one(action, value, base, where)


def _convert_one(action: argparse.Action, value: Any, base: Path, where: str) -> Any:
    if isinstance(value, bool) or (isinstance(value, float) and not math.isfinite(value)):
        raise ConfigError(f"{where} = {value!r}: {_expects(action)}")
    text = str(value)
    convert = action.type
    try:
        result = convert(text) if callable(convert) else text
    except (argparse.ArgumentTypeError, ValueError, TypeError) as exc:
        raise ConfigError(f"{where} = {value!r}: {exc}. {_expects(action)}") from None
    if action.choices is not None and result not in action.choices:
        choices = ", ".join(repr(c) for c in action.choices)
        raise ConfigError(f"{where} = {value!r}: not one of {choices}.")
    if isinstance(result, Path) and not result.is_absolute() and base != Path():
        result = Path(os.path.relpath(base / result))
    return result


def _expects(action: argparse.Action) -> str:
    return f"Write what --{action.dest.replace('_', '-')} takes ({action.metavar or 'a value'})."
