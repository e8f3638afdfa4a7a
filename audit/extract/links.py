"""Links: every URL and bare domain mention in a seed's text, with its span, role and offline syntax facts.

Pure: no network and no file writes. The Public Suffix List is tldextract's bundled snapshot, loaded with
fetching and caching disabled, so the registrable domain of a host is the same on every machine.
Offsets in ``LinkFact`` are *characters* of the decoded text, like ``Segment``.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from urllib.parse import parse_qsl, unquote, urljoin, urlsplit

import idna
import rfc3986
import tldextract
from rfc3986 import exceptions as rfc_exceptions
from rfc3986 import validators

from audit.extract.offsets import Ranges
from audit.extract.segments import Segment

__all__ = [
    "ALLOWED_SCHEMES",
    "LinkFact",
    "LinkRole",
    "SyntaxFacts",
    "SyntaxIssue",
    "check_syntax",
    "find_links",
    "link_from_markup",
    "mark_duplicates",
    "role_for_kind",
    "unwrap_url",
]

ALLOWED_SCHEMES = frozenset({"http", "https"})
UNSEGMENTED = "unsegmented"


class LinkRole(StrEnum):
    """Where a link came from; the links suite keys its rules on these codes."""

    CANONICAL = "canonical"
    IMAGE = "image"
    INLINE = "inline"
    PUBLISHER_HOME = "publisher-home"
    TEASER_SOURCE = "teaser-source"
    TEASER = "teaser"
    PAGE = "page"


class SyntaxIssue(StrEnum):
    """Why a URL failed the offline checks; codes are stable once released."""

    BAD_CHARACTER = "bad-character"
    BAD_PERCENT_ESCAPE = "bad-percent-escape"
    BAD_SYNTAX = "bad-syntax"
    SCHEME_NOT_ALLOWED = "scheme-not-allowed"
    BAD_HOST = "bad-host"
    CREDENTIALS = "credentials"
    NO_REGISTRABLE_DOMAIN = "no-registrable-domain"


_ROLE_BY_KIND = {
    "image": LinkRole.IMAGE,
    "publisher-home": LinkRole.PUBLISHER_HOME,
    "teaser-source": LinkRole.TEASER_SOURCE,
    "teaser-title": LinkRole.TEASER,
    "teaser-text": LinkRole.TEASER,
    "teaser-label": LinkRole.TEASER,
    "title": LinkRole.INLINE,
    "body": LinkRole.INLINE,
    "caption": LinkRole.INLINE,
    "dateline": LinkRole.INLINE,
}

# RFC 3986 characters, plus any non-ASCII non-space character (an IRI, RFC 3987, written by a person)
_URI_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]|[^\x00-\x9f\s]")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_ASCII_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_VALIDATOR = (
    validators.Validator()
    .require_presence_of("scheme", "host")
    .check_validity_of("scheme", "userinfo", "host", "port", "path", "query", "fragment")
)

_SCHEME_URL = re.compile(r"(?<![\w+.-])[A-Za-z][A-Za-z0-9+.-]{0,15}://[^\s<>\"`]*")
# a domain name followed by an optional path; not part of a word, an e-mail address or a longer URL
_BARE = re.compile(
    r"(?<![\w@./:%+-])(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_][\w-]{0,62}(?![\w@-])(?:[/?#][^\s<>\"`]*)?"
)
_TRAILING = ".,;:!?'\"”’»…*"
_PAIRS = {")": "(", "]": "[", "}": "{"}

# query parameters through which redirectors, trackers and image proxies carry their target
_WRAPPER_PARAMS = (
    "url", "u", "q", "target", "dest", "destination", "redirect", "redirect_url", "redirect_uri",
    "redir", "r", "to", "link", "goto", "out", "href", "imgurl", "image_url", "img", "src",
)  # fmt: skip
_PROXY_PARAMS = frozenset({"url", "u", "imgurl", "image_url", "img", "src"})
_EMBEDDED = re.compile(r"/(https?(?::|%3A)(?://|%2F%2F).*)$", re.IGNORECASE)
_MAX_UNWRAP = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class SyntaxFacts:
    """What the offline checks say about one URL; ``key`` identifies it for duplicate detection."""

    syntax_ok: bool
    syntax_error: str | None
    syntax_error_code: str | None
    scheme: str | None
    host: str | None
    registrable_domain: str | None
    has_credentials: bool
    key: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkFact:
    """One URL or bare domain mention: [start, end) characters of the text, its role and syntax facts.

    The ``Link`` record before placement and live checks: a field of the same name is the same column
    (see ``build.carried``).
    """

    start: int
    end: int
    text: str
    url: str
    unwrapped_url: str | None
    wrapper: str | None
    role: str
    block_kind: str
    syntax_ok: bool
    syntax_error: str | None
    syntax_error_code: str | None
    scheme: str | None
    host: str | None
    registrable_domain: str | None
    has_credentials: bool
    is_duplicate: bool


@functools.cache
def _psl() -> tldextract.TLDExtract:
    # the bundled snapshot only: no suffix-list URL to fetch and no cache directory to write
    return tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True)


def registrable_domain(host: str) -> str | None:
    """The host's registrable domain under the bundled Public Suffix List (ICANN section), or None."""
    result = _psl()(host)
    if not result.suffix or not result.domain:
        return None
    return f"{result.domain}.{result.suffix}"


def normalise_host(host: str) -> str:
    """Lower-case ASCII (A-label) form of a host name; raises ValueError with the reason if it is invalid."""
    name = host.rstrip(".")
    if not name or len(name) > 253:
        raise ValueError(f"host {host!r} is empty or longer than 253 characters")
    if name.isascii() and "xn--" not in name.lower():
        labels = name.lower().split(".")
        bad = next((label for label in labels if not _ASCII_LABEL.fullmatch(label)), None)
        if bad is not None:
            raise ValueError(f"host label {bad!r} is not a valid DNS label")
        return ".".join(labels)
    try:
        return idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise ValueError(f"host {host!r} is not a valid internationalised name: {exc}") from exc


def _ip_host(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _fail(code: SyntaxIssue, message: str, key: str) -> SyntaxFacts:
    return SyntaxFacts(
        syntax_ok=False, syntax_error=message, syntax_error_code=code.value, scheme=None, host=None,
        registrable_domain=None, has_credentials=False, key=key,
    )  # fmt: skip


def _parse(url: str, allowed_schemes: frozenset[str]) -> rfc3986.URIReference | SyntaxFacts:
    """Parse and validate the structure; return the reference or the failure."""
    if bad := next((c for c in url if not _URI_CHARS.fullmatch(c)), None):
        return _fail(SyntaxIssue.BAD_CHARACTER, f"character {bad!r} is not allowed in a URL", url)
    if _BAD_PERCENT.search(url):
        return _fail(SyntaxIssue.BAD_PERCENT_ESCAPE, "'%' is not followed by two hex digits", url)
    scheme = _SCHEME.match(url)
    if scheme is None:
        return _fail(SyntaxIssue.BAD_SYNTAX, "not an absolute URL: no scheme", url)
    if scheme.group(1).lower() not in allowed_schemes:
        allowed = ", ".join(sorted(allowed_schemes))
        message = f"scheme {scheme.group(1).lower()!r} is not one of {allowed}"
        return _fail(SyntaxIssue.SCHEME_NOT_ALLOWED, message, url)
    try:
        if url.isascii():
            ref = rfc3986.uri_reference(url)
        else:  # an IRI: A-label host, the rest percent-encoded (RFC 3987 section 3.1)
            ref = rfc3986.iri_reference(_ascii_host(url)).encode()
        _VALIDATOR.validate(ref)
    except rfc_exceptions.ValidationError as exc:
        parts = " and ".join(exc.args[2]) if len(exc.args) > 2 else "a component"
        return _fail(SyntaxIssue.BAD_SYNTAX, f"{parts} missing or invalid (RFC 3986)", url)
    except (rfc_exceptions.RFC3986Exception, ValueError, UnicodeError) as exc:
        return _fail(SyntaxIssue.BAD_SYNTAX, f"unreadable URL: {exc}", url)
    return ref


def _ascii_host(url: str) -> str:
    """The IRI with its host replaced by the A-label, so that only path, query and fragment need encoding."""
    parts = urlsplit(url)
    host = parts.hostname
    if not host or host.isascii():
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    try:
        ascii_host = normalise_host(host)
    except ValueError:
        return url  # the host check reports it
    netloc = (f"{userinfo}@" if userinfo else "") + hostport.lower().replace(host, ascii_host, 1)
    return parts._replace(netloc=netloc).geturl()


@functools.lru_cache(maxsize=8192)
def check_syntax(url: str, allowed_schemes: frozenset[str] = ALLOWED_SCHEMES) -> SyntaxFacts:
    """Offline checks of one absolute URL: RFC 3986 syntax, scheme, host, credentials, registrable domain."""
    parsed = _parse(url, allowed_schemes)
    if isinstance(parsed, SyntaxFacts):
        return parsed
    scheme = (parsed.scheme or "").lower()
    raw_host = unquote(parsed.host or "")
    try:
        ip = _ip_host(raw_host)
        host = str(ip) if ip is not None else normalise_host(raw_host)
    except ValueError as exc:
        return _fail(SyntaxIssue.BAD_HOST, str(exc), url)
    domain = None if ip is not None else registrable_domain(host)
    has_credentials = bool(parsed.userinfo)
    code, error = None, None
    if has_credentials:
        code, error = SyntaxIssue.CREDENTIALS, "the URL carries credentials (user:password@)"
    elif domain is None:
        why = "it is an IP address" if ip is not None else "it is not under a public suffix"
        code, error = SyntaxIssue.NO_REGISTRABLE_DOMAIN, f"host {host!r} has no registrable domain: {why}"
    return SyntaxFacts(
        syntax_ok=code is None, syntax_error=error, syntax_error_code=code and code.value, scheme=scheme,
        host=host, registrable_domain=domain, has_credentials=has_credentials, key=_key(scheme, host, parsed),
    )  # fmt: skip


_DEFAULT_PORTS = {"http": "80", "https": "443"}


def _key(scheme: str, host: str, ref: rfc3986.URIReference) -> str:
    """Scheme, normalised host, non-default port, path and query; the fragment does not make a new link."""
    port = f":{ref.port}" if ref.port and ref.port != _DEFAULT_PORTS.get(scheme) else ""
    host_part = f"[{host}]" if ":" in host else host
    query = f"?{ref.query}" if ref.query is not None else ""
    return f"{scheme}://{host_part}{port}{ref.path or '/'}{query}"


def _absolute(value: str) -> str | None:
    """An absolute http(s) URL carried in a parameter value (decoded up to twice), or None."""
    for _ in range(3):
        stripped = value.strip()
        if re.match(r"https?://", stripped, re.IGNORECASE):
            return stripped
        if stripped.startswith("//"):
            return f"https:{stripped}"
        if stripped.lower().startswith("www."):
            return f"https://{stripped}"
        value = unquote(stripped)
    return None


def _unwrap_once(url: str) -> tuple[str | None, str | None]:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None, None
    host = (parts.hostname or "").lower()
    if host.endswith("google.com") and parts.path.startswith("/amp/s/"):
        return f"https://{parts.path.removeprefix('/amp/s/')}", "amp"
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    for name in _WRAPPER_PARAMS:
        if name in params and (target := _absolute(params[name])):
            return target, f"param:{name}"
    if match := _EMBEDDED.search(parts.path):
        return unquote(match.group(1)), "path"
    opaque = next((name for name in _WRAPPER_PARAMS if name in _PROXY_PARAMS and params.get(name)), None)
    return None, (f"opaque-param:{opaque}" if opaque else None)


def unwrap_url(url: str) -> tuple[str | None, str | None]:
    """The target inside a redirect, tracking or proxy wrapper, and how it was found ('param:url', ...).

    A proxy whose parameter is an opaque id (e.g. ``image.php?url=4TD4nd_0iLT5yif00``) gives
    ``(None, "opaque-param:url")``: it is a wrapper, but the original cannot be recovered offline.
    """
    target, wrappers = None, []
    current = url
    for _ in range(_MAX_UNWRAP):
        inner, wrapper = _unwrap_once(current)
        if wrapper is not None:
            wrappers.append(wrapper)
        if inner is None or inner == current:
            break
        target = current = inner
    return target, ("+".join(wrappers) or None)


def role_for_kind(kind: str) -> LinkRole:
    """The link role implied by the segment kind a link was found in."""
    return _ROLE_BY_KIND.get(kind, LinkRole.PAGE)


def _trim(text: str, start: int, end: int) -> int:
    """End of a URL match after dropping trailing punctuation and unbalanced closing brackets."""
    while end > start:
        last = text[end - 1]
        if last in _TRAILING or (
            last in _PAIRS and text.count(last, start, end) > text.count(_PAIRS[last], start, end)
        ):
            end -= 1
        else:
            break
    return end


def _regions(text: str, segments: Sequence[Segment]) -> Iterator[tuple[int, int, str]]:
    """Partition the text into segment ranges and the gaps between them; overlaps go to the earlier one."""
    cursor, size = 0, len(text)
    for seg in sorted(segments, key=lambda s: (s.start, s.end)):
        start, end = max(seg.start, cursor, 0), min(seg.end, size)
        if start >= end:
            continue
        if cursor < start:
            yield cursor, start, UNSEGMENTED
        yield start, end, seg.kind
        cursor = end
    if cursor < size:
        yield cursor, size, UNSEGMENTED


def _is_domain_mention(candidate: str) -> bool:
    host = re.split(r"[/?#]", candidate, maxsplit=1)[0]
    try:
        return registrable_domain(normalise_host(host)) is not None
    except ValueError:
        return False


def _matches(text: str, start: int, end: int) -> Iterator[tuple[int, int, str]]:
    """(start, end, absolute URL) of every URL and bare domain in text[start:end]."""
    urls: list[tuple[int, int]] = []
    for m in _SCHEME_URL.finditer(text, start, end):
        stop = _trim(text, m.start(), m.end())
        if stop > m.start():
            urls.append((m.start(), stop))
            yield m.start(), stop, text[m.start() : stop]
    claimed = Ranges(urls)  # a bare domain inside a URL is part of it
    for m in _BARE.finditer(text, start, end):
        stop = _trim(text, m.start(), m.end())
        found = text[m.start() : stop]
        if claimed.overlaps(m.start(), stop) or not _is_domain_mention(found):
            continue
        yield m.start(), stop, f"https://{found}" if re.search(r"[/?#]", found) else f"https://{found}/"


def _fact(start: int, end: int, text: str, url: str, role: str, kind: str) -> LinkFact:
    syntax = check_syntax(url)
    unwrapped, wrapper = unwrap_url(url)
    return LinkFact(
        start=start, end=end, text=text, url=url, unwrapped_url=unwrapped, wrapper=wrapper, role=role,
        block_kind=kind, syntax_ok=syntax.syntax_ok, syntax_error=syntax.syntax_error,
        syntax_error_code=syntax.syntax_error_code, scheme=syntax.scheme, host=syntax.host,
        registrable_domain=syntax.registrable_domain, has_credentials=syntax.has_credentials,
        is_duplicate=False,
    )  # fmt: skip


def mark_duplicates(facts: Sequence[LinkFact]) -> tuple[LinkFact, ...]:
    """Sort by position and flag every link whose normalised URL already occurred earlier."""
    seen: set[str] = set()
    out = []
    for fact in sorted(facts, key=lambda f: (f.start, f.end)):
        key = check_syntax(fact.url).key or fact.url
        out.append(replace(fact, is_duplicate=key in seen))
        seen.add(key)
    return tuple(out)


_HINT = re.compile(r"://|\.[^\W\d_]")
_HINT_LEN = 2  # the shorter hint's length: a region shorter than that from a hint cannot hold it


def _hints(text: str) -> list[int]:
    """Start of every place a URL or bare domain must contain: '://', or a dot before a letter.

    Every ``_SCHEME_URL`` match holds '://' and every ``_BARE`` match a dot followed by a letter, so a
    region holding none of these within its bounds has no match: one scan of the text spares the two
    pattern scans of most regions.
    """
    return [m.start() for m in _HINT.finditer(text)]


def _may_match(hints: Sequence[int], start: int, end: int) -> bool:
    """True when a hint lies wholly inside [start, end)."""
    i = bisect_left(hints, start)
    return i < len(hints) and hints[i] + _HINT_LEN <= end


def find_links(text: str, segments: Sequence[Segment]) -> tuple[LinkFact, ...]:
    """Every URL and bare domain mention in the text, in order, with role, syntax facts and duplicates."""
    hints = _hints(text)
    facts = [
        _fact(start, end, text[start:end], url, role_for_kind(kind).value, kind)
        for r_start, r_end, kind in _regions(text, segments)
        if _may_match(hints, r_start, r_end)
        for start, end, url in _matches(text, r_start, r_end)
    ]
    return mark_duplicates(facts)


def link_from_markup(
    *, start: int, end: int, text: str, raw_url: str, role: LinkRole, block_kind: str, base_url: str | None
) -> LinkFact:
    """A LinkFact for a URL read from markup (``<a href>``, ``<link rel=canonical>``, ``<img src>``).

    Relative references are resolved against ``base_url``; run ``mark_duplicates`` over the combined facts.
    """
    url = raw_url.strip()
    if base_url and not re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", url):
        url = urljoin(base_url, url)
    return _fact(start, end, text, url, role.value, block_kind)
