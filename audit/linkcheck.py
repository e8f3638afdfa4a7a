"""Live link checks: the network edge of the links stage (``--links live``).

Each URL is requested with HEAD (GET when HEAD is refused or fails), redirects are followed by hand so
every hop is recorded and re-vetted, 429 and 5xx answers are retried with backoff honouring Retry-After,
and results are cached on disk as JSON with a time-to-live, so a rerun does not touch the network.
Pacing is per host and adapts to the host's answers (``audit.link_pacing``); how fast, how patient and
under what name is a ``LinkPolicy`` (``audit.link_policy``).

Every connection goes through the SSRF guard (``audit.link_guard``). ``allow_private=True`` turns it off,
e.g. for an intranet or a loopback test server; without it a URL whose host is an IP literal is refused
before any request.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import datetime as dt
import email.utils
import hashlib
import json
import re
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx

from audit.fsio import atomic_write_text
from audit.link_guard import HostPools, TargetRefused, is_ip_literal, is_live_candidate, is_public_address
from audit.link_pacing import SLOW_CODES, HostPacer, HostStats, LinkProgress
from audit.link_policy import LinkPolicy
from audit.records import LiveResult

__all__ = [
    "LinkStatus",
    "LiveChecks",
    "LiveOptions",
    "check_links",
    "is_live_candidate",
    "is_public_address",
    "run_checks",
]

_RETRY_CODES = frozenset({429, 500, 502, 503, 504})
_DENIED_CODES = frozenset({401, 403})
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
    """One live run: its pacing policy, the guard, the cache, and whom to tell how far it is."""

    policy: LinkPolicy = field(default_factory=LinkPolicy)
    allow_private: bool = False
    cache_dir: Path | None = None
    cache_ttl: float = 86_400.0
    sniff_bytes: int = 16_384
    progress: Callable[[LinkProgress], None] | None = None
    progress_every: float = 1.0  # seconds between progress calls (and one at the end)


@dataclass(frozen=True, slots=True)
class _Answer:
    """One HTTP answer, reduced to what classification needs."""

    code: int
    location: str | None
    retry_after: str | None
    body: bytes


class _Checker:
    # not a dataclass: one run's client, per-host pacers and statistics, and the shared slots
    def __init__(self, client: httpx.AsyncClient, options: LiveOptions, stats: dict[str, HostStats]) -> None:
        self.client = client
        self.options = options
        self.policy = options.policy
        self.pacers: dict[str, HostPacer] = {}
        self.stats = stats  # shared with the cache hits counted before the run
        self.shared = asyncio.Semaphore(options.policy.global_concurrency)

    def host_stats(self, host: str) -> HostStats:
        """The statistics of a host, created on first use."""
        key = host.lower()
        if key not in self.stats:
            self.stats[key] = HostStats(host=key, limits=self.policy.limits_for(key))
        return self.stats[key]

    def idle(self, host: str) -> bool:
        """Whether no request to the host is in flight."""
        pacer = self.pacers.get(host.lower())
        return pacer is None or pacer.in_flight == 0

    def pacer(self, url: httpx.URL) -> HostPacer:
        """The pacer of the URL's host, created on first use."""
        key = url.host.lower()
        if key not in self.pacers:
            self.pacers[key] = HostPacer(self.host_stats(key), self.policy.max_retry_after)
        return self.pacers[key]

    async def send(self, method: str, url: httpx.URL) -> _Answer:
        """One request in the host's turn; a GET reads at most ``sniff_bytes`` of the body."""
        pacer = self.pacer(url)
        # the timeout covers the whole request, not the wait for the host's turn
        async with pacer.slot(self.shared) as sent, asyncio.timeout(self.policy.timeout):
            started = time.monotonic()

            async def trace(event: str, info: dict[str, Any]) -> None:
                # once the headers are written they are at the server: the host's interval starts there
                if event.endswith("send_request_headers.complete"):
                    sent()

            request = self.client.build_request(method, url, extensions={"trace": trace})
            try:
                response = await self.client.send(request, stream=True)
                try:
                    answer = await self._read(response)
                finally:
                    await response.aclose()
            except BaseException:
                pacer.failed()
                raise
            pacer.answered(answer.code, time.monotonic() - started, _retry_after(answer.retry_after))
            return answer

    async def _read(self, response: httpx.Response) -> _Answer:
        body = b""
        # reading to the end of a HEAD (or a short GET) lets the connection be reused
        async for chunk in response.aiter_raw():
            body += chunk
            if len(body) >= self.options.sniff_bytes:
                break
        headers = response.headers
        return _Answer(response.status_code, headers.get("location"), headers.get("retry-after"), body)

    async def send_with_retries(self, method: str, url: httpx.URL) -> _Answer:
        """Send, retrying 429 and 5xx: after the server's Retry-After (the host waits), else with backoff.

        A 429 or a Retry-After draws on ``rate_limit_retries``, any other 5xx on ``retries``: a host that
        asks to be paced is not a host that fails.
        """
        budgets = {"limited": self.policy.rate_limit_retries, "failed": self.policy.retries}
        attempt = 0
        while True:
            answer = await self.send(method, url)
            if answer.code not in _RETRY_CODES:
                return answer
            asked = _retry_after(answer.retry_after)
            kind = "limited" if answer.code == 429 or asked is not None else "failed"
            delay = self.policy.backoff * (2**attempt) if asked is None else asked
            if budgets[kind] == 0 or delay > self.policy.max_retry_after:
                return answer
            budgets[kind] -= 1
            attempt += 1
            self.host_stats(url.host).retries += 1
            if asked is None or answer.code not in SLOW_CODES:
                await asyncio.sleep(delay)  # a 429/503 Retry-After already closed the host for that long

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
        self.host_stats(current.host).urls += 1
        if is_ip_literal(current.host) and not self.options.allow_private:
            error = "guard: the host is an IP address (fetched only with --allow-private-links)"
            return _result(url, LinkStatus.REFUSED, checked_at, error=error)
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
            problem = _redirect_error(target, chain, url, self.policy.max_redirects)
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


def _retry_after(value: str | None) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date), or None without a readable one."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    when = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _failure(exc: Exception) -> tuple[LinkStatus, str]:
    if isinstance(exc.__cause__, TargetRefused) or isinstance(exc, TargetRefused):
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
    key = json.dumps([_CACHE_VERSION, url, options.allow_private, options.policy.max_redirects])
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
        # a cache that cannot be written (full disk, no permission) only means the next run fetches again;
        # no fsync: a half-written entry after a crash reads as a miss
        with contextlib.suppress(OSError):
            atomic_write_text(path, json.dumps(fields, sort_keys=True, indent=1), durable=False)


@dataclass(frozen=True, slots=True)
class LiveChecks:
    """A live run's results (iterating gives them, in the given order) and each host's statistics."""

    results: dict[str, LiveResult]
    hosts: tuple[dict[str, Any], ...]

    def __iter__(self) -> Iterator[LiveResult]:
        return iter(self.results.values())


async def _check_all(
    urls: Sequence[str], options: LiveOptions, stats: dict[str, HostStats]
) -> list[LiveResult]:
    transport = HostPools(allow_private=options.allow_private, policy=options.policy)
    headers = {"User-Agent": options.policy.user_agent}
    async with httpx.AsyncClient(
        transport=transport, headers=headers, timeout=options.policy.timeout
    ) as client:
        checker = _Checker(client, options, stats)
        progress = _Progress(len(urls), options, stats)
        by_host: dict[str, collections.deque[str]] = collections.defaultdict(collections.deque)
        for url in urls:
            by_host[_host_of(url)].append(url)
        results: dict[str, LiveResult] = {}
        loop = asyncio.get_running_loop()
        # cache entries are written by threads as results come in: each costs ms of file-system latency
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as writers:
            writes: list[asyncio.Future[None]] = []

            async def work(queue: collections.deque[str]) -> None:
                while queue:
                    url = queue.popleft()
                    results[url] = await progress.counted(checker.check(url))
                    writes.append(loop.run_in_executor(writers, _write_cache, results[url], options))

            async def host(name: str, queue: collections.deque[str]) -> None:
                # as many workers as the host may have requests in flight: tasks grow with hosts, not URLs
                n_workers = min(options.policy.limits_for(name).concurrency, len(queue))
                await asyncio.gather(*(work(queue) for _ in range(n_workers)))
                # a redirect hop from another host's URL may still be using the pool: then it stays open
                if checker.idle(name):
                    await transport.release(name)

            await asyncio.gather(*(host(name, queue) for name, queue in by_host.items()))
            await asyncio.gather(*writes)
        progress.report(final=True)
        return [results[url] for url in urls]


class _Progress:
    # not a dataclass: counts finished URLs and calls the progress callback at most every few seconds
    def __init__(self, total: int, options: LiveOptions, stats: dict[str, HostStats]) -> None:
        self.total, self.done = total, 0
        self.callback, self.every = options.progress, options.progress_every
        self.stats = stats
        self.started = self.last = time.monotonic()

    async def counted(self, check: Awaitable[LiveResult]) -> LiveResult:
        """Await one URL's check and count it."""
        result = await check
        self.done += 1
        if self.callback is not None and time.monotonic() - self.last >= self.every:
            self.report()
        return result

    def report(self, final: bool = False) -> None:
        """Tell the callback how far the run is."""
        if self.callback is None:
            return
        self.last = time.monotonic()
        requests = sum(s.requests for s in self.stats.values())
        self.callback(
            LinkProgress(
                done=self.done, total=self.total, requests=requests, elapsed_s=self.last - self.started
            )
        )


def run_checks(urls: Sequence[str], options: LiveOptions) -> LiveChecks:
    """Check each distinct URL live (or answer from the on-disk cache), with each host's statistics."""
    unique = list(dict.fromkeys(urls))
    now = dt.datetime.now(dt.UTC)
    results = {url: hit for url in unique if (hit := _read_cache(url, options, now)) is not None}
    stats: dict[str, HostStats] = {}
    for hit in results.values():
        host = _host_of(hit.url)
        entry = stats.setdefault(host, HostStats(host=host, limits=options.policy.limits_for(host)))
        entry.urls += 1
        entry.cache_hits += 1
    todo = [url for url in unique if url not in results]
    if todo:
        results.update((result.url, result) for result in asyncio.run(_check_all(todo, options, stats)))
    hosts = tuple(s.document() for _, s in sorted(stats.items()))
    return LiveChecks(results={url: results[url] for url in unique}, hosts=hosts)


def check_links(urls: Sequence[str], options: LiveOptions) -> dict[str, LiveResult]:
    """Check each distinct URL live (or answer from the on-disk cache); keys are the given URLs."""
    return run_checks(urls, options).results


def _host_of(url: str) -> str:
    try:
        return httpx.URL(url).host.lower()
    except httpx.InvalidURL:
        return ""


LinkChecker = Callable[[list[str]], LiveChecks]  # iterating gives the results; .hosts the statistics


def live_checker(options: LiveOptions) -> LinkChecker:
    """A link checker for write_tables that fetches each distinct URL once (or reads the cache)."""

    def check(urls: list[str]) -> LiveChecks:
        return run_checks(urls, options)

    return check
