"""How politely live link checks go: one ``LinkPolicy``, read from a settings table or the command line.

The table is the one ``[tool.news-audit.links]`` holds (docs/links.md shows its shape); host overrides are
``hosts."example.com"`` sub-tables. Keys are kebab-case, as TOML tables usually are. Every key and value is
checked here, so a typo is a ``ConfigError`` naming the key and the fix, never a silently ignored setting.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from audit.errors import ConfigError
from audit.settings import register_section

__all__ = ["HostLimits", "LinkPolicy", "host_option"]


@dataclass(frozen=True, slots=True, kw_only=True)
class HostLimits:
    """The pacing ceiling of one host: requests in flight at once, and least seconds between request starts."""

    concurrency: int
    interval: float


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkPolicy:
    """Pacing, patience and identity of live link checks; seconds throughout.

    ``per_host_interval`` is the ceiling of a host's rate (0.1 s: at most 10 requests per second; 0: no
    ceiling but the concurrency). Pacing starts at the ceiling, slows down on 429/503 and comes back to it
    while the host answers well; it never goes faster.
    """

    per_host_concurrency: int = 4
    per_host_interval: float = 0.1
    global_concurrency: int = 64
    timeout: float = 10.0
    retries: int = 2
    rate_limit_retries: int = 6
    backoff: float = 0.5
    max_retry_after: float = 30.0
    max_redirects: int = 10
    user_agent: str = "news-audit-linkcheck/0.1"
    hosts: tuple[tuple[str, HostLimits], ...] = ()  # (host, limits), most specific first

    def limits_for(self, host: str) -> HostLimits:
        """The host's limits: its own override, else its nearest parent domain's, else the defaults."""
        host = host.lower().rstrip(".")
        for name, limits in self.hosts:
            if host == name or host.endswith("." + name):
                return limits
        return HostLimits(concurrency=self.per_host_concurrency, interval=self.per_host_interval)

    @classmethod
    def from_mapping(cls, table: Mapping[str, Any], where: str = "[tool.news-audit.links]") -> LinkPolicy:
        """A policy from a settings table (kebab-case keys); ConfigError names the key and the fix."""
        _check_keys(table, _KEYS, where)
        values = {
            _KEYS[key][0]: _KEYS[key][1](table[key], f"{where} {key}") for key in table if key != "hosts"
        }
        hosts = table.get("hosts", {})
        if not isinstance(hosts, Mapping):
            raise ConfigError(f'{where} hosts: expected a table of host names, e.g. hosts."example.com"')
        defaults = cls(**values)
        overrides = [
            _host_limits(str(name), spec, defaults, f'{where} hosts."{name}"') for name, spec in hosts.items()
        ]
        # a longer name is more specific: news.example.com before example.com
        overrides.sort(key=lambda pair: (-len(pair[0]), pair[0]))
        return cls(**values, hosts=tuple(overrides))


def _count(minimum: int) -> Any:
    def check(value: Any, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ConfigError(
                f"{where}: {value!r} is not a whole number of at least {minimum}. Give e.g. {minimum + 1}."
            )
        return value

    return check


def _seconds(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not (0 <= value < math.inf):
        raise ConfigError(f"{where}: {value!r} is not a number of seconds, 0 or more. Give e.g. 0.5.")
    return float(value)


def _positive_seconds(value: Any, where: str) -> float:
    seconds = _seconds(value, where)
    if seconds == 0:
        raise ConfigError(f"{where}: 0 would give up at once. Give more than 0 seconds, e.g. 10.")
    return seconds


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip() or not value.isprintable():
        raise ConfigError(
            f'{where}: {value!r} is not a one-line, non-empty string. Give e.g. "my-audit/1.0".'
        )
    return value


# table key -> (LinkPolicy field, checker)
_KEYS: dict[str, tuple[str, Any]] = {
    "per-host-concurrency": ("per_host_concurrency", _count(1)),
    "per-host-interval": ("per_host_interval", _seconds),
    "global-concurrency": ("global_concurrency", _count(1)),
    "timeout": ("timeout", _positive_seconds),
    "retries": ("retries", _count(0)),
    "rate-limit-retries": ("rate_limit_retries", _count(0)),
    "backoff": ("backoff", _seconds),
    "max-retry-after": ("max_retry_after", _seconds),
    "max-redirects": ("max_redirects", _count(0)),
    "user-agent": ("user_agent", _text),
    "hosts": ("hosts", None),
}
_HOST_KEYS: dict[str, tuple[str, Any]] = {
    "concurrency": ("concurrency", _count(1)),
    "interval": ("interval", _seconds),
}


def _check_keys(table: Mapping[str, Any], known: Mapping[str, Any], where: str) -> None:
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: expected a table of settings, not {type(table).__name__}")
    for key in table:
        if key not in known:
            close = difflib.get_close_matches(str(key), list(known), n=1)
            hint = f'Did you mean "{close[0]}"?' if close else f"Known keys: {', '.join(known)}."
            raise ConfigError(f'{where}: unknown key "{key}". {hint}')


def _host_limits(name: str, spec: Any, defaults: LinkPolicy, where: str) -> tuple[str, HostLimits]:
    host = name.lower().rstrip(".")
    if not host or any(c in host for c in "/:@ "):
        raise ConfigError(f'{where}: "{name}" is not a host name. Give the bare host, e.g. "example.com".')
    _check_keys(spec, _HOST_KEYS, where)
    if not spec:
        raise ConfigError(f"{where}: no setting. Give concurrency and/or interval, e.g. interval = 1.0")
    base = defaults.limits_for(host)
    values = {_HOST_KEYS[k][0]: _HOST_KEYS[k][1](v, f"{where} {k}") for k, v in spec.items()}
    return host, HostLimits(**{"concurrency": base.concurrency, "interval": base.interval, **values})


def host_option(spec: str) -> tuple[str, dict[str, Any]]:
    """``HOST:KEY=VALUE[,KEY=VALUE]`` (the --link-host option) as a host and its table; from_mapping checks it."""
    host, _, pairs = spec.partition(":")
    table: dict[str, Any] = {}
    for pair in filter(None, pairs.split(",")):
        key, _, value = pair.partition("=")
        table[key.strip()] = _number(value.strip())
    return host.strip(), table


def _number(text: str) -> int | float | str:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text  # not a number: from_mapping names the key and the fix


def _links_table(table: Mapping[str, Any], where: str) -> Mapping[str, Any]:
    """The settings file's ``[tool.news-audit.links]`` table, checked now so that a typo stops the run before
    any work; the --link-* flags are laid over it when the checker starts (cli._live_options)."""
    LinkPolicy.from_mapping(table, where)
    return dict(table)


register_section("links", _links_table)
