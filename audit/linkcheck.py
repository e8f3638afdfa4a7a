"""Live link checks: the network edge of the links stage (``--links live``).

Each URL is requested with HEAD (GET when HEAD is refused or fails), redirects are followed by hand so
every hop is recorded and re-vetted, 429 and 5xx answers are retried with backoff honouring Retry-After,
and results are cached on disk as JSON with a time-to-live, so a rerun does not touch the network.

SSRF guard: every connection goes through ``_GuardedBackend``, which resolves the host itself, refuses the
connection if *any* resolved address is not globally routable (private, loopback, link-local, shared,
reserved, multicast, IPv4-mapped forms of those), and then connects to the vetted address, so a DNS answer
cannot change between the check and the connect. Redirect hops open their own connections and are vetted
the same way. ``allow_private=True`` turns the guard off, e.g. for an intranet or a loopback test server.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email.utils
import hashlib
import ipaddress
import json
import re
import socket
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpcore
import httpx

from audit.fsio import atomic_write_text

__all__ = ["LinkStatus", "LiveOptions", "LiveResult", "check_links", "is_public_address"]

_RETRY_CODES = frozenset({429, 500, 502, 503, 504})
_DENIED_CODES = frozenset({401, 403})
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_ERROR_PATH = re.compile(r"(?i)(?:^|[/_.=-])(?:404|not[-_]?found|page[-_]?not[-_]?found|error)(?:[/_.&-]|$)")
_NOT_FOUND_TITLE = re.compile(rb"(?is)<title[^>]*>[^<]*(?:404|not found|no longer available)[^<]*</title>")
_CACHE_VERSION = 1


class LinkStatus(StrEnum):
    """Outcome of a live check; codes are stable once released."""

    OK = "ok"  # a 2xx answer, no redirect
    REDIRECTED = "redirected"  # a 2xx answer after one or more redirects
    BROKEN = "broken"  # 4xx/5xx, no connection, a redirect loop or too many redirects
    TIMEOUT = "timeout"  # no answer within the timeout
    REFUSED = "refused"  # the SSRF guard refused the target, or the server denied access (401/403)
    NOT_CHECKED = "not_checked"  # offline run, not an http(s) URL, or still rate-limited after retries


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveOptions:
    """How politely and how far to check; seconds throughout."""

    per_host_limit: int = 2
    politeness_delay: float = 0.5
    timeout: float = 10.0
    max_redirects: int = 10
    retries: int = 2
    backoff: float = 0.5
    max_retry_after: float = 30.0
    allow_private: bool = False
    cache_dir: Path | None = None
    cache_ttl: float = 86_400.0
    user_agent: str = "news-audit-linkcheck/0.1"
    max_connections: int = 32
    sniff_bytes: int = 16_384


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveResult:
    """What one live check found, with the evidence a report shows."""

    url: str
    status: str
    http_status: int | None
    final_url: str | None
    n_redirects: int
    redirect_chain: tuple[str, ...]
    checked_at: str
    error: str | None
    soft_404: str | None
    from_cache: bool = False


@dataclass(frozen=True, slots=True)
class _Answer:
    """One HTTP answer, reduced to what classification needs."""

    code: int
    location: str | None
    retry_after: str | None
    body: bytes


class _TargetRefused(httpcore.ConnectError):
    """Raised by the guard when a target resolves to an address it may not connect to."""


def is_public_address(address: str) -> bool:
    """True when the IP address is globally routable (also through IPv4-mapped and NAT64 forms)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip in _NAT64:
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.is_global and not ip.is_multicast


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """A network backend that resolves, vets every address, and connects only to a vetted address."""

    def __init__(self, *, allow_private: bool) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._allow_private = allow_private

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await _resolve(host, port, timeout)
        refused = [a for a in addresses if not is_public_address(a)]
        if refused and not self._allow_private:
            raise _TargetRefused(f"{host} resolves to non-public address {refused[0]}")
        failure: Exception = httpcore.ConnectError(f"{host}: no address to connect to")
        for address in addresses:
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                failure = exc
        raise failure

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise _TargetRefused("unix sockets are never link targets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


async def _resolve(host: str, port: int, timeout: float | None) -> list[str]:
    """Every address the host resolves to, in resolver order, without duplicates."""
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout)
    except TimeoutError as exc:
        raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
    except OSError as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class _GuardedTransport(httpx.AsyncHTTPTransport):
    # not a plain transport: httpx has no parameter for the network backend, so the pool is rebuilt
    def __init__(self, *, allow_private: bool, max_connections: int) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            network_backend=_GuardedBackend(allow_private=allow_private),
        )


class _HostGate:
    # not a dataclass: holds a semaphore and the time the next request to the host may be sent
    def __init__(self, limit: int, delay: float) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._lock = asyncio.Lock()
        self._delay = delay
        self._next_send = 0.0

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[Callable[[], None]]:
        """Hold one of the host's slots; yield the callback to call once the request is on the wire.

        With a politeness delay the gate stays shut until the request is actually sent, so the time a new
        connection takes to open cannot bunch two requests closer than the delay at the server.
        """
        loop = asyncio.get_running_loop()
        async with self._slots:
            await self._lock.acquire()
            is_open = False

            def sent() -> None:
                nonlocal is_open
                if not is_open:
                    is_open = True
                    self._next_send = loop.time() + self._delay
                    self._lock.release()

            try:
                await asyncio.sleep(max(0.0, self._next_send - loop.time()))
                if self._delay <= 0:
                    sent()  # no delay to keep: let the next request open its connection in parallel
                yield sent
            finally:
                sent()


class _Checker:
    # not a dataclass: one run's client, per-host gates and options
    def __init__(self, client: httpx.AsyncClient, options: LiveOptions) -> None:
        self.client = client
        self.options = options
        self.gates: dict[str, _HostGate] = {}

    def gate(self, url: httpx.URL) -> _HostGate:
        """The gate of the URL's host, created on first use."""
        key = url.host.lower()
        if key not in self.gates:
            self.gates[key] = _HostGate(self.options.per_host_limit, self.options.politeness_delay)
        return self.gates[key]

    async def send(self, method: str, url: httpx.URL) -> _Answer:
        """One request in the host's slot; a GET reads at most ``sniff_bytes`` of the body."""
        # the timeout covers the whole request, not the wait for the host's slot
        async with self.gate(url).slot() as sent, asyncio.timeout(self.options.timeout):

            async def trace(event: str, info: dict[str, Any]) -> None:
                if event.endswith("send_request_headers.started"):
                    sent()

            request = self.client.build_request(method, url, extensions={"trace": trace})
            response = await self.client.send(request, stream=True)
            try:
                body = b""
                # reading to the end of a HEAD (or a short GET) lets the connection be reused
                async for chunk in response.aiter_raw():
                    body += chunk
                    if len(body) >= self.options.sniff_bytes:
                        break
                headers = response.headers
                return _Answer(
                    response.status_code, headers.get("location"), headers.get("retry-after"), body
                )
            finally:
                await response.aclose()

    async def send_with_retries(self, method: str, url: httpx.URL) -> _Answer:
        """Send, retrying 429 and 5xx with exponential backoff or the server's Retry-After."""
        for attempt in range(self.options.retries + 1):
            answer = await self.send(method, url)
            if answer.code not in _RETRY_CODES or attempt == self.options.retries:
                return answer
            delay = _retry_delay(answer.retry_after, attempt, self.options)
            if delay is None:
                return answer
            await asyncio.sleep(delay)
        raise AssertionError("unreachable: the loop returns on its last attempt")

    async def fetch(self, url: httpx.URL) -> _Answer:
        """HEAD, then GET when HEAD is refused or fails (many servers answer HEAD badly)."""
        answer = await self.send_with_retries("HEAD", url)
        if answer.code >= 400 and answer.code != 429:
            answer = await self.send_with_retries("GET", url)
        return answer

    async def check(self, url: str) -> LiveResult:
        """Follow the URL's redirects by hand, vetting and recording every hop, and classify the end."""
        checked_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        try:
            current = httpx.URL(url)
        except httpx.InvalidURL as exc:
            return _result(url, LinkStatus.NOT_CHECKED, checked_at, error=f"unreadable URL: {exc}")
        if current.scheme not in ("http", "https"):
            return _result(url, LinkStatus.NOT_CHECKED, checked_at, error="not an http(s) URL")
        chain: list[str] = []
        answer: _Answer | None = None
        while True:
            try:
                answer = await self.fetch(current)
            except (httpx.HTTPError, TimeoutError) as exc:
                status, error = _failure(exc)
                code = None if answer is None else answer.code  # the redirect that led here, if any
                return _result(url, status, checked_at, code, current, chain, error)
            if not (300 <= answer.code < 400 and answer.location):
                return _classify(url, answer, current, chain, checked_at)
            target = current.join(answer.location)
            chain.append(str(target))
            problem = _redirect_error(target, chain, url, self.options.max_redirects)
            if problem is not None:
                return _result(url, LinkStatus.BROKEN, checked_at, answer.code, current, chain, problem)
            current = target


def _redirect_error(target: httpx.URL, chain: list[str], origin: str, limit: int) -> str | None:
    if target.scheme not in ("http", "https"):
        return f"redirect to a {target.scheme!r} URL"
    if str(target) in chain[:-1] or str(target) == origin:
        return "redirect loop"
    if len(chain) > limit:
        return f"more than {limit} redirects"
    return None


def _retry_delay(retry_after: str | None, attempt: int, options: LiveOptions) -> float | None:
    """Seconds to wait before the next attempt; None when the server asks for longer than we allow."""
    delay = options.backoff * (2**attempt)
    if retry_after:
        if retry_after.strip().isdigit():
            delay = float(retry_after.strip())
        elif (when := email.utils.parsedate_to_datetime(retry_after)) is not None:
            when = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
            delay = max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())
    return delay if delay <= options.max_retry_after else None


def _failure(exc: Exception) -> tuple[LinkStatus, str]:
    if isinstance(exc.__cause__, _TargetRefused) or isinstance(exc, _TargetRefused):
        return LinkStatus.REFUSED, f"guard: {exc}"
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return LinkStatus.TIMEOUT, f"timed out: {type(exc).__name__}"
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return LinkStatus.NOT_CHECKED, f"cannot request: {exc}"
    return LinkStatus.BROKEN, f"{type(exc).__name__}: {exc}"


def _classify(url: str, answer: _Answer, final: httpx.URL, chain: list[str], checked_at: str) -> LiveResult:
    code = answer.code
    if 200 <= code < 300:
        status = LinkStatus.REDIRECTED if chain else LinkStatus.OK
        hint = _soft_404(httpx.URL(url), final, answer.body) if chain or answer.body else None
        return _result(url, status, checked_at, code, final, chain, soft_404=hint)
    if code in _DENIED_CODES:
        return _result(
            url, LinkStatus.REFUSED, checked_at, code, final, chain, f"access denied (HTTP {code})"
        )
    if code == 429:
        return _result(
            url, LinkStatus.NOT_CHECKED, checked_at, code, final, chain, "still rate-limited (429)"
        )
    error = "redirect without a Location header" if 300 <= code < 400 else f"HTTP {code}"
    return _result(url, LinkStatus.BROKEN, checked_at, code, final, chain, error)


def _soft_404(original: httpx.URL, final: httpx.URL, body: bytes) -> str | None:
    """Why a 2xx answer may really be a "not found" page, or None."""
    if original.path not in ("", "/") and final.path in ("", "/") and final != original:
        return "a deep link redirected to the site's home page"
    if _ERROR_PATH.search(final.raw_path.decode("ascii", "replace")) and final != original:
        return "redirected to a URL that looks like an error page"
    if _NOT_FOUND_TITLE.search(body):
        return "the page's title says it was not found"
    return None


def _result(
    url: str,
    status: LinkStatus,
    checked_at: str,
    code: int | None = None,
    final: httpx.URL | None = None,
    chain: Sequence[str] = (),
    error: str | None = None,
    soft_404: str | None = None,
) -> LiveResult:
    return LiveResult(
        url=url, status=status.value, http_status=code, final_url=None if final is None else str(final),
        n_redirects=len(chain), redirect_chain=tuple(chain), checked_at=checked_at, error=error,
        soft_404=soft_404,
    )  # fmt: skip


def _cache_path(url: str, options: LiveOptions) -> Path | None:
    if options.cache_dir is None:
        return None
    # the options that change an outcome are part of the key: a refusal must not answer an allowed run
    key = json.dumps([_CACHE_VERSION, url, options.allow_private, options.max_redirects])
    return options.cache_dir / f"{hashlib.sha256(key.encode()).hexdigest()}.json"


def _read_cache(url: str, options: LiveOptions, now: dt.datetime) -> LiveResult | None:
    """A cached result younger than the TTL, or None (a missing or unreadable entry is a miss)."""
    path = _cache_path(url, options)
    if path is None or not path.is_file():
        return None
    try:
        fields = json.loads(path.read_text(encoding="utf-8"))
        result = LiveResult(
            **(fields | {"redirect_chain": tuple(fields["redirect_chain"]), "from_cache": True})
        )
        age = (now - dt.datetime.fromisoformat(result.checked_at)).total_seconds()
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return result if result.url == url and 0 <= age < options.cache_ttl else None


def _write_cache(result: LiveResult, options: LiveOptions) -> None:
    path = _cache_path(result.url, options)
    if path is not None:
        fields = asdict(result) | {"from_cache": False}
        # a cache that cannot be written (full disk, no permission) only means the next run fetches again
        with contextlib.suppress(OSError):
            atomic_write_text(path, json.dumps(fields, sort_keys=True, indent=1))


async def _check_all(urls: Sequence[str], options: LiveOptions) -> list[LiveResult]:
    transport = _GuardedTransport(
        allow_private=options.allow_private, max_connections=options.max_connections
    )
    headers = {"User-Agent": options.user_agent}
    async with httpx.AsyncClient(transport=transport, headers=headers, timeout=options.timeout) as client:
        checker = _Checker(client, options)
        return list(await asyncio.gather(*(checker.check(url) for url in urls)))


def check_links(urls: Sequence[str], options: LiveOptions) -> dict[str, LiveResult]:
    """Check each distinct URL live (or answer from the on-disk cache); keys are the given URLs."""
    unique = list(dict.fromkeys(urls))
    now = dt.datetime.now(dt.UTC)
    results = {url: hit for url in unique if (hit := _read_cache(url, options, now)) is not None}
    todo = [url for url in unique if url not in results]
    if todo:
        for result in asyncio.run(_check_all(todo, options)):
            _write_cache(result, options)
            results[result.url] = result
    return {url: results[url] for url in unique}
